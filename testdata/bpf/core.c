// SPDX-License-Identifier: GPL-2.0
/*
 * CO-RE: one relocation of every kind clang 14 emits, against vmlinux types
 * declared locally (task_struct, sk_buff), a flavoured type, and a missing
 * field whose poisoned access is dead code. `core_task` writes the results
 * into .bss so that a test run can check them.
 */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

enum denobpf_fake_enum {
	DENOBPF_FAKE_VALUE = 5,
};

struct denobpf_no_such_struct {
	int x;
} CORE;

struct core_results {
	int pid;
	int tgid;
	int parent_tgid;
	__u32 comm_size;
	__u32 pid_exists;
	__u32 old_state_exists;
	__u32 new_state_exists;
	__u32 missing_exists;
	__u32 pid_signed;
	__u32 flags_signed;
	__u32 task_exists;
	__u32 task_size;
	__u32 task_local_id;
	__u32 task_target_id;
	__u32 fake_type_exists;
	__u32 fake_type_size;
	__u32 tgid_enum_exists;
	__u32 fake_enum_exists;
	__u64 tgid_enum_value;
	__u32 skb_len_offset;
	__u32 skb_mark_offset;
	__u32 fclone_offset;
	__u32 fclone_size;
	__u32 fclone_lshift;
	__u32 fclone_rshift;
	__u32 pkt_type_offset;
	__u32 pkt_type_lshift;
	__u32 pkt_type_rshift;
	__u32 guarded;
	char comm[16];
};

struct core_results results;

SEC("raw_tp/sys_enter")
int core_task(void *ctx)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	struct task_struct___old *old = (void *)task;
	struct task_struct___missing *missing = (void *)task;
	struct sk_buff *skb = 0;

	results.pid = BPF_CORE_READ(task, pid);
	results.tgid = BPF_CORE_READ(task, tgid);
	results.parent_tgid = BPF_CORE_READ(task, real_parent, tgid);
	BPF_CORE_READ_STR_INTO(&results.comm, task, comm);
	results.comm_size = bpf_core_field_size(task->comm);
	results.pid_exists = bpf_core_field_exists(task->pid);
	results.old_state_exists = bpf_core_field_exists(old->state);
	results.new_state_exists = bpf_core_field_exists(task->__state);
	results.missing_exists = bpf_core_field_exists(missing->denobpf_no_such_field);
	results.pid_signed = __builtin_preserve_field_info(task->pid, BPF_FIELD_SIGNED);
	results.flags_signed = __builtin_preserve_field_info(task->flags, BPF_FIELD_SIGNED);
	results.task_exists = bpf_core_type_exists(struct task_struct);
	results.task_size = bpf_core_type_size(struct task_struct);
	results.task_local_id = bpf_core_type_id_local(struct task_struct);
	results.task_target_id = bpf_core_type_id_kernel(struct task_struct);
	results.fake_type_exists = bpf_core_type_exists(struct denobpf_no_such_struct);
	results.fake_type_size = bpf_core_type_size(struct denobpf_no_such_struct);
	results.tgid_enum_exists = bpf_core_enum_value_exists(enum pid_type, PIDTYPE_TGID);
	results.fake_enum_exists = bpf_core_enum_value_exists(enum denobpf_fake_enum, DENOBPF_FAKE_VALUE);
	results.tgid_enum_value = bpf_core_enum_value(enum pid_type, PIDTYPE_TGID);
	results.skb_len_offset = bpf_core_field_offset(skb->len);
	results.skb_mark_offset = bpf_core_field_offset(skb->mark);
	results.fclone_offset = bpf_core_field_offset(skb->fclone);
	results.fclone_size = bpf_core_field_size(skb->fclone);
	results.fclone_lshift = __builtin_preserve_field_info(skb->fclone, BPF_FIELD_LSHIFT_U64);
	results.fclone_rshift = __builtin_preserve_field_info(skb->fclone, BPF_FIELD_RSHIFT_U64);
	results.pkt_type_offset = bpf_core_field_offset(skb->pkt_type);
	results.pkt_type_lshift = __builtin_preserve_field_info(skb->pkt_type, BPF_FIELD_LSHIFT_U64);
	results.pkt_type_rshift = __builtin_preserve_field_info(skb->pkt_type, BPF_FIELD_RSHIFT_U64);
	if (bpf_core_field_exists(missing->denobpf_no_such_field))
		results.guarded = BPF_CORE_READ(missing, denobpf_no_such_field);
	else
		results.guarded = 1;
	return 0;
}

SEC("tp_btf/sys_enter")
int core_btf(__u64 *ctx)
{
	struct task_struct *task = bpf_get_current_task_btf();

	/* Direct loads through a BTF pointer: CO-RE'd ldx instructions. */
	results.pid = task->pid;
	results.tgid = task->group_leader->tgid;
	return 0;
}

SEC("raw_tp/sys_enter")
int core_skb(void *ctx)
{
	struct sk_buff *skb = (void *)bpf_get_current_task();
	__u32 len = 0;

	if (BPF_CORE_READ_BITFIELD_PROBED(skb, pkt_type) == 3)
		return 1;
	len = BPF_CORE_READ(skb, len);
	return len > 100;
}
