/**
 * The `Kallsyms` table: name lookups, module ownership, address
 * symbolization, iteration; and the streaming {@link KallsymsParser}.
 *
 * @module
 */

import { NotFoundError } from "../errors.ts";
import { AmbiguousSymbolError, RestrictedAddressError } from "./errors.ts";
import { hashName, type KallsymsTable, TableBuilder } from "./table.ts";

/** One line of kallsyms. */
export interface KallsymsSymbol {
  /** The symbol name. */
  name: string;
  /** The address (0n for every symbol when addresses are hidden). */
  address: bigint;
  /**
   * The type letter, as `nm` prints it: `T`/`t` text, `D`/`d` data,
   * `R`/`r` read-only data, `B`/`b` bss, `W`/`w` weak, `A` absolute, …
   * Upper case is global, lower case local.
   */
  type: string;
  /**
   * The module column without brackets, absent for vmlinux. Besides real
   * modules the kernel lists pseudo-modules here, such as `bpf` (JITed BPF
   * programs), `__builtin__ftrace` and `__builtin__kprobes` (trampolines).
   */
  module?: string;
}

/** The result of {@link Kallsyms.symbolize}: the symbol at or below an address. */
export interface SymbolizedAddress {
  /** The nearest symbol whose address is less than or equal to the address. */
  symbol: KallsymsSymbol;
  /** `address - symbol.address`. */
  offset: bigint;
}

/** Options of the kallsyms text parser. */
export interface KallsymsParseOptions {
  /**
   * When true (the default), a malformed line throws a
   * `ParseError("kallsyms", …, { offset: lineNumber })` (1-based line
   * number). When false, malformed lines are skipped and counted in
   * {@link Kallsyms.skippedLines}.
   *
   * Either way, empty lines are skipped and a trailing CR (CRLF line ends) is
   * dropped. A line is malformed when it does not match
   * `HEX{1,16} SP TYPE SP NAME [TAB "[" MODULE "]"]` exactly, where TYPE is one
   * printable ASCII character, NAME is 1–1023 printable non-space ASCII bytes
   * and MODULE 1–255 such bytes without brackets, or is longer than 2048 bytes.
   */
  strict?: boolean;
}

const TYPE_STRINGS: string[] = Array.from({ length: 128 }, (_, i) => String.fromCharCode(i));

/**
 * A parsed kallsyms table. Build one with {@link loadKallsyms} (from a file),
 * {@link Kallsyms.fromText} / {@link Kallsyms.fromBytes}, or a
 * {@link KallsymsParser}.
 *
 * Names are kept as bytes and made into strings only when an entry is
 * returned, so building the table costs about one pass over the text.
 */
export class Kallsyms implements Iterable<KallsymsSymbol> {
  #t: KallsymsTable;
  #names: (string | undefined)[];
  #sorted?: Int32Array;

  /** Internal: wraps a table made by the parser. Use the static constructors instead. */
  constructor(table: KallsymsTable) {
    this.#t = table;
    this.#names = new Array(table.count);
  }

  /** Parses kallsyms text (see {@link KallsymsParseOptions} for the rules). */
  static fromText(text: string, options?: KallsymsParseOptions): Kallsyms {
    return Kallsyms.fromBytes(new TextEncoder().encode(text), options);
  }

  /** Parses kallsyms text given as bytes. */
  static fromBytes(bytes: Uint8Array, options?: KallsymsParseOptions): Kallsyms {
    const p = new KallsymsParser(options);
    p.push(bytes);
    return p.finish();
  }

  /** Parses kallsyms text from chunks, e.g. a `ReadableStream<Uint8Array>`. */
  static async fromChunks(
    chunks: AsyncIterable<Uint8Array> | Iterable<Uint8Array>,
    options?: KallsymsParseOptions,
  ): Promise<Kallsyms> {
    const p = new KallsymsParser(options);
    for await (const c of chunks) p.push(c);
    return p.finish();
  }

  /** Number of entries (lines) in the table. */
  get size(): number {
    return this.#t.count;
  }

  /**
   * True when the table has entries and every address is zero: the kernel
   * hid the addresses from this process. Address queries then throw
   * {@link RestrictedAddressError}.
   */
  get restricted(): boolean {
    return this.#t.restricted;
  }

