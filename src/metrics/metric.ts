/**
 * Metrics from scripted probes and from BPF maps: {@linkcode probeMetric}
 * turns a running aggregation (`count`/`sum` by key, `hist`, `lhist`,
 * `avg`/`min`/`max`) into a counter, gauge or histogram with one label per
 * key part; {@linkcode mapMetric} reads any map with a key decoder, the way
 * ebpf_exporter does (one batch walk per scrape, per-CPU values summed).
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { SyscallError } from "../sys/error.ts";
import { ENOSPC } from "../sys/errno.ts";
import { ascii, type ExpositionWriter } from "./writer.ts";

/** A metric family's type. */
export type MetricType = "counter" | "gauge" | "histogram";

/** The two exposition formats: Prometheus text 0.0.4 and OpenMetrics 1.0. */
export type ExpositionFormat = "prometheus" | "openmetrics";

/** The default cap on series per metric. */
export const DEFAULT_MAX_SERIES = 10_000;

/**
 * One metric family, ready to be written by {@linkcode metricsHandler}: the
 * handler writes its `# HELP`/`# TYPE` lines, then calls `write` for the
 * samples. Made by {@linkcode probeMetric} and {@linkcode mapMetric}.
 */
export interface Metric {
  /** The family name (a counter's without `_total`). */
  readonly name: string;
  /** The `# HELP` text. */
  readonly help: string;
  /** Counter, gauge or histogram. */
  readonly type: MetricType;
  /** At most this many series are written per scrape; the rest are counted as dropped. */
  readonly maxSeries: number;
  /**
   * Writes the samples (one line each, `name{labels} value\n`) and returns
   * how many series it left out because of `maxSeries`.
   */
  write(out: ExpositionWriter, format: ExpositionFormat): number;
}

/** Options shared by {@linkcode probeMetric} and {@linkcode mapMetric}. */
export interface MetricOptions {
  /** The metric name (`[a-zA-Z_:][a-zA-Z0-9_:]*`); a counter's `_total` is added when missing. */
  name: string;
  /** The `# HELP` text (default: says where the values come from). */
  help?: string;
  /** At most this many series per scrape (default 10,000); the rest are counted as dropped. */
  maxSeries?: number;
}

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*$/;
const LABEL_NAME = /^[a-zA-Z_][a-zA-Z0-9_]*$/;

function familyName(name: string, type: MetricType): string {
  if (typeof name !== "string" || !METRIC_NAME.test(name)) {
    throw new InvalidArgumentError(
      `metric name ${JSON.stringify(name)} is not a Prometheus metric name: use letters, ` +
        `digits, "_" and ":", not starting with a digit (e.g. "syscalls_total")`,
    );
  }
  return type === "counter" && name.endsWith("_total") ? name.slice(0, -6) : name;
}

function checkLabels(metric: string, names: readonly string[], type: MetricType): void {
  const seen = new Set<string>();
  for (const n of names) {
    if (typeof n !== "string" || !LABEL_NAME.test(n) || n.startsWith("__")) {
      throw new InvalidArgumentError(
        `metric ${metric}: label name ${JSON.stringify(n)} is not a Prometheus label name: ` +
          `use letters, digits and "_", not starting with a digit or "__" (e.g. "comm")`,
      );
    }
    if (type === "histogram" && n === "le") {
      throw new InvalidArgumentError(
        `metric ${metric}: "le" is the bucket label of a histogram; name the key part otherwise`,
      );
    }
    if (seen.has(n)) {
      throw new InvalidArgumentError(`metric ${metric}: label "${n}" is named twice`);
    }
    seen.add(n);
  }
}

function checkMax(metric: string, max: number | undefined): number {
  if (max === undefined) return DEFAULT_MAX_SERIES;
  if (!Number.isSafeInteger(max) || max < 0) {
    throw new InvalidArgumentError(
      `metric ${metric}: maxSeries must be a non-negative integer, got ${max}`,
    );
  }
  return max;
}

/**
 * The constant bytes of a label set: `{a="`, `",b="`, … and the closing
 * `"}`; with `le` for histogram buckets.
 */
class LabelBytes {
  readonly open: Uint8Array[];
  readonly close: Uint8Array;
  readonly le: Uint8Array;
  constructor(names: readonly string[]) {
    this.open = names.map((n, i) => ascii(`${i === 0 ? "{" : '",'}${n}="`));
    this.close = ascii(names.length ? '"}' : "");
    this.le = ascii(names.length ? '",le="' : '{le="');
  }
}

/** Sample-name bytes of a family, by format. */
class SampleNames {
  readonly value: Uint8Array;
  readonly bucket: Uint8Array;
  readonly sum: Uint8Array;
  readonly count: Uint8Array;
  constructor(name: string, type: MetricType) {
    this.value = ascii(type === "counter" ? `${name}_total` : name);
    this.bucket = ascii(`${name}_bucket`);
    this.sum = ascii(`${name}_sum`);
    this.count = ascii(`${name}_count`);
  }
}

