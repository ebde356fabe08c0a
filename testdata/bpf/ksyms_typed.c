// SPDX-License-Identifier: GPL-2.0
/*
 * Typed .ksyms variables (BPF_PSEUDO_BTF_ID). The kernel finds their
 * addresses through kallsyms, so loading needs CONFIG_KALLSYMS_ALL; the
 * tests check the relocation without it.
 */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

struct rq {
	unsigned int nr_running;
} CORE;

extern const struct rq runqueues __ksym;
extern const int bpf_prog_active __ksym;
extern const int denobpf_no_such_var __ksym __weak;

__u32 out;

SEC("raw_tp/sys_enter")
int ksym_typed(void *ctx)
{
	const struct rq *rq = bpf_this_cpu_ptr(&runqueues);
	const int *active = bpf_this_cpu_ptr(&bpf_prog_active);

	out = rq->nr_running + *active;
	if (&denobpf_no_such_var)
		out++;
	return 0;
}
