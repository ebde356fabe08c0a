/**
 * A small synchronous gzip reader (RFC 1952 framing around RFC 1951
 * DEFLATE: stored, fixed and dynamic Huffman blocks), for files such as
 * `/proc/config.gz` that must be read without a Promise
 * (`DecompressionStream` has no synchronous form). Every malformed input is
 * a {@linkcode ParseError} (format `"gzip"`, with the byte offset); the
 * output is bounded by `maxBytes`, so no input can make it allocate without
 * limit or loop forever (every step consumes input or writes bounded
 * output).
 *
 * @module
 */

import { InvalidArgumentError, ParseError } from "../errors.ts";

/** The default bound on the decompressed size: 64 MiB (a kernel config is about 250 KiB). */
export const MAX_GUNZIP_BYTES = 64 * 1024 * 1024;

/** Options of {@linkcode gunzip} and {@linkcode inflateRaw}. */
export interface GunzipOptions {
  /**
   * The most bytes the output may have; more is a {@linkcode ParseError}.
   * Default {@linkcode MAX_GUNZIP_BYTES}.
   */
  maxBytes?: number;
  /** What is being decompressed, for error messages (e.g. the file's path). Default `"gzip data"`. */
  what?: string;
}

/** The result of {@linkcode inflateRaw}: the output and where the DEFLATE stream ended. */
export interface InflateResult {
  /** The decompressed bytes. */
  output: Uint8Array;
  /** The offset in the input of the first byte after the last block. */
  end: number;
}

/**
 * Decompresses gzip data (one or more concatenated members), checking each
 * member's CRC-32 and length.
 *
 * @throws {ParseError} for anything that is not valid gzip (naming
 * `options.what` and the offset), or output over `options.maxBytes`.
 * @throws {InvalidArgumentError} for a `maxBytes` that is not a non-negative integer.
 */
export function gunzip(data: Uint8Array, options: GunzipOptions = {}): Uint8Array {
  const what = options.what ?? "gzip data";
  const out = new Output(maxBytesOf(options), what);
  let pos = 0;
  do {
    pos = member(data, pos, out, what);
  } while (pos < data.length);
  return out.result();
}

/**
 * Decompresses a raw DEFLATE stream (RFC 1951, no zlib or gzip framing)
 * starting at `data[0]`.
 *
 * @throws {ParseError} for an invalid stream or output over `options.maxBytes`.
 * @throws {InvalidArgumentError} for a `maxBytes` that is not a non-negative integer.
 */
export function inflateRaw(data: Uint8Array, options: GunzipOptions = {}): InflateResult {
  const what = options.what ?? "deflate data";
  const out = new Output(maxBytesOf(options), what);
  const end = inflate(new Bits(data, 0, what), out);
  return { output: out.result(), end };
}

function maxBytesOf(options: GunzipOptions): number {
  const m = options.maxBytes ?? MAX_GUNZIP_BYTES;
  if (!Number.isSafeInteger(m) || m < 0) {
    throw new InvalidArgumentError(`gunzip: maxBytes must be a non-negative integer, not ${m}`);
  }
  return m;
}

function fail(what: string, message: string, offset: number): never {
  throw new ParseError("gzip", `${what}: ${message}`, { offset });
}

// ---- gzip framing (RFC 1952) ------------------------------------------------

const FHCRC = 2, FEXTRA = 4, FNAME = 8, FCOMMENT = 16;