const SPACE = 0x20;
const NL = 0x0a;
const CLOSE_INF = ascii('+Inf"} ');
const QUOTE_CLOSE = ascii('"} ');

// ---- scripted probes ----

/** One bucket of a probe histogram: values from `low` (inclusive) to `high` (exclusive). */
export interface HistogramBucketLike {
  /** Lowest value (`-Infinity` for the below-range bucket). */
  readonly low: number;
  /** First value past the bucket (`Infinity` for the above-range bucket). */
  readonly high: number;
  /** Values counted in it. */
  readonly count: number;
}

/** A probe histogram: its buckets, lowest first, and the number of values. */
export interface HistogramLike {
  /** The buckets, lowest first. */
  readonly buckets: readonly HistogramBucketLike[];
  /** Values counted. */
  readonly total: number;
}

/**
 * What {@linkcode probeMetric} reads: a running aggregation of
 * `@denobpf/ebpf/probe` (an `AggregateProbe`), or anything with the same
 * `kind` and `read()`.
 */
export interface AggregateSource {
  /**
   * `"count"`, `"sum"`, `"min"`, `"max"`, `"avg"`, `"hist"` or `"lhist"`;
   * `"value"` for plain integers (a script's `@m[k] = v`).
   */
  readonly kind: string;
  /** Where it probes, for the default help text. */
  readonly point?: string;
  /** The current values by key (`null`, one value, or a tuple of values). */
  read(): ReadonlyMap<unknown, number | bigint | HistogramLike>;
}

/** Options of {@linkcode probeMetric}. */
export interface ProbeMetricOptions extends MetricOptions {
  /**
   * One label name per key part, e.g. `["comm"]` for `by: "comm"` or
   * `["comm", "pid"]` for `by: ["comm", "pid"]`. Default: `key` for one
   * part, `key1`, `key2`, … for tuples.
   */
  labels?: readonly string[];
  /**
   * The metric type of a `count`/`sum` (default `"counter"`; a `sum` of
   * values that can be negative is better a `"gauge"`). `avg`/`min`/`max`
   * are always gauges and `hist`/`lhist` histograms.
   */
  type?: "counter" | "gauge";
  /**
   * Multiplies what was measured (bucket bounds `le`, `_sum`, and the
   * values of every kind but `count`; never counts of values): e.g.
   * `0.000001` to expose a histogram of microseconds in seconds, the unit
   * Prometheus names (ebpf_exporter's `bucket_multiplier`). Default 1.
   */
  multiplier?: number;
}

/** `v × m`, as a division when `m` is 1/N (7 µs × 0.000001 is 0.000007 s, not 6.999…e-6). */
function scaler(m: number | undefined, name: string): ((v: number) => number) | undefined {
  if (m === undefined || m === 1) return undefined;
  if (typeof m !== "number" || !Number.isFinite(m) || m <= 0) {
    throw new InvalidArgumentError(
      `metric ${name}: multiplier must be a positive number (e.g. 0.000001), got ${m}`,
    );
  }
  const d = Math.round(1 / m);
  return m < 1 && Math.abs(1 / m - d) < 1e-9 * d ? (v) => v / d : (v) => v * m;
}

function probeType(kind: string, type: "counter" | "gauge" | undefined, name: string): MetricType {
  switch (kind) {
    case "count":
    case "sum":
      return type ?? "counter";
    case "avg":
    case "min":
    case "max":
      if (type === "counter") {
        throw new InvalidArgumentError(
          `metric ${name}: an ${kind} aggregation is a gauge (it can go down), not a counter`,
        );
      }
      return "gauge";
    case "value":
      return type ?? "gauge";
    case "hist":
    case "lhist":
      return "histogram";
    default:
      throw new InvalidArgumentError(
        `metric ${name}: ${JSON.stringify(kind)} is not an aggregation this exporter knows ` +
          `(count, sum, min, max, avg, hist, lhist, or plain values); emit() probes stream ` +
          `events, they have no value; a stats() map is three values: keep count() and sum() ` +
          `in two maps instead`,
      );
  }
}

class ProbeMetric implements Metric {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly maxSeries: number;
  #source: AggregateSource;
  #names: readonly string[] | undefined;
  #labels: LabelBytes | undefined;
  #samples: SampleNames;
  #scale: ((v: number) => number) | undefined;

