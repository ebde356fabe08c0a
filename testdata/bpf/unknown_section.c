// SPDX-License-Identifier: GPL-2.0
/*
 * A program in a section whose kind no loader knows ("foo/bar"), next to
 * a socket filter that loads: the unknown one must be named in the error,
 * and leaving it out (delete it, or autoload false) must let the rest load.
 */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

SEC("foo/bar")
int odd_one(void *ctx)
{
	__u32 k = 0;
	__u64 *v = bpf_map_lookup_elem(&hits, &k);

	if (v)
		*v += 1;
	return 0;
}

SEC("socket")
int plain(struct __sk_buff *skb)
{
	return 7;
}
