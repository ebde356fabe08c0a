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

/** A power of two as bpftrace labels it: `512`, `1K`, `2M`, `16E`. */
function pow2Label(k: number): string {
  const s = Math.floor(k / 10);
  return `${2 ** (k - 10 * s)}${SUFFIXES[s]}`;
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
  if (i === 0) return { low: -Infinity, high: min, count, label: `(..., ${min})` };
  if (i === n - 1) return { low: max, high: Infinity, count, label: `[${max}, ...)` };
  const low = min + (i - 1) * step;
  const high = Math.min(low + step, max);
  return { low, high, count, label: `[${low}, ${high})` };
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

/** The rows of a histogram as bpftrace prints them (label, count, a bar of `@` 52 wide). */
export function formatHistogram(h: Histogram): string {
  const max = Math.max(0, ...h.buckets.map((b) => b.count));
  return h.buckets.map((b) => {
    const n = max === 0 ? 0 : Math.floor((b.count * BAR) / max);
    return `${b.label.padEnd(16)}${String(b.count).padStart(8)} |${"@".repeat(n).padEnd(BAR)}|`;
  }).join("\n");
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
