// bpftrace's checks of a script's attach points against this system.

import type { IrPoint, ScriptIr, SourceSpan } from "../probe/ir.ts";
import type { Loc } from "./ast.ts";
import { BpftraceError, formatReport } from "./errors.ts";

/** Options of {@linkcode checkPoints}. */
export interface CheckPointsOptions {
  /** The program's text, for the line under an error. */
  source?: string;
  /** The file name errors print (default `stdin`). */
  file?: string;
  /** `-p PID`: uprobes and USDT of this process only. */
  pid?: number;
  /** Receives each warning's report (`stdin:1:31-54: WARNING: …`). */
  warn?: (report: string) => void;
  /**
   * Receives each point left out with a warning (a missing tracepoint
   * beside other points), which bpftrace still counts in its
   * `Attaching N probes...` line.
   */
  onLeftOut?: (point: IrPoint) => void;
}

/**
 * Checks a compiled script's points the way bpftrace 0.17 does before it
 * loads anything, and returns the script without the points bpftrace
 * leaves out:
 *
 * - a tracepoint that does not exist (`tracepoint not found: sched:nosuch`)
 *   is an error in a probe with that one point, and a warning (the point
 *   left out) in a probe with several; a tracepoint glob that matches none
 *   (`tracepoints not found: sched:nosuch*`) is an error;
 * - a uprobe, uretprobe or USDT binary that does not exist or is not
 *   executable is an error (`uprobe target file 'X' does not exist or is
 *   not executable`);
 * - a uprobe glob or a USDT point that matches nothing is left out without
 *   a word, as is a uprobe on a function the binary does not define;
 *   a probe left with no point goes too (`trace` then prints bpftrace's
 *   `No probes to attach`).
 *
 * Errors are {@linkcode BpftraceError}s pointing at the point, with the
 * source line and a marker as bpftrace prints them.
 */
export async function checkPoints(
  ir: ScriptIr,
  options: CheckPointsOptions = {},
): Promise<ScriptIr> {
  const file = options.file ?? "stdin";
  const probes = [];
  let changed = false;
  for (const probe of ir.probes) {
    const points: IrPoint[] = [];
    for (const point of probe.points) {
      const problem = await pointProblem(point, options.pid);
      if (problem === undefined) {
        points.push(point);
        continue;
      }
      changed = true;
      if (problem === "empty") continue;
      const loc = locOf(point.span);
      if (problem.warnAlone === false || probe.points.length === 1) {
        throw new BpftraceError(problem.message, { loc, source: options.source, file });
      }
      options.warn?.(formatReport(problem.message, file, loc, options.source, "WARNING"));
      options.onLeftOut?.(point);
    }
    if (points.length) {
      probes.push(points.length === probe.points.length ? probe : { ...probe, points });
    }
  }
  return changed ? { ...ir, probes } : ir;
}

type Problem = "empty" | { message: string; warnAlone?: boolean };

async function pointProblem(point: IrPoint, pid?: number): Promise<Problem | undefined> {
  const glob = /[*?]/.test(point.target);
  if (point.kind === "tracepoint") {
    if (glob) {
      return (await matchesNothing(point))
        ? { message: `tracepoints not found: ${point.target}`, warnAlone: false }
        : undefined;
    }
    const { tracepointExists } = await import("../tracefs/events.ts");
    const colon = point.target.indexOf(":");
    const [group, name] = colon < 0
      ? ["*", point.target]
      : [point.target.slice(0, colon), point.target.slice(colon + 1)];
    return tracepointExists(group, name)
      ? undefined
      : { message: `tracepoint not found: ${point.target}` };
  }
  if (point.kind !== "uprobe" && point.kind !== "uretprobe" && point.kind !== "usdt") {
    return undefined;
  }
  const path = point.kind === "usdt"
    ? point.target.split(":")[0]
    : point.target.slice(0, Math.max(0, point.target.lastIndexOf(":")));
  const ownPid = point.pid ?? pid;
  // usdt with -p may name just the probe; a glob path is the expansion's business
  if (
    !path || /[*?]/.test(path) ||
    (point.kind === "usdt" && ownPid !== undefined && !point.target.includes(":"))
  ) {
    return undefined;
  }
  const binary = await programPath(path, ownPid);
  if (binary === undefined) {
    const word = point.kind === "usdt" ? "usdt" : "uprobe";
    return {
      message: `${word} target file '${path}' does not exist or is not executable`,
      warnAlone: false,
    };
  }
  if (point.kind === "usdt" || glob) {
    return (await matchesNothing(point, ownPid)) ? "empty" : undefined;
  }
  return (await definesNoFunction(point, binary)) ? "empty" : undefined;
}

/** Whether a point's globs (or a USDT point's name) match nothing on this system. */
async function matchesNothing(point: IrPoint, pid?: number): Promise<boolean> {
  const [{ expandPoints }, { ProbeNotFoundError }] = await Promise.all([
    import("../probe/expand.ts"),
    import("../probe/errors.ts"),
  ]);
  try {
    return (await expandPoints(point, { pid, allowEmpty: true })).length === 0;
  } catch (e) {
    if (e instanceof ProbeNotFoundError) return true;
    throw e;
  }
}

/**
 * The path a uprobe's binary resolves to, when it is an ELF executable or
 * shared object, as bpftrace requires; undefined otherwise.
 */
async function programPath(path: string, pid?: number): Promise<string | undefined> {
  const { isElfProgram, resolveBinaryPath } = await import("../uprobe/resolve.ts");
  const { FileError, NotFoundError } = await import("../errors.ts");
  try {
    const resolved = resolveBinaryPath(path, { pid });
    return isElfProgram(resolved) ? resolved : undefined;
  } catch (e) {
    if (e instanceof NotFoundError || e instanceof FileError) return undefined;
    throw e;
  }
}

/** The position of a point, from its span. */
function locOf(span?: SourceSpan): Loc | undefined {
  if (span?.line === undefined || span.column === undefined) return undefined;
  return {
    line: span.line,
    column: span.column,
    endLine: span.endLine ?? span.line,
    endColumn: span.endColumn ?? span.column + (span.text?.length ?? 0),
  };
}

/**
 * Whether a uprobe or uretprobe names a function the binary at `path` does
 * not define (a stripped library keeps only its exported symbols): bpftrace
 * 0.17 leaves such a point out without a word.
 */
async function definesNoFunction(point: IrPoint, path: string): Promise<boolean> {
  // only for uprobes: the ELF reader loads then
  const [{ symbolOffset }, { splitLast }, { NotFoundError }] = await Promise
    .all([import("../uprobe/resolve.ts"), import("../probe/points.ts"), import("../errors.ts")]);
  const func = splitLast(point.target, point.kind)[1];
  if (/^(0x[0-9a-f]+|[0-9]+)$/i.test(func)) return false; // an address, not a name
  try {
    symbolOffset(path, func);
    return false;
  } catch (e) {
    return e instanceof NotFoundError;
  }
}
