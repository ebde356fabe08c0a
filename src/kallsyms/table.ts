/**
 * The byte-level kallsyms parser. It turns `/proc/kallsyms` text, pushed in
 * chunks of any size, into compact typed arrays and a name hash table, without
 * making a string per line: names stay bytes in an arena until asked for.
 *
 * Line format (see `s_show()` in kernel/kallsyms.c):
 * `ADDRESS TYPE NAME` or `ADDRESS TYPE NAME\t[MODULE]`, one per line.
 *
 * @module
 */

import { InvalidArgumentError, ParseError } from "../errors.ts";

/** Longest accepted address, in hex digits (a 64-bit `%px`). */
export const MAX_ADDRESS_DIGITS = 16;
/** Longest accepted symbol name in bytes (KSYM_NAME_LEN is 512 since 6.1; keep headroom). */
export const MAX_NAME_BYTES = 1023;
/** Longest accepted module name in bytes (MODULE_NAME_LEN is 56). */
export const MAX_MODULE_BYTES = 255;
/** Longest accepted line in bytes, line feed excluded. */
export const MAX_LINE_BYTES = 2048;

/** The parsed table, shared by the `Kallsyms` class. Internal. */
export interface KallsymsTable {
  /** Number of entries. */
  count: number;
  /** High 32 bits of each address. */
  hi: Uint32Array;
  /** Low 32 bits of each address. */
  lo: Uint32Array;
  /** Type letter of each entry, as a byte. */
  types: Uint8Array;
  /** Module of each entry: 0 for vmlinux, else 1 + index into `moduleNames`. */
  mods: Int32Array;
  /** Start of each name in `arena`. */
  nameStart: Int32Array;
  /** Byte length of each name. */
  nameLen: Uint16Array;
  /** FNV-1a hash of each name. */
  hashes: Uint32Array;
  /** Name bytes, back to back. */
  arena: Uint8Array;
  /** Open-addressing hash table: slot → 1 + index of the first entry with that name, 0 empty. */
  slots: Int32Array;
  /** For each entry, 1 + index of the next entry with the same name, 0 at the end. */
  next: Int32Array;
  /** Module names, in order of first appearance. */
  moduleNames: string[];
  /** Lines skipped as malformed (non-strict parsing only). */
  skippedLines: number;
  /** True when there is at least one entry and every address is zero. */
  restricted: boolean;
}

/** Hex digit value of each byte, -1 when not a hex digit. */
const HEX = /* @__PURE__ */ (() => {
  const t = new Int8Array(256).fill(-1);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[0x41 + i] = 10 + i;
    t[0x61 + i] = 10 + i;
  }
  return t;
})();

/** FNV-1a 32-bit offset basis. */
export const FNV_OFFSET = 0x811c9dc5;
/** FNV-1a 32-bit prime. */
export const FNV_PRIME = 16777619;

/** FNV-1a hash of a JS string's code units; -1 when a unit can't be in a name. */
export function hashName(name: string): number {
  let h = FNV_OFFSET;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    if (c <= 0x20 || c >= 0x7f) return -1;
    h = Math.imul(h ^ c, FNV_PRIME);
  }
  return h >>> 0;
}

/** Thrown internally for a malformed line; turned into a ParseError or a skip. */
class LineError {
  constructor(readonly message: string) {}
}

/**
 * Incremental builder of a {@link KallsymsTable}. Feed it bytes with
 * {@link TableBuilder.push} and end with {@link TableBuilder.finish}.
 */
export class TableBuilder {
  #strict: boolean;
  #line = 0;
  #count = 0;
  #hi = new Uint32Array(4096);
  #lo = new Uint32Array(4096);
  #types = new Uint8Array(4096);
  #mods = new Int32Array(4096);
  #nameStart = new Int32Array(4096);
  #nameLen = new Uint16Array(4096);
  #hashes = new Uint32Array(4096);
  #arena = new Uint8Array(64 * 1024);
  #arenaLen = 0;
  #moduleNames: string[] = [];
  #moduleIds = new Map<string, number>();
  #lastModBytes = new Uint8Array(0);
  #lastModId = 0;
  #skipped = 0;
  #allZero = true;
  /** Bytes of an unfinished line carried over from the previous chunk. */
  #carry = new Uint8Array(MAX_LINE_BYTES + 1);
  #carryLen = 0;
  /** Non-strict mode: dropping the rest of an overlong line. */
  #discarding = false;
  #finished = false;

  /** `strict`: throw a ParseError on a malformed line (else skip and count it). */
  constructor(strict: boolean) {
    this.#strict = strict;
  }

