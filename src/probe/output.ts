/**
 * bpftrace-style text output of aggregations: `@[key]: value` lines sorted
 * by value, and ASCII histograms with power-of-two (`[4, 8)`, `[1K, 2K)`)
 * or linear (`[10, 20)`) buckets.
 *
 * ```text
 * @bytes:
 * [0]                   12 |@@@@                                                |
 * [1]                  945 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|
 * [2, 4)                 2 |                                                    |
 * ```
 *
 * @module
 */

import type { IrAggregation, IrType } from "./ir.ts";
import { formatBuffer } from "./printf.ts";

/** One histogram bucket: values from `low` (inclusive) to `high` (exclusive). */
export interface HistogramBucket {
  /** Lowest value of the bucket (`-Infinity` for the below-range bucket). */
  low: number;
  /** First value past the bucket (`Infinity` for the above-range bucket). */
  high: number;
  /** How many values fell in the bucket. */
  count: number;
  /** The bucket as bpftrace prints it, e.g. `"[4, 8)"`, `"[0]"`, `"(..., 0)"`. */
  label: string;
}

/**
 * A histogram: its buckets from the first non-empty one to the last
 * (empty ones in between included, as bpftrace prints them).
 */
export interface Histogram {
  /** The buckets, lowest first. */
  buckets: HistogramBucket[];
  /** The number of values counted. */
  total: number;
}

/** The number of buckets of a power-of-two histogram: negative, zero, then 2^0 … 2^63. */
export const LOG2_BUCKETS = 66;

const SUFFIXES = ["", "K", "M", "G", "T", "P", "E"];

/**
 * A power of two as bpftrace v0.17 labels it: `512`, `1K`, `2M`, `4G`, and
 * from 2^40 on in T (`1T`, `1024T`, `8388608T`).
 */
function pow2Label(k: number): string {
  const s = Math.min(Math.floor(k / 10), 4);
  return `${2 ** (k - 10 * s)}${SUFFIXES[s]}`;
}

/** A linear histogram bound as bpftrace labels it: `0`, `5`, `1K` (a multiple of 1024), `3M` (of 2^20). */
export function lhistLabel(n: number): string {
  if (n === 0) return "0";
  if (n % 1048576 === 0) return `${n / 1048576}M`;
  if (n % 1024 === 0) return `${n / 1024}K`;
  return String(n);
}

/** The bucket of index `i` of a power-of-two histogram. */
export function log2Bucket(i: number, count: number): HistogramBucket {
  if (i === 0) return { low: -Infinity, high: 0, count, label: "(..., 0)" };
  if (i === 1) return { low: 0, high: 1, count, label: "[0]" };
  const k = i - 2;
  return {
    low: 2 ** k,
    high: 2 ** (k + 1),
    count,
    label: k === 0 ? "[1]" : `[${pow2Label(k)}, ${pow2Label(k + 1)})`,
  };
}

/** The bucket of index `i` of a linear histogram from `min` to `max` by `step` with `n` buckets. */
export function linearBucket(
  i: number,
  count: number,
  bounds: { min: number; max: number; step: number },
  n: number,
): HistogramBucket {
  const { min, max, step } = bounds;
  if (i === 0) return { low: -Infinity, high: min, count, label: `(..., ${lhistLabel(min)})` };
  if (i === n - 1) return { low: max, high: Infinity, count, label: `[${lhistLabel(max)}, ...)` };
  const low = min + (i - 1) * step;
  const high = Math.min(low + step, max);
  return { low, high, count, label: `[${lhistLabel(low)}, ${lhistLabel(high)})` };
}

/** Builds a histogram from bucket counts (index → count), trimming empty ends. */
export function histogramFrom(
  counts: ReadonlyMap<number, number>,
  bucket: (i: number, count: number) => HistogramBucket,
): Histogram {
  let lo = Infinity;
  let hi = -Infinity;
  let total = 0;
  for (const [i, c] of counts) {
    if (c === 0) continue;
    lo = Math.min(lo, i);
    hi = Math.max(hi, i);
    total += c;
  }
  const buckets: HistogramBucket[] = [];
  for (let i = lo; i <= hi; i++) buckets.push(bucket(i, counts.get(i) ?? 0));
  return { buckets, total };
}

const BAR = 52;

