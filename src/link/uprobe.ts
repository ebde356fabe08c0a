/**
 * uprobes and uretprobes on user-space functions: one location through a
 * perf event (`attachUprobe`: the uprobe PMU, else tracefs
 * `uprobe_events`), many locations in one link (`attachUprobeMulti`,
 * Linux 6.6+), and USDT probes (`attachUsdt`).
 *
 * @module
 */

import { AttachType, ProgramType } from "../asm/types.ts";
import { InvalidArgumentError, NotFoundError, NotSupportedError } from "../errors.ts";
import { addressOf, cString } from "../sys/bpf.ts";
import { EINVAL, ENOENT, ENOTSUPP, EOPNOTSUPP } from "../sys/errno.ts";
import { SyscallError } from "../sys/error.ts";
import { FD } from "../sys/fd.ts";
import { perfEventOpen, PerfType } from "../sys/perf_event.ts";
import { createUprobeEvent, type ProbeEvent } from "../tracefs/probe_events.ts";
import { findTracefs, type TracefsOptions } from "../tracefs/mount.ts";
import { TRACEFS_MOUNT_COMMAND } from "../tracefs/errors.ts";
import { resolveBinaryPath, symbolOffset } from "../uprobe/resolve.ts";
import { findUsdtProbes, type UsdtProbe } from "../uprobe/usdt.ts";
import { readElfFile } from "../elf/elf_file.ts";
import {
  expectProgramType,
  type FdSource,
  linkCreateError,
  linkCreateTry,
  programAttachType,
  programFd,
  u64Array,
} from "./_common.ts";
import { attachToPerfEvent } from "./_perf.ts";
import { pmuDir, probePmu } from "./_probe.ts";
import { BpfLink, type LegacyLink, type Link, LinkGroup } from "./link.ts";

/** The requirement named when a kernel has no uprobes. */
export const UPROBE_REQUIREMENT =
  "CONFIG_UPROBES (with CONFIG_UPROBE_EVENTS and CONFIG_BPF_EVENTS)";

/** Options of {@linkcode attachUprobe}. */
export interface UprobeOptions extends TracefsOptions {
  /** The binary or library: a path, or a name such as `"libc.so.6"` or `"c"`. */
  path: string;
  /** The function to probe (from `.symtab`, else `.dynsym`). */
  symbol?: string;
  /** With `symbol`: bytes past its start; without: the file offset to probe. */
  offset?: number | bigint;
  /** Only this process (default: every process that runs the file). */
  pid?: number;
  /** Attach to the function's return (uretprobe). */
  retprobe?: boolean;
  /** BPF cookie (Linux 5.15+). */
  cookie?: bigint | number;
  /** File offset of a USDT semaphore the kernel increments while attached (Linux 4.20+). */
  refCtrOffset?: number | bigint;
  /** Use PERF_EVENT_IOC_SET_BPF instead of BPF_LINK_CREATE. */
  legacy?: boolean;
  /** Skip the uprobe PMU and create the probe through tracefs `uprobe_events`. */
  tracefsOnly?: boolean;
}

/** Where a uprobe goes: the resolved path and file offset. */
export interface UprobeTarget {
  /** Absolute path of the file. */
  path: string;
  /** File offset. */
  offset: bigint;
}

const U64_MAX = 0xffffffffffffffffn;

/**
 * A u64 option (offset, cookie, reference-counter offset): a non-negative
 * integer number (up to 2^53) or bigint (up to 2^64-1).
 */
function u64Option(fn: string, name: string, v: unknown): bigint | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "bigint" && v >= 0n && v <= U64_MAX) return v;
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw new InvalidArgumentError(
    `${fn}: ${name} must be a non-negative integer (a number up to 2^53, or a bigint up to ` +
      `2^64-1), got ${typeof v === "bigint" ? `${v}n` : typeof v === "number" ? v : typeof v}`,
  );
}

