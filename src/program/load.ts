/**
 * BPF_PROG_LOAD: turning a {@linkcode ProgramSpec} into a loaded
 * {@linkcode Program}, with the verifier log fetched (and grown) when the
 * load fails, and errors that say what went wrong.
 *
 * @module
 */

import { InvalidArgumentError, NotSupportedError } from "../errors.ts";
import { BpfCmd, bpfRaw, cString, encodeAttr, type ProgLoadAttr } from "../sys/bpf.ts";
import { AluOp, Class, OP_EXIT, ProgramType, Source } from "../sys/abi.ts";
import { bpfRawAsync } from "../sys/bpf_async.ts";
import { E2BIG, EACCES, EINVAL, ENOMEM, ENOSPC, EPERM } from "../sys/errno.ts";
import { type PermissionError, SyscallError } from "../sys/error.ts";
import { closeRawFd, FD } from "../sys/fd.ts";
import { retryOnEagain } from "../sys/eagain.ts";
import { memo } from "../sys/probe_cache.ts";
import { kernelVersionCode } from "../sys/uname.ts";
import {
  effectiveCapabilities,
  lockdownMode,
  memlockCharged,
  missingCapabilities,
  requiredCapabilities,
} from "./_caps.ts";
import {
  ATTACH_TYPE_CHOICES,
  attachTypeLabel,
  BTF_ATTACHED_TYPES,
  DEFAULT_ATTACH_TYPES,
  KERNEL_DEFAULT_ATTACH_TYPES,
  PROBE_ATTACH_TYPES,
  programTypeLabel,
  typeFacts,
} from "./_tables.ts";
import { instructionBytes } from "./_instructions.ts";
import { AttachTypeRequiredError, ProgramRefusedError, VerifierError } from "./errors.ts";
import { Program } from "./program.ts";
import {
  type AttachTypeLike,
  attachTypeNumber,
  fdOf,
  type ProgramSpec,
  programTypeNumber,
} from "./types.ts";

/** Default initial verifier log buffer: 64 KiB. */
export const DEFAULT_LOG_SIZE = 64 * 1024;
/** The kernel's largest log buffer (`UINT_MAX >> 2`, 1 GiB − 1 byte). */
export const MAX_LOG_SIZE = 0x3fffffff;
/** The smallest log buffer every kernel accepts. */
const MIN_LOG_SIZE = 128;
/** Instruction limit without CAP_BPF (`BPF_MAXINSNS`). */
export const MAX_INSNS_UNPRIVILEGED = 4096;
/** Instruction limit with CAP_BPF (`BPF_COMPLEXITY_LIMIT_INSNS`). */
export const MAX_INSNS = 1_000_000;
/** The attribute size that includes `log_true_size` (6.4+; older kernels see a zero tail). */
const ATTR_SIZE_WITH_TRUE_SIZE = 144;
const LOG_TRUE_SIZE_OFFSET = 140;

const NAME_CHARS = /^[A-Za-z0-9_.]*$/;

let kernelCode: number | undefined;
function kernel(): number {
  return kernelCode ??= kernelVersionCode();
}

interface Prepared {
  attr: ProgLoadAttr;
  type: number;
  typeName: string;
  name: string;
  /** The program's attach type: given, defaulted, or the kernel's own default. */
  attachType?: number;
  insnCnt: number;
  logLevel: number;
  logSize: number;
  maxLogSize: number;
}

interface ResolvedAttachType {
  /** What goes into `expected_attach_type`. */
  send: number;
  /** The attach type the loaded program has, if it has one. */
  effective?: number;
}

// The spec's attach type, or the default for its program type: the one the
// kernel requires (sk_lookup, netfilter), the usual one (LSM), the one the
// kernel substitutes itself (cgroup_sock, sk_reuseport), or a typed error
// for the types where the caller must choose.
function resolveAttachType(type: number, given: AttachTypeLike | undefined): ResolvedAttachType {
  if (given !== undefined) {
    const n = attachTypeNumber(given);
    return { send: n, effective: n };
  }
  const def = DEFAULT_ATTACH_TYPES[type];
  if (def !== undefined) return { send: def, effective: def };
  const choices = ATTACH_TYPE_CHOICES[type];
  if (choices !== undefined) {
    throw new AttachTypeRequiredError(programTypeLabel(type), choices.map(attachTypeLabel));
  }
  return { send: 0, effective: KERNEL_DEFAULT_ATTACH_TYPES[type] };
}

