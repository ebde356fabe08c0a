/**
 * A raw dump of BTF in the exact text of `bpftool btf dump file F format raw`
 * (with `--base-btf B` for split BTF: only the split's own types).
 *
 * The text is produced as bytes straight from the type and string sections
 * (names are copied byte for byte, as bpftool's `printf("%s")` does), so the
 * byte-level functions are exact for any name; `dumpRaw` decodes the bytes
 * to strings line by line.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { BtfKind } from "../sys/abi.ts";
import { indexTypes, type RawSpec, rawSpec, Spec } from "./spec.ts";

/** Options of the raw dump functions. */
export interface DumpOptions {
  /** Also dump the base's types before the split's own (bpftool prints only the split's). */
  includeBase?: boolean;
}

/** Options of `dumpRawChunks`. */
export interface DumpChunkOptions extends DumpOptions {
  /** Approximate size of each chunk in bytes (chunks end at a type boundary). Default 1 MiB. */
  chunkSize?: number;
}

const enc = new TextEncoder();
const lit = (s: string): Uint8Array => enc.encode(s);

/** `BTF_KIND_*` names as bpftool prints them, by kind number. */
const KIND_NAMES = Object.keys(BtfKind).map((k) => k === "void" ? "UNKNOWN" : k.toUpperCase());
/** `"] KIND '"`, the text between a type's id and its name. */
const HEAD = KIND_NAMES.map((k) => lit(`] ${k} '`));
/** `"KIND '"`, for datasec entries. */
const KIND_Q = KIND_NAMES.map((k) => lit(`${k} '`));

const L_ANON = lit("(anon)");
const L_INVALID = lit("(invalid)");
const L_INT_SIZE = lit("' size=");
const L_BITS_OFFSET = lit(" bits_offset=");
const L_NR_BITS = lit(" nr_bits=");
const L_ENCODING = lit(" encoding=");
const L_TYPE_ID = lit("' type_id=");
const L_INDEX_TYPE_ID = lit(" index_type_id=");
const L_NR_ELEMS = lit(" nr_elems=");
const L_VLEN = lit(" vlen=");
const L_ITEM = lit("\n\t'");
const L_BITFIELD_SIZE = lit(" bitfield_size=");
const L_ENUM_SIGNED = lit("' encoding=SIGNED size=");
const L_ENUM_UNSIGNED = lit("' encoding=UNSIGNED size=");
const L_SIZE = lit(" size=");
const L_VAL = lit("' val=");
const L_LL = lit("LL");
const L_ULL = lit("ULL");
const L_FWD_STRUCT = lit("' fwd_kind=struct");
const L_FWD_UNION = lit("' fwd_kind=union");
const L_LINKAGE = lit(" linkage=");
const L_VAR_LINKAGE = lit(", linkage=");
const L_RET_TYPE_ID = lit("' ret_type_id=");
const L_SECINFO = lit("\n\ttype_id=");
const L_OFFSET = lit(" offset=");
const L_PAREN = lit(" (");
const L_PAREN_END = lit("')");
const L_COMPONENT_IDX = lit(" component_idx=");
const LINKAGES = [lit("static"), lit("global"), lit("extern")];
const L_UNKNOWN_LINKAGE = lit("(unknown)");
const INT_ENC: Uint8Array[] = [];
for (let i = 0; i < 16; i++) INT_ENC.push(lit("UNKN"));
INT_ENC[0] = lit("(none)");
INT_ENC[1] = lit("SIGNED");
INT_ENC[2] = lit("CHAR");
INT_ENC[4] = lit("BOOL");

/** Bytes kept free past the write position: enough for any run of fixed text and numbers. */
const SLACK = 512;

/** The output buffer; `b` is replaced when it grows. */
class Out {
  b: Uint8Array;
  p = 0;
  constructor(capacity: number) {
    this.b = new Uint8Array(capacity);
  }
  /** Grows so that `need` bytes past `p` fit; returns the (new) buffer. */
  grow(p: number, need: number): Uint8Array {
    const b = this.b;
    if (p + need <= b.length) return b;
    const nb = new Uint8Array(Math.max(b.length * 2, p + need + 65536));
    nb.set(b.subarray(0, p));
    this.b = nb;
    return nb;
  }
}