/** A pid option: a positive process id (omitted: every process). */
function pidOption(fn: string, v: unknown): number | undefined {
  if (v === undefined) return undefined;
  if (typeof v === "number" && Number.isInteger(v) && v > 0 && v <= 0x7fffffff) return v;
  throw new InvalidArgumentError(
    `${fn}: pid must be a positive process id (omit it for every process), got ` +
      `${typeof v === "number" ? v : typeof v}`,
  );
}

/** Resolves the path and file offset of {@linkcode UprobeOptions}. */
export function resolveUprobeTarget(
  options: Pick<UprobeOptions, "path" | "symbol" | "offset" | "pid">,
): UprobeTarget {
  pidOption("attachUprobe", options.pid);
  const extra = u64Option("attachUprobe", "offset", options.offset) ?? 0n;
  const path = resolveBinaryPath(options.path, { pid: options.pid });
  if (options.symbol !== undefined) {
    return { path, offset: symbolOffset(path, options.symbol).offset + extra };
  }
  if (options.offset === undefined) {
    throw new InvalidArgumentError("attachUprobe: give symbol or offset");
  }
  return { path, offset: extra };
}

/**
 * Attaches a kprobe-type program to a user-space function (or, with
 * `retprobe`, its return): the uprobe PMU (`config1` = path, `config2` =
 * offset), falling back to tracefs `uprobe_events`.
 *
 * @example
 * ```ts ignore
 * using link = attachUprobe(prog, { path: "/usr/bin/bash", symbol: "readline", retprobe: true });
 * ```
 */
export function attachUprobe(program: FdSource, options: UprobeOptions): BpfLink | LegacyLink {
  expectProgramType(program, [ProgramType.kprobe], "attachUprobe");
  const refCtrOffset = u64Option("attachUprobe", "refCtrOffset", options.refCtrOffset);
  u64Option("attachUprobe", "cookie", options.cookie);
  const { path, offset } = resolveUprobeTarget(options);
  const kind = options.retprobe ? "uretprobe" : "uprobe";
  const what = `${kind} ${path}:${options.symbol ?? ""}${
    options.symbol ? (options.offset ? `+${options.offset}` : "") : `0x${offset.toString(16)}`
  }`;
  const refCtr = refCtrOffset ?? 0n;
  const root = options.root ?? "/";
  const pid = options.pid ?? -1;
  const pmu = options.tracefsOnly ? undefined : probePmu("uprobe", root);
  let perf: FD;
  let event: ProbeEvent | undefined;
  if (pmu !== undefined && (refCtr === 0n || pmu.refCtrShift !== undefined)) {
    const p = cString(path);
    const keep = [p]; // alive until perf_event_open has read config1
    let config = options.retprobe ? 1n << BigInt(pmu.retprobeBit) : 0n;
    if (refCtr !== 0n) config |= refCtr << BigInt(pmu.refCtrShift!);
    try {
      perf = perfEventOpen({
        type: pmu.type,
        config,
        config1: addressOf(p),
        config2: offset,
        samplePeriod: 1,
        wakeup: 1,
      }, { pid, label: what });
    } catch (e) {
      throw uprobeOpenError(e, what);
    } finally {
      keep.length = 0;
    }
  } else {
    const tracefs = findTracefs(options);
    if (tracefs === undefined) {
      throw new NotSupportedError("uprobes", UPROBE_REQUIREMENT, {
        detail: `no usable uprobe PMU (${pmuDir("uprobe", root)}/type) and tracefs is not ` +
          `mounted for uprobe_events (${TRACEFS_MOUNT_COMMAND})`,
      });
    }
    event = createUprobeEvent({
      tracefs,
      path,
      offset,
      retprobe: options.retprobe,
      refCtrOffset: refCtr,
    });
    try {
      perf = perfEventOpen(
        { type: PerfType.TRACEPOINT, config: event.id, samplePeriod: 1, wakeup: 1 },
        { pid, label: what },
      );
    } catch (e) {
      event.close();
      throw uprobeOpenError(e, what);
    }
  }
  return attachToPerfEvent(program, perf, kind, {
    cookie: options.cookie,
    legacy: options.legacy,
    event,
    what,
  });
}