/** The bar of a bucket as bpftrace computes it, in single precision: `(int)(count / (float)max * 52)`. */
function barWidth(count: number, max: number): number {
  if (max <= 0) return 0;
  const f = Math.fround;
  return Math.max(0, Math.trunc(f(f(f(count) / f(max)) * BAR)));
}

/** One row: label, count, a bar of `@` 52 wide. */
function histRow(label: string, shown: bigint | number, bar: number): string {
  return `${label.padEnd(16)}${String(shown).padStart(8)} |${"@".repeat(bar).padEnd(BAR)}|`;
}

/** The rows of a histogram as bpftrace prints them (label, count, a bar of `@` 52 wide). */
export function formatHistogram(h: Histogram): string {
  const max = Math.max(0, ...h.buckets.map((b) => b.count));
  return h.buckets.map((b) => histRow(b.label, b.count, barWidth(b.count, max))).join("\n");
}

/**
 * Frames as bpftrace prints a stack: a line break, then each frame indented 4
 * and on its own line; a stack with no frames (the kernel gave none, as
 * Linux 6.1 for syscall tracepoints) as nothing: `@k[]`, as bpftrace prints it.
 */
function formatStack(frames: string): string {
  if (frames === "") return "";
  return "\n" + frames.split("\n").map((f) => `    ${f}\n`).join("");
}

/**
 * A key as bpftrace prints it inside `@name[…]`: tuple parts joined by
 * `", "`, stacks one frame a line, indented by 4 (`@[\n    f1\n    f2\n]`).
 */
export function formatKey(
  key: unknown,
  options: Pick<AggregationFormatOptions, "stacks"> = {},
): string {
  const parts = Array.isArray(key) ? key : [key];
  const stacks = options.stacks;
  return parts.map((p, i) => {
    const stack = stacks
      ? stacks.includes(i) && typeof p === "string"
      : typeof p === "string" && p.includes("\n");
    return stack ? formatStack(p as string) : String(p);
  }).join(", ");
}

/** Options of {@linkcode formatAggregation}. */
export interface AggregationFormatOptions {
  /** The map name printed before each entry (default `"@"`). */
  name?: string;
  /** Print only the `top` largest entries. */
  top?: number;
  /**
   * Which parts of the keys are stacks (frames joined by `"\n"`, as probes
   * decode `kstack` and `ustack`): their positions in a tuple key, `[0]`
   * for a key that is one stack. They print one frame a line, even with a
   * single frame or none. Without it, a string of several lines is taken
   * for a stack, and a one-frame stack prints inline.
   */
  stacks?: readonly number[];
}

function sizeOf(v: number | Histogram): number {
  return typeof v === "number" ? v : v.total;
}

/**
 * An aggregation as bpftrace prints it: entries sorted by value (smallest
 * first, so the largest end up last), `@name[key]: value`, or for
 * histograms `@name[key]:` followed by the histogram.
 */
export function formatAggregation(
  entries: Iterable<readonly [unknown, number | Histogram]>,
  options: AggregationFormatOptions = {},
): string {
  const name = options.name ?? "@";
  let rows = [...entries].sort((a, b) => sizeOf(a[1]) - sizeOf(b[1]));
  const top = options.top;
  if (top !== undefined) rows = top > 0 ? rows.slice(-top) : [];
  const out: string[] = [];
  for (const [key, value] of rows) {
    const head = key === null || key === undefined
      ? `${name}`
      : `${name}[${formatKey(key, { stacks: options.stacks })}]`;
    if (typeof value === "number") {
      out.push(`${head}: ${Number.isInteger(value) ? value : Math.trunc(value)}`);
    } else {
      out.push(`${head}: \n${formatHistogram(value)}\n`);
    }
  }
  return out.join("\n");
}

// ---------------------------------------------------------------- maps, as bpftrace prints them

/** What a map holds: one of bpftrace's aggregations, or plain values (`@m[k] = v`). */
export type MapValueKind = IrAggregation | "value";

/** The bounds of an `lhist(v, min, max, step)`. */
export interface LhistBounds {
  /** `min`. */
  min: number;
  /** `max`. */
  max: number;
  /** `step`. */
  step: number;
}

