/**
 * The scripted-probe builder: `probe(point, filters)` and its actions —
 * an aggregation (`count`, `sum`, `min`, `max`, `avg`, `hist`, `lhist`)
 * keyed by builtins and fields, or a stream of typed events (`emit`). Each
 * action generates the BPF program with the assembler, loads it, attaches
 * it, and resolves to a handle owning it until `stop()`.
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

import type { Assembler } from "../asm/assembler.ts";
import { InvalidArgumentError } from "../errors.ts";
import type { BpfMap } from "../map/map.ts";
import type { TracefsOptions } from "../tracefs/mount.ts";
import type { Access, IntAccess, Schema } from "./_access.ts";
import { type AggKind, type LinearBounds, linearBuckets, valueSize } from "./_aggregate.ts";
import type { ResolvedPredicate } from "./_codegen.ts";
import { decoderOf } from "./_decode.ts";
import { ProbeCompileError } from "./errors.ts";
import { type Predicate, toPredicate } from "./filter.ts";
import { AggregateProbe, closeAll, EventProbe, type Owned } from "./handles.ts";
import type { Histogram } from "./output.ts";
import type { ArgsOf, ProbePoint } from "./points.ts";
import type { AnyArgs, EmitFields, EventOf, Expr, KeyOf, KeySpec } from "./types.ts";

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

/**
 * What an action needs to compile, load and attach its program, imported
 * on the first action: importing the probe entry loads no code generator,
 * program loader or attach code.
 */
async function loadRuntime() {
  const [codegen, access, attachDispatch, maps, load, ringbuf] = await Promise.all([
    import("./_codegen.ts"),
    import("./_access.ts"),
    import("./_attach.ts"),
    import("../map/map.ts"),
    import("../program/load.ts"),
    import("../ringbuf/reader.ts"),
  ]);
  return {
    compileAggregate: codegen.compileAggregate,
    compileEmit: codegen.compileEmit,
    layout: codegen.layout,
    schemaOf: access.schemaOf,
    attach: attachDispatch.attach,
    createMap: maps.createMap,
    loadProgramAsync: load.loadProgramAsync,
    ringBufReader: ringbuf.ringBufReader,
  };
}

type Runtime = Awaited<ReturnType<typeof loadRuntime>>;

const DEFAULT_STRLEN = 64;
const MAX_STRLEN = 256;
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

  #setup(rt: Runtime): { schema: Schema; filter: ResolvedPredicate | undefined; strlen: number } {
    const o = this.options;
    const strlen = checkStrlen(o.strlen);
    const schema = rt.schemaOf(this.point as ProbePoint<unknown>, o.tracefs ?? {});
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
    rt: Runtime,
    schema: Schema,
    code: Assembler,
    name: string,
    maps: Record<string, BpfMap>,
    owned: Owned,
  ): Promise<void> {
    owned.program = await rt.loadProgramAsync({
      type: schema.programType,
      attachType: schema.attachType,
      attachBtfId: schema.attachBtfId,
      instructions: code,
      maps,
      name,
    });
    owned.links.push(...rt.attach(schema, owned.program, this.options.tracefs ?? {}));
  }

  #stackMap(rt: Runtime, accesses: readonly Access[], owned: Owned): BpfMap | undefined {
    if (!accesses.some((a) => a.type === "stack")) return undefined;
    const m = rt.createMap({
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
    const rt = await loadRuntime();
    const { schema, filter, strlen } = this.#setup(rt);
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
    const { slots, size } = rt.layout(accesses);
    const hist = kind === "hist" || kind === "lhist";
    const keySize = Math.max(8, size + (hist ? 8 : 0));
    const code = rt.compileAggregate(
      { kind, key: slots, keySize, value: valueAccess, linear },
      filter,
    );
    const owned: Owned = { links: [], maps: [] };
    try {
      const stacks = this.#stackMap(rt, accesses, owned);
      const agg = rt.createMap({
        type: "percpu_hash",
        keySize,
        valueSize: valueSize(kind),
        maxEntries: this.options.maxEntries ?? 10240,
        name: "agg",
      });
      owned.maps.push(agg);
      const maps: Record<string, BpfMap> = { agg };
      if (stacks) maps.stacks = stacks;
      await this.#start(rt, schema, code, `probe_${kind}`, maps, owned);
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
    const rt = await loadRuntime();
    const { schema, filter, strlen } = this.#setup(rt);
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
    const { slots, size } = rt.layout(accesses);
    const code = rt.compileEmit({ kind: "emit", fields: slots, size }, filter);
    const ringSize = this.options.ringSize ?? 256 * 1024;
    const owned: Owned = { links: [], maps: [] };
    try {
      const stacks = this.#stackMap(rt, accesses, owned);
      const events = rt.createMap({ type: "ringbuf", maxEntries: ringSize, name: "events" });
      owned.maps.push(events);
      const drops = rt.createMap({
        type: "percpu_array",
        keySize: 4,
        valueSize: 8,
        maxEntries: 1,
        name: "drops",
      });
      owned.maps.push(drops);
      owned.reader = rt.ringBufReader(events);
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
      await this.#start(rt, schema, code, "probe_emit", maps, owned);
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
