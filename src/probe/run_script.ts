/**
 * The back end of scripted probes: {@linkcode runScript} type-checks a
 * {@linkcode ScriptIr}, generates one BPF program per point with the
 * assembler (maps shared by name, locals on the stack, actions sent
 * through one ring buffer), loads and attaches them, runs `BEGIN`, and
 * returns a {@linkcode ScriptHandle} that prints what the script prints,
 * runs `END` at stop and prints the maps as bpftrace does at exit.
 *
 * ```ts ignore
 * import { runScript } from "./run_script.ts";
 * // BEGIN { printf("%d\n", 6 * 7); exit(); }
 * await using h = await runScript({
 *   probes: [{
 *     points: [{ kind: "begin", target: "" }],
 *     body: [
 *       { op: "printf", format: "%d\n", args: [{ op: "binary", operator: "*", left: { op: "int", value: 6n }, right: { op: "int", value: 7n } }] },
 *       { op: "exit" },
 *     ],
 *   }],
 * });
 * await h.run(); // prints 42, then the maps (none)
 * ```
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { haveFeature } from "../features/misc.ts";
import { attachPerfEvent } from "../link/tracepoint.ts";
import { type BpfMap, createMap } from "../map/map.ts";
import { MapCreateFlag } from "../map/types.ts";
import { loadProgramAsync } from "../program/load.ts";
import type { Program } from "../program/program.ts";
import { VerifierError } from "../program/errors.ts";
import { R0, R1 } from "../asm/register.ts";
import { GLOBAL_START, GLOBALS_SIZE } from "./_script_records.ts";
import { Assembler } from "../asm/assembler.ts";
import { ringBufReader } from "../ringbuf/reader.ts";
import { onlineCpus } from "../sys/cpu.ts";
import { PerfSwConfig, PerfType } from "../sys/perf_event.ts";
import type { TracefsOptions } from "../tracefs/mount.ts";
import { type Schema, schemaOf } from "./_access.ts";
import { attach } from "./_attach.ts";
import { expandPoints } from "./expand.ts";
import { readTracepointFormat } from "./format.ts";
import { checkScript, type MapInfo, type PointEnv } from "./_check.ts";
import {
  type ActionTable,
  compileScriptProgram,
  explainVerifier,
  type MapLayout,
  mapLayout,
} from "./_script_codegen.ts";
import { closeAll, type Owned } from "./handles.ts";
import type { IrPoint, ScriptIr } from "./ir.ts";
import type { ScriptValue } from "./_script_maps.ts";
export type { ScriptValue };
import { pointOfIr, profile, splitLast } from "./points.ts";
import { perfEventPoint } from "./perf_events.ts";
import { noTestRun, type Prog, ScriptHandle, type ScriptOptions } from "./_script_handle.ts";
export { ScriptHandle, type ScriptOptions, type ScriptOutput } from "./_script_handle.ts";
import { demangle } from "./demangle.ts";

/** bpftrace's spelling of a point, as the `probe` builtin gives it. */
function pointName(p: IrPoint): string {
  switch (p.kind) {
    case "begin":
      return "BEGIN";
    case "end":
      return "END";
    case "raw_tracepoint":
      return `rawtracepoint:${p.target}`;
    default:
      return `${p.kind}:${p.target}`;
  }
}

function envOf(p: IrPoint, tracefs: TracefsOptions): PointEnv {
  const name = pointName(p);
  if (p.kind === "begin" || p.kind === "end" || p.kind === "interval") {
    return { name, kind: p.kind, user: false };
  }
  // software and hardware events run perf_event programs, as profile's do
  const perf = p.kind === "software" || p.kind === "hardware";
  const pp = perf ? profile(1) : pointOfIr(p);
  const schema: Schema = schemaOf(pp, tracefs);
  const user = p.kind === "uprobe" || p.kind === "uretprobe" || p.kind === "usdt" ||
    (p.kind === "tracepoint" && p.target.startsWith("syscalls:"));
  // bpftrace's func of a uprobe is its symbol as usym prints it: C++ names demangled.
  const func = p.kind === "uprobe" || p.kind === "uretprobe"
    ? demangle(splitLast(p.target, p.kind)[1])
    : p.kind === "kprobe" || p.kind === "kretprobe"
    ? p.target
    : undefined;
  // The fields' C types, read (again) only when a script follows a field's pointer.
  let types: Map<string, string> | undefined;
  const fieldType = pp.kind === "tracepoint"
    ? (field: string) =>
      (types ??= new Map(
        readTracepointFormat(pp.group, pp.event, tracefs).fields.map((f) => [f.name, f.type]),
      )).get(field)
    : undefined;
  const probeName = p.kind === "profile" || perf ? name : pp.probe;
  return { name: probeName, kind: p.kind, schema, user, func, fieldType };
}

