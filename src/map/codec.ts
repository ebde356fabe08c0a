/**
 * Codecs between JavaScript values and the fixed-size bytes of map keys and
 * values: integers, floats, byte strings, C strings, arrays and C structs
 * with natural alignment. Numbers are in the host's byte order, as the
 * kernel and BPF programs store them.
 *
 * @example
 * ```ts
 * const flow = struct({ saddr: u32, daddr: u32, sport: u16, dport: u16, proto: u8 });
 * flow.size; // 16: 13 bytes of fields, padded to the 4-byte alignment
 * const bytes = encodeValue(flow, { saddr: 1, daddr: 2, sport: 3, dport: 4, proto: 6 });
 * decodeValue(flow, bytes).proto; // 6
 * ```
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";

/** Converts one JavaScript value to and from `size` bytes. */
export interface Codec<T> {
  /** Encoded size in bytes. */
  readonly size: number;
  /** Alignment in a C struct (1, 2, 4 or 8). */
  readonly align: number;
  /** A short description, e.g. `"u32"` or `"struct{a:u32,b:u64}"`. */
  readonly name: string;
  /** Writes `value` at `offset` of `view` (exactly `size` bytes). */
  write(view: DataView, offset: number, value: T): void;
  /** Reads a value from `offset` of `view`. */
  read(view: DataView, offset: number): T;
}

/** The JavaScript type a codec encodes. */
export type CodecValue<C> = C extends Codec<infer T> ? T : never;

/** True on little-endian hosts (x86-64, arm64): the byte order of map data. */
export const LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;
const LE = LITTLE_ENDIAN;

function intCodec(
  name: string,
  size: number,
  min: number,
  max: number,
  write: (dv: DataView, o: number, v: number) => void,
  read: (dv: DataView, o: number) => number,
): Codec<number> {
  return {
    size,
    align: size,
    name,
    write(dv, o, v) {
      if (!Number.isInteger(v) || v < min || v > max) {
        throw new InvalidArgumentError(`${name}: ${v} is not an integer from ${min} to ${max}`);
      }
      write(dv, o, v);
    },
    read,
  };
}

/** Unsigned 8-bit integer. */
export const u8: Codec<number> = intCodec(
  "u8",
  1,
  0,
  0xff,
  (d, o, v) => d.setUint8(o, v),
  (d, o) => d.getUint8(o),
);
/** Signed 8-bit integer. */
export const i8: Codec<number> = intCodec(
  "i8",
  1,
  -0x80,
  0x7f,
  (d, o, v) => d.setInt8(o, v),
  (d, o) => d.getInt8(o),
);
/** Unsigned 16-bit integer. */
export const u16: Codec<number> = intCodec(
  "u16",
  2,
  0,
  0xffff,
  (d, o, v) => d.setUint16(o, v, LE),
  (d, o) => d.getUint16(o, LE),
);
/** Signed 16-bit integer. */
export const i16: Codec<number> = intCodec(
  "i16",
  2,
  -0x8000,
  0x7fff,
  (d, o, v) => d.setInt16(o, v, LE),
  (d, o) => d.getInt16(o, LE),
);
/** Unsigned 32-bit integer. */
export const u32: Codec<number> = intCodec(
  "u32",
  4,
  0,
  0xffffffff,
  (d, o, v) => d.setUint32(o, v, LE),
  (d, o) => d.getUint32(o, LE),
);
/** Signed 32-bit integer. */
export const i32: Codec<number> = intCodec(
  "i32",
  4,
  -0x80000000,
  0x7fffffff,
  (d, o, v) => d.setInt32(o, v, LE),
  (d, o) => d.getInt32(o, LE),
);

function bigCodec(name: string, signed: boolean): Codec<bigint> {
  const min = signed ? -(1n << 63n) : 0n;
  const max = signed ? (1n << 63n) - 1n : (1n << 64n) - 1n;
  return {
    size: 8,
    align: 8,
    name,
    write(dv, o, v) {
      const n = v as unknown;
      if (typeof n !== "bigint" && !(typeof n === "number" && Number.isInteger(n))) {
        throw new InvalidArgumentError(
          `${name}: expected a bigint (or an integer number), got ${typeof n} ${String(n)}`,
        );
      }
      const b = typeof n === "bigint" ? n : BigInt(n);
      if (b < min || b > max) {
        throw new InvalidArgumentError(`${name}: ${b} is out of range ${min}..${max}`);
      }
      if (signed) dv.setBigInt64(o, b, LE);
      else dv.setBigUint64(o, b, LE);
    },
    read: signed ? (dv, o) => dv.getBigInt64(o, LE) : (dv, o) => dv.getBigUint64(o, LE),
  };
}

