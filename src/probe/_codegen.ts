// The code generator of scripted probes: filters, keys, values and events
// compiled to BPF instructions with the assembler.
//
// Registers: R6 holds the context for the whole program, R7 the value being
// aggregated, R8 the histogram bucket, R9 the reserved ring buffer record;
// expressions are evaluated into R0 and may clobber R1–R5 and the 8-byte
// scratch slot at fp-8.
//
// Stack frame (offsets from fp):
//   -8        scratch for probe_read of integers and the drop counter key
//   -24..-8   the initial value of a new map element (16 bytes)
//   KEY       the map key (zeroed first, so strings compare and hash cleanly)
//   SCRATCH   strings read by filters

import { Assembler } from "../asm/assembler.ts";
import { R0, R1, R10, R2, R3, R4, R6, R7, R8, R9, type Register } from "../asm/register.ts";
import type { Access, IntAccess, StrAccess } from "./_access.ts";
import { ProbeCompileError } from "./errors.ts";
import type { CompareOp } from "./filter.ts";
import { type AggKind, type LinearBounds, linearBuckets } from "./_aggregate.ts";

// The aggregation layout lives in _aggregate.ts (the handles read it without
// loading the code generator); these importers take it from here too.
export { type AggKind, type LinearBounds, linearBuckets, valueSize } from "./_aggregate.ts";

/** The BPF stack size. */
export const STACK_SIZE = 512;
/** `BPF_F_USER_STACK`. */
const USER_STACK = 1 << 8;
/** `BPF_NOEXIST`. */
const NOEXIST = 1;

/** The scratch slot of integer reads (fp-8). */
export const TMP = -8;
/** The initial value of a new aggregation element (fp-24..fp-8). */
export const VAL = -24;

/** A filter whose expressions are resolved. */
export type ResolvedPredicate =
  | { op: CompareOp; left: Access; right: number | bigint | string; text: string }
  | { op: "&&" | "||"; args: ResolvedPredicate[] }
  | { op: "!"; arg: ResolvedPredicate };

/** One component of a map key or an event record, at a byte offset. */
export interface Slot {
  access: Access;
  offset: number;
  size: number;
}

/** Lays accesses out one after another, each 8-byte aligned. */
export function layout(accesses: readonly Access[]): { slots: Slot[]; size: number } {
  let off = 0;
  const slots: Slot[] = [];
  for (const a of accesses) {
    const size = a.type === "str" ? Math.ceil(a.len / 8) * 8 : 8;
    slots.push({ access: a, offset: off, size });
    off += size;
  }
  return { slots, size: off };
}

/** An aggregation to compile. */
export interface AggregateAction {
  kind: AggKind;
  /** The user's key components (without the bucket). */
  key: Slot[];
  /** Key size including the bucket of histograms (at least 8). */
  keySize: number;
  value?: IntAccess;
  linear?: LinearBounds;
}

/** An event to compile. */
export interface EmitAction {
  kind: "emit";
  fields: Slot[];
  size: number;
}

/** Instruction emission shared by the probe code generators: labels, constants, reads. */
export class Gen {
  readonly a = new Assembler();
  #n = 0;
  #labelAt = -1;