  constructor(source: AggregateSource, options: ProbeMetricOptions) {
    const given = options?.name;
    const type = probeType(source?.kind, options?.type, String(given));
    this.type = type;
    this.name = familyName(given, type);
    this.maxSeries = checkMax(this.name, options.maxSeries);
    if (options.labels !== undefined) {
      checkLabels(this.name, options.labels, type);
      this.#names = [...options.labels];
      this.#labels = new LabelBytes(this.#names);
    }
    this.help = options.help ??
      `${source.kind} of probe ${source.point ?? "(scripted probe)"}`;
    this.#source = source;
    this.#samples = new SampleNames(this.name, type);
    this.#scale = scaler(options.multiplier, this.name);
  }

  #labelsFor(parts: number): LabelBytes {
    if (this.#labels === undefined) {
      const names = parts === 1 ? ["key"] : Array.from({ length: parts }, (_, i) => `key${i + 1}`);
      this.#names = names;
      this.#labels = new LabelBytes(names);
    }
    if (this.#names!.length !== parts) {
      throw new InvalidArgumentError(
        `metric ${this.name}: the probe's keys have ${parts} part(s) but labels names ` +
          `${this.#names!.length} (${
            JSON.stringify(this.#names)
          }): give one label name per key part`,
      );
    }
    return this.#labels;
  }

  #writeLabels(out: ExpositionWriter, key: unknown, labels: LabelBytes): void {
    if (key === null || key === undefined) return;
    if (Array.isArray(key)) {
      for (let i = 0; i < key.length; i++) {
        out.bytes(labels.open[i]);
        writePart(out, key[i]);
      }
    } else {
      out.bytes(labels.open[0]);
      writePart(out, key);
    }
  }

  write(out: ExpositionWriter): number {
    const source = this.#source;
    const entries = source.read();
    // read() is sorted smallest first: past the cap, leave out the smallest.
    const skip = Math.max(0, entries.size - this.maxSeries);
    let i = 0;
    for (const [key, value] of entries) {
      if (i++ < skip) continue;
      const parts = key === null || key === undefined ? 0 : Array.isArray(key) ? key.length : 1;
      const labels = this.#labelsFor(parts);
      if (typeof value === "number" || typeof value === "bigint") {
        out.bytes(this.#samples.value);
        this.#writeLabels(out, key, labels);
        const v = Number(value);
        endSample(out, labels.close, this.#scale && source.kind !== "count" ? this.#scale(v) : v);
      } else if (value !== null && typeof value === "object" && "buckets" in value) {
        this.#writeHistogram(out, key, labels, value);
      } else {
        throw new InvalidArgumentError(
          `metric ${this.name}: a value of ${this.#source.point ?? "the probe"} is ` +
            `${typeof value === "string" ? "a string" : JSON.stringify(value)}, not a number ` +
            `or a histogram: only integers and aggregations become samples`,
        );
      }
    }
    return skip;
  }

  #writeHistogram(
    out: ExpositionWriter,
    key: unknown,
    labels: LabelBytes,
    h: HistogramLike,
  ): void {
    const s = this.#samples;
    let cumulative = 0;
    let sum = 0;
    let negative = false;
    for (let b = 0; b < h.buckets.length; b++) {
      const bucket = h.buckets[b];
      cumulative += bucket.count;
      if (bucket.count > 0) {
        if (bucket.low < 0) negative = true;
        sum += bucket.count * (bucket.high === Infinity ? bucket.low : bucket.high - 1);
      }
      if (bucket.high === Infinity) continue;
      out.bytes(s.bucket);
      this.#writeLabels(out, key, labels);
      out.bytes(labels.le);
      // Values are integers: [low, high) holds low … high − 1.
      out.number(this.#scale ? this.#scale(bucket.high - 1) : bucket.high - 1);
      out.bytes(QUOTE_CLOSE);
      out.number(cumulative);
      out.byte(NL);
    }
    out.bytes(s.bucket);
    this.#writeLabels(out, key, labels);
    out.bytes(labels.le);
    out.bytes(CLOSE_INF);
    out.number(h.total);
    out.byte(NL);
    if (!negative) {
      out.bytes(s.sum);
      this.#writeLabels(out, key, labels);
      endSample(out, labels.close, this.#scale ? this.#scale(sum) : sum);
    }
    out.bytes(s.count);
    this.#writeLabels(out, key, labels);
    endSample(out, labels.close, h.total);
  }
}

/** Ends a sample line after its labels: `}` (or nothing), a space, the value, a newline. */
function endSample(out: ExpositionWriter, close: Uint8Array, value: number): void {
  out.bytes(close);
  out.byte(SPACE);
  out.number(value);
  out.byte(NL);
}

function writePart(out: ExpositionWriter, part: unknown): void {
  if (typeof part === "string") out.text(part, true);
  else if (typeof part === "number") out.number(part);
  else out.text(Array.isArray(part) ? part.join(";") : String(part), true);
}

/**
 * A metric from a scripted probe's aggregation: `count`/`sum` become a
 * counter (or a gauge, with `type: "gauge"`), `avg`/`min`/`max` gauges,
 * `hist`/`lhist` a Prometheus histogram whose `le` is each bucket's
 * largest value (values are integers: bpftrace's `[4, 8)` is `le="7"`),
 * with cumulative `_bucket` counts, `_count`, and an estimated `_sum`
 * (each value counted at its bucket's largest value, as ebpf_exporter
 * does; left out when negative values were seen). Each key part is a
 * label. Past `maxSeries`, the smallest series are left out and counted.
 *
 * @example
 * ```ts ignore
 * const calls = await probe(tracepoint("raw_syscalls:sys_enter")).count({ by: "comm" });
 * Deno.serve(metricsHandler([probeMetric(calls, { name: "syscalls_total", labels: ["comm"] })]));
 * ```
 */
export function probeMetric(source: AggregateSource, options: ProbeMetricOptions): Metric {
  if (!source || typeof source.read !== "function") {
    throw new InvalidArgumentError(
      `probeMetric: give a running aggregation (what probe(…).count(), .hist(), … return), ` +
        `got ${source === null ? "null" : typeof source}`,
    );
  }
  if (!options || typeof options !== "object") {
    throw new InvalidArgumentError(`probeMetric: give options with at least a name`);
  }
  return new ProbeMetric(source, options);
}

// ---- scripts ----

/**
 * What a script's map holds, as {@linkcode scriptMetric} exposes it: an
 * aggregation, or `"value"`: plain integers (`@m[k] = v`, `@m[k] += v`).
 */
export type ScriptMapKind = "count" | "sum" | "min" | "max" | "avg" | "hist" | "lhist" | "value";

/**
 * What {@linkcode scriptMetric} reads: a running script of
 * `@denobpf/ebpf/probe` or `@denobpf/ebpf/bpftrace` (the handle `runScript`,
 * `script(…).start()` and `bpftrace()` give): its maps by name, each read
 * when asked.
 */
export interface ScriptMapsSource {
  /** Each map's entries now, by name (`"@usecs"`). */
  readonly maps: Readonly<Record<string, ReadonlyMap<unknown, unknown>>>;
}

/** Options of {@linkcode scriptMetric}. */
export interface ScriptMetricOptions extends Omit<ProbeMetricOptions, "type"> {
  /** The map, as the script names it (`"@usecs"`). */
  map: string;
  /** What the map holds (its aggregation, or `"value"`). */
  kind: ScriptMapKind;
  /**
   * The metric type of a `count`/`sum` (default counter) or of plain
   * values (default gauge).
   */
  type?: "counter" | "gauge";
}

type ScriptDatum = number | bigint | HistogramLike;
const EMPTY: ReadonlyMap<unknown, ScriptDatum> = new Map<unknown, ScriptDatum>();

/** What ranks a series for the cap: its value, or a histogram's count. */
function size(v: ScriptDatum): number {
  return typeof v === "object" ? v?.total ?? 0 : Number(v);
}
// The maps of a script read once per scrape: the handler writes every metric
// in one synchronous pass, and the snapshot is dropped right after it.
const snapshots = new WeakMap<ScriptMapsSource, ScriptMapsSource["maps"]>();

function mapsNow(script: ScriptMapsSource): ScriptMapsSource["maps"] {
  let maps = snapshots.get(script);
  if (maps === undefined) {
    maps = script.maps;
    snapshots.set(script, maps);
    queueMicrotask(() => snapshots.delete(script));
  }
  return maps;
}

/**
 * A metric from one map of a running script (state shared between probes,
 * as bpftrace's runqlat keeps wakeup times in one map and histograms
 * latencies in another): `hist`/`lhist` maps become Prometheus
 * histograms, `count`/`sum` counters, `avg`/`min`/`max` and plain values
 * gauges, each key part a label, as {@linkcode probeMetric} writes them.
 * Every metric of one script reads the script's maps once per scrape.
 *
 * @example
 * ```ts ignore
 * const h = await bpftrace(`tracepoint:sched:sched_wakeup { @wakeups[comm] = count(); }`);
 * Deno.serve(metricsHandler([
 *   scriptMetric(h, { map: "@wakeups", kind: "count", name: "wakeups_total", labels: ["comm"] }),
 * ]));
 * ```
 */
export function scriptMetric(script: ScriptMapsSource, options: ScriptMetricOptions): Metric {
  if (!script || typeof script !== "object" || !("maps" in script)) {
    throw new InvalidArgumentError(
      `scriptMetric: give a running script (what runScript, script(…).start() or bpftrace() ` +
        `return), got ${script === null ? "null" : typeof script}`,
    );
  }
  if (!options || typeof options !== "object" || typeof options.map !== "string") {
    throw new InvalidArgumentError(`scriptMetric: give options with a map ("@name") and a name`);
  }
  const { map, kind } = options;
  const max = options.maxSeries ?? DEFAULT_MAX_SERIES;
  const source: AggregateSource = {
    kind,
    point: `the script's map ${map}`,
    read: () => {
      const entries = (mapsNow(script)[map] ?? EMPTY) as ReadonlyMap<unknown, ScriptDatum>;
      // Past the cap, probeMetric leaves out the first ones: make them the smallest.
      return entries.size > max
        ? new Map([...entries].sort((a, b) => size(a[1]) - size(b[1])))
        : entries;
    },
  };
  return new ProbeMetric(source, {
    ...options,
    help: options.help ?? `${kind === "value" ? "values" : kind} of the script's map ${map}`,
  });
}

// ---- maps ----

/** The batch cursor of a {@linkcode BatchReadable} map (a `BpfMap`'s `MapBatchCursor`). */
export interface BatchCursorLike {
  /** Elements per batch. */
  readonly batchSize: number;
  /** The keys of the last batch. */
  readonly keys: Uint8Array;
  /** The values of the last batch. */
  readonly values: Uint8Array;
  /** True once the last batch was read. */
  readonly done: boolean;
  /** Starts over from the beginning of the map. */
  reset(): void;
}

/**
 * What {@linkcode mapMetric} reads: a `BpfMap` of `@denobpf/ebpf/map` (or
 * anything with its sizes and batch lookups).
 */
export interface BatchReadable<C extends BatchCursorLike = BatchCursorLike> {
  /** Key size in bytes. */
  readonly keySize: number;
  /** Value size in bytes (per CPU for per-CPU maps). */
  readonly valueSize: number;
  /** Bytes of a value in a batch: per-CPU maps hold one 8-byte-aligned value per CPU. */
  readonly valueBufferSize: number;
  /** Maximum entries. */
  readonly maxEntries: number;
  /** True for per-CPU maps. */
  readonly perCpu: boolean;
  /** Value slots of a per-CPU map. */
  readonly cpus: number;
  /** The map for messages, e.g. `"hash map calls"`. */
  readonly label: string;
  /** A cursor with room for `batchSize` elements. */
  batchCursor(options: { batchSize?: number }): C;
  /** Reads the next batch at `cursor`; returns how many elements it holds. */
  lookupBatch(cursor: C): number;
}

/** Integer layouts of map keys and values, little-endian as the kernel stores them. */
export type IntType = "u8" | "u16" | "u32" | "u64" | "i8" | "i16" | "i32" | "i64";

const INT_SIZE: Record<IntType, number> = {
  u8: 1,
  i8: 1,
  u16: 2,
  i16: 2,
  u32: 4,
  i32: 4,
  u64: 8,
  i64: 8,
};

/**
 * One label of a map metric, decoded from the key bytes at `offset`
 * (default: right after the previous label, aligned to its size, as in a C
 * struct): an integer, a NUL-terminated string of `size` bytes (`comm`), an
 * integer looked up in `values` (ebpf_exporter's static_map), or your own
 * `decode`.
 */
export type MapLabel =
  & {
    /** The label name. */
    name: string;
    /** Byte offset in the key. */
    offset?: number;
  }
  & (
    | {
      /** An integer of this layout. */
      type: IntType;
      /** Names of known values; others are written as numbers. */
      values?: Readonly<Record<number, string>>;
    }
    | {
      /** A C string. */
      type: "string";
      /** Its size in the key, in bytes. */
      size: number;
    }
    | {
      /** Decodes the label value from the key (allocates: prefer the built-in types). */
      decode: (key: DataView, offset: number) => string | number;
      /** Bytes it reads (for the default offset of the next label). */
      size: number;
    }
  );

/** Options of {@linkcode mapMetric}. */
export interface MapMetricOptions extends MetricOptions {
  /** `"counter"` (default) or `"gauge"`. */
  type?: "counter" | "gauge";
  /** The labels, decoded from each key. None: the map has one series per key, all alike. */
  labels: readonly MapLabel[];
  /**
   * The value: an integer of this layout at `offset` (default the whole
   * value: u8, u16, u32 or u64 by the map's value size). Per-CPU maps' values
   * are summed over the CPUs.
   */
  value?: { type?: IntType; offset?: number };
  /** Elements per batch lookup (default: the map's max entries, at most 4096). */
  batchSize?: number;
  /**
   * The value is a histogram (the metric's type is then `"histogram"`):
   * `slots` counters as libbpf-tools' `struct hist { u32 slots[N]; }`.
   */
  histogram?: MapHistogram;
}

/**
 * A histogram held in a map value as consecutive counters, one per bucket
 * (libbpf-tools' layout). `"log2"`: slot 0 holds 0 and 1, slot i values
 * from 2^i to 2^(i+1) − 1 (libbpf-tools' `bpf_log2l`), so slot i is
 * `le="2^(i+1) − 1"`; `{ min, step }`: slot i holds `min + i·step` to
 * `min + (i+1)·step − 1`. The last slot also holds every larger value (the
 * BPF side clamps to it), so it counts only in `le="+Inf"`.
 */
export interface MapHistogram {
  /** Number of slots. */
  slots: number;
  /** The counters' layout (default `"u32"`). */
  type?: IntType;
  /** Byte offset of slot 0 in the value (default 0). */
  offset?: number;
  /** How slots map to values (default `"log2"`). */
  buckets?: "log2" | { min: number; step: number };
}

/** Reads an integer at `off` of `view` as a number (64-bit ones without a BigInt). */
function readInt(view: DataView, off: number, type: IntType): number {
  switch (type) {
    case "u8":
      return view.getUint8(off);
    case "i8":
      return view.getInt8(off);
    case "u16":
      return view.getUint16(off, true);
    case "i16":
      return view.getInt16(off, true);
    case "u32":
      return view.getUint32(off, true);
    case "i32":
      return view.getInt32(off, true);
    case "u64":
      return view.getUint32(off + 4, true) * 4294967296 + view.getUint32(off, true);
    case "i64":
      return view.getInt32(off + 4, true) * 4294967296 + view.getUint32(off, true);
  }
}

interface LabelPlan {
  offset: number;
  size: number;
  type?: IntType | "string";
  values?: Readonly<Record<number, string>>;
  decode?: (key: DataView, offset: number) => string | number;
}

function planLabels(name: string, map: BatchReadable, labels: readonly MapLabel[]): LabelPlan[] {
  if (!Array.isArray(labels)) {
    throw new InvalidArgumentError(
      `metric ${name}: labels must be a list of { name, type, … } decoding ${map.label}'s keys ` +
        `(an empty list for none)`,
    );
  }
  let at = 0;
  return labels.map((l) => {
    let plan: LabelPlan;
    if ("decode" in l && typeof l.decode === "function") {
      plan = { offset: 0, size: l.size, decode: l.decode };
    } else if ("type" in l && l.type === "string") {
      plan = { offset: 0, size: l.size, type: "string" };
    } else if ("type" in l && typeof l.type === "string" && l.type in INT_SIZE) {
      const t = l.type as IntType;
      plan = { offset: 0, size: INT_SIZE[t], type: t, values: l.values };
    } else {
      throw new InvalidArgumentError(
        `metric ${name}: label ${JSON.stringify(l?.name)} needs a type (u8 … i64, or "string" ` +
          `with a size) or a decode function with a size`,
      );
    }
    if (!Number.isSafeInteger(plan.size) || plan.size <= 0) {
      throw new InvalidArgumentError(
        `metric ${name}: label "${l.name}" needs a positive byte size, got ${plan.size}`,
      );
    }
    const align = plan.type && plan.type !== "string" ? plan.size : 1;
    plan.offset = l.offset ?? Math.ceil(at / align) * align;
    if (!Number.isSafeInteger(plan.offset) || plan.offset < 0) {
      throw new InvalidArgumentError(
        `metric ${name}: label "${l.name}" offset must be a non-negative integer, got ${plan.offset}`,
      );
    }
    if (plan.offset + plan.size > map.keySize) {
      throw new InvalidArgumentError(
        `metric ${name}: label "${l.name}" reads bytes ${plan.offset}…${plan.offset + plan.size} ` +
          `but ${map.label} has ${map.keySize}-byte keys: fix its offset, size or type`,
      );
    }
    at = plan.offset + plan.size;
    return plan;
  });
}

const DEFAULT_VALUE: Record<number, IntType> = { 1: "u8", 2: "u16", 4: "u32", 8: "u64" };

class MapMetric implements Metric {
  readonly name: string;
  readonly help: string;
  readonly type: MetricType;
  readonly maxSeries: number;
  #map: BatchReadable;
  #plans: LabelPlan[];
  #labels: LabelBytes;
  #samples: SampleNames;
  #valueType: IntType;
  #valueOffset: number;
  #stride: number;
  #batchSize: number;
  #cursor: BatchCursorLike | undefined;
  #keys: DataView | undefined;
  #values: DataView | undefined;
  #hist: { slots: number; type: IntType; offset: number; le: number[] } | undefined;

  constructor(map: BatchReadable, options: MapMetricOptions) {
    const type = options.histogram ? "histogram" : options.type ?? "counter";
    if (options.histogram && options.type !== undefined) {
      throw new InvalidArgumentError(
        `metric ${options.name}: a map histogram's type is "histogram"; leave type out`,
      );
    }
    if (type !== "counter" && type !== "gauge" && type !== "histogram") {
      throw new InvalidArgumentError(
        `metric ${options.name}: a map metric is a "counter" or a "gauge", got ${
          JSON.stringify(type)
        }`,
      );
    }
    this.type = type;
    this.name = familyName(options.name, type);
    this.maxSeries = checkMax(this.name, options.maxSeries);
    this.#plans = planLabels(this.name, map, options.labels);
    checkLabels(this.name, options.labels.map((l) => l.name), type);
    this.#labels = new LabelBytes(options.labels.map((l) => l.name));
    this.#samples = new SampleNames(this.name, type);
    if (options.histogram) this.#hist = planHistogram(this.name, map, options.histogram);
    const vt = options.value?.type ?? DEFAULT_VALUE[map.valueSize] ??
      (options.histogram ? "u8" : undefined);
    if (vt === undefined || !(vt in INT_SIZE)) {
      throw new InvalidArgumentError(
        `metric ${this.name}: ${map.label} has ${map.valueSize}-byte values: say which integer ` +
          `is the value with value: { type: "u64", offset: … }`,
      );
    }
    this.#valueType = vt;
    this.#valueOffset = options.value?.offset ?? 0;
    if (this.#valueOffset < 0 || this.#valueOffset + INT_SIZE[vt] > map.valueSize) {
      throw new InvalidArgumentError(
        `metric ${this.name}: a ${vt} value at offset ${this.#valueOffset} does not fit ` +
          `${map.label}'s ${map.valueSize}-byte values`,
      );
    }
    this.#stride = map.perCpu ? Math.ceil(map.valueSize / 8) * 8 : map.valueSize;
    const batch = options.batchSize ?? Math.min(Math.max(1, map.maxEntries), 4096);
    if (!Number.isSafeInteger(batch) || batch <= 0) {
      throw new InvalidArgumentError(
        `metric ${this.name}: batchSize must be a positive integer, got ${batch}`,
      );
    }
    this.#batchSize = batch;
    this.help = options.help ?? `values of the ${map.label}`;
    this.#map = map;
  }

  #cursorOf(size: number): BatchCursorLike {
    if (this.#cursor === undefined || this.#cursor.batchSize !== size) {
      const c = this.#map.batchCursor({ batchSize: size });
      this.#cursor = c;
      this.#keys = new DataView(c.keys.buffer, c.keys.byteOffset, c.keys.byteLength);
      this.#values = new DataView(c.values.buffer, c.values.byteOffset, c.values.byteLength);
    }
    return this.#cursor;
  }

  write(out: ExpositionWriter): number {
    const start = out.length;
    for (;;) {
      try {
        return this.#walk(out);
      } catch (e) {
        // A hash bucket larger than the batch: start over with a bigger one.
        if (e instanceof SyscallError && e.errno === ENOSPC && this.#batchSize < 1 << 20) {
          out.truncate(start);
          this.#batchSize *= 2;
          continue;
        }
        throw e;
      }
    }
  }

  #walk(out: ExpositionWriter): number {
    const map = this.#map;
    const cursor = this.#cursorOf(this.#batchSize);
    cursor.reset();
    const values = this.#values!;
    const keySize = map.keySize;
    const valueBuffer = map.valueBufferSize;
    const cpus = map.perCpu ? map.cpus : 1;
    const labels = this.#labels;
    const sample = this.#samples.value;
    const vt = this.#valueType;
    const vo = this.#valueOffset;
    const stride = this.#stride;
    const max = this.maxSeries;
    let written = 0;
    let dropped = 0;
    while (!cursor.done) {
      const n = map.lookupBatch(cursor);
      for (let i = 0; i < n; i++) {
        if (written >= max) {
          dropped += n - i;
          break;
        }
        written++;
        const kb = i * keySize;
        if (this.#hist) {
          this.#writeHistogram(out, i, kb);
          continue;
        }
        const vb = i * valueBuffer + vo;
        let sum = 0;
        for (let c = 0; c < cpus; c++) sum += readInt(values, vb + c * stride, vt);
        out.bytes(sample);
        this.#writeLabels(out, kb);
        endSample(out, labels.close, sum);
      }
    }
    return dropped;
  }

  #writeLabels(out: ExpositionWriter, kb: number): void {
    const plans = this.#plans;
    const labels = this.#labels;
    const keys = this.#keys!;
    const keyBytes = this.#cursor!.keys;
    for (let l = 0; l < plans.length; l++) {
      const p = plans[l];
      out.bytes(labels.open[l]);
      const off = kb + p.offset;
      if (p.type === "string") out.cString(keyBytes, off, off + p.size);
      else if (p.type !== undefined) {
        const v = readInt(keys, off, p.type);
        const known = p.values?.[v];
        if (known !== undefined) out.text(known, true);
        else out.number(v);
      } else {
        const v = p.decode!(keys, off);
        if (typeof v === "number") out.number(v);
        else out.text(String(v), true);
      }
    }
  }

  #writeHistogram(out: ExpositionWriter, i: number, kb: number): void {
    const h = this.#hist!;
    const map = this.#map;
    const values = this.#values!;
    const cpus = map.perCpu ? map.cpus : 1;
    const stride = this.#stride;
    const size = INT_SIZE[h.type];
    const base = i * map.valueBufferSize + h.offset;
    const labels = this.#labels;
    const s = this.#samples;
    let cumulative = 0;
    let sum = 0;
    for (let slot = 0; slot < h.slots; slot++) {
      let count = 0;
      for (let c = 0; c < cpus; c++) {
        count += readInt(values, base + slot * size + c * stride, h.type);
      }
      cumulative += count;
      if (slot === h.slots - 1) {
        // The clamped last slot: counted at its lowest value.
        sum += count * (slot === 0 ? 0 : h.le[slot - 1] + 1);
        break;
      }
      sum += count * h.le[slot];
      out.bytes(s.bucket);
      this.#writeLabels(out, kb);
      out.bytes(labels.le);
      out.number(h.le[slot]);
      out.bytes(QUOTE_CLOSE);
      out.number(cumulative);
      out.byte(NL);
    }
    out.bytes(s.bucket);
    this.#writeLabels(out, kb);
    out.bytes(labels.le);
    out.bytes(CLOSE_INF);
    out.number(cumulative);
    out.byte(NL);
    if (h.le[0] >= 0) {
      out.bytes(s.sum);
      this.#writeLabels(out, kb);
      endSample(out, labels.close, sum);
    }
    out.bytes(s.count);
    this.#writeLabels(out, kb);
    endSample(out, labels.close, cumulative);
  }
}

