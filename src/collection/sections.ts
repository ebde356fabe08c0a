/**
 * ELF section names of BPF programs (libbpf's `SEC("…")` conventions): what
 * program type, expected attach type and load flags each implies, and what
 * the part after the slash names (the attach target).
 *
 * @module
 */

import type { AttachTypeName, ProgramTypeName } from "../asm/types.ts";
import { ProgramFlags } from "../program/types.ts";

/** How a program that attaches by BTF id finds its target in kernel BTF. */
export type BtfAttachKind =
  /** `tp_btf/<tp>`: the typedef `btf_trace_<tp>`. */
  | "raw_tp"
  /** `fentry/`, `fexit/`, `fmod_ret/`: the function `<target>`. */
  | "func"
  /** `lsm/<hook>`, `lsm_cgroup/<hook>`: the function `bpf_lsm_<hook>`. */
  | "lsm"
  /** `iter/<name>`: the function `bpf_iter_<name>`. */
  | "iter"
  /** `freplace/<func>`: a function of another BPF program (needs `attachProgFd`). */
  | "ext";

/** What a section name says about the programs in it. */
export interface SectionInfo {
  /** The section name's known prefix, e.g. `"kprobe"` or `"cgroup/connect4"`. */
  readonly prefix: string;
  /** The program type. */
  readonly programType: ProgramTypeName;
  /** The expected attach type to load with, if the kind needs or accepts one. */
  readonly attachType?: AttachTypeName;
  /** The part after the first `/`, for kinds that take a target (`"do_sys_open"`, `"syscalls/sys_enter_getpid"`). */
  readonly attachTo?: string;
  /** `prog_flags` the kind loads with (sleepable, XDP frags). */
  readonly flags: number;
  /** For programs attached by BTF id: how to find the target. */
  readonly btfAttach?: BtfAttachKind;
  /** True for kretprobe/uretprobe kinds (the attach step needs it). */
  readonly retprobe: boolean;
}

interface Def {
  sec: string;
  type: ProgramTypeName;
  attach?: AttachTypeName;
  /** libbpf's `+`: the name may carry `/<target>`. */
  target?: boolean;
  sleepable?: boolean;
  frags?: boolean;
  btf?: BtfAttachKind;
  ret?: boolean;
}

/**
 * The known section names, most specific first (libbpf's table, plus the
 * names newer libbpf versions added: tcx, netkit, uprobe.multi, …).
 */
