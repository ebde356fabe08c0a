// SPDX-License-Identifier: GPL-2.0
/*
 * CO-RE against target BTF with a plain and a flavoured type of one name
 * (core_flavours_target.c: struct s { x } and struct s___v2 { z, x, y }).
 * Both are candidates for the local struct s; as in libbpf, a relocation
 * that matches some of them keeps only those for the type's later
 * relocations: `narrowed` checks y (only in s___v2) before reading x's
 * offset, so x resolves to s___v2's (4) and it returns 16 * 4; `after`
 * (relocated later in the same object) gets 4 too. Without the narrowing,
 * x would be at 0 in s and at 4 in s___v2: an ambiguity.
 */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

struct s {
	int x;
	int y;
} CORE;

SEC("socket")
int narrowed(struct __sk_buff *skb)
{
	struct s *p = 0;

	if (!bpf_core_field_exists(p->y))
		return 1;
	return 16 * bpf_core_field_offset(p->x);
}

SEC("socket")
int after(struct __sk_buff *skb)
{
	struct s *p = 0;

	return bpf_core_field_offset(p->x);
}