/** Nanoseconds of an interval point's target (`s:1`, `ms:100`, `us:…`, `hz:…`). */
function intervalNs(target: string): number {
  const m = /^(s|ms|us|hz):(\d+)$/.exec(target);
  const n = m ? Number(m[2]) : 0;
  if (!m || n <= 0) {
    throw new InvalidArgumentError(
      `${target}: expected s:N, ms:N, us:N or hz:N (interval:s:1, profile:ms:10)`,
    );
  }
  const unit = m[1];
  return unit === "s" ? n * 1e9 : unit === "ms" ? n * 1e6 : unit === "us" ? n * 1e3 : 1e9 / n;
}

/** The program that stores the start time (for `elapsed`) in `globals`. */
function initGlobals(): Assembler {
  return new Assembler()
    .call("ktime_get_ns").loadMapValue(R1, "globals", GLOBAL_START).stxdw(R1, 0, R0)
    .mov64(R0, 0).exit();
}

/**
 * Type-checks, compiles, loads and attaches a script, runs its BEGIN
 * probes, and returns the running handle. Errors: a
 * `ProbeCompileError` names the expression and types at fault
 * (or, for a verifier refusal, the probe and statement and the verifier's
 * last lines); a `ProbeNotFoundError` an unknown point or field; a
 * `NotSupportedError` what this kernel or back end cannot do.
 */