/** What {@linkcode formatMap} needs to know of a map besides its entries. */
export interface MapLayout {
  /** The name printed before each entry (`"@"`, `"@start"`). */
  name: string;
  /** The kind of value. */
  kind: MapValueKind;
  /**
   * The types of the key's parts (`@m[comm, pid]` has two); none or empty
   * for a map without a key. Each entry's key is then an array with one
   * value per part.
   */
  keys?: readonly IrType[];
  /** For `kind: "value"`: the type of the values (the checker's inference). */
  value?: IrType;
  /** For `sum`, `min`, `max`: whether the values are signed (default true for sum, min). */
  signed?: boolean;
  /** For `kind: "lhist"`: its bounds. */
  lhist?: LhistBounds;
}

/**
 * A decoded value or key part: an integer, a string (symbols already
 * turned into text), a buffer's bytes, a stack's frames (symbolized, one
 * string each), a tuple's elements, or a record's fields.
 */
export type MapDatum =
  | bigint
  | number
  | string
  | Uint8Array
  | readonly MapDatum[]
  | { readonly [field: string]: MapDatum };

/** The value of an `avg()` or `stats()` entry: how many values and their sum. */
export interface AverageValue {
  /** How many values were aggregated. */
  count: bigint | number;
  /** Their sum. */
  total: bigint | number;
}

/**
 * A value of a map entry: for `count`/`sum`/`min`/`max` an integer, for
 * `avg`/`stats` an {@linkcode AverageValue}, for `hist`/`lhist` the count
 * of each bucket by bpftrace's bucket index (hist: 0 negative, 1 zero,
 * 2 + k for [2^k, 2^(k+1)); lhist: 0 below min, 1 + i for each step,
 * steps + 1 at or above max), for `value` a {@linkcode MapDatum}.
 */
export type MapValue =
  | MapDatum
  | AverageValue
  | readonly (bigint | number | undefined)[]
  | ReadonlyMap<number, bigint | number>;

/** One entry: its key (an array of parts, or `undefined` for a map without a key) and value. */
export type MapEntry = readonly [key: readonly MapDatum[] | undefined, value: MapValue];

/** Options of {@linkcode formatMap}: bpftrace's `print(@m, top, div)`. */
export interface FormatMapOptions {
  /** Print only the `top` last entries after sorting (0: all). bpftrace ignores it for `stats`. */
  top?: number;
  /** Divide printed values by `div` (0 or 1: as they are); not lhist bucket counts nor stats. */
  div?: number;
}

const toBig = (v: MapDatum | undefined): bigint =>
  typeof v === "bigint" ? v : typeof v === "number" ? BigInt(Math.trunc(v)) : 0n;

function intBits(t: IrType | undefined): { bits: number; signed: boolean } {
  return t?.kind === "int" ? { bits: t.size * 8, signed: t.signed } : { bits: 64, signed: true };
}

const SYMBOL_KINDS = new Set(["ksym", "usym"]);
const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder();

/** Options of {@linkcode formatStackFrames}. */
export interface StackFormatOptions {
  /** Spaces before each frame: 4 in map keys, 8 in values (default 4). */
  indent?: number;
  /** bpftrace's perf mode: frames (`"<hex> <sym>"`) after a tab instead of spaces. */
  perf?: boolean;
}

/**
 * A stack as bpftrace prints it: a line break, then each frame on its own
 * line, indented (or after a tab in perf mode); no frames: nothing.
 */
export function formatStackFrames(
  frames: readonly string[],
  options: StackFormatOptions = {},
): string {
  if (frames.length === 0) return "";
  const pad = options.perf ? "\t" : " ".repeat(options.indent ?? 4);
  return "\n" + frames.map((f) => `${pad}${f}\n`).join("");
}

function stackFrames(v: MapDatum): readonly string[] {
  if (Array.isArray(v)) return v.map(String);
  if (typeof v === "string") return v === "" ? [] : v.split("\n");
  return [];
}

/** An array of integers as bpftrace prints one: `[1,2,3,4]`. */
function arrayText(v: MapDatum): string {
  return `[${(v as readonly MapDatum[]).map(String).join(",")}]`;
}

function cString(v: MapDatum): string {
  const s = v instanceof Uint8Array ? textDecoder.decode(v) : String(v);
  const nul = s.indexOf("\0");
  return nul < 0 ? s : s.slice(0, nul);
}

