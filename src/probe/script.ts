/**
 * Scripts: probes that share state, written in TypeScript. `script()`
 * records a program symbolically and produces the probe IR (`ScriptIr`,
 * the same the bpftrace compiler produces); `start()` compiles it to BPF
 * with the assembler, loads and attaches it, and returns a handle owning
 * it.
 *
 * JavaScript has no operator overloading, so expressions are objects with
 * methods: `nsecs.sub(start.get(tid)).div(1000)` is bpftrace's
 * `(nsecs - @start[tid]) / 1000`. Each expression carries its rendering
 * (`span.text`), which type errors and verifier refusals quote.
 *
 * Bodies are recorded, not run per event: each body callback runs once,
 * while `script()` builds, and the statements it calls (`hist`, `printf`,
 * `start.set(…)`, `when(…)`…) are collected into the probe. JavaScript
 * control flow inside a body (`if`, loops, variables) therefore runs at
 * build time: use `when(cond, then, else)` and `cond(c, a, b)` for
 * decisions in the kernel, and `local(value)` for a value computed once
 * per event.
 *
 * ```ts ignore
 * import { hist, type Histogram, nsecs, script, tid, tracepoint } from "@denobpf/ebpf/probe";
 *
 * // tracepoint:syscalls:sys_enter_read { @start[tid] = nsecs; }
 * // tracepoint:syscalls:sys_exit_read /@start[tid]/ {
 * //   @us = hist((nsecs - @start[tid]) / 1000); delete(@start[tid]); }
 * const latency = script(({ on, map }) => {
 *   const start = map<number, number>("@start");
 *   const us = map<null, Histogram>("@us");
 *   on(tracepoint("syscalls:sys_enter_read"), () => start.set(tid, nsecs));
 *   on(tracepoint("syscalls:sys_exit_read"), { where: start.get(tid) }, () => {
 *     hist(us, nsecs.sub(start.get(tid)).div(1000));
 *     start.delete(tid);
 *   });
 *   return { us };
 * });
 * await using run = await latency.start();
 * await run.runFor(5); // stops: END bodies run, every map prints as bpftrace prints it
 * const us = run.results.us.get(null); // the histogram, typed
 * ```
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { interrupted } from "../sys/signals.ts";
import type { RunOptions } from "./handles.ts";
import type { ScriptHandle, ScriptOptions } from "./_script_handle.ts";
import type { ScriptValue } from "./_script_maps.ts";
import {
  BINARY_PRECEDENCE,
  type IrAggregation,
  type IrBinaryOp,
  type IrBuiltin,
  type IrExpr,
  type IrFunction,
  type IrPoint,
  type IrProbe,
  type IrStmt,
  type IrStructDecl,
  type ScriptIr,
} from "./ir.ts";
import type { ProbePoint } from "./points.ts";
import type { AnyArgs } from "./types.ts";

// ---------------------------------------------------------------- expressions

/**
 * What an integer operand may be: an integer expression or a JavaScript
 * integer (`1e6` is 1000000; a fraction is refused). `true`/`false` are 1/0.
 */
export type Operand = ScriptExpr<number> | number | bigint | boolean;

/** Any value an expression argument accepts: expressions, numbers, strings, and arrays as tuples. */
export type AnyOperand =
  // deno-lint-ignore no-explicit-any
  | ScriptExpr<any>
  | number
  | bigint
  | boolean
  | string
  | readonly AnyOperand[];

/**
 * What an operand of type `T` may be: an expression of that type or a
 * JavaScript literal of it; a tuple type takes an array of them (a tuple
 * key such as `[comm, pid]`).
 */
export type OperandOf<T> = unknown extends T ? AnyOperand
  : [T] extends [number] ? Operand
  : [T] extends [string] ? ScriptExpr<string> | string
  : [T] extends [readonly unknown[]] ? { readonly [I in keyof T]: OperandOf<T[I]> }
  : ScriptExpr<T>;

// Binding strength of operators (C's, ir.ts's table), for rendering
// `span.text` with the parentheses the reader needs; atoms bind tightest.
const PRECEDENCE = BINARY_PRECEDENCE;
const TERNARY = 0;
const UNARY = 11;
const ATOM = 12;

/**
 * A value computed in the kernel when a probe fires, of JavaScript type `T`
 * once decoded (`number` for integers, `string` for strings, symbols and
 * stacks). Build expressions with the builtins (`nsecs`, `pid`, `comm`…),
 * `args`, map reads and the methods below; `node` is the IR and `text` its
 * rendering (`"nsecs - @start[tid]"`).
 *
 * Methods never mutate: each returns a new expression.
 */
export class ScriptExpr<T> {
  /** Never set: carries the decoded type `T` for type checking. */
  declare readonly valueType?: T;
  /** The IR of this expression (its `span.text` is {@linkcode text}). */
  readonly node: IrExpr;
  /** How tightly the rendering binds (for parentheses in enclosing renderings). */
  readonly precedence: number;

  /** Wraps an IR node; `precedence` is the binding strength of its rendering (12 for atoms). */
  constructor(node: IrExpr, precedence: number = ATOM) {
    this.node = node;
    this.precedence = precedence;
  }

  /** The rendering of this expression, as error messages quote it. */
  get text(): string {
    return this.node.span?.text ?? "";
  }