function uprobeOpenError(e: unknown, what: string): unknown {
  if (e instanceof SyscallError && e.errno === ENOENT) {
    return new NotFoundError(what, `cannot attach ${what}: the file does not exist (ENOENT)`, {
      cause: e,
    });
  }
  if (e instanceof SyscallError && e.errno === EINVAL) {
    return new SyscallError("perf_event_open", e.errno, {
      command: what,
      hint: "the offset is past the end of the file or not on an instruction, or the " +
        "reference-counter offset is wrong",
      cause: e,
    });
  }
  return e;
}

/** Options of {@linkcode attachUprobeMulti}: `symbols` or `offsets`. */
export interface UprobeMultiOptions {
  /** The binary or library (a path or a name, as for {@linkcode attachUprobe}). */
  path: string;
  /** Functions to probe. */
  symbols?: readonly string[];
  /** File offsets to probe. */
  offsets?: readonly (number | bigint)[];
  /** Only this process. */
  pid?: number;
  /** One BPF cookie per location. */
  cookies?: readonly (bigint | number)[];
  /** One semaphore (reference counter) file offset per location (0 for none). */
  refCtrOffsets?: readonly (bigint | number)[];
  /** Attach to the functions' returns. */
  retprobe?: boolean;
}

/** The requirement named when a kernel lacks uprobe_multi links. */
export const UPROBE_MULTI_REQUIREMENT = "Linux 6.6 with CONFIG_UPROBES";

/**
 * Attaches a kprobe program loaded with attachType `trace_uprobe_multi` to
 * many locations of one file in a single link (BPF_LINK_CREATE, Linux 6.6+).
 */
export function attachUprobeMulti(program: FdSource, options: UprobeMultiOptions): BpfLink {
  expectProgramType(program, [ProgramType.kprobe], "attachUprobeMulti");
  if ((options.symbols === undefined) === (options.offsets === undefined)) {
    throw new InvalidArgumentError("attachUprobeMulti: give exactly one of symbols and offsets");
  }
  pidOption("attachUprobeMulti", options.pid);
  for (const name of ["offsets", "cookies", "refCtrOffsets"] as const) {
    const arr = options[name];
    if (arr === undefined) continue;
    if (!Array.isArray(arr)) {
      throw new InvalidArgumentError(`attachUprobeMulti: ${name} must be an array`);
    }
    arr.forEach((v, i) => u64Option("attachUprobeMulti", `${name}[${i}]`, v));
  }
  const path = resolveBinaryPath(options.path, { pid: options.pid });
  let offsets: bigint[];
  if (options.symbols !== undefined) {
    const elf = readElfFile(path);
    offsets = options.symbols.map((s) => symbolOffset(elf, s).offset);
  } else offsets = options.offsets!.map((o) => BigInt(o));
  const count = offsets.length;
  if (count === 0) throw new InvalidArgumentError("attachUprobeMulti: no locations given");
  for (
    const [name, arr] of [["cookies", options.cookies], [
      "refCtrOffsets",
      options.refCtrOffsets,
    ]] as const
  ) {
    if (arr !== undefined && arr.length !== count) {
      throw new InvalidArgumentError(
        `attachUprobeMulti: ${arr.length} ${name} for ${count} locations`,
      );
    }
  }
  const r = linkCreateTry({
    progFd: programFd(program),
    attachType: AttachType.trace_uprobe_multi,
    uprobeMultiPath: path,
    uprobeMultiOffsets: u64Array(offsets),
    uprobeMultiRefCtrOffsets: options.refCtrOffsets ? u64Array(options.refCtrOffsets) : undefined,
    uprobeMultiCookies: options.cookies ? u64Array(options.cookies) : undefined,
    uprobeMultiCnt: count,
    uprobeMultiFlags: options.retprobe ? 1 : 0, // BPF_F_UPROBE_MULTI_RETURN
    uprobeMultiPid: options.pid ?? 0,
  });
  if (r >= 0) return new BpfLink(new FD(r, "uprobe_multi link"), "uprobe_multi");
  const err = -r;
  if (err === EOPNOTSUPP || err === ENOTSUPP) {
    throw new NotSupportedError("uprobe_multi links", UPROBE_MULTI_REQUIREMENT);
  }
  if (err === ENOENT) {
    throw new NotFoundError(`file ${path}`, `attachUprobeMulti: ${path} does not exist`);
  }
  throw linkCreateError(err, {
    feature: "uprobe_multi links",
    requirement: UPROBE_MULTI_REQUIREMENT,
    invalidHint: "was the program loaded with attachType trace_uprobe_multi, and are the " +
      "offsets inside the file?",
  });
}