const DEFS: readonly Def[] = [
  { sec: "socket", type: "socket_filter" },
  { sec: "sk_reuseport/migrate", type: "sk_reuseport", attach: "sk_reuseport_select_or_migrate" },
  { sec: "sk_reuseport", type: "sk_reuseport", attach: "sk_reuseport_select" },
  { sec: "kprobe.multi", type: "kprobe", attach: "trace_kprobe_multi", target: true },
  { sec: "kretprobe.multi", type: "kprobe", attach: "trace_kprobe_multi", target: true, ret: true },
  { sec: "kprobe.session", type: "kprobe", attach: "trace_kprobe_session", target: true },
  {
    sec: "uprobe.multi.s",
    type: "kprobe",
    attach: "trace_uprobe_multi",
    target: true,
    sleepable: true,
  },
  {
    sec: "uretprobe.multi.s",
    type: "kprobe",
    attach: "trace_uprobe_multi",
    target: true,
    sleepable: true,
    ret: true,
  },
  { sec: "uprobe.multi", type: "kprobe", attach: "trace_uprobe_multi", target: true },
  { sec: "uretprobe.multi", type: "kprobe", attach: "trace_uprobe_multi", target: true, ret: true },
  {
    sec: "uprobe.session.s",
    type: "kprobe",
    attach: "trace_uprobe_session",
    target: true,
    sleepable: true,
  },
  { sec: "uprobe.session", type: "kprobe", attach: "trace_uprobe_session", target: true },
  { sec: "kprobe", type: "kprobe", target: true },
  { sec: "kretprobe", type: "kprobe", target: true, ret: true },
  { sec: "uprobe.s", type: "kprobe", target: true, sleepable: true },
  { sec: "uretprobe.s", type: "kprobe", target: true, sleepable: true, ret: true },
  { sec: "uprobe", type: "kprobe", target: true },
  { sec: "uretprobe", type: "kprobe", target: true, ret: true },
  { sec: "ksyscall", type: "kprobe", target: true },
  { sec: "kretsyscall", type: "kprobe", target: true, ret: true },
  { sec: "usdt.s", type: "kprobe", target: true, sleepable: true },
  { sec: "usdt", type: "kprobe", target: true },
  { sec: "tc/ingress", type: "sched_cls", attach: "tcx_ingress" },
  { sec: "tc/egress", type: "sched_cls", attach: "tcx_egress" },
  { sec: "tcx/ingress", type: "sched_cls", attach: "tcx_ingress" },
  { sec: "tcx/egress", type: "sched_cls", attach: "tcx_egress" },
  { sec: "netkit/primary", type: "sched_cls", attach: "netkit_primary" },
  { sec: "netkit/peer", type: "sched_cls", attach: "netkit_peer" },
  { sec: "tc", type: "sched_cls" },
  { sec: "classifier", type: "sched_cls" },
  { sec: "action", type: "sched_act" },
  { sec: "tracepoint", type: "tracepoint", target: true },
  { sec: "tp", type: "tracepoint", target: true },
  { sec: "raw_tracepoint.w", type: "raw_tracepoint_writable", target: true },
  { sec: "raw_tp.w", type: "raw_tracepoint_writable", target: true },
  { sec: "raw_tracepoint", type: "raw_tracepoint", target: true },
  { sec: "raw_tp", type: "raw_tracepoint", target: true },
  { sec: "tp_btf", type: "tracing", attach: "trace_raw_tp", target: true, btf: "raw_tp" },
  {
    sec: "fentry.s",
    type: "tracing",
    attach: "trace_fentry",
    target: true,
    btf: "func",
    sleepable: true,
  },
  {
    sec: "fmod_ret.s",
    type: "tracing",
    attach: "modify_return",
    target: true,
    btf: "func",
    sleepable: true,
  },
  {
    sec: "fexit.s",
    type: "tracing",
    attach: "trace_fexit",
    target: true,
    btf: "func",
    sleepable: true,
  },
  { sec: "fentry", type: "tracing", attach: "trace_fentry", target: true, btf: "func" },
  { sec: "fmod_ret", type: "tracing", attach: "modify_return", target: true, btf: "func" },
  { sec: "fexit", type: "tracing", attach: "trace_fexit", target: true, btf: "func" },
  { sec: "freplace", type: "ext", target: true, btf: "ext" },
  { sec: "lsm.s", type: "lsm", attach: "lsm_mac", target: true, btf: "lsm", sleepable: true },
  { sec: "lsm_cgroup", type: "lsm", attach: "lsm_cgroup", target: true, btf: "lsm" },
  { sec: "lsm", type: "lsm", attach: "lsm_mac", target: true, btf: "lsm" },
  {
    sec: "iter.s",
    type: "tracing",
    attach: "trace_iter",
    target: true,
    btf: "iter",
    sleepable: true,
  },
  { sec: "iter", type: "tracing", attach: "trace_iter", target: true, btf: "iter" },
  { sec: "syscall", type: "syscall", sleepable: true },
  { sec: "xdp.frags/devmap", type: "xdp", attach: "xdp_devmap", frags: true },
  { sec: "xdp/devmap", type: "xdp", attach: "xdp_devmap" },
  { sec: "xdp.frags/cpumap", type: "xdp", attach: "xdp_cpumap", frags: true },
  { sec: "xdp/cpumap", type: "xdp", attach: "xdp_cpumap" },
  { sec: "xdp.frags", type: "xdp", attach: "xdp", frags: true },
  { sec: "xdp", type: "xdp", attach: "xdp" },
  { sec: "perf_event", type: "perf_event" },
  { sec: "lwt_in", type: "lwt_in" },
  { sec: "lwt_out", type: "lwt_out" },
  { sec: "lwt_xmit", type: "lwt_xmit" },
  { sec: "lwt_seg6local", type: "lwt_seg6local" },
  { sec: "sockops", type: "sock_ops", attach: "cgroup_sock_ops" },
  { sec: "sk_skb/stream_parser", type: "sk_skb", attach: "sk_skb_stream_parser" },
  { sec: "sk_skb/stream_verdict", type: "sk_skb", attach: "sk_skb_stream_verdict" },
  { sec: "sk_skb/verdict", type: "sk_skb", attach: "sk_skb_verdict" },
  { sec: "sk_skb", type: "sk_skb" },
  { sec: "sk_msg", type: "sk_msg", attach: "sk_msg_verdict" },
  { sec: "lirc_mode2", type: "lirc_mode2", attach: "lirc_mode2" },
  { sec: "flow_dissector", type: "flow_dissector", attach: "flow_dissector" },
  { sec: "cgroup_skb/ingress", type: "cgroup_skb", attach: "cgroup_inet_ingress" },
  { sec: "cgroup_skb/egress", type: "cgroup_skb", attach: "cgroup_inet_egress" },
  { sec: "cgroup/skb", type: "cgroup_skb" },
  { sec: "cgroup/sock_create", type: "cgroup_sock", attach: "cgroup_inet_sock_create" },
  { sec: "cgroup/sock_release", type: "cgroup_sock", attach: "cgroup_inet_sock_release" },
  { sec: "cgroup/sock", type: "cgroup_sock", attach: "cgroup_inet_sock_create" },
  { sec: "cgroup/post_bind4", type: "cgroup_sock", attach: "cgroup_inet4_post_bind" },
  { sec: "cgroup/post_bind6", type: "cgroup_sock", attach: "cgroup_inet6_post_bind" },
  { sec: "cgroup/bind4", type: "cgroup_sock_addr", attach: "cgroup_inet4_bind" },
  { sec: "cgroup/bind6", type: "cgroup_sock_addr", attach: "cgroup_inet6_bind" },
  { sec: "cgroup/connect4", type: "cgroup_sock_addr", attach: "cgroup_inet4_connect" },
  { sec: "cgroup/connect6", type: "cgroup_sock_addr", attach: "cgroup_inet6_connect" },
  { sec: "cgroup/connect_unix", type: "cgroup_sock_addr", attach: "cgroup_unix_connect" },
  { sec: "cgroup/sendmsg4", type: "cgroup_sock_addr", attach: "cgroup_udp4_sendmsg" },
  { sec: "cgroup/sendmsg6", type: "cgroup_sock_addr", attach: "cgroup_udp6_sendmsg" },
  { sec: "cgroup/sendmsg_unix", type: "cgroup_sock_addr", attach: "cgroup_unix_sendmsg" },
  { sec: "cgroup/recvmsg4", type: "cgroup_sock_addr", attach: "cgroup_udp4_recvmsg" },
  { sec: "cgroup/recvmsg6", type: "cgroup_sock_addr", attach: "cgroup_udp6_recvmsg" },
  { sec: "cgroup/recvmsg_unix", type: "cgroup_sock_addr", attach: "cgroup_unix_recvmsg" },
  { sec: "cgroup/getpeername4", type: "cgroup_sock_addr", attach: "cgroup_inet4_getpeername" },
  { sec: "cgroup/getpeername6", type: "cgroup_sock_addr", attach: "cgroup_inet6_getpeername" },
  { sec: "cgroup/getpeername_unix", type: "cgroup_sock_addr", attach: "cgroup_unix_getpeername" },
  { sec: "cgroup/getsockname4", type: "cgroup_sock_addr", attach: "cgroup_inet4_getsockname" },
  { sec: "cgroup/getsockname6", type: "cgroup_sock_addr", attach: "cgroup_inet6_getsockname" },
  { sec: "cgroup/getsockname_unix", type: "cgroup_sock_addr", attach: "cgroup_unix_getsockname" },
  { sec: "cgroup/sysctl", type: "cgroup_sysctl", attach: "cgroup_sysctl" },
  { sec: "cgroup/getsockopt", type: "cgroup_sockopt", attach: "cgroup_getsockopt" },
  { sec: "cgroup/setsockopt", type: "cgroup_sockopt", attach: "cgroup_setsockopt" },
  { sec: "cgroup/dev", type: "cgroup_device", attach: "cgroup_device" },
  { sec: "struct_ops.s", type: "struct_ops", target: true, sleepable: true },
  { sec: "struct_ops", type: "struct_ops", target: true },
  { sec: "sk_lookup", type: "sk_lookup", attach: "sk_lookup" },
  { sec: "netfilter", type: "netfilter", attach: "netfilter" },
];

