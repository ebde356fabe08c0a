/**
 * Scripted probes: `probe(point, filters)` and one action — an aggregation
 * (`count`, `sum`, `min`, `max`, `avg`, `hist`, `lhist`) keyed by
 * builtins and fields, or a stream of typed events (`emit`). The BPF
 * program is generated with the assembler, loaded, attached, and owned by
 * the returned handle until `stop()`.
 *
 * ```ts ignore
 * import { probe, tracepoint } from "./mod.ts";
 *
 * // bpftrace -e 'tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }'
 * await using calls = await probe(tracepoint("raw_syscalls:sys_enter")).count({ by: "comm" });
 * await calls.runFor(3);
 * calls.print({ top: 10 });
 * ```
 *
 * @module
 */

import type { Assembler } from "../asm/mod.ts";
import { InvalidArgumentError } from "../errors.ts";
import { loadKallsyms } from "../kallsyms/mod.ts";
import {
  attachKprobe,
  attachPerfEvent,
  attachRawTracepoint,
  attachTracepoint,
  attachTracing,
  attachUprobe,
  attachUsdt,
  type Link,
} from "../link/mod.ts";
import { type BpfMap, createMap } from "../map/mod.ts";
import { loadProgramAsync, type Program } from "../program/mod.ts";
import { type RingBufReader, ringBufReader } from "../ringbuf/mod.ts";
import { onlineCpus } from "../sys/cpu.ts";
import { PerfSwConfig, PerfType } from "../sys/perf_event.ts";
import { nextTurn } from "../sys/event_loop.ts";
import type { TracefsOptions } from "../tracefs/mod.ts";
import { type Access, type IntAccess, type Schema, schemaOf } from "./_access.ts";
import {
  type AggKind,
  compileAggregate,
  compileEmit,
  layout,
  type LinearBounds,
  linearBuckets,
  type ResolvedPredicate,
  type Slot,
  valueSize,
} from "./_codegen.ts";
import { ProbeCompileError } from "./errors.ts";
import { type Predicate, toPredicate } from "./filter.ts";
import {
  formatAggregation,
  type Histogram,
  histogramFrom,
  linearBucket,
  LOG2_BUCKETS,
  log2Bucket,
} from "./output.ts";
import type { ArgsOf, ProbePoint } from "./points.ts";
import type {
  AggregationKind,
  AnyArgs,
  EmitFields,
  EventOf,
  Expr,
  KeyOf,
  KeySpec,
} from "./types.ts";

/** Filters and limits of a probe. */
export interface ProbeOptions {
  /** Only events of this process (tgid). */
  pid?: number;
  /** Only events of this thread. */
  tid?: number;
  /** Only events of tasks with this name (up to 15 characters). */
  comm?: string;
  /**
   * A filter, e.g. `"args.ret < 0"` or `'comm == "bash" && args.count > 4096'`
   * (see `parseFilter`), a parsed {@linkcode Predicate}, or a list (all must hold).
   */
  where?: string | Predicate | readonly (string | Predicate)[];
  /** Bytes kept of each string (default 64, at most 256). */
  strlen?: number;
  /** Maximum distinct keys of an aggregation (default 10240). */
  maxEntries?: number;
  /** Maximum distinct stacks (default 4096). */
  stackEntries?: number;
  /** Ring buffer size in bytes for events: a power of two, at least a page (default 256 KiB). */
  ringSize?: number;
  /** Where tracefs is, if not at its usual place. */
  tracefs?: TracefsOptions;
}

/** Options of the aggregations. */
export interface AggregateOptions<K> {
  /** What to key by: an expression, or a list of them (a tuple key). Default: no key. */
  by?: K;
  /** The map name in printed output (default `"@"`). */
  name?: string;
}

/** Options of {@linkcode ProbeBuilder.lhist}. */
export interface LinearHistogramOptions<K> extends AggregateOptions<K> {
  /** Lowest value of the first bucket. */
  min: number;
  /** The end of the last bucket; larger values go to `[max, ...)`. */
  max: number;
  /** Bucket width. */
  step: number;
}

