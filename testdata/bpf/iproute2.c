// SPDX-License-Identifier: GPL-2.0
/*
 * A tc object in iproute2's style: a `maps` section of 36-byte
 * `struct bpf_elf_map` (iproute2's include/bpf_elf.h), as tc loads them.
 * map_inner (id 42, inner_idx 0) is both the inner template of map_outer
 * (inner_id 42) and the map tc puts at its slot 0; counters and
 * map_outer are pinned in the global namespace (PIN_GLOBAL_NS).
 */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

struct bpf_elf_map {
	__u32 type;
	__u32 size_key;
	__u32 size_value;
	__u32 max_elem;
	__u32 flags;
	__u32 id;
	__u32 pinning;
	__u32 inner_id;
	__u32 inner_idx;
};

#define PIN_NONE 0
#define PIN_GLOBAL_NS 2
#define MAP_INNER_ID 42

struct bpf_elf_map SEC("maps") counters = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u64),
	.max_elem = 4,
	.pinning = PIN_GLOBAL_NS,
	.inner_idx = -1,
};

struct bpf_elf_map SEC("maps") map_inner = {
	.type = BPF_MAP_TYPE_ARRAY,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u32),
	.max_elem = 1,
	.id = MAP_INNER_ID,
	.inner_idx = 0,
};

struct bpf_elf_map SEC("maps") map_outer = {
	.type = BPF_MAP_TYPE_ARRAY_OF_MAPS,
	.size_key = sizeof(__u32),
	.size_value = sizeof(__u32),
	.max_elem = 1,
	.inner_id = MAP_INNER_ID,
	.pinning = PIN_GLOBAL_NS,
	.inner_idx = -1,
};

/* Counts packets in counters[0]; returns the value at map_outer[0][0] (or 0xff). */
SEC("classifier")
int tc_count(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 *n = bpf_map_lookup_elem(&counters, &key);
	void *inner;
	__u32 *v;

	if (n)
		__sync_fetch_and_add(n, 1);
	inner = bpf_map_lookup_elem(&map_outer, &key);
	if (!inner)
		return 0xff;
	v = bpf_map_lookup_elem(inner, &key);
	return v ? *v : 0xfe;
}