function putLit(b: Uint8Array, p: number, a: Uint8Array): number {
  for (let i = 0; i < a.length; i++) b[p++] = a[i];
  return p;
}

function putU32(b: Uint8Array, p: number, n: number): number {
  if (n < 10) {
    b[p] = 48 + n;
    return p + 1;
  }
  const len = n < 100
    ? 2
    : n < 1000
    ? 3
    : n < 10000
    ? 4
    : n < 100000
    ? 5
    : n < 1000000
    ? 6
    : n < 10000000
    ? 7
    : n < 100000000
    ? 8
    : n < 1000000000
    ? 9
    : 10;
  let e = p + len;
  const end = e;
  while (n >= 10) {
    const q = (n / 10) >>> 0;
    b[--e] = 48 + n - q * 10;
    n = q;
  }
  b[--e] = 48 + n;
  return end;
}

function putI32(b: Uint8Array, p: number, n: number): number {
  if (n < 0) {
    b[p++] = 45; // '-'
    return putU32(b, p, -n);
  }
  return putU32(b, p, n);
}

function putAscii(b: Uint8Array, p: number, s: string): number {
  for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
  return p;
}

/** Formats the types of one blob (`chain[0]`; names and ids resolve down the chain). */
class Dumper {
  readonly out: Out;
  readonly chain: RawSpec[];
  readonly words: Uint32Array;
  readonly offsets: Uint32Array;
  readonly strs: Uint8Array;
  readonly strBase: number;
  readonly firstId: number;
  /** `btf__type_cnt`: one past the last type id visible from the dumped blob. */
  readonly typeCnt: number;

  constructor(chain: RawSpec[], out: Out) {
    const r = chain[0];
    this.out = out;
    this.chain = chain;
    this.words = r.words;
    this.offsets = r.offsets;
    this.strs = r.strs;
    this.strBase = r.strBase;
    this.firstId = r.firstTypeId;
    this.typeCnt = r.firstTypeId + r.typeCount;
  }

  /**
   * Writes bpftool's `btf_str(off)` at `p`: `(anon)` for 0, `(invalid)` out
   * of range, else the bytes up to NUL. Returns the new position; `out.b`
   * may have grown (callers reload it).
   */
  name(p: number, off: number): number {
    let b = this.out.b;
    if (off === 0) return putLit(b, p, L_ANON);
    let strs = this.strs;
    let rel = off - this.strBase;
    if (rel < 0) {
      const chain = this.chain;
      let i = 1;
      while (off < chain[i].strBase) i++;
      strs = chain[i].strs;
      rel = off - chain[i].strBase;
    }
    if (rel >= strs.length) return putLit(b, p, L_INVALID);
    let lim = b.length - SLACK;
    for (;;) {
      const c = strs[rel++];
      if (c === 0) return p;
      if (p >= lim) {
        this.out.p = p;
        b = this.out.grow(p, SLACK * 2);
        lim = b.length - SLACK;
      }
      b[p++] = c;
    }
  }