/** Options of {@linkcode ProbeBuilder.emit}. */
export interface EmitOptions<F> {
  /**
   * The fields of each event: a list of expressions (named after the
   * expression without `args.`), or an object of names to expressions.
   */
  fields: F;
}

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

const DEFAULT_STRLEN = 64;
const MAX_STRLEN = 256;

/** Everything a started probe owns, closed in reverse order. */
interface Owned {
  links: Link[];
  program?: Program;
  maps: BpfMap[];
  reader?: RingBufReader;
}

function closeAll(o: Owned): void {
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

// ---- decoding ----

type Decoder = (view: DataView, offset: number) => unknown;

const utf8 = new TextDecoder();

function stackDecoder(stacks: BpfMap | undefined, user: boolean): Decoder {
  return (view, offset) => {
    const id = Number(view.getBigInt64(offset, true));
    if (id < 0 || !stacks) return "";
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, id, true);
    const v = stacks.lookup(key);
    if (!v) return "";
    const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
    const frames: string[] = [];
    for (let i = 0; i + 8 <= v.byteLength; i += 8) {
      const ip = dv.getBigUint64(i, true);
      if (ip === 0n) break;
      frames.push(user ? `0x${ip.toString(16)}` : kernelSymbol(ip));
    }
    return frames.join("\n");
  };
}

function kernelSymbol(ip: bigint): string {
  try {
    const s = loadKallsyms().symbolize(ip);
    if (s) return `${s.symbol.name}+${s.offset}`;
  } catch {
    // kallsyms hidden or unreadable: print the address
  }
  return `0x${ip.toString(16)}`;
}

function decoderOf(a: Access, size: number, stacks: BpfMap | undefined): Decoder {
  if (a.type === "stack") return stackDecoder(stacks, a.user);
  if (a.type === "str") {
    return (view, offset) => {
      const bytes = new Uint8Array(view.buffer, view.byteOffset + offset, size);
      const end = bytes.indexOf(0);
      return utf8.decode(end < 0 ? bytes : bytes.subarray(0, end));
    };
  }
  return a.signed
    ? (view, offset) => Number(view.getBigInt64(offset, true))
    : (view, offset) => Number(view.getBigUint64(offset, true));
}

// ---- handles ----

/** How the aggregated per-CPU values combine. */
interface AggregateShape {
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

// ---- building ----

function resolvePredicate(p: Predicate, schema: Schema, strlen: number): ResolvedPredicate {
  if ("arg" in p) return { op: "!", arg: resolvePredicate(p.arg, schema, strlen) };
  if ("args" in p) {
    return { op: p.op, args: p.args.map((x) => resolvePredicate(x, schema, strlen)) };
  }
  const text = `${p.left} ${p.op} ${
    typeof p.right === "string" ? JSON.stringify(p.right) : p.right
  }`;
  return { op: p.op, left: schema.resolve(p.left, strlen), right: p.right, text };
}

function attach(schema: Schema, program: Program, tracefs: TracefsOptions): Link[] {
  const p = schema.point;
  switch (p.kind) {
    case "tracepoint":
      return [attachTracepoint(program, { ...tracefs, group: p.group, name: p.event })];
    case "raw_tracepoint":
      return [attachRawTracepoint(program, { name: p.event })];
    case "tp_btf":
      return [attachTracing(program)];
    case "uprobe":
    case "uretprobe":
      return [attachUprobe(program, {
        ...tracefs,
        path: schema.path!,
        symbol: p.symbol,
        pid: p.pid,
        retprobe: p.kind === "uretprobe",
      })];
    case "usdt":
      return [
        attachUsdt(program, {
          ...tracefs,
          path: schema.path!,
          provider: p.provider,
          name: p.name,
          pid: p.pid,
        }),
      ];
    case "kprobe":
    case "kretprobe":
      return [attachKprobe(program, {
        ...tracefs,
        symbol: p.symbol,
        retprobe: p.kind === "kretprobe",
      })];
    case "profile": {
      const links: Link[] = [];
      try {
        for (const cpu of onlineCpus()) {
          links.push(attachPerfEvent(program, {
            attr: {
              type: PerfType.SOFTWARE,
              config: PerfSwConfig.CPU_CLOCK,
              samplePeriod: p.hz,
              flags: ["freq"],
            },
            pid: -1,
            cpu,
          }));
        }
      } catch (e) {
        for (const l of links) l.close();
        throw e;
      }
      return links;
    }
  }
}

function checkStrlen(n: number | undefined): number {
  const v = n ?? DEFAULT_STRLEN;
  if (!Number.isInteger(v) || v < 8 || v > MAX_STRLEN) {
    throw new InvalidArgumentError(`strlen must be an integer from 8 to ${MAX_STRLEN}, got ${v}`);
  }
  return Math.ceil(v / 8) * 8;
}

function fieldName(expr: string): string {
  return expr.startsWith("args.") ? expr.slice(5) : expr;
}

/**
 * A probe point with its filters, waiting for its action. Each action
 * method generates, loads and attaches the program and resolves to a
 * running handle; `where()` adds a filter and returns a new builder.
 */
export class ProbeBuilder<A = AnyArgs> {
  /** The probe point. */
  readonly point: ProbePoint<A>;
  /** The filters and limits. */
  readonly options: Readonly<ProbeOptions>;