function prepare(spec: ProgramSpec): Prepared {
  const type = programTypeNumber(spec.type);
  const attach = resolveAttachType(type, spec.attachType);
  const insns = instructionBytes(spec.instructions, spec.maps);
  const name = spec.name ?? "";
  if (!NAME_CHARS.test(name)) {
    throw new InvalidArgumentError(
      `program name ${JSON.stringify(name)} has characters the kernel rejects; ` +
        "use letters, digits, '_' and '.' only",
    );
  }
  if (spec.attachBtfObjFd !== undefined && spec.attachProgFd !== undefined) {
    throw new InvalidArgumentError(
      "attachBtfObjFd and attachProgFd share one field of BPF_PROG_LOAD: give only one",
    );
  }
  const logLevel = spec.logLevel ?? 0;
  if (!Number.isInteger(logLevel) || logLevel < 0 || logLevel > 7) {
    throw new InvalidArgumentError(`logLevel must be 0..7 (got ${logLevel})`);
  }
  const maxLogSize = Math.min(
    Math.max(spec.maxLogSize ?? MAX_LOG_SIZE, MIN_LOG_SIZE),
    MAX_LOG_SIZE,
  );
  const logSize = Math.min(Math.max(spec.logSize ?? DEFAULT_LOG_SIZE, MIN_LOG_SIZE), maxLogSize);
  const btf = spec.btf;
  const funcRec = btf?.funcInfoRecSize ?? 8;
  const lineRec = btf?.lineInfoRecSize ?? 16;
  const attr: ProgLoadAttr = {
    progType: type,
    insnCnt: insns.byteLength / 8,
    insns,
    license: cString(spec.license ?? "GPL"),
    kernVersion: spec.kernelVersion ?? (type === ProgramType.kprobe ? kernel() : 0),
    progFlags: spec.flags ?? 0,
    progName: name.slice(0, 15),
    progIfindex: spec.ifindex ?? 0,
    expectedAttachType: attach.send,
    attachBtfId: spec.attachBtfId ?? 0,
    attachBtfObjFd: spec.attachBtfObjFd !== undefined
      ? fdOf(spec.attachBtfObjFd)
      : spec.attachProgFd !== undefined
      ? fdOf(spec.attachProgFd)
      : 0,
  };
  if (btf) {
    attr.progBtfFd = fdOf(btf.fd);
    if (btf.funcInfo && btf.funcInfo.byteLength > 0) {
      attr.funcInfo = btf.funcInfo;
      attr.funcInfoRecSize = funcRec;
      attr.funcInfoCnt = Math.floor(btf.funcInfo.byteLength / funcRec);
    }
    if (btf.lineInfo && btf.lineInfo.byteLength > 0) {
      attr.lineInfo = btf.lineInfo;
      attr.lineInfoRecSize = lineRec;
      attr.lineInfoCnt = Math.floor(btf.lineInfo.byteLength / lineRec);
    }
  }
  if (spec.fdArray && spec.fdArray.length > 0) {
    attr.fdArray = Int32Array.from(spec.fdArray, fdOf);
  }
  return {
    attr,
    type,
    typeName: programTypeLabel(type),
    name,
    attachType: attach.effective,
    insnCnt: attr.insnCnt,
    logLevel,
    logSize,
    maxLogSize,
  };
}

interface Attempt {
  /** The new fd, or the negated errno. */
  result: number;
  /** The log text (empty without a log). */
  log: string;
  /** `log_true_size` written back by 6.4+ kernels (0 otherwise). */
  trueSize: number;
}

const decoder = new TextDecoder();

