// The `scripts:` part of an exporter configuration: programs whose probes
// share state (a bpftrace text compiled by @denobpf/ebpf/bpftrace, or the
// probe IR itself), and which of their maps become metrics.

import type { IrAggregation, IrStmt, ScriptIr } from "../probe/ir.ts";
import type { ScriptMapKind } from "./metric.ts";

/** One metric of an exporter script: a map of the script and how it is exposed. */
export interface ExporterScriptMetricConfig {
  /** The map, as the script names it (`"@usecs"`). */
  map: string;
  /** The metric name, e.g. `runqueue_latency_microseconds`. */
  name: string;
  /** The `# HELP` text. */
  help?: string;
  /** One label name per key part (default `key`, or `key1`, `key2`… for tuples). */
  labels?: string[];
  /** A count/sum is a `counter` by default, plain values a `gauge`. */
  type?: "counter" | "gauge";
  /** At most this many series per scrape. */
  maxSeries?: number;
  /** Multiplies bucket bounds, sums and values: `0.000001` exposes microseconds as seconds. */
  multiplier?: number;
}

/**
 * A script of an exporter configuration: probes sharing maps (wakeup
 * times kept by one probe, read by another), given as a bpftrace program
 * or as the probe IR, and the maps that become metrics.
 */
export interface ExporterScriptConfig {
  /** A name for messages (default `scripts[N]`). */
  name?: string;
  /** A bpftrace program (as bpftrace 0.17 reads it). */
  bpftrace?: string;
  /**
   * The program as probe IR (a `ScriptIr` of `@denobpf/ebpf/probe`, checked
   * when the script starts); in JSON, an integer literal's `value` may be a
   * number or a decimal string.
   */
  ir?: { readonly probes: readonly object[] };
  /** The bpftrace program's positional parameters (`$1`, `$2`…). */
  params?: string[];
  /** The maps exposed, each as one metric. */
  metrics: ExporterScriptMetricConfig[];
}

const SCRIPT_FIELDS = ["name", "bpftrace", "ir", "params", "metrics"];
const METRIC_FIELDS = ["map", "name", "help", "labels", "type", "maxSeries", "multiplier"];

function isObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v);
}

/** The IR as JSON or YAML give it: integer literals' values made bigints. */
function irFromDoc(v: unknown, at: string, bad: (what: string) => never): unknown {
  if (Array.isArray(v)) return v.map((x) => irFromDoc(x, at, bad));
  if (!isObject(v)) return v;
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = irFromDoc(x, at, bad);
  if (v.op === "int") {
    const value = v.value;
    if (typeof value === "string" ? !/^-?\d+$/.test(value) : !Number.isSafeInteger(value)) {
      bad(`${at}: an int literal's value must be an integer, got ${JSON.stringify(value)}`);
    }
    out.value = BigInt(value as string | number);
  }
  return out;
}

/**
 * Checks the `scripts:` list of a configuration; `bad` throws naming the
 * file. The IR is checked further when the script starts.
 */