/**
 * What a program section's name says: program type, expected attach type,
 * flags and target; `undefined` for names no libbpf convention covers.
 *
 * A name matches an entry when it equals the entry, or starts with the entry
 * followed by `/` (the rest is the attach target for kinds that take one;
 * for the others it is ignored, as older libbpf versions did).
 *
 * @example
 * ```ts
 * import { sectionInfo } from "./sections.ts";
 * const s = sectionInfo("kprobe/do_sys_open");
 * // s.programType === "kprobe", s.attachTo === "do_sys_open"
 * ```
 */
export function sectionInfo(name: string): SectionInfo | undefined {
  for (const d of DEFS) {
    let rest: string | undefined;
    if (name === d.sec) rest = undefined;
    else if (name.startsWith(d.sec + "/")) rest = name.slice(d.sec.length + 1);
    else continue;
    let flags = 0;
    if (d.sleepable) flags |= ProgramFlags.SLEEPABLE;
    if (d.frags) flags |= ProgramFlags.XDP_HAS_FRAGS;
    return {
      prefix: d.sec,
      programType: d.type,
      attachType: d.attach,
      attachTo: d.target && rest !== undefined && rest !== "" ? rest : undefined,
      flags,
      btfAttach: d.btf,
      retprobe: d.ret ?? false,
    };
  }
  return undefined;
}

/** Every section name prefix this module knows, most specific first. */
export const KNOWN_SECTIONS: readonly string[] = DEFS.map((d) => d.sec);
