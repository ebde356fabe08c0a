/**
 * kprobes and kretprobes: one function through a perf event
 * (`attachKprobe`: the kprobe PMU, else tracefs `kprobe_events`), or many
 * functions in one link (`attachKprobeMulti`: BPF_LINK_CREATE with
 * kprobe_multi, which needs CONFIG_FPROBE).
 *
 * @module
 */

import { AttachType, ProgramType } from "../asm/types.ts";
import {
  FileNotFoundError,
  InvalidArgumentError,
  NotFoundError,
  NotSupportedError,
} from "../errors.ts";
import { readTextFile } from "../sys/file.ts";
import { loadKallsyms } from "../kallsyms/load.ts";
import { addressOf, cString } from "../sys/bpf.ts";
import { EINVAL, ENOENT } from "../sys/errno.ts";
import { SyscallError } from "../sys/error.ts";
import { FD } from "../sys/fd.ts";
import { perfEventOpen, PerfType } from "../sys/perf_event.ts";
import { createKprobeEvent, type ProbeEvent, ProbeEventError } from "../tracefs/probe_events.ts";
import { findTracefs, type TracefsOptions } from "../tracefs/mount.ts";
import { TRACEFS_MOUNT_COMMAND } from "../tracefs/errors.ts";
import {
  expectProgramType,
  type FdSource,
  linkCreateError,
  linkCreateTry,
  programFd,
  u64Array,
} from "./_common.ts";
import { attachToPerfEvent } from "./_perf.ts";
import { pmuDir, probePmu } from "./_probe.ts";
import { BpfLink, type LegacyLink } from "./link.ts";

/** Options of {@linkcode attachKprobe}. */
export interface KprobeOptions extends TracefsOptions {
  /** The kernel function, e.g. `"do_sys_openat2"`. */
  symbol?: string;
  /** A kernel address to probe instead of a symbol. */
  address?: bigint;
  /** Byte offset into the function (kprobes only). */
  offset?: number;
  /** Attach to the function's return (kretprobe). */
  retprobe?: boolean;
  /** BPF cookie (Linux 5.15+). */
  cookie?: bigint | number;
  /** kretprobe instances (tracefs interface only; 0: the kernel's default). */
  maxactive?: number;
  /** Use PERF_EVENT_IOC_SET_BPF instead of BPF_LINK_CREATE. */
  legacy?: boolean;
  /** Skip the kprobe PMU and create the probe through tracefs `kprobe_events`. */
  tracefsOnly?: boolean;
}

/** The requirement named when a kernel has no kprobes. */
export const KPROBE_REQUIREMENT =
  "CONFIG_KPROBES (with CONFIG_KPROBE_EVENTS and CONFIG_BPF_EVENTS)";

/**
 * Attaches a kprobe program to a kernel function's entry (or, with
 * `retprobe`, its return).
 *
 * Tries the kprobe PMU (`/sys/bus/event_source/devices/kprobe/type`, Linux
 * 4.17+), then a tracefs `kprobe_events` entry (removed when the link
 * closes). When neither exists, throws `NotSupportedError` naming kprobes,
 * CONFIG_KPROBES and the places looked at.
 */