  /** `this + other` */
  add(other: Operand): ScriptExpr<number> {
    return binary(this, "+", other);
  }
  /** `this - other` */
  sub(other: Operand): ScriptExpr<number> {
    return binary(this, "-", other);
  }
  /** `this * other` */
  mul(other: Operand): ScriptExpr<number> {
    return binary(this, "*", other);
  }
  /** `this / other` (integer division; by zero gives 0, as in BPF). */
  div(other: Operand): ScriptExpr<number> {
    return binary(this, "/", other);
  }
  /** `this % other` */
  mod(other: Operand): ScriptExpr<number> {
    return binary(this, "%", other);
  }
  /** `this & other` (bitwise). */
  band(other: Operand): ScriptExpr<number> {
    return binary(this, "&", other);
  }
  /** `this | other` (bitwise). */
  bor(other: Operand): ScriptExpr<number> {
    return binary(this, "|", other);
  }
  /** `this ^ other` */
  xor(other: Operand): ScriptExpr<number> {
    return binary(this, "^", other);
  }
  /** `this << other` */
  shl(other: Operand): ScriptExpr<number> {
    return binary(this, "<<", other);
  }
  /** `this >> other` */
  shr(other: Operand): ScriptExpr<number> {
    return binary(this, ">>", other);
  }
  /** `this && other` (short-circuit; 1 or 0). */
  and(other: AnyOperand): ScriptExpr<number> {
    return binary(this, "&&", other);
  }
  /** `this || other` (short-circuit; 1 or 0). */
  or(other: AnyOperand): ScriptExpr<number> {
    return binary(this, "||", other);
  }
  /** `this == other` (strings compare by content). */
  eq(other: AnyOperand): ScriptExpr<number> {
    return binary(this, "==", other);
  }
  /** `this != other` */
  ne(other: AnyOperand): ScriptExpr<number> {
    return binary(this, "!=", other);
  }
  /** `this < other` */
  lt(other: Operand): ScriptExpr<number> {
    return binary(this, "<", other);
  }
  /** `this <= other` */
  le(other: Operand): ScriptExpr<number> {
    return binary(this, "<=", other);
  }
  /** `this > other` */
  gt(other: Operand): ScriptExpr<number> {
    return binary(this, ">", other);
  }
  /** `this >= other` */
  ge(other: Operand): ScriptExpr<number> {
    return binary(this, ">=", other);
  }
  /** `!this` (1 when zero or empty, else 0). */
  not(): ScriptExpr<number> {
    return unary("!", this);
  }
  /** `-this` */
  neg(): ScriptExpr<number> {
    return unary("-", this);
  }
  /** `~this` (bitwise complement). */
  bnot(): ScriptExpr<number> {
    return unary("~", this);
  }
  /** `this[i]`: an element of an array field or of memory a pointer points to. */
  at<E = number>(index: Operand): ScriptExpr<E> {
    const i = toExpr(index);
    return record(
      {
        op: "index",
        base: this.node,
        index: i.node,
        span: { text: `${wrap(this, ATOM)}[${i.text}]` },
      },
    );
  }
  /**
   * `this.name`: a member of the struct this points to (pointers are
   * followed). On `args` and casts, `expr.name` is the same thing; this
   * method is for members whose name is also a method's (`add`, `at`…).
   */
  field<F = unknown>(name: string): ScriptExpr<F> & Fields<F> {
    return record({
      op: "field",
      base: this.node,
      name,
      span: { text: `${wrap(this, ATOM)}.${name}` },
    }) as ScriptExpr<F> & Fields<F>;
  }
}

/**
 * The members of a struct-typed expression: `args.filename`,
 * `task.real_parent.pid`. A numeric member is a `ScriptExpr<number>`, a
 * string one a `ScriptExpr<string>`, a struct one has its own members.
 * Untyped shapes (`AnyArgs`, `unknown`) allow any member.
 */
export type Fields<S> = unknown extends S ? LooseFields
  : string extends keyof S ? LooseFields
  : { readonly [K in keyof S]-?: FieldExpr<S[K]> };

/** Members of an untyped struct: any name, any use (the back end checks them against BTF). */
export interface LooseFields {
  /** A member. */
  // deno-lint-ignore no-explicit-any
  readonly [member: string]: any;
}

/** The expression type of a member of type `V`. */
export type FieldExpr<V> = [V] extends [number | bigint] ? ScriptExpr<number>
  : [V] extends [string] ? ScriptExpr<string>
  : ScriptExpr<V> & Fields<V>;

/** A struct-typed expression: the expression, and its members as properties. */
export type RecordExpr<S> = ScriptExpr<S> & Fields<S>;

// Member names that must not become fields on a record proxy (promise
// resolution, inspection, JSON).
const NOT_FIELDS = new Set(["then", "toJSON", "constructor", "valueOf", "toString"]);

function record<T>(node: IrExpr, precedence: number = ATOM): ScriptExpr<T> {
  const target = new ScriptExpr<T>(node, precedence);
  return new Proxy(target, {
    get(t, prop) {
      if (typeof prop === "symbol" || prop in t || NOT_FIELDS.has(prop)) {
        return Reflect.get(t, prop, t);
      }
      return t.field(prop);
    },
  });
}

function wrap(e: ScriptExpr<unknown>, parent: number): string {
  return e.precedence < parent ? `(${e.text})` : e.text;
}

function intLiteral(value: number | bigint | boolean): ScriptExpr<number> {
  let v: bigint;
  if (typeof value === "boolean") v = value ? 1n : 0n;
  else if (typeof value === "bigint") v = value;
  else if (Number.isSafeInteger(value)) v = BigInt(value);
  else {
    throw new InvalidArgumentError(
      `${value} is not an integer: scripts compute with 64-bit integers (use an integer literal)`,
    );
  }
  if (v < -(1n << 63n) || v >= 1n << 64n) {
    throw new InvalidArgumentError(`${v} does not fit in 64 bits`);
  }
  return new ScriptExpr({ op: "int", value: v, span: { text: String(v) } }, v < 0n ? UNARY : ATOM);
}

/**
 * An expression from an operand: expressions as they are, numbers and
 * booleans as integer literals, strings as string literals, arrays as
 * tuples (`[comm, pid]` is `(comm, pid)`).
 */
export function toExpr(value: AnyOperand): ScriptExpr<unknown> {
  if (value instanceof ScriptExpr) return value;
  if (typeof value === "string") {
    return new ScriptExpr({ op: "str", value, span: { text: JSON.stringify(value) } });
  }
  if (Array.isArray(value)) {
    const elems = value.map(toExpr);
    if (elems.length === 0) throw new InvalidArgumentError("a tuple needs at least one element");
    if (elems.length === 1) return elems[0];
    return new ScriptExpr({
      op: "tuple",
      elems: elems.map((e) => e.node),
      span: { text: `(${elems.map((e) => e.text).join(", ")})` },
    });
  }
  if (typeof value === "number" || typeof value === "bigint" || typeof value === "boolean") {
    return intLiteral(value);
  }
  throw new InvalidArgumentError(
    `${String(value)} is not a script value: use an expression, a number, a string or an array`,
  );
}

function binary(left: ScriptExpr<unknown>, operator: IrBinaryOp, right: AnyOperand) {
  const r = toExpr(right);
  const p = PRECEDENCE[operator];
  // Left-associative: an equal-precedence right operand needs parentheses.
  const text = `${wrap(left, p)} ${operator} ${r.precedence <= p ? `(${r.text})` : r.text}`;
  return new ScriptExpr<number>(
    { op: "binary", operator, left: left.node, right: r.node, span: { text } },
    p,
  );
}

function unary(operator: "-" | "~" | "!", arg: ScriptExpr<unknown>) {
  // `-(-x)`, not `--x` (a decrement).
  const inner = operator === "-" && arg.text.startsWith("-") ? `(${arg.text})` : wrap(arg, UNARY);
  return new ScriptExpr<number>(
    { op: "unary", operator, arg: arg.node, span: { text: `${operator}${inner}` } },
    UNARY,
  );
}

function builtin<T>(name: IrBuiltin): ScriptExpr<T> {
  return new ScriptExpr<T>({ op: "builtin", name, span: { text: name } });
}

function call<T>(fn: IrFunction, args: readonly AnyOperand[]): ScriptExpr<T> {
  const es = args.map(toExpr);
  return new ScriptExpr<T>({
    op: "call",
    fn,
    args: es.map((e) => e.node),
    span: { text: `${fn}(${es.map((e) => e.text).join(", ")})` },
  });
}

