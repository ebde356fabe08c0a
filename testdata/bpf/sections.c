// SPDX-License-Identifier: GPL-2.0
/*
 * One trivial program per libbpf section name that this kernel loads (the
 * tracing kinds it refuses are in tracing.c).
 */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

#define PROG(sec, name)          \
	SEC(sec)                 \
	int name(void *ctx)      \
	{                        \
		return 0;        \
	}
#define PROG_RET(sec, name, ret) \
	SEC(sec)                 \
	int name(void *ctx)      \
	{                        \
		return ret;      \
	}

PROG("socket", s_socket)
PROG("kprobe/vfs_read", s_kprobe)
PROG("kretprobe/vfs_read", s_kretprobe)
PROG("uprobe//bin/true:main", s_uprobe)
PROG("uretprobe//bin/true:main", s_uretprobe)
PROG("uprobe.s//bin/true:main", s_uprobe_s)
PROG("kprobe.multi/vfs_*", s_kprobe_multi)
PROG("kretprobe.multi/vfs_*", s_kretprobe_multi)
PROG("usdt/libc.so.6:libc:setjmp", s_usdt)
PROG("tracepoint/syscalls/sys_enter_getpid", s_tracepoint)
PROG("tp/sched/sched_switch", s_tp)
PROG("raw_tracepoint/sys_enter", s_raw_tracepoint)
PROG("raw_tp/sys_exit", s_raw_tp)
PROG("raw_tp.w/sys_enter", s_raw_tp_w)
PROG("tp_btf/sys_enter", s_tp_btf)
PROG("iter/task", s_iter)
PROG("xdp", s_xdp)
PROG("xdp.frags", s_xdp_frags)
PROG("xdp/devmap", s_xdp_devmap)
PROG("xdp/cpumap", s_xdp_cpumap)
PROG("tc", s_tc)
PROG("classifier", s_classifier)
PROG("action", s_action)
PROG("perf_event", s_perf_event)
PROG("lwt_in", s_lwt_in)
PROG("lwt_xmit", s_lwt_xmit)
PROG("sockops", s_sockops)
PROG("sk_skb/stream_parser", s_sk_skb_parser)
PROG("sk_skb/stream_verdict", s_sk_skb_verdict)
PROG("sk_skb", s_sk_skb)
PROG("sk_msg", s_sk_msg)
PROG("flow_dissector", s_flow_dissector)
PROG_RET("cgroup_skb/ingress", s_cgroup_skb_ingress, 1)
PROG_RET("cgroup_skb/egress", s_cgroup_skb_egress, 1)
PROG_RET("cgroup/skb", s_cgroup_skb, 1)
PROG_RET("cgroup/sock_create", s_sock_create, 1)
PROG_RET("cgroup/sock_release", s_sock_release, 1)
PROG_RET("cgroup/post_bind4", s_post_bind4, 1)
PROG_RET("cgroup/connect4", s_connect4, 1)
PROG_RET("cgroup/connect6", s_connect6, 1)
PROG_RET("cgroup/bind4", s_bind4, 1)
PROG_RET("cgroup/sendmsg4", s_sendmsg4, 1)
PROG_RET("cgroup/recvmsg4", s_recvmsg4, 1)
PROG_RET("cgroup/getpeername4", s_getpeername4, 1)
PROG_RET("cgroup/getsockname6", s_getsockname6, 1)
PROG_RET("cgroup/sysctl", s_sysctl, 1)
PROG_RET("cgroup/getsockopt", s_getsockopt, 1)
PROG_RET("cgroup/setsockopt", s_setsockopt, 1)
PROG_RET("cgroup/dev", s_dev, 1)
PROG("sk_lookup", s_sk_lookup)
PROG("sk_reuseport", s_sk_reuseport)
PROG("syscall", s_syscall)
