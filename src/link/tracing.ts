/**
 * BTF-attached programs: tp_btf, fentry, fexit, fmod_ret (type tracing),
 * LSM, and freplace (type ext). The attach point is fixed at load time
 * (`attachBtfId`); attaching only names it again.
 *
 * @module
 */

import { AttachType, ProgramType } from "../asm/types.ts";
import { InvalidArgumentError, NotSupportedError } from "../errors.ts";
import { type AttachTypeLike, attachTypeNumber } from "../program/types.ts";
import { bpfError, bpfTry } from "../sys/bpf.ts";
import { E2BIG, EINVAL, ENOTSUPP, EOPNOTSUPP } from "../sys/errno.ts";
import { FD } from "../sys/fd.ts";
import {
  expectProgramType,
  type FdSource,
  linkCreateError,
  linkCreateTry,
  programAttachType,
  programFd,
} from "./_common.ts";
import { BpfLink } from "./link.ts";

/** Options of {@linkcode attachTracing}. */
export interface TracingOptions {
  /**
   * The attach type the program was loaded with (`"trace_raw_tp"` for tp_btf,
   * `"trace_fentry"`, `"trace_fexit"`, `"modify_return"`, `"lsm_mac"`).
   * Default: the program's own `attachType` (a `Program` from `loadProgram`
   * knows it), and `lsm_mac` for LSM programs. Without either the link is
   * made with BPF_RAW_TRACEPOINT_OPEN, which needs no attach type.
   */
  attachType?: AttachTypeLike;
  /** BPF cookie (fentry/fexit/LSM: Linux 5.19+; tp_btf: 6.10+). */
  cookie?: bigint | number;
  /**
   * freplace and fentry on BPF programs: the target program (`target_fd`)
   * and the BTF id of the function in it, to attach somewhere other than
   * the load-time target.
   */
  targetProgram?: FdSource;
  /** BTF id of the target function inside `targetProgram` (or a BTF object). */
  targetBtfId?: number;
}

const TRACING_KINDS: Readonly<Record<number, string>> = {
  [AttachType.trace_raw_tp]: "tp_btf",
  [AttachType.trace_fentry]: "fentry",
  [AttachType.trace_fexit]: "fexit",
  [AttachType.modify_return]: "fmod_ret",
  [AttachType.lsm_mac]: "lsm",
};

function rawTracepointOpen(prog: number, kind: string, cookie: bigint): BpfLink {
  const r = bpfTry("RAW_TRACEPOINT_OPEN", { name: 0n, progFd: prog, cookie });
  if (r < 0) {
    if (-r === E2BIG && cookie !== 0n) {
      throw new NotSupportedError(`${kind} cookies`, "Linux 6.10 (or pass attachType: 5.19+)");
    }
    throw bpfError("RAW_TRACEPOINT_OPEN", -r, {
      hint: `attaching the ${kind} program (is its target function traceable?)`,
    });
  }
  return new BpfLink(new FD(r, `${kind} link`), kind);
}

/**
 * Attaches a tracing (tp_btf, fentry, fexit, fmod_ret), LSM or ext
 * (freplace) program to the attach point it was loaded for.
 *
 * With a known attach type this is BPF_LINK_CREATE (Linux 5.10+, needed for
 * a cookie or a new target); without one, or on kernels without tracing
 * links, BPF_RAW_TRACEPOINT_OPEN with no name (Linux 5.5+).
 *
 * Note: a kernel that forbids fentry/fexit/LSM refuses these programs at
 * load time (`loadProgram` throws), before any attach.
 */
export function attachTracing(program: FdSource, options: TracingOptions = {}): BpfLink {
  const type = expectProgramType(
    program,
    [ProgramType.tracing, ProgramType.lsm, ProgramType.ext],
    "attachTracing",
  );
  const prog = programFd(program);
  const cookie = BigInt(options.cookie ?? 0);
  const at = options.attachType !== undefined
    ? attachTypeNumber(options.attachType)
    : programAttachType(program) ??
      (type === ProgramType.lsm ? AttachType.lsm_mac : undefined);
  if (at === AttachType.trace_iter) {
    throw new InvalidArgumentError("iterator programs attach with attachIter, not attachTracing");
  }
  const kind = type === ProgramType.ext ? "freplace" : TRACING_KINDS[at ?? -1] ?? "tracing";
  const target = options.targetProgram !== undefined ? programFd(options.targetProgram) : 0;
  if ((target !== 0) !== (options.targetBtfId !== undefined)) {
    throw new InvalidArgumentError("give targetProgram and targetBtfId together");
  }
  if (at === undefined && type !== ProgramType.ext && target === 0) {
    return rawTracepointOpen(prog, kind, cookie);
  }
  const r = linkCreateTry({
    progFd: prog,
    targetFd: target,
    attachType: at ?? 0,
    targetBtfId: options.targetBtfId ?? 0,
    tracingCookie: cookie,
  });
  if (r >= 0) return new BpfLink(new FD(r, `${kind} link`), kind);
  const err = -r;
  // Before 5.10 BPF_LINK_CREATE does not take tracing programs.
  if (err === EINVAL && target === 0 && cookie === 0n) {
    const retry = bpfTry("RAW_TRACEPOINT_OPEN", { name: 0n, progFd: prog });
    if (retry >= 0) return new BpfLink(new FD(retry, `${kind} link`), kind);
    throw bpfError("LINK_CREATE", err, {
      hint: `attaching the ${kind} program: is attachType the one it was loaded with ` +
        `(now ${at})?`,
    });
  }
  if (err === EOPNOTSUPP || err === ENOTSUPP) {
    throw new NotSupportedError(
      `${kind} attachment`,
      "CONFIG_BPF_JIT and a trampoline-capable architecture",
      {
        detail: "the kernel could not build a BPF trampoline for the target: " +
          "on x86-64 before Linux 6.6 a function with more than 6 arguments cannot be traced " +
          "(use a kprobe), and some functions (notrace, inlined) never can",
      },
    );
  }
  throw linkCreateError(err, {
    feature: `${kind} links`,
    requirement: "Linux 5.10",
    invalidHint: `attaching the ${kind} program: attachType must be the one it was loaded with`,
  });
}

/** Options of {@linkcode attachLsm}. */
export interface LsmOptions {
  /** BPF cookie (Linux 5.19+). */
  cookie?: bigint | number;
}

/**
 * Attaches an LSM program to the hook it was loaded for, with the attach
 * type it was loaded with (default `lsm_mac`).
 */
export function attachLsm(program: FdSource, options: LsmOptions = {}): BpfLink {
  expectProgramType(program, [ProgramType.lsm], "attachLsm");
  return attachTracing(program, { cookie: options.cookie });
}

/** Options of {@linkcode attachFreplace}. */
export interface FreplaceOptions {
  /** The program whose function to replace (default: the load-time target). */
  targetProgram?: FdSource;
  /** BTF id of the function inside `targetProgram`. */
  targetBtfId?: number;
}

/**
 * Attaches an ext (freplace) program in place of a function of another BPF
 * program. Without options it replaces the load-time target.
 */
export function attachFreplace(program: FdSource, options: FreplaceOptions = {}): BpfLink {
  expectProgramType(program, [ProgramType.ext], "attachFreplace");
  return attachTracing(program, options);
}
