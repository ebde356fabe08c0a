/**
 * The handles of started scripted probes: {@linkcode AggregateProbe} (an
 * aggregation read as a `Map`, printed bpftrace style) and
 * {@linkcode EventProbe} (a stream of decoded events), both owning the
 * program, its links and maps until `stop()`.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import type { Link } from "../link/mod.ts";
import type { BpfMap } from "../map/mod.ts";
import type { Program } from "../program/mod.ts";
import type { RingBufReader } from "../ringbuf/mod.ts";
import { nextTurn } from "../sys/event_loop.ts";
import { type AggKind, type LinearBounds, linearBuckets, valueSize } from "./_aggregate.ts";
import type { Slot } from "./_codegen.ts";
import { type Decoder, decoderOf } from "./_decode.ts";
import {
  formatAggregation,
  type Histogram,
  histogramFrom,
  linearBucket,
  LOG2_BUCKETS,
  log2Bucket,
} from "./output.ts";
import type { AggregationKind } from "./types.ts";

/** Options of `runFor`. */
export interface RunOptions {
  /** Stops early when aborted; `interrupted()` gives one that aborts on Ctrl-C / SIGTERM. */
  signal?: AbortSignal;
}

/** Options of {@linkcode AggregateProbe.print}. */
export interface PrintOptions {
  /** Print only the `top` largest entries. */
  top?: number;
  /** The map name (default: the aggregation's `name`, else `"@"`). */
  name?: string;
}

/** @internal Everything a started probe owns, closed in reverse order. */
export interface Owned {
  links: Link[];
  program?: Program;
  maps: BpfMap[];
  reader?: RingBufReader;
}
/** @internal Closes what `o` holds (links, reader, program, maps); throws the first error. */
export function closeAll(o: Owned): void {
  const errors: unknown[] = [];
  const attempt = (f: () => void) => {
    try {
      f();
    } catch (e) {
      errors.push(e);
    }
  };
  for (const l of o.links.splice(0).reverse()) attempt(() => l.close());
  if (o.reader) attempt(() => o.reader!.close());
  if (o.program) attempt(() => o.program!.close());
  for (const m of o.maps.splice(0).reverse()) attempt(() => m.close());
  if (errors.length) throw errors[0];
}

/** What both kinds of handle share: the program, its links, and stopping. */
export abstract class ProbeHandle implements AsyncDisposable, Disposable {
  /** The probe point, bpftrace style (e.g. `"tracepoint:syscalls:sys_enter_openat"`). */
  readonly point: string;
  /** The generated program as assembler text. */
  readonly listing: string;
  /** The number of attachments (one per CPU for `profile`). */
  readonly attachments: number;
  #owned: Owned;
  #stopped = false;

  /** @internal Created by `ProbeBuilder`; takes ownership of `owned`. */
  constructor(point: string, listing: string, owned: Owned) {
    this.point = point;
    this.listing = listing;
    this.#owned = owned;
    this.attachments = owned.links.length;
  }

