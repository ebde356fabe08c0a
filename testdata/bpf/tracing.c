// SPDX-License-Identifier: GPL-2.0
/*
 * Program kinds this kernel refuses to load (fentry/fexit/fmod_ret, LSM,
 * sleepable variants): the tests check their specs, the attach BTF ids the
 * loader finds and the instructions it would load.
 */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

__u64 calls;

SEC("fentry/do_unlinkat")
int t_fentry(__u64 *ctx)
{
	calls++;
	return 0;
}

SEC("fexit/do_unlinkat")
int t_fexit(__u64 *ctx)
{
	struct task_struct *t = bpf_get_current_task_btf();

	calls += t->pid;
	return 0;
}

SEC("fmod_ret/security_file_open")
int t_fmod_ret(__u64 *ctx)
{
	return 0;
}

SEC("fentry.s/do_unlinkat")
int t_fentry_s(__u64 *ctx)
{
	return 0;
}

SEC("lsm/file_open")
int t_lsm(__u64 *ctx)
{
	return 0;
}

SEC("lsm.s/bpf")
int t_lsm_s(__u64 *ctx)
{
	return 0;
}

SEC("iter.s/task")
int t_iter_s(void *ctx)
{
	return 0;
}
