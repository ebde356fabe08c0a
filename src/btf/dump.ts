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
import { type RawSpec, rawSpec, Spec } from "./spec.ts";

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

const KIND_STR = [
  "UNKNOWN",
  "INT",
  "PTR",
  "ARRAY",
  "STRUCT",
  "UNION",
  "ENUM",
  "FWD",
  "TYPEDEF",
  "VOLATILE",
  "CONST",
  "RESTRICT",
  "FUNC",
  "FUNC_PROTO",
  "VAR",
  "DATASEC",
  "FLOAT",
  "DECL_TAG",
  "TYPE_TAG",
  "ENUM64",
].map(lit);
const UNKNOWN_KIND = KIND_STR[0];

const L_OPEN = lit("[");
const L_CLOSE = lit("] ");
const L_QUOTE = lit(" '");
const L_ANON = lit("(anon)");
const L_INVALID = lit("(invalid)");
const L_SIZE = lit("' size=");
const L_BITS_OFFSET = lit(" bits_offset=");
const L_NR_BITS = lit(" nr_bits=");
const L_ENCODING = lit(" encoding=");
const L_TYPE_ID = lit("' type_id=");
const L_INDEX_TYPE_ID = lit(" index_type_id=");
const L_NR_ELEMS = lit(" nr_elems=");
const L_VLEN = lit(" vlen=");
const L_NL_TAB_Q = lit("\n\t'");
const L_MEMBER_TYPE_ID = lit("' type_id=");
const L_BITFIELD_SIZE = lit(" bitfield_size=");
const L_ENUM_ENCODING = lit("' encoding=");
const L_SIGNED = lit("SIGNED");
const L_UNSIGNED = lit("UNSIGNED");
const L_SIZE2 = lit(" size=");
const L_VAL = lit("' val=");
const L_LL = lit("LL");
const L_ULL = lit("ULL");
const L_FWD_KIND = lit("' fwd_kind=");
const L_STRUCT = lit("struct");
const L_UNION = lit("union");
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
const INT_ENC: Record<number, Uint8Array> = {
  0: lit("(none)"),
  1: lit("SIGNED"),
  2: lit("CHAR"),
  4: lit("BOOL"),
};
const L_UNKN = lit("UNKN");

/** Formats types of one blob into a growable byte buffer. */
class Dumper {
  buf: Uint8Array;
  pos = 0;
  /** The blob being dumped, then its bases: where names and type ids are resolved. */
  readonly chain: RawSpec[];
  /** `btf__type_cnt`: one past the last type id visible from the dumped blob. */
  readonly typeCnt: number;

  constructor(chain: RawSpec[], capacity: number) {
    this.chain = chain;
    const top = chain[0];
    this.typeCnt = top.firstTypeId + top.typeCount;
    this.buf = new Uint8Array(capacity);
  }

