// The layout of an aggregation's map values, shared by the code generator
// (_codegen.ts), which writes them, and the handles and script maps, which
// read them: a module of its own, so that reading loads no code generator.

import type { AggregationKind } from "./types.ts";

/** What an aggregation does with its value. */
export type AggKind = AggregationKind;

/** Linear histogram bounds. */
export interface LinearBounds {
  min: number;
  max: number;
  step: number;
}

/** Value size of each aggregation kind. */
export function valueSize(kind: AggKind): number {
  return kind === "min" || kind === "max" || kind === "avg" ? 16 : 8;
}

/**
 * The number of buckets of a linear histogram: below, one per whole step,
 * at or above (as bpftrace: values in a last partial step count as at or
 * above `max`).
 */
export function linearBuckets(b: LinearBounds): number {
  return Math.floor((b.max - b.min) / b.step) + 2;
}