/** Nanoseconds since boot (bpf_ktime_get_ns). */
export const nsecs: ScriptExpr<number> = builtin("nsecs");
/** Nanoseconds since the script started. */
export const elapsed: ScriptExpr<number> = builtin("elapsed");
/** Process id (tgid). */
export const pid: ScriptExpr<number> = builtin("pid");
/** Thread id. */
export const tid: ScriptExpr<number> = builtin("tid");
/** User id. */
export const uid: ScriptExpr<number> = builtin("uid");
/** Group id. */
export const gid: ScriptExpr<number> = builtin("gid");
/** The CPU the probe fires on. */
export const cpu: ScriptExpr<number> = builtin("cpu");
/** The task's name (16 bytes). */
export const comm: ScriptExpr<string> = builtin("comm");
/** The cgroup v2 id of the task. */
export const cgroup: ScriptExpr<number> = builtin("cgroup");
/** The return value, in uretprobes and kretprobes. */
export const retval: ScriptExpr<number> = builtin("retval");
/** The traced function's name (prints as a symbol). */
export const func: ScriptExpr<string> = builtin("func");
/** The full name of the probe that fired (`"tracepoint:sched:sched_switch"`): bpftrace's `probe`. */
export const probeName: ScriptExpr<string> = builtin("probe");
/** A pseudo-random 32-bit number. */
export const rand: ScriptExpr<number> = builtin("rand");
/** The kernel stack (prints symbolized, as bpftrace prints it). */
export const kstack: ScriptExpr<string> = builtin("kstack");
/** The user stack (prints symbolized). */
export const ustack: ScriptExpr<string> = builtin("ustack");
/** Options of {@linkcode kstackOf} and {@linkcode ustackOf}. */
export interface StackOptions {
  /** Frames kept, 1–1024 (default: bpftrace's 127). */
  frames?: number;
  /** How the stack prints: bpftrace's style (default), perf's, or raw addresses. */
  mode?: "bpftrace" | "perf" | "raw";
}

function stackOf(fn: "kstack" | "ustack", options: StackOptions): ScriptExpr<string> {
  const { frames, mode } = options;
  if (frames !== undefined && (!Number.isInteger(frames) || frames < 1 || frames > 1024)) {
    throw new InvalidArgumentError(
      `${fn}: frames must be an integer from 1 to 1024, got ${frames}`,
    );
  }
  const args: IrExpr[] = [];
  const text: string[] = [];
  if (mode !== undefined) {
    args.push({ op: "str", value: mode, span: { text: mode } });
    text.push(mode);
  }
  if (frames !== undefined) {
    args.push({ op: "int", value: BigInt(frames), span: { text: String(frames) } });
    text.push(String(frames));
  }
  return new ScriptExpr({ op: "call", fn, args, span: { text: `${fn}(${text.join(", ")})` } });
}

/** `kstack(mode, frames)`: the kernel stack, limited or printed another way. */
export function kstackOf(options: StackOptions = {}): ScriptExpr<string> {
  return stackOf("kstack", options);
}

/** `ustack(mode, frames)`: the user stack, limited or printed another way. */
export function ustackOf(options: StackOptions = {}): ScriptExpr<string> {
  return stackOf("ustack", options);
}

/**
 * The current task (`struct task_struct *`), members read through kernel
 * BTF: `curtask.real_parent.pid`. Cast it for typed members:
 * `cast<Task>(curtask, "struct task_struct *")`.
 */
export const curtask: RecordExpr<unknown> = record<unknown>({
  op: "builtin",
  name: "curtask",
  span: { text: "curtask" },
}) as RecordExpr<unknown>;

/** Raw argument `n` (0–5) of a raw tracepoint, uprobe, USDT probe or kprobe: bpftrace's `argN`. */
export function arg(n: number): ScriptExpr<number> {
  if (!Number.isInteger(n) || n < 0 || n > 11) {
    throw new InvalidArgumentError(
      `arg(${n}): the argument number must be an integer from 0 to 11`,
    );
  }
  return new ScriptExpr({ op: "arg", index: n, span: { text: `arg${n}` } });
}

/** `c ? a : b`, decided in the kernel. */
export function cond<T = number>(
  c: AnyOperand,
  a: OperandOf<T> | ScriptExpr<T>,
  b: OperandOf<T> | ScriptExpr<T>,
): ScriptExpr<T> {
  const [ce, ae, be] = [toExpr(c), toExpr(a as AnyOperand), toExpr(b as AnyOperand)];
  return new ScriptExpr<T>({
    op: "ternary",
    cond: ce.node,
    then: ae.node,
    else: be.node,
    span: { text: `${wrap(ce, 1)} ? ${wrap(ae, 1)} : ${wrap(be, 1)}` },
  }, TERNARY);
}

/** `str(ptr)` or `str(ptr, len)`: a NUL-terminated string from kernel or user memory. */
export function str(ptr: AnyOperand, len?: Operand): ScriptExpr<string> {
  return call("str", len === undefined ? [ptr] : [ptr, len]);
}

/** `buf(ptr, len)`: `len` bytes, printed as `\xNN` escapes. */
export function buf(ptr: AnyOperand, len: Operand): ScriptExpr<string> {
  return call("buf", [ptr, len]);
}

/**
 * `join(argv)`: prints the strings of a NULL-terminated array (such as
 * `execve`'s `argv`) separated by spaces (or `sep`), as a statement.
 */
export function join(argv: AnyOperand, sep?: string): void {
  const e = call<string>("join", sep === undefined ? [argv] : [argv, sep]);
  push({ op: "expr", value: e.node, span: e.node.span }, "join()");
}

/** `ksym(addr)`: the kernel symbol at an address. */
export function ksym(addr: Operand): ScriptExpr<string> {
  return call("ksym", [addr]);
}

/** `usym(addr)`: the symbol of the current process at a user address. */
export function usym(addr: Operand): ScriptExpr<string> {
  return call("usym", [addr]);
}

/** `ntop(addr)` or `ntop(af, addr)`: an IPv4 or IPv6 address as text. */
export function ntop(addr: AnyOperand, af?: Operand): ScriptExpr<string> {
  return call("ntop", af === undefined ? [addr] : [af, addr]);
}

/**
 * `bswap(x)`: `x` with its bytes in reverse order, within its size (a
 * 16-bit port swaps two bytes; a byte is left as it is), unsigned.
 */
export function bswap(x: Operand): ScriptExpr<number> {
  return call("bswap", [x]);
}

/**
 * `uaddr("name")`: at a uprobe or USDT probe, the address of a data symbol
 * of the probed binary, a user pointer to an integer of the symbol's size
 * (read it with `deref`).
 */
export function uaddr(name: string): ScriptExpr<number> {
  return call("uaddr", [name]);
}

