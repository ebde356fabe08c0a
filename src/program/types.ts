/**
 * Program and attach types by name, and the {@linkcode ProgramSpec} that
 * describes a program before it is loaded.
 *
 * @module
 */

import type { AssembleResult } from "../asm/assemble.ts";
import type { Instructions } from "../asm/instruction.ts";
import { InvalidArgumentError } from "../errors.ts";
import type { FdSource } from "../sys/fd_source.ts";
import {
  AttachType,
  type AttachTypeName,
  ProgramType,
  type ProgramTypeName,
} from "../asm/types.ts";

/**
 * A program type: a name of `ProgramType` from src/asm (`"xdp"`; also accepted:
 * `"XDP"`, `"BPF_PROG_TYPE_XDP"`, `"SchedCls"`) or the `enum bpf_prog_type` number.
 */
// deno-lint-ignore ban-types
export type ProgramTypeLike = ProgramTypeName | (string & {}) | number;
/** An attach type: a name of `AttachType` (`"trace_raw_tp"`, `"BPF_TRACE_RAW_TP"`) or its number. */
// deno-lint-ignore ban-types
export type AttachTypeLike = AttachTypeName | (string & {}) | number;

export { fdOf, type FdSource, type ProgramHints } from "../sys/fd_source.ts";

/**
 * A program's instructions: raw `struct bpf_insn` bytes, an array of
 * instructions from src/asm (labels are resolved here), or an `Assembler`
 * (anything whose `assemble()` returns `{ bytes, references }`). Maps that
 * asm instructions name (`loadMapPtr(R1, "counters")`) are patched from
 * {@linkcode ProgramSpec.maps}.
 */
export type ProgramInstructions =
  | Uint8Array
  | Instructions
  | { assemble(): Pick<AssembleResult, "bytes" | "references"> };

/** The BTF that describes a program: `prog_btf_fd` with `func_info` and `line_info` records. */
export interface ProgramBtf {
  /** The loaded BTF object (`prog_btf_fd`). */
  fd: FdSource;
  /** `struct bpf_func_info` records (one per function). */
  funcInfo?: Uint8Array;
  /** Size of one func_info record (default 8, `sizeof(struct bpf_func_info)`). */
  funcInfoRecSize?: number;
  /** `struct bpf_line_info` records. */
  lineInfo?: Uint8Array;
  /** Size of one line_info record (default 16, `sizeof(struct bpf_line_info)`). */
  lineInfoRecSize?: number;
}

/** `prog_flags` bits of BPF_PROG_LOAD. */
export const ProgramFlags = {
  /** BPF_F_STRICT_ALIGNMENT: check alignment as strict-alignment architectures do. */
  STRICT_ALIGNMENT: 1 << 0,
  /** BPF_F_ANY_ALIGNMENT: accept any alignment (testing). */
  ANY_ALIGNMENT: 1 << 1,
  /** BPF_F_TEST_RND_HI32: randomise upper halves of 32-bit results (testing). */
  TEST_RND_HI32: 1 << 2,
  /** BPF_F_TEST_STATE_FREQ: checkpoint verifier state often (testing). */
  TEST_STATE_FREQ: 1 << 3,
  /** BPF_F_SLEEPABLE: the program may sleep (fentry/LSM/iter/uprobe/syscall). */
  SLEEPABLE: 1 << 4,
  /** BPF_F_XDP_HAS_FRAGS: the XDP program handles multi-buffer packets. */
  XDP_HAS_FRAGS: 1 << 5,
  /** BPF_F_XDP_DEV_BOUND_ONLY: the XDP program is bound to `ifindex` only (6.3+). */
  XDP_DEV_BOUND_ONLY: 1 << 6,
  /** BPF_F_TEST_REG_INVARIANTS: check register invariants (testing, 6.7+). */
  TEST_REG_INVARIANTS: 1 << 7,
} as const;

/** Verifier log levels (`log_level` bits). */
export const LogLevel = {
  /** BPF_LOG_LEVEL1: the instructions walked and the reason for a rejection. */
  INSTRUCTIONS: 1,
  /** BPF_LOG_LEVEL2: also the register state at every instruction. */
  VERBOSE: 2,
  /** BPF_LOG_STATS: verification statistics only. */
  STATS: 4,
} as const;

/**
 * A program, described but not yet loaded. Only `type` and `instructions`
 * are required.
 */
