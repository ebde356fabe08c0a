/**
 * A declarative exporter: a configuration (JSON or YAML) names scripted
 * probes (point, filter, action, keys) and the metrics they become;
 * {@linkcode startExporter} starts them and gives a `/metrics` handler,
 * {@linkcode serveExporter} serves it until a signal (SIGTERM, Ctrl-C)
 * and stops everything. `deno task cli export CONFIG [--port N]` runs it.
 *
 * ```yaml
 * port: 9435
 * metrics:
 *   - name: syscalls_total
 *     help: System calls by process
 *     probe: tracepoint:raw_syscalls:sys_enter
 *     action: count
 *     by: [comm]
 *   - name: read_size_bytes
 *     probe: tracepoint:syscalls:sys_exit_read
 *     where: args.ret >= 0
 *     action: hist
 *     value: args.ret
 * scripts:
 *   # Probes sharing state: a bpftrace program (or the probe IR, `ir:`),
 *   # whose maps become metrics.
 *   - name: wakeups
 *     bpftrace: |
 *       tracepoint:sched:sched_wakeup { @wakeups[args.comm] = count(); }
 *     metrics:
 *       - map: "@wakeups"
 *         name: wakeups_total
 *         labels: [comm]
 * ```
 *
 * @module
 */

import { InvalidArgumentError, ParseError } from "../errors.ts";
import { probe } from "../probe/builder.ts";
import type { AggregateProbe } from "../probe/handles.ts";
import type { Histogram } from "../probe/output.ts";
import { pointOfIr, type ProbePoint } from "../probe/points.ts";
import type { IrPointKind, ScriptIr } from "../probe/ir.ts";
import type { ScriptHandle } from "../probe/run_script.ts";
import { parseYaml } from "./_yaml.ts";
import { type ExporterScriptConfig, mapKinds, metricKind, parseScripts } from "./_script_config.ts";
import { metricsHandler } from "./handler.ts";
import { type Metric, probeMetric, type ScriptMapsSource, scriptMetric } from "./metric.ts";

export type { ExporterScriptConfig, ExporterScriptMetricConfig } from "./_script_config.ts";

/** The actions a metric's probe can take. */
export type ExporterAction = "count" | "sum" | "min" | "max" | "avg" | "hist" | "lhist";

/** One metric of an exporter configuration: a scripted probe and how it is exposed. */
export interface ExporterMetricConfig {
  /** The metric name, e.g. `syscalls_total`. */
  name: string;
  /** The `# HELP` text. */
  help?: string;
  /**
   * The probe point as bpftrace names it: `tracepoint:CAT:NAME`,
   * `rawtracepoint:NAME`, `tp_btf:NAME`, `kprobe:FN`, `kretprobe:FN`,
   * `uprobe:PATH:FN`, `uretprobe:PATH:FN`, `usdt:PATH:PROVIDER:NAME`,
   * `profile:hz:N`.
   */
  probe: string;
  /** A filter (or several, all must hold), e.g. `args.ret >= 0`. */
  where?: string | string[];
  /** Only this process. */
  pid?: number;
  /** Only tasks of this name. */
  comm?: string;
  /** What the probe does. */
  action: ExporterAction;
  /** The expression `sum`…`lhist` aggregate, e.g. `args.ret`. */
  value?: string;
  /** The keys, e.g. `[comm]` or `[comm, pid]`. */
  by?: string | string[];
  /** One label name per key (default: the key's name: `comm`, `args.ret` → `ret`). */
  labels?: string[];
  /** `lhist` bounds. */
  min?: number;
  /** `lhist` bounds. */
  max?: number;
  /** `lhist` bucket width. */
  step?: number;
  /** `counter` (default for count and sum) or `gauge`. */
  type?: "counter" | "gauge";
  /** At most this many series per scrape. */
  maxSeries?: number;
  /** Multiplies bucket bounds, sums and values: `0.000001` exposes microseconds as seconds. */
  multiplier?: number;
}

/** An exporter configuration. */
export interface ExporterConfig {
  /** Where to listen (default `127.0.0.1`). */
  hostname?: string;
  /** The port (default 9435). */
  port?: number;
  /**
   * Where the host's file systems are (default `/`): the probes find tracefs
   * through `ROOT/proc/self/mountinfo` and under `ROOT/sys/kernel/tracing`.
   * In a container that mounts the host's `/proc`, `/sys`, tracefs and bpffs
   * under `/host`, give `/host` (deploy/daemonset.yaml does).
   */
  root?: string;
  /** The metrics of single-point probes. */
  metrics: ExporterMetricConfig[];
  /** Scripts: probes sharing maps, some of which become metrics. */
  scripts?: ExporterScriptConfig[];
}

