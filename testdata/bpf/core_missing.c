// SPDX-License-Identifier: GPL-2.0
/*
 * A program that reads a field no kernel has, without guarding the read:
 * the relocation is poisoned and the verifier rejects the program when it
 * reaches the poisoned instruction.
 */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

int sink;

SEC("raw_tp/sys_enter")
int core_missing(void *ctx)
{
	struct task_struct___missing *t = (void *)bpf_get_current_task();

	sink = BPF_CORE_READ(t, denobpf_no_such_field);
	return 0;
}