/**
 * `strftime(format, ns)`: `ns` nanoseconds since boot (`nsecs`), printed
 * as local time with a strftime format (`%H:%M:%S`, and `%f` for the
 * microseconds), in printf's `%s`, map keys and values.
 */
export function strftime(format: string, ns: Operand): ScriptExpr<string> {
  return call("strftime", [format, ns]);
}

/**
 * `macaddr(addr)`: 6 bytes printed as a MAC address (`01:02:AB:…`), from a
 * 6-byte array member or at the address `addr` holds.
 */
export function macaddr(addr: AnyOperand): ScriptExpr<string> {
  return call("macaddr", [addr]);
}

/**
 * `pton("1.2.3.4")` or `pton("::1")`: the address's 4 or 16 bytes, an array
 * converted when the script compiles (a `.` makes it IPv4, else a `:`
 * IPv6, as bpftrace's `pton()`); it prints as `[1,2,3,4]`, compares with
 * `==`, and `ntop()` turns it back into text.
 */
export function pton(addr: string): ScriptExpr<number[]> {
  return call("pton", [addr]);
}

/** `cgroupid("/sys/fs/cgroup/…")`: the id of a cgroup v2 directory, as `cgroup` gives it. */
export function cgroupid(path: string): ScriptExpr<number> {
  return call("cgroupid", [path]);
}

/** `strncmp(a, b, n)`: 0 when the first `n` bytes are equal. */
export function strncmp(a: AnyOperand, b: AnyOperand, n: number): ScriptExpr<number> {
  return call("strncmp", [a, b, n]);
}

/** `kaddr("name")`: a kernel symbol's address. */
export function kaddr(name: string): ScriptExpr<number> {
  return call("kaddr", [name]);
}

/** `reg("ip")`: a register of the probed context (uprobes, kprobes). */
export function reg(name: string): ScriptExpr<number> {
  return call("reg", [name]);
}

/** `uptr(p)`: `p` points to user memory (reads through it use bpf_probe_read_user). */
export function user<S = unknown>(p: AnyOperand): RecordExpr<S> {
  const e = call<S>("uptr", [p]);
  return record<S>(e.node) as RecordExpr<S>;
}

/** `kptr(p)`: `p` points to kernel memory. */
export function kernel<S = unknown>(p: AnyOperand): RecordExpr<S> {
  const e = call<S>("kptr", [p]);
  return record<S>(e.node) as RecordExpr<S>;
}

/**
 * `*p`: the integer of `type` (default `"uint64"`) at address `p`, as
 * bpftrace's `*$avenrun` (a read through `(type *)p`).
 */
export function deref(p: AnyOperand, type = "uint64"): ScriptExpr<number> {
  const e = toExpr(p);
  const text = `*${wrap(e, UNARY)}`;
  const node: IrExpr = {
    op: "deref",
    arg: { op: "cast", type: `${type} *`, arg: e.node, span: { text: `(${type} *)${e.text}` } },
    span: { text },
  };
  return new ScriptExpr(node, UNARY);
}

/**
 * A cast: to an integer type (`"u32"`, `"int64"`, `"uint8"`…), or to a
 * pointer to a kernel struct (`"struct task_struct *"`, read through BTF)
 * or to a struct the script declares with `struct()`, whose members then
 * read as properties: `cast<Task>(curtask, "struct task_struct *").real_parent.pid`.
 */
export function cast<S = number>(value: AnyOperand, type: string): RecordExpr<S> {
  const e = toExpr(value);
  const t = type.trim();
  if (t.length === 0) throw new InvalidArgumentError("cast: the type is empty");
  return record<S>({
    op: "cast",
    type: t,
    arg: e.node,
    span: { text: `(${t})${wrap(e, UNARY)}` },
  }, UNARY) as RecordExpr<S>;
}

// ---------------------------------------------------------------- recording

// The statement list being recorded (a body, or a branch of `when`) and the
// probe's local counter. Building is synchronous, so one module-level slot
// is enough; `record` saves and restores it around each body.
let body: IrStmt[] | undefined;
let locals = 0;
// How many loop() bodies are being recorded (breakLoop/continueLoop need one).
let loops = 0;

function push(stmt: IrStmt, what: string): void {
  if (!body) {
    throw new InvalidArgumentError(
      `${what} is a statement: call it inside a probe body, e.g. on(point, () => { ${what}; })`,
    );
  }
  body.push(stmt);
}

function recordBody(fn: () => void): IrStmt[] {
  const saved = body;
  const list: IrStmt[] = [];
  body = list;
  try {
    const r = fn() as unknown;
    if (r instanceof Promise) {
      throw new InvalidArgumentError(
        "a probe body must be synchronous: it runs once at build time to record statements",
      );
    }
  } finally {
    body = saved;
  }
  return list;
}

/** A local variable (`$name`): the value of an expression, computed once per event. */
export class Local<T> extends ScriptExpr<T> {
  /** The variable's name, with its `$`. */
  readonly name: string;
  /** Wraps the variable `name`. */
  constructor(name: string) {
    super({ op: "var", name, span: { text: name } });
    this.name = name;
  }
  /** `$name = value` (a statement). */
  set(value: OperandOf<T> | ScriptExpr<T>): void {
    const v = toExpr(value as AnyOperand);
    push(
      { op: "let", name: this.name, value: v.node, span: { text: `${this.name} = ${v.text}` } },
      "set()",
    );
  }
}

/**
 * `$name = value`: a local holding `value` for the rest of this event (a
 * statement; use the returned expression to read it). `name` defaults to
 * `$1`, `$2`… in the probe.
 */
export function local<T = number>(value: OperandOf<T> | ScriptExpr<T>, name?: string): Local<T> {
  let n = name ?? `$${++locals}`;
  if (!n.startsWith("$")) n = `$${n}`;
  if (!/^\$[A-Za-z_][A-Za-z0-9_]*$|^\$\d+$/.test(n)) {
    throw new InvalidArgumentError(`local name ${JSON.stringify(name)}: use letters, digits and _`);
  }
  const l = new Local<T>(n);
  l.set(value);
  return l;
}

/** `if (c) { then } else { otherwise }`, decided in the kernel; the callbacks record the branches. */
export function when(c: AnyOperand, then: () => void, otherwise?: () => void): void {
  const ce = toExpr(c);
  const stmt: IrStmt = {
    op: "if",
    cond: ce.node,
    then: recordBody(then),
    span: { text: `if (${ce.text})` },
  };
  if (otherwise) stmt.else = recordBody(otherwise);
  push(stmt, "when()");
}

/** `unroll (n) { … }`: the body repeated `n` times (1–100). */
export function unroll(n: number, fn: () => void): void {
  if (!Number.isInteger(n) || n < 1 || n > 100) {
    throw new InvalidArgumentError(`unroll(${n}): the count must be an integer from 1 to 100`);
  }
  push(
    { op: "unroll", count: n, body: recordBody(fn), span: { text: `unroll (${n})` } },
    "unroll()",
  );
}