  /** Use {@linkcode probe}. */
  constructor(point: ProbePoint<A>, options: ProbeOptions = {}) {
    this.point = point;
    this.options = options;
  }

  /** A builder with one more filter (`"args.ret < 0"`, or a {@linkcode Predicate}). */
  where(filter: string | Predicate): ProbeBuilder<A> {
    const prior = this.options.where;
    const list = prior === undefined ? [] : Array.isArray(prior) ? prior : [prior];
    return new ProbeBuilder(this.point, {
      ...this.options,
      where: [...list as (string | Predicate)[], filter],
    });
  }

  #setup(): { schema: Schema; filter: ResolvedPredicate | undefined; strlen: number } {
    const o = this.options;
    const strlen = checkStrlen(o.strlen);
    const schema = schemaOf(this.point as ProbePoint<unknown>, o.tracefs ?? {});
    const preds: Predicate[] = [];
    if (o.pid !== undefined) preds.push({ op: "==", left: "pid", right: checkId(o.pid, "pid") });
    if (o.tid !== undefined) preds.push({ op: "==", left: "tid", right: checkId(o.tid, "tid") });
    if (o.comm !== undefined) preds.push({ op: "==", left: "comm", right: o.comm });
    if (o.where !== undefined) preds.push(toPredicate(o.where));
    const filter = preds.length === 0
      ? undefined
      : resolvePredicate(preds.length === 1 ? preds[0] : { op: "&&", args: preds }, schema, strlen);
    return { schema, filter, strlen };
  }

