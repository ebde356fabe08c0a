// SPDX-License-Identifier: GPL-2.0
/*
 * struct_ops: programs implementing the kernel's bpf_dummy_ops (a
 * struct_ops type meant for tests), and the .struct_ops variable that ties
 * them to its members, with a data member the loader copies.
 */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

struct bpf_dummy_ops_state {
	int val;
} CORE;

struct bpf_dummy_ops {
	int (*test_1)(struct bpf_dummy_ops_state *cb);
	int (*test_2)(struct bpf_dummy_ops_state *cb, int a1, unsigned short a2, char a3,
		      unsigned long a4);
	int (*test_sleepable)(struct bpf_dummy_ops_state *cb);
};

SEC("struct_ops/test_1")
int dummy_test_1(unsigned long long *ctx)
{
	struct bpf_dummy_ops_state *state = (void *)ctx[0];

	return state ? state->val + 1 : 7;
}

SEC("struct_ops/test_2")
int dummy_test_2(unsigned long long *ctx)
{
	return (int)ctx[1] + (int)ctx[2];
}

SEC(".struct_ops")
struct bpf_dummy_ops dummy = {
	.test_1 = (void *)dummy_test_1,
	.test_2 = (void *)dummy_test_2,
};