/** A key part as bpftrace prints it inside `@m[…]` (integers signed by size, stacks indented 4). */
function keyPartText(v: MapDatum, t: IrType | undefined): string {
  switch (t?.kind) {
    case "int":
      return BigInt.asIntN(t.size * 8, toBig(v)).toString();
    case "stack":
      return formatStackFrames(stackFrames(v), { indent: 4, perf: t.mode === "perf" });
    case "buf":
      return v instanceof Uint8Array ? formatBuffer(v) : String(v);
    case "array":
      return arrayText(v);
    case "ptr":
      return `0x${BigInt.asUintN(64, toBig(v)).toString(16)}`;
    case "tuple":
      return `(${(v as readonly MapDatum[]).map((e, i) => keyPartText(e, t.elems[i])).join(", ")})`;
    case "record":
      return `{${
        Object.entries(v as Record<string, MapDatum>).map(([k, e]) =>
          `.${k}=${keyPartText(e, undefined)}`
        ).join(",")
      }}`;
    case undefined:
      return typeof v === "bigint" || typeof v === "number"
        ? String(v)
        : Array.isArray(v)
        ? `(${v.map((e) => keyPartText(e, undefined)).join(", ")})`
        : cString(v);
    default:
      return cString(v);
  }
}

/**
 * A value as bpftrace prints it (its `value_to_str`): integers by their
 * size and sign, divided by `div`; strings up to their NUL; buffers as
 * `\xNN` escapes; stacks one frame a line indented by 8; tuples as
 * `(1, abc)`; integer arrays as `[1,2,3,4]`; records as `{ .a = 1, .b = 2 }`. This is what
 * `print(value)` writes, followed by a line break.
 */
export function formatValue(value: MapDatum, type?: IrType, div = 1): string {
  const d = BigInt(Math.max(1, Math.trunc(div)));
  switch (type?.kind) {
    case "int": {
      const { bits, signed } = intBits(type);
      const n = signed ? BigInt.asIntN(bits, toBig(value)) : BigInt.asUintN(bits, toBig(value));
      return (n / d).toString();
    }
    case "ptr":
      return (BigInt.asIntN(64, toBig(value)) / d).toString();
    case "stack":
      return formatStackFrames(stackFrames(value), { indent: 8, perf: type.mode === "perf" });
    case "buf":
      return value instanceof Uint8Array ? formatBuffer(value) : String(value);
    case "array":
      return arrayText(value);
    case "tuple":
      return `(${
        (value as readonly MapDatum[]).map((e, i) => formatValue(e, type.elems[i], div)).join(", ")
      })`;
    case "record":
      return recordText(value);
    case undefined:
      if (typeof value === "bigint" || typeof value === "number") {
        return (toBig(value) / d).toString();
      }
      if (Array.isArray(value)) {
        return `(${value.map((e) => formatValue(e, undefined, div)).join(", ")})`;
      }
      if (value instanceof Uint8Array) return formatBuffer(value);
      if (typeof value === "object") return recordText(value);
      return cString(value);
    default:
      return cString(value);
  }
}

function recordText(v: MapDatum): string {
  const fields = Object.entries(v as Record<string, MapDatum>);
  return `{ ${fields.map(([k, e]) => `.${k} = ${formatValue(e)}`).join(", ")} }`;
}

/**
 * The bytes of a key as bpftrace's map holds it (integers little-endian of
 * their size, strings NUL-padded), which orders the entries of hist, lhist,
 * avg and stats maps before they are sorted by value; undefined for parts
 * whose bytes are not known here (stacks, symbols).
 */
function keyBytes(key: readonly MapDatum[] | undefined, types: readonly IrType[]): number[] {
  const out: number[] = [];
  (key ?? []).forEach((v, i) => {
    const t = types[i];
    if (t?.kind === "int" || typeof v === "bigint" || typeof v === "number") {
      const size = t?.kind === "int" ? t.size : 8;
      let n = BigInt.asUintN(size * 8, toBig(v));
      for (let b = 0; b < size; b++, n >>= 8n) out.push(Number(n & 0xffn));
    } else if (t?.kind === "str" || typeof v === "string") {
      const bytes = textEncoder.encode(cString(v));
      out.push(...bytes);
      for (let b = bytes.length; b < (t?.kind === "str" ? t.len : bytes.length + 1); b++) {
        out.push(0);
      }
    }
  });
  return out;
}