function attempt(attr: ProgLoadAttr, logLevel: number, logSize: number): Attempt {
  const logBuf = logLevel > 0 ? new Uint8Array(logSize) : undefined;
  const withLog: ProgLoadAttr = logBuf
    ? { ...attr, logLevel, logSize, logBuf }
    : { ...attr, logLevel: 0, logSize: 0, logBuf: undefined };
  const { buf, size, keep } = encodeAttr("PROG_LOAD", withLog);
  // EAGAIN: the verifier stops when a signal is pending; try again.
  const result = retryOnEagain(() =>
    bpfRaw(BpfCmd.PROG_LOAD, buf, Math.max(size, ATTR_SIZE_WITH_TRUE_SIZE))
  );
  keep.length = 0;
  const trueSize = new DataView(buf.buffer).getUint32(LOG_TRUE_SIZE_OFFSET, true);
  let log = "";
  if (logBuf) {
    const end = logBuf.indexOf(0);
    log = decoder.decode(logBuf.subarray(0, end < 0 ? logBuf.length : end));
  }
  return { result, log, trueSize };
}

/**
 * Loads a program into the kernel (BPF_PROG_LOAD) and returns it, owning its
 * descriptor.
 *
 * The first attempt runs without a verifier log (unless `spec.logLevel` asks
 * for one), like cilium/ebpf; if it fails, the load is repeated with a log
 * (level 1, or the level asked for) whose buffer grows on ENOSPC — to the size
 * the kernel reports in `log_true_size` (6.4+) or by doubling — up to
 * `spec.maxLogSize`.
 *
 * Without `spec.attachType`, the expected attach type is the program type's
 * default, as libbpf's section names give it: `sk_lookup` for sk_lookup,
 * `netfilter` for netfilter, `lsm_mac` for LSM; cgroup_sock and sk_reuseport
 * load with none and get the kernel's own default (`cgroup_inet_sock_create`,
 * `sk_reuseport_select`). cgroup_sock_addr, cgroup_sockopt and tracing
 * programs must name theirs. The returned program's
 * {@linkcode Program.attachType} is the one it was loaded with.
 *
 * Errors:
 * - {@linkcode AttachTypeRequiredError} (an `InvalidArgumentError`): the
 *   program type needs an attach type and the spec gives none; its
 *   `choices` lists the candidates.
 * - {@linkcode VerifierError} (a `SyscallError`): the verifier rejected the
 *   program; carries `log`, `summary` and `errno`.
 * - {@linkcode ProgramRefusedError} (a `PermissionError`): EPERM/EACCES
 *   before verification: a missing capability, or the type blocked by policy.
 * - `NotSupportedError`: the kernel does not know the program type.
 * - `SyscallError` E2BIG: too many instructions (4,096 without CAP_BPF,
 *   1,000,000 with it); other `SyscallError`s with a hint.
 *
 * @example
 * ```ts ignore
 * // r0 = 0; exit
 * const insns = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
 * using prog = loadProgram({ type: "socket_filter", instructions: insns, name: "drop_all" });
 * ```
 */
export function loadProgram(spec: ProgramSpec): Program {
  return loadPrepared(prepare(spec));
}

/**
 * Loads a program like {@linkcode loadProgram}, with the verification on a
 * worker thread: the event loop keeps running while the verifier works
 * (which can take seconds for big programs), and several loads started
 * together verify in parallel on a machine with several CPUs.
 * `loadCollection` loads an object's programs this way.
 *
 * When the load fails, it is repeated on the calling thread to fetch the
 * verifier log and the errno (which stay on the worker thread), so the
 * promise rejects with the errors of {@linkcode loadProgram}.
 *
 * @example
 * ```ts ignore
 * const insns = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
 * const [a, b] = await Promise.all([
 *   loadProgramAsync({ type: "xdp", instructions: insns, name: "a" }),
 *   loadProgramAsync({ type: "xdp", instructions: insns, name: "b" }),
 * ]);
 * ```
 */