export function parseScripts(v: unknown, bad: (what: string) => never): ExporterScriptConfig[] {
  if (!Array.isArray(v)) bad("scripts must be a list of { bpftrace or ir, metrics }");
  return v.map((s: unknown, i: number) => {
    if (!isObject(s)) bad(`scripts[${i}] must be a mapping (name, bpftrace or ir, metrics)`);
    const at = `scripts[${i}]${typeof s.name === "string" ? ` (${s.name})` : ""}`;
    for (const k of Object.keys(s)) {
      if (!SCRIPT_FIELDS.includes(k)) {
        bad(`${at}: unknown field "${k}" (${SCRIPT_FIELDS.join(", ")})`);
      }
    }
    if (s.name !== undefined && typeof s.name !== "string") bad(`${at}: name must be a string`);
    if ((s.bpftrace === undefined) === (s.ir === undefined)) {
      bad(`${at}: give either a bpftrace program (bpftrace: |) or the probe IR (ir:)`);
    }
    if (s.bpftrace !== undefined && typeof s.bpftrace !== "string") {
      bad(`${at}: bpftrace must be the program's text (a block string: "bpftrace: |")`);
    }
    if (s.ir !== undefined && !(isObject(s.ir) && Array.isArray(s.ir.probes))) {
      bad(`${at}: ir must be a probe IR script: { probes: [{ points, body }, …] }`);
    }
    if (
      s.params !== undefined &&
      !(Array.isArray(s.params) && s.params.every((p) => ["string", "number"].includes(typeof p)))
    ) {
      bad(`${at}: params must be a list of strings or numbers ($1, $2, …)`);
    }
    if (!Array.isArray(s.metrics) || s.metrics.length === 0) {
      bad(`${at}: needs a non-empty metrics list (map, name, …)`);
    }
    const metrics = s.metrics.map((m: unknown, j: number) => {
      if (!isObject(m)) bad(`${at}: metrics[${j}] must be a mapping (map, name, …)`);
      const mat = `${at}: metrics[${j}]${typeof m.name === "string" ? ` (${m.name})` : ""}`;
      for (const k of Object.keys(m)) {
        if (!METRIC_FIELDS.includes(k)) {
          bad(`${mat}: unknown field "${k}" (${METRIC_FIELDS.join(", ")})`);
        }
      }
      if (typeof m.map !== "string" || !m.map.startsWith("@")) {
        bad(`${mat}: needs the map it exposes, e.g. map: "@usecs" (quoted: @ starts no YAML)`);
      }
      if (typeof m.name !== "string") bad(`${mat}: needs a name`);
      if (m.help !== undefined && typeof m.help !== "string") bad(`${mat}: help must be a string`);
      if (
        m.labels !== undefined &&
        !(Array.isArray(m.labels) && m.labels.every((l) => typeof l === "string"))
      ) {
        bad(`${mat}: labels must be a list of names`);
      }
      if (m.type !== undefined && m.type !== "counter" && m.type !== "gauge") {
        bad(`${mat}: type must be counter or gauge`);
      }
      if (m.maxSeries !== undefined && !Number.isInteger(m.maxSeries)) {
        bad(`${mat}: maxSeries must be an integer`);
      }
      if (m.multiplier !== undefined && !(typeof m.multiplier === "number" && m.multiplier > 0)) {
        bad(`${mat}: multiplier must be a positive number (0.000001: microseconds as seconds)`);
      }
      return m as unknown as ExporterScriptMetricConfig;
    });
    return {
      ...(s.name === undefined ? {} : { name: s.name as string }),
      ...(s.bpftrace === undefined ? {} : { bpftrace: s.bpftrace as string }),
      ...(s.ir === undefined ? {} : { ir: irFromDoc(s.ir, `${at}: ir`, bad) as ScriptIr }),
      ...(s.params === undefined ? {} : { params: (s.params as unknown[]).map(String) }),
      metrics,
    };
  });
}

/** What each map of a script holds: its aggregation, or plain values; by map name. */
export function mapKinds(ir: ScriptIr): Map<string, IrAggregation | "value"> {
  const kinds = new Map<string, IrAggregation | "value">();
  const walk = (body: readonly IrStmt[]): void => {
    for (const s of body) {
      switch (s.op) {
        case "aggregate":
          kinds.set(s.map, s.fn);
          break;
        case "map_set":
        case "map_update":
          if (!kinds.has(s.map)) kinds.set(s.map, "value");
          break;
        case "if":
          walk(s.then);
          walk(s.else ?? []);
          break;
        case "unroll":
          walk(s.body);
          break;
      }
    }
  };
  for (const p of ir.probes) walk(p.body);
  return kinds;
}

/** The kind a metric of map `map` reads, or why it cannot be one. */
export function metricKind(
  kinds: ReadonlyMap<string, IrAggregation | "value">,
  map: string,
): { kind: ScriptMapKind; why?: undefined } | { why: string } {
  const kind = kinds.get(map);
  if (kind === undefined) {
    const known = [...kinds.keys()].join(", ") || "none";
    return { why: `the script writes no map ${map} (its maps: ${known})` };
  }
  if (kind === "stats") {
    return {
      why: `${map} is a stats() map (three values): keep count() and sum() in two maps instead`,
    };
  }
  return { kind };
}