export function attachKprobe(program: FdSource, options: KprobeOptions): BpfLink | LegacyLink {
  expectProgramType(program, [ProgramType.kprobe], "attachKprobe");
  if ((options.symbol === undefined) === (options.address === undefined)) {
    throw new InvalidArgumentError("attachKprobe: give exactly one of symbol and address");
  }
  const offset = options.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0) {
    throw new InvalidArgumentError(`attachKprobe: invalid offset ${offset}`);
  }
  if (options.retprobe && offset !== 0) {
    throw new InvalidArgumentError("attachKprobe: a kretprobe cannot have an offset");
  }
  const target = options.symbol ?? `0x${options.address!.toString(16)}`;
  const kind = options.retprobe ? "kretprobe" : "kprobe";
  const what = `${kind} ${target}${offset ? `+${offset}` : ""}`;
  const root = options.root ?? "/";
  const pmu = options.tracefsOnly || (options.maxactive ?? 0) > 0
    ? undefined
    : probePmu("kprobe", root);
  let perf: FD;
  let event: ProbeEvent | undefined;
  if (pmu !== undefined) {
    const name = options.symbol !== undefined ? cString(options.symbol) : undefined;
    const keep = [name]; // alive until perf_event_open has read config1
    try {
      perf = perfEventOpen({
        type: pmu.type,
        config: options.retprobe ? 1n << BigInt(pmu.retprobeBit) : 0n,
        config1: name ? addressOf(name) : 0n,
        config2: name ? BigInt(offset) : options.address!,
        samplePeriod: 1,
        wakeup: 1,
      }, { pid: -1, cpu: 0, label: what });
    } catch (e) {
      throw probeOpenError(e, what, target);
    } finally {
      keep.length = 0;
    }
  } else {
    const tracefs = findTracefs(options);
    const pmuPath = `${pmuDir("kprobe", root)}/type`;
    if (tracefs === undefined) {
      throw new NotSupportedError("kprobes", KPROBE_REQUIREMENT, {
        detail: `no kprobe PMU (${pmuPath} does not exist) and tracefs is not mounted, so ` +
          `kprobe_events could not be tried (${TRACEFS_MOUNT_COMMAND})`,
      });
    }
    try {
      event = createKprobeEvent({
        tracefs,
        symbol: options.symbol,
        address: options.address,
        offset,
        retprobe: options.retprobe,
        maxactive: options.maxactive,
      });
    } catch (e) {
      if (e instanceof NotSupportedError) {
        throw new NotSupportedError("kprobes", KPROBE_REQUIREMENT, {
          detail: `no kprobe PMU (${pmuPath} does not exist) and no ${tracefs}/kprobe_events`,
          cause: e,
        });
      }
      if (e instanceof ProbeEventError && e.cause instanceof FileNotFoundError) {
        throw new NotFoundError(
          `kernel function ${target}`,
          `cannot probe ${target}: the kernel has no such function (or it cannot be probed); ` +
            "see /proc/kallsyms",
          { cause: e },
        );
      }
      throw e;
    }
    try {
      perf = perfEventOpen({
        type: PerfType.TRACEPOINT,
        config: event.id,
        samplePeriod: 1,
        wakeup: 1,
      }, {
        pid: -1,
        cpu: 0,
        label: what,
      });
    } catch (e) {
      event.close();
      throw e;
    }
  }
  return attachToPerfEvent(program, perf, kind, {
    cookie: options.cookie,
    legacy: options.legacy,
    event,
    what,
  });
}

function probeOpenError(e: unknown, what: string, target: string): unknown {
  if (e instanceof SyscallError && e.errno === ENOENT) {
    return new NotFoundError(
      `probe target ${target}`,
      `cannot attach ${what}: no such function or file (ENOENT from perf_event_open)`,
      { cause: e },
    );
  }
  if (e instanceof SyscallError && e.errno === EINVAL) {
    return new SyscallError("perf_event_open", e.errno, {
      command: what,
      hint: "the target cannot be probed (a notrace or blacklisted function, or a bad offset)",
      cause: e,
    });
  }
  return e;
}

/** Options of {@linkcode attachKprobeMulti}: exactly one of symbols, pattern and addresses. */
export interface KprobeMultiOptions extends TracefsOptions {
  /** Kernel function names. */
  symbols?: readonly string[];
  /** A glob (`*`, `?`) over kernel function names, e.g. `"tcp_*"`. */
  pattern?: string;
  /** Kernel addresses. */
  addresses?: readonly bigint[];
  /** One BPF cookie per function. */
  cookies?: readonly (bigint | number)[];
  /** Attach to the functions' returns. */
  retprobe?: boolean;
}

/** The requirement named when a kernel has no kprobe_multi links. */
export const KPROBE_MULTI_REQUIREMENT = "CONFIG_FPROBE (Linux 5.18+)";

