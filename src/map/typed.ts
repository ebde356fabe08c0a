/**
 * A typed view of a map: keys and values as JavaScript values through
 * codecs, on top of the byte-level operations.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import type { Codec } from "./codec.ts";
import type { UpdateFlagName } from "./types.ts";

/** The byte-level operations a typed view needs (what `BpfMap` offers). */
export interface RawMapOps {
  /** Key size in bytes. */
  readonly keySize: number;
  /** Value size in bytes. */
  readonly valueSize: number;
  /** Type name, for messages. */
  readonly typeName: string;
  /** Whether values are per CPU. */
  readonly perCpu: boolean;
  /** A label for messages. */
  readonly label: string;
  /** Looks `key` up into `out`; false when absent. */
  lookupInto(key: Uint8Array, out: Uint8Array): boolean;
  /** Creates or replaces an element. */
  update(key: Uint8Array, value: Uint8Array, flags?: UpdateFlagName | number): void;
  /** Deletes; false when absent. */
  delete(key: Uint8Array): boolean;
  /** Every key. */
  keys(): IterableIterator<Uint8Array>;
  /** Every key and value. */
  entries(): IterableIterator<[Uint8Array, Uint8Array]>;
  /** Per-CPU lookup. */
  lookupPerCpu(key: Uint8Array): Uint8Array[] | undefined;
  /** Per-CPU update. */
  updatePerCpu(key: Uint8Array, values: Uint8Array[], flags?: UpdateFlagName | number): void;
  /** Queue/stack push. */
  push(value: Uint8Array, flags?: UpdateFlagName | number): void;
  /** Queue/stack pop. */
  pop(): Uint8Array | undefined;
  /** Queue/stack peek. */
  peek(): Uint8Array | undefined;
  /** Closes the map. */
  close(): void;
}

/** A key or value as messages show it. */
function describeTyped(x: unknown): string {
  if (typeof x === "string") {
    return `the string ${JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x)}`;
  }
  if (x === null || x === undefined) return String(x);
  if (typeof x === "bigint") return `${x}n`;
  if (typeof x === "object") return `a ${x.constructor?.name ?? "null-prototype object"}`;
  return `the ${typeof x} ${String(x)}`;
}

function scratch(size: number): [Uint8Array, DataView] {
  const b = new Uint8Array(new ArrayBuffer(Math.max(size, 8)), 0, size);
  return [b, new DataView(b.buffer, 0, size)];
}

/**
 * A map seen through a key codec and a value codec: `get`/`set`/`delete`
 * and iteration with native JavaScript values. It shares the map's
 * descriptor: closing the view closes the map.
 *
 * @example
 * ```ts
 * using counts = createMap(
 *   { type: "hash", keySize: 4, valueSize: 8, maxEntries: 16 },
 *   { key: u32, value: u64 },
 * );
 * counts.set(1, 10n);
 * counts.get(1); // 10n
 * ```
 */