/** Decodes the member at `pos` into `out`; returns the offset after it. */
function member(data: Uint8Array, pos: number, out: Output, what: string): number {
  const start = pos;
  const need = (n: number, field: string) => {
    if (pos + n > data.length) fail(what, `truncated gzip header (${field})`, pos);
  };
  if (data[pos] !== 0x1f || data[pos + 1] !== 0x8b) {
    if (start > 0) fail(what, `${data.length - pos} trailing bytes after the gzip data`, pos);
    fail(what, "not gzip (no 1f 8b magic at its start)", pos);
  }
  need(10, "fixed part");
  if (data[pos + 2] !== 8) fail(what, `unknown compression method ${data[pos + 2]}`, pos + 2);
  const flags = data[pos + 3];
  if (flags & 0xe0) fail(what, `reserved header flags set (0x${flags.toString(16)})`, pos + 3);
  pos += 10;
  if (flags & FEXTRA) {
    need(2, "extra length");
    const xlen = data[pos] | (data[pos + 1] << 8);
    pos += 2;
    need(xlen, "extra field");
    pos += xlen;
  }
  for (const [flag, field] of [[FNAME, "file name"], [FCOMMENT, "comment"]] as const) {
    if (!(flags & flag)) continue;
    const nul = data.indexOf(0, pos);
    if (nul < 0) fail(what, `truncated gzip header (${field} has no terminating NUL)`, pos);
    pos = nul + 1;
  }
  if (flags & FHCRC) {
    need(2, "header CRC");
    const want = data[pos] | (data[pos + 1] << 8);
    const got = crc32(data, start, pos) & 0xffff;
    if (got !== want) fail(what, "header CRC mismatch", pos);
    pos += 2;
  }
  const from = out.length;
  pos = inflate(new Bits(data, pos, what), out);
  if (pos + 8 > data.length) fail(what, "truncated gzip trailer (CRC-32 and length)", pos);
  const wantCrc = readU32(data, pos);
  const wantSize = readU32(data, pos + 4);
  const gotCrc = out.crc32(from);
  if (gotCrc !== wantCrc) {
    fail(what, `CRC-32 mismatch (data ${hex(gotCrc)}, trailer ${hex(wantCrc)})`, pos);
  }
  const size = (out.length - from) >>> 0;
  if (size !== wantSize) {
    fail(what, `length mismatch (data ${size} bytes, trailer ${wantSize})`, pos + 4);
  }
  return pos + 8;
}

function readU32(d: Uint8Array, p: number): number {
  return (d[p] | (d[p + 1] << 8) | (d[p + 2] << 16) | (d[p + 3] << 24)) >>> 0;
}

function hex(n: number): string {
  return `0x${n.toString(16).padStart(8, "0")}`;
}

let crcTable: Uint32Array | undefined;

/** CRC-32 (IEEE 802.3, as gzip uses) of `d[from, to)`. */
function crc32(d: Uint8Array, from: number, to: number): number {
  const t = crcTable ??= (() => {
    const table = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      table[n] = c >>> 0;
    }
    return table;
  })();
  let c = 0xffffffff;
  for (let i = from; i < to; i++) c = t[(c ^ d[i]) & 0xff] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

// ---- output ---------------------------------------------------------------

/** A growing output buffer that refuses to pass `max` bytes. */
class Output {
  buf: Uint8Array;
  length = 0;
  constructor(readonly max: number, readonly what: string) {
    this.buf = new Uint8Array(Math.min(max, 64 * 1024));
  }
  /** Makes room for `n` more bytes (at most `max` in all). */
  reserve(n: number, offset: number): void {
    const need = this.length + n;
    if (need > this.max) {
      fail(this.what, `decompresses to more than ${this.max} bytes (the bound)`, offset);
    }
    if (need <= this.buf.length) return;
    const next = new Uint8Array(Math.min(this.max, Math.max(need, this.buf.length * 2)));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }
  crc32(from: number): number {
    return crc32(this.buf, from, this.length);
  }
  result(): Uint8Array {
    return this.buf.slice(0, this.length);
  }
}

// ---- DEFLATE (RFC 1951) ---------------------------------------------------

/** An LSB-first bit reader over `data` from `pos`. */
class Bits {
  bitBuf = 0;
  bitCount = 0;
  constructor(readonly data: Uint8Array, public pos: number, readonly what: string) {}
  /** `n` (0..16) bits, LSB first. */
  bits(n: number): number {
    while (this.bitCount < n) {
      if (this.pos >= this.data.length) fail(this.what, "truncated deflate stream", this.pos);
      this.bitBuf |= this.data[this.pos++] << this.bitCount;
      this.bitCount += 8;
    }
    const v = this.bitBuf & ((1 << n) - 1);
    this.bitBuf >>>= n;
    this.bitCount -= n;
    return v;
  }
  /** Loads whole bytes until `n` bits are buffered or the input ends (never fails). */
  fill(n: number): void {
    while (this.bitCount < n && this.pos < this.data.length) {
      this.bitBuf |= this.data[this.pos++] << this.bitCount;
      this.bitCount += 8;
    }
  }
  /** Drops the bits left in the current byte; whole bytes loaded ahead go back to the input. */
  align(): void {
    this.pos -= this.bitCount >> 3;
    this.bitBuf = 0;
    this.bitCount = 0;
  }
}

const MAX_BITS = 15;
/** Codes of at most this many bits are decoded with one table lookup. */
const FAST_BITS = 9;

/**
 * A canonical Huffman code: how many codes of each length, the symbols in
 * code order, and a table indexed by the next FAST_BITS input bits
 * (`symbol << 4 | length`, or -1 for a longer or missing code).
 */