export async function loadProgramAsync(spec: ProgramSpec): Promise<Program> {
  const p = prepare(spec);
  const logBuf = p.logLevel > 0 ? new Uint8Array(p.logSize) : undefined;
  const attr: ProgLoadAttr = logBuf
    ? { ...p.attr, logLevel: p.logLevel, logSize: p.logSize, logBuf }
    : { ...p.attr, logLevel: 0, logSize: 0, logBuf: undefined };
  const { buf, size, keep } = encodeAttr("PROG_LOAD", attr);
  // `buf` and what `keep` holds (instructions, license, log) must live
  // until the call returns: `keep` is used after the await.
  keep.push(buf);
  const fd = await bpfRawAsync(BpfCmd.PROG_LOAD, buf, Math.max(size, ATTR_SIZE_WITH_TRUE_SIZE));
  keep.length = 0;
  if (fd >= 0) {
    let log: string | undefined;
    if (logBuf) {
      const end = logBuf.indexOf(0);
      log = decoder.decode(logBuf.subarray(0, end < 0 ? logBuf.length : end));
    }
    return programOf(fd, p, log);
  }
  // Failed (or interrupted: EAGAIN): the errno is the worker's, so load
  // again here, with a log if it fails again.
  return loadPrepared(p);
}

function loadPrepared(p: Prepared): Program {
  let firstErrno = 0;
  if (p.logLevel === 0) {
    const first = attempt(p.attr, 0, 0);
    if (first.result >= 0) return programOf(first.result, p);
    firstErrno = -first.result;
  }
  const level = p.logLevel || 1;
  let size = p.logSize;
  for (;;) {
    const a = attempt(p.attr, level, size);
    if (a.result >= 0) return programOf(a.result, p, p.logLevel > 0 ? a.log : undefined);
    const err = -a.result;
    if (err === ENOSPC && size < p.maxLogSize) {
      size = Math.min(p.maxLogSize, Math.max(a.trueSize, size * 2));
      continue;
    }
    const truncated = err === ENOSPC;
    // At the cap the kernel reports ENOSPC instead of the real error; a
    // log-less attempt knows it.
    if (truncated && !firstErrno) {
      const plain = attempt(p.attr, 0, 0);
      if (plain.result >= 0) return programOf(plain.result, p, a.log);
      firstErrno = -plain.result;
    }
    throw loadError(p, truncated ? firstErrno : err, a.log, truncated);
  }
}

function programOf(fd: number, p: Prepared, verifierLog?: string): Program {
  return new Program(new FD(fd, `program ${p.name || p.typeName}`), {
    type: p.type,
    name: p.name.slice(0, 15),
    attachType: p.attachType,
    verifierLog,
  });
}

function loadError(p: Prepared, errno: number, log: string, truncated: boolean): Error {
  if (log.trim() !== "") {
    return new VerifierError(errno, log, {
      programName: p.name || undefined,
      programType: p.typeName,
      truncated,
    });
  }
  if (errno === EPERM || errno === EACCES) return refusedError(p, errno);
  if (errno === E2BIG) {
    if (p.insnCnt > MAX_INSNS_UNPRIVILEGED) {
      return new SyscallError("bpf", errno, {
        command: "BPF_PROG_LOAD",
        hint: `the program has ${p.insnCnt} instructions; the kernel accepts at most ` +
          `${MAX_INSNS_UNPRIVILEGED} without CAP_BPF and ${MAX_INSNS} with it: ` +
          "split it with tail calls or BPF-to-BPF calls, or run with CAP_BPF",
      });
    }
    return new SyscallError("bpf", errno, {
      command: "BPF_PROG_LOAD",
      hint: "the kernel does not know an attribute this load sets (a feature newer than " +
        "the running kernel, e.g. fd_array or log_true_size on an old kernel)",
    });
  }
  if (errno === EINVAL) return invalidError(p);
  if (errno === ENOMEM && memlockCharged(kernel())) {
    return new SyscallError("bpf", errno, {
      command: "BPF_PROG_LOAD",
      hint: "this kernel (before 5.11) charges programs to RLIMIT_MEMLOCK: raise it " +
        "(ulimit -l unlimited, or setrlimit with CAP_SYS_RESOURCE)",
    });
  }
  return new SyscallError("bpf", errno, { command: "BPF_PROG_LOAD" });
}

