/**
 * `BpfMap`: an open BPF map (it owns the descriptor) and its operations;
 * `createMap`, `loadPinnedMap`, `mapFromId` and `mapFromFd` make one.
 *
 * Element operations are the hot path: each map preallocates its
 * `union bpf_attr` buffers and key/value scratch space once, with the
 * addresses written into the attributes at creation, and calls `bpfRaw`
 * directly, so a lookup costs one copy of the key, one syscall and one copy
 * of the value.
 *
 * @module
 */

import { EbpfError, InvalidArgumentError } from "../errors.ts";
import { addressOf, bpfRaw, bpfRawAt, bpfTry, type MapCreateAttr } from "../sys/bpf.ts";
import { possibleCpuCount } from "../sys/cpu.ts";
import { EBUSY, EEXIST, ENOENT, ENOSPC } from "../sys/errno.ts";
import { SyscallError } from "../sys/error.ts";
import { FD } from "../sys/fd.ts";
import { readLink } from "../sys/file.ts";
import { pageSize } from "../sys/mmap.ts";
import { objFromId, objGet, objPin, objUnpin } from "../sys/obj.ts";
import { kernelVersionCode } from "../sys/uname.ts";
import { buildMapBtf } from "./_btf.ts";
import { loadBtfObject } from "../btf/_load.ts";
import { copyBytes, copyOut } from "./_copy.ts";
import { assertMapMatches } from "./compat.ts";
import {
  batchError,
  elemError,
  type ElemOp,
  fdinfoFrozen,
  freezeError,
  mapCreateError,
} from "./_errors.ts";
import type { Codec } from "./codec.ts";
import { MapIterationError } from "./errors.ts";
import { type MapInfo, readMapInfo } from "./info.ts";
import { MapMemory } from "./memory.ts";
import { type MapSpec, type ResolvedMapSpec, resolveMapSpec, roundUp8 } from "./spec.ts";
import { TypedMap } from "./typed.ts";
import { fdOf, type FdSource } from "../sys/fd_source.ts";

/** An object owning a descriptor (the object form of {@linkcode FdSource}). */
export type FdHolder = Extract<FdSource, { readonly fd: unknown }>;
import {
  isLocalStorageMapType,
  isMapInMapType,
  isPerCpuMapType,
  MapCreateFlag,
  MapType,
  mapTypeName,
  UpdateFlag,
  type UpdateFlagName,
  updateFlagNumber,
} from "./types.ts";

// bpf(2) command numbers used on the hot path (enum bpf_cmd).
const LOOKUP_BATCH = 24;
const LOOKUP_AND_DELETE_BATCH = 25;
const UPDATE_BATCH = 26;
const DELETE_BATCH = 27;

// The same as bigints, converted once, for bpfRawAt.
const B_LOOKUP = 1n;
const B_UPDATE = 2n;
const B_DELETE = 3n;
const B_NEXT_KEY = 4n;
const B_LOOKUP_AND_DELETE = 21n;

const ELEM_ATTR = 32; // map_fd, key, value/next_key, flags
const B_ELEM_ATTR = 32n;
const B_KEY_ONLY = 16n; // map_fd and key: BPF_MAP_DELETE_ELEM's last field is `key`
const BATCH_ATTR = 56; // in_batch, out_batch, keys, values, count, map_fd, elem_flags, flags

/** The fixed properties of a map: what `BpfMap` needs to check sizes. */
export interface MapShape {
  /** Type number. */
  type: number;
  /** Key size in bytes. */
  keySize: number;
  /** Value size in bytes (per CPU for per-CPU maps). */
  valueSize: number;
  /** Maximum entries. */
  maxEntries: number;
  /** Creation flags. */
  flags: number;
  /** Name ("" if none). */
  name: string;
}

/** Flags for a write: a name (`"any"`, `"noexist"`, `"exist"`, `"lock"`) or a number. */
export type MapUpdateFlags = UpdateFlagName | number;

/** Options for lookups. */
export interface LookupOptions {
  /** `"lock"` (BPF_F_LOCK) copies the value under its `bpf_spin_lock`. */
  flags?: MapUpdateFlags;
}

/** Options for `BpfMap.mmap()`. */
export interface MmapOptions {
  /** Map without PROT_WRITE (required for frozen maps). Default false. */
  readOnly?: boolean;
}

/** Options for `batchCursor()` and `batchLookupAll()`. */
export interface BatchOptions {
  /** Elements per batch syscall. Default: 256 (or max entries if smaller). */
  batchSize?: number;
}

/** Options for `batchLookupAll()`: the batch size and the lookup flags. */
export interface BatchLookupOptions extends BatchOptions, LookupOptions {}

/** Options for batch updates and deletes. */
export interface BatchWriteOptions {
  /** `elem_flags`: `"any"`, `"noexist"`, `"exist"`, `"lock"` or a number. */
  flags?: MapUpdateFlags;
}

/** Output buffers for one batch lookup, instead of the cursor's own. */
export interface BatchBuffers {
  /** Receives `n` keys; its length must be a multiple of the key size. */
  keys: Uint8Array;
  /** Receives `n` values (per-CPU maps: `n * valueBufferSize` bytes). */
  values: Uint8Array;
}

/** An off-heap byte range that V8 never moves (its address can be stored in an attribute). */
function region(mem: ArrayBuffer, offset: number, length: number): Uint8Array {
  return new Uint8Array(mem, offset, length);
}

/** The flags of a lookup: only BPF_F_LOCK is allowed (the kernel answers EINVAL to others). */
function lookupFlags(options: LookupOptions | undefined, label: string): number {
  if (options === undefined || options.flags === undefined) return 0;
  const f = updateFlagNumber(options.flags);
  if ((f & ~UpdateFlag.lock) !== 0) {
    throw new InvalidArgumentError(
      `${label}: lookups take only "lock" (BPF_F_LOCK) as flags, got ` +
        `${JSON.stringify(options.flags)}; "noexist"/"exist" are for updates`,
    );
  }
  return f;
}

/** What an argument that should have been a byte buffer is, for messages. */
function describeArg(x: unknown): string {
  if (x instanceof Uint8Array) return `${x.byteLength} bytes`;
  if (x === null || x === undefined) return String(x);
  if (typeof x === "string") {
    return `the string ${JSON.stringify(x.length > 40 ? `${x.slice(0, 40)}…` : x)}`;
  }
  if (ArrayBuffer.isView(x)) {
    return `a ${x.constructor.name} (pass its bytes as a Uint8Array)`;
  }
  if (typeof x === "object") return `a ${x.constructor?.name ?? "null-prototype object"}`;
  return `the ${typeof x} ${String(x)}`;
}

/** The sizes a {@linkcode MapBatchCursor} is made for. */
export interface MapBatchCursorOptions {
  /** Key size of the maps the cursor fits. */
  keySize: number;
  /** Value buffer size (per element) of the maps the cursor fits. */
  valueBufferSize: number;
  /** Elements per batch. */
  batchSize: number;
}