interface Huffman {
  count: Uint16Array;
  symbol: Uint16Array;
  fast: Int32Array;
}

/**
 * Builds the code for `lengths` (0 = unused symbol). Over-subscribed
 * lengths are refused; an incomplete code is accepted (as zlib accepts a
 * single distance code), and reading one of its missing codes is an error.
 */
function huffman(lengths: Uint8Array, what: string, which: string, offset: number): Huffman {
  const count = new Uint16Array(MAX_BITS + 1);
  for (const l of lengths) count[l]++;
  let left = 1;
  for (let len = 1; len <= MAX_BITS; len++) {
    left = left * 2 - count[len];
    if (left < 0) fail(what, `over-subscribed ${which} code lengths`, offset);
  }
  const offs = new Uint16Array(MAX_BITS + 1);
  for (let len = 1; len < MAX_BITS; len++) offs[len + 1] = offs[len] + count[len];
  const symbol = new Uint16Array(lengths.length);
  for (let s = 0; s < lengths.length; s++) if (lengths[s] !== 0) symbol[offs[lengths[s]]++] = s;
  count[0] = 0;
  // Canonical codes (RFC 1951 3.2.2), bit-reversed: the stream gives a code MSB first.
  const fast = new Int32Array(1 << FAST_BITS).fill(-1);
  const next = new Uint16Array(MAX_BITS + 2);
  for (let len = 1, code = 0; len <= MAX_BITS; len++) {
    code = (code + count[len - 1]) << 1;
    next[len] = code;
  }
  for (let s = 0; s < lengths.length; s++) {
    const len = lengths[s];
    if (len === 0) continue;
    const code = next[len]++;
    if (len > FAST_BITS) continue;
    let rev = 0;
    for (let k = 0; k < len; k++) rev |= ((code >> k) & 1) << (len - 1 - k);
    for (let i = rev; i < 1 << FAST_BITS; i += 1 << len) fast[i] = (s << 4) | len;
  }
  return { count, symbol, fast };
}

/** Reads one symbol of code `h`: one table lookup, else bit by bit (as zlib's puff does). */
function decode(b: Bits, h: Huffman, which: string): number {
  b.fill(FAST_BITS);
  const e = h.fast[b.bitBuf & ((1 << FAST_BITS) - 1)];
  if (e >= 0 && (e & 15) <= b.bitCount) {
    b.bitBuf >>>= e & 15;
    b.bitCount -= e & 15;
    return e >> 4;
  }
  let code = 0, first = 0, index = 0;
  for (let len = 1; len <= MAX_BITS; len++) {
    code |= b.bits(1);
    const n = h.count[len];
    if (code - n < first) return h.symbol[index + (code - first)];
    index += n;
    first = (first + n) << 1;
    code <<= 1;
  }
  return fail(b.what, `invalid ${which} code`, b.pos);
}

const LEN_BASE = [
  3,
  4,
  5,
  6,
  7,
  8,
  9,
  10,
  11,
  13,
  15,
  17,
  19,
  23,
  27,
  31,
  35,
  43,
  51,
  59,
  67,
  83,
  99,
  115,
  131,
  163,
  195,
  227,
  258,
];
const LEN_EXTRA = [
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  0,
  1,
  1,
  1,
  1,
  2,
  2,
  2,
  2,
  3,
  3,
  3,
  3,
  4,
  4,
  4,
  4,
  5,
  5,
  5,
  5,
  0,
];
const DIST_BASE = [
  1,
  2,
  3,
  4,
  5,
  7,
  9,
  13,
  17,
  25,
  33,
  49,
  65,
  97,
  129,
  193,
  257,
  385,
  513,
  769,
  1025,
  1537,
  2049,
  3073,
  4097,
  6145,
  8193,
  12289,
  16385,
  24577,
];
const DIST_EXTRA = [
  0,
  0,
  0,
  0,
  1,
  1,
  2,
  2,
  3,
  3,
  4,
  4,
  5,
  5,
  6,
  6,
  7,
  7,
  8,
  8,
  9,
  9,
  10,
  10,
  11,
  11,
  12,
  12,
  13,
  13,
];
/** The order in which a dynamic block gives the code length code's lengths. */
const CL_ORDER = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15];

let fixedCodes: { lit: Huffman; dist: Huffman } | undefined;