  /** Appends type `idx` of the blob. */
  type(idx: number): void {
    const out = this.out;
    let p = out.p;
    let b = p + SLACK > out.b.length ? out.grow(p, SLACK) : out.b;
    const w = this.words;
    const o = this.offsets[idx];
    const info = w[o + 1];
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    b[p++] = 91; // '['
    p = putU32(b, p, this.firstId + idx);
    p = putLit(b, p, HEAD[kind]);
    p = this.name(p, w[o]);
    b = out.b;
    const st = w[o + 2];
    switch (kind) {
      case BtfKind.int: {
        const v = w[o + 3];
        p = putLit(b, p, L_INT_SIZE);
        p = putU32(b, p, st);
        p = putLit(b, p, L_BITS_OFFSET);
        p = putU32(b, p, (v >>> 16) & 0xff);
        p = putLit(b, p, L_NR_BITS);
        p = putU32(b, p, v & 0xff);
        p = putLit(b, p, L_ENCODING);
        p = putLit(b, p, INT_ENC[(v >>> 24) & 0x0f]);
        break;
      }
      case BtfKind.ptr:
      case BtfKind.typedef:
      case BtfKind.volatile:
      case BtfKind.const:
      case BtfKind.restrict:
      case BtfKind.type_tag:
        p = putLit(b, p, L_TYPE_ID);
        p = putU32(b, p, st);
        break;
      case BtfKind.array:
        p = putLit(b, p, L_TYPE_ID);
        p = putU32(b, p, w[o + 3]);
        p = putLit(b, p, L_INDEX_TYPE_ID);
        p = putU32(b, p, w[o + 4]);
        p = putLit(b, p, L_NR_ELEMS);
        p = putU32(b, p, w[o + 5]);
        break;
      case BtfKind.struct:
      case BtfKind.union:
        p = putLit(b, p, L_INT_SIZE);
        p = putU32(b, p, st);
        p = putLit(b, p, L_VLEN);
        p = putU32(b, p, vlen);
        p = this.members(p, o + 3, vlen, info >>> 31);
        break;
      case BtfKind.enum:
      case BtfKind.enum64:
        p = putLit(b, p, info >>> 31 ? L_ENUM_SIGNED : L_ENUM_UNSIGNED);
        p = putU32(b, p, st);
        p = putLit(b, p, L_VLEN);
        p = putU32(b, p, vlen);
        p = kind === BtfKind.enum
          ? this.enum32(p, o + 3, vlen, info >>> 31)
          : this.enum64(p, o + 3, vlen, info >>> 31);
        break;
      case BtfKind.fwd:
        p = putLit(b, p, info >>> 31 ? L_FWD_UNION : L_FWD_STRUCT);
        break;
      case BtfKind.func:
        p = putLit(b, p, L_TYPE_ID);
        p = putU32(b, p, st);
        p = putLit(b, p, L_LINKAGE);
        p = putLit(b, p, vlen < 3 ? LINKAGES[vlen] : L_UNKNOWN_LINKAGE);
        break;
      case BtfKind.func_proto:
        p = putLit(b, p, L_RET_TYPE_ID);
        p = putU32(b, p, st);
        p = putLit(b, p, L_VLEN);
        p = putU32(b, p, vlen);
        p = this.params(p, o + 3, vlen);
        break;
      case BtfKind.var: {
        const l = w[o + 3];
        p = putLit(b, p, L_TYPE_ID);
        p = putU32(b, p, st);
        p = putLit(b, p, L_VAR_LINKAGE);
        p = putLit(b, p, l < 3 ? LINKAGES[l] : L_UNKNOWN_LINKAGE);
        break;
      }
      case BtfKind.datasec:
        p = putLit(b, p, L_INT_SIZE);
        p = putU32(b, p, st);
        p = putLit(b, p, L_VLEN);
        p = putU32(b, p, vlen);
        p = this.secinfos(p, o + 3, vlen);
        break;
      case BtfKind.float:
        p = putLit(b, p, L_INT_SIZE);
        p = putU32(b, p, st);
        break;
      case BtfKind.decl_tag:
        p = putLit(b, p, L_TYPE_ID);
        p = putU32(b, p, st);
        p = putLit(b, p, L_COMPONENT_IDX);
        p = putI32(b, p, w[o + 3] | 0);
        break;
      default:
        break;
    }
    b = out.b;
    b[p++] = 10; // '\n'
    out.p = p;
  }

  members(p: number, m: number, vlen: number, kflag: number): number {
    const out = this.out;
    const w = this.words;
    let b = out.b;
    for (let i = 0; i < vlen; i++, m += 3) {
      if (p + SLACK > b.length) b = out.grow(p, SLACK);
      p = putLit(b, p, L_ITEM);
      p = this.name(p, w[m]);
      b = out.b;
      p = putLit(b, p, L_TYPE_ID);
      p = putU32(b, p, w[m + 1]);
      p = putLit(b, p, L_BITS_OFFSET);
      const off = w[m + 2];
      if (kflag) {
        p = putU32(b, p, off & 0xffffff);
        if (off >>> 24) {
          p = putLit(b, p, L_BITFIELD_SIZE);
          p = putU32(b, p, off >>> 24);
        }
      } else p = putU32(b, p, off);
    }
    return p;
  }