  /**
   * Loads the program (the verifier runs on a worker thread, so the event
   * loop goes on meanwhile) and attaches it.
   */
  async #start(
    schema: Schema,
    code: Assembler,
    name: string,
    maps: Record<string, BpfMap>,
    owned: Owned,
  ): Promise<void> {
    owned.program = await loadProgramAsync({
      type: schema.programType,
      attachType: schema.attachType,
      attachBtfId: schema.attachBtfId,
      instructions: code,
      maps,
      name,
    });
    owned.links.push(...attach(schema, owned.program, this.options.tracefs ?? {}));
  }

  #stackMap(accesses: readonly Access[], owned: Owned): BpfMap | undefined {
    if (!accesses.some((a) => a.type === "stack")) return undefined;
    const m = createMap({
      type: "stack_trace",
      keySize: 4,
      valueSize: 127 * 8,
      maxEntries: this.options.stackEntries ?? 4096,
      name: "stacks",
    });
    owned.maps.push(m);
    return m;
  }

  async #aggregate<K, V extends number | Histogram>(
    kind: AggKind,
    value: string | undefined,
    options: AggregateOptions<unknown> & Partial<LinearBounds>,
  ): Promise<AggregateProbe<K, V>> {
    await Promise.resolve();
    const { schema, filter, strlen } = this.#setup();
    const by = options.by;
    const tuple = Array.isArray(by);
    const exprs: string[] = by === undefined ? [] : tuple ? [...by as string[]] : [by as string];
    const accesses = exprs.map((e) => schema.resolve(e, strlen));
    let valueAccess: IntAccess | undefined;
    if (value !== undefined) {
      const a = schema.resolve(value, strlen);
      if (a.type !== "int") {
        throw new ProbeCompileError(`${kind}(${value}): ${value} is not a number`, {
          expression: value,
        });
      }
      valueAccess = a;
    }
    let linear: LinearBounds | undefined;
    if (kind === "lhist") linear = checkLinear(options);
    const { slots, size } = layout(accesses);
    const hist = kind === "hist" || kind === "lhist";
    const keySize = Math.max(8, size + (hist ? 8 : 0));
    const code = compileAggregate(
      { kind, key: slots, keySize, value: valueAccess, linear },
      filter,
    );
    const owned: Owned = { links: [], maps: [] };
    try {
      const stacks = this.#stackMap(accesses, owned);
      const agg = createMap({
        type: "percpu_hash",
        keySize,
        valueSize: valueSize(kind),
        maxEntries: this.options.maxEntries ?? 10240,
        name: "agg",
      });
      owned.maps.push(agg);
      const maps: Record<string, BpfMap> = { agg };
      if (stacks) maps.stacks = stacks;
      await this.#start(schema, code, `probe_${kind}`, maps, owned);
      return new AggregateProbe<K, V>(this.point.probe, code.toString(), owned, { agg, stacks }, {
        kind,
        key: slots,
        keySize,
        tuple,
        signed: valueAccess?.signed ?? false,
        linear,
        name: options.name ?? "@",
      });
    } catch (e) {
      closeAll(owned);
      throw e;
    }
  }

  /** Counts events (bpftrace `count()`), optionally by key. */
  count<const K extends KeySpec<A> | undefined = undefined>(
    options: AggregateOptions<K> = {},
  ): Promise<AggregateProbe<KeyOf<K, A>, number>> {
    return this.#aggregate("count", undefined, options);
  }

  /** Sums an integer expression (bpftrace `sum()`). */
  sum<const K extends KeySpec<A> | undefined = undefined>(
    value: Expr<A>,
    options: AggregateOptions<K> = {},
  ): Promise<AggregateProbe<KeyOf<K, A>, number>> {
    return this.#aggregate("sum", value, options);
  }

  /** The smallest value of an integer expression (bpftrace `min()`). */
  min<const K extends KeySpec<A> | undefined = undefined>(
    value: Expr<A>,
    options: AggregateOptions<K> = {},
  ): Promise<AggregateProbe<KeyOf<K, A>, number>> {
    return this.#aggregate("min", value, options);
  }

  /** The largest value of an integer expression (bpftrace `max()`). */
  max<const K extends KeySpec<A> | undefined = undefined>(
    value: Expr<A>,
    options: AggregateOptions<K> = {},
  ): Promise<AggregateProbe<KeyOf<K, A>, number>> {
    return this.#aggregate("max", value, options);
  }

  /** The mean of an integer expression (bpftrace `avg()`; printed truncated, read exact). */
  avg<const K extends KeySpec<A> | undefined = undefined>(
    value: Expr<A>,
    options: AggregateOptions<K> = {},
  ): Promise<AggregateProbe<KeyOf<K, A>, number>> {
    return this.#aggregate("avg", value, options);
  }

  /** A power-of-two histogram of an integer expression (bpftrace `hist()`). */
  hist<const K extends KeySpec<A> | undefined = undefined>(
    value: Expr<A>,
    options: AggregateOptions<K> = {},
  ): Promise<AggregateProbe<KeyOf<K, A>, Histogram>> {
    return this.#aggregate("hist", value, options);
  }

  /** A linear histogram from `min` to `max` in steps of `step` (bpftrace `lhist()`). */
  lhist<const K extends KeySpec<A> | undefined = undefined>(
    value: Expr<A>,
    options: LinearHistogramOptions<K>,
  ): Promise<AggregateProbe<KeyOf<K, A>, Histogram>> {
    return this.#aggregate("lhist", value, options);
  }

  /**
   * Streams one event per hit through a ring buffer, decoded into objects
   * with the given fields (read them with `events()`).
   */
  async emit<const F extends EmitFields<A>>(
    options: EmitOptions<F>,
  ): Promise<EventProbe<EventOf<F, A>>> {
    await Promise.resolve();
    const { schema, filter, strlen } = this.#setup();
    const fields = options?.fields as unknown;
    let named: [string, string][];
    if (Array.isArray(fields)) {
      named = (fields as string[]).map((e) => [fieldName(e), e]);
    } else if (fields && typeof fields === "object") {
      named = Object.entries(fields as Record<string, string>);
    } else {
      throw new InvalidArgumentError("emit: give fields, a list of expressions or an object");
    }
    if (named.length === 0) throw new InvalidArgumentError("emit: fields is empty");
    const seen = new Set<string>();
    for (const [n, e] of named) {
      if (seen.has(n)) {
        throw new InvalidArgumentError(
          `emit: two fields are named "${n}" (${e}); name them with an object: { name: expr }`,
        );
      }
      seen.add(n);
    }
    const accesses = named.map(([, e]) => schema.resolve(e, strlen));
    const { slots, size } = layout(accesses);
    const code = compileEmit({ kind: "emit", fields: slots, size }, filter);
    const ringSize = this.options.ringSize ?? 256 * 1024;
    const owned: Owned = { links: [], maps: [] };
    try {
      const stacks = this.#stackMap(accesses, owned);
      const events = createMap({ type: "ringbuf", maxEntries: ringSize, name: "events" });
      owned.maps.push(events);
      const drops = createMap({
        type: "percpu_array",
        keySize: 4,
        valueSize: 8,
        maxEntries: 1,
        name: "drops",
      });
      owned.maps.push(drops);
      owned.reader = ringBufReader(events);
      const maps: Record<string, BpfMap> = { events, drops };
      if (stacks) maps.stacks = stacks;
      const decoders = slots.map((s) => decoderOf(s.access, s.size, stacks));
      const names = named.map(([n]) => n);
      const decode = (rec: Uint8Array): EventOf<F, A> => {
        const view = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
        const ev: Record<string, unknown> = {};
        for (let i = 0; i < slots.length; i++) ev[names[i]] = decoders[i](view, slots[i].offset);
        return ev as EventOf<F, A>;
      };
      await this.#start(schema, code, "probe_emit", maps, owned);
      return new EventProbe(this.point.probe, code.toString(), owned, {
        reader: owned.reader,
        drops,
        decode,
      });
    } catch (e) {
      closeAll(owned);
      throw e;
    }
  }
}