function compareBytes(a: number[], b: number[]): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i] - b[i];
  return a.length - b.length;
}

const cmp = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

/** bpftrace's sort_by_key: by each part from the last to the first, integers unsigned, strings by bytes; others stay. */
function sortByKey(rows: MapEntry[], types: readonly IrType[]): MapEntry[] {
  let out = rows;
  for (let i = types.length - 1; i >= 0; i--) {
    const t = types[i];
    if (t.kind === "int") {
      out = sortedBy(out, (r) => BigInt.asUintN(64, toBig(r[0]![i])), cmp);
    } else if (t.kind === "str") {
      out = sortedBy(out, (r) => keyBytes([r[0]![i]], [t]), compareBytes);
    }
  }
  return out;
}

/** A stable sort by a key computed once per row. */
function sortedBy<T, K>(
  rows: readonly T[],
  key: (row: T) => K,
  compare: (a: K, b: K) => number,
): T[] {
  const keyed = rows.map((row, i) => ({ row, key: key(row), i }));
  keyed.sort((a, b) => compare(a.key, b.key) || a.i - b.i);
  return keyed.map((k) => k.row);
}

function bucketCount(v: MapValue, i: number): bigint {
  if (v instanceof Map) return toBig(v.get(i));
  return toBig((v as readonly (bigint | number | undefined)[])[i]);
}

function bucketIndices(v: MapValue): number[] {
  if (v instanceof Map) return [...v.keys()];
  return Object.keys(v as object).map(Number);
}

function histTotal(v: MapValue): bigint {
  return bucketIndices(v).reduce((s, i) => s + bucketCount(v, i), 0n);
}

function average(v: MapValue): bigint {
  const a = v as AverageValue;
  const count = toBig(a.count);
  return count === 0n ? 0n : toBig(a.total) / count;
}

/** The histogram text of one entry: rows each ending with a line break ("" when every bucket is 0). */
function histText(layout: MapLayout, v: MapValue, div: bigint): string {
  const indices = bucketIndices(v).filter((i) => bucketCount(v, i) > 0n);
  if (indices.length === 0) return "";
  const lo = Math.min(...indices);
  const hi = Math.max(...indices);
  const max = Math.max(...indices.map((i) => Math.min(Number(bucketCount(v, i)), 0x7fffffff)));
  const lin = layout.kind === "lhist" ? layout.lhist : undefined;
  const steps = lin ? Math.trunc((lin.max - lin.min) / lin.step) : 0;
  let text = "";
  for (let i = lo; i <= hi; i++) {
    const c = bucketCount(v, i);
    let label: string;
    if (lin) {
      label = i === 0
        ? `(..., ${lhistLabel(lin.min)})`
        : i === steps + 1
        ? `[${lhistLabel(lin.max)}, ...)`
        : `[${lhistLabel((i - 1) * lin.step + lin.min)}, ${lhistLabel(i * lin.step + lin.min)})`;
    } else {
      label = log2Bucket(i, 0).label;
    }
    text += histRow(label, lin ? c : c / div, barWidth(Number(c), max)) + "\n";
  }
  return text;
}

function sortRows(layout: MapLayout, rows: MapEntry[]): MapEntry[] {
  const types = layout.keys ?? [];
  const byValue = (f: (v: MapValue) => bigint) =>
    sortedBy(sortedBy(rows, (r) => keyBytes(r[0], types), compareBytes), (r) => f(r[1]), cmp);
  switch (layout.kind) {
    case "hist":
    case "lhist":
      return byValue(histTotal);
    case "avg":
    case "stats":
      return byValue(average);
    case "count":
      return sortedBy(rows, (r) => BigInt.asUintN(64, toBig(r[1] as MapDatum)), cmp);
    case "sum":
    case "min":
    case "max": {
      const signed = layout.signed ?? layout.kind !== "max";
      const n = (v: MapValue) =>
        signed ? toBig(v as MapDatum) : BigInt.asUintN(64, toBig(v as MapDatum));
      return sortedBy(rows, (r) => n(r[1]), cmp);
    }
    default: {
      const t = layout.value;
      if (t?.kind === "int") {
        const n = (v: MapValue) =>
          t.signed
            ? BigInt.asIntN(t.size * 8, toBig(v as MapDatum))
            : BigInt.asUintN(t.size * 8, toBig(v as MapDatum));
        return sortedBy(rows, (r) => n(r[1]), cmp);
      }
      return sortByKey(rows, types);
    }
  }
}