function fixed(what: string): { lit: Huffman; dist: Huffman } {
  if (fixedCodes) return fixedCodes;
  const l = new Uint8Array(288);
  l.fill(8, 0, 144);
  l.fill(9, 144, 256);
  l.fill(7, 256, 280);
  l.fill(8, 280, 288);
  const d = new Uint8Array(30).fill(5);
  return fixedCodes = {
    lit: huffman(l, what, "literal/length", 0),
    dist: huffman(d, what, "distance", 0),
  };
}

function dynamic(b: Bits): { lit: Huffman; dist: Huffman } {
  const what = b.what;
  const at = b.pos;
  const nlen = b.bits(5) + 257;
  const ndist = b.bits(5) + 1;
  const ncode = b.bits(4) + 4;
  if (nlen > 286) fail(what, `${nlen} literal/length codes (at most 286)`, at);
  if (ndist > 30) fail(what, `${ndist} distance codes (at most 30)`, at);
  const clLengths = new Uint8Array(19);
  for (let i = 0; i < ncode; i++) clLengths[CL_ORDER[i]] = b.bits(3);
  const cl = huffman(clLengths, what, "code length", b.pos);
  const lengths = new Uint8Array(nlen + ndist);
  let i = 0;
  while (i < nlen + ndist) {
    const sym = decode(b, cl, "code length");
    if (sym < 16) {
      lengths[i++] = sym;
      continue;
    }
    let value = 0, repeat: number;
    if (sym === 16) {
      if (i === 0) fail(what, "repeat of a code length with none before it", b.pos);
      value = lengths[i - 1];
      repeat = 3 + b.bits(2);
    } else if (sym === 17) repeat = 3 + b.bits(3);
    else repeat = 11 + b.bits(7);
    if (i + repeat > nlen + ndist) fail(what, "code lengths repeat past their end", b.pos);
    lengths.fill(value, i, i + repeat);
    i += repeat;
  }
  if (lengths[256] === 0) fail(what, "no end-of-block code", b.pos);
  return {
    lit: huffman(lengths.subarray(0, nlen), what, "literal/length", b.pos),
    dist: huffman(lengths.subarray(nlen), what, "distance", b.pos),
  };
}

/** Decodes blocks until the last one; returns the offset of the byte after it. */
function inflate(b: Bits, out: Output): number {
  const what = b.what;
  let last: number;
  do {
    last = b.bits(1);
    const type = b.bits(2);
    if (type === 0) stored(b, out);
    else if (type === 3) fail(what, "invalid block type 3", b.pos);
    else {
      const { lit, dist } = type === 1 ? fixed(what) : dynamic(b);
      codes(b, out, lit, dist);
    }
  } while (!last);
  // Unused bits of the last byte belong to no one; the stream ends with it.
  b.align();
  return b.pos;
}

function stored(b: Bits, out: Output): void {
  b.align();
  const d = b.data;
  const p = b.pos;
  if (p + 4 > d.length) fail(b.what, "truncated stored block header", p);
  const len = d[p] | (d[p + 1] << 8);
  const nlen = d[p + 2] | (d[p + 3] << 8);
  if (len !== (~nlen & 0xffff)) {
    fail(b.what, "stored block length does not match its complement", p);
  }
  if (p + 4 + len > d.length) fail(b.what, "truncated stored block", p + 4);
  out.reserve(len, p);
  out.buf.set(d.subarray(p + 4, p + 4 + len), out.length);
  out.length += len;
  b.pos = p + 4 + len;
}

function codes(b: Bits, out: Output, lit: Huffman, dist: Huffman): void {
  for (;;) {
    const sym = decode(b, lit, "literal/length");
    if (sym < 256) {
      out.reserve(1, b.pos);
      out.buf[out.length++] = sym;
      continue;
    }
    if (sym === 256) return;
    const li = sym - 257;
    if (li >= 29) fail(b.what, `invalid length symbol ${sym}`, b.pos);
    const len = LEN_BASE[li] + b.bits(LEN_EXTRA[li]);
    const ds = decode(b, dist, "distance");
    if (ds >= 30) fail(b.what, `invalid distance symbol ${ds}`, b.pos);
    const distance = DIST_BASE[ds] + b.bits(DIST_EXTRA[ds]);
    if (distance > out.length) {
      fail(b.what, `distance ${distance} reaches before the start of the output`, b.pos);
    }
    out.reserve(len, b.pos);
    const buf = out.buf;
    let o = out.length;
    for (let k = 0; k < len; k++, o++) buf[o] = buf[o - distance];
    out.length = o;
  }
}