/**
 * The position of a batch walk over a map, and (by default) the buffers
 * that receive each batch. Make one with `BpfMap.batchCursor()`; after each
 * `lookupBatch(cursor)`, `count` elements are in `keys`/`values`, readable
 * with `key(i)`/`value(i)`; `done` turns true with the last batch.
 */
export class MapBatchCursor {
  /** Elements per batch. */
  readonly batchSize: number;
  /** Room for `batchSize` keys. */
  readonly keys: Uint8Array;
  /** Room for `batchSize` values. */
  readonly values: Uint8Array;
  /** Elements in the last batch. */
  count = 0;
  /** True once the kernel reported the end of the map. */
  done = false;
  /** Key size of the maps this cursor fits. */
  readonly keySize: number;
  /** Value buffer size (per element) of the maps this cursor fits. */
  readonly valueBufferSize: number;
  /** @internal in_batch token, out_batch token, attribute, as one region. */
  readonly _attr: Uint8Array;
  /** @internal */
  readonly _attrView: DataView;
  /** @internal */
  readonly _inAddr: bigint;
  /** @internal */
  readonly _in: Uint8Array;
  /** @internal */
  readonly _out: Uint8Array;
  /** @internal */
  _started = false;

  /** Creates a cursor for a map of the given key and value-buffer sizes. */
  constructor(options: MapBatchCursorOptions) {
    const { keySize, valueBufferSize, batchSize } = options;
    if (!Number.isInteger(batchSize) || batchSize <= 0 || batchSize > 0xffffffff) {
      throw new InvalidArgumentError(`batch size must be a positive integer, got ${batchSize}`);
    }
    const token = roundUp8(Math.max(keySize, 8));
    const keysLen = roundUp8(keySize * batchSize);
    const valuesLen = valueBufferSize * batchSize;
    const mem = new ArrayBuffer(BATCH_ATTR + 8 + 2 * token + keysLen + valuesLen);
    this._attr = region(mem, 0, BATCH_ATTR);
    this._attrView = new DataView(mem, 0, BATCH_ATTR);
    let off = BATCH_ATTR + 8;
    this._in = region(mem, off, token);
    off += token;
    this._out = region(mem, off, token);
    off += token;
    this.keys = region(mem, off, keySize * batchSize);
    off += keysLen;
    this.values = region(mem, off, valuesLen);
    this._inAddr = addressOf(this._in);
    this._attrView.setBigUint64(8, addressOf(this._out), true);
    this._attrView.setBigUint64(16, keySize ? addressOf(this.keys) : 0n, true);
    this._attrView.setBigUint64(24, valuesLen ? addressOf(this.values) : 0n, true);
    this.batchSize = batchSize;
    this.keySize = keySize;
    this.valueBufferSize = valueBufferSize;
  }

  /** Key `i` of the last batch (a view into `keys`). */
  key(i: number): Uint8Array {
    this.#check(i);
    return this.keys.subarray(i * this.keySize, (i + 1) * this.keySize);
  }

  /** Value `i` of the last batch (a view into `values`). */
  value(i: number): Uint8Array {
    this.#check(i);
    return this.values.subarray(i * this.valueBufferSize, (i + 1) * this.valueBufferSize);
  }

  #check(i: number): void {
    if (!Number.isInteger(i) || i < 0 || i >= this.count) {
      throw new InvalidArgumentError(`batch index ${i} is out of range 0..${this.count - 1}`);
    }
  }

  /** Starts over from the beginning of the map. */
  reset(): void {
    this._started = false;
    this.done = false;
    this.count = 0;
  }
}

/**
 * An open BPF map. It owns its descriptor: `close()` (or `using`) releases
 * it. Keys and values are `Uint8Array`s of exactly `keySize` and
 * `valueBufferSize` bytes; `typed()` gives a view with codecs.
 *
 * @example
 * ```ts
 * using m = createMap({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 64 });
 * m.update(new Uint8Array([1, 0, 0, 0]), new Uint8Array(8));
 * m.lookup(new Uint8Array([1, 0, 0, 0])); // Uint8Array(8)
 * m.lookup(new Uint8Array([2, 0, 0, 0])); // undefined
 * ```
 */
export class BpfMap implements Disposable {
  /** Type number. */
  readonly type: number;
  /** Type name, e.g. `"hash"`. */
  readonly typeName: string;
  /** Key size in bytes. */
  readonly keySize: number;
  /** Value size in bytes (per CPU for per-CPU maps). */
  readonly valueSize: number;
  /** Maximum entries. */
  readonly maxEntries: number;
  /** Creation flags. */
  readonly flags: number;
  /** Name ("" if none). */
  readonly name: string;
  /** True for per-CPU maps. */
  readonly perCpu: boolean;
  /** Number of value slots of per-CPU maps (`possibleCpuCount()`); 1 otherwise. */
  readonly cpus: number;
  /** Bytes of a value in syscalls: `valueSize`, or `roundUp8(valueSize) * cpus` for per-CPU maps. */
  readonly valueBufferSize: number;
  /** For messages, e.g. `"hash map counts"`. */
  readonly label: string;

  #fd: FD;
  #fdn: number;
  #pinned: string | undefined;
  // One off-heap region: four element attributes, then key, next key, value.
  #attrElem: Uint8Array; // key → value
  #attrNext: Uint8Array; // key → next key
  #attrFirst: Uint8Array; // NULL → next key
  #attrNoKey: Uint8Array; // NULL → value (queue, stack, bloom filter)
  #pElem: Deno.PointerObject;
  #pNext: Deno.PointerObject;
  #pFirst: Deno.PointerObject;
  #pNoKey: Deno.PointerObject;
  // keySize while open and keyed; -1 otherwise, so one comparison checks all three.
  #keyLen: number;
  #elemFlags: Uint32Array;
  #noKeyFlags: Uint32Array;
  #key: Uint8Array;
  #next: Uint8Array;
  #value: Uint8Array;
  #batchAttr: Uint8Array | undefined;
  #batchView: DataView | undefined;
  // Caller buffers whose addresses are in an attribute: referenced here so
  // they stay alive until the syscall returns.
  #inFlight: unknown[] = [];