/** Unsigned 64-bit integer, as a bigint (numbers are accepted on write). */
export const u64: Codec<bigint> = bigCodec("u64", false);
/** Signed 64-bit integer, as a bigint (numbers are accepted on write). */
export const i64: Codec<bigint> = bigCodec("i64", true);

function checkNumber(name: string, v: unknown): number {
  if (typeof v !== "number") {
    throw new InvalidArgumentError(`${name}: expected a number, got ${typeof v} ${String(v)}`);
  }
  return v;
}

/** 32-bit float. */
export const f32: Codec<number> = {
  size: 4,
  align: 4,
  name: "f32",
  write: (d, o, v) => d.setFloat32(o, checkNumber("f32", v), LE),
  read: (d, o) => d.getFloat32(o, LE),
};
/** 64-bit float. */
export const f64: Codec<number> = {
  size: 8,
  align: 8,
  name: "f64",
  write: (d, o, v) => d.setFloat64(o, checkNumber("f64", v), LE),
  read: (d, o) => d.getFloat64(o, LE),
};
/** A boolean stored in one byte (0 or 1; any non-zero byte reads as true). */
export const bool: Codec<boolean> = {
  size: 1,
  align: 1,
  name: "bool",
  write: (d, o, v) => {
    if (typeof v !== "boolean") {
      throw new InvalidArgumentError(`bool: expected true or false, got ${typeof v} ${String(v)}`);
    }
    d.setUint8(o, v ? 1 : 0);
  },
  read: (d, o) => d.getUint8(o) !== 0,
};

/** Zero bytes: the key codec of queues, stacks and bloom filters. */
export const empty: Codec<undefined> = {
  size: 0,
  align: 1,
  name: "empty",
  write: () => {},
  read: () => undefined,
};

function checkLength(name: string, n: number): void {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new InvalidArgumentError(`${name}: invalid length ${n}`);
  }
}

/** Exactly `n` raw bytes; read returns a fresh copy. */
export function bytes(n: number): Codec<Uint8Array> {
  checkLength("bytes", n);
  return {
    size: n,
    align: 1,
    name: `bytes(${n})`,
    write(dv, o, v) {
      if (!(v instanceof Uint8Array) || v.byteLength !== n) {
        throw new InvalidArgumentError(
          `bytes(${n}): expected a Uint8Array of ${n} bytes, got ${
            v instanceof Uint8Array ? `${v.byteLength} bytes` : typeof v
          }`,
        );
      }
      new Uint8Array(dv.buffer, dv.byteOffset + o, n).set(v);
    },
    read: (dv, o) => new Uint8Array(dv.buffer, dv.byteOffset + o, n).slice(),
  };
}

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

/**
 * A NUL-padded UTF-8 string in `n` bytes (`char name[n]`). Writing needs
 * room for the terminating NUL (at most `n - 1` bytes of text); reading
 * stops at the first NUL.
 */
export function cstring(n: number): Codec<string> {
  checkLength("cstring", n);
  if (n === 0) throw new InvalidArgumentError("cstring(0): a C string needs at least 1 byte");
  return {
    size: n,
    align: 1,
    name: `cstring(${n})`,
    write(dv, o, v) {
      if (typeof v !== "string") {
        throw new InvalidArgumentError(
          `cstring(${n}): expected a string, got ${typeof v} ${String(v)}`,
        );
      }
      const b = utf8.encode(v);
      if (b.includes(0)) throw new InvalidArgumentError(`cstring(${n}): the string has a NUL`);
      if (b.byteLength > n - 1) {
        throw new InvalidArgumentError(
          `cstring(${n}): ${JSON.stringify(v)} is ${b.byteLength} bytes; at most ${n - 1} fit`,
        );
      }
      const dst = new Uint8Array(dv.buffer, dv.byteOffset + o, n);
      dst.fill(0);
      dst.set(b);
    },
    read(dv, o) {
      const src = new Uint8Array(dv.buffer, dv.byteOffset + o, n);
      const end = src.indexOf(0);
      return utf8d.decode(src.subarray(0, end < 0 ? n : end));
    },
  };
}

/** `n` elements of `codec` in a row (`T name[n]`). */
export function arrayOf<T>(codec: Codec<T>, n: number): Codec<T[]> {
  checkLength("array", n);
  const stride = codec.size;
  return {
    size: stride * n,
    align: codec.align,
    name: `${codec.name}[${n}]`,
    write(dv, o, v) {
      if (!Array.isArray(v) || v.length !== n) {
        throw new InvalidArgumentError(
          `${codec.name}[${n}]: expected an array of ${n} elements, got ${
            Array.isArray(v) ? v.length : typeof v
          }`,
        );
      }
      for (let i = 0; i < n; i++) codec.write(dv, o + i * stride, v[i]);
    },
    read(dv, o) {
      const out: T[] = new Array(n);
      for (let i = 0; i < n; i++) out[i] = codec.read(dv, o + i * stride);
      return out;
    },
  };
}

