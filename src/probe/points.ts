/**
 * Probe points: where a scripted probe runs. Each constructor returns a
 * plain description; nothing touches the kernel until the probe starts.
 * The type argument `A` describes the point's `args` (see `AnyArgs`).
 *
 * | constructor | bpftrace | program type |
 * |---|---|---|
 * | `tracepoint("syscalls:sys_enter_openat")` | `tracepoint:syscalls:sys_enter_openat` | tracepoint |
 * | `rawTracepoint("sys_enter")` | `rawtracepoint:sys_enter` | raw_tracepoint |
 * | `tpBtf("sched_switch")` | (BTF tracepoint) | tracing (tp_btf) |
 * | `uprobe("c", "getpid")`, `uretprobe(...)` | `uprobe:libc:getpid` | kprobe (uprobe) |
 * | `usdt(path, "provider", "name")` | `usdt:path:provider:name` | kprobe (uprobe) |
 * | `kprobe("do_sys_openat2")`, `kretprobe(...)` | `kprobe:do_sys_openat2` | kprobe |
 * | `profile(99)` | `profile:hz:99` | perf_event (cpu-clock, every CPU) |
 *
 * @module
 */

import { InvalidArgumentError, NotSupportedError } from "../errors.ts";
import type { IrPoint } from "./ir.ts";
import type { AnyArgs } from "./types.ts";

/** The kinds of probe points. */
export type PointKind =
  | "tracepoint"
  | "raw_tracepoint"
  | "tp_btf"
  | "uprobe"
  | "uretprobe"
  | "usdt"
  | "kprobe"
  | "kretprobe"
  | "profile";

/** What every probe point has. */
export interface PointBase<A> {
  /** The kind of point. */
  readonly kind: PointKind;
  /** A bpftrace-like description, e.g. `"tracepoint:syscalls:sys_enter_openat"`. */
  readonly probe: string;
  /** Never set: carries the argument shape `A` for type checking. */
  readonly argsType?: A;
}

/** A perf tracepoint (`events/<group>/<name>` in tracefs). */
export interface TracepointPoint<A = AnyArgs> extends PointBase<A> {
  /** Discriminant. */
  readonly kind: "tracepoint";
  /** Group, e.g. `"syscalls"`. */
  readonly group: string;
  /** Event, e.g. `"sys_enter_openat"`. */
  readonly event: string;
}

/** A raw tracepoint or a BTF tracepoint (tp_btf), by name without group. */
export interface RawTracepointPoint<A = AnyArgs> extends PointBase<A> {
  /** Discriminant. */
  readonly kind: "raw_tracepoint" | "tp_btf";
  /** The tracepoint name, e.g. `"sched_switch"`. */
  readonly event: string;
}

/** Options of {@linkcode uprobe} and {@linkcode uretprobe}. */
export interface UprobePointOptions {
  /** Only this process triggers the probe (the kernel filters; `pid` filters still apply). */
  pid?: number;
}

/** A uprobe or uretprobe on a function of a binary or library. */
export interface UprobePoint<A = AnyArgs> extends PointBase<A> {
  /** Discriminant. */
  readonly kind: "uprobe" | "uretprobe";
  /** Binary or library: a path, or a name such as `"c"` for libc. */
  readonly path: string;
  /** The function. */
  readonly symbol: string;
  /** Process to attach in. */
  readonly pid?: number;
}

/** A USDT probe of a binary or library. */
export interface UsdtPoint<A = AnyArgs> extends PointBase<A> {
  /** Discriminant. */
  readonly kind: "usdt";
  /** Binary or library. */
  readonly path: string;
  /** Provider. */
  readonly provider: string;
  /** Probe name. */
  readonly name: string;
  /** Process to attach in. */
  readonly pid?: number;
}

/** A kprobe or kretprobe on a kernel function. */
export interface KprobePoint<A = AnyArgs> extends PointBase<A> {
  /** Discriminant. */
  readonly kind: "kprobe" | "kretprobe";
  /** The kernel function. */
  readonly symbol: string;
}