  /**
   * Takes ownership of `fd`, an open map of the given shape. Prefer
   * `createMap`, `loadPinnedMap`, `mapFromId` or `mapFromFd`.
   */
  constructor(fd: FD, shape: MapShape) {
    this.type = shape.type;
    this.typeName = mapTypeName(shape.type);
    this.keySize = shape.keySize;
    this.valueSize = shape.valueSize;
    this.maxEntries = shape.maxEntries;
    this.flags = shape.flags;
    this.name = shape.name;
    this.perCpu = isPerCpuMapType(shape.type);
    this.cpus = this.perCpu ? possibleCpuCount() : 1;
    this.valueBufferSize = this.perCpu ? roundUp8(shape.valueSize) * this.cpus : shape.valueSize;
    this.label = `${this.typeName} map${shape.name ? ` ${shape.name}` : ""}`;
    this.#fd = fd;
    this.#fdn = fd.value;

    const k = roundUp8(this.keySize);
    const mem = new ArrayBuffer(4 * ELEM_ATTR + 2 * k + roundUp8(this.valueBufferSize) + 8);
    this.#attrElem = region(mem, 0, ELEM_ATTR);
    this.#attrNext = region(mem, ELEM_ATTR, ELEM_ATTR);
    this.#attrFirst = region(mem, 2 * ELEM_ATTR, ELEM_ATTR);
    this.#attrNoKey = region(mem, 3 * ELEM_ATTR, ELEM_ATTR);
    this.#elemFlags = new Uint32Array(mem, 24, 2);
    this.#noKeyFlags = new Uint32Array(mem, 3 * ELEM_ATTR + 24, 2);
    this.#key = region(mem, 4 * ELEM_ATTR, this.keySize);
    this.#next = region(mem, 4 * ELEM_ATTR + k, this.keySize);
    this.#value = region(mem, 4 * ELEM_ATTR + 2 * k, this.valueBufferSize);
    const keyAddr = this.keySize ? addressOf(this.#key) : 0n;
    const nextAddr = this.keySize ? addressOf(this.#next) : 0n;
    const valueAddr = this.valueBufferSize ? addressOf(this.#value) : 0n;
    const dv = new DataView(mem);
    const set = (base: number, key: bigint, value: bigint) => {
      dv.setUint32(base, this.#fdn, true);
      dv.setBigUint64(base + 8, key, true);
      dv.setBigUint64(base + 16, value, true);
    };
    set(0, keyAddr, valueAddr);
    set(ELEM_ATTR, keyAddr, nextAddr);
    set(2 * ELEM_ATTR, 0n, nextAddr);
    set(3 * ELEM_ATTR, 0n, valueAddr);
    this.#pElem = Deno.UnsafePointer.of(this.#attrElem)!;
    this.#pNext = Deno.UnsafePointer.of(this.#attrNext)!;
    this.#pFirst = Deno.UnsafePointer.of(this.#attrFirst)!;
    this.#pNoKey = Deno.UnsafePointer.of(this.#attrNoKey)!;
    this.#keyLen = this.keySize > 0 ? this.keySize : -1;
  }

  /** The descriptor number (throws once closed). */
  get fd(): number {
    return this.#fd.value;
  }

  /** True once `close()` ran. */
  get closed(): boolean {
    return this.#fdn < 0;
  }

  /** Where the map is pinned, if this object pinned or loaded it from a pin. */
  get pinnedPath(): string | undefined {
    return this.#pinned;
  }

  #closedError(): Error {
    return new InvalidArgumentError(`${this.label} is closed`);
  }

  // The one check of key and value arguments: a Uint8Array of exactly the
  // map's size. A string or another typed array of the right length, null
  // or undefined is refused here, before any byte is copied.
  #checkKey(key: Uint8Array): void {
    if (!(key instanceof Uint8Array) || key.length !== this.#keyLen) throw this.#keyError(key);
  }

  #checkValue(value: Uint8Array, size: number): void {
    if (!(value instanceof Uint8Array) || value.length !== size) {
      throw this.#valueError(value, size);
    }
  }

  #keyError(key: unknown): Error {
    if (this.#fdn < 0) return this.#closedError();
    if (this.keySize === 0) {
      return new InvalidArgumentError(
        `${this.label} has no keys: use push()/pop()/peek()` +
          (this.type === MapType.bloom_filter ? " or contains()" : ""),
      );
    }
    return new InvalidArgumentError(
      `${this.label} has ${this.keySize}-byte keys: a key is a Uint8Array of ` +
        `${this.keySize} bytes, got ${describeArg(key)} (use typed() for keys as numbers ` +
        `or structs)`,
    );
  }

  #valueError(value: unknown, size = this.valueBufferSize): Error {
    const got = describeArg(value);
    if (this.perCpu && size === this.valueBufferSize) {
      return new InvalidArgumentError(
        `${this.label} is per-CPU: a value buffer is a Uint8Array of ${this.valueBufferSize} ` +
          `bytes (${this.cpus} CPUs × ${roundUp8(this.valueSize)}-byte slots), got ${got}; ` +
          `use updatePerCpu()/lookupPerCpu() for one value per CPU`,
      );
    }
    return new InvalidArgumentError(
      `${this.label} has ${size}-byte values: a value is a Uint8Array of ${size} bytes, ` +
        `got ${got}`,
    );
  }

  #fail(op: ElemOp, r: number, flags = 0): Error {
    return elemError(op, -r, { map: this, flags });
  }

