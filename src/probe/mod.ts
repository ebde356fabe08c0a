/**
 * Scripted probes: small TypeScript programs that trace the kernel the way
 * bpftrace one-liners do. Pick a probe point, optionally filter, and
 * aggregate or stream events; the BPF program is generated with the
 * assembler (no C compiler), and the handle owns every descriptor.
 *
 * ```ts ignore
 * import { probe, tracepoint, uprobe } from "@denobpf/ebpf/probe";
 *
 * // @[comm] = count()
 * await using calls = await probe(tracepoint("raw_syscalls:sys_enter")).count({ by: "comm" });
 * await calls.runFor(2);
 * calls.print({ top: 5 });
 *
 * // /args.ret >= 0/ { @ = hist(args.ret) }
 * await using sizes = await probe(tracepoint("syscalls:sys_exit_read"), { where: "args.ret >= 0" })
 *   .hist("args.ret");
 *
 * // printf("%d %s %s\n", pid, comm, str(args.filename))
 * await using opens = await probe(tracepoint<{ filename: string }>("syscalls:sys_enter_openat"))
 *   .emit({ fields: ["pid", "comm", "args.filename"] });
 * for await (const ev of opens.events()) console.log(ev.pid, ev.comm, ev.filename);
 *
 * // State across probes (see script()): @start[tid] = nsecs; hist((nsecs - @start[tid]) / 1000)
 * await using lat = await script(({ on, perThread }) => {
 *   const start = perThread("@start");
 *   on(tracepoint("syscalls:sys_enter_read"), () => start.set(nsecs));
 *   on(tracepoint("syscalls:sys_exit_read"), { where: start.get() }, () => {
 *     hist("@us", nsecs.sub(start.get()).div(1000));
 *     start.delete();
 *   });
 * }).start();
 *
 * // Ctrl-C (or SIGTERM) stops early; the results are still printed
 * using stop = interrupted();
 * await calls.runFor(30, { signal: stop });
 * calls.print();
 * ```
 *
 * @module
 */

import type { ScriptIr } from "./ir.ts";
import type { ScriptHandle, ScriptOptions } from "./_script_handle.ts";

export {
  type AggregateOptions,
  type EmitOptions,
  type LinearHistogramOptions,
  probe,
  ProbeBuilder,
  type ProbeOptions,
} from "./builder.ts";
export {
  AggregateProbe,
  EventProbe,
  EVENTS_PER_TURN,
  type EventsOptions,
  type PrintOptions,
  ProbeHandle,
  type RunOptions,
} from "./handles.ts";
export {
  type ArgsOf,
  kprobe,
  type KprobePoint,
  kretprobe,
  type PointBase,
  type PointKind,
  type ProbePoint,
  profile,
  type ProfilePoint,
  rawTracepoint,
  type RawTracepointPoint,
  tpBtf,
  tracepoint,
  type TracepointPoint,
  uprobe,
  type UprobePoint,
  type UprobePointOptions,
  uretprobe,
  usdt,
  type UsdtPoint,
} from "./points.ts";
export { type CompareOp, parseFilter, type Predicate, toPredicate } from "./filter.ts";
export {
  closeMatches,
  type FieldKind,
  parseTracepointFormat,
  readTracepointFormat,
  type TracepointField,
  type TracepointFormat,
} from "./format.ts";
export {
  type AggregationFormatOptions,
  type AverageValue,
  formatAggregation,
  formatHistogram,
  formatKey,
  formatMap,
  type FormatMapOptions,
  formatMaps,
  formatValue,
  type Histogram,
  type HistogramBucket,
  type LhistBounds,
  type MapContents,
  type MapDatum,
  type MapEntry,
  type MapLayout,
  type MapValue,
  type MapValueKind,
} from "./output.ts";
export {
  checkPrintfArgs,
  type CheckPrintfOptions,
  formatBuffer,
  formatPrintf,
  parsePrintfFormat,
  type PrintfArg,
  type PrintfArgType,
  type PrintfConversion,
  type PrintfFormat,
  type PrintfPiece,
  type PrintfValueKind,
} from "./printf.ts";
export {
  clearSymbolCaches,
  kstackFrames,
  resolveKsym,
  resolveUsym,
  type StackFramesOptions,
  type SymbolOptions,
  ustackFrames,
} from "./symbols.ts";
export { demangle, type DemangleOptions } from "./demangle.ts";
export {
  type AggregateKeyOptions,
  type AnyOperand,
  type AnyPoint,
  arg,
  avg,
  type BodyContext,
  breakLoop,
  bswap,
  buf,
  cast,
  cat,
  cgroup,
  cgroupid,
  clear,
  comm,
  cond,
  continueLoop,
  count,
  cpu,
  curtask,
  deref,
  elapsed,
  exit,
  type FieldExpr,
  type Fields,
  func,
  gid,
  hist,
  join,
  kaddr,
  kernel,
  kstack,
  kstackOf,
  ksym,
  lhist,
  type LhistOptions,
  Local,
  local,
  loop,
  type LooseFields,
  macaddr,
  type MapArg,
  type MapKeyOf,
  type MapUpdate,
  max,
  min,
  nsecs,
  ntop,
  type OnOptions,
  type Operand,
  type OperandOf,
  PerThread,
  pid,
  type PointArg,
  type PointArgs,
  print,
  printf,
  type PrintMapOptions,
  probeName,
  pton,
  rand,
  type RecordExpr,
  reg,
  type ResultsOf,
  returnEarly,
  retval,
  Script,
  script,
  type ScriptBuildOptions,
  type ScriptContext,
  ScriptExpr,
  type ScriptMainOptions,
  ScriptMap,
  ScriptRun,
  signal,
  type StackOptions,
  stats,
  str,
  strftime,
  strncmp,
  type StructMembers,
  sum,
  system,
  tid,
  time,
  toExpr,
  toIrPoint,
  uaddr,
  uid,
  unroll,
  user,
  ustack,
  ustackOf,
  usym,
  when,
  zero,
} from "./script.ts";
export { ScriptHandle, type ScriptOptions, type ScriptOutput } from "./_script_handle.ts";
export type { ScriptValue } from "./_script_maps.ts";

