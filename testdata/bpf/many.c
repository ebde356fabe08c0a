// SPDX-License-Identifier: GPL-2.0
/*
 * Many programs (24) of several types in one object, each with CO-RE reads
 * of task_struct, sharing a map, global data and a subprogram: the
 * benchmark object and the stress test of the loader.
 */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, __u32);
	__type(value, __u64);
} seen SEC(".maps");

const volatile __u32 only_tgid = 0;
__u64 hits;

static __noinline int record(__u32 tag)
{
	struct task_struct *task = (void *)bpf_get_current_task();
	__u32 tgid = BPF_CORE_READ(task, tgid);
	__u64 *v, one = 1;

	if (only_tgid && tgid != only_tgid)
		return 0;
	if (bpf_core_field_exists(task->real_parent))
		tgid ^= BPF_CORE_READ(task, real_parent, tgid) << 1;
	tgid ^= tag;
	v = bpf_map_lookup_elem(&seen, &tgid);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&seen, &tgid, &one, BPF_NOEXIST);
	hits++;
	return 0;
}

#define TASK_PROG(sec, name, tag)                                              \
	SEC(sec)                                                               \
	int name(void *ctx)                                                    \
	{                                                                      \
		struct task_struct *t = (void *)bpf_get_current_task();        \
		__u32 f = BPF_CORE_READ(t, flags);                             \
		if (f & (1u << (tag % 32)))                                    \
			hits += BPF_CORE_READ(t, group_leader, pid);           \
		return record(tag + bpf_core_field_size(t->comm));             \
	}

TASK_PROG("raw_tp/sys_enter", m_raw_enter, 1)
TASK_PROG("raw_tp/sys_exit", m_raw_exit, 2)
TASK_PROG("raw_tracepoint/sched_switch", m_raw_switch, 3)
TASK_PROG("raw_tp/sched_process_exec", m_raw_exec, 4)
TASK_PROG("raw_tp/sched_process_fork", m_raw_fork, 5)
TASK_PROG("raw_tp/task_newtask", m_raw_newtask, 6)
TASK_PROG("tp/syscalls/sys_enter_getpid", m_tp_getpid, 7)
TASK_PROG("tracepoint/syscalls/sys_enter_openat", m_tp_openat, 8)
TASK_PROG("tp/sched/sched_process_exit", m_tp_exit, 9)
TASK_PROG("tp/sched/sched_wakeup", m_tp_wakeup, 10)
TASK_PROG("kprobe/do_sys_openat2", m_kp_openat, 11)
TASK_PROG("kretprobe/do_sys_openat2", m_kretp_openat, 12)
TASK_PROG("kprobe/__x64_sys_getpid", m_kp_getpid, 13)
TASK_PROG("kprobe/vfs_read", m_kp_read, 14)
TASK_PROG("kretprobe/vfs_write", m_kretp_write, 15)
TASK_PROG("tp_btf/sys_enter", m_btf_enter, 16)
TASK_PROG("tp_btf/sched_switch", m_btf_switch, 17)
TASK_PROG("tp_btf/sched_process_fork", m_btf_fork, 18)
TASK_PROG("perf_event", m_perf, 19)
TASK_PROG("raw_tp/sys_enter", m_raw_enter2, 20)
TASK_PROG("uprobe//proc/self/exe:main", m_uprobe, 21)
TASK_PROG("uretprobe//proc/self/exe:main", m_uretprobe, 22)
TASK_PROG("iter/task", m_iter_task, 23)
TASK_PROG("raw_tp.w/sys_enter", m_raw_writable, 24)