  #toValue(value: Uint8Array | FdHolder): Uint8Array {
    if (value instanceof Uint8Array) return value;
    if (value !== null && typeof value === "object" && "fd" in value && this.valueSize === 4) {
      const b = new Uint8Array(4);
      new DataView(b.buffer).setUint32(0, fdOf(value.fd), true);
      return b;
    }
    throw this.#valueError(value as unknown as Uint8Array);
  }

  /**
   * The value of `key` as a fresh copy, or `undefined` when the key is
   * absent. Per-CPU maps return `valueBufferSize` bytes (see `lookupPerCpu`).
   *
   * Small results are carved from a shared slab (allocating a typed array
   * costs as much as a third of the syscall): nothing else uses the bytes,
   * but views made from `.buffer` must start at `byteOffset`. Use
   * `lookupInto` to reuse a buffer of your own.
   */
  lookup(key: Uint8Array, options?: LookupOptions): Uint8Array | undefined {
    this.#checkKey(key);
    copyBytes(this.#key, key);
    const flags = options === undefined ? 0 : lookupFlags(options, this.label);
    this.#elemFlags[0] = flags;
    const r = bpfRawAt(B_LOOKUP, this.#pElem, B_ELEM_ATTR);
    if (r < 0) {
      if (r === -ENOENT) return undefined;
      throw this.#fail("lookup", r, flags);
    }
    return copyOut(this.#value);
  }

  /**
   * Looks `key` up into `out` (exactly `valueBufferSize` bytes) without
   * allocating; returns false (leaving `out` alone) when the key is absent.
   */
  lookupInto(key: Uint8Array, out: Uint8Array, options?: LookupOptions): boolean {
    this.#checkKey(key);
    this.#checkValue(out, this.valueBufferSize);
    copyBytes(this.#key, key);
    const flags = options === undefined ? 0 : lookupFlags(options, this.label);
    this.#elemFlags[0] = flags;
    const r = bpfRawAt(B_LOOKUP, this.#pElem, B_ELEM_ATTR);
    if (r < 0) {
      if (r === -ENOENT) return false;
      throw this.#fail("lookup", r, flags);
    }
    copyBytes(out, this.#value);
    return true;
  }

  /** True when `key` is present. */
  has(key: Uint8Array): boolean {
    this.#checkKey(key);
    copyBytes(this.#key, key);
    this.#elemFlags[0] = 0;
    const r = bpfRawAt(B_LOOKUP, this.#pElem, B_ELEM_ATTR);
    if (r < 0) {
      if (r === -ENOENT) return false;
      throw this.#fail("lookup", r);
    }
    return true;
  }

  /**
   * Creates or replaces the value of `key`. `flags`: `"any"` (default),
   * `"noexist"` (throws `MapKeyExistsError` if present), `"exist"` (throws
   * `MapKeyNotFoundError` if absent), `"lock"`, or a number. For
   * map-in-map and program arrays the value may be an object with an `fd`
   * (an inner `BpfMap`, a program).
   */
  update(key: Uint8Array, value: Uint8Array | FdHolder, flags?: MapUpdateFlags): void {
    this.#checkKey(key);
    const v = value instanceof Uint8Array ? value : this.#toValue(value);
    this.#checkValue(v, this.valueBufferSize);
    const f = flags === undefined ? 0 : updateFlagNumber(flags);
    copyBytes(this.#key, key);
    copyBytes(this.#value, v);
    this.#elemFlags[0] = f;
    const r = bpfRawAt(B_UPDATE, this.#pElem, B_ELEM_ATTR);
    if (r < 0) throw this.#fail("update", r, f);
  }

  /** Deletes `key`; returns false when it was absent. */
  delete(key: Uint8Array): boolean {
    this.#checkKey(key);
    copyBytes(this.#key, key);
    this.#elemFlags[0] = 0;
    // BPF_MAP_DELETE_ELEM's last field is `key`: the kernel wants the rest
    // zero, so pass only map_fd and key.
    const r = bpfRawAt(B_DELETE, this.#pElem, B_KEY_ONLY);
    if (r < 0) {
      if (r === -ENOENT) return false;
      throw this.#fail("delete", r);
    }
    return true;
  }

  /**
   * Removes `key` and returns its value (hash maps, 5.14+), or `undefined`
   * when absent. Without a key on a queue or stack, the same as `pop()`.
   * `{ flags: "lock" }` (BPF_F_LOCK, hash maps) copies the value under its
   * `bpf_spin_lock`, as for `lookup`.
   */
  lookupAndDelete(key?: Uint8Array, options?: LookupOptions): Uint8Array | undefined {
    const flags = lookupFlags(options, this.label);
    if (key === undefined && this.keySize === 0) {
      return this.#noKey(B_LOOKUP_AND_DELETE, "lookup_and_delete", flags) < 0
        ? undefined
        : copyOut(this.#value);
    }
    this.#checkKey(key as Uint8Array);
    copyBytes(this.#key, key as Uint8Array);
    this.#elemFlags[0] = flags;
    const r = bpfRawAt(B_LOOKUP_AND_DELETE, this.#pElem, B_ELEM_ATTR);
    if (r < 0) {
      if (r === -ENOENT) return undefined;
      throw this.#fail("lookup_and_delete", r, flags);
    }
    return copyOut(this.#value);
  }

  #noKey(cmd: bigint, op: ElemOp, flags: number): number {
    if (this.#fdn < 0) throw this.#closedError();
    if (this.keySize !== 0) {
      throw new InvalidArgumentError(
        `${this.label} has keys: push/pop/peek/contains are for queue, stack and bloom_filter maps`,
      );
    }
    this.#noKeyFlags[0] = flags;
    const r = bpfRawAt(cmd, this.#pNoKey, B_ELEM_ATTR);
    if (r < 0 && r !== -ENOENT) throw this.#fail(op, r, flags);
    return r;
  }

  /**
   * Queue/stack: appends `value`; bloom filter: adds it. With `"exist"` a
   * full queue or stack drops its oldest value to make room.
   */
  push(value: Uint8Array, flags?: MapUpdateFlags): void {
    this.#checkValue(value, this.valueSize);
    copyBytes(this.#value, value);
    const r = this.#noKey(B_UPDATE, "update", updateFlagNumber(flags));
    if (r < 0) throw this.#fail("update", r);
  }

  /** Queue/stack: removes and returns the next value, or `undefined` when empty. */
  pop(): Uint8Array | undefined {
    return this.#noKey(B_LOOKUP_AND_DELETE, "lookup_and_delete", 0) < 0
      ? undefined
      : copyOut(this.#value);
  }

  /** Queue/stack: returns the next value without removing it, or `undefined` when empty. */
  peek(): Uint8Array | undefined {
    return this.#noKey(B_LOOKUP, "lookup", 0) < 0 ? undefined : copyOut(this.#value);
  }

  /** Bloom filter: false if `value` was certainly never pushed; true if it may have been. */
  contains(value: Uint8Array): boolean {
    this.#checkValue(value, this.valueSize);
    copyBytes(this.#value, value);
    return this.#noKey(B_LOOKUP, "lookup", 0) >= 0;
  }

  /**
   * The key after `key` (a fresh copy), or the first key when `key` is
   * omitted; `undefined` at the end. A `key` that is no longer in a hash
   * map gives its first key again.
   */
  nextKey(key?: Uint8Array): Uint8Array | undefined {
    if (this.#fdn < 0) throw this.#closedError();
    let r: number;
    if (key === undefined) {
      if (this.keySize === 0) throw this.#keyError(new Uint8Array(0));
      r = bpfRawAt(B_NEXT_KEY, this.#pFirst, B_ELEM_ATTR);
    } else {
      this.#checkKey(key);
      copyBytes(this.#key, key);
      r = bpfRawAt(B_NEXT_KEY, this.#pNext, B_ELEM_ATTR);
    }
    if (r < 0) {
      if (r === -ENOENT) return undefined;
      throw this.#fail("get_next_key", r);
    }
    return copyOut(this.#next);
  }

  #bound(): number {
    // Storage maps have max_entries 0 yet hold entries; bound them generously.
    return this.maxEntries > 0 ? this.maxEntries : 1 << 24;
  }

  /**
   * Every key, each a fresh copy, in the kernel's order. Deleting keys while
   * iterating is allowed: the walk restarts from the first key when its
   * position disappears. It visits at most `maxEntries` keys and then throws
   * `MapIterationError` (the map changed under it too often).
   */
  *keys(): IterableIterator<Uint8Array> {
    const bound = this.#bound();
    let steps = 0;
    let cur = this.nextKey();
    while (cur !== undefined) {
      if (++steps > bound) {
        throw new MapIterationError(this.label, {
          visited: steps - 1,
          maxEntries: this.maxEntries,
        });
      }
      yield cur;
      cur = this.nextKey(cur);
    }
  }

  /** Every key and its value (fresh copies); the same rules as `keys()`. */
  entries(): IterableIterator<[Uint8Array, Uint8Array]> {
    return this.#walk((key) => this.lookup(key));
  }

  /**
   * Per-CPU maps: every key and its value on each possible CPU (fresh
   * copies, as `lookupPerCpu`); the same rules as `keys()`.
   */
  entriesPerCpu(): IterableIterator<[Uint8Array, Uint8Array[]]> {
    this.#checkPerCpu();
    return this.#walk((key) => this.lookupPerCpu(key));
  }

  *#walk<T>(read: (key: Uint8Array) => T | undefined): IterableIterator<[Uint8Array, T]> {
    const bound = this.#bound();
    let steps = 0;
    let cur = this.nextKey();
    while (cur !== undefined) {
      if (++steps > bound) {
        throw new MapIterationError(this.label, {
          visited: steps - 1,
          maxEntries: this.maxEntries,
        });
      }
      const value = read(cur);
      // A key deleted between nextKey and lookup is skipped; the next
      // nextKey from it restarts at the first key.
      if (value !== undefined) yield [cur, value];
      cur = this.nextKey(cur);
    }
  }

  /** Every value; the same rules as `keys()`. */
  *values(): IterableIterator<Uint8Array> {
    for (const [, v] of this.entries()) yield v;
  }

  /** Same as `entries()`. */
  [Symbol.iterator](): IterableIterator<[Uint8Array, Uint8Array]> {
    return this.entries();
  }

  #checkPerCpu(): void {
    if (!this.perCpu) {
      throw new InvalidArgumentError(`${this.label} is not a per-CPU map: use lookup()/update()`);
    }
  }

  /** Per-CPU maps: the value on each possible CPU (fresh copies), or `undefined`. */
  lookupPerCpu(key: Uint8Array): Uint8Array[] | undefined {
    this.#checkPerCpu();
    this.#checkKey(key);
    copyBytes(this.#key, key);
    this.#elemFlags[0] = 0;
    const r = bpfRawAt(B_LOOKUP, this.#pElem, B_ELEM_ATTR);
    if (r < 0) {
      if (r === -ENOENT) return undefined;
      throw this.#fail("lookup", r);
    }
    const all = this.#value.slice();
    const stride = roundUp8(this.valueSize);
    const out: Uint8Array[] = new Array(this.cpus);
    for (let c = 0; c < this.cpus; c++) {
      out[c] = all.subarray(c * stride, c * stride + this.valueSize);
    }
    return out;
  }

  /**
   * Per-CPU maps: sets the value on each possible CPU. `values[i]` is CPU
   * i's value (`valueSize` bytes); CPUs past `values.length` get zeros.
   */
  updatePerCpu(key: Uint8Array, values: Uint8Array[], flags?: MapUpdateFlags): void {
    this.#checkPerCpu();
    this.#checkKey(key);
    if (!Array.isArray(values) || values.length > this.cpus) {
      throw new InvalidArgumentError(
        `${this.label}: give at most ${this.cpus} per-CPU values (one per possible CPU)`,
      );
    }
    const stride = roundUp8(this.valueSize);
    const buf = this.#value;
    buf.fill(0);
    for (let c = 0; c < values.length; c++) {
      const v = values[c];
      if (!(v instanceof Uint8Array) || v.length !== this.valueSize) {
        throw new InvalidArgumentError(
          `${this.label}: per-CPU value ${c} must be ${this.valueSize} bytes, got ${
            v instanceof Uint8Array ? v.length : typeof v
          }`,
        );
      }
      buf.set(v, c * stride);
    }
    const f = updateFlagNumber(flags);
    copyBytes(this.#key, key);
    this.#elemFlags[0] = f;
    const r = bpfRawAt(B_UPDATE, this.#pElem, B_ELEM_ATTR);
    if (r < 0) throw this.#fail("update", r, f);
  }

  /** Map-in-map: the inner map stored at `key`, opened by its id, or `undefined`. */
  lookupInnerMap(key: Uint8Array): BpfMap | undefined {
    if (!isMapInMapType(this.type)) {
      throw new InvalidArgumentError(`${this.label} is not a map-in-map`);
    }
    const v = this.lookup(key);
    if (v === undefined) return undefined;
    return mapFromId(new DataView(v.buffer, v.byteOffset, 4).getUint32(0, true));
  }

  // ---- batch operations (5.6+) ----

  /** A cursor for `lookupBatch`/`lookupAndDeleteBatch`, with room for `batchSize` elements. */
  batchCursor(options: BatchOptions = {}): MapBatchCursor {
    const size = options.batchSize ?? Math.min(256, Math.max(1, this.maxEntries));
    return new MapBatchCursor({
      keySize: this.keySize,
      valueBufferSize: this.valueBufferSize,
      batchSize: size,
    });
  }

  #batchWalk(
    cmd: number,
    cursor: MapBatchCursor,
    buffers: BatchBuffers | undefined,
    options: LookupOptions | undefined,
  ): number {
    if (this.#fdn < 0) throw this.#closedError();
    const flags = lookupFlags(options, this.label);
    if (cursor.keySize !== this.keySize || cursor.valueBufferSize !== this.valueBufferSize) {
      throw new InvalidArgumentError(
        `the batch cursor was made for ${cursor.keySize}-byte keys and ` +
          `${cursor.valueBufferSize}-byte values, not ${this.label}'s: use its batchCursor()`,
      );
    }
    if (cursor.done) {
      cursor.count = 0;
      return 0;
    }
    const attr = cursor._attr;
    const dv = cursor._attrView;
    let count = cursor.batchSize;
    if (buffers !== undefined) {
      const { keys, values } = buffers;
      if (!(keys instanceof Uint8Array) || keys.length === 0 || keys.length % this.keySize) {
        throw new InvalidArgumentError(
          `${this.label}: the batch keys buffer must be a Uint8Array of a non-empty multiple ` +
            `of ${this.keySize} bytes, got ${describeArg(keys)}`,
        );
      }
      count = keys.length / this.keySize;
      if (!(values instanceof Uint8Array) || values.length !== count * this.valueBufferSize) {
        throw new InvalidArgumentError(
          `${this.label}: the batch values buffer must be a Uint8Array of ` +
            `${count * this.valueBufferSize} bytes for ${count} keys, got ${describeArg(values)}`,
        );
      }
      this.#inFlight.push(keys, values);
      dv.setBigUint64(16, addressOf(keys), true);
      dv.setBigUint64(24, addressOf(values), true);
    }
    dv.setBigUint64(0, cursor._started ? cursor._inAddr : 0n, true);
    dv.setUint32(32, count, true);
    dv.setUint32(36, this.#fdn, true);
    dv.setUint32(40, flags, true); // elem_flags (BPF_F_LOCK)
    dv.setUint32(44, 0, true);
    const r = bpfRaw(cmd, attr, BATCH_ATTR);
    if (buffers !== undefined) {
      // Restore the cursor's own buffers for the next call.
      this.#inFlight.length = 0;
      dv.setBigUint64(16, this.keySize ? addressOf(cursor.keys) : 0n, true);
      dv.setBigUint64(24, cursor.values.length ? addressOf(cursor.values) : 0n, true);
    }
    const n = dv.getUint32(32, true);
    if (r < 0 && r !== -ENOENT) {
      cursor.count = 0;
      const command = cmd === LOOKUP_BATCH
        ? "BPF_MAP_LOOKUP_BATCH"
        : "BPF_MAP_LOOKUP_AND_DELETE_BATCH";
      throw batchError(command, -r, {
        map: this,
        kernelVersion: kernelVersionCode(),
        done: n,
        flags,
      });
    }
    cursor.count = n;
    if (r < 0) cursor.done = true;
    else {
      cursor._in.set(cursor._out);
      cursor._started = true;
    }
    return n;
  }

  /**
   * Reads the next batch of elements at `cursor` (BPF_MAP_LOOKUP_BATCH,
   * 5.6+) into the cursor's buffers, or into `buffers`; returns how many
   * were read. Returns 0 once `cursor.done`. Throws `NotSupportedError` for
   * map types without batch support. `{ flags: "lock" }` (BPF_F_LOCK as
   * `elem_flags`) copies each value under its `bpf_spin_lock`.
   */
  lookupBatch(
    cursor: MapBatchCursor,
    buffers?: BatchBuffers,
    options?: LookupOptions,
  ): number {
    return this.#batchWalk(LOOKUP_BATCH, cursor, buffers, options);
  }

  /** Like `lookupBatch`, removing what it returns (hash maps); takes the same flags. */
  lookupAndDeleteBatch(
    cursor: MapBatchCursor,
    buffers?: BatchBuffers,
    options?: LookupOptions,
  ): number {
    return this.#batchWalk(LOOKUP_AND_DELETE_BATCH, cursor, buffers, options);
  }

  #batchOp(
    cmd: number,
    keys: Uint8Array,
    values: Uint8Array | undefined,
    flags: MapUpdateFlags | undefined,
  ): number {
    if (this.#fdn < 0) throw this.#closedError();
    if (this.keySize === 0) throw this.#keyError(keys);
    if (!(keys instanceof Uint8Array) || keys.length % this.keySize !== 0) {
      throw new InvalidArgumentError(
        `${this.label}: batch keys are one Uint8Array of ${this.keySize} bytes per key (a ` +
          `multiple of ${this.keySize} bytes), got ${describeArg(keys)}`,
      );
    }
    const count = keys.length / this.keySize;
    if (values !== undefined && values.length !== count * this.valueBufferSize) {
      throw new InvalidArgumentError(
        `batch values must be ${count * this.valueBufferSize} bytes for ${count} keys ` +
          `(${this.valueBufferSize} per value), got ${values.length}`,
      );
    }
    if (count === 0) return 0;
    if (this.#batchAttr === undefined) {
      const mem = new ArrayBuffer(BATCH_ATTR + 8);
      this.#batchAttr = region(mem, 0, BATCH_ATTR);
      this.#batchView = new DataView(mem, 0, BATCH_ATTR);
    }
    const dv = this.#batchView!;
    const f = updateFlagNumber(flags);
    if ((f & ~UpdateFlag.lock) !== 0) {
      throw new InvalidArgumentError(
        `batch writes take only "any" or "lock" as element flags: the kernel has no ` +
          `per-element noexist/exist for batches; use update() for those`,
      );
    }
    this.#inFlight.push(keys, values);
    dv.setBigUint64(16, addressOf(keys), true);
    dv.setBigUint64(24, values ? addressOf(values) : 0n, true);
    dv.setUint32(32, count, true);
    dv.setUint32(36, this.#fdn, true);
    dv.setBigUint64(40, BigInt(f), true);
    const r = bpfRaw(cmd, this.#batchAttr, BATCH_ATTR);
    this.#inFlight.length = 0;
    const n = dv.getUint32(32, true);
    if (r < 0) {
      if (cmd === DELETE_BATCH && r === -ENOENT) return n;
      const command = cmd === UPDATE_BATCH ? "BPF_MAP_UPDATE_BATCH" : "BPF_MAP_DELETE_BATCH";
      throw batchError(command, -r, {
        map: this,
        kernelVersion: kernelVersionCode(),
        done: n,
        flags: f,
      });
    }
    return n;
  }

  /**
   * Writes `keys.length / keySize` elements in one syscall
   * (BPF_MAP_UPDATE_BATCH, 5.6+); `values` holds as many values. Returns
   * the number written.
   */
  updateBatch(keys: Uint8Array, values: Uint8Array, options: BatchWriteOptions = {}): number {
    if (!(values instanceof Uint8Array)) {
      throw new InvalidArgumentError(
        `${this.label}: batch values are one Uint8Array of ${this.valueBufferSize} bytes per ` +
          `key, got ${describeArg(values)}`,
      );
    }
    return this.#batchOp(UPDATE_BATCH, keys, values, options.flags);
  }

  /**
   * Deletes the given keys in one syscall (BPF_MAP_DELETE_BATCH, 5.6+).
   * Stops at the first absent key and returns how many were deleted
   * before it (so a result below the key count names the missing key).
   */
  deleteBatch(keys: Uint8Array, options: BatchWriteOptions = {}): number {
    return this.#batchOp(DELETE_BATCH, keys, undefined, options.flags);
  }

  /**
   * Every element, read with batch lookups: `[key, value]` pairs (views
   * into one copy per batch). Grows the batch when a hash bucket does not fit.
   */
  batchLookupAll(options: BatchLookupOptions = {}): [Uint8Array, Uint8Array][] {
    let cursor = this.batchCursor(options);
    const lookup = options.flags === undefined ? undefined : { flags: options.flags };
    const out: [Uint8Array, Uint8Array][] = [];
    for (;;) {
      let n: number;
      try {
        n = this.lookupBatch(cursor, undefined, lookup);
      } catch (e) {
        if (e instanceof SyscallError && e.errno === ENOSPC && cursor.batchSize < 1 << 20) {
          const bigger = new MapBatchCursor({
            keySize: this.keySize,
            valueBufferSize: this.valueBufferSize,
            batchSize: cursor.batchSize * 2,
          });
          bigger._in.set(cursor._in);
          bigger._started = cursor._started;
          cursor = bigger;
          continue;
        }
        throw e;
      }
      if (n > 0) {
        const ks = cursor.keys.slice(0, n * this.keySize);
        const vs = cursor.values.slice(0, n * this.valueBufferSize);
        for (let i = 0; i < n; i++) {
          out.push([
            ks.subarray(i * this.keySize, (i + 1) * this.keySize),
            vs.subarray(i * this.valueBufferSize, (i + 1) * this.valueBufferSize),
          ]);
        }
      }
      if (cursor.done) return out;
    }
  }

  // ---- whole-map operations ----

  /**
   * Makes the map read-only from user space (BPF_MAP_FREEZE, 5.2+); later
   * updates throw `MapReadOnlyError`. Programs can still write unless the
   * map was created with BPF_F_RDONLY_PROG.
   */
  freeze(): void {
    if (this.#fdn < 0) throw this.#closedError();
    const r = bpfTry("MAP_FREEZE", { mapFd: this.#fdn });
    if (r < 0) {
      throw freezeError(-r, {
        map: this,
        frozen: -r === EBUSY && fdinfoFrozen(this.#fdn),
      });
    }
  }

  /**
   * Maps the values of a BPF_F_MMAPABLE array (or arena) into memory:
   * `memory.value(i)` reads and writes element i with no syscall. The
   * mapping is owned: close it (or `using`) when done.
   */
  mmap(options: MmapOptions = {}): MapMemory {
    if (this.#fdn < 0) throw this.#closedError();
    if ((this.flags & MapCreateFlag.MMAPABLE) === 0) {
      throw new InvalidArgumentError(
        `${this.label} was not created with MapCreateFlag.MMAPABLE (BPF_F_MMAPABLE): ` +
          `only such arrays and arenas can be mmap()ed`,
      );
    }
    const page = pageSize();
    if (this.type === MapType.arena) {
      return new MapMemory(this.#fdn, {
        length: this.maxEntries * page,
        stride: page,
        valueSize: page,
        count: this.maxEntries,
        readOnly: options.readOnly ?? false,
      });
    }
    const stride = roundUp8(this.valueSize);
    const length = Math.ceil((stride * this.maxEntries) / page) * page;
    return new MapMemory(this.#fdn, {
      length,
      stride,
      valueSize: this.valueSize,
      count: this.maxEntries,
      readOnly: options.readOnly ?? false,
    });
  }

  /** What the kernel reports about the map (struct bpf_map_info). */
  info(): MapInfo {
    if (this.#fdn < 0) throw this.#closedError();
    return readMapInfo(this.#fdn);
  }

  /** Pins the map at `path` on a bpffs mount. */
  pin(path: string): void {
    if (this.#fdn < 0) throw this.#closedError();
    objPin(this.#fdn, path);
    this.#pinned = path;
  }

  /** Removes the pin made by `pin()` or found by `loadPinnedMap()`; no-op if not pinned. */
  unpin(): void {
    if (this.#pinned === undefined) return;
    objUnpin(this.#pinned);
    this.#pinned = undefined;
  }

  /** A second `BpfMap` on the same kernel map with its own descriptor (dup). */
  clone(): BpfMap {
    if (this.#fdn < 0) throw this.#closedError();
    return new BpfMap(this.#fd.dup(this.label), this);
  }

  /** A typed view of this map through key and value codecs (sizes must match). */
  typed<K, V>(key: Codec<K>, value: Codec<V>): TypedMap<K, V, BpfMap> {
    return new TypedMap(this, { key, value });
  }

  /** Closes the descriptor; idempotent. A pin keeps the map alive in the kernel. */
  close(): void {
    this.#fdn = -1;
    this.#keyLen = -1;
    this.#fd.close();
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** E.g. `BpfMap(hash map counts, fd 7)`. */
  toString(): string {
    return `BpfMap(${this.label}, ${this.closed ? "closed" : `fd ${this.#fdn}`})`;
  }

  /** @internal Records the pin path of a map opened from a pin. */
  _setPinned(path: string): void {
    this.#pinned = path;
  }
}

/** Options for {@linkcode createMap}. */
export interface CreateMapOptions {
  /** Directory on bpffs for specs with `pinning: "by_name"`. */
  pinPath?: string;
}

/** Options for {@linkcode createMap} that also ask for a typed view. */
export interface CreateTypedMapOptions<K, V> extends CreateMapOptions {
  /** Key codec (its size must equal keySize). */
  key: Codec<K>;
  /** Value codec (its size must equal valueSize). */
  value: Codec<V>;
}

function describe(r: ResolvedMapSpec): string {
  return `${r.typeName} map${r.name ? ` ${r.name}` : ""} (key ${r.keySize} B, value ` +
    `${r.valueSize} B, ${r.maxEntries} entries, flags 0x${r.flags.toString(16)})`;
}

function createResolved(r: ResolvedMapSpec): BpfMap {
  const cleanup: { close(): void }[] = [];
  try {
    let innerMapFd: number | undefined;
    if (r.innerMap !== undefined) {
      if ("type" in r.innerMap && !(r.innerMap instanceof BpfMap)) {
        const inner = createMap(r.innerMap as MapSpec);
        cleanup.push(inner);
        innerMapFd = inner.fd;
      } else {
        innerMapFd = fdOf((r.innerMap as FdHolder).fd);
      }
    }
    const attr: MapCreateAttr = {
      mapType: r.type,
      keySize: r.keySize,
      valueSize: r.valueSize,
      maxEntries: r.maxEntries,
      mapFlags: r.flags,
      innerMapFd,
      numaNode: r.numaNode,
      mapName: r.name || undefined,
      mapIfindex: r.ifindex || undefined,
      mapExtra: r.mapExtra || undefined,
    };
    const btf = r.btf;
    if (r.type === MapType.struct_ops) {
      // The kernel wants a valid btf_fd next to the vmlinux value type id,
      // and no key/value type ids; any loaded BTF object does.
      if (btf?.btfFd !== undefined) attr.btfFd = fdOf(btf.btfFd);
      else {
        const fd = loadBtfObject(buildMapBtf({ valueSize: 4 }).blob, "BTF for struct_ops map");
        cleanup.push(fd);
        attr.btfFd = fd.value;
      }
    } else if (btf?.btfFd !== undefined) {
      attr.btfFd = fdOf(btf.btfFd);
      attr.btfKeyTypeId = btf.keyTypeId;
      attr.btfValueTypeId = btf.valueTypeId;
    } else if (isLocalStorageMapType(r.type)) {
      // Local storage maps need BTF key and value types: make a tiny BTF.
      const made = buildMapBtf({ valueSize: r.valueSize });
      const fd = loadBtfObject(made.blob, `BTF for ${r.typeName} map`);
      cleanup.push(fd);
      attr.btfFd = fd.value;
      attr.btfKeyTypeId = made.keyTypeId;
      attr.btfValueTypeId = made.valueTypeId;
    }
    if (btf?.vmlinuxValueTypeId) attr.btfVmlinuxValueTypeId = btf.vmlinuxValueTypeId;
    if (btf?.valueTypeBtfObjFd !== undefined) {
      attr.valueTypeBtfObjFd = fdOf(btf.valueTypeBtfObjFd);
      attr.mapFlags = (attr.mapFlags ?? 0) | MapCreateFlag.VTYPE_BTF_OBJ_FD;
    }
    const fd = bpfTry("MAP_CREATE", attr);
    if (fd < 0) {
      throw mapCreateError(-fd, {
        typeName: r.typeName,
        what: describe(r),
        kernelVersion: kernelVersionCode(),
      });
    }
    const label = `${r.typeName} map${r.name ? ` ${r.name}` : ""}`;
    return new BpfMap(new FD(fd, label), r);
  } finally {
    for (const c of cleanup) c.close();
  }
}

// Rounds of open-or-create-and-pin before giving up: each lost race means
// another process pinned (or unpinned) the map in between, so a few are
// plenty even with many processes starting at once.
const PIN_RACE_ROUNDS = 16;

/** The map pinned at `path`, if any, checked against the spec. */
function openCompatiblePin(r: ResolvedMapSpec, path: string): BpfMap | undefined {
  let existing: BpfMap;
  try {
    existing = loadPinnedMap(path);
  } catch (e) {
    if (e instanceof SyscallError && e.errno === ENOENT) return undefined;
    throw e;
  }
  try {
    assertMapMatches(
      r.name,
      `map ${r.name} pinned at ${path}`,
      existing.info(),
      r,
      "unpin it or fix the spec",
    );
  } catch (e) {
    existing.close();
    throw e;
  }
  return existing;
}

/**
 * `pinning: "by_name"`: reuses the compatible map pinned at `path`, or
 * creates one and pins it there. When another process pins first
 * (BPF_OBJ_PIN fails with EEXIST), the new map is dropped and the pin that
 * won is opened and checked instead, as libbpf and iproute2 do.
 */
function createPinnedByName(r: ResolvedMapSpec, path: string): BpfMap {
  for (let round = 0; round < PIN_RACE_ROUNDS; round++) {
    const existing = openCompatiblePin(r, path);
    if (existing) return existing;
    const map = createResolved(r);
    try {
      map.pin(path);
      return map;
    } catch (e) {
      map.close();
      // EEXIST: another process pinned its map first; use that one.
      if (!(e instanceof SyscallError && e.errno === EEXIST)) throw e;
    }
  }
  throw new EbpfError(
    `map ${r.name}: the pin at ${path} kept appearing and disappearing during ` +
      `${PIN_RACE_ROUNDS} attempts to open or create it: another process is pinning and ` +
      `unpinning it in a loop; retry when it settles`,
  );
}

/**
 * Creates a map from `spec` (BPF_MAP_CREATE). With `key` and `value`
 * codecs in the options it returns a typed view instead. With
 * `pinning: "by_name"` it reuses the compatible map pinned at
 * `<pinPath>/<name>`, or creates and pins one there.
 *
 * Errors: `InvalidArgumentError` for a bad spec (before any syscall),
 * `PermissionError` naming CAP_BPF, `NotSupportedError` for a map type
 * this kernel lacks, `SyscallError` otherwise.
 *
 * @example
 * ```ts
 * using m = createMap({ type: "array", keySize: 4, valueSize: 8, maxEntries: 16 });
 * using t = createMap({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 16 }, { key: u32, value: u64 });
 * ```
 */
export function createMap<K, V>(
  spec: MapSpec,
  options: CreateTypedMapOptions<K, V>,
): TypedMap<K, V, BpfMap>;
/** Creates a map from `spec` and returns it as a `BpfMap`. */
export function createMap(spec: MapSpec, options?: CreateMapOptions): BpfMap;
export function createMap<K, V>(
  spec: MapSpec,
  options: CreateMapOptions | CreateTypedMapOptions<K, V> = {},
): BpfMap | TypedMap<K, V, BpfMap> {
  const r = resolveMapSpec(spec);
  const typed = "key" in options || "value" in options
    ? options as CreateTypedMapOptions<K, V>
    : undefined;
  if (typed && (typed.key === undefined || typed.value === undefined)) {
    throw new InvalidArgumentError("createMap: give both key and value codecs, or neither");
  }
  // Check codec sizes before any syscall.
  if (typed && typed.key.size !== r.keySize) {
    throw new InvalidArgumentError(
      `key codec ${typed.key.name} is ${typed.key.size} bytes but the spec has ${r.keySize}-byte keys`,
    );
  }
  if (typed && typed.value.size !== r.valueSize) {
    throw new InvalidArgumentError(
      `value codec ${typed.value.name} is ${typed.value.size} bytes but the spec has ` +
        `${r.valueSize}-byte values`,
    );
  }
  let map: BpfMap;
  if (r.pinning === "by_name") {
    if (!options.pinPath) {
      throw new InvalidArgumentError(
        `map ${r.name} has pinning "by_name": give createMap a pinPath (a bpffs directory)`,
      );
    }
    const path = `${options.pinPath.replace(/\/+$/, "")}/${r.name}`;
    map = createPinnedByName(r, path);
  } else {
    map = createResolved(r);
  }
  return typed ? new TypedMap(map, { key: typed.key, value: typed.value }) : map;
}

/** Open flags for maps opened from a pin or an id. */
export interface OpenMapOptions {
  /** Open read-only (BPF_F_RDONLY): writes throw `MapReadOnlyError`. */
  readOnly?: boolean;
  /** Open write-only (BPF_F_WRONLY). */
  writeOnly?: boolean;
}

function openFlags(options: OpenMapOptions): number {
  if (options.readOnly && options.writeOnly) {
    throw new InvalidArgumentError("readOnly and writeOnly exclude each other");
  }
  return (options.readOnly ? MapCreateFlag.RDONLY : 0) |
    (options.writeOnly ? MapCreateFlag.WRONLY : 0);
}

/**
 * Reads the info of the map behind the raw descriptor `fd`, checking first
 * that it is a map. Throws `InvalidArgumentError` for other descriptors;
 * never closes `fd`.
 */
function readOwnMapInfo(fd: number, label: string): MapInfo {
  // OBJ_GET_INFO_BY_FD answers for programs, links and BTF too: make sure
  // this is a map before reading its info as struct bpf_map_info.
  let kind = "";
  try {
    kind = readLink(`/proc/self/fd/${fd}`);
  } catch {
    // No /proc: trust the caller.
    kind = "anon_inode:bpf-map";
  }
  if (kind !== "anon_inode:bpf-map") {
    throw new InvalidArgumentError(
      `${label} is not a BPF map (the descriptor is ${kind || "unknown"})`,
    );
  }
  try {
    return readMapInfo(fd);
  } catch (e) {
    if (e instanceof SyscallError && e.code === "EINVAL") {
      throw new InvalidArgumentError(`${label} is not a BPF map descriptor`, { cause: e });
    }
    throw e;
  }
}

function fromFd(fd: FD): BpfMap {
  let info: MapInfo;
  try {
    info = readOwnMapInfo(fd.value, fd.label);
  } catch (e) {
    fd.close();
    throw e;
  }
  return new BpfMap(fd, info);
}

/** Opens the map pinned at `path` (BPF_OBJ_GET); `unpin()` on it removes the pin. */
export function loadPinnedMap(path: string, options: OpenMapOptions = {}): BpfMap {
  const fd = objGet(path, { fileFlags: openFlags(options), label: `pinned map ${path}` });
  const map = fromFd(fd);
  map._setPinned(path);
  return map;
}

/** Opens a map by its id (BPF_MAP_GET_FD_BY_ID; needs CAP_SYS_ADMIN). */
export function mapFromId(id: number, options: OpenMapOptions = {}): BpfMap {
  return fromFd(objFromId("map", id, { openFlags: openFlags(options) }));
}

/**
 * Wraps a map descriptor obtained elsewhere (inherited, received over a
 * socket), as cilium/ebpf's `NewMapFromFD` does: the returned map takes
 * ownership of `fd` and closes it, so the caller must not close or reuse it.
 * If `fd` is not a BPF map, it throws `InvalidArgumentError` and leaves `fd`
 * open. To keep a descriptor of your own, wrap a copy (`dup(2)`) instead,
 * or use {@linkcode BpfMap.clone} on an existing map.
 */
export function mapFromFd(fd: number): BpfMap {
  if (!Number.isInteger(fd) || fd < 0) {
    throw new InvalidArgumentError(`file descriptor ${fd} is not a BPF map`);
  }
  const label = `map fd ${fd}`;
  const info = readOwnMapInfo(fd, label);
  return new BpfMap(new FD(fd, label), info);
}