/** A struct field: a codec (placed at its natural alignment) or a codec at an explicit offset. */
export type StructField = Codec<unknown> | { codec: Codec<unknown>; offset: number };

/** The JavaScript type of one struct field. */
export type FieldValue<F> = F extends Codec<infer T> ? T
  : F extends { codec: Codec<infer T> } ? T
  : never;

/** The object type a struct codec encodes. */
export type StructValue<F extends Record<string, StructField>> = {
  [K in keyof F]: FieldValue<F[K]>;
};

/** Options for {@linkcode struct}. */
export interface StructOptions {
  /** `__attribute__((packed))`: no padding between fields, alignment 1. */
  packed?: boolean;
  /** Minimum alignment of the struct (`__attribute__((aligned(n)))`). */
  align?: number;
  /** The total size, when it is larger than the fields need (explicit tail padding). */
  size?: number;
}

/** A struct codec, which also tells where each field lives. */
export interface StructCodec<T> extends Codec<T> {
  /** Each field's byte offset. */
  readonly offsets: Readonly<Record<string, number>>;
}

/**
 * A C struct: fields in declaration order, each at the next offset aligned
 * to its codec's alignment (or at an explicit `offset`), the size padded to
 * a multiple of the largest alignment, as a C compiler lays it out. Padding
 * is written as zeros.
 */
export function struct<F extends Record<string, StructField>>(
  fields: F,
  options: StructOptions = {},
): StructCodec<StructValue<F>> {
  const entries: [string, Codec<unknown>, number][] = [];
  let cursor = 0;
  let align = options.packed ? 1 : Math.max(1, options.align ?? 1);
  if (!Number.isInteger(align) || (align & (align - 1)) !== 0) {
    throw new InvalidArgumentError(`struct: align must be a power of two, got ${options.align}`);
  }
  for (const [name, f] of Object.entries(fields)) {
    const codec = "codec" in f ? f.codec : f;
    const a = options.packed ? 1 : codec.align;
    let offset: number;
    if ("codec" in f) {
      offset = f.offset;
      if (!Number.isInteger(offset) || offset < 0) {
        throw new InvalidArgumentError(`struct: field ${name} has invalid offset ${offset}`);
      }
    } else {
      offset = Math.ceil(cursor / a) * a;
    }
    for (const [other, oc, oo] of entries) {
      if (offset < oo + oc.size && oo < offset + codec.size) {
        throw new InvalidArgumentError(`struct: fields ${other} and ${name} overlap`);
      }
    }
    entries.push([name, codec, offset]);
    cursor = Math.max(cursor, offset + codec.size);
    align = Math.max(align, a);
  }
  let size = Math.ceil(cursor / align) * align;
  if (options.size !== undefined) {
    if (!Number.isInteger(options.size) || options.size < cursor) {
      throw new InvalidArgumentError(
        `struct: size ${options.size} is smaller than the fields need (${cursor} bytes)`,
      );
    }
    size = options.size;
  }
  const offsets: Record<string, number> = {};
  for (const [n, , o] of entries) offsets[n] = o;
  const desc = `struct{${entries.map(([n, c]) => `${n}:${c.name}`).join(",")}}`;
  return {
    size,
    align,
    name: desc,
    offsets,
    write(dv, o, v) {
      if (v === null || typeof v !== "object") {
        throw new InvalidArgumentError(`${desc}: expected an object, got ${v}`);
      }
      new Uint8Array(dv.buffer, dv.byteOffset + o, size).fill(0);
      const rec = v as Record<string, unknown>;
      for (const [n, c, fo] of entries) {
        if (!(n in rec)) throw new InvalidArgumentError(`${desc}: field ${n} is missing`);
        c.write(dv, o + fo, rec[n]);
      }
    },
    read(dv, o) {
      const out: Record<string, unknown> = {};
      for (const [n, c, fo] of entries) out[n] = c.read(dv, o + fo);
      return out as StructValue<F>;
    },
  };
}

/** Encodes `value` into a fresh buffer of `codec.size` bytes. */
export function encodeValue<T>(codec: Codec<T>, value: T): Uint8Array {
  const buf = new Uint8Array(codec.size);
  codec.write(new DataView(buf.buffer), 0, value);
  return buf;
}

/** Decodes `bytes`, which must be exactly `codec.size` long. */
export function decodeValue<T>(codec: Codec<T>, bytes: Uint8Array): T {
  if (bytes.byteLength !== codec.size) {
    throw new InvalidArgumentError(
      `${codec.name}: expected ${codec.size} bytes, got ${bytes.byteLength}`,
    );
  }
  return codec.read(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0);
}
