/**
 * Kernel enumerations a loader needs beside the instruction set: program
 * types (`enum bpf_prog_type`), attach types (`enum bpf_attach_type`), map
 * types (`enum bpf_map_type`) and link types (`enum bpf_link_type`).
 *
 * Names are the UAPI enumerators in lower case without their prefix, which is
 * how bpftool and libbpf print them (`"sched_cls"`, `"tcx_ingress"`,
 * `"ringbuf"`). Values are complete through Linux 6.18: taken from this
 * machine's vmlinux BTF, whose first entries agree with the 6.1 UAPI header
 * in `/usr/include/linux/bpf.h`.
 *
 * ```ts
 * import { AttachType, ProgramType, programTypeName } from "@denobpf/ebpf/asm";
 * ProgramType.xdp; // 6
 * AttachType.tcx_ingress; // 46
 * programTypeName(3); // "sched_cls"
 * ```
 *
 * @module
 */

function namesOf(table: Readonly<Record<string, number>>): string[] {
  const names: string[] = [];
  for (const [name, value] of Object.entries(table)) names[value] ??= name;
  return names;
}

// The number-to-name tables are built on first use, not at import.
let programTypeNames: readonly string[] | undefined;
let attachTypeNames: readonly string[] | undefined;
let linkTypeNames: readonly string[] | undefined;

/**
 * Program types (`enum bpf_prog_type`), keyed by bpftool's names.
 */
export const ProgramType = {
  unspec: 0,
  socket_filter: 1,
  kprobe: 2,
  sched_cls: 3,
  sched_act: 4,
  tracepoint: 5,
  xdp: 6,
  perf_event: 7,
  cgroup_skb: 8,
  cgroup_sock: 9,
  lwt_in: 10,
  lwt_out: 11,
  lwt_xmit: 12,
  sock_ops: 13,
  sk_skb: 14,
  cgroup_device: 15,
  sk_msg: 16,
  raw_tracepoint: 17,
  cgroup_sock_addr: 18,
  lwt_seg6local: 19,
  lirc_mode2: 20,
  sk_reuseport: 21,
  flow_dissector: 22,
  cgroup_sysctl: 23,
  raw_tracepoint_writable: 24,
  cgroup_sockopt: 25,
  tracing: 26,
  struct_ops: 27,
  ext: 28,
  lsm: 29,
  sk_lookup: 30,
  syscall: 31,
  netfilter: 32,
} as const;

/** A name of {@link ProgramType}. */
export type ProgramTypeName = keyof typeof ProgramType;

/** The bpftool name of a program type number, or `undefined` if unknown. */
export function programTypeName(value: number): ProgramTypeName | undefined {
  return (programTypeNames ??= namesOf(ProgramType))[value] as ProgramTypeName | undefined;
}

/**
 * Attach types (`enum bpf_attach_type`), keyed by libbpf's names (`BPF_TCX_INGRESS` → `tcx_ingress`).
 */
export const AttachType = {
  cgroup_inet_ingress: 0,
  cgroup_inet_egress: 1,
  cgroup_inet_sock_create: 2,
  cgroup_sock_ops: 3,
  sk_skb_stream_parser: 4,
  sk_skb_stream_verdict: 5,
  cgroup_device: 6,
  sk_msg_verdict: 7,
  cgroup_inet4_bind: 8,
  cgroup_inet6_bind: 9,
  cgroup_inet4_connect: 10,
  cgroup_inet6_connect: 11,
  cgroup_inet4_post_bind: 12,
  cgroup_inet6_post_bind: 13,
  cgroup_udp4_sendmsg: 14,
  cgroup_udp6_sendmsg: 15,
  lirc_mode2: 16,
  flow_dissector: 17,
  cgroup_sysctl: 18,
  cgroup_udp4_recvmsg: 19,
  cgroup_udp6_recvmsg: 20,
  cgroup_getsockopt: 21,
  cgroup_setsockopt: 22,
  trace_raw_tp: 23,
  trace_fentry: 24,
  trace_fexit: 25,
  modify_return: 26,
  lsm_mac: 27,
  trace_iter: 28,
  cgroup_inet4_getpeername: 29,
  cgroup_inet6_getpeername: 30,
  cgroup_inet4_getsockname: 31,
  cgroup_inet6_getsockname: 32,
  xdp_devmap: 33,
  cgroup_inet_sock_release: 34,
  xdp_cpumap: 35,
  sk_lookup: 36,
  xdp: 37,
  sk_skb_verdict: 38,
  sk_reuseport_select: 39,
  sk_reuseport_select_or_migrate: 40,
  perf_event: 41,
  trace_kprobe_multi: 42,
  lsm_cgroup: 43,
  struct_ops: 44,
  netfilter: 45,
  tcx_ingress: 46,
  tcx_egress: 47,
  trace_uprobe_multi: 48,
  cgroup_unix_connect: 49,
  cgroup_unix_sendmsg: 50,
  cgroup_unix_recvmsg: 51,
  cgroup_unix_getpeername: 52,
  cgroup_unix_getsockname: 53,
  netkit_primary: 54,
  netkit_peer: 55,
  trace_kprobe_session: 56,
  trace_uprobe_session: 57,
} as const;

/** A name of {@link AttachType}. */
export type AttachTypeName = keyof typeof AttachType;

/** The libbpf name of an attach type number, or `undefined` if unknown. */
export function attachTypeName(value: number): AttachTypeName | undefined {
  return (attachTypeNames ??= namesOf(AttachType))[value] as AttachTypeName | undefined;
}

// Map types live with the maps: src/map/types.ts (MapType, mapTypeName).

/**
 * Link types (`enum bpf_link_type`), keyed by bpftool's names.
 */
export const LinkType = {
  unspec: 0,
  raw_tracepoint: 1,
  tracing: 2,
  cgroup: 3,
  iter: 4,
  netns: 5,
  xdp: 6,
  perf_event: 7,
  kprobe_multi: 8,
  struct_ops: 9,
  netfilter: 10,
  tcx: 11,
  uprobe_multi: 12,
  netkit: 13,
  sockmap: 14,
} as const;

/** A name of {@link LinkType}. */
export type LinkTypeName = keyof typeof LinkType;

/** The bpftool name of a link type number, or `undefined` if unknown. */
export function linkTypeName(value: number): LinkTypeName | undefined {
  return (linkTypeNames ??= namesOf(LinkType))[value] as LinkTypeName | undefined;
}