/**
 * `while (c) { … }`: the body runs while `c` is non-zero, in the kernel.
 * The verifier must see the loop end (a counter compared with a constant,
 * a value halved to zero…; kernel 5.3 or later). Inside, {@linkcode breakLoop}
 * and {@linkcode continueLoop} leave it or start its next round.
 */
export function loop(c: AnyOperand, fn: () => void): void {
  const ce = toExpr(c);
  loops++;
  let stmts: IrStmt[];
  try {
    stmts = recordBody(fn);
  } finally {
    loops--;
  }
  push({ op: "while", cond: ce.node, body: stmts, span: { text: `while (${ce.text})` } }, "loop()");
}

function jump(op: "break" | "continue", what: string): void {
  if (!loops) throw new InvalidArgumentError(`${what} is only allowed inside loop(c, () => { … })`);
  push({ op, span: { text: op } }, what);
}

/** `break`: leaves the innermost {@linkcode loop}. */
export function breakLoop(): void {
  jump("break", "breakLoop()");
}

/** `continue`: starts the innermost {@linkcode loop}'s next round (its condition is tested first). */
export function continueLoop(): void {
  jump("continue", "continueLoop()");
}

/** `return`: this firing of the probe ends here (nothing after it runs; the maps keep what was done). */
export function returnEarly(): void {
  push({ op: "return", span: { text: "return" } }, "returnEarly()");
}

