// SPDX-License-Identifier: GPL-2.0
/*
 * A legacy `maps` section (struct bpf_map_def), which libbpf 1.0 dropped
 * but older objects still use, next to a BTF map.
 */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

struct bpf_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct bpf_map_def SEC("maps") legacy_hash = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u64),
	.max_entries = 16,
};

struct bpf_map_def SEC("maps") legacy_array = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(__u32),
	.value_size = sizeof(__u32),
	.max_entries = 2,
	.map_flags = 0,
};

SEC("socket")
int legacy_prog(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 one = 1;
	__u32 *v = bpf_map_lookup_elem(&legacy_array, &key);

	bpf_map_update_elem(&legacy_hash, &key, &one, BPF_ANY);
	return v ? *v : 0;
}