  label(name: string): void {
    // Two labels on one instruction: separate them with a jump to the next instruction.
    if (this.#labelAt === this.a.instructions.length) this.a.ja(0);
    this.a.label(name);
    this.#labelAt = this.a.instructions.length;
  }

  fresh(prefix: string): string {
    return `${prefix}_${this.#n++}`;
  }

  /** dst = 64-bit constant. */
  constant(dst: Register, v: bigint): void {
    if (v >= -(1n << 31n) && v < 1n << 31n) this.a.mov64(dst, Number(v));
    else this.a.lddw(dst, v);
  }

  /** Truncates or sign-extends R0 from its loaded width to the access's size. */
  normalize(r: Register, loaded: number, size: number, signed: boolean): void {
    if (size >= 8) return;
    const bits = 64 - 8 * size;
    if (signed) {
      this.a.lsh64(r, bits).arsh64(r, bits);
    } else if (size < loaded) {
      if (size === 4) this.a.mov32(r, r);
      else this.a.and64(r, size === 1 ? 0xff : 0xffff);
    }
  }

  /** Evaluates an integer into R0 (clobbers R1–R5 and fp-8). */
  int(acc: IntAccess): void {
    const a = this.a;
    const s = acc.src;
    switch (s.from) {
      case "ctx":
        loadInsn(a, s.load, R0, R6, s.offset);
        this.normalize(R0, s.load, acc.size, acc.signed);
        return;
      case "const":
        this.constant(R0, s.value);
        this.normalize(R0, 8, acc.size, acc.signed);
        return;
      case "slot":
        a.ldxdw(R0, R10, s.offset);
        return;
      case "addr":
        this.int(s.ptr);
        if (s.offset) a.add64(R0, s.offset);
        return;
      case "builtin":
        switch (s.name) {
          case "pid":
            a.call("get_current_pid_tgid").rsh64(R0, 32);
            return;
          case "tid":
            a.call("get_current_pid_tgid").mov32(R0, R0);
            return;
          case "uid":
            a.call("get_current_uid_gid").mov32(R0, R0);
            return;
          case "gid":
            a.call("get_current_uid_gid").rsh64(R0, 32);
            return;
          case "cpu":
            a.call("get_smp_processor_id");
            return;
          case "nsecs":
            a.call("ktime_get_ns");
            return;
        }
        return;
      case "mem":
        this.int(s.ptr);
        a.mov64(R3, R0);
        if (s.offset) a.add64(R3, s.offset);
        a.stdw(R10, TMP, 0);
        a.mov64(R1, R10).add64(R1, TMP).mov64(R2, s.load);
        a.call(s.space === "user" ? "probe_read_user" : "probe_read_kernel");
        loadInsn(a, s.load, R0, R10, TMP);
        this.normalize(R0, s.load, acc.size, acc.signed);
        return;
    }
  }

  /** Reads a string into `len` bytes at `base + off` (clobbers R0–R5 and fp-8). */
  str(acc: StrAccess, base: Register, off: number, len: number): void {
    const a = this.a;
    const s = acc.src;
    const dst = () => {
      a.mov64(R1, base);
      if (off) a.add64(R1, off);
      a.mov64(R2, len);
    };
    switch (s.from) {
      case "comm":
        a.mov64(R1, base);
        if (off) a.add64(R1, off);
        a.mov64(R2, Math.min(16, len)).call("get_current_comm");
        return;
      case "ctx":
        a.mov64(R3, R6).add64(R3, s.offset);
        dst();
        a.call("probe_read_kernel_str");
        return;
      case "data_loc":
        // u32 at the field: offset of the string in the record (low 16 bits), length (high).
        a.ldxw(R3, R6, s.offset).and64(R3, 0xffff).add64(R3, R6);
        dst();
        a.call("probe_read_kernel_str");
        return;
      case "mem":
        this.int(s.ptr);
        a.mov64(R3, R0);
        if (s.offset) a.add64(R3, s.offset);
        dst();
        a.call(s.space === "user" ? "probe_read_user_str" : "probe_read_kernel_str");
        return;
    }
  }

  /** The stack id into R0. */
  stack(user: boolean): void {
    this.a.mov64(R1, R6).loadMapPtr(R2, "stacks").mov64(R3, user ? USER_STACK : 0)
      .call("get_stackid");
  }

  /** Writes an access into `size` bytes at `base + off`. */
  slot(acc: Access, base: Register, off: number, size: number): void {
    if (acc.type === "str") return this.str(acc, base, off, size);
    if (acc.type === "stack") this.stack(acc.user);
    else this.int(acc);
    this.a.stxdw(base, off, R0);
  }

  zero(off: number, size: number): void {
    for (let i = 0; i < size; i += 8) this.a.stdw(R10, off + i, 0);
  }

  /** Jumps to `target` when `p` is `when`; falls through otherwise. */
  branch(p: ResolvedPredicate, target: string, when: boolean, scratch: number): void {
    const a = this.a;
    if ("arg" in p) return this.branch(p.arg, target, !when, scratch);
    if ("args" in p) {
      // (a && b) true → all true; false → any false. Dually for ||.
      const any = (p.op === "&&") !== when;
      if (any) {
        for (const x of p.args) this.branch(x, target, when, scratch);
      } else {
        const skip = this.fresh("skip");
        for (const x of p.args.slice(0, -1)) this.branch(x, skip, !when, scratch);
        this.branch(p.args[p.args.length - 1], target, when, scratch);
        this.label(skip);
      }
      return;
    }
    const left = p.left;
    if (left.type === "stack") {
      throw new ProbeCompileError(`filter ${p.text}: stacks cannot be compared`, {
        expression: p.text,
      });
    }
    if (left.type === "str") {
      if (typeof p.right !== "string") {
        throw new ProbeCompileError(
          `filter ${p.text}: this is a string; compare it with a quoted string`,
          { expression: p.text },
        );
      }
      const len = Math.ceil(left.len / 8) * 8;
      this.zero(scratch, len);
      this.str(left, R10, scratch, len);
      const lit = new TextEncoder().encode(p.right);
      const n = Math.min(len, lit.length + 1);
      const bytes = new Uint8Array(Math.ceil(n / 8) * 8);
      bytes.set(lit.subarray(0, n));
      const dv = new DataView(bytes.buffer);
      const equalWhen = (p.op === "==") === when; // jump to target when equal?
      const differ = equalWhen ? this.fresh("differ") : target;
      for (let i = 0; i < bytes.length; i += 8) {
        a.ldxdw(R1, R10, scratch + i);
        this.constant(R2, dv.getBigInt64(i, true));
        a.jne(R1, R2, differ);
      }
      if (equalWhen) {
        a.ja(target);
        this.label(differ);
      }
      return;
    }
    if (typeof p.right === "string") {
      throw new ProbeCompileError(
        `filter ${p.text}: this is a number; compare it with a number`,
        { expression: p.text },
      );
    }
    this.int(left);
    const v = BigInt(p.right);
    const fits = v >= -(1n << 31n) && v < 1n << 31n;
    const rhs: Register | number = fits ? Number(v) : R1;
    if (!fits) a.lddw(R1, v);
    if (p.op === "&") {
      a.and64(R0, rhs);
      if (when) a.jne(R0, 0, target);
      else a.jeq(R0, 0, target);
      return;
    }
    const signed = left.signed || v < 0n;
    const op = when ? p.op : NEGATE[p.op];
    JUMP[op](a, signed, rhs, target);
  }
}

const NEGATE: Record<Exclude<CompareOp, "&">, Exclude<CompareOp, "&">> = {
  "==": "!=",
  "!=": "==",
  "<": ">=",
  "<=": ">",
  ">": "<=",
  ">=": "<",
};

type Jumper = (a: Assembler, signed: boolean, rhs: Register | number, t: string) => void;
const JUMP: Record<Exclude<CompareOp, "&">, Jumper> = {
  "==": (a, _s, r, t) => a.jeq(R0, r, t),
  "!=": (a, _s, r, t) => a.jne(R0, r, t),
  "<": (a, s, r, t) => s ? a.jslt(R0, r, t) : a.jlt(R0, r, t),
  "<=": (a, s, r, t) => s ? a.jsle(R0, r, t) : a.jle(R0, r, t),
  ">": (a, s, r, t) => s ? a.jsgt(R0, r, t) : a.jgt(R0, r, t),
  ">=": (a, s, r, t) => s ? a.jsge(R0, r, t) : a.jge(R0, r, t),
};

/** A load of `size` bytes. */
export function loadInsn(
  a: Assembler,
  size: number,
  dst: Register,
  src: Register,
  off: number,
): void {
  if (size === 1) a.ldxb(dst, src, off);
  else if (size === 2) a.ldxh(dst, src, off);
  else if (size === 4) a.ldxw(dst, src, off);
  else a.ldxdw(dst, src, off);
}

function stringsIn(p: ResolvedPredicate | undefined): number {
  if (!p) return 0;
  if ("arg" in p) return stringsIn(p.arg);
  if ("args" in p) return Math.max(0, ...p.args.map(stringsIn));
  return p.left.type === "str" ? Math.ceil(p.left.len / 8) * 8 : 0;
}

function frame(keySize: number, filter: ResolvedPredicate | undefined): {
  key: number;
  scratch: number;
} {
  const key = VAL - keySize;
  const scratch = key - stringsIn(filter);
  if (-scratch > STACK_SIZE) {
    throw new ProbeCompileError(
      `the probe needs ${-scratch} bytes of BPF stack (key ${keySize} bytes, filter strings ` +
        `${stringsIn(filter)}), more than the ${STACK_SIZE} there are; use fewer or shorter ` +
        "string keys (the strlen option)",
    );
  }
  return { key, scratch };
}

function prologue(g: Gen, filter: ResolvedPredicate | undefined, scratch: number): void {
  g.a.mov64(R6, R1);
  if (filter) g.branch(filter, "out", false, scratch);
}

function epilogue(g: Gen): void {
  g.label("out");
  g.a.mov64(R0, 0).exit();
}

/** Stores the bucket of R7 in R8 (see `histBucket` for the numbering). */
export function log2Bucket(g: Gen, signed: boolean): void {
  const a = g.a;
  const done = g.fresh("bucket");
  a.mov64(R8, 0);
  if (signed) a.jslt(R7, 0, done);
  a.mov64(R8, 1).jeq(R7, 0, done);
  a.mov64(R1, R7).mov64(R8, 2);
  for (const s of [32, 16, 8, 4, 2, 1]) {
    const skip = g.fresh("log");
    a.mov64(R2, R1).rsh64(R2, s).jeq(R2, 0, skip);
    a.mov64(R1, R2).add64(R8, s);
    g.label(skip);
  }
  g.label(done);
}

/** Stores the linear histogram bucket of R7 in R8. */
export function linearBucket(g: Gen, b: LinearBounds, signed: boolean): void {
  const a = g.a;
  const n = linearBuckets(b);
  const done = g.fresh("bucket");
  const below = g.fresh("below");
  const above = g.fresh("above");
  g.constant(R1, BigInt(b.min));
  g.constant(R2, BigInt(b.max));
  if (signed || b.min < 0) {
    a.jslt(R7, R1, below).jsge(R7, R2, above);
  } else {
    a.jlt(R7, R1, below).jge(R7, R2, above);
  }
  a.mov64(R8, R7).sub64(R8, R1).div64(R8, b.step).add64(R8, 1).ja(done);
  g.label(below);
  a.mov64(R8, 0).ja(done);
  g.label(above);
  a.mov64(R8, n - 1);
  g.label(done);
}

/** Updates the per-CPU value R0 points at with R7. */
export function update(g: Gen, kind: AggKind, signed: boolean): void {
  const a = g.a;
  switch (kind) {
    case "count":
    case "hist":
    case "lhist":
      a.mov64(R1, 1).atomicAdd64(R0, 0, R1);
      return;
    case "sum":
      a.atomicAdd64(R0, 0, R7);
      return;
    case "avg":
      a.atomicAdd64(R0, 0, R7).mov64(R1, 1).atomicAdd64(R0, 8, R1);
      return;
    case "min":
    case "max": {
      const set = g.fresh("set");
      const keep = g.fresh("keep");
      a.ldxdw(R1, R0, 8).jeq(R1, 0, set).ldxdw(R1, R0, 0);
      // keep the current value when it is already the smaller (larger) one
      if (kind === "min") {
        if (signed) a.jsle(R1, R7, keep);
        else a.jle(R1, R7, keep);
      } else {
        if (signed) a.jsge(R1, R7, keep);
        else a.jge(R1, R7, keep);
      }
      g.label(set);
      a.stxdw(R0, 0, R7).stdw(R0, 8, 1);
      g.label(keep);
      return;
    }
  }
}

/** Writes the first value of a new aggregation element (from R7) at VAL. */
export function initialValue(g: Gen, kind: AggKind): void {
  const a = g.a;
  switch (kind) {
    case "count":
    case "hist":
    case "lhist":
      a.stdw(R10, VAL, 1);
      return;
    case "sum":
      a.stxdw(R10, VAL, R7);
      return;
    default:
      a.stxdw(R10, VAL, R7).stdw(R10, VAL + 8, 1);
  }
}

/** Compiles an aggregation into the map `agg` (and `stacks` for stack keys). */
export function compileAggregate(
  action: AggregateAction,
  filter: ResolvedPredicate | undefined,
): Assembler {
  const g = new Gen();
  const a = g.a;
  const { key, scratch } = frame(action.keySize, filter);
  prologue(g, filter, scratch);
  const signed = action.value?.signed ?? false;
  if (action.value) {
    g.int(action.value);
    a.mov64(R7, R0);
  }
  g.zero(key, action.keySize);
  for (const s of action.key) g.slot(s.access, R10, key + s.offset, s.size);
  if (action.kind === "hist") log2Bucket(g, signed);
  if (action.kind === "lhist") linearBucket(g, action.linear!, signed);
  if (action.kind === "hist" || action.kind === "lhist") {
    a.stxdw(R10, key + action.keySize - 8, R8);
  }
  const lookup = () =>
    a.loadMapPtr(R1, "agg").mov64(R2, R10).add64(R2, key).call("map_lookup_elem");
  lookup();
  a.jeq(R0, 0, "init");
  update(g, action.kind, signed);
  a.ja("out");
  g.label("init");
  initialValue(g, action.kind);
  a.loadMapPtr(R1, "agg").mov64(R2, R10).add64(R2, key).mov64(R3, R10).add64(R3, VAL)
    .mov64(R4, NOEXIST).call("map_update_elem");
  a.jeq(R0, 0, "out");
  // Another CPU created the element first (EEXIST): update our slot of it.
  lookup();
  a.jeq(R0, 0, "out");
  update(g, action.kind, signed);
  epilogue(g);
  return a;
}

/** Compiles an event: a ring buffer record (map `events`), drops counted in `drops`. */
export function compileEmit(action: EmitAction, filter: ResolvedPredicate | undefined): Assembler {
  const g = new Gen();
  const a = g.a;
  const { scratch } = frame(0, filter);
  prologue(g, filter, scratch);
  a.loadMapPtr(R1, "events").mov64(R2, action.size).mov64(R3, 0).call("ringbuf_reserve");
  a.jne(R0, 0, "reserved");
  a.stw(R10, TMP, 0).loadMapPtr(R1, "drops").mov64(R2, R10).add64(R2, TMP)
    .call("map_lookup_elem").jeq(R0, 0, "out").mov64(R1, 1).atomicAdd64(R0, 0, R1).ja("out");
  g.label("reserved");
  a.mov64(R9, R0);
  for (const s of action.fields) g.slot(s.access, R9, s.offset, s.size);
  a.mov64(R1, R9).mov64(R2, 0).call("ringbuf_submit");
  epilogue(g);
  return a;
}
