// The one check of an existing map against the spec it should match: a pin
// reused by `pinning: "by_name"` (createMap, collections, iproute2
// PIN_GLOBAL_NS maps) and a collection's replaceMaps entry.

import { MapType } from "../sys/abi.ts";
import { type MapFieldMismatch, MapMismatchError } from "./errors.ts";
import { MapCreateFlag, mapTypeName } from "./types.ts";

/** The shape of a map: what createMap was (or would be) given. */
export interface MapShape {
  /** The map type number. */
  type: number;
  /** Key size in bytes; 0 or undefined in an expected shape: any. */
  keySize?: number;
  /** Value size in bytes; 0 or undefined in an expected shape: any. */
  valueSize?: number;
  /** Max entries; 0 or undefined in an expected shape: any. */
  maxEntries?: number;
  /** BPF_MAP_CREATE flags; undefined in an expected shape: any. */
  flags?: number;
}

/**
 * The fields in which `actual` (an existing map) differs from `expected`
 * (its spec). Sizes and max entries left 0 or undefined in `expected` match
 * anything, as do undefined flags; the flags the kernel adds by itself
 * (BPF_F_RDONLY_PROG on device maps) are ignored.
 */
export function mapMismatches(actual: MapShape, expected: MapShape): MapFieldMismatch[] {
  const out: MapFieldMismatch[] = [];
  if (actual.type !== expected.type) {
    out.push({
      field: "type",
      actual: mapTypeName(actual.type),
      expected: mapTypeName(expected.type),
    });
  }
  for (const field of ["keySize", "valueSize", "maxEntries"] as const) {
    const want = expected[field];
    if (want && actual[field] !== want) {
      out.push({ field, actual: actual[field] ?? 0, expected: want });
    }
  }
  if (expected.flags !== undefined) {
    const added = expected.type === MapType.devmap || expected.type === MapType.devmap_hash
      ? MapCreateFlag.RDONLY_PROG
      : 0;
    const have = actual.flags ?? 0;
    if ((have & ~added) !== (expected.flags & ~added)) {
      out.push({ field: "flags", actual: have, expected: expected.flags });
    }
  }
  return out;
}

/**
 * Throws {@linkcode MapMismatchError} naming `map`, `subject` (where the
 * existing map came from) and each differing field, when `actual` does not
 * match `expected`; `remedy` says what to do.
 */
export function assertMapMatches(
  map: string,
  subject: string,
  actual: MapShape,
  expected: MapShape,
  remedy: string,
): void {
  const mismatches = mapMismatches(actual, expected);
  if (mismatches.length) throw new MapMismatchError(map, subject, mismatches, remedy);
}
