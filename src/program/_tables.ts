// Facts about program types that the loader needs for its error messages:
// when each type appeared and which capabilities the kernel checks for it
// (kernel/bpf/syscall.c: is_net_admin_prog_type(), is_perfmon_prog_type()).
// Keyed by `enum bpf_prog_type` number; names come from src/asm/types.ts.

import { AttachType, attachTypeName, ProgramType, programTypeName } from "../asm/types.ts";

/** How the kernel gates loading a program type (beyond CAP_BPF). */
export type CapClass = "unprivileged" | "bpf" | "net" | "perfmon" | "net+perfmon";

interface TypeFacts {
  /** First kernel release with the type, as "major.minor". */
  since: string;
  caps: CapClass;
}

const FACTS: Record<number, TypeFacts> = {
  [ProgramType.socket_filter]: { since: "3.19", caps: "unprivileged" },
  [ProgramType.kprobe]: { since: "4.1", caps: "perfmon" },
  [ProgramType.sched_cls]: { since: "4.1", caps: "net" },
  [ProgramType.sched_act]: { since: "4.1", caps: "net" },
  [ProgramType.tracepoint]: { since: "4.7", caps: "perfmon" },
  [ProgramType.xdp]: { since: "4.8", caps: "net" },
  [ProgramType.perf_event]: { since: "4.9", caps: "perfmon" },
  [ProgramType.cgroup_skb]: { since: "4.10", caps: "unprivileged" },
  [ProgramType.cgroup_sock]: { since: "4.10", caps: "net" },
  [ProgramType.lwt_in]: { since: "4.10", caps: "net" },
  [ProgramType.lwt_out]: { since: "4.10", caps: "net" },
  [ProgramType.lwt_xmit]: { since: "4.10", caps: "net" },
  [ProgramType.sock_ops]: { since: "4.13", caps: "net" },
  [ProgramType.sk_skb]: { since: "4.14", caps: "net" },
  [ProgramType.cgroup_device]: { since: "4.15", caps: "net" },
  [ProgramType.sk_msg]: { since: "4.17", caps: "net" },
  [ProgramType.raw_tracepoint]: { since: "4.17", caps: "perfmon" },
  [ProgramType.cgroup_sock_addr]: { since: "4.17", caps: "net" },
  [ProgramType.lwt_seg6local]: { since: "4.18", caps: "net" },
  [ProgramType.lirc_mode2]: { since: "4.18", caps: "bpf" },
  [ProgramType.sk_reuseport]: { since: "4.19", caps: "bpf" },
  [ProgramType.flow_dissector]: { since: "4.20", caps: "net" },
  [ProgramType.cgroup_sysctl]: { since: "5.2", caps: "net" },
  [ProgramType.raw_tracepoint_writable]: { since: "5.2", caps: "perfmon" },
  [ProgramType.cgroup_sockopt]: { since: "5.3", caps: "net" },
  [ProgramType.tracing]: { since: "5.5", caps: "perfmon" },
  [ProgramType.struct_ops]: { since: "5.6", caps: "perfmon" },
  [ProgramType.ext]: { since: "5.6", caps: "net+perfmon" },
  [ProgramType.lsm]: { since: "5.7", caps: "perfmon" },
  [ProgramType.sk_lookup]: { since: "5.9", caps: "bpf" },
  [ProgramType.syscall]: { since: "5.14", caps: "bpf" },
  [ProgramType.netfilter]: { since: "6.4", caps: "net" },
};

/** Program types that attach through a BTF id (fentry/fexit/LSM/freplace/struct_ops). */
export const BTF_ATTACHED_TYPES: ReadonlySet<number> = new Set([
  ProgramType.tracing,
  ProgramType.struct_ops,
  ProgramType.ext,
  ProgramType.lsm,
]);

/** The facts about a program type number, if the library knows it. */
export function typeFacts(type: number): TypeFacts | undefined {
  return FACTS[type];
}

/**
 * For probing only: one attach type the kernel accepts for each program type
 * that is rejected (EINVAL, before verification) without a matching
 * `expected_attach_type`.
 */