  /** Parses the complete lines of `chunk`, keeping an unfinished last line for later. */
  push(chunk: Uint8Array): void {
    if (this.#finished) throw new InvalidArgumentError("kallsyms parser already finished");
    let pos = 0;
    const n = chunk.length;
    if (this.#carryLen > 0 || this.#discarding) {
      const nl = chunk.indexOf(0x0a);
      const end = nl < 0 ? n : nl;
      if (this.#discarding) {
        if (nl < 0) return;
        this.#discarding = false;
        this.#line++;
      } else if (this.#carryLen + end > MAX_LINE_BYTES) {
        this.#carryLen = 0;
        this.#overlong(); // throws when strict, else starts discarding
        if (nl < 0) return;
        this.#discarding = false;
        this.#line++;
      } else {
        this.#carry.set(chunk.subarray(0, end), this.#carryLen);
        this.#carryLen += end;
        if (nl < 0) return;
        const len = this.#carryLen;
        this.#carryLen = 0;
        this.#line++;
        this.#parseLine(this.#carry, 0, len);
      }
      pos = nl + 1;
    }
    while (pos < n) {
      const nl = chunk.indexOf(0x0a, pos);
      if (nl < 0) {
        const rest = n - pos;
        if (rest > MAX_LINE_BYTES) {
          this.#overlong();
        } else {
          this.#carry.set(chunk.subarray(pos), 0);
          this.#carryLen = rest;
        }
        return;
      }
      this.#line++;
      if (nl - pos > MAX_LINE_BYTES) {
        this.#lineError(`line longer than ${MAX_LINE_BYTES} bytes`);
      } else {
        this.#parseLine(chunk, pos, nl);
      }
      pos = nl + 1;
    }
  }

  /** Parses what is left (a last line without a line feed) and returns the table. */
  finish(): KallsymsTable {
    if (this.#finished) throw new InvalidArgumentError("kallsyms parser already finished");
    if (this.#carryLen > 0) {
      this.#line++;
      const len = this.#carryLen;
      this.#carryLen = 0;
      this.#parseLine(this.#carry, 0, len);
    } else if (this.#discarding) {
      this.#discarding = false;
    }
    this.#finished = true;
    return this.#build();
  }

  #overlong(): void {
    // The line number is that of the line being discarded.
    const line = this.#line + 1;
    if (this.#strict) {
      throw new ParseError("kallsyms", `line longer than ${MAX_LINE_BYTES} bytes`, {
        offset: line,
      });
    }
    this.#skipped++;
    this.#discarding = true;
  }

  #lineError(message: string): void {
    if (this.#strict) throw new ParseError("kallsyms", message, { offset: this.#line });
    this.#skipped++;
  }

  #grow(): void {
    const cap = this.#hi.length * 2;
    const g = <T extends Uint32Array | Uint8Array | Int32Array | Uint16Array>(
      a: T,
      make: (n: number) => T,
    ): T => {
      const b = make(cap);
      b.set(a);
      return b;
    };
    this.#hi = g(this.#hi, (n) => new Uint32Array(n));
    this.#lo = g(this.#lo, (n) => new Uint32Array(n));
    this.#types = g(this.#types, (n) => new Uint8Array(n));
    this.#mods = g(this.#mods, (n) => new Int32Array(n));
    this.#nameStart = g(this.#nameStart, (n) => new Int32Array(n));
    this.#nameLen = g(this.#nameLen, (n) => new Uint16Array(n));
    this.#hashes = g(this.#hashes, (n) => new Uint32Array(n));
  }