function planHistogram(
  name: string,
  map: BatchReadable,
  h: MapHistogram,
): { slots: number; type: IntType; offset: number; le: number[] } {
  const type = h.type ?? "u32";
  const offset = h.offset ?? 0;
  if (!(type in INT_SIZE)) {
    throw new InvalidArgumentError(`metric ${name}: histogram type must be u8 … i64, got ${type}`);
  }
  if (!Number.isSafeInteger(h.slots) || h.slots < 1 || h.slots > 1024) {
    throw new InvalidArgumentError(
      `metric ${name}: histogram slots must be an integer from 1 to 1024, got ${h.slots}`,
    );
  }
  if (
    !Number.isSafeInteger(offset) || offset < 0 || offset + h.slots * INT_SIZE[type] > map.valueSize
  ) {
    throw new InvalidArgumentError(
      `metric ${name}: ${h.slots} ${type} slots at offset ${offset} do not fit ` +
        `${map.label}'s ${map.valueSize}-byte values`,
    );
  }
  const b = h.buckets ?? "log2";
  if (
    b !== "log2" && !(Number.isSafeInteger(b?.min) && Number.isSafeInteger(b?.step) && b.step > 0)
  ) {
    throw new InvalidArgumentError(
      `metric ${name}: histogram buckets are "log2" or { min, step } with integers, step > 0`,
    );
  }
  const le = Array.from(
    { length: h.slots },
    (_, i) => b === "log2" ? 2 ** (i + 1) - 1 : b.min + (i + 1) * b.step - 1,
  );
  return { slots: h.slots, type, offset, le };
}