  params(p: number, m: number, vlen: number): number {
    const out = this.out;
    const w = this.words;
    let b = out.b;
    for (let i = 0; i < vlen; i++, m += 2) {
      if (p + SLACK > b.length) b = out.grow(p, SLACK);
      p = putLit(b, p, L_ITEM);
      p = this.name(p, w[m]);
      b = out.b;
      p = putLit(b, p, L_TYPE_ID);
      p = putU32(b, p, w[m + 1]);
    }
    return p;
  }

  enum32(p: number, m: number, vlen: number, signed: number): number {
    const out = this.out;
    const w = this.words;
    let b = out.b;
    for (let i = 0; i < vlen; i++, m += 2) {
      if (p + SLACK > b.length) b = out.grow(p, SLACK);
      p = putLit(b, p, L_ITEM);
      p = this.name(p, w[m]);
      b = out.b;
      p = putLit(b, p, L_VAL);
      p = signed ? putI32(b, p, w[m + 1] | 0) : putU32(b, p, w[m + 1]);
    }
    return p;
  }

  enum64(p: number, m: number, vlen: number, signed: number): number {
    const out = this.out;
    const w = this.words;
    let b = out.b;
    for (let i = 0; i < vlen; i++, m += 3) {
      if (p + SLACK > b.length) b = out.grow(p, SLACK);
      p = putLit(b, p, L_ITEM);
      p = this.name(p, w[m]);
      b = out.b;
      p = putLit(b, p, L_VAL);
      const lo = w[m + 1];
      const hi = w[m + 2];
      if (hi === 0) p = putU32(b, p, lo);
      else {
        const v = (BigInt(hi) << 32n) | BigInt(lo);
        p = putAscii(b, p, (signed ? BigInt.asIntN(64, v) : v).toString());
      }
      p = putLit(b, p, signed ? L_LL : L_ULL);
    }
    return p;
  }

  secinfos(p: number, m: number, vlen: number): number {
    const out = this.out;
    const w = this.words;
    let b = out.b;
    for (let i = 0; i < vlen; i++, m += 3) {
      if (p + SLACK > b.length) b = out.grow(p, SLACK);
      const t = w[m];
      p = putLit(b, p, L_SECINFO);
      p = putU32(b, p, t);
      p = putLit(b, p, L_OFFSET);
      p = putU32(b, p, w[m + 1]);
      p = putLit(b, p, L_SIZE);
      p = putU32(b, p, w[m + 2]);
      if (t < this.typeCnt) {
        p = putLit(b, p, L_PAREN);
        if (t === 0) {
          p = putLit(b, p, KIND_Q[0]);
          p = putLit(b, p, L_ANON);
        } else {
          const chain = this.chain;
          let level = 0;
          while (t < chain[level].firstTypeId) level++;
          const r = chain[level];
          const o = r.offsets[t - r.firstTypeId];
          p = putLit(b, p, KIND_Q[(r.words[o + 1] >>> 24) & 0x1f]);
          // bpftool resolves the name through the dumped blob, whoever owns the type.
          p = this.name(p, r.words[o]);
          b = out.b;
        }
        p = putLit(b, p, L_PAREN_END);
      }
    }
    return p;
  }
}

/** The spec chain from `spec` down to the root base. */
function chainOf(spec: Spec): RawSpec[] {
  const chain: RawSpec[] = [];
  for (let s: Spec | undefined = spec; s !== undefined; s = s.base) chain.push(rawSpec(s));
  return chain;
}

function checkSpec(spec: Spec): void {
  if (!(spec instanceof Spec)) throw new InvalidArgumentError("dump: spec must be a Spec");
}

/**
 * The raw dump as byte chunks of about `chunkSize` bytes, each ending at a
 * type boundary; the concatenation is byte-identical to bpftool's output.
 * Every chunk is a fresh buffer the caller may keep.
 */
export function* dumpRawChunks(
  spec: Spec,
  options: DumpChunkOptions = {},
): Generator<Uint8Array, void, undefined> {
  checkSpec(spec);
  const chunkSize = Math.max(1024, Math.min(options.chunkSize ?? 1 << 20, 1 << 30));
  const full = chainOf(spec);
  const levels = options.includeBase ? full.length : 1;
  warmUp();
  for (let level = levels - 1; level >= 0; level--) {
    // Names and ids resolve from the dumped blob's own level downwards.
    const out = new Out(chunkSize + 2 * SLACK);
    const d = new Dumper(full.slice(level), out);
    const count = full[level].typeCount;
    for (let idx = 0; idx < count;) {
      d.type(idx++);
      if (out.p >= chunkSize) {
        yield out.b.subarray(0, out.p);
        out.b = new Uint8Array(chunkSize + 2 * SLACK);
        out.p = 0;
      }
    }
    if (out.p > 0) yield out.b.subarray(0, out.p);
  }
}

