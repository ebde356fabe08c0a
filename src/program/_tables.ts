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
  1: { since: "3.19", caps: "unprivileged" },
  2: { since: "4.1", caps: "perfmon" },
  3: { since: "4.1", caps: "net" },
  4: { since: "4.1", caps: "net" },
  5: { since: "4.7", caps: "perfmon" },
  6: { since: "4.8", caps: "net" },
  7: { since: "4.9", caps: "perfmon" },
  8: { since: "4.10", caps: "unprivileged" },
  9: { since: "4.10", caps: "net" },
  10: { since: "4.10", caps: "net" },
  11: { since: "4.10", caps: "net" },
  12: { since: "4.10", caps: "net" },
  13: { since: "4.13", caps: "net" },
  14: { since: "4.14", caps: "net" },
  15: { since: "4.15", caps: "net" },
  16: { since: "4.17", caps: "net" },
  17: { since: "4.17", caps: "perfmon" },
  18: { since: "4.17", caps: "net" },
  19: { since: "4.18", caps: "net" },
  20: { since: "4.18", caps: "bpf" },
  21: { since: "4.19", caps: "bpf" },
  22: { since: "4.20", caps: "net" },
  23: { since: "5.2", caps: "net" },
  24: { since: "5.2", caps: "perfmon" },
  25: { since: "5.3", caps: "net" },
  26: { since: "5.5", caps: "perfmon" },
  27: { since: "5.6", caps: "perfmon" },
  28: { since: "5.6", caps: "net+perfmon" },
  29: { since: "5.7", caps: "perfmon" },
  30: { since: "5.9", caps: "bpf" },
  31: { since: "5.14", caps: "bpf" },
  32: { since: "6.4", caps: "net" },
};

/** Program types that attach through a BTF id (fentry/fexit/LSM/freplace/struct_ops). */
export const BTF_ATTACHED_TYPES: ReadonlySet<number> = new Set([26, 27, 28, 29]);

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