const ACTIONS = new Set(["count", "sum", "min", "max", "avg", "hist", "lhist"]);
const FIELDS = new Set([
  "name",
  "help",
  "probe",
  "where",
  "pid",
  "comm",
  "action",
  "value",
  "by",
  "labels",
  "min",
  "max",
  "step",
  "type",
  "maxSeries",
  "multiplier",
]);

function bad(source: string, what: string): never {
  throw new InvalidArgumentError(`exporter config ${source}: ${what}`);
}

function strings(v: unknown): v is string[] {
  return Array.isArray(v) && v.every((x) => typeof x === "string");
}

/**
 * Reads an exporter configuration from its text: JSON when it starts with
 * `{`, else YAML. Checks every field; errors name the file (`source`), the
 * metric and the field.
 */
export function parseExporterConfig(text: string, source = "(config)"): ExporterConfig {
  let doc: unknown;
  if (text.trimStart().startsWith("{")) {
    try {
      doc = JSON.parse(text);
    } catch (e) {
      throw new ParseError("JSON", `${source}: ${(e as Error).message}`);
    }
  } else {
    try {
      doc = parseYaml(text);
    } catch (e) {
      if (e instanceof ParseError) throw new ParseError("YAML", `${source}: ${e.message}`);
      throw e;
    }
  }
  if (!doc || typeof doc !== "object" || Array.isArray(doc)) {
    bad(source, "must be a mapping with a metrics list");
  }
  const d = doc as Record<string, unknown>;
  for (const k of Object.keys(d)) {
    if (!["hostname", "port", "root", "metrics", "scripts"].includes(k)) {
      bad(source, `unknown field "${k}" (hostname, port, root, metrics, scripts)`);
    }
  }
  if (d.port !== undefined && (!Number.isInteger(d.port) || +d.port! < 0 || +d.port! > 65535)) {
    bad(source, `port must be an integer from 0 to 65535, got ${JSON.stringify(d.port)}`);
  }
  if (d.hostname !== undefined && typeof d.hostname !== "string") {
    bad(source, `hostname must be a string`);
  }
  if (d.root !== undefined && (typeof d.root !== "string" || !d.root.startsWith("/"))) {
    bad(source, `root must be an absolute path, e.g. /host, got ${JSON.stringify(d.root)}`);
  }
  const scripts = d.scripts === undefined
    ? undefined
    : parseScripts(d.scripts, (what) => bad(source, what));
  if (d.metrics === undefined && scripts?.length) d.metrics = [];
  if (!Array.isArray(d.metrics) || (d.metrics.length === 0 && !scripts?.length)) {
    bad(source, "needs a non-empty metrics list (or scripts)");
  }
  const metrics = (d.metrics as unknown[]).map((m: unknown, i: number) => {
    if (!m || typeof m !== "object" || Array.isArray(m)) {
      bad(source, `metrics[${i}] must be a mapping (name, probe, action, …)`);
    }
    const c = m as Record<string, unknown>;
    const at = `metrics[${i}]${typeof c.name === "string" ? ` (${c.name})` : ""}`;
    for (const k of Object.keys(c)) {
      if (!FIELDS.has(k)) bad(source, `${at}: unknown field "${k}" (${[...FIELDS].join(", ")})`);
    }
    if (typeof c.name !== "string") bad(source, `${at}: needs a name`);
    if (typeof c.probe !== "string") bad(source, `${at}: needs a probe, e.g. tracepoint:CAT:NAME`);
    if (typeof c.action !== "string" || !ACTIONS.has(c.action)) {
      bad(source, `${at}: action must be one of ${[...ACTIONS].join(", ")}`);
    }
    if (c.action !== "count" && typeof c.value !== "string") {
      bad(source, `${at}: a ${c.action} needs a value expression, e.g. args.ret`);
    }
    if (c.action === "lhist") {
      for (const k of ["min", "max", "step"]) {
        if (typeof c[k] !== "number") bad(source, `${at}: an lhist needs min, max and step`);
      }
    }
    if (c.where !== undefined && typeof c.where !== "string" && !strings(c.where)) {
      bad(source, `${at}: where must be a filter or a list of filters`);
    }
    if (c.by !== undefined && typeof c.by !== "string" && !strings(c.by)) {
      bad(source, `${at}: by must be a key expression or a list of them`);
    }
    if (c.labels !== undefined && !strings(c.labels)) {
      bad(source, `${at}: labels must be a list of names`);
    }
    if (c.type !== undefined && c.type !== "counter" && c.type !== "gauge") {
      bad(source, `${at}: type must be counter or gauge`);
    }
    for (const k of ["pid", "maxSeries"]) {
      if (c[k] !== undefined && !Number.isInteger(c[k])) {
        bad(source, `${at}: ${k} must be an integer`);
      }
    }
    if (c.multiplier !== undefined && !(typeof c.multiplier === "number" && c.multiplier > 0)) {
      bad(
        source,
        `${at}: multiplier must be a positive number (0.000001: microseconds as seconds)`,
      );
    }
    if (c.comm !== undefined && typeof c.comm !== "string") {
      bad(source, `${at}: comm must be a string`);
    }
    if (c.help !== undefined && typeof c.help !== "string") {
      bad(source, `${at}: help must be a string`);
    }
    return c as unknown as ExporterMetricConfig;
  });
  return {
    hostname: d.hostname as string | undefined,
    port: d.port as number | undefined,
    root: d.root as string | undefined,
    metrics,
    ...(scripts === undefined ? {} : { scripts }),
  };
}