  /** The loaded program (for inspection: id, info, statistics). */
  get program(): Program {
    if (!this.#owned.program) throw new InvalidArgumentError("the probe is stopped");
    return this.#owned.program;
  }

  /** True once stopped. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /** Called after the links are closed and before the maps are: take the last data. */
  protected abstract finish(): void;

  /** Detaches and closes everything (links, program, maps, reader); idempotent. */
  close(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    const o = this.#owned;
    let first: unknown;
    try {
      for (const l of o.links.splice(0).reverse()) l.close();
    } catch (e) {
      first = e;
    }
    try {
      this.finish();
    } catch (e) {
      first ??= e;
    }
    try {
      closeAll(o);
    } catch (e) {
      first ??= e;
    }
    o.program = undefined;
    o.reader = undefined;
    if (first !== undefined) throw first;
  }

  /** Same as `close()`, as a promise. */
  stop(): Promise<void> {
    try {
      this.close();
      return Promise.resolve();
    } catch (e) {
      return Promise.reject(e);
    }
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Same as `stop()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }

  /** @internal Waits `seconds` (or until `signal` aborts). */
  protected static sleep(seconds: number, signal?: AbortSignal): Promise<void> {
    if (!(seconds >= 0)) {
      return Promise.reject(new InvalidArgumentError(`runFor: invalid seconds ${seconds}`));
    }
    return new Promise((resolve) => {
      if (signal?.aborted) return resolve();
      const done = () => {
        clearTimeout(t);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      const t = setTimeout(done, seconds * 1000);
      signal?.addEventListener("abort", done, { once: true });
    });
  }
}
/** @internal How the aggregated per-CPU values combine. */
export interface AggregateShape {
  kind: AggKind;
  key: Slot[];
  keySize: number;
  tuple: boolean;
  signed: boolean;
  linear?: LinearBounds;
  name: string;
}

/**
 * A running aggregation: `read()` snapshots it as a `Map` from keys
 * (`null` without a key, a value for one expression, a tuple for several)
 * to numbers, or to {@linkcode Histogram}s for `hist`/`lhist`.
 */
export class AggregateProbe<K, V extends number | Histogram> extends ProbeHandle {
  /** What it aggregates: `"count"`, `"sum"`, `"min"`, `"max"`, `"avg"`, `"hist"` or `"lhist"`. */
  readonly kind: AggregationKind;
  /** The name printed by `print()`. */
  readonly name: string;
  #agg: BpfMap;
  #stacks: BpfMap | undefined;
  #shape: AggregateShape;
  #decoders: Decoder[];
  #final: Map<K, V> | undefined;

  /** @internal Created by `ProbeBuilder`. */
  constructor(
    point: string,
    listing: string,
    owned: Owned,
    maps: { agg: BpfMap; stacks?: BpfMap },
    shape: AggregateShape,
  ) {
    super(point, listing, owned);
    this.kind = shape.kind;
    this.name = shape.name;
    this.#agg = maps.agg;
    this.#stacks = maps.stacks;
    this.#shape = shape;
    this.#decoders = shape.key.map((s) => decoderOf(s.access, s.size, maps.stacks));
  }

  #key(bytes: Uint8Array): unknown {
    const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    const parts = this.#shape.key.map((s, i) => this.#decoders[i](view, s.offset));
    if (!this.#shape.tuple) return parts.length ? parts[0] : null;
    return parts;
  }

  #combine(values: Uint8Array): number {
    const view = new DataView(values.buffer, values.byteOffset, values.byteLength);
    const stride = Math.ceil(valueSize(this.kind) / 8) * 8;
    const cpus = values.byteLength / stride;
    const signed = this.#shape.signed;
    switch (this.kind) {
      case "min":
      case "max": {
        let best: bigint | undefined;
        for (let c = 0; c < cpus; c++) {
          if (view.getBigUint64(c * stride + 8, true) === 0n) continue;
          const v = signed
            ? view.getBigInt64(c * stride, true)
            : view.getBigUint64(c * stride, true);
          if (best === undefined || (this.kind === "min" ? v < best : v > best)) best = v;
        }
        return Number(best ?? 0n);
      }
      case "avg": {
        let sum = 0n;
        let n = 0n;
        for (let c = 0; c < cpus; c++) {
          sum += view.getBigUint64(c * stride, true);
          n += view.getBigUint64(c * stride + 8, true);
        }
        const s = signed ? BigInt.asIntN(64, sum) : BigInt.asUintN(64, sum);
        return n === 0n ? 0 : Number(s) / Number(n);
      }
      default: {
        let sum = 0n;
        for (let c = 0; c < cpus; c++) sum += view.getBigUint64(c * stride, true);
        return Number(
          this.kind === "sum" && signed ? BigInt.asIntN(64, sum) : BigInt.asUintN(64, sum),
        );
      }
    }
  }

  #snapshot(): Map<K, V> {
    const entries = this.#agg.batchLookupAll();
    const out: [unknown, number | Histogram][] = [];
    if (this.kind === "hist" || this.kind === "lhist") {
      const userSize = this.#shape.keySize - 8;
      const groups = new Map<string, { key: unknown; counts: Map<number, number> }>();
      for (const [k, v] of entries) {
        const id = Array.from(k.subarray(0, userSize)).join(",");
        let g = groups.get(id);
        if (!g) groups.set(id, g = { key: this.#key(k), counts: new Map() });
        const bucket = Number(new DataView(k.buffer, k.byteOffset).getBigUint64(userSize, true));
        g.counts.set(bucket, (g.counts.get(bucket) ?? 0) + this.#combine(v));
      }
      const lin = this.#shape.linear;
      const n = lin ? linearBuckets(lin) : LOG2_BUCKETS;
      const bucket = lin
        ? (i: number, c: number) => linearBucket(i, c, lin, n)
        : (i: number, c: number) => log2Bucket(i, c);
      for (const g of groups.values()) out.push([g.key, histogramFrom(g.counts, bucket)]);
    } else {
      for (const [k, v] of entries) out.push([this.#key(k), this.#combine(v)]);
    }
    const size = (v: number | Histogram) => typeof v === "number" ? v : v.total;
    out.sort((a, b) => size(a[1]) - size(b[1]));
    return new Map(out as [K, V][]);
  }

  /**
   * The aggregation now, sorted by value (smallest first, as bpftrace
   * prints). After `stop()`, the last snapshot (taken when it stopped).
   */
  read(): Map<K, V> {
    if (this.stopped) return new Map(this.#final ?? []);
    return this.#snapshot();
  }

  /**
   * The value for one key (`get()` without a key for an aggregation with
   * none); tuple keys compare by value.
   */
  get(...key: K extends null ? [] : [K]): V | undefined {
    const want = JSON.stringify(key.length ? key[0] : null);
    for (const [k, v] of this.read()) if (JSON.stringify(k) === want) return v;
    return undefined;
  }

  /** Removes every entry (bpftrace's `clear(@)`). */
  clear(): void {
    if (this.stopped) {
      this.#final = new Map();
      return;
    }
    for (const [k] of this.#agg.batchLookupAll()) this.#agg.delete(k);
  }

  /**
   * The aggregation as bpftrace prints it: stack keys one frame a line
   * (even a one-frame stack), and a keyless `count()` with no entry (never
   * hit, or cleared) as `@: 0`.
   */
  format(options: PrintOptions = {}): string {
    let entries: Map<unknown, number | Histogram> = this.read();
    const shape = this.#shape;
    if (entries.size === 0 && this.kind === "count" && shape.key.length === 0) {
      entries = new Map([[null, 0]]);
    }
    const stacks = shape.key.flatMap((s, i) => s.access.type === "stack" ? [i] : []);
    return formatAggregation(entries, {
      name: options.name ?? this.name,
      top: options.top,
      stacks,
    });
  }

  /** Prints {@linkcode format} to stdout (nothing for an empty aggregation but a keyless count). */
  print(options: PrintOptions = {}): void {
    const text = this.format(options);
    if (text) console.log(text);
  }

  /** Waits `seconds` (or until `signal` aborts), stops, and returns the final snapshot. */
  async runFor(seconds: number, options: RunOptions = {}): Promise<Map<K, V>> {
    await ProbeHandle.sleep(seconds, options.signal);
    await this.stop();
    return this.read();
  }

  /** Takes the last snapshot. */
  protected finish(): void {
    this.#final = this.#snapshot();
  }
}

/**
 * The most records {@linkcode EventProbe.events} takes from the ring
 * buffer before it lets the event loop turn.
 */
export const EVENTS_PER_TURN = 1024;

/** Options of {@linkcode EventProbe.events}. */
export interface EventsOptions {
  /** Ends the iteration when aborted. */
  signal?: AbortSignal;
}

/**
 * A running event stream: records written by the program to a ring
 * buffer, decoded into objects of type `T`.
 */
export class EventProbe<T> extends ProbeHandle {
  #reader: RingBufReader;
  #drops: BpfMap;
  #decode: (rec: Uint8Array) => T;
  #pending: T[] = [];
  #head = 0;
  #dropped = 0;

  /** @internal Created by `ProbeBuilder`. */
  constructor(
    point: string,
    listing: string,
    owned: Owned,
    parts: { reader: RingBufReader; drops: BpfMap; decode: (rec: Uint8Array) => T },
  ) {
    super(point, listing, owned);
    this.#reader = parts.reader;
    this.#drops = parts.drops;
    this.#decode = parts.decode;
  }

  #take(): T | undefined {
    if (this.#head >= this.#pending.length) return undefined;
    const v = this.#pending[this.#head++];
    if (this.#head > 1024 && this.#head * 2 > this.#pending.length) {
      this.#pending = this.#pending.slice(this.#head);
      this.#head = 0;
    }
    return v;
  }

  /**
   * Decodes up to `limit` records into the queue; by default at most what
   * one ring holds, so that a producer as fast as the decoding cannot keep
   * it going.
   */
  #consume(limit = Math.ceil(this.#reader.size / 8)): number {
    return this.#reader.consume((r) => {
      this.#pending.push(this.#decode(r));
    }, limit);
  }

  /**
   * The events, as they come; ends when the probe stops (after the events
   * still in the ring) or `signal` aborts. One consumer at a time.
   *
   * It takes at most {@linkcode EVENTS_PER_TURN} records from the ring at a
   * time, and between two such batches lets the event loop turn, so that
   * timers (`AbortSignal.timeout`), I/O and signal listeners run even while
   * a producer outruns the consumer; the backlog stays in the ring (the
   * program counts what it cannot write there, see `dropped()`), not in the
   * JS heap.
   */
  async *events(options: EventsOptions = {}): AsyncGenerator<T> {
    const signal = options.signal;
    for (;;) {
      for (let v = this.#take(); v !== undefined; v = this.#take()) {
        yield v;
        if (signal?.aborted) return;
      }
      if (this.stopped || signal?.aborted) return;
      // A turn of the event loop before each batch.
      await nextTurn();
      if (signal?.aborted) return;
      if (this.stopped) continue; // the queue holds what stop() took from the ring
      if (this.#consume(EVENTS_PER_TURN) > 0) continue;
      const rec = await this.#reader.read({ signal });
      if (rec && !this.stopped) this.#pending.push(this.#decode(rec));
    }
  }

  /** The events waiting now, without blocking. */
  drain(): T[] {
    if (!this.stopped) this.#consume();
    const out = this.#pending.slice(this.#head);
    this.#pending = [];
    this.#head = 0;
    return out;
  }

  /** Events lost because the ring buffer was full. */
  dropped(): number {
    return this.stopped ? this.#dropped : this.#countDrops();
  }

  #countDrops(): number {
    const v = this.#drops.lookup(new Uint8Array(4));
    if (!v) return 0;
    const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
    let n = 0n;
    for (let i = 0; i + 8 <= v.byteLength; i += 8) n += dv.getBigUint64(i, true);
    return Number(n);
  }

  /** Collects events for `seconds` (or until `signal` aborts), stops, and returns them. */
  async runFor(seconds: number, options: RunOptions = {}): Promise<T[]> {
    await ProbeHandle.sleep(seconds, options.signal);
    await this.stop();
    return this.drain();
  }

  /** Moves the events still in the ring to the queue and reads the drop count. */
  protected finish(): void {
    this.#dropped = this.#countDrops();
    this.#consume();
  }
}
