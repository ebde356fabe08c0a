// What a script's programs send through the ring buffer and keep in maps,
// as both sides see it: the code generator (_script_codegen.ts) writes the
// records, the running script's handle (_script_handle.ts) reads them,
// without loading the compiler.

import type { IrType } from "./ir.ts";

/** Kinds of ring buffer records (the low 32 bits of a record's first 8 bytes; the id is the high 32). */
export const Rec = {
  PRINTF: 1,
  PRINT_MAP: 2,
  PRINT_VALUE: 3,
  CLEAR: 4,
  ZERO: 5,
  EXIT: 6,
  TIME: 7,
  JOIN: 8,
  CAT: 9,
  SYSTEM: 10,
} as const;

/**
 * The `globals` map: one array element, read and written by its address
 * (`loadMapValue`). At {@linkcode GLOBAL_START} the start time `elapsed`
 * counts from; at {@linkcode GLOBAL_STOP} the stop flag, which `stop()`
 * sets and every attached program checks first, returning at once when it
 * is set.
 */
export const GLOBALS_SIZE = 16;
/** See {@linkcode GLOBALS_SIZE}. */
export const GLOBAL_START = 0;
/** See {@linkcode GLOBALS_SIZE}. */
export const GLOBAL_STOP = 8;

/** Strings `join()` reads, and the bytes kept of each (bpftrace's join_argnum, join_argsize). */
export const JOIN_ARGS = 16;
/** See {@linkcode JOIN_ARGS}. */
export const JOIN_ARGSIZE = 1024;

/** Bytes a value of type `t` takes in a key, a record or a map value (8-byte aligned parts). */
export function sizeOfType(t: IrType): number {
  switch (t.kind) {
    case "str":
      return Math.ceil(t.len / 8) * 8;
    case "buf":
      return 8 + Math.ceil(t.len / 8) * 8; // the length read, then the bytes
    case "tuple":
      return t.elems.reduce((n, x) => n + sizeOfType(x), 0);
    case "none":
      return 0;
    case "usym":
      return 16; // the address and the process it belongs to
    case "inet":
      return 24; // the address family, then 16 bytes of address
    case "array":
      return Math.ceil((t.len * t.elem.size) / 8) * 8;
    default:
      return 8;
  }
}