  /** Number of malformed lines that were skipped (non-strict parsing only; else 0). */
  get skippedLines(): number {
    return this.#t.skippedLines;
  }

  /** Module names (including pseudo-modules such as `bpf`), in order of first appearance. */
  moduleNames(): string[] {
    return this.#t.moduleNames.slice();
  }

  /** True when `name` is in the table. */
  has(name: string): boolean {
    return this.#find(name) >= 0;
  }

  /**
   * The first entry named `name` in file order (vmlinux is listed before the
   * modules), or undefined. Use {@link Kallsyms.lookupAll} to see duplicates.
   */
  lookup(name: string): KallsymsSymbol | undefined {
    const i = this.#find(name);
    return i < 0 ? undefined : this.#entry(i);
  }

  /** Every entry named `name`, in file order; empty when absent. */
  lookupAll(name: string): KallsymsSymbol[] {
    const out: KallsymsSymbol[] = [];
    for (let i = this.#find(name); i >= 0; i = this.#t.next[i] - 1) out.push(this.#entry(i));
    return out;
  }

  /**
   * The address of `name`.
   *
   * @throws {NotFoundError} when no entry has that name.
   * @throws {RestrictedAddressError} when the table's addresses are all zero.
   * @throws {AmbiguousSymbolError} when the name is listed at two or more
   * different addresses (repeats at one address are fine).
   */
  address(name: string): bigint {
    const first = this.#find(name);
    if (first < 0) throw new NotFoundError(`kallsyms symbol ${name}`);
    if (this.#t.restricted) throw new RestrictedAddressError(name);
    const { hi, lo, next } = this.#t;
    for (let i = next[first] - 1; i >= 0; i = next[i] - 1) {
      if (hi[i] !== hi[first] || lo[i] !== lo[first]) {
        throw new AmbiguousSymbolError(name, this.lookupAll(name));
      }
    }
    return addressOf(hi[first], lo[first]);
  }

  /**
   * The module that holds `name`, or undefined when vmlinux does.
   *
   * When vmlinux and modules both list the name, vmlinux wins (undefined):
   * that is how the kernel itself resolves an unqualified name
   * (`kallsyms_lookup_name()` searches vmlinux before modules). Use
   * {@link Kallsyms.modules} to see every owner.
   *
   * @throws {NotFoundError} when no entry has that name.
   * @throws {AmbiguousSymbolError} when vmlinux does not have it and two or
   * more different modules do.
   */
  module(name: string): string | undefined {
    const owners = this.modules(name);
    if (owners.length === 0) throw new NotFoundError(`kallsyms symbol ${name}`);
    if (owners.includes(undefined)) return undefined;
    if (owners.length > 1) throw new AmbiguousSymbolError(name, this.lookupAll(name));
    return owners[0];
  }

  /**
   * Every distinct owner of `name`, in file order: `undefined` stands for
   * vmlinux, a string for a module. Empty when absent.
   */
  modules(name: string): (string | undefined)[] {
    const seen = new Set<number>();
    const out: (string | undefined)[] = [];
    const { mods, next, moduleNames } = this.#t;
    for (let i = this.#find(name); i >= 0; i = next[i] - 1) {
      const m = mods[i];
      if (seen.has(m)) continue;
      seen.add(m);
      out.push(m === 0 ? undefined : moduleNames[m - 1]);
    }
    return out;
  }

  /**
   * Every entry of a module, in file order; pass `undefined` for vmlinux.
   * Empty for a module that is not listed.
   */
  symbolsOf(module: string | undefined): KallsymsSymbol[] {
    let id = 0;
    if (module !== undefined) {
      id = this.#t.moduleNames.indexOf(module) + 1;
      if (id === 0) return [];
    }
    const out: KallsymsSymbol[] = [];
    const { mods, count } = this.#t;
    for (let i = 0; i < count; i++) if (mods[i] === id) out.push(this.#entry(i));
    return out;
  }

  /**
   * The entry with the greatest address less than or equal to `address`, and
   * the offset into it; undefined below the lowest address. Symbol sizes are
   * not in kallsyms, so an address past the end of the last function of a
   * region still maps to that function. Among entries at one address the
   * first in file order is returned.
   *
   * @throws {RestrictedAddressError} when the table's addresses are all zero.
   */
  symbolize(address: bigint): SymbolizedAddress | undefined {
    if (this.#t.restricted) throw new RestrictedAddressError();
    if (address < 0n || address > 0xffff_ffff_ffff_ffffn) return undefined;
    const ahi = Number(address >> 32n);
    const alo = Number(address & 0xffff_ffffn);
    const sorted = this.#sortedIndex();
    const { hi, lo } = this.#t;
    // Find the last sorted position whose address is <= address.
    let a = 0;
    let b = sorted.length;
    while (a < b) {
      const m = (a + b) >>> 1;
      const i = sorted[m];
      if (hi[i] < ahi || (hi[i] === ahi && lo[i] <= alo)) a = m + 1;
      else b = m;
    }
    if (a === 0) return undefined;
    let pos = a - 1;
    // Step back to the first entry at that same address.
    const top = sorted[pos];
    while (pos > 0 && hi[sorted[pos - 1]] === hi[top] && lo[sorted[pos - 1]] === lo[top]) pos--;
    const symbol = this.#entry(sorted[pos]);
    return { symbol, offset: address - symbol.address };
  }

  /** Iterates over every entry in file order. */
  *[Symbol.iterator](): Iterator<KallsymsSymbol> {
    for (let i = 0; i < this.#t.count; i++) yield this.#entry(i);
  }

  #sortedIndex(): Int32Array {
    if (this.#sorted) return this.#sorted;
    const { hi, lo, count } = this.#t;
    const idx = new Int32Array(count);
    for (let i = 0; i < count; i++) idx[i] = i;
    // Stable by construction: ties broken by file order.
    idx.sort((x, y) => (hi[x] - hi[y]) || (lo[x] - lo[y]) || (x - y));
    this.#sorted = idx;
    return idx;
  }

  #find(name: string): number {
    const h = hashName(name);
    if (h < 0 || name.length === 0) return -1;
    const { slots, hashes, nameLen, nameStart, arena } = this.#t;
    const mask = slots.length - 1;
    const len = name.length;
    for (let slot = h & mask;; slot = (slot + 1) & mask) {
      const v = slots[slot];
      if (v === 0) return -1;
      const i = v - 1;
      if (hashes[i] === h && nameLen[i] === len) {
        const s = nameStart[i];
        let k = 0;
        while (k < len && arena[s + k] === name.charCodeAt(k)) k++;
        if (k === len) return i;
      }
    }
  }

  #name(i: number): string {
    let n = this.#names[i];
    if (n === undefined) {
      const s = this.#t.nameStart[i];
      n = String.fromCharCode.apply(
        null,
        this.#t.arena.subarray(s, s + this.#t.nameLen[i]) as unknown as number[],
      );
      this.#names[i] = n;
    }
    return n;
  }

  #entry(i: number): KallsymsSymbol {
    const t = this.#t;
    const e: KallsymsSymbol = {
      name: this.#name(i),
      address: addressOf(t.hi[i], t.lo[i]),
      type: TYPE_STRINGS[t.types[i]],
    };
    const m = t.mods[i];
    if (m !== 0) e.module = t.moduleNames[m - 1];
    return e;
  }
}

function addressOf(hi: number, lo: number): bigint {
  return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
}

/**
 * A streaming kallsyms parser: {@link KallsymsParser.push} chunks of bytes
 * as they are read (lines may span chunks), then
 * {@link KallsymsParser.finish} for the {@link Kallsyms} table.
 */
export class KallsymsParser {
  #b: TableBuilder;

  /** Creates a parser; see {@link KallsymsParseOptions}. */
  constructor(options?: KallsymsParseOptions) {
    this.#b = new TableBuilder(options?.strict ?? true);
  }

  /**
   * Parses the complete lines in `chunk`. The bytes are copied as needed, so
   * the caller may reuse the buffer afterwards.
   *
   * @throws {ParseError} on a malformed line in strict mode.
   */
  push(chunk: Uint8Array): void {
    this.#b.push(chunk);
  }

  /**
   * Parses a last line that had no line feed and returns the table. The
   * parser cannot be used afterwards.
   *
   * @throws {ParseError} on a malformed last line in strict mode.
   */
  finish(): Kallsyms {
    return new Kallsyms(this.#b.finish());
  }
}