  ensure(n: number): void {
    if (this.pos + n > this.buf.length) {
      const nb = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n + 4096));
      nb.set(this.buf.subarray(0, this.pos));
      this.buf = nb;
    }
  }

  lit(a: Uint8Array): void {
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < a.length; i++) b[p++] = a[i];
    this.pos = p;
  }

  u32(n: number): void {
    const b = this.buf;
    const p = this.pos;
    if (n < 10) {
      b[p] = 48 + n;
      this.pos = p + 1;
      return;
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
    this.pos = e;
    while (n >= 10) {
      const q = (n / 10) >>> 0;
      b[--e] = 48 + n - q * 10;
      n = q;
    }
    b[--e] = 48 + n;
  }

  i32(n: number): void {
    if (n < 0) {
      this.buf[this.pos++] = 45; // '-'
      this.u32(-n);
    } else this.u32(n);
  }

  ascii(s: string): void {
    this.ensure(s.length + 64);
    const b = this.buf;
    let p = this.pos;
    for (let i = 0; i < s.length; i++) b[p++] = s.charCodeAt(i);
    this.pos = p;
  }

  /** bpftool's `btf_str`: `(anon)` for 0, `(invalid)` when out of range, else the bytes. */
  name(off: number, level: number): void {
    if (off === 0) {
      this.lit(L_ANON);
      return;
    }
    const chain = this.chain;
    let r = chain[level];
    while (off < r.strBase) r = chain[++level];
    const rel = off - r.strBase;
    const strs = r.strs;
    if (rel >= strs.length) {
      this.lit(L_INVALID);
      return;
    }
    const end = strs.indexOf(0, rel);
    const len = end - rel;
    this.ensure(len + 256);
    const b = this.buf;
    let p = this.pos;
    if (len < 64) {
      for (let i = rel; i < end; i++) b[p++] = strs[i];
    } else {
      b.set(strs.subarray(rel, end), p);
      p += len;
    }
    this.pos = p;
  }

  /** Appends the dump of type `idx` of `chain[level]`. */
  type(level: number, idx: number): void {
    const r = this.chain[level];
    const w = r.words;
    const o = r.offsets[idx];
    const info = w[o + 1];
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const kflag = info >>> 31;
    this.ensure(320);
    this.lit(L_OPEN);
    this.u32(r.firstTypeId + idx);
    this.lit(L_CLOSE);
    this.lit(KIND_STR[kind]);
    this.lit(L_QUOTE);
    this.name(w[o], level);
    const st = w[o + 2];
    switch (kind) {
      case 1: { // INT
        const v = w[o + 3];
        this.lit(L_SIZE);
        this.u32(st);
        this.lit(L_BITS_OFFSET);
        this.u32((v >>> 16) & 0xff);
        this.lit(L_NR_BITS);
        this.u32(v & 0xff);
        this.lit(L_ENCODING);
        this.lit(INT_ENC[(v >>> 24) & 0x0f] ?? L_UNKN);
        break;
      }
      case 2: // PTR
      case 8: // TYPEDEF
      case 9: // VOLATILE
      case 10: // CONST
      case 11: // RESTRICT
      case 18: // TYPE_TAG
        this.lit(L_TYPE_ID);
        this.u32(st);
        break;
      case 3: // ARRAY
        this.lit(L_TYPE_ID);
        this.u32(w[o + 3]);
        this.lit(L_INDEX_TYPE_ID);
        this.u32(w[o + 4]);
        this.lit(L_NR_ELEMS);
        this.u32(w[o + 5]);
        break;
      case 4: // STRUCT
      case 5: { // UNION
        this.lit(L_SIZE);
        this.u32(st);
        this.lit(L_VLEN);
        this.u32(vlen);
        for (let i = 0, m = o + 3; i < vlen; i++, m += 3) {
          this.ensure(160);
          this.lit(L_NL_TAB_Q);
          this.name(w[m], level);
          this.lit(L_MEMBER_TYPE_ID);
          this.u32(w[m + 1]);
          this.lit(L_BITS_OFFSET);
          const off = w[m + 2];
          if (kflag) {
            this.u32(off & 0xffffff);
            const sz = off >>> 24;
            if (sz !== 0) {
              this.lit(L_BITFIELD_SIZE);
              this.u32(sz);
            }
          } else this.u32(off);
        }
        break;
      }
      case 6: // ENUM
      case 19: { // ENUM64
        this.lit(L_ENUM_ENCODING);
        this.lit(kflag ? L_SIGNED : L_UNSIGNED);
        this.lit(L_SIZE2);
        this.u32(st);
        this.lit(L_VLEN);
        this.u32(vlen);
        if (kind === 6) {
          for (let i = 0, m = o + 3; i < vlen; i++, m += 2) {
            this.ensure(160);
            this.lit(L_NL_TAB_Q);
            this.name(w[m], level);
            this.lit(L_VAL);
            if (kflag) this.i32(w[m + 1] | 0);
            else this.u32(w[m + 1]);
          }
        } else {
          for (let i = 0, m = o + 3; i < vlen; i++, m += 3) {
            this.ensure(160);
            this.lit(L_NL_TAB_Q);
            this.name(w[m], level);
            this.lit(L_VAL);
            const lo = w[m + 1];
            const hi = w[m + 2];
            if (hi === 0) this.u32(lo);
            else {
              let v = (BigInt(hi) << 32n) | BigInt(lo);
              if (kflag) v = BigInt.asIntN(64, v);
              this.ascii(v.toString());
            }
            this.lit(kflag ? L_LL : L_ULL);
          }
        }
        break;
      }
      case 7: // FWD
        this.lit(L_FWD_KIND);
        this.lit(kflag ? L_UNION : L_STRUCT);
        break;
      case 12: // FUNC
        this.lit(L_TYPE_ID);
        this.u32(st);
        this.lit(L_LINKAGE);
        this.lit(LINKAGES[vlen] ?? L_UNKNOWN_LINKAGE);
        break;
      case 13: // FUNC_PROTO
        this.lit(L_RET_TYPE_ID);
        this.u32(st);
        this.lit(L_VLEN);
        this.u32(vlen);
        for (let i = 0, m = o + 3; i < vlen; i++, m += 2) {
          this.ensure(160);
          this.lit(L_NL_TAB_Q);
          this.name(w[m], level);
          this.lit(L_MEMBER_TYPE_ID);
          this.u32(w[m + 1]);
        }
        break;
      case 14: // VAR
        this.lit(L_TYPE_ID);
        this.u32(st);
        this.lit(L_VAR_LINKAGE);
        this.lit(LINKAGES[w[o + 3]] ?? L_UNKNOWN_LINKAGE);
        break;
      case 15: // DATASEC
        this.lit(L_SIZE);
        this.u32(st);
        this.lit(L_VLEN);
        this.u32(vlen);
        for (let i = 0, m = o + 3; i < vlen; i++, m += 3) {
          const t = w[m];
          this.ensure(160);
          this.lit(L_SECINFO);
          this.u32(t);
          this.lit(L_OFFSET);
          this.u32(w[m + 1]);
          this.lit(L_SIZE2);
          this.u32(w[m + 2]);
          if (t < this.typeCnt) this.secinfoTarget(t);
        }
        break;
      case 16: // FLOAT
        this.lit(L_SIZE);
        this.u32(st);
        break;
      case 17: // DECL_TAG
        this.lit(L_TYPE_ID);
        this.u32(st);
        this.lit(L_COMPONENT_IDX);
        this.i32(w[o + 3] | 0);
        break;
      default:
        break;
    }
    this.ensure(1);
    this.buf[this.pos++] = 10; // "\n"
  }

  /** The ` (KIND 'name')` suffix of a datasec entry. */
  secinfoTarget(id: number): void {
    this.lit(L_PAREN);
    if (id === 0) {
      this.lit(UNKNOWN_KIND);
      this.lit(L_QUOTE);
      this.lit(L_ANON);
    } else {
      const chain = this.chain;
      let level = 0;
      while (id < chain[level].firstTypeId) level++;
      const r = chain[level];
      const o = r.offsets[id - r.firstTypeId];
      this.lit(KIND_STR[(r.words[o + 1] >>> 24) & 0x1f]);
      this.lit(L_QUOTE);
      // bpftool resolves the name through the dumped blob, not the owner.
      this.name(r.words[o], 0);
    }
    this.lit(L_PAREN_END);
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
  for (let level = levels - 1; level >= 0; level--) {
    // Names and ids resolve from the dumped blob's own level downwards.
    const d = new Dumper(full.slice(level), chunkSize + 4096);
    const count = full[level].typeCount;
    for (let idx = 0; idx < count;) {
      d.type(0, idx++);
      if (d.pos >= chunkSize) {
        yield d.buf.subarray(0, d.pos);
        d.buf = new Uint8Array(chunkSize + 4096);
        d.pos = 0;
      }
    }
    if (d.pos > 0) yield d.buf.subarray(0, d.pos);
  }
}

/** The whole raw dump as one byte array (byte-identical to bpftool's output). */
export function dumpRawBytes(spec: Spec, options: DumpOptions = {}): Uint8Array {
  checkSpec(spec);
  const full = chainOf(spec);
  const levels = options.includeBase ? full.length : 1;
  let estimate = 4096;
  for (let level = 0; level < levels; level++) {
    estimate += full[level].words.length * 9 + full[level].strs.length;
  }
  const parts: Uint8Array[] = [];
  for (let level = levels - 1; level >= 0; level--) {
    const d = new Dumper(full.slice(level), estimate);
    const count = full[level].typeCount;
    for (let idx = 0; idx < count; idx++) d.type(0, idx);
    parts.push(d.buf.subarray(0, d.pos));
  }
  if (parts.length === 1) return parts[0];
  const total = parts.reduce((n, p) => n + p.length, 0);
  const out = new Uint8Array(total);
  let p = 0;
  for (const part of parts) {
    out.set(part, p);
    p += part.length;
  }
  return out;
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
