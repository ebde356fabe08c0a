/**
 * Codecs for C structs and unions at explicit offsets — overlapping union
 * members, bitfields — as BTF lays them out, and {@linkcode decodeRecord}
 * for records programs send. Modules written by `denobpf gen ts` build
 * their codecs from these.
 *
 * @example
 * ```ts
 * import { bitfield, decodeRecord, record, u32 } from "@denobpf/ebpf/map";
 *
 * // struct ev { __u32 pid; __u32 cpu : 8, flags : 4; };
 * const ev = record({ name: "struct ev", size: 8, align: 4 }, {
 *   pid: { codec: u32, offset: 0 },
 *   cpu: { codec: bitfield({ bitOffset: 0, bits: 8, signed: false }), offset: 4 },
 *   flags: { codec: bitfield({ bitOffset: 0, bits: 4, signed: false }), offset: 5 },
 * });
 * decodeRecord(ev, new Uint8Array([1, 0, 0, 0, 3, 5, 0, 0])).flags; // 5
 * ```
 *
 * @module
 */

import { InvalidArgumentError, ParseError } from "../errors.ts";
import { type Codec, LITTLE_ENDIAN } from "./codec.ts";

/**
 * One field of a {@linkcode record}: its codec and byte offset, and
 * whether writing may leave it out (members of a union, or of an anonymous
 * union inside a struct).
 */
export interface RecordField<T = unknown> {
  /** The field's codec. */
  codec: Codec<T>;
  /** Its byte offset in the record. */
  offset: number;
  /** True when writing may leave it out (a union member). */
  optional?: boolean;
}

/** The object type a {@linkcode record} codec reads and writes. */
export type RecordValue<F extends Record<string, RecordField>> = {
  [K in keyof F]: F[K] extends RecordField<infer T> ? T : never;
};

/** The layout of a {@linkcode record}: the C type's size and alignment. */
export interface RecordLayout {
  /** A name for messages, e.g. `"struct event"`. */
  name: string;
  /** The C type's size in bytes. */
  size: number;
  /** Its alignment. */
  align: number;
}

/**
 * A C struct or union at the offsets BTF gives, fields in declaration
 * order: unlike `struct()`, fields may overlap (union members,
 * bitfields sharing a byte). Reading decodes every field; writing zeroes
 * the bytes, then writes the fields in order — a field marked `optional`
 * (a union member) may be left out, the others are required. Give a union
 * one member: a later member overwrites an earlier one's bytes.
 */
export function record<F extends Record<string, RecordField>>(
  layout: RecordLayout,
  fields: F,
): Codec<RecordValue<F>> {
  const { name, size, align } = layout;
  const entries = Object.entries(fields).map(([field, f]) => ({ field, ...f }));
  for (const { field, offset, codec } of entries) {
    if (!Number.isInteger(offset) || offset < 0 || offset + codec.size > size) {
      throw new InvalidArgumentError(
        `${name}: field ${field} (${codec.size} bytes at ${offset}) lies outside its ${size} bytes`,
      );
    }
  }
  return {
    size,
    align,
    name,
    write(dv, o, v) {
      if (v === null || typeof v !== "object") {
        throw new InvalidArgumentError(`${name}: expected an object, got ${String(v)}`);
      }
      new Uint8Array(dv.buffer, dv.byteOffset + o, size).fill(0);
      const rec = v as Record<string, unknown>;
      for (const { field, offset, codec, optional } of entries) {
        if (rec[field] === undefined) {
          if (optional) continue;
          throw new InvalidArgumentError(`${name}: field ${field} is missing`);
        }
        codec.write(dv, o + offset, rec[field]);
      }
    },
    read(dv, o) {
      const out: Record<string, unknown> = {};
      for (const { field, offset, codec } of entries) out[field] = codec.read(dv, o + offset);
      return out as RecordValue<F>;
    },
  };
}

/** Where a bitfield lies in the bytes that hold it. */
export interface BitfieldLayout {
  /** The first bit, counted from the first byte's start (0–7). */
  bitOffset: number;
  /** Its width in bits (1–64). */
  bits: number;
  /** True for a signed type (the top bit extends). */
  signed: boolean;
  /** Byte order of the object (default: the host's). */
  littleEndian?: boolean;
}