export const PROBE_ATTACH_TYPES: Readonly<Record<number, number>> = {
  [ProgramType.cgroup_sock_addr]: AttachType.cgroup_inet4_connect,
  [ProgramType.cgroup_sockopt]: AttachType.cgroup_getsockopt,
  [ProgramType.sk_lookup]: AttachType.sk_lookup,
  [ProgramType.netfilter]: AttachType.netfilter,
};

/**
 * What `loadProgram` sends as `expected_attach_type` when the spec gives
 * none, as libbpf's section defaults do: the only attach type the kernel
 * accepts for the type (sk_lookup, netfilter), or the usual one where the
 * alternative is rare and needs more (LSM: `lsm_mac`; `lsm_cgroup` must be
 * asked for).
 */
export const DEFAULT_ATTACH_TYPES: Readonly<Record<number, number>> = {
  [ProgramType.sk_lookup]: AttachType.sk_lookup,
  [ProgramType.netfilter]: AttachType.netfilter,
  [ProgramType.lsm]: AttachType.lsm_mac,
};

/**
 * The attach type the kernel itself substitutes for 0 at load
 * (`bpf_prog_load_fixup_attach_type()`): nothing is sent, but the program
 * has this attach type.
 */
export const KERNEL_DEFAULT_ATTACH_TYPES: Readonly<Record<number, number>> = {
  [ProgramType.cgroup_sock]: AttachType.cgroup_inet_sock_create,
  [ProgramType.sk_reuseport]: AttachType.sk_reuseport_select,
};

/**
 * Program types that need an explicit attach type, with the choices the
 * kernel accepts (`bpf_prog_load_check_attach()`, and the verifier for
 * tracing): no default would be right for most programs.
 */
export const ATTACH_TYPE_CHOICES: Readonly<Record<number, readonly number[]>> = {
  [ProgramType.cgroup_sock_addr]: [
    AttachType.cgroup_inet4_bind,
    AttachType.cgroup_inet6_bind,
    AttachType.cgroup_inet4_connect,
    AttachType.cgroup_inet6_connect,
    AttachType.cgroup_unix_connect,
    AttachType.cgroup_inet4_getpeername,
    AttachType.cgroup_inet6_getpeername,
    AttachType.cgroup_unix_getpeername,
    AttachType.cgroup_inet4_getsockname,
    AttachType.cgroup_inet6_getsockname,
    AttachType.cgroup_unix_getsockname,
    AttachType.cgroup_udp4_sendmsg,
    AttachType.cgroup_udp6_sendmsg,
    AttachType.cgroup_unix_sendmsg,
    AttachType.cgroup_udp4_recvmsg,
    AttachType.cgroup_udp6_recvmsg,
    AttachType.cgroup_unix_recvmsg,
  ],
  [ProgramType.cgroup_sockopt]: [AttachType.cgroup_getsockopt, AttachType.cgroup_setsockopt],
  [ProgramType.tracing]: [
    AttachType.trace_raw_tp,
    AttachType.trace_fentry,
    AttachType.trace_fexit,
    AttachType.modify_return,
    AttachType.trace_iter,
  ],
};

/**
 * Program types whose attach type is fixed by the type alone, so that it can
 * be told for a program opened by id, pin or descriptor even though
 * `struct bpf_prog_info` does not report `expected_attach_type`.
 */
export const FIXED_ATTACH_TYPES: Readonly<Record<number, number>> = {
  [ProgramType.sk_lookup]: AttachType.sk_lookup,
  [ProgramType.netfilter]: AttachType.netfilter,
};

/** The name of a program type number (`"xdp"`), or `"type N"` if unknown. */
export function programTypeLabel(type: number): string {
  return programTypeName(type) ?? `type ${type}`;
}

/** The name of an attach type number (`"trace_raw_tp"`), or `"attach type N"` if unknown. */
export function attachTypeLabel(type: number): string {
  return attachTypeName(type) ?? `attach type ${type}`;
}
