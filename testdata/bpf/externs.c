// SPDX-License-Identifier: GPL-2.0
/*
 * Externs: .kconfig (LINUX_KERNEL_VERSION, bool, int, tristate, string and a
 * weak missing option), .ksyms (typed per-CPU variables, an untyped symbol
 * resolved through kallsyms, a weak missing one; typed variables need
 * CONFIG_KALLSYMS_ALL and live in ksyms_typed.c) and kfunc calls (a
 * present pair and a weak missing kfunc that is poisoned).
 */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

extern unsigned int LINUX_KERNEL_VERSION __kconfig;
extern _Bool CONFIG_BPF_SYSCALL __kconfig;
extern int CONFIG_HZ __kconfig;
extern enum libbpf_tristate CONFIG_NF_CONNTRACK __kconfig;
extern char CONFIG_DEFAULT_HOSTNAME[16] __kconfig;
extern _Bool CONFIG_DENOBPF_NO_SUCH_OPTION __kconfig __weak;

extern const void _text __ksym;
extern const void denobpf_no_such_symbol __ksym __weak;

extern struct task_struct *bpf_task_from_pid(int pid) __ksym;
extern void bpf_task_release(struct task_struct *p) __ksym;
extern void denobpf_no_such_kfunc(void) __ksym __weak;

struct extern_results {
	__u32 version;
	__u32 bpf_syscall;
	int hz;
	__u32 conntrack;
	__u32 missing_option;
	char hostname[16];
	__u64 text_addr;
	__u64 missing_addr;
	__u32 kfunc_present;
	int found_pid;
};

struct extern_results ext;

SEC("raw_tp/sys_enter")
int kconfig_values(void *ctx)
{
	ext.version = LINUX_KERNEL_VERSION;
	ext.bpf_syscall = CONFIG_BPF_SYSCALL;
	ext.hz = CONFIG_HZ;
	ext.conntrack = CONFIG_NF_CONNTRACK;
	ext.missing_option = CONFIG_DENOBPF_NO_SUCH_OPTION;
	__builtin_memcpy(ext.hostname, CONFIG_DEFAULT_HOSTNAME, 8);
	ext.text_addr = (__u64)&_text;
	ext.missing_addr = (__u64)&denobpf_no_such_symbol;
	return 0;
}

struct pid_args {
	int pid;
};

SEC("syscall")
int kfunc_lookup(struct pid_args *args)
{
	struct task_struct *t = bpf_task_from_pid(args->pid);

	if (!t)
		return 0;
	ext.found_pid = t->pid;
	bpf_task_release(t);
	ext.kfunc_present = &bpf_task_release != 0;
	if (&denobpf_no_such_kfunc)
		denobpf_no_such_kfunc();
	return 1;
}
