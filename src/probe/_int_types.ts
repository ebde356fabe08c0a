// The integer types casts name (bpftrace's u8…s64, uint8…int64, and C's).

import type { IrType } from "./ir.ts";

/** Integer cast names: bpftrace's (`u8`…`s64`, `uint8`…`int64`) and C's. */
const CASTS: Record<string, [1 | 2 | 4 | 8, boolean]> = {
  u8: [1, false],
  u16: [2, false],
  u32: [4, false],
  u64: [8, false],
  s8: [1, true],
  s16: [2, true],
  s32: [4, true],
  s64: [8, true],
  uint8: [1, false],
  uint16: [2, false],
  uint32: [4, false],
  uint64: [8, false],
  int8: [1, true],
  int16: [2, true],
  int32: [4, true],
  int64: [8, true],
  char: [1, true],
  "unsigned char": [1, false],
  short: [2, true],
  "unsigned short": [2, false],
  int: [4, true],
  "unsigned int": [4, false],
  unsigned: [4, false],
  long: [8, true],
  "unsigned long": [8, false],
  "long long": [8, true],
  "unsigned long long": [8, false],
  bool: [1, false],
};

/** The integer type a cast names, or undefined. */
export function castType(name: string): IrType | undefined {
  const c = CASTS[name.trim().replace(/\s+/g, " ")];
  return c ? { kind: "int", size: c[0], signed: c[1] } : undefined;
}