/** The exporter's point words, as bpftrace spells them: the IR kind and the parts after it. */
const SPEC_KINDS: Record<string, [IrPointKind, number]> = {
  tracepoint: ["tracepoint", 2],
  t: ["tracepoint", 2],
  rawtracepoint: ["raw_tracepoint", 1],
  raw_tracepoint: ["raw_tracepoint", 1],
  tp_btf: ["tp_btf", 1],
  fentry_tp: ["tp_btf", 1],
  kprobe: ["kprobe", 1],
  k: ["kprobe", 1],
  kretprobe: ["kretprobe", 1],
  uprobe: ["uprobe", 2],
  u: ["uprobe", 2],
  uretprobe: ["uretprobe", 2],
  usdt: ["usdt", 3],
  profile: ["profile", 2],
};

/**
 * A probe point from its bpftrace name (`tracepoint:raw_syscalls:sys_enter`,
 * …): the word (or its short form) and exactly its parts, read as a script's
 * point is (`pointOfIr`); profile only as `profile:hz:N`.
 */
export function parseProbePoint(spec: string): ProbePoint<unknown> {
  const [word, ...rest] = spec.split(":");
  const kind = Object.hasOwn(SPEC_KINDS, word) ? SPEC_KINDS[word] : undefined;
  const target = rest.join(":");
  if (
    kind && rest.length === kind[1] && rest.every((r) => r !== "") &&
    (kind[0] !== "profile" || /^hz:\d+$/.test(target))
  ) {
    return pointOfIr({ kind: kind[0], target });
  }
  throw new InvalidArgumentError(
    `probe ${JSON.stringify(spec)}: write it as bpftrace does: tracepoint:CAT:NAME, ` +
      `rawtracepoint:NAME, tp_btf:NAME, kprobe:FN, kretprobe:FN, uprobe:PATH:FN, ` +
      `uretprobe:PATH:FN, usdt:PATH:PROVIDER:NAME or profile:hz:N`,
  );
}

/** A label name from a key expression: `comm` → `comm`, `args.ret` → `ret`, `args.a.b` → `a_b`. */
function labelOf(expr: string): string {
  const name = expr.replace(/^args\./, "").replace(/[^a-zA-Z0-9_]/g, "_");
  return /^[0-9]/.test(name) ? `_${name}` : name;
}

type AnyAggregate = AggregateProbe<unknown, number | Histogram>;

/** A running exporter: its probes, and the handler serving them. Close it to stop the probes. */
export class Exporter implements AsyncDisposable {
  /** The `Deno.serve` handler (`/metrics`). */
  readonly handler: (request: Request) => Response;
  /** The configuration it runs. */
  readonly config: ExporterConfig;
  /**
   * The running scripts, in the order of `config.scripts` (their `maps`
   * read now; each is a `ScriptHandle` of `@denobpf/ebpf/probe`).
   */
  readonly scripts: readonly ScriptMapsSource[];
  #probes: AnyAggregate[];
  #scripts: ScriptHandle[];

  /** @internal Made by {@linkcode startExporter}. */
  constructor(
    config: ExporterConfig,
    parts: { probes: AnyAggregate[]; scripts: ScriptHandle[]; metrics: Metric[] },
  ) {
    this.config = config;
    this.#probes = parts.probes;
    this.scripts = parts.scripts;
    this.#scripts = [...parts.scripts];
    this.handler = metricsHandler(parts.metrics);
  }