function entryValueText(layout: MapLayout, v: MapValue, div: bigint): string {
  switch (layout.kind) {
    case "hist":
    case "lhist":
      return "\n" + histText(layout, v, div);
    case "stats": {
      const a = v as AverageValue;
      return `count ${toBig(a.count)}, average ${average(v)}, total ${toBig(a.total)}`;
    }
    case "avg":
      return (average(v) / div).toString();
    case "count":
      return (BigInt.asUintN(64, toBig(v as MapDatum)) / div).toString();
    case "max":
      return (BigInt.asUintN(64, toBig(v as MapDatum)) / div).toString();
    case "sum":
    case "min":
      return ((layout.signed ?? true)
            ? BigInt.asIntN(64, toBig(v as MapDatum))
            : BigInt.asUintN(64, toBig(v as MapDatum))) / div + "";
    default:
      return formatValue(v as MapDatum, layout.value, Number(div));
  }
}

/**
 * A map as bpftrace v0.17 prints it, at exit and for `print(@m, top, div)`,
 * byte for byte, with the line break(s) bpftrace writes after it:
 *
 * - `@name[k1, k2]: value` lines; keys' parts as bpftrace prints them
 *   (integers signed by their size, strings up to their NUL, stacks one
 *   frame a line indented by 4, `@k[]` for a stack with no frames);
 * - count, sum, min, max and integer values sorted by value (smallest
 *   first); hist, lhist by their total, avg and stats by their average
 *   (ties in the order of the key's bytes); other values by key (integer
 *   parts unsigned, string parts by bytes, last part first);
 * - hist and lhist as `@h[k]: ` and the histogram rows, a blank line
 *   between entries; avg and stats followed by a blank line; stats as
 *   `count 3, average 5, total 15`; a map of stacks, ksym or usym values
 *   with nothing between entries (bpftrace's own quirk);
 * - `top` keeps the last `top` entries (not for stats, as in bpftrace);
 *   `div` divides counts, sums, averages and hist counts (not lhist's);
 * - an empty map prints its line break alone. A keyless `count()` that is
 *   cleared still has its one entry, 0, in bpftrace (`@: 0`): pass it.
 */
export function formatMap(
  layout: MapLayout,
  entries: Iterable<MapEntry>,
  options: FormatMapOptions = {},
): string {
  const div = BigInt(Math.max(1, Math.trunc(options.div ?? 1)));
  let rows = sortRows(layout, [...entries]);
  const top = options.top ?? 0;
  if (top > 0 && rows.length > top && layout.kind !== "stats") rows = rows.slice(rows.length - top);
  const types = layout.keys ?? [];
  const texts = rows.map(([key, value]) => {
    const head = key === undefined || types.length === 0 && key.length === 0
      ? layout.name
      : `${layout.name}[${key.map((p, i) => keyPartText(p, types[i])).join(", ")}]`;
    return `${head}: ${entryValueText(layout, value, div)}`;
  });
  const valueKind = layout.value?.kind;
  const delimiter = layout.kind === "value" &&
      (valueKind === "stack" || (valueKind !== undefined && SYMBOL_KINDS.has(valueKind)))
    ? ""
    : "\n";
  const end = layout.kind === "avg" || layout.kind === "stats" ? "\n\n" : "\n";
  return texts.join(delimiter) + end;
}

/** One map for {@linkcode formatMaps}: its layout and entries. */
export interface MapContents {
  /** How it prints. */
  layout: MapLayout;
  /** Its entries. */
  entries: Iterable<MapEntry>;
}

/**
 * Every map as bpftrace prints them when it exits: in the order of their
 * names, each as {@linkcode formatMap} prints it. (bpftrace writes two line
 * breaks before them.)
 */
export function formatMaps(maps: Iterable<MapContents>): string {
  const sorted = [...maps].sort((a, b) =>
    compareBytes(
      [...textEncoder.encode(a.layout.name)],
      [...textEncoder.encode(b.layout.name)],
    )
  );
  return sorted.map((m) => formatMap(m.layout, m.entries)).join("");
}