let warmed = false;

/**
 * Formats a tiny blob with every kind once before the real work, so that
 * the optimizing compiler sees every branch and does not deoptimize when a
 * rare kind (a datasec, an enum64) first shows up deep into vmlinux.
 */
function warmUp(): void {
  if (warmed) return;
  warmed = true;
  // deno-fmt-ignore
  const words = new Uint32Array([
    1, 0x01000000, 4, 0x01000020, // INT
    0, 0x02000000, 1, // PTR
    0, 0x03000000, 0, 1, 1, 4, // ARRAY
    1, 0x84000002, 8, 1, 1, 0x03000000, 0, 2, 32, // STRUCT, kind flag, a bitfield
    0, 0x05000001, 4, 1, 1, 0, // UNION
    1, 0x86000001, 4, 1, 0xffffffff, // ENUM, signed
    1, 0x06000001, 4, 1, 7, // ENUM
    1, 0x07000000, 0, // FWD
    1, 0x08000000, 1, // TYPEDEF
    0, 0x09000000, 1, // VOLATILE
    0, 0x0a000000, 1, // CONST
    0, 0x0b000000, 2, // RESTRICT
    1, 0x0c000001, 14, // FUNC
    0, 0x0d000002, 1, 1, 1, 0, 0, // FUNC_PROTO
    1, 0x0e000000, 1, 1, // VAR
    1, 0x0f000002, 8, 15, 0, 4, 0, 4, 4, // DATASEC
    1, 0x10000000, 8, // FLOAT
    1, 0x11000000, 1, 0xffffffff, // DECL_TAG
    1, 0x12000000, 1, // TYPE_TAG
    1, 0x93000001, 8, 1, 0xffffffff, 0xffffffff, // ENUM64, signed
    1, 0x13000001, 8, 1, 5, 0, // ENUM64
  ]);
  const offsets = indexTypes(words, 0);
  const raw: RawSpec = {
    words,
    offsets,
    strs: new Uint8Array([0, 97, 0]),
    strBase: 0,
    firstTypeId: 1,
    typeCount: offsets.length,
    typeSecStart: 0,
    base: undefined,
  };
  const d = new Dumper([raw], new Out(4096));
  for (let round = 0; round < 2; round++) {
    d.out.p = 0;
    for (let i = 0; i < offsets.length; i++) d.type(i);
  }
}

/** The whole raw dump as one byte array (byte-identical to bpftool's output). */
export function dumpRawBytes(spec: Spec, options: DumpOptions = {}): Uint8Array {
  checkSpec(spec);
  const full = chainOf(spec);
  const levels = options.includeBase ? full.length : 1;
  let estimate = 2 * SLACK;
  for (let level = 0; level < levels; level++) {
    estimate += full[level].words.length * 10 + full[level].strs.length;
  }
  const out = new Out(estimate);
  warmUp();
  for (let level = levels - 1; level >= 0; level--) {
    const d = new Dumper(full.slice(level), out);
    const count = full[level].typeCount;
    for (let idx = 0; idx < count; idx++) d.type(idx);
  }
  return out.b.subarray(0, out.p);
}

/**
 * The raw dump, one string per line (without the newline), as bpftool
 * prints it. Names that are not valid UTF-8 are decoded lossily; use
 * `dumpRawChunks` or `dumpRawBytes` for the exact bytes.
 */
export function* dumpRaw(
  spec: Spec,
  options: DumpOptions = {},
): Generator<string, void, undefined> {
  const dec = new TextDecoder();
  for (const chunk of dumpRawChunks(spec, { ...options, chunkSize: 1 << 16 })) {
    const lines = dec.decode(chunk).split("\n");
    // Each chunk ends with "\n": the last element is empty.
    for (let i = 0; i < lines.length - 1; i++) yield lines[i];
  }
}