function refusedError(p: Prepared, errno: number): PermissionError {
  const need = requiredCapabilities(p.type, kernel());
  const have = effectiveCapabilities();
  const missing = have ? missingCapabilities(need, have) : need;
  const details: string[] = [];
  if (BTF_ATTACHED_TYPES.has(p.type) && missing.length === 0) {
    const lockdown = lockdownMode();
    details.push(
      "fentry/fexit/fmod_ret, LSM and freplace programs are commonly blocked by kernel " +
        `lockdown${lockdown ? ` (lockdown=${lockdown} here)` : ""} or a security module`,
    );
  }
  if (memlockCharged(kernel())) {
    details.push("or RLIMIT_MEMLOCK is too low for this kernel (before 5.11): raise it");
  }
  const attach = p.attr.expectedAttachType;
  return new ProgramRefusedError(errno, p.typeName, {
    capabilities: need,
    missing,
    attachType: attach ? attachTypeLabel(attach) : undefined,
    detail: details.join("; ") || undefined,
  });
}

// EINVAL with an empty log: the kernel rejected the attributes before the
// verifier ran. Find out whether it knows the program type at all by loading
// the smallest program of that type.
function invalidError(p: Prepared): Error {
  const attach = p.attr.expectedAttachType ?? 0;
  if (!probeType(p.type, attach)) {
    const facts = typeFacts(p.type);
    return new NotSupportedError(
      /^type /.test(p.typeName)
        ? `program ${p.typeName}`
        : `program type ${p.typeName} (${p.type})`,
      facts ? `Linux ${facts.since}+ built with it` : "a newer kernel",
      {
        detail: "the kernel rejected BPF_PROG_LOAD with EINVAL (unknown program type) " +
          "before verification, even for a trivial program",
        cause: new SyscallError("bpf", EINVAL, { command: "BPF_PROG_LOAD" }),
      },
    );
  }
  const choices = ATTACH_TYPE_CHOICES[p.type] ??
    (DEFAULT_ATTACH_TYPES[p.type] !== undefined ? [DEFAULT_ATTACH_TYPES[p.type]] : undefined);
  const accepted = choices
    ? `; ${p.typeName} programs take ${choices.map(attachTypeLabel).join(", ")}`
    : "";
  return new SyscallError("bpf", EINVAL, {
    command: "BPF_PROG_LOAD",
    hint: `the kernel rejected the attributes of this ${p.typeName} program before ` +
      `verification: check attachType (now ${attachTypeLabel(attach)}${accepted}; ` +
      "cgroup_sock_addr, cgroup_sockopt, sk_lookup, netfilter, tracing and lsm programs " +
      "need a matching one), attachBtfId, flags, name and ifindex",
  });
}

/** `r0 = 0; exit` (`ALU64 | MOV | K`, then `JMP | EXIT`). */
const TRIVIAL = new Uint8Array([
  Class.ALU64 | AluOp.MOV | Source.K,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  OP_EXIT,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
]);

// True if the kernel knows program type `type`: a trivial program of it
// loads, or fails in the verifier (non-empty log) or with another errno.
// Probed once per process, in the probes' one cache.
function probeType(type: number, expectedAttachType: number): boolean {
  return memo(
    `prog-known:${type}:${expectedAttachType}`,
    () => runTypeProbe(type, expectedAttachType),
  );
}

function runTypeProbe(type: number, expectedAttachType: number): boolean {
  const candidates = new Set([expectedAttachType, PROBE_ATTACH_TYPES[type] ?? 0, 0]);
  for (const attach of candidates) {
    const a = attempt(
      {
        progType: type,
        insnCnt: 2,
        insns: TRIVIAL,
        license: cString("GPL"),
        expectedAttachType: attach,
      },
      1,
      4096,
    );
    if (a.result >= 0) {
      closeRawFd(a.result);
      return true;
    }
    if (a.result !== -EINVAL || a.log.trim() !== "") return true;
  }
  return false;
}