/** Sampling on every online CPU at `hz` samples per second (software cpu-clock). */
export interface ProfilePoint<A = AnyArgs> extends PointBase<A> {
  /** Discriminant. */
  readonly kind: "profile";
  /** Samples per second per CPU. */
  readonly hz: number;
}

/** Any probe point. */
export type ProbePoint<A = AnyArgs> =
  | TracepointPoint<A>
  | RawTracepointPoint<A>
  | UprobePoint<A>
  | UsdtPoint<A>
  | KprobePoint<A>
  | ProfilePoint<A>;

/** The argument shape of a probe point type (`AnyArgs` when it has none). */
export type ArgsOf<P> = P extends ProbePoint<infer A> ? A : AnyArgs;

function nonEmpty(value: string, what: string): string {
  if (typeof value !== "string" || value.length === 0 || /[\s\0]/.test(value)) {
    throw new InvalidArgumentError(`${what} must be a non-empty name without spaces`);
  }
  return value;
}

/**
 * A tracepoint, as `"group:name"` (or `"group/name"`), e.g.
 * `tracepoint("syscalls:sys_enter_openat")`. Its fields, read from the
 * tracefs format file, are `args.<field>`.
 */
export function tracepoint<A = AnyArgs>(name: string): TracepointPoint<A> {
  const m = /^([^:/\s]+)[:/]([^:/\s]+)$/.exec(name ?? "");
  if (!m) {
    throw new InvalidArgumentError(
      `tracepoint ${JSON.stringify(name)}: expected "group:name", e.g. "syscalls:sys_enter_openat"`,
    );
  }
  return { kind: "tracepoint", group: m[1], event: m[2], probe: `tracepoint:${m[1]}:${m[2]}` };
}

/**
 * A raw tracepoint by name without group, e.g. `rawTracepoint("sys_enter")`.
 * Its arguments are `arg0`… and, named from kernel BTF, `args.<name>`
 * (`args.id` for sys_enter); struct pointers can be followed
 * (`args.regs.di`).
 */
export function rawTracepoint<A = AnyArgs>(name: string): RawTracepointPoint<A> {
  nonEmpty(name, "raw tracepoint name");
  return { kind: "raw_tracepoint", event: name, probe: `rawtracepoint:${name}` };
}

/**
 * A BTF tracepoint (tp_btf), e.g. `tpBtf("sched_switch")`: like a raw
 * tracepoint, with the arguments typed by kernel BTF (`args.prev.pid`,
 * `args.next.comm`).
 */
export function tpBtf<A = AnyArgs>(name: string): RawTracepointPoint<A> {
  nonEmpty(name, "tp_btf tracepoint name");
  return { kind: "tp_btf", event: name, probe: `tp_btf:${name}` };
}

/**
 * The entry of a user-space function: `uprobe("c", "getpid")` or
 * `uprobe("/usr/bin/bash", "readline")`. Arguments are `arg0`…`arg5`.
 */
export function uprobe<A = AnyArgs>(
  path: string,
  symbol: string,
  options: UprobePointOptions = {},
): UprobePoint<A> {
  nonEmpty(path, "uprobe path");
  nonEmpty(symbol, "uprobe symbol");
  return { kind: "uprobe", path, symbol, pid: options.pid, probe: `uprobe:${path}:${symbol}` };
}

/** The return of a user-space function; its return value is `retval`. */
export function uretprobe<A = AnyArgs>(
  path: string,
  symbol: string,
  options: UprobePointOptions = {},
): UprobePoint<A> {
  nonEmpty(path, "uretprobe path");
  nonEmpty(symbol, "uretprobe symbol");
  return {
    kind: "uretprobe",
    path,
    symbol,
    pid: options.pid,
    probe: `uretprobe:${path}:${symbol}`,
  };
}

/**
 * A USDT probe, e.g. `usdt("/usr/bin/python3", "python", "function__entry")`.
 * Its arguments `arg0`… are read as the probe's note describes them (when
 * every location of the probe describes them alike).
 */