/**
 * Type-checks, compiles, loads and attaches a script given as its IR
 * ({@linkcode ScriptIr}: what `script()`, `bpftrace()` and the `trace`
 * command build), runs its BEGIN probes, and returns the running handle.
 * Errors: a `ProbeCompileError` names the expression and types at fault
 * (or, for a verifier refusal, the probe and statement and the verifier's
 * last lines); a `ProbeNotFoundError` an unknown point or field; a
 * `NotSupportedError` what this kernel or back end cannot do.
 *
 * The compiler is imported on the first call, so that importing this entry
 * stays cheap for scripts that do not run one.
 *
 * @example
 * ```ts ignore
 * // BEGIN { printf("%d\n", 42); exit(); }
 * await using h = await runScript({
 *   probes: [{
 *     points: [{ kind: "begin", target: "" }],
 *     body: [{ op: "printf", format: "%d\n", args: [{ op: "int", value: 42n }] }, { op: "exit" }],
 *   }],
 * });
 * await h.run();
 * ```
 */
export async function runScript(ir: ScriptIr, options?: ScriptOptions): Promise<ScriptHandle> {
  const { runScript } = await import("./run_script.ts");
  return runScript(ir, options);
}
export type {
  IrAggregation,
  IrBinaryOp,
  IrBuiltin,
  IrExpr,
  IrFunction,
  IrNode,
  IrPoint,
  IrPointKind,
  IrProbe,
  IrRecordRef,
  IrStmt,
  IrStructDecl,
  IrType,
  ScriptIr,
  SourceSpan,
} from "./ir.ts";
export {
  type ExpandOptions,
  expandPoints,
  globMatch,
  listProbes,
  type ListProbesOptions,
} from "./expand.ts";
export { ProbeCompileError, ProbeNotFoundError } from "./errors.ts";
export { interrupted, type InterruptedOptions } from "../sys/signals.ts";
export type {
  AggregationKind,
  AnyArgs,
  ArgAt,
  ArgPath,
  ArgValue,
  Builtin,
  EmitFields,
  EventOf,
  Expr,
  FieldName,
  IntBuiltin,
  KeyOf,
  KeySpec,
  PathDepth,
  StrBuiltin,
  ValueOf,
} from "./types.ts";
// The base classes of the errors above, for `instanceof` checks by users of
// this entry alone.
export { EbpfError, InvalidArgumentError, NotFoundError } from "../errors.ts";
// The types this entry's API refers to, so that it is complete on its own.
export type { Program, ProgramInfo, TestRunOptions, TestRunResult } from "../program/mod.ts";
export type { FD } from "../sys/fd.ts";
export type { TracefsOptions } from "../tracefs/mod.ts";