export class TypedMap<K, V, M extends RawMapOps = RawMapOps>
  implements Disposable, Iterable<[K, V]> {
  /** The underlying byte-level map (a `BpfMap` when made by `createMap` or `typed()`). */
  readonly map: M;
  /** The key codec. */
  readonly keyCodec: Codec<K>;
  /** The value codec. */
  readonly valueCodec: Codec<V>;
  #key: Uint8Array;
  #keyView: DataView;
  #value: Uint8Array;
  #valueView: DataView;

  /** Wraps `map`; the codecs' sizes must equal the map's key and value sizes. */
  constructor(map: M, codecs: { key: Codec<K>; value: Codec<V> }) {
    const { key, value } = codecs;
    if (key.size !== map.keySize) {
      throw new InvalidArgumentError(
        `key codec ${key.name} is ${key.size} bytes but ${map.label} has ${map.keySize}-byte keys`,
      );
    }
    if (value.size !== map.valueSize) {
      throw new InvalidArgumentError(
        `value codec ${value.name} is ${value.size} bytes but ${map.label} has ` +
          `${map.valueSize}-byte values`,
      );
    }
    this.map = map;
    this.keyCodec = key;
    this.valueCodec = value;
    [this.#key, this.#keyView] = scratch(key.size);
    [this.#value, this.#valueView] = scratch(value.size);
  }

  #encodeKey(k: K): Uint8Array {
    this.#encode("key", this.keyCodec, this.#keyView, k);
    return this.#key;
  }

  #encodeValue(v: V): Uint8Array {
    this.#encode("value", this.valueCodec, this.#valueView, v);
    return this.#value;
  }

  // The one check of keys and values: the codec's own. Whatever it refuses
  // (a string for a u32, null for a struct, …) becomes an
  // InvalidArgumentError naming the map and the codec.
  #encode<T>(what: "key" | "value", codec: Codec<T>, view: DataView, x: T): void {
    try {
      codec.write(view, 0, x);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new InvalidArgumentError(
        `${this.map.label}: ${describeTyped(x)} is not a valid ${what} for its ${what} codec ` +
          `${codec.name} (${codec.size} bytes): ${why}`,
        { cause: e },
      );
    }
  }

  #decode<T>(codec: Codec<T>, bytes: Uint8Array): T {
    return codec.read(new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength), 0);
  }

  #notPerCpu(what: string): void {
    if (this.map.perCpu) {
      throw new InvalidArgumentError(
        `${this.map.label} is a per-CPU map: use ${what}PerCpu() for one value per CPU`,
      );
    }
  }

  /** The value of `key`, or undefined when absent. */
  get(key: K): V | undefined {
    this.#notPerCpu("get");
    if (!this.map.lookupInto(this.#encodeKey(key), this.#value)) return undefined;
    return this.valueCodec.read(this.#valueView, 0);
  }

  /** True when `key` is present. */
  has(key: K): boolean {
    this.#notPerCpu("get");
    return this.map.lookupInto(this.#encodeKey(key), this.#value);
  }

  /** Creates or replaces `key` (flags: `"any"`, `"noexist"`, `"exist"`, `"lock"` or a number). */
  set(key: K, value: V, flags?: UpdateFlagName | number): void {
    this.#notPerCpu("set");
    const k = this.#encodeKey(key);
    this.map.update(k, this.#encodeValue(value), flags);
  }

  /** Deletes `key`; false when it was absent. */
  delete(key: K): boolean {
    return this.map.delete(this.#encodeKey(key));
  }

  /** The per-CPU values of `key` (one per possible CPU), or undefined. */
  getPerCpu(key: K): V[] | undefined {
    const vals = this.map.lookupPerCpu(this.#encodeKey(key));
    return vals?.map((b) => this.#decode(this.valueCodec, b));
  }

  /** Sets the per-CPU values of `key`. */
  setPerCpu(key: K, values: V[], flags?: UpdateFlagName | number): void {
    if (!Array.isArray(values)) {
      throw new InvalidArgumentError(
        `${this.map.label}: setPerCpu takes an array of values (one per CPU), got ` +
          `${describeTyped(values)}`,
      );
    }
    const bufs = values.map((v) => {
      const b = new Uint8Array(this.valueCodec.size);
      this.#encode("value", this.valueCodec, new DataView(b.buffer), v);
      return b;
    });
    this.map.updatePerCpu(this.#encodeKey(key), bufs, flags);
  }

  /** Queue/stack: adds a value (`"exist"` overwrites the oldest when full). */
  push(value: V, flags?: UpdateFlagName | number): void {
    this.map.push(this.#encodeValue(value), flags);
  }

  /** Queue/stack: removes and returns the next value, or undefined when empty. */
  pop(): V | undefined {
    const b = this.map.pop();
    return b === undefined ? undefined : this.#decode(this.valueCodec, b);
  }

  /** Queue/stack: returns the next value without removing it. */
  peek(): V | undefined {
    const b = this.map.peek();
    return b === undefined ? undefined : this.#decode(this.valueCodec, b);
  }

  /** Every key (see `BpfMap.keys()` for the iteration rules). */
  *keys(): IterableIterator<K> {
    for (const k of this.map.keys()) yield this.#decode(this.keyCodec, k);
  }

  /** Every value. */
  *values(): IterableIterator<V> {
    this.#notPerCpu("get");
    for (const [, v] of this.map.entries()) yield this.#decode(this.valueCodec, v);
  }

  /** Every key and value. */
  *entries(): IterableIterator<[K, V]> {
    this.#notPerCpu("get");
    for (const [k, v] of this.map.entries()) {
      yield [this.#decode(this.keyCodec, k), this.#decode(this.valueCodec, v)];
    }
  }

  /** Same as `entries()`. */
  [Symbol.iterator](): IterableIterator<[K, V]> {
    return this.entries();
  }

  /** Closes the underlying map. */
  close(): void {
    this.map.close();
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