function globToRegExp(glob: string): RegExp {
  const body = glob.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${body}$`);
}

/**
 * The kernel functions a glob matches: from tracefs
 * `available_filter_functions` (the functions that can be traced) when
 * present, else from the text symbols of `/proc/kallsyms`. Sorted, unique.
 */
export function matchKernelFunctions(pattern: string, options: TracefsOptions = {}): string[] {
  const re = globToRegExp(pattern);
  const names = new Set<string>();
  const tracefs = findTracefs(options);
  let text: string | undefined;
  if (tracefs !== undefined) {
    try {
      text = readTextFile(`${tracefs}/available_filter_functions`);
    } catch { /* no function tracer */ }
  }
  if (text !== undefined) {
    for (const line of text.split("\n")) {
      const name = line.split(/\s/)[0];
      if (name && re.test(name)) names.add(name);
    }
  } else {
    for (const s of loadKallsyms({ root: options.root })) {
      if ((s.type === "t" || s.type === "T") && re.test(s.name)) names.add(s.name);
    }
  }
  return [...names].sort();
}

/**
 * Attaches a kprobe program (loaded with attachType `trace_kprobe_multi`) to
 * many kernel functions at once with BPF_LINK_CREATE. Throws
 * `NotSupportedError` naming CONFIG_FPROBE when the kernel answers EOPNOTSUPP.
 */
export function attachKprobeMulti(program: FdSource, options: KprobeMultiOptions): BpfLink {
  expectProgramType(program, [ProgramType.kprobe], "attachKprobeMulti");
  const given = [options.symbols, options.pattern, options.addresses].filter((x) =>
    x !== undefined
  );
  if (given.length !== 1) {
    throw new InvalidArgumentError(
      "attachKprobeMulti: give exactly one of symbols, pattern, addresses",
    );
  }
  let symbols = options.symbols;
  if (options.pattern !== undefined) {
    symbols = matchKernelFunctions(options.pattern, options);
    if (symbols.length === 0) {
      throw new NotFoundError(
        `kernel functions matching ${options.pattern}`,
        `no kernel function matches ${JSON.stringify(options.pattern)}`,
      );
    }
  }
  const count = symbols?.length ?? options.addresses!.length;
  if (count === 0) throw new InvalidArgumentError("attachKprobeMulti: no functions given");
  if (options.cookies !== undefined && options.cookies.length !== count) {
    throw new InvalidArgumentError(
      `attachKprobeMulti: ${options.cookies.length} cookies for ${count} functions`,
    );
  }
  const keep: Uint8Array[] = [];
  let syms: BigUint64Array | undefined;
  if (symbols !== undefined) {
    syms = new BigUint64Array(count);
    symbols.forEach((s, i) => {
      const c = cString(s);
      keep.push(c);
      syms![i] = addressOf(c);
    });
  }
  const r = linkCreateTry({
    progFd: programFd(program),
    attachType: AttachType.trace_kprobe_multi,
    kprobeMultiFlags: options.retprobe ? 1 : 0, // BPF_F_KPROBE_MULTI_RETURN
    kprobeMultiCnt: count,
    kprobeMultiSyms: syms,
    kprobeMultiAddrs: options.addresses ? u64Array(options.addresses) : undefined,
    kprobeMultiCookies: options.cookies ? u64Array(options.cookies) : undefined,
  });
  keep.length = 0;
  if (r >= 0) return new BpfLink(new FD(r, "kprobe_multi link"), "kprobe_multi");
  const err = -r;
  if (err === 95 || err === 524) {
    throw new NotSupportedError("kprobe_multi links", KPROBE_MULTI_REQUIREMENT, {
      detail: "BPF_LINK_CREATE with attach type trace_kprobe_multi answered EOPNOTSUPP",
    });
  }
  if (err === ENOENT || err === 3 /* ESRCH */) {
    throw new NotFoundError(
      "kernel functions",
      `attachKprobeMulti: a function cannot be found or traced (${
        err === ENOENT ? "ENOENT" : "ESRCH"
      })`,
    );
  }
  throw linkCreateError(err, {
    feature: "kprobe_multi links",
    requirement: KPROBE_MULTI_REQUIREMENT,
    invalidHint: "was the program loaded with attachType trace_kprobe_multi?",
  });
}