  /** Stops every probe and script (detaches and closes them; scripts run END). */
  async close(): Promise<void> {
    const probes = this.#probes;
    this.#probes = [];
    for (const p of probes) await p.stop();
    for (const p of probes) p.close();
    for (const s of this.#scripts.splice(0)) await s.stop();
  }

  /** Same as {@linkcode close}. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}

/**
 * Starts the probes of `config` and makes their metrics; on a failure the
 * probes started so far are closed and the error names the metric.
 */
export async function startExporter(config: ExporterConfig): Promise<Exporter> {
  const probes: AnyAggregate[] = [];
  const scripts: ScriptHandle[] = [];
  const metrics: Metric[] = [];
  try {
    for (const [i, s] of (config.scripts ?? []).entries()) {
      const h = await startScript(s, `script ${s.name ?? `scripts[${i}]`}`, config.root);
      scripts.push(h.handle);
      metrics.push(...h.metrics);
    }
    for (const c of config.metrics) {
      const keys = c.by === undefined ? undefined : typeof c.by === "string" ? c.by : c.by;
      const where = c.where;
      const builder = probe(parseProbePoint(c.probe), {
        where,
        pid: c.pid,
        comm: c.comm,
        tracefs: config.root === undefined ? undefined : { root: config.root },
      });
      const options = { by: keys as never, name: c.name };
      let started: AnyAggregate;
      try {
        started = await (c.action === "count"
          ? builder.count(options)
          : c.action === "lhist"
          ? builder.lhist(c.value as never, {
            ...options,
            min: c.min!,
            max: c.max!,
            step: c.step!,
          })
          : builder[c.action](c.value as never, options)) as AnyAggregate;
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        throw new InvalidArgumentError(`metric ${c.name}: starting its probe failed: ${why}`, {
          cause: e,
        });
      }
      probes.push(started);
      const parts = keys === undefined ? [] : Array.isArray(keys) ? keys : [keys];
      metrics.push(probeMetric(started, {
        name: c.name,
        help: c.help,
        labels: c.labels ?? (parts.length ? parts.map(labelOf) : undefined),
        type: c.type,
        maxSeries: c.maxSeries,
        multiplier: c.multiplier,
      }));
    }
  } catch (e) {
    for (const p of probes) p.close();
    for (const s of scripts) s.close();
    throw e;
  }
  return new Exporter(config, { probes, scripts, metrics });
}

/** Compiles (bpftrace) and starts one script, and makes the metrics of its maps. */
async function startScript(
  s: ExporterScriptConfig,
  what: string,
  root: string | undefined,
): Promise<{ handle: ScriptHandle; metrics: Metric[] }> {
  let ir = s.ir as ScriptIr | undefined;
  if (ir === undefined) {
    const { compileBpftrace, BpftraceError } = await import("../bpftrace/mod.ts");
    try {
      ir = compileBpftrace(s.bpftrace!, { file: s.name ?? "stdin", params: s.params });
    } catch (e) {
      if (!(e instanceof BpftraceError)) throw e;
      throw new InvalidArgumentError(
        `${what}: the bpftrace program does not compile:\n${e.report}`,
        {
          cause: e,
        },
      );
    }
  }
  const kinds = mapKinds(ir);
  const made = s.metrics.map((m) => {
    const k = metricKind(kinds, m.map);
    if (k.why !== undefined) throw new InvalidArgumentError(`${what}: metric ${m.name}: ${k.why}`);
    return { m, kind: k.kind };
  });
  const { runScript } = await import("../probe/run_script.ts");
  let handle: ScriptHandle;
  try {
    handle = await runScript(ir, {
      printMaps: false,
      tracefs: root === undefined ? undefined : { root },
    });
  } catch (e) {
    const why = e instanceof Error ? e.message : String(e);
    throw new InvalidArgumentError(`${what}: starting it failed: ${why}`, { cause: e });
  }
  try {
    return {
      handle,
      metrics: made.map(({ m, kind }) =>
        scriptMetric(handle, {
          map: m.map,
          kind,
          name: m.name,
          help: m.help,
          labels: m.labels,
          type: m.type,
          maxSeries: m.maxSeries,
          multiplier: m.multiplier,
        })
      ),
    };
  } catch (e) {
    handle.close();
    throw e;
  }
}

/** Options of {@linkcode serveExporter}. */
export interface ServeExporterOptions {
  /** Overrides the configuration's port. */
  port?: number;
  /** Overrides the configuration's hostname. */
  hostname?: string;
  /** Overrides the configuration's root (where the host's file systems are). */
  root?: string;
  /** Stops serving when it aborts (give `interrupted()` for Ctrl-C and SIGTERM). */
  signal?: AbortSignal;
  /** Called once listening, with the address. */
  onListen?: (addr: Deno.NetAddr) => void;
}

/**
 * Starts the exporter of `config`, serves `/metrics` until `signal`
 * aborts, then stops the server and the probes.
 */
export async function serveExporter(
  config: ExporterConfig,
  options: ServeExporterOptions = {},
): Promise<void> {
  await using exporter = await startExporter(
    options.root === undefined ? config : { ...config, root: options.root },
  );
  const server = Deno.serve({
    hostname: options.hostname ?? config.hostname ?? "127.0.0.1",
    port: options.port ?? config.port ?? 9435,
    signal: options.signal,
    onListen: (addr) => options.onListen?.(addr as Deno.NetAddr),
  }, exporter.handler);
  await server.finished;
}
