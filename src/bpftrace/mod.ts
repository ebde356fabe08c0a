/**
 * bpftrace scripts without LLVM: a compiler for the bpftrace language
 * (as of bpftrace 0.17) to the probe IR of `@denobpf/ebpf/probe`, run by
 * the same back end as `script()`.
 *
 * ```ts ignore
 * import { bpftrace } from "@denobpf/ebpf/bpftrace";
 *
 * await using h = await bpftrace(`
 *   tracepoint:syscalls:sys_enter_openat { @[comm] = count(); }
 * `);
 * await h.runFor(5); // then prints @[bash]: 12 … as bpftrace does
 * ```
 *
 * {@linkcode parseBpftrace} gives the syntax tree, {@linkcode compileBpftrace}
 * the IR; errors are {@linkcode BpftraceError}s whose `report` is what
 * bpftrace prints for the same mistake (`stdin:1:9-12: ERROR: …`, the
 * line, a `~~~` marker). A construct this compiler does not support yet is
 * an error naming it. Not supported yet: `++`/`--` inside a filter, a loop
 * condition, a ternary branch or the right side of `&&`/`||`, or beside a
 * read of what it updates in one statement; watchpoint, asyncwatchpoint and iter probes, and
 * kfunc/kprobe on a module's function; the functions `override`, `path`, `skboutput`, `pton` and later bpftrace's additions;
 * `#if` expressions beyond `defined(X)`. What the back end does not run
 * yet it names in its own errors. Warnings bpftrace prints (code after a
 * jump, `print()` in a loop) go to the `warn` option.
 *
 * The command line is `deno task cli trace -e 'PROGRAM'` (or `FILE.bt`,
 * `-` for stdin) with bpftrace's `-p PID`, `-c CMD`, `-l [PATTERN]`, `-v`,
 * `-q` and positional parameters.
 *
 * @module
 */

import type { IrPoint, ScriptIr } from "../probe/ir.ts";
import type { ScriptHandle, ScriptOptions } from "../probe/run_script.ts";
import { lowerBpftrace } from "./lower.ts";
import { parseBpftrace } from "./parser.ts";
import { kernelConstant, kernelRecordExists } from "./_constants.ts";
import { checkPoints } from "./points.ts";

export type { BtAttachPoint, BtExpr, BtProbe, BtProgram, BtStmt, BtStructDef, Loc } from "./ast.ts";
export { BpftraceError } from "./errors.ts";
export { checkPoints, type CheckPointsOptions } from "./points.ts";
export { parseBpftrace, type ParseBpftraceOptions } from "./parser.ts";
export { lowerBpftrace, type LowerBpftraceOptions } from "./lower.ts";
export type {
  ScriptHandle,
  ScriptOptions,
  ScriptOutput,
  ScriptValue,
} from "../probe/run_script.ts";
export type { RunOptions } from "../probe/handles.ts";
export type { Histogram, HistogramBucket } from "../probe/output.ts";
export type { TracefsOptions } from "../tracefs/mod.ts";
export { EbpfError, ParseError } from "../errors.ts";
export type * from "../probe/ir.ts";

/** Options of {@linkcode compileBpftrace}. */
export interface CompileBpftraceOptions {
  /** The file name errors print (bpftrace prints `stdin` for `-e`). */
  file?: string;
  /** Positional parameters `$1`, `$2`… */
  params?: readonly string[];
  /** `-p PID`: uprobes and USDT of this process only. */
  pid?: number;
  /** `-c CMD`: the command's process id, the value of `cpid`. */
  cpid?: number;
  /**
   * The value of an identifier that is neither a builtin nor a `#define`
   * (default: the enumerators of the kernel's BTF, then the usual macros
   * of `<sys/socket.h>` and friends).
   */
  constant?: (name: string) => bigint | undefined;
  /**
   * Whether a struct or union a cast names exists (default: the script's
   * own and the kernel BTF's).
   */
  recordExists?: (name: string) => boolean;
  /**
   * Receives each warning bpftrace would print for the program, as its
   * report (`stdin:1:9-14: WARNING: …`, the line, a marker); default: none.
   */
  warn?: (report: string) => void;
  /** bpftrace's --unsafe: allows `system()` and `signal()` (default: refused, as bpftrace does). */
  unsafe?: boolean;
}

/** Options of {@linkcode bpftrace}: compile options and the back end's. */
export interface BpftraceOptions extends CompileBpftraceOptions, ScriptOptions {}

/**
 * Compiles a bpftrace program to the probe IR: preprocessor lines, parse,
 * semantic checks. Throws a {@linkcode BpftraceError}.
 */
export function compileBpftrace(source: string, options: CompileBpftraceOptions = {}): ScriptIr {
  const program = parseBpftrace(source, { file: options.file });
  return lowerBpftrace(program, {
    source,
    file: options.file,
    params: options.params,
    pid: options.pid,
    cpid: options.cpid,
    defines: program.defines,
    constant: options.constant ?? kernelConstant,
    recordExists: options.recordExists ?? kernelRecordExists,
    warn: options.warn,
    unsafe: options.unsafe,
  });
}

/**
 * Compiles and starts a bpftrace program; returns the running handle
 * (`runFor`, `run`, `stop`, `print`, `maps`), the same as `runScript`'s.
 * BEGIN probes have run when it resolves.
 */
export async function bpftrace(
  source: string,
  options: BpftraceOptions = {},
): Promise<ScriptHandle> {
  const ir = await checkPoints(compileBpftrace(source, options), {
    source,
    file: options.file,
    pid: options.pid,
    warn: options.warn,
  });
  const { runScript } = await import("../probe/run_script.ts");
  return await runScript(ir, options);
}

/**
 * How many probes a script attaches, as bpftrace counts them for its
 * `Attaching N probes...` line: every point, a glob counting each match
 * (a kprobe glob counts none where the kernel has kprobe_multi links:
 * bpftrace 0.17 attaches it with one and leaves it out of the line; without
 * them it attaches, and counts, one kprobe per function; a kprobe or uprobe
 * glob that matches nothing counts none).
 */
export async function countProbes(ir: ScriptIr, options: { pid?: number } = {}): Promise<number> {
  let n = 0;
  for (const probe of ir.probes) {
    for (const point of probe.points) n += await pointCount(point, options.pid);
  }
  return n;
}

async function pointCount(point: IrPoint, pid?: number): Promise<number> {
  const fixed = ["begin", "end", "interval", "profile"].includes(point.kind);
  if (fixed || !/[*?]/.test(point.target)) return 1;
  if (point.kind === "kprobe" || point.kind === "kretprobe") {
    // bpftrace 0.17 attaches a kprobe glob as a kprobe_multi probe, which its line does not count
    const { haveFeature } = await import("../features/misc.ts"); // only for a kprobe glob
    if (haveFeature("kprobe_multi_link")) return 0;
  }
  const { expandPoints } = await import("../probe/expand.ts"); // only for a glob
  return (await expandPoints(point, { pid: point.pid ?? pid, allowEmpty: true })).length;
}