/** Options of {@linkcode attachUsdt}. */
export interface UsdtOptions extends TracefsOptions {
  /** The binary or library that contains the probe. */
  path: string;
  /** The probe's provider. */
  provider: string;
  /** The probe's name. */
  name: string;
  /** Only this process. */
  pid?: number;
  /** BPF cookie for every location. */
  cookie?: bigint | number;
  /**
   * `"multi"`: one uprobe_multi link (the program must be loaded with
   * attachType trace_uprobe_multi); `"uprobe"`: one uprobe per location;
   * default: multi when the program was loaded for it, else uprobes.
   */
  method?: "multi" | "uprobe";
}

/**
 * The link {@linkcode attachUsdt} returns: one {@linkcode LinkGroup} over
 * every location of the probe (one uprobe_multi link, or one uprobe per
 * location), closed as one by `close()` or `using`, with the probe
 * locations it covers in {@linkcode UsdtLink.probes}.
 */
export class UsdtLink extends LinkGroup {
  /** The probe locations, with their parsed arguments. */
  readonly probes: readonly UsdtProbe[];

  /** Groups the links of one USDT probe; use {@linkcode attachUsdt}. */
  constructor(links: readonly Link[], probes: readonly UsdtProbe[]) {
    super("usdt", links);
    this.probes = probes;
  }
}

/**
 * Attaches a kprobe-type program to USDT probe `provider:name` of a binary
 * or library: a uprobe at every location of the probe, with the probe's
 * semaphore (if any) as the reference counter, so that the traced program's
 * `*_ENABLED()` checks turn true while attached. Returns one
 * {@linkcode UsdtLink} (a group: `close()` and `using` detach every
 * location; `links` and `probes` for the details).
 */
export function attachUsdt(program: FdSource, options: UsdtOptions): UsdtLink {
  expectProgramType(program, [ProgramType.kprobe], "attachUsdt");
  pidOption("attachUsdt", options.pid);
  u64Option("attachUsdt", "cookie", options.cookie);
  const path = resolveBinaryPath(options.path, { pid: options.pid });
  const probes = findUsdtProbes(path, { provider: options.provider, name: options.name });
  const multi = options.method === "multi" ||
    (options.method === undefined &&
      programAttachType(program) === AttachType.trace_uprobe_multi);
  if (multi) {
    const link = attachUprobeMulti(program, {
      path,
      offsets: probes.map((p) => p.offset),
      refCtrOffsets: probes.some((p) => p.semaphoreOffset !== 0n)
        ? probes.map((p) => p.semaphoreOffset)
        : undefined,
      cookies: options.cookie !== undefined ? probes.map(() => options.cookie!) : undefined,
      pid: options.pid,
    });
    return new UsdtLink([link], probes);
  }
  const links: Link[] = [];
  try {
    for (const p of probes) {
      links.push(attachUprobe(program, {
        path,
        offset: p.offset,
        pid: options.pid,
        cookie: options.cookie,
        refCtrOffset: p.semaphoreOffset,
        root: options.root,
        tracefs: options.tracefs,
      }));
    }
  } catch (e) {
    for (const l of links) l.close();
    throw e;
  }
  return new UsdtLink(links, probes);
}