  /** Parses `b[s, e)` (one line, line feed excluded). */
  #parseLine(b: Uint8Array, s: number, e: number): void {
    if (e > s && b[e - 1] === 0x0d) e--;
    if (e === s) return; // empty line
    try {
      this.#parseFields(b, s, e);
    } catch (err) {
      if (err instanceof LineError) this.#lineError(err.message);
      else throw err;
    }
  }

  #parseFields(b: Uint8Array, s: number, e: number): void {
    // Address.
    let p = s;
    let hi = 0;
    let lo = 0;
    while (p < e) {
      const d = HEX[b[p]];
      if (d < 0) break;
      if (p - s === MAX_ADDRESS_DIGITS) {
        throw new LineError(`address longer than ${MAX_ADDRESS_DIGITS} hex digits`);
      }
      hi = ((hi << 4) | (lo >>> 28)) >>> 0;
      lo = ((lo << 4) | d) >>> 0;
      p++;
    }
    if (p === s) throw new LineError("missing or non-hex address");
    if (p >= e) throw new LineError("missing symbol type and name");
    if (b[p] !== 0x20) throw new LineError(`unexpected byte 0x${hex2(b[p])} in address`);
    p++;
    // Type.
    if (p >= e) throw new LineError("missing symbol type");
    const type = b[p];
    if (type <= 0x20 || type >= 0x7f) {
      throw new LineError(`invalid symbol type byte 0x${hex2(type)}`);
    }
    p++;
    if (p >= e) throw new LineError("missing symbol name");
    if (b[p] !== 0x20) throw new LineError("symbol type must be a single character");
    p++;
    // Name, hashed and copied into the arena as it is scanned.
    if (this.#arenaLen + MAX_NAME_BYTES + 1 > this.#arena.length) {
      const a = new Uint8Array(this.#arena.length * 2);
      a.set(this.#arena.subarray(0, this.#arenaLen));
      this.#arena = a;
    }
    const arena = this.#arena;
    const ns = p;
    const limit = Math.min(e, ns + MAX_NAME_BYTES + 1);
    let w = this.#arenaLen;
    let h = FNV_OFFSET;
    while (p < limit) {
      const c = b[p];
      if (c <= 0x20 || c >= 0x7f) break;
      h = Math.imul(h ^ c, FNV_PRIME);
      arena[w++] = c;
      p++;
    }
    const nlen = p - ns;
    if (nlen === 0) throw new LineError("missing symbol name");
    if (nlen > MAX_NAME_BYTES) {
      throw new LineError(`symbol name longer than ${MAX_NAME_BYTES} bytes`);
    }
    // Optional module column: "\t[name]".
    let mod = 0;
    if (p < e) {
      if (b[p] !== 0x09) throw new LineError(`unexpected byte 0x${hex2(b[p])} after symbol name`);
      p++;
      if (p >= e || b[p] !== 0x5b) throw new LineError("module column must be [name]");
      p++;
      const ms = p;
      while (p < e && b[p] !== 0x5d) {
        const c = b[p];
        if (c <= 0x20 || c >= 0x7f || c === 0x5b) {
          throw new LineError(`unexpected byte 0x${hex2(c)} in module name`);
        }
        p++;
      }
      if (p >= e) throw new LineError("unterminated module name");
      const me = p;
      if (me === ms) throw new LineError("empty module name");
      if (me - ms > MAX_MODULE_BYTES) {
        throw new LineError(`module name longer than ${MAX_MODULE_BYTES} bytes`);
      }
      p++;
      if (p !== e) throw new LineError("trailing bytes after module name");
      mod = this.#moduleId(b, ms, me);
    }
    // Commit.
    const i = this.#count;
    if (i === this.#hi.length) this.#grow();
    this.#hi[i] = hi;
    this.#lo[i] = lo;
    if (hi !== 0 || lo !== 0) this.#allZero = false;
    this.#types[i] = type;
    this.#mods[i] = mod;
    this.#nameStart[i] = this.#arenaLen;
    this.#nameLen[i] = nlen;
    this.#hashes[i] = h >>> 0;
    this.#arenaLen = w;
    this.#count = i + 1;
  }

  #moduleId(b: Uint8Array, s: number, e: number): number {
    const last = this.#lastModBytes;
    const len = e - s;
    if (len === last.length) {
      let same = true;
      for (let k = 0; k < len; k++) {
        if (b[s + k] !== last[k]) {
          same = false;
          break;
        }
      }
      if (same) return this.#lastModId;
    }
    const name = String.fromCharCode.apply(null, b.subarray(s, e) as unknown as number[]);
    let id = this.#moduleIds.get(name);
    if (id === undefined) {
      this.#moduleNames.push(name);
      id = this.#moduleNames.length;
      this.#moduleIds.set(name, id);
    }
    this.#lastModBytes = b.slice(s, e);
    this.#lastModId = id;
    return id;
  }

  #build(): KallsymsTable {
    const count = this.#count;
    let size = 16;
    while (size < count * 2) size *= 2;
    const mask = size - 1;
    const slots = new Int32Array(size);
    const next = new Int32Array(count);
    const tail = new Int32Array(count); // for chain heads: 1 + index of the chain's last entry
    const hashes = this.#hashes;
    const nameStart = this.#nameStart;
    const nameLen = this.#nameLen;
    const arena = this.#arena;
    for (let i = 0; i < count; i++) {
      const h = hashes[i];
      let slot = h & mask;
      for (;;) {
        const v = slots[slot];
        if (v === 0) {
          slots[slot] = i + 1;
          tail[i] = i + 1;
          break;
        }
        const j = v - 1;
        if (hashes[j] === h && nameLen[j] === nameLen[i]) {
          let k = 0;
          const a = nameStart[i];
          const c = nameStart[j];
          const len = nameLen[i];
          while (k < len && arena[a + k] === arena[c + k]) k++;
          if (k === len) {
            next[tail[j] - 1] = i + 1;
            tail[j] = i + 1;
            break;
          }
        }
        slot = (slot + 1) & mask;
      }
    }
    return {
      count,
      hi: this.#hi.subarray(0, count),
      lo: this.#lo.subarray(0, count),
      types: this.#types.subarray(0, count),
      mods: this.#mods.subarray(0, count),
      nameStart: this.#nameStart.subarray(0, count),
      nameLen: this.#nameLen.subarray(0, count),
      hashes: this.#hashes.subarray(0, count),
      arena: this.#arena.subarray(0, this.#arenaLen),
      slots,
      next,
      moduleNames: this.#moduleNames,
      skippedLines: this.#skipped,
      restricted: count > 0 && this.#allZero,
    };
  }
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, "0");
}
