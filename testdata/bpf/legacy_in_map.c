// SPDX-License-Identifier: GPL-2.0
/*
 * A legacy `maps` section with the 28-byte definition of the kernel's old
 * samples/bpf: map-in-map outer maps name their inner map's shape with
 * `inner_map_idx`, the index of another definition in the section.
 */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
	unsigned int inner_map_idx;
	unsigned int numa_node;
};

/* Index 0: the inner maps' shape (and a map of its own). */
struct bpf_map_def SEC("maps") inner_tpl = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 1,
};

struct bpf_map_def SEC("maps") outer_arr = {
	.type = BPF_MAP_TYPE_ARRAY_OF_MAPS,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 2,
	.inner_map_idx = 0,
};

/* Index 2: a hash template for the hash of maps below. */
struct bpf_map_def SEC("maps") inner_hash_tpl = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 8,
};

struct bpf_map_def SEC("maps") outer_hash = {
	.type = BPF_MAP_TYPE_HASH_OF_MAPS,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 4,
	.inner_map_idx = 2,
};

/* Returns the value at key 0 of the inner map at outer_arr[0], or 0xff. */
SEC("socket")
int legacy_in_map(struct __sk_buff *skb)
{
	__u32 key = 0;
	void *inner = bpf_map_lookup_elem(&outer_arr, &key);
	__u32 *v;

	if (!inner)
		return 0xff;
	v = bpf_map_lookup_elem(inner, &key);
	if (!v)
		return 0xfe;
	inner = bpf_map_lookup_elem(&outer_hash, &key);
	return inner ? *v + 1 : *v;
}