export async function runScript(ir: ScriptIr, options: ScriptOptions = {}): Promise<ScriptHandle> {
  await Promise.resolve();
  const tracefs = options.tracefs ?? {};
  const progs: Prog[] = [];
  const skippable = new Set<Prog>();
  for (const probe of ir.probes) {
    for (const given of probe.points) {
      // Every point as bpftrace spells it: a glob expands to every point it names (one program
      // each, in bpftrace's order), a library name becomes its path, a USDT path:name gets its
      // provider; other points come back as they are. A kprobe or uprobe glob that matches
      // nothing is left out, as bpftrace leaves it out.
      const points = await expandPoints(given, { ...tracefs, pid: given.pid, allowEmpty: true });
      for (const point of points) {
        const prog = { probe, point, env: envOf(point, tracefs) };
        progs.push(prog);
        // bpftrace goes on without a kprobe it cannot attach when the probe names more than it
        if (
          /^kretprobe$|^kprobe$/.test(point.kind) &&
          (probe.points.length > 1 || points.length > 1 || point.target !== given.target)
        ) {
          skippable.add(prog);
        }
      }
    }
  }
  if (progs.length === 0) {
    // every point was a glob that matched nothing: the first one's error names the closest
    const first = ir.probes.flatMap((p) => p.points)[0];
    if (first) await expandPoints(first, { ...tracefs, pid: first.pid });
    throw new InvalidArgumentError("runScript: the script has no probes");
  }
  // BEGIN's own run (before any probe is attached) tells whether the kernel can run it; a
  // script with END and no BEGIN asks the feature probe, so that it is refused before it runs.
  const end = progs.find((p) => p.point.kind === "end");
  if (end && !progs.some((p) => p.point.kind === "begin") && !haveFeature("raw_tp_test_run")) {
    throw noTestRun(end.env.name);
  }
  const { checker, types } = checkScript(ir, progs);
  const layouts = new Map<string, MapLayout>();
  for (const info of checker.maps.values()) layouts.set(info.name, mapLayout(info as MapInfo));
  const actions: ActionTable = {
    printf: [],
    print: [],
    printValue: [],
    time: [],
    join: [],
    cat: [],
    system: [],
  };
  progs.forEach((p, i) => {
    p.code = compileScriptProgram(
      { env: p.env, types: types[i], filter: p.probe.filter, body: p.probe.body },
      layouts,
      actions,
    );
  });
  const owned: Owned = { links: [], maps: [] };
  const programs: Program[] = [];
  let handle: ScriptHandle | undefined;
  try {
    const bpfMaps = new Map<string, BpfMap>();
    const add = (ref: string, m: BpfMap) => {
      owned.maps.push(m);
      bpfMaps.set(ref, m);
    };
    const maxKeys = ir.maxKeys ?? 4096;
    for (const m of layouts.values()) {
      add(
        m.ref,
        createMap({
          type: m.aggKind ? "percpu_hash" : "hash",
          keySize: m.keySize,
          valueSize: m.valueSize,
          maxEntries: m.aggKind === "hist" || m.aggKind === "lhist" ? maxKeys * 8 : maxKeys,
          // Elements allocated as they come: preallocating 32k per-CPU elements takes ~70 ms.
          flags: MapCreateFlag.NO_PREALLOC,
          name: m.ref,
        }),
      );
    }
    const events = createMap({
      type: "ringbuf",
      maxEntries: options.ringSize ?? 1 << 20,
      name: "events",
    });
    add("events", events);
    // Records the ring had no room for, counted per CPU (ScriptHandle.lost).
    add(
      "lost",
      createMap({ type: "percpu_array", keySize: 4, valueSize: 8, maxEntries: 2, name: "lost" }),
    );
    let stacks: BpfMap | undefined;
    if (progs.some((p) => p.code!.stacks)) {
      stacks = createMap({
        type: "stack_trace",
        keySize: 4,
        valueSize: 127 * 8,
        maxEntries: options.stackEntries ?? 4096,
        name: "stacks",
      });
      add("stacks", stacks);
    }
    // The start time and the stop flag (GLOBALS_SIZE): every script has one.
    add(
      "globals",
      createMap({
        type: "array",
        keySize: 4,
        valueSize: GLOBALS_SIZE,
        maxEntries: 1,
        name: "globals",
      }),
    );
    if (progs.some((p) => p.code!.elapsed)) {
      const init = await loadProgramAsync({
        type: "raw_tracepoint",
        instructions: initGlobals(),
        maps: Object.fromEntries(bpfMaps),
        name: "script_init",
      });
      try {
        await init.testRun({ context: new Uint8Array(8) });
      } finally {
        init.close();
      }
    }
    const maps = Object.fromEntries(bpfMaps);
    // The verifier runs on worker threads: every program at once.
    const loads = await Promise.allSettled(progs.map((p) => {
      const kind = p.point.kind;
      const schema = p.env.schema;
      return loadProgramAsync({
        type: schema?.programType ?? (kind === "interval" ? "perf_event" : "raw_tracepoint"),
        attachType: schema?.attachType,
        attachBtfId: schema?.attachBtfId,
        instructions: p.code!.asm,
        maps,
        name: "script_" + kind,
      });
    }));
    loads.forEach((r, i) => {
      if (r.status === "fulfilled") programs.push(progs[i].program = r.value);
    });
    const failed = loads.findIndex((r) => r.status === "rejected");
    if (failed >= 0) {
      const e = (loads[failed] as PromiseRejectedResult).reason;
      const p = progs[failed];
      throw e instanceof VerifierError ? explainVerifier(e, p.env.name, p.code!.asm) : e;
    }
    const reader = ringBufReader(events);
    owned.reader = reader;
    handle = new ScriptHandle({
      progs,
      owned,
      layouts,
      bpfMaps,
      stacks,
      actions,
      reader,
      options,
    });
    await handle.start();
    for (const p of progs) {
      const kind = p.point.kind;
      if (kind === "begin" || kind === "end") continue;
      const timed = kind === "interval" ||
        (kind === "profile" && !p.point.target.startsWith("hz:"));
      const event = kind === "software" || kind === "hardware"
        ? perfEventPoint(kind, p.point.target)
        : undefined;
      if (event) {
        // Every `period` events on each CPU, as bpftrace attaches them.
        for (const cpu of onlineCpus()) {
          owned.links.push(attachPerfEvent(p.program!, {
            attr: { type: event.type, config: event.config, samplePeriod: BigInt(event.period) },
            pid: -1,
            cpu,
          }));
        }
      } else if (timed) {
        // A cpu-clock event with a period: on CPU 0 for interval, on every CPU for profile.
        const period = BigInt(Math.round(intervalNs(p.point.target)));
        for (const cpu of kind === "interval" ? [0] : onlineCpus()) {
          owned.links.push(attachPerfEvent(p.program!, {
            attr: { type: PerfType.SOFTWARE, config: PerfSwConfig.CPU_CLOCK, samplePeriod: period },
            pid: -1,
            cpu,
          }));
        }
      } else {
        try {
          owned.links.push(...attach(p.env.schema!, p.program!, tracefs));
        } catch (e) {
          if (!skippable.has(p) || !(e instanceof Error)) throw e;
          options.onSkip?.(p.env.name, e);
        }
      }
    }
    return handle;
  } catch (e) {
    if (handle) {
      handle.close(); // its pump, programs, links and maps
    } else {
      for (const p of programs) p.close();
      closeAll(owned);
    }
    throw e;
  }
}