/**
 * A metric from any BPF map, the way ebpf_exporter reads maps: each key is
 * a series whose labels are decoded from the key bytes (integers, C
 * strings, named values, or a decode function), its value an integer of
 * the value (summed over the CPUs of a per-CPU map), or a histogram held in
 * the value as one counter per bucket ({@linkcode MapHistogram}, libbpf-tools'
 * `struct hist`). A scrape walks the map
 * with batch lookups into buffers made once, and writes each series without
 * allocating; past `maxSeries`, the rest are counted as dropped.
 *
 * @example
 * ```ts ignore
 * // struct { u32 pid; char comm[16]; } → u64
 * const m = mapMetric(map, {
 *   name: "calls_total",
 *   labels: [{ name: "pid", type: "u32" }, { name: "comm", type: "string", size: 16 }],
 * });
 * Deno.serve(metricsHandler([m]));
 * ```
 */
export function mapMetric<C extends BatchCursorLike>(
  map: BatchReadable<C>,
  options: MapMetricOptions,
): Metric {
  if (!map || typeof map.lookupBatch !== "function") {
    throw new InvalidArgumentError(
      `mapMetric: give an open BpfMap (a TypedMap's .map), got ${
        map === null ? "null" : typeof map
      }`,
    );
  }
  if (!options || typeof options !== "object") {
    throw new InvalidArgumentError(
      `mapMetric: give options with a name and labels for ${map.label}`,
    );
  }
  return new MapMetric(map as unknown as BatchReadable, options);
}