function conversions(format: string): number {
  let n = 0;
  for (const m of format.matchAll(/%(%|[-+ #0]*(\d+|\*)?(\.\d+)?(hh|h|ll|l|z|j|t)?[a-zA-Z])/g)) {
    if (m[1] !== "%") n++;
  }
  return n;
}

/** `printf(format, args…)` with bpftrace's conversions (`%d %u %x %s %-16s %lld %p`…). */
export function printf(format: string, ...args: AnyOperand[]): void {
  formatted("printf", format, args);
}

/** A printf or cat statement: `format`'s conversions and `args` must match in number. */
function formatted(
  op: "printf" | "cat" | "system",
  format: string,
  args: readonly AnyOperand[],
): void {
  const want = conversions(format);
  if (want !== args.length) {
    throw new InvalidArgumentError(
      `${op}(${
        JSON.stringify(format)
      }): the format has ${want} conversion(s) but ${args.length} argument(s) were given`,
    );
  }
  const es = args.map(toExpr);
  push({
    op,
    format,
    args: es.map((e) => e.node),
    span: { text: `${op}(${[JSON.stringify(format), ...es.map((e) => e.text)].join(", ")})` },
  }, `${op}()`);
}

/**
 * `cat(format, args…)`: prints the content of a file (its first 10 KiB),
 * its path a printf format (`cat("/proc/%d/status", pid)`), as bpftrace's
 * `cat()`; a file that cannot be opened prints an error on stderr.
 */
export function cat(format: string, ...args: AnyOperand[]): void {
  formatted("cat", format, args);
}

/**
 * `system(format, args…)`: runs the formatted command with `sh -c` in user
 * space when the record arrives and prints its output (bpftrace's
 * `system()`, which it allows only with --unsafe).
 */
export function system(format: string, ...args: AnyOperand[]): void {
  formatted("system", format, args);
}

/**
 * `signal(n)`: sends signal `n` (1–64) to the process the probe fired in,
 * from the kernel (bpf_send_signal), as bpftrace's `signal()`.
 */
export function signal(n: Operand): void {
  if (typeof n === "number" && !(Number.isInteger(n) && n >= 1 && n <= 64)) {
    throw new InvalidArgumentError(`signal(${n}): a signal number is from 1 to 64`);
  }
  const e = toExpr(n);
  push({ op: "signal", signal: e.node, span: { text: `signal(${e.text})` } }, "signal()");
}

/** `time(format)`: prints the local time with a strftime format (default `"%H:%M:%S\n"`). */
export function time(format = "%H:%M:%S\n"): void {
  push({ op: "time", format, span: { text: `time(${JSON.stringify(format)})` } }, "time()");
}

/** `exit()`: stop the script (its `end` bodies run, then the maps print). */
export function exit(): void {
  push({ op: "exit", span: { text: "exit()" } }, "exit()");
}

// ---------------------------------------------------------------- maps

/** A map, by its reference or its name (`"@start"`; `"start"` is the same). */
export type MapArg = { readonly name: string } | string;

function mapName(m: MapArg | { readonly name: string }): string {
  const name = typeof m === "string" ? m : m.name;
  const n = name.startsWith("@") ? name : `@${name}`;
  if (!/^@[A-Za-z_0-9]*$/.test(n)) {
    throw new InvalidArgumentError(
      `map name ${JSON.stringify(name)}: use @ followed by letters, digits and _`,
    );
  }
  return n;
}

function keyed(name: string, key: ScriptExpr<unknown> | undefined): string {
  return key ? `${name}[${key.text.replace(/^\((.*)\)$/, "$1")}]` : name;
}

function keyOf(key: AnyOperand | undefined): ScriptExpr<unknown> | undefined {
  return key === undefined ? undefined : toExpr(key);
}

/**
 * A map shared by the script's probes, keyed by `K` (`null` for a map
 * without key, a tuple type for a tuple key) with values `V` (a number, a
 * string, or what an aggregation gives). Reads return expressions;
 * writes are statements recorded into the body that calls them.
 * `handle.map(ref)` gives the results typed `Map<K, V>`.
 */
export class ScriptMap<K, V> {
  /** Its name, with its `@`. */
  readonly name: string;
  /** Never set: carries the key type. */
  declare readonly keyType?: K;
  /** Never set: carries the value type. */
  declare readonly valueType?: V;

  /** A reference to map `name` (nothing is created until the script starts). */
  constructor(name: string) {
    this.name = mapName(name);
  }

  /** `@m[key]`: the value, 0 or empty when the key is absent. */
  get(key?: OperandOf<K>): ScriptExpr<V> {
    const k = keyOf(key as AnyOperand | undefined);
    return record<V>({
      op: "map_get",
      map: this.name,
      key: k?.node,
      span: { text: keyed(this.name, k) },
    });
  }
  /** Whether `key` is present (1 or 0). */
  has(key?: OperandOf<K>): ScriptExpr<number> {
    const k = keyOf(key as AnyOperand | undefined);
    return new ScriptExpr({
      op: "map_has",
      map: this.name,
      key: k?.node,
      span: { text: `has(${keyed(this.name, k)})` },
    });
  }
  /** `@m[key] = value` (a statement). For a map without key, `set(value)` alone. */
  set(key: OperandOf<K>, value: OperandOf<V> | ScriptExpr<V>): void;
  /** `@m = value` for a map without key. */
  set(value: OperandOf<V> | ScriptExpr<V>): void;
  set(...a: unknown[]): void {
    const [k, v] = a.length >= 2 ? [keyOf(a[0] as AnyOperand), toExpr(a[1] as AnyOperand)] : [
      undefined,
      toExpr(a[0] as AnyOperand),
    ];
    const text = `${keyed(this.name, k)} = ${v.text}`;
    push({ op: "map_set", map: this.name, key: k?.node, value: v.node, span: { text } }, "set()");
  }
  /** `delete(@m[key])` (a statement). */
  delete(key?: OperandOf<K>): void {
    const k = keyOf(key as AnyOperand | undefined);
    const text = `delete(${keyed(this.name, k)})`;
    push({ op: "map_delete", map: this.name, key: k?.node, span: { text } }, "delete()");
  }
  /** `@m[key] += by` (default 1; a statement). */
  increment(key?: OperandOf<K>, by: Operand = 1): void {
    this.update(key, { op: "+", value: by });
  }
  /** `@m[key] op= value` (a statement), e.g. `update(pid, { op: "-", value: 1 })`. */
  update(key: OperandOf<K> | undefined, change: MapUpdate): void {
    const k = keyOf(key as AnyOperand | undefined);
    const v = toExpr(change.value);
    const text = `${keyed(this.name, k)} ${change.op}= ${v.text}`;
    push({
      op: "map_update",
      map: this.name,
      key: k?.node,
      operator: change.op,
      value: v.node,
      span: { text },
    }, "update()");
  }
}

/** The change {@linkcode ScriptMap.update} makes. */
export interface MapUpdate {
  /** The operator (`"+"` is `+=`). */
  op: "+" | "-" | "*" | "/" | "%" | "&" | "|" | "^" | "<<" | ">>";
  /** The right-hand side. */
  value: Operand;
}

/**
 * A map keyed by thread id: bpftrace's `@start[tid]`, written without the
 * key. `get()`, `has()`, `set(v)`, `delete()`.
 */
export class PerThread<V> {
  /** The map (keyed by `tid`). */
  readonly map: ScriptMap<number, V>;
  /** A per-thread view of map `name`. */
  constructor(name: string) {
    this.map = new ScriptMap<number, V>(name);
  }
  /** Its name, with its `@`. */
  get name(): string {
    return this.map.name;
  }
  /** `@m[tid]` */
  get(): ScriptExpr<V> {
    return this.map.get(tid);
  }
  /** Whether this thread has a value. */
  has(): ScriptExpr<number> {
    return this.map.has(tid);
  }
  /** `@m[tid] = value` (a statement). */
  set(value: OperandOf<V> | ScriptExpr<V>): void {
    this.map.set(tid, value);
  }
  /** `delete(@m[tid])` (a statement). */
  delete(): void {
    this.map.delete(tid);
  }
}

// ---------------------------------------------------------------- aggregations

/** Options of aggregations: the key. */
export interface AggregateKeyOptions {
  /** The key: an expression, or an array of them for a tuple key (`[comm, pid]`). */
  by?: AnyOperand;
}

/** Options of {@linkcode lhist}: the key and the linear buckets. */
export interface LhistOptions extends AggregateKeyOptions {
  /** Lowest bucket's start. */
  min: number;
  /** Highest bucket's end. */
  max: number;
  /** Bucket width. */
  step: number;
}

function aggregate(
  map: MapArg,
  fn: IrAggregation,
  args: AnyOperand[],
  by: AnyOperand | undefined,
): void {
  const name = mapName(map);
  const k = keyOf(by);
  const es = args.map(toExpr);
  push({
    op: "aggregate",
    map: name,
    key: k?.node,
    fn,
    args: es.map((e) => e.node),
    span: { text: `${keyed(name, k)} = ${fn}(${es.map((e) => e.text).join(", ")})` },
  }, `${fn}()`);
}

/** `@m[by] = count()` */
export function count(map: MapArg, options: AggregateKeyOptions = {}): void {
  aggregate(map, "count", [], options.by);
}
/** `@m[by] = sum(value)` */
export function sum(map: MapArg, value: Operand, options: AggregateKeyOptions = {}): void {
  aggregate(map, "sum", [value], options.by);
}
/** `@m[by] = avg(value)` */
export function avg(map: MapArg, value: Operand, options: AggregateKeyOptions = {}): void {
  aggregate(map, "avg", [value], options.by);
}
/** `@m[by] = min(value)` */
export function min(map: MapArg, value: Operand, options: AggregateKeyOptions = {}): void {
  aggregate(map, "min", [value], options.by);
}
/** `@m[by] = max(value)` */
export function max(map: MapArg, value: Operand, options: AggregateKeyOptions = {}): void {
  aggregate(map, "max", [value], options.by);
}
/** `@m[by] = stats(value)`: count, average and total. */
export function stats(map: MapArg, value: Operand, options: AggregateKeyOptions = {}): void {
  aggregate(map, "stats", [value], options.by);
}
/** `@m[by] = hist(value)`: power-of-two buckets. */
export function hist(map: MapArg, value: Operand, options: AggregateKeyOptions = {}): void {
  aggregate(map, "hist", [value], options.by);
}
/** `@m[by] = lhist(value, min, max, step)`: linear buckets. */
export function lhist(map: MapArg, value: Operand, options: LhistOptions): void {
  for (const f of ["min", "max", "step"] as const) {
    if (!Number.isInteger(options?.[f])) {
      throw new InvalidArgumentError(`lhist(): options.${f} must be an integer`);
    }
  }
  aggregate(map, "lhist", [value, options.min, options.max, options.step], options.by);
}

/** Options of {@linkcode print}. */
export interface PrintMapOptions {
  /** Only the largest `top` entries. */
  top?: number;
  /** Values divided by this. */
  div?: number;
}

/**
 * `print(@m, top, div)` prints a map now; `print(expr)` prints a value.
 * A string starting with `@` names a map.
 */
export function print(what: MapArg | ScriptExpr<unknown>, options: PrintMapOptions = {}): void {
  if (what instanceof ScriptExpr) {
    push({ op: "print_value", value: what.node, span: { text: `print(${what.text})` } }, "print()");
    return;
  }
  if (typeof what === "string" && !what.startsWith("@")) {
    throw new InvalidArgumentError(
      `print(${
        JSON.stringify(what)
      }): name a map with its @, or print a value with print(toExpr("…"))`,
    );
  }
  const map = mapName(what);
  const extra = [options.top, options.div].filter((x) => x !== undefined);
  push({
    op: "print",
    map,
    top: options.top,
    div: options.div,
    span: { text: `print(${[map, ...extra].join(", ")})` },
  }, "print()");
}

/** `clear(@m)`: remove every key. */
export function clear(map: MapArg): void {
  const name = mapName(map);
  push({ op: "clear", map: name, span: { text: `clear(${name})` } }, "clear()");
}

/** `zero(@m)`: set every value to zero, keeping the keys. */
export function zero(map: MapArg): void {
  const name = mapName(map);
  push({ op: "zero", map: name, span: { text: `zero(${name})` } }, "zero()");
}

// ---------------------------------------------------------------- scripts

/** What a probe body receives: the point's arguments. */
export interface BodyContext<A> {
  /** The point's arguments (tracepoint fields, BTF parameters, USDT arguments): `args.filename`. */
  readonly args: RecordExpr<A>;
}

/** Options of {@linkcode ScriptContext.on}. */
export interface OnOptions<A = AnyArgs> {
  /**
   * Only when this is non-zero (bpftrace's `/filter/`); a function receives
   * the point's `args` (`where: ({ args }) => args.ret.ge(0)`).
   */
  where?: AnyOperand | ((ctx: BodyContext<A>) => AnyOperand);
}

/** A point as `on()` takes it: a point constructor's result, or an IR point (`{ kind: "fentry", target }`). */
export type PointArg<A = AnyArgs> = ProbePoint<A> | IrPoint;

/** Any point `on()` takes. */
// deno-lint-ignore no-explicit-any
export type AnyPoint = ProbePoint<any> | IrPoint;

/** The argument shape of a point type (`AnyArgs` for IR points). */
export type PointArgs<P> = P extends ProbePoint<infer A> ? A : AnyArgs;

/** A member of a struct declared with {@linkcode ScriptContext.struct}: name and C type. */
export type StructMembers = Readonly<Record<string, string>>;

/** What the `script()` callback receives: probes, maps and struct declarations. */
export interface ScriptContext {
  /**
   * A probe: when `point` (or any of `points`) fires and `options.where`
   * holds, the statements `body` records run.
   */
  on<P extends AnyPoint>(
    points: P | readonly P[],
    body: (ctx: BodyContext<PointArgs<P>>) => void,
  ): void;
  /** A probe with a filter. */
  on<P extends AnyPoint>(
    points: P | readonly P[],
    options: OnOptions<PointArgs<P>>,
    body: (ctx: BodyContext<PointArgs<P>>) => void,
  ): void;
  /** Statements run once when the script starts, before any other probe (bpftrace's BEGIN). */
  begin(body: () => void): void;
  /** Statements run once when the script stops, before the maps print (bpftrace's END). */
  end(body: () => void): void;
  /** Statements run every `ms` milliseconds (bpftrace's `interval:ms:N`). */
  every(ms: number, body: () => void): void;
  /** A map shared by the probes, `@name[K] = V`. */
  map<K = unknown, V = number>(name: string): ScriptMap<K, V>;
  /** A map keyed by thread id. */
  perThread<V = number>(name: string): PerThread<V>;
  /**
   * Declares a struct laid out with C rules (bpftrace's `struct X { … }`),
   * for casts: `struct("ev", { pid: "int", comm: "char[16]" })` returns its
   * name, `"struct ev"`.
   */
  struct(name: string, members: StructMembers): string;
}

/** Build options of {@linkcode script}. */
export interface ScriptBuildOptions {
  /** Bytes kept of each string (bpftrace's BPFTRACE_STRLEN; default 64). */
  strlen?: number;
  /** Maximum keys of each map (bpftrace's BPFTRACE_MAP_KEYS_MAX; default 4096). */
  maxKeys?: number;
}

/** The probe point of a point constructor's result, in the IR's spelling. */
export function toIrPoint(p: PointArg<unknown>): IrPoint {
  if ("target" in p) return p;
  switch (p.kind) {
    case "tracepoint":
      return { kind: p.kind, target: `${p.group}:${p.event}` };
    case "raw_tracepoint":
    case "tp_btf":
      return { kind: p.kind, target: p.event };
    case "uprobe":
    case "uretprobe":
      return withPid({ kind: p.kind, target: `${p.path}:${p.symbol}` }, p.pid);
    case "usdt":
      return withPid({ kind: p.kind, target: `${p.path}:${p.provider}:${p.name}` }, p.pid);
    case "kprobe":
    case "kretprobe":
      return { kind: p.kind, target: p.symbol };
    case "profile":
      return { kind: p.kind, target: `hz:${p.hz}` };
  }
}

function withPid(p: IrPoint, pid: number | undefined): IrPoint {
  if (pid !== undefined) p.pid = pid;
  return p;
}

function pointText(p: IrPoint): string {
  if (p.kind === "begin" || p.kind === "end") return p.kind.toUpperCase();
  const kind = p.kind === "raw_tracepoint" ? "rawtracepoint" : p.kind;
  return `${kind}:${p.target}`;
}

/**
 * A recorded script: its IR (`ir`), what the build callback returned
 * (`refs`, typically its maps), `start()` and `run()`.
 */
export class Script<R> {
  /** The probe IR the back end runs. */
  readonly ir: ScriptIr;
  /** What the build callback returned. */
  readonly refs: R;
  /** Wraps a recorded script. */
  constructor(ir: ScriptIr, refs: R) {
    this.ir = ir;
    this.refs = refs;
  }

  /**
   * Compiles, loads and attaches the script, runs its `begin` bodies, and
   * returns its handle: `runFor(seconds)`, `run()` until `exit()` or a
   * signal (both stop it, run `end` bodies and print every map, unless
   * `printMaps: false`), `maps`, `results`, `close()`.
   */
  async start(options: ScriptOptions = {}): Promise<ScriptRun<R>> {
    // The compiler and loader, on first use: importing the probe entry stays cheap.
    const { runScript } = await import("./run_script.ts");
    return new ScriptRun(await runScript(this.ir, options), this.refs);
  }

  /**
   * Runs the script the way bpftrace runs one: starts it, waits for
   * `exit()`, Ctrl-C or SIGTERM (or `seconds`), then stops it (`end`
   * bodies run, every map is printed). Returns the stopped handle, whose
   * results stay readable.
   */
  async run(options: ScriptMainOptions = {}): Promise<ScriptRun<R>> {
    const { seconds, signal: given, ...start } = options;
    using stop = interrupted();
    const signal = given ? AbortSignal.any([given, stop]) : stop;
    const run = await this.start(start);
    try {
      if (seconds !== undefined) await run.runFor(seconds, { signal });
      else await run.run({ signal });
    } catch (e) {
      run.close();
      throw e;
    }
    return run;
  }
}

/** Options of {@linkcode Script.run}. */
export interface ScriptMainOptions extends ScriptOptions {
  /** Stop after this many seconds (default: at `exit()`, Ctrl-C or SIGTERM). */
  seconds?: number;
  /** Also stop when this aborts. */
  signal?: AbortSignal;
}

/** The decoded contents of the maps in `R` (what the build callback returned), by property. */
export type ResultsOf<R> = {
  readonly [
    // deno-lint-ignore no-explicit-any
    P in keyof R as R[P] extends ScriptMap<any, any> | PerThread<any> ? P : never
  ]: R[P] extends ScriptMap<infer K, infer V> ? Map<MapKeyOf<K>, V>
    : R[P] extends PerThread<infer V> ? Map<number, V>
    : never;
};

/** The JavaScript key of a map keyed by `K`: `null` without a key. */
export type MapKeyOf<K> = [K] extends [null] ? null : K;

/**
 * A running (or stopped) script: the back end's {@linkcode ScriptHandle},
 * with the maps the build callback returned typed: `results.us`,
 * `map(us)`.
 */
export class ScriptRun<R> implements AsyncDisposable, Disposable {
  /** The back end's handle. */
  readonly handle: ScriptHandle;
  /** What the build callback returned. */
  readonly refs: R;
  /** Wraps the back end's handle. */
  constructor(handle: ScriptHandle, refs: R) {
    this.handle = handle;
    this.refs = refs;
  }
  /** Runs for `seconds` (less at `exit()` or when the signal aborts), then stops. */
  runFor(seconds: number, options?: RunOptions): Promise<void> {
    return this.handle.runFor(seconds, options);
  }
  /** Runs until `exit()` or the signal, then stops. */
  run(options?: RunOptions): Promise<void> {
    return this.handle.run(options);
  }
  /** Stops: freezes the probes, runs `end` bodies and prints every map while they detach, closes. */
  stop(): Promise<void> {
    return this.handle.stop();
  }
  /** Prints every map now, as bpftrace prints them at exit. */
  print(): void {
    this.handle.print();
  }
  /** Every map's entries by name (`"@start"`). */
  get maps(): Record<string, Map<unknown, ScriptValue>> {
    return this.handle.maps;
  }
  /** The entries of one map, typed by its reference. */
  map<K, V>(ref: ScriptMap<K, V> | PerThread<V>): Map<MapKeyOf<K>, V> {
    return (this.handle.maps[ref.name] ?? new Map()) as Map<MapKeyOf<K>, V>;
  }
  /** The entries of the maps the build callback returned, by its property names. */
  get results(): ResultsOf<R> {
    const out: Record<string, unknown> = {};
    const maps = this.handle.maps;
    for (const [k, v] of Object.entries((this.refs ?? {}) as Record<string, unknown>)) {
      if (v instanceof ScriptMap || v instanceof PerThread) out[k] = maps[v.name] ?? new Map();
    }
    return out as ResultsOf<R>;
  }
  /** Closes every descriptor (without END or printing). */
  close(): void {
    this.handle.close();
  }
  /** Closes every descriptor. */
  [Symbol.dispose](): void {
    this.handle.close();
  }
  /** Stops (if running) and closes. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.handle[Symbol.asyncDispose]();
  }
}

/**
 * Records a script: `build` runs once, now, declaring probes with `on`,
 * `begin`, `end`, `every` and maps with `map`/`perThread`; each body runs
 * once too, recording its statements. Returns the recorded {@linkcode Script}
 * (`ir`, `start()`); what `build` returns (e.g. `{ us }`) types the results.
 */
export function script<R = void>(
  build: (ctx: ScriptContext) => R,
  options: ScriptBuildOptions = {},
): Script<R> {
  if (body) {
    throw new InvalidArgumentError("script() cannot be called inside a probe body");
  }
  const probes: IrProbe[] = [];
  const structs: IrStructDecl[] = [];
  let building = true;
  const addProbe = (points: IrPoint[], filter: AnyOperand | undefined, fn: () => void) => {
    if (!building) {
      throw new InvalidArgumentError("probes are declared while script() builds, not later");
    }
    if (body) throw new InvalidArgumentError("a probe cannot be declared inside another's body");
    locals = 0;
    const f = filter === undefined ? undefined : toExpr(filter);
    const text = points.map(pointText).join(",") + (f ? ` /${f.text}/` : "");
    const p: IrProbe = { points, body: recordBody(fn), span: { text } };
    if (f) p.filter = f.node;
    probes.push(p);
  };
  const args = record<unknown>({ op: "builtin", name: "args", span: { text: "args" } });
  const ctx: ScriptContext = {
    on: ((
      points: AnyPoint | readonly AnyPoint[],
      a: OnOptions | ((c: BodyContext<AnyArgs>) => void),
      b?: (c: BodyContext<AnyArgs>) => void,
    ) => {
      const list = (Array.isArray(points) ? points : [points]) as PointArg<unknown>[];
      if (list.length === 0) throw new InvalidArgumentError("on(): no probe point given");
      const [opts, fn] = typeof a === "function" ? [{}, a] : [a ?? {}, b];
      if (typeof fn !== "function") throw new InvalidArgumentError("on(): the body is missing");
      const bodyCtx = { args } as BodyContext<AnyArgs>;
      const where = typeof opts.where === "function" ? opts.where(bodyCtx) : opts.where;
      addProbe(list.map(toIrPoint), where, () => fn(bodyCtx));
    }) as ScriptContext["on"],
    begin(fn) {
      addProbe([{ kind: "begin", target: "" }], undefined, fn);
    },
    end(fn) {
      addProbe([{ kind: "end", target: "" }], undefined, fn);
    },
    every(ms, fn) {
      if (!Number.isInteger(ms) || ms <= 0) {
        throw new InvalidArgumentError(`every(${ms}): the period must be a positive integer (ms)`);
      }
      // As bpftrace spells it (the probe builtin prints it): interval:s:1, interval:ms:100.
      const target = ms % 1000 === 0 ? `s:${ms / 1000}` : `ms:${ms}`;
      addProbe([{ kind: "interval", target }], undefined, fn);
    },
    map: (name) => new ScriptMap(name),
    perThread: (name) => new PerThread(name),
    struct(name, members) {
      const full = /^(struct|union) /.test(name) ? name : `struct ${name}`;
      const entries = Object.entries(members);
      if (entries.length === 0) throw new InvalidArgumentError(`${full}: no members`);
      const decl: IrStructDecl = {
        name: full,
        members: entries.map(([n, type]) => ({ name: n, type })),
        span: { text: `${full} { ${entries.map(([n, t]) => `${t} ${n};`).join(" ")} }` },
      };
      if (full.startsWith("union ")) decl.union = true;
      structs.push(decl);
      return full;
    },
  };
  let refs: R;
  try {
    refs = build(ctx);
  } finally {
    building = false;
  }
  if (probes.length === 0) {
    throw new InvalidArgumentError(
      "script(): no probes: declare some with on(), begin(), end() or every()",
    );
  }
  const ir: ScriptIr = { probes };
  if (structs.length) ir.structs = structs;
  if (options.strlen !== undefined) ir.strlen = options.strlen;
  if (options.maxKeys !== undefined) ir.maxKeys = options.maxKeys;
  return new Script(ir, refs);
}
