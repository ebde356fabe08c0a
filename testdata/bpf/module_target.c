// SPDX-License-Identifier: GPL-2.0
/*
 * Programs whose target function, ctnetlink_fill_info, lives in a kernel
 * module (nf_conntrack_netlink). `mod_kprobe_vmlinux` uses vmlinux types
 * only and loads with or without the module's BTF; `mod_kprobe_module`
 * reads a module-only struct and needs the module's BTF; `mod_fentry` is
 * attached by BTF id to the module's function.
 */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

/* Only in the module's BTF (the tests build it). */
struct ctnl_fill_ctx {
	__u32 portid;
	__u32 seq;
	int event;
} CORE;

__u64 out;

SEC("kprobe/ctnetlink_fill_info")
int mod_kprobe_vmlinux(void *ctx)
{
	struct task_struct *t = (void *)bpf_get_current_task();

	out = BPF_CORE_READ(t, tgid);
	return 0;
}

SEC("kprobe/ctnetlink_fill_info")
int mod_kprobe_module(void *ctx)
{
	struct ctnl_fill_ctx *c = (void *)bpf_get_current_task();

	out = BPF_CORE_READ(c, seq);
	return 0;
}

SEC("fentry/ctnetlink_fill_info")
int mod_fentry(__u64 *ctx)
{
	struct ctnl_fill_ctx *c = (void *)ctx[0];

	out = BPF_CORE_READ(c, seq) + bpf_core_field_offset(c->event);
	return 0;
}