export function usdt<A = AnyArgs>(
  path: string,
  provider: string,
  name: string,
  options: UprobePointOptions = {},
): UsdtPoint<A> {
  nonEmpty(path, "usdt path");
  nonEmpty(provider, "usdt provider");
  nonEmpty(name, "usdt probe name");
  return {
    kind: "usdt",
    path,
    provider,
    name,
    pid: options.pid,
    probe: `usdt:${path}:${provider}:${name}`,
  };
}

/**
 * A kernel function's entry. Needs a kernel with CONFIG_KPROBES: elsewhere
 * starting the probe throws `NotSupportedError` naming it.
 */
export function kprobe<A = AnyArgs>(symbol: string): KprobePoint<A> {
  nonEmpty(symbol, "kprobe function");
  return { kind: "kprobe", symbol, probe: `kprobe:${symbol}` };
}

/** A kernel function's return (`retval`); needs CONFIG_KPROBES like {@linkcode kprobe}. */
export function kretprobe<A = AnyArgs>(symbol: string): KprobePoint<A> {
  nonEmpty(symbol, "kretprobe function");
  return { kind: "kretprobe", symbol, probe: `kretprobe:${symbol}` };
}

/**
 * Timed sampling: a software cpu-clock perf event at `hz` samples per
 * second on every online CPU, e.g. `profile(99)` with `count({ by: "kstack" })`.
 */
export function profile<A = AnyArgs>(hz: number): ProfilePoint<A> {
  if (!Number.isInteger(hz) || hz <= 0 || hz > 100_000) {
    throw new InvalidArgumentError(`profile: hz must be an integer from 1 to 100000, got ${hz}`);
  }
  return { kind: "profile", hz, probe: `profile:hz:${hz}` };
}

/**
 * Splits a uprobe target `"path:function"` at its last colon (the path may
 * hold colons); `what` names the point kind in the error.
 */
export function splitLast(target: string, what: string): [string, string] {
  const i = target.lastIndexOf(":");
  if (i <= 0 || i === target.length - 1) {
    throw new InvalidArgumentError(`${what} ${JSON.stringify(target)}: expected "path:function"`);
  }
  return [target.slice(0, i), target.slice(i + 1)];
}

/**
 * The ProbePoint of an IR point (not begin, end or interval): the one
 * reading of a point's `kind` and bpftrace-spelled `target`, for the
 * script back end and the exporter's `probe:` lines.
 */
export function pointOfIr(p: IrPoint): ProbePoint<unknown> {
  switch (p.kind) {
    case "tracepoint":
      return tracepoint(p.target);
    case "raw_tracepoint":
      return rawTracepoint(p.target);
    case "tp_btf":
      return tpBtf(p.target);
    case "uprobe":
    case "uretprobe": {
      const [path, sym] = splitLast(p.target, p.kind);
      return (p.kind === "uprobe" ? uprobe : uretprobe)(path, sym, { pid: p.pid });
    }
    case "usdt": {
      const parts = p.target.split(":");
      if (parts.length !== 3) {
        throw new InvalidArgumentError(
          `usdt ${JSON.stringify(p.target)}: expected "path:provider:name"`,
        );
      }
      return usdt(parts[0], parts[1], parts[2], { pid: p.pid });
    }
    case "kprobe":
      return kprobe(p.target);
    case "kretprobe":
      return kretprobe(p.target);
    case "profile": {
      // profile:s/ms/us:N is attached with its period (runScript); its schema is profile's.
      const m = /^hz:(\d+)$/.exec(p.target);
      return profile(m ? Number(m[1]) : 1);
    }
    default:
      throw new NotSupportedError(
        `${p.kind} probes`,
        `${p.kind}:${p.target}: ${p.kind} points are not supported by the probe back end ` +
          "(this kernel refuses fentry/fexit; use tp_btf or a tracepoint)",
      );
  }
}