export interface ProgramSpec {
  /** The program type, e.g. `"socket_filter"`, `"xdp"`, `"tracing"`, or a number. */
  type: ProgramTypeLike;
  /** The bytecode: raw bytes, asm instructions or an `Assembler`. */
  instructions: ProgramInstructions;
  /** Maps that asm instructions refer to by name (`loadMapPtr(R1, "counters")`). */
  maps?: Readonly<Record<string, FdSource>>;
  /**
   * The license string the kernel checks GPL-only helpers against. Defaults to
   * `"GPL"`, because most tracing helpers are GPL-only; set it to your code's
   * actual license (a non-GPL-compatible string loses access to those helpers).
   */
  license?: string;
  /** Up to 15 characters of `[A-Za-z0-9_.]`; longer names are truncated. */
  name?: string;
  /**
   * `expected_attach_type`. Required for cgroup_sock_addr, cgroup_sockopt and
   * tracing programs; sk_lookup, netfilter and LSM (`lsm_mac`) programs get
   * their default when it is left out (see `loadProgram`). For struct_ops
   * programs this field is the index of the struct member the program
   * implements.
   */
  attachType?: AttachTypeLike;
  /** `kern_version`; for kprobe programs it defaults to the running kernel's version code. */
  kernelVersion?: number;
  /** `prog_flags`, a combination of {@linkcode ProgramFlags}. */
  flags?: number;
  /** `attach_btf_id`: the BTF type id of the function, tracepoint or struct to attach to. */
  attachBtfId?: number;
  /** `attach_btf_obj_fd`: the (module) BTF object `attachBtfId` belongs to; default vmlinux. */
  attachBtfObjFd?: FdSource;
  /** `attach_prog_fd`: the program an `ext` (freplace) or fentry-on-BPF program targets. */
  attachProgFd?: FdSource;
  /** The program's own BTF and its func_info / line_info records. */
  btf?: ProgramBtf;
  /** `fd_array`: maps and BTF objects referenced by index from the instructions. */
  fdArray?: readonly FdSource[];
  /** `prog_ifindex`: the device to offload to, or bind to (XDP dev-bound). */
  ifindex?: number;
  /**
   * Verifier log level (see {@linkcode LogLevel}). 0 (the default) loads without a
   * log and only asks for one, at level 1, if the load fails; a non-zero level
   * asks for the log on the first try and keeps it in `Program.verifierLog`.
   */
  logLevel?: number;
  /** Initial log buffer size in bytes (default 64 KiB, at least 128); it grows on ENOSPC. */
  logSize?: number;
  /** Largest log buffer to grow to (default and maximum 1 GiB − 1, the kernel's limit). */
  maxLogSize?: number;
}

function normalize(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9]/g, "");
}

function buildIndex(table: Readonly<Record<string, number>>): Map<string, number> {
  const index = new Map<string, number>();
  for (const [k, v] of Object.entries(table)) index.set(normalize(k), v);
  return index;
}

// Built on first use of a name: most programs give their types as numbers.
let progIndex: Map<string, number> | undefined;
let attachIndex: Map<string, number> | undefined;

function checkNumber(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new InvalidArgumentError(`invalid ${what} ${n}: expected an unsigned 32-bit integer`);
  }
  return n;
}

/** The `enum bpf_prog_type` number of a program type name or number. */
export function programTypeNumber(type: ProgramTypeLike): number {
  if (typeof type === "number") return checkNumber(type, "program type");
  // The exact name (the usual case) needs no index.
  if (Object.hasOwn(ProgramType, type)) return ProgramType[type as keyof typeof ProgramType];
  const n = (progIndex ??= buildIndex(ProgramType)).get(
    normalize(type.replace(/^bpf_prog_type_/i, "")),
  );
  if (n === undefined) {
    throw new InvalidArgumentError(
      `unknown program type ${JSON.stringify(type)}; known types: ${
        Object.keys(ProgramType).slice(1).join(", ")
      } (or pass the number)`,
    );
  }
  return n;
}

/** The `enum bpf_attach_type` number of an attach type name or number. */
export function attachTypeNumber(type: AttachTypeLike): number {
  if (typeof type === "number") return checkNumber(type, "attach type");
  if (Object.hasOwn(AttachType, type)) return AttachType[type as keyof typeof AttachType];
  const n = (attachIndex ??= buildIndex(AttachType)).get(normalize(type.replace(/^bpf_/i, "")));
  if (n === undefined) {
    throw new InvalidArgumentError(
      `unknown attach type ${JSON.stringify(type)}; known types: ${
        Object.keys(AttachType).join(", ")
      } (or pass the number)`,
    );
  }
  return n;
}