function checkId(n: number, what: string): number {
  if (!Number.isInteger(n) || n < 0 || n > 0x7fffffff) {
    throw new InvalidArgumentError(`${what} filter must be a positive integer, got ${n}`);
  }
  return n;
}

function checkLinear(o: Partial<LinearBounds>): LinearBounds {
  const { min, max, step } = o;
  if (
    !Number.isSafeInteger(min) || !Number.isSafeInteger(max) || !Number.isSafeInteger(step) ||
    step! <= 0 || max! <= min!
  ) {
    throw new InvalidArgumentError(
      `lhist: min, max and step must be integers with min < max and step > 0 ` +
        `(got min ${min}, max ${max}, step ${step})`,
    );
  }
  const b = { min: min!, max: max!, step: step! };
  if (linearBuckets(b) > 1002) {
    throw new InvalidArgumentError(
      `lhist: ${linearBuckets(b) - 2} steps is too many (1000 at most)`,
    );
  }
  return b;
}

/**
 * Starts describing a probe at `point`, with optional filters: the
 * returned builder's action methods (`count`, `sum`, `hist`, `emit`, …)
 * start it.
 *
 * @example
 * ```ts ignore
 * const reads = await probe(tracepoint("syscalls:sys_exit_read"), { where: "args.ret >= 0" })
 *   .hist("args.ret");
 * await reads.runFor(2);
 * reads.print();
 * ```
 */
export function probe<P extends ProbePoint<unknown>>(
  point: P,
  options?: ProbeOptions,
): ProbeBuilder<ArgsOf<P>> {
  return new ProbeBuilder(point as ProbePoint<ArgsOf<P>>, options);
}