function bitfieldCodec(layout: BitfieldLayout): Codec<bigint> {
  const { bitOffset, bits, signed } = layout;
  const le = layout.littleEndian ?? LITTLE_ENDIAN;
  if (!Number.isInteger(bitOffset) || bitOffset < 0 || bitOffset > 7) {
    throw new InvalidArgumentError(`bitfield: bitOffset must be 0 to 7, got ${bitOffset}`);
  }
  if (!Number.isInteger(bits) || bits < 1 || bits > 64) {
    throw new InvalidArgumentError(`bitfield: bits must be 1 to 64, got ${bits}`);
  }
  const size = Math.ceil((bitOffset + bits) / 8);
  const total = BigInt(size * 8);
  // Little endian counts bits from the least significant end, big endian from the most.
  const shift = BigInt(le ? bitOffset : size * 8 - bitOffset - bits);
  const mask = (1n << BigInt(bits)) - 1n;
  const min = signed ? -(1n << BigInt(bits - 1)) : 0n;
  const max = signed ? (1n << BigInt(bits - 1)) - 1n : mask;
  const name = `${signed ? "i" : "u"}${bits}:bitfield`;
  const load = (dv: DataView, o: number) => {
    let v = 0n;
    for (let i = 0; i < size; i++) {
      const byte = BigInt(dv.getUint8(o + (le ? size - 1 - i : i)));
      v = (v << 8n) | byte;
    }
    return v;
  };
  return {
    size,
    align: 1,
    name,
    write(dv, o, value) {
      const n = value as unknown;
      if (typeof n !== "bigint" && !(typeof n === "number" && Number.isInteger(n))) {
        throw new InvalidArgumentError(`${name}: expected an integer, got ${typeof n} ${n}`);
      }
      const b = BigInt(n);
      if (b < min || b > max) {
        throw new InvalidArgumentError(`${name}: ${b} is out of range ${min}..${max}`);
      }
      let v = load(dv, o) & ~(mask << shift) & ((1n << total) - 1n);
      v |= (BigInt.asUintN(bits, b)) << shift;
      for (let i = 0; i < size; i++) {
        const byte = Number((v >> BigInt(8 * i)) & 0xffn);
        dv.setUint8(o + (le ? i : size - 1 - i), byte);
      }
    },
    read(dv, o) {
      const raw = (load(dv, o) >> shift) & mask;
      return signed ? BigInt.asIntN(bits, raw) : raw;
    },
  };
}

/**
 * A bitfield of up to 32 bits as a number, in the `ceil((bitOffset + bits)
 * / 8)` bytes from the field's first byte. Writing keeps the other bits of
 * those bytes (the neighbouring bitfields).
 */
export function bitfield(layout: BitfieldLayout): Codec<number> {
  if (layout.bits > 32) {
    throw new InvalidArgumentError(
      `bitfield: ${layout.bits} bits do not fit a number; use bitfield64`,
    );
  }
  const c = bitfieldCodec(layout);
  return {
    size: c.size,
    align: 1,
    name: c.name,
    write: (dv, o, v) => c.write(dv, o, v as unknown as bigint),
    read: (dv, o) => Number(c.read(dv, o)),
  };
}

/** A bitfield of up to 64 bits as a bigint (see {@linkcode bitfield}). */
export function bitfield64(layout: BitfieldLayout): Codec<bigint> {
  return bitfieldCodec(layout);
}

/**
 * Decodes one record a program sent (a ring buffer record, a perf sample):
 * the first `codec.size` bytes. Longer records are fine (perf pads samples
 * to 8 bytes); shorter ones are a `ParseError`.
 */
export function decodeRecord<T>(codec: Codec<T>, bytes: Uint8Array): T {
  if (bytes.byteLength < codec.size) {
    throw new ParseError(
      "bpf record",
      `${codec.name} is ${codec.size} bytes; the record has ${bytes.byteLength}: is it a ` +
        `record of another type?`,
    );
  }
  return codec.read(new DataView(bytes.buffer, bytes.byteOffset, codec.size), 0);
}
