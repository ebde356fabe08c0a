// Type inference and checking of the probe IR: the type of every
// expression at one point, the locals of each probe, and the key and value
// types of the script's maps, fixed by their first use (as bpftrace infers
// them). A conflicting use is a ProbeCompileError naming the map or local,
// the expression and both types.

import { type Access, type IntAccess, resolveKernelPath, type Schema } from "./_access.ts";
import type { LinearBounds } from "./_codegen.ts";
import { ProbeCompileError } from "./errors.ts";
import { sizeOfType } from "./_script_records.ts";
import { parseInet } from "./_inet.ts";
import { checkPrintfArgs } from "./printf.ts";
import { loadKernelSpec } from "../btf/kernel.ts";
import { castType } from "./_int_types.ts";
import { DeclaredStructs } from "./_layout.ts";
import { readElfFile } from "../elf/elf_file.ts";
import { SymbolType } from "../elf/constants.ts";

export { castType };
import {
  BINARY_PRECEDENCE,
  type IrAggregation,
  type IrExpr,
  type IrPointKind,
  type IrProbe,
  type IrStmt,
  type IrType,
  type ScriptIr,
} from "./ir.ts";

/** What the checker and the code generator know about the point a program runs at. */
export interface PointEnv {
  /** The point's full name, as the `probe` builtin gives it (`"tracepoint:sched:sched_switch"`). */
  name: string;
  /** The kind of point. */
  kind: IrPointKind;
  /** How `args.*`, `argN` and `retval` are read (none at begin/end/interval). */
  schema?: Schema;
  /** Whether pointers in the arguments point to user memory (syscalls, uprobes, USDT). */
  user: boolean;
  /** The function, for the `func` builtin (uprobe and kprobe points). */
  func?: string;
  /** Tracepoints: the C type of each field (`"struct __kernel_timespec *"`), for `args.f->member`. */
  fieldType?: (name: string) => string | undefined;
}

/** A map of the script: its key, and its value or aggregation, fixed by first use. */
export interface MapInfo {
  /** The name, with its `@`. */
  name: string;
  /** First-use order. */
  index: number;
  /** The key type; undefined until a keyed use, `none` for a map without key. */
  key?: IrType;
  /** The aggregation, for maps written by `count()`, `hist()`… */
  agg?: { fn: IrAggregation; signed: boolean; linear?: LinearBounds };
  /** The value type, for maps written by assignment. */
  value?: IrType;
  /** The text of the use that fixed the map's value (for messages). */
  valueBy?: string;
  /** The text of the use that fixed the key. */
  keyBy?: string;
}

/** The types at one program: every expression's, and the accesses of arguments. */
export interface ProgramTypes {
  /** The type of each expression node. */
  types: Map<IrExpr, IrType>;
  /** How `args.*`, `argN` and `retval` expressions are read. */
  access: Map<IrExpr, Access>;
  /** Locals and their types. */
  locals: Map<string, IrType>;
  /** For reads through a pointer: the expression giving the pointer (stored at POINTER_SLOT first). */
  roots: Map<IrExpr, IrExpr>;
  /**
   * Pointer arithmetic (`p + i`, `p - i` on a typed pointer): the integer
   * side, scaled by the pointee's size as C and bpftrace scale it.
   */
  scale: Map<IrExpr, { side: "left" | "right"; size: number }>;
}

/** The stack slot (fp+POINTER_SLOT) where a read through a pointer keeps the pointer. */
export const POINTER_SLOT = -32;

/** The pointer a read through a pointer keeps at POINTER_SLOT. */
const SLOT_POINTER: IntAccess = {
  type: "int",
  src: { from: "slot", offset: POINTER_SLOT },
  size: 8,
  signed: false,
};

/** The type of an unknown value (a map read before the pass that learns its type). */
const UNKNOWN: IrType = { kind: "none" };
const U64: IrType = { kind: "int", size: 8, signed: false };
const S64: IrType = { kind: "int", size: 8, signed: true };
const U32: IrType = { kind: "int", size: 4, signed: false };
const U8 = { kind: "int", size: 1, signed: false } as const;

/** Bytes an array's elements take (`pton()`'s 4 or 16); 0 for another type. */
function sizeOfArray(t: IrType): number {
  return t.kind === "array" ? t.len * t.elem.size : 0;
}

/** A type as messages print it: `uint64`, `int32`, `string[64]`, `(uint64, string[16])`. */
export function typeText(t: IrType): string {
  switch (t.kind) {
    case "int":
      return `${t.signed ? "int" : "uint"}${t.size * 8}`;
    case "str":
      return `string[${t.len}]`;
    case "buf":
      return `buffer[${t.len}]`;
    case "array":
      return `${typeText(t.elem)}[${t.len}]`;
    case "stack":
      return t.user ? "ustack" : "kstack";
    case "tuple":
      return `(${t.elems.map(typeText).join(", ")})`;
    case "ptr":
      return "name" in t.to ? `${t.to.name} *` : `${typeText(t.to)} *`;
    case "record":
      return t.ref.name;
    case "none":
      return "none";
    default:
      return t.kind;
  }
}

/** An expression's text: its span's, or a bpftrace rendering of the node. */
export function exprText(e: IrExpr): string {
  if (e.span?.text) return e.span.text;
  return render(e, 0);
}

function render(e: IrExpr, prec: number): string {
  const key = (k?: IrExpr) =>
    k ? `[${k.op === "tuple" ? k.elems.map(exprText).join(", ") : exprText(k)}]` : "";
  switch (e.op) {
    case "int":
      return e.value.toString();
    case "str":
      return JSON.stringify(e.value);
    case "builtin":
      return e.name;
    case "arg":
      return `arg${e.index}`;
    case "field":
      return `${render(e.base, 11)}.${e.name}`;
    case "index":
      return `${render(e.base, 11)}[${exprText(e.index)}]`;
    case "var":
      return e.name.startsWith("$") ? e.name : `$${e.name}`;
    case "map_get":
      return `${e.map}${key(e.key)}`;
    case "map_has":
      return `${e.map}${key(e.key)}`;
    case "unary":
      return `${e.operator}${render(e.arg, 11)}`;
    case "deref":
      return `*${render(e.arg, 11)}`;
    case "binary": {
      const p = BINARY_PRECEDENCE[e.operator];
      const s = `${render(e.left, p)} ${e.operator} ${render(e.right, p + 1)}`;
      return p < prec ? `(${s})` : s;
    }
    case "ternary": {
      const s = `${render(e.cond, 1)} ? ${render(e.then, 1)} : ${render(e.else, 1)}`;
      return prec > 0 ? `(${s})` : s;
    }
    case "call":
      return `${e.fn}(${e.args.map(exprText).join(", ")})`;
    case "cast":
      return `(${e.type})${render(e.arg, 11)}`;
    case "tuple":
      return `(${e.elems.map(exprText).join(", ")})`;
  }
}

/** A statement's text, for messages. */
export function stmtText(s: IrStmt): string {
  if (s.span?.text) return s.span.text;
  const key = (m: string, k?: IrExpr) => k ? `${m}[${exprText(k)}]` : m;
  switch (s.op) {
    case "let":
      return `$${s.name.replace(/^\$/, "")} = ${exprText(s.value)}`;
    case "map_set":
      return `${key(s.map, s.key)} = ${exprText(s.value)}`;
    case "map_update":
      return `${key(s.map, s.key)} ${s.operator}= ${exprText(s.value)}`;
    case "map_delete":
      return `delete(${key(s.map, s.key)})`;
    case "aggregate":
      return `${key(s.map, s.key)} = ${s.fn}(${s.args.map(exprText).join(", ")})`;
    case "printf":
    case "cat":
    case "system":
      return `${s.op}(${[JSON.stringify(s.format), ...s.args.map(exprText)].join(", ")})`;
    case "print":
      return `print(${s.map})`;
    case "print_value":
      return `print(${exprText(s.value)})`;
    case "while":
      return `while (${exprText(s.cond)})`;
    case "expr":
      return exprText(s.value);
    default:
      return s.op;
  }
}

function isInt(t: IrType): boolean {
  return t.kind === "int" || t.kind === "ksym" || t.kind === "usym" || t.kind === "ptr";
}

function fail(message: string, text: string): never {
  throw new ProbeCompileError(message, { expression: text });
}

/** Whether a value of type `b` can be stored where `a` is fixed (same shape; ints of any size). */
function compatible(a: IrType, b: IrType): boolean {
  if (a.kind === "none" || b.kind === "none") return true;
  if (isInt(a) && isInt(b)) return a.kind === b.kind || (a.kind !== "ksym" && a.kind !== "usym");
  if (a.kind === "tuple" && b.kind === "tuple") {
    return a.elems.length === b.elems.length && a.elems.every((x, i) => compatible(x, b.elems[i]));
  }
  if (a.kind === "array" && b.kind === "array") {
    return a.len === b.len && a.elem.size === b.elem.size && a.elem.signed === b.elem.signed;
  }
  return a.kind === b.kind;
}

/**
 * Whether a local of type `a` can be assigned `b`: as a map value can, but
 * a pointer only the same pointer type (bpftrace keeps a local's pointee:
 * `$p = curtask; $p = curtask->mm` and `$p = 1` are its type mismatches).
 */
function sameLocalType(a: IrType, b: IrType): boolean {
  const typed = (t: IrType) => t.kind === "ptr" || t.kind === "record";
  if (b.kind === "none" || (!typed(a) && !typed(b))) return compatible(a, b);
  return a.kind === b.kind && typeText(a) === typeText(b);
}

/** Whether `t` is a pointer to a struct or union (`struct task_struct *`). */
function recordPointer(t: IrType): boolean {
  return t.kind === "ptr" && "name" in t.to;
}

function hasUnknown(t: IrType): boolean {
  return t.kind === "none" || (t.kind === "tuple" && t.elems.some(hasUnknown));
}

/** The name of a local, without `$`. */
export function localName(name: string): string {
  return name.replace(/^\$/, "");
}

/**
 * The checker of one script: `checkProgram` types one probe at one point,
 * fixing the shared maps' types as it goes. The script is checked twice:
 * a first lenient pass learns what maps hold (a map read before the
 * statement that writes it is "unknown" there), the second one is strict.
 */
export class ScriptChecker {
  /** The maps, by name, in first-use order. */
  readonly maps: Map<string, MapInfo> = new Map();
  /** Bytes kept of each string. */
  readonly strlen: number;
  #strict = false;
  /** How many `while` loops enclose the statement being checked. */
  #loops = 0;
  /** The pointer nodes made for `args.f->member` reads, one per read (both passes use it). */
  #roots = new Map<IrExpr, IrExpr>();
  /** The address nodes made for `p[i]` reads (`p + i * size`), one per read (both passes use it). */
  #addrs = new Map<IrExpr, IrExpr>();

  #structs: DeclaredStructs;
  /**
   * Bytes of the `probe` and `func` strings: the longest name of all the
   * script's points, so that a map keyed by them holds every point's name
   * whichever point fixed the key's type (a glob's points differ in length).
   */
  #nameLen = 8;
  #funcLen = 8;

  /** Sizes the `probe` and `func` strings for all of `envs`. */
  sizeNames(envs: Iterable<PointEnv>): void {
    const size = (s: string) => Math.ceil((s.length + 1) / 8) * 8;
    for (const env of envs) {
      this.#nameLen = Math.max(this.#nameLen, size(env.name));
      if (env.func) this.#funcLen = Math.max(this.#funcLen, size(env.func));
    }
  }

  /** A checker for `ir`. */
  constructor(ir: ScriptIr) {
    this.#structs = new DeclaredStructs(ir.structs);
    this.strlen = Math.ceil((ir.strlen ?? 64) / 8) * 8;
  }

  /** From now on, unknown map values are errors. */
  strict(): void {
    this.#strict = true;
  }

  /** Types `probe` at `env`. */
  checkProgram(probe: IrProbe, env: PointEnv): ProgramTypes {
    const pt: ProgramTypes = {
      types: new Map(),
      access: new Map(),
      locals: new Map(),
      roots: new Map(),
      scale: new Map(),
    };
    if (probe.filter) this.#expr(probe.filter, env, pt);
    this.#stmts(probe.body, env, pt);
    return pt;
  }

  #map(name: string): MapInfo {
    let m = this.maps.get(name);
    if (!m) this.maps.set(name, m = { name, index: this.maps.size });
    return m;
  }

  #key(name: string, key: IrExpr | undefined, env: PointEnv, pt: ProgramTypes, text: string) {
    const m = this.#map(name);
    const t = key ? this.#expr(key, env, pt) : { kind: "none" as const };
    const keyable = t.kind === "str" || t.kind === "stack" || t.kind === "tuple" ||
      t.kind === "inet" || t.kind === "timestamp" || t.kind === "mac" ||
      t.kind === "username" || t.kind === "array" || isInt(t);
    if (key && !keyable && t.kind !== "none") {
      fail(`${text}: a map key cannot be ${typeText(t)}`, text);
    }
    if (key && hasUnknown(t)) return;
    if (m.key === undefined) {
      m.key = t;
      m.keyBy = text;
      return;
    }
    const keyless = (x: IrType) => x.kind === "none";
    if (keyless(m.key) !== keyless(t) || !compatible(m.key, t)) {
      const what = (x: IrType) => keyless(x) ? "no key" : `key ${typeText(x)}`;
      fail(
        `map ${name}: ${text} uses ${what(t)}, but ${m.keyBy} used ${what(m.key)}; ` +
          "a map's key type is fixed by its first use",
        text,
      );
    }
  }

  #setValue(name: string, t: IrType, text: string): void {
    const m = this.#map(name);
    if (hasUnknown(t)) return;
    if (m.agg) {
      fail(
        `map ${name}: ${text} assigns ${typeText(t)}, but ${m.valueBy} made it a ${m.agg.fn}() ` +
          "aggregation",
        text,
      );
    }
    if (t.kind === "record") {
      fail(`map ${name}: ${text}: a map value cannot be ${typeText(t)}`, text);
    }
    if (m.value === undefined) {
      m.value = t.kind === "int" ? { ...t, size: 8 } : t;
      m.valueBy = text;
    } else if (!compatible(m.value, t)) {
      fail(
        `map ${name}: ${text} assigns ${typeText(t)}, but ${m.valueBy} made its value ` +
          `${typeText(m.value)}; a map's value type is fixed by its first use`,
        text,
      );
    }
  }

  #stmts(list: readonly IrStmt[], env: PointEnv, pt: ProgramTypes): void {
    for (const s of list) this.#stmt(s, env, pt);
  }

  #stmt(s: IrStmt, env: PointEnv, pt: ProgramTypes): void {
    const text = stmtText(s);
    switch (s.op) {
      case "let": {
        const t = this.#expr(s.value, env, pt);
        const name = localName(s.name);
        const prior = pt.locals.get(name);
        if (prior && !hasUnknown(prior) && !sameLocalType(prior, t)) {
          // bpftrace's words
          fail(
            `${text}: Type mismatch for $${name}: trying to assign value of type ` +
              `'${typeText(t)}' when variable already contains a value of type '${
                typeText(prior)
              }'`,
            text,
          );
        }
        if (!prior || hasUnknown(prior)) {
          if (t.kind === "stack") {
            fail(`${text}: a local cannot hold ${typeText(t)}`, text);
          }
          pt.locals.set(name, t);
        }
        return;
      }
      case "map_set":
        this.#key(s.map, s.key, env, pt, text);
        this.#setValue(s.map, this.#stored(s.value, env, pt), text);
        return;
      case "map_update": {
        this.#key(s.map, s.key, env, pt, text);
        const t = this.#expr(s.value, env, pt);
        if (!isInt(t) && t.kind !== "none") {
          fail(`${text}: ${exprText(s.value)} is ${typeText(t)}, not an integer`, text);
        }
        const m = this.#map(s.map);
        if (m.value && m.value.kind !== "int") {
          fail(
            `map ${s.map}: ${text} needs an integer value, the map holds ${typeText(m.value)}`,
            text,
          );
        }
        this.#setValue(s.map, m.value ?? S64, text);
        return;
      }
      case "map_delete":
        this.#key(s.map, s.key, env, pt, text);
        return;
      case "aggregate":
        return this.#aggregate(s, env, pt, text);
      case "if":
        this.#expr(s.cond, env, pt);
        this.#stmts(s.then, env, pt);
        if (s.else) this.#stmts(s.else, env, pt);
        return;
      case "unroll":
        return this.#stmts(s.body, env, pt);
      case "while":
        this.#needInt(s.cond, this.#expr(s.cond, env, pt), text);
        this.#loops++;
        try {
          return this.#stmts(s.body, env, pt);
        } finally {
          this.#loops--;
        }
      case "signal":
        this.#needInt(s.signal, this.#expr(s.signal, env, pt), text);
        return;
      case "printf":
      case "cat":
      case "system": {
        const types = s.args.map((a) => this.#expr(a, env, pt));
        if (types.some((t) => t.kind === "none")) return;
        try {
          checkPrintfArgs(s.format, types, { fn: s.op });
        } catch (e) {
          // bpftrace's own message (`printf: %d specifier expects a value of type integer
          // (string supplied)`), and the statement it is about.
          fail(`${(e as Error).message}, in ${text}`, text);
        }
        return;
      }
      case "print":
      case "clear":
      case "zero":
        if (!this.maps.has(s.map) && this.#strict) {
          fail(`${text}: there is no map ${s.map} (it is never assigned)`, text);
        }
        this.#map(s.map);
        return;
      case "expr":
        if (s.value.op === "call" && s.value.fn === "join") return this.#join(s.value, env, pt);
        this.#expr(s.value, env, pt);
        return;
      case "print_value": {
        const t = this.#expr(s.value, env, pt);
        if (t.kind === "record") {
          fail(`${text}: printing a struct value is not supported yet; print its members`, text);
        }
        // bpftrace's words
        if (t.kind === "ptr") {
          fail(`${text}: ${typeText(t)} type passed to print() is not printable`, text);
        }
        return;
      }
      case "time":
      case "exit":
      case "return":
        return;
      case "break":
      case "continue":
        if (!this.#loops) fail(`${s.op} used outside of a loop`, text);
        return;
    }
  }

  /** `join(argv[, sep])`, a statement: argv a pointer to a NULL-terminated array of strings. */
  #join(e: IrExpr & { op: "call" }, env: PointEnv, pt: ProgramTypes): void {
    const text = exprText(e);
    const [argv, sep] = e.args;
    if (!argv || e.args.length > 2) fail(`${text}: join() takes an array and a separator`, text);
    this.#needInt(argv, this.#expr(argv, env, pt), text);
    if (sep && sep.op !== "str") fail(`${text}: join()'s separator must be a string literal`, text);
    pt.types.set(e, { kind: "none" });
  }

  #aggregate(
    s: IrStmt & { op: "aggregate" },
    env: PointEnv,
    pt: ProgramTypes,
    text: string,
  ): void {
    this.#key(s.map, s.key, env, pt, text);
    const want = s.fn === "count" ? 0 : s.fn === "lhist" ? 4 : 1;
    if (s.args.length !== want) {
      fail(`${text}: ${s.fn}() takes ${want} argument(s), got ${s.args.length}`, text);
    }
    const types = s.args.map((a) => this.#expr(a, env, pt));
    const v = types[0];
    if (v && !isInt(v) && v.kind !== "none") {
      fail(`${text}: ${s.fn}() needs an integer, ${exprText(s.args[0])} is ${typeText(v)}`, text);
    }
    let linear: LinearBounds | undefined;
    if (s.fn === "lhist") {
      const n = s.args.slice(1).map((a) => {
        if (a.op !== "int") {
          fail(`${text}: lhist()'s min, max and step must be integer literals`, text);
        }
        return Number(a.value);
      });
      linear = { min: n[0], max: n[1], step: n[2] };
      if (!(linear.step > 0 && linear.max > linear.min)) {
        fail(`${text}: lhist() needs min < max and step > 0`, text);
      }
      if (Math.ceil((linear.max - linear.min) / linear.step) > 1000) {
        fail(`${text}: lhist() has more than 1000 buckets`, text);
      }
    }
    const m = this.#map(s.map);
    const signed = v?.kind === "int" && v.signed;
    if (m.value) {
      fail(
        `map ${s.map}: ${text} makes it a ${s.fn}() aggregation, but ${m.valueBy} assigned it ` +
          `${typeText(m.value)}`,
        text,
      );
    }
    if (!m.agg) {
      m.agg = { fn: s.fn, signed, linear };
      m.valueBy = text;
    } else if (m.agg.fn !== s.fn) {
      fail(
        `map ${s.map}: ${text} is a ${s.fn}() aggregation, but ${m.valueBy} made it ${m.agg.fn}()`,
        text,
      );
    } else if (
      linear && m.agg.linear &&
      (linear.min !== m.agg.linear.min || linear.max !== m.agg.linear.max ||
        linear.step !== m.agg.linear.step)
    ) {
      fail(`map ${s.map}: ${text} has other lhist() bounds than ${m.valueBy}`, text);
    } else if (signed) m.agg.signed = true;
  }

  /**
   * The type of `e` as a map keeps it. A `char *` field of a tracepoint
   * (`args.filename`) is kept as the pointer, as bpftrace keeps it: `str()`
   * reads the string where the map is read (at sys_exit, once the kernel has
   * faulted the page in), not where the field is.
   */
  #stored(e: IrExpr, env: PointEnv, pt: ProgramTypes): IrType {
    const t = this.#expr(e, env, pt);
    const acc = pt.access.get(e);
    if (acc?.type !== "str" || acc.src.from !== "mem" || acc.src.ptr.src.from !== "ctx") return t;
    const ptr: IrType = {
      kind: "ptr",
      space: acc.src.space,
      to: { kind: "int", size: 1, signed: true },
    };
    pt.access.set(e, acc.src.ptr);
    pt.types.set(e, ptr);
    return ptr;
  }

  #expr(e: IrExpr, env: PointEnv, pt: ProgramTypes): IrType {
    const t = this.#type(e, env, pt);
    pt.types.set(e, t);
    return t;
  }

  #resolve(e: IrExpr, path: string, env: PointEnv, pt: ProgramTypes): IrType {
    if (!env.schema) {
      fail(`${exprText(e)}: ${env.name} has no arguments`, exprText(e));
    }
    const acc = env.schema.resolve(path, this.strlen);
    pt.access.set(e, acc);
    return typeOfAccess(acc);
  }

  #type(e: IrExpr, env: PointEnv, pt: ProgramTypes): IrType {
    const text = () => exprText(e);
    switch (e.op) {
      case "int":
        return S64; // bpftrace's integer literals are int64
      case "str":
        return {
          kind: "str",
          len: Math.ceil((new TextEncoder().encode(e.value).length + 1) / 8) * 8,
        };
      case "builtin":
        switch (e.name) {
          case "nsecs":
          case "elapsed":
          case "cgroup":
            return U64;
          case "pid":
          case "tid":
          case "uid":
          case "gid":
          case "cpu":
          case "rand":
            return U32;
          case "comm":
            return { kind: "str", len: 16 };
          case "curtask":
            return { kind: "ptr", space: "kernel", to: { name: "struct task_struct" } };
          case "numaid":
            return U64;
          case "username":
            return { kind: "username" };
          case "ctx": {
            const name = CTX_RECORDS[env.kind];
            if (!name) fail(`${text()}: ${env.name} has no context record to read`, text());
            return { kind: "ptr", space: "kernel", to: { name } };
          }
          case "kstack":
          case "ustack":
            return { kind: "stack", user: e.name === "ustack" };
          case "probe":
            return {
              kind: "str",
              len: Math.max(this.#nameLen, Math.ceil((env.name.length + 1) / 8) * 8),
            };
          case "func":
            if (!env.func) {
              fail(`func exists at uprobes and kprobes, not at ${env.name}`, text());
            }
            return {
              kind: "str",
              len: Math.max(this.#funcLen, Math.ceil((env.func.length + 1) / 8) * 8),
            };
          case "retval":
            return this.#resolve(e, "retval", env, pt);
          case "args":
            fail(`${text()}: read a field of args (args.<name>)`, text());
        }
        break;
      case "arg":
        return this.#resolve(e, `arg${e.index}`, env, pt);
      case "deref":
        return this.#deref(e, env, pt, text());
      case "field":
      case "index": {
        if (e.op === "index" && ["call", "var", "map_get"].includes(e.base.op)) {
          // pton("…")[i], $a[i]: an element of an array the program holds
          const t = this.#expr(e.base, env, pt);
          if (t.kind === "array") {
            // bpftrace's messages
            if (e.index.op !== "int") {
              fail(
                `${text()}: The array index operator [] only accepts literal integer indices.`,
                text(),
              );
            }
            const i = e.index.value;
            if (i < 0n || i >= BigInt(t.len)) {
              fail(`${text()}: the index ${i} is out of bounds for array of size ${t.len}`, text());
            }
            return t.elem;
          }
        }
        const elem = e.op === "index" ? this.#element(e, env, pt, text()) : undefined;
        if (elem) return elem;
        const path = argsPath(e);
        const member = path && env.fieldType ? /^args\.([A-Za-z_]\w*)([.[].*)$/.exec(path) : null;
        if (member) return this.#fieldMember(e, member[1], member[2], env, pt);
        if (path !== undefined) return this.#field(e, path, env, pt);
        return this.#through(e, env, pt, text());
      }
      case "var": {
        const t = pt.locals.get(localName(e.name));
        if (!t) fail(`${text()}: $${localName(e.name)} is used before it is assigned`, text());
        return t;
      }
      case "map_get":
      case "map_has": {
        this.#key(e.map, e.key, env, pt, text());
        if (e.op === "map_has") return U64;
        const m = this.maps.get(e.map)!;
        if (m.agg) {
          if (m.agg.fn === "hist" || m.agg.fn === "lhist" || m.agg.fn === "stats") {
            fail(
              `${text()}: ${e.map} is a ${m.agg.fn}() aggregation; it can only be printed`,
              text(),
            );
          }
          fail(
            `${text()}: ${e.map} is a ${m.agg.fn}() aggregation (per-CPU); it cannot be read ` +
              "in an expression, only printed",
            text(),
          );
        }
        if (m.value) return m.value;
        if (this.#strict) fail(`${text()}: map ${e.map} is read but never assigned`, text());
        return UNKNOWN;
      }
      case "unary": {
        const t = this.#expr(e.arg, env, pt);
        this.#needInt(e.arg, t, text());
        return e.operator === "!"
          ? U64
          : e.operator === "-"
          ? S64
          : t.kind === "int"
          ? { ...t, size: 8 }
          : U64;
      }
      case "binary":
        return this.#binary(e, env, pt, text());
      case "ternary": {
        const c = this.#expr(e.cond, env, pt);
        this.#needInt(e.cond, c, text());
        const a = this.#expr(e.then, env, pt);
        const b = this.#expr(e.else, env, pt);
        if (!compatible(a, b)) {
          fail(
            `${text()}: the branches differ: ${exprText(e.then)} is ${typeText(a)}, ` +
              `${exprText(e.else)} is ${typeText(b)}`,
            text(),
          );
        }
        if (a.kind === "str" && b.kind === "str") {
          return { kind: "str", len: Math.max(a.len, b.len) };
        }
        if (a.kind === "int" && b.kind === "int") {
          return { kind: "int", size: 8, signed: a.signed || b.signed };
        }
        return a.kind === "none" ? b : a;
      }
      case "call":
        return this.#call(e, env, pt, text());
      case "cast": {
        // (uint8 *)args->filename: a char * field is its pointer here
        const t = this.#stored(e.arg, env, pt);
        const record = /^((?:struct|union)\s+[A-Za-z_][A-Za-z0-9_]*)\s*\*$/.exec(e.type.trim());
        // A pointer read from memory (curtask->files->fdt->fd) points into that
        // memory, as in bpftrace; else the probe's (user memory at syscalls).
        const acc = pt.access.get(e.arg);
        const space = t.kind === "ptr"
          ? t.space
          : acc?.type === "int" && acc.src.from === "mem"
          ? acc.src.space
          : env.user
          ? "user"
          : "kernel";
        if (record) {
          this.#needInt(e.arg, t, text());
          return { kind: "ptr", space, to: { name: record[1] } };
        }
        const pointee = /^(.+?)\s*\*$/.exec(e.type.trim());
        const to = pointee ? castType(pointee[1]) : undefined;
        if (to) {
          this.#needInt(e.arg, t, text());
          return { kind: "ptr", space, to };
        }
        const c = castType(e.type);
        if (!c) {
          fail(`${text()}: cannot cast to ${e.type} (integer types: u8…u64, s8…s64, int…)`, text());
        }
        this.#needInt(e.arg, t, text());
        return c;
      }
      case "tuple": {
        const elems = e.elems.map((x) => this.#expr(x, env, pt));
        const record = elems.find((t) => t.kind === "record");
        if (record) fail(`${text()}: a tuple cannot hold ${typeText(record)}`, text());
        return { kind: "tuple", elems };
      }
    }
  }

  /**
   * `args.a.b`; a tracepoint field that points to a kernel struct
   * (`args.rqtp`, `struct __kernel_timespec *`) is typed as that pointer, in
   * the probe's memory (user memory at syscalls), so a local holding it
   * reads its members as `args.rqtp->tv_sec` does.
   */
  #field(e: IrExpr, path: string, env: PointEnv, pt: ProgramTypes): IrType {
    const t = this.#resolve(e, path, env, pt);
    const name = /^args\.(\w+)$/.exec(path)?.[1];
    const ctype = name && env.fieldType?.(name)?.trim();
    const record = ctype && /^(?:const\s+)?((?:struct|union)\s+\w+)\s*\*$/.exec(ctype);
    if (!record || t.kind !== "int" || t.size !== 8) return t;
    return { kind: "ptr", space: env.user ? "user" : "kernel", to: { name: record[1] } };
  }

  /**
   * `args.f->a.b` at a tracepoint whose field `f` is a pointer to a kernel
   * struct: the rest read through kernel BTF, in user memory at syscalls.
   */
  #fieldMember(
    e: IrExpr,
    name: string,
    rest: string,
    env: PointEnv,
    pt: ProgramTypes,
  ): IrType {
    const text = exprText(e);
    const ctype = env.fieldType!(name);
    const record = ctype && /^(?:const\s+)?((?:struct|union)\s+\w+)\s*\*$/.exec(ctype.trim());
    if (!record) {
      // Not a struct pointer: the schema says what can be read of it.
      return this.#resolve(e, argsPath(e)!, env, pt);
    }
    let root = this.#roots.get(e);
    if (!root) {
      this.#roots.set(e, root = { op: "field", base: { op: "builtin", name: "args" }, name });
    }
    this.#expr(root, env, pt);
    const acc = resolveKernelPath(record[1], rest, {
      slot: POINTER_SLOT,
      strlen: this.strlen,
      expr: text,
    });
    const read = env.user ? inSpace(acc, "user") : acc;
    pt.access.set(e, read);
    pt.roots.set(e, root);
    return typeOfAccess(read);
  }

  /** `p->a.b[2]` where `p` is a pointer to a kernel struct (curtask, a cast): read through BTF. */
  #through(e: IrExpr, env: PointEnv, pt: ProgramTypes, text: string): IrType {
    let path = "";
    let root = e;
    while (root.op === "field" || root.op === "index") {
      if (root.op === "field") path = `.${root.name}${path}`;
      else if (root.index.op === "int") path = `[${root.index.value}]${path}`;
      else fail(`${text}: an index into kernel memory must be an integer literal`, text);
      root = root.base;
    }
    const held = this.#expr(root, env, pt);
    if (held.kind === "none") return UNKNOWN;
    // a struct value (`$x = *$p`) is held as its place: read like a pointer to it
    const t: IrType = held.kind === "record"
      ? { kind: "ptr", space: held.space ?? "kernel", to: held.ref }
      : held;
    const elem = /^\[(\d+)\]$/.exec(path);
    if (t.kind === "ptr" && "kind" in t.to && t.to.kind === "int" && elem) {
      // *(T *)p, p[i]: an integer of T's size in the pointer's memory.
      const size = t.to.size;
      const acc: Access = {
        type: "int",
        src: {
          from: "mem",
          space: t.space,
          ptr: SLOT_POINTER,
          offset: Number(elem[1]) * size,
          load: size,
        },
        size,
        signed: t.to.signed,
      };
      pt.access.set(e, acc);
      pt.roots.set(e, root);
      return t.to;
    }
    if (t.kind !== "ptr" || !("name" in t.to)) {
      fail(
        `${text}: ${exprText(root)} is ${typeText(t)}; fields can be read from args, curtask ` +
          "and casts to kernel struct pointers ((struct task_struct *)arg0)",
        text,
      );
    }
    // A struct the script declares wins over the kernel's of the same name, as in bpftrace.
    const slot = { slot: POINTER_SLOT, strlen: this.strlen, expr: text };
    // A kernel struct in user memory (a syscall's struct __kernel_timespec *) is read from there.
    const acc = this.#structs.has(t.to.name)
      ? this.#structs.read(t.to.name, path, { ...slot, space: t.space })
      : inSpace(resolveKernelPath(t.to.name, path, slot), t.space);
    pt.access.set(e, acc);
    pt.roots.set(e, root);
    return typeOfAccess(acc);
  }

  /**
   * `*p`: the integer (or pointer) a typed pointer points to, in its memory;
   * for an integer address (`*kaddr("avenrun")`, `*($p + 8)`), as bpftrace
   * does, an integer of the address's own size, read from kernel memory
   * (user memory at syscalls and uprobes), typed uint64.
   */
  #deref(e: IrExpr & { op: "deref" }, env: PointEnv, pt: ProgramTypes, text: string): IrType {
    const t = this.#stored(e.arg, env, pt);
    if (t.kind === "none") return UNKNOWN;
    let read: { size: number; signed: boolean; space: "kernel" | "user"; type: IrType };
    if (t.kind === "ptr" && "kind" in t.to && (t.to.kind === "int" || t.to.kind === "ptr")) {
      const to = t.to;
      read = to.kind === "int"
        ? { size: to.size, signed: to.signed, space: t.space, type: to }
        : { size: 8, signed: false, space: t.space, type: to };
    } else if (t.kind === "ptr" && "name" in t.to) {
      // *$p: the struct value, held as its place (members are read from there, as bpftrace does)
      pt.access.set(e, { ...SLOT_POINTER });
      pt.roots.set(e, e.arg);
      return { kind: "record", ref: t.to, space: t.space };
    } else if (t.kind === "ptr") {
      fail(
        `${text}: can not dereference ${typeText(t)}: read one of its members (${
          exprText(e.arg)
        }->member)`,
        text,
      );
    } else if (t.kind === "int") {
      read = { size: t.size, signed: t.signed, space: env.user ? "user" : "kernel", type: U64 };
    } else {
      fail(`${text}: the * operator can not be used on ${typeText(t)}`, text);
    }
    return this.#readAt(e, e.arg, read, pt);
  }

  /**
   * The pointee of `e` (of type `t`) when it is a typed pointer to an
   * integer or a pointer: a cast, a pointer local, or a tracepoint field
   * declared as one (`args->argv`, `const char *const *`).
   */
  #pointee(e: IrExpr, t: IrType, env: PointEnv): { size: number; type: IrType } | undefined {
    if (t.kind === "ptr") {
      if (!("kind" in t.to)) return undefined;
      if (t.to.kind === "int") return { size: t.to.size, type: t };
      return t.to.kind === "ptr" ? { size: 8, type: t } : undefined;
    }
    const field = argsPath(e)?.match(/^args\.(\w+)$/)?.[1];
    const ctype = field && env.fieldType?.(field)?.trim();
    const pointee = ctype && /^(.*?)\s*\*$/.exec(ctype)?.[1].replace(/\s*\bconst$/, "");
    if (!pointee || /^(?:const\s+)?(?:struct|union)\b/.test(pointee)) return undefined;
    const space = env.user ? "user" : "kernel";
    const char: IrType = { kind: "int", size: 1, signed: true };
    const to: IrType | undefined = pointee.endsWith("*")
      ? { kind: "ptr", space, to: char }
      : castType(pointee.replace(/^(const|volatile)\s+/, ""));
    if (to?.kind !== "int" && to?.kind !== "ptr") return undefined;
    return { size: to.kind === "int" ? to.size : 8, type: { kind: "ptr", space, to } };
  }

  /** Reads `what` at the address `addr` evaluates to (kept at POINTER_SLOT) for `e`. */
  #readAt(
    e: IrExpr,
    addr: IrExpr,
    what: { size: number; signed: boolean; space: "kernel" | "user"; type: IrType },
    pt: ProgramTypes,
  ): IrType {
    const ptr = SLOT_POINTER;
    pt.access.set(e, {
      type: "int",
      src: { from: "mem", space: what.space, ptr, offset: 0, load: what.size as 1 },
      size: what.size,
      signed: what.signed,
    });
    pt.roots.set(e, addr);
    return what.type;
  }

  /**
   * `p[i]` where `p` is a typed pointer to integers or pointers (a cast, a
   * pointer local, a tracepoint field such as `args.argv`) and `i` any
   * integer expression: the element at `p + i`. Undefined when `e` is
   * another kind of index (a literal index into an args array or a kernel
   * struct's array member: resolved by path).
   */
  #element(
    e: IrExpr & { op: "index" },
    env: PointEnv,
    pt: ProgramTypes,
    text: string,
  ): IrType | undefined {
    const field = /^args\.\w+$/.test(argsPath(e.base) ?? "")
      ? this.#pointee(e.base, UNKNOWN, env)
      : undefined;
    if (!field && e.index.op === "int") return undefined;
    // args->filename[i]: a char * field is its pointer here
    const t = this.#stored(e.base, env, pt);
    if (t.kind === "none") return UNKNOWN;
    const p = this.#pointee(e.base, t, env) ?? field;
    if (p?.type.kind !== "ptr" || !("kind" in p.type.to)) {
      fail(
        `${text}: ${exprText(e.base)} is ${typeText(t)}; an index that is not a literal ` +
          "needs a pointer to integers or pointers (a cast such as (uint64 *)p, or a field like args.argv)",
        text,
      );
    }
    const to = p.type.to;
    const signed = to.kind === "int" && to.signed;
    const elem = { size: p.size, signed, space: p.type.space, type: to };
    this.#needInt(e.index, this.#expr(e.index, env, pt), text);
    let addr = this.#addrs.get(e);
    if (!addr) {
      // p + i, scaled by the element's size as pointer arithmetic is
      addr = { op: "binary", operator: "+", left: e.base, right: e.index, span: { text } };
      this.#addrs.set(e, addr);
    }
    this.#expr(addr, env, pt);
    return this.#readAt(e, addr, elem, pt);
  }

  /**
   * `uaddr("name")` at a uprobe or USDT probe: the address of a data symbol
   * (STT_OBJECT) of the probed binary, as its symbol table gives it (as
   * bpftrace 0.17 does: no load bias), typed a user pointer to an integer
   * of the symbol's size (1, 2 or 4 bytes, else 8).
   */
  #uaddr(e: IrExpr & { op: "call" }, env: PointEnv, pt: ProgramTypes, text: string): IrType {
    const name = e.args[0]?.op === "str" && e.args.length === 1 ? e.args[0].value : undefined;
    if (name === undefined) fail(`${text}: uaddr() takes a symbol name (a string)`, text);
    if (!/^[a-zA-Z0-9./_-]+$/.test(name)) {
      fail(`${text}: uaddr() expects a string that is a valid symbol ("${name}" provided)`, text);
    }
    const path = env.schema?.path;
    if (!["uprobe", "uretprobe", "usdt"].includes(env.kind) || !path) {
      fail(`${text}: uaddr() can only be used with uprobes and USDT probes, not ${env.name}`, text);
    }
    const sym = dataSymbol(path, name);
    if (!sym) fail(`${text}: Could not resolve symbol: ${path}:${name}`, text);
    const size = [1, 2, 4].includes(Number(sym.size)) ? Number(sym.size) as 1 : 8;
    pt.access.set(e, {
      type: "int",
      src: { from: "const", value: sym.value },
      size: 8,
      signed: false,
    });
    return { kind: "ptr", space: "user", to: { kind: "int", size, signed: true } };
  }

  #needInt(e: IrExpr, t: IrType, text: string): void {
    if (!isInt(t) && t.kind !== "none") {
      fail(`${text}: ${exprText(e)} is ${typeText(t)}, not an integer`, text);
    }
  }

  /** Bytes of the struct or union `name` (`"struct task_struct"`): the script's, else the kernel's. */
  #recordSize(name: string, text: string): number {
    if (this.#structs.has(name)) return this.#structs.layout(name, text).size;
    const rec = /^(struct|union) (\w+)$/.exec(name);
    const spec = loadKernelSpec();
    const id = rec ? spec.typeIdByName(rec[2], rec[1] as "struct") : undefined;
    if (id === undefined) fail(`${text}: no ${name} in the script or kernel BTF`, text);
    return spec.sizeOf(id);
  }

  /**
   * `p + i`, `i + p`, `p - i` on a struct pointer: a pointer of the same type,
   * `i` scaled by the struct's size, as bpftrace does; two pointers are
   * bpftrace's error.
   */
  #recordArith(
    e: IrExpr & { op: "binary" },
    l: IrType,
    r: IrType,
    pt: ProgramTypes,
    text: string,
  ): IrType {
    const p = recordPointer(l) ? l : r;
    const other = p === l ? r : l;
    if (other.kind === "none") return UNKNOWN;
    if (other.kind !== "int" || (p === r && e.operator === "-")) {
      fail(
        `${text}: The ${e.operator} operator can not be used on expressions of types ` +
          `${typeText(l)}, ${typeText(r)}`,
        text,
      );
    }
    const to = (p as IrType & { kind: "ptr" }).to as { name: string };
    pt.scale.set(e, { side: p === l ? "right" : "left", size: this.#recordSize(to.name, text) });
    return p;
  }

  #binary(e: IrExpr & { op: "binary" }, env: PointEnv, pt: ProgramTypes, text: string): IrType {
    // Pointer arithmetic: a char * field (args->filename + 1) is its pointer.
    const arith = e.operator === "+" || e.operator === "-";
    const l = arith ? this.#stored(e.left, env, pt) : this.#expr(e.left, env, pt);
    const r = arith ? this.#stored(e.right, env, pt) : this.#expr(e.right, env, pt);
    if (arith && (recordPointer(l) || recordPointer(r))) {
      return this.#recordArith(e, l, r, pt, text);
    }
    if (arith) {
      const lp = this.#pointee(e.left, l, env);
      const rp = e.operator === "+" ? this.#pointee(e.right, r, env) : undefined;
      if (lp && !rp && r.kind === "int") {
        pt.scale.set(e, { side: "right", size: lp.size });
        return lp.type;
      }
      if (rp && !lp && l.kind === "int") {
        pt.scale.set(e, { side: "left", size: rp.size });
        return rp.type;
      }
    }
    const whole = (t: IrType) => t.kind === "str" || t.kind === "array";
    if ((e.operator === "==" || e.operator === "!=") && (whole(l) || whole(r))) {
      if (l.kind === "array" && r.kind === "array" && !compatible(l, r)) {
        fail(`${text}: Only arrays of same size support comparison operators.`, text);
      }
      if (!compatible(l, r)) {
        fail(`${text}: cannot compare ${typeText(l)} with ${typeText(r)}`, text);
      }
      return S64;
    }
    if ((!isInt(l) && l.kind !== "none") || (!isInt(r) && r.kind !== "none")) {
      fail(
        `${text}: ${e.operator} needs integers, ${exprText(e.left)} is ${typeText(l)} and ` +
          `${exprText(e.right)} is ${typeText(r)}`,
        text,
      );
    }
    // As bpftrace: signed only when both sides are (a mixed comparison is unsigned).
    const signed = l.kind === "int" && l.signed && r.kind === "int" && r.signed;
    // Comparisons and && || are int64 in bpftrace (`!` is unsigned).
    if (/^(==|!=|<|<=|>|>=|&&|\|\|)$/.test(e.operator)) return S64;
    return signed ? S64 : U64;
  }

  #call(e: IrExpr & { op: "call" }, env: PointEnv, pt: ProgramTypes, text: string): IrType {
    const types = e.args.map((a) => this.#expr(a, env, pt));
    switch (e.fn) {
      case "str": {
        if (types.length < 1 || types.length > 2) {
          fail(`${text}: str() takes 1 or 2 arguments`, text);
        }
        // str(p, n): up to n characters (and the NUL), within strlen.
        const first = types[0];
        if (first.kind !== "str") this.#needInt(e.args[0], first, text);
        let len = first.kind === "str" ? first.len : this.strlen;
        if (e.args[1]) {
          if (e.args[1].op !== "int" || e.args[1].value <= 0n) {
            fail(`${text}: str()'s length must be a positive integer literal`, text);
          }
          len = Math.min(len, Math.ceil((Number(e.args[1].value) + 1) / 8) * 8);
        }
        return { kind: "str", len: Math.max(8, len) };
      }
      case "ksym":
      case "usym":
        this.#needInt(e.args[0], types[0] ?? UNKNOWN, text);
        return e.fn === "ksym" ? { kind: "ksym" } : { kind: "usym" };
      case "sizeof": {
        // A constant: of a type named by a string (an integer, a pointer, a script-declared or
        // kernel struct), or of an expression's type.
        const arg = e.args[0];
        if (!arg || e.args.length !== 1) {
          fail(`${text}: sizeof() takes a type or an expression`, text);
        }
        let size: number;
        if (arg.op === "str") {
          const name = arg.value.trim().replace(/\s+/g, " ");
          const int = castType(name);
          const rec = /^(struct|union) (\w+)$/.exec(name);
          if (int?.kind === "int") size = int.size;
          else if (name.endsWith("*")) size = 8;
          else if (rec) size = this.#recordSize(name, text);
          else fail(`${text}: unknown type ${name}`, text);
        } else {
          const t = types[0];
          size = t.kind === "int"
            ? t.size
            : t.kind === "str"
            ? t.len
            : t.kind === "array"
            ? sizeOfArray(t)
            : sizeOfType(t);
        }
        pt.access.set(e, {
          type: "int",
          src: { from: "const", value: BigInt(size) },
          size: 8,
          signed: false,
        });
        return U64;
      }
      case "kaddr":
        if (e.args[0]?.op !== "str") fail(`${text}: kaddr() takes a symbol name (a string)`, text);
        return U64;
      case "uaddr":
        return this.#uaddr(e, env, pt, text);
      case "macaddr": {
        // an array of 6 bytes, or an integer or pointer holding their address
        const t = types[0];
        if (e.args.length !== 1) fail(`${text}: macaddr() takes one argument`, text);
        if (e.args[0].op === "str") {
          fail(`${text}: macaddr() does not support literal string arguments`, text);
        }
        if (t.kind === "str" && t.len !== 8) {
          fail(`${text}: macaddr() argument must be 6 bytes in size`, text);
        }
        if (!isInt(t) && t.kind !== "str" && t.kind !== "none") {
          fail(
            `${text}: macaddr() only supports array or pointer arguments (${typeText(t)} provided)`,
            text,
          );
        }
        return { kind: "mac" };
      }
      case "pton": {
        // bpftrace 0.17: a string literal, converted here (its messages)
        if (e.args.length !== 1) {
          fail(`${text}: pton() requires one argument (${e.args.length} provided)`, text);
        }
        const arg = e.args[0];
        if (arg.op !== "str") {
          fail(`${text}: pton() expects a string literal, got ${typeText(types[0])}`, text);
        }
        const bytes = parseInet(arg.value);
        if (bytes === null) {
          fail(
            `${text}: pton() expects an string argument of an IPv4/IPv6 address, got ${arg.value}`,
            text,
          );
        }
        if (!bytes) {
          fail(`${text}: pton() expects a valid IPv4/IPv6 address, got ${arg.value}`, text);
        }
        return { kind: "array", elem: U8, len: bytes.length };
      }
      case "strftime":
        if (e.args.length !== 2 || e.args[0].op !== "str") {
          fail(`${text}: strftime() takes a format (a string literal) and nanoseconds`, text);
        }
        this.#needInt(e.args[1], types[1], text);
        return { kind: "timestamp", format: e.args[0].value };
      case "cgroupid":
        if (e.args[0]?.op !== "str" || e.args.length !== 1) {
          fail(`${text}: cgroupid() takes the path of a cgroup v2 directory (a string)`, text);
        }
        return U64;
      case "bswap": {
        // bpftrace: the argument's bytes reversed within its size, unsigned of that size.
        const t = types[0];
        if (types.length !== 1 || (t.kind !== "int" && t.kind !== "none")) {
          fail(
            `${text}: bswap() only supports integer arguments (${typeText(t ?? UNKNOWN)})`,
            text,
          );
        }
        return t.kind === "int" ? { kind: "int", size: t.size, signed: false } : U64;
      }
      case "ntop": {
        // ntop(addr) or ntop(af, addr): addr an integer (IPv4) or 4 or 16 bytes (IPv4, IPv6).
        if (types.length < 1 || types.length > 2) {
          fail(`${text}: ntop() takes 1 or 2 arguments`, text);
        }
        if (types.length === 2) this.#needInt(e.args[0], types[0], text);
        const a = types[types.length - 1];
        const last = e.args[e.args.length - 1];
        const literal = last.op === "str" ? new TextEncoder().encode(last.value).length + 1 : 0;
        if (
          (a.kind === "str" && a.len !== 8 && a.len !== 16) ||
          (a.kind === "array" && sizeOfArray(a) !== 4 && sizeOfArray(a) !== 16) ||
          (literal && literal !== 4 && literal !== 16)
        ) {
          fail(`${text}: ntop() argument must be 4 or 16 bytes in size`, text);
        }
        if (!isInt(a) && a.kind !== "str" && a.kind !== "array" && a.kind !== "none") {
          fail(`${text}: ntop() expects an integer or array argument, got ${typeText(a)}`, text);
        }
        return { kind: "inet" };
      }
      case "reg": {
        if (e.args[0]?.op !== "str") fail(`${text}: reg() takes a register name (a string)`, text);
        if (!REGS_KINDS.has(env.kind)) {
          fail(
            `${text}: reg() reads the registers of kprobes, uprobes, USDT and profile, not ${env.name}`,
            text,
          );
        }
        if (!(e.args[0].value in PT_REGS)) {
          fail(
            `${text}: unknown register ${e.args[0].value} (${Object.keys(PT_REGS).join(", ")})`,
            text,
          );
        }
        return U64;
      }
      case "strncmp": {
        const [a, b] = types;
        if (a?.kind !== "str" || b?.kind !== "str" || e.args[2]?.op !== "int") {
          fail(`${text}: strncmp() compares two strings over n bytes (an integer literal)`, text);
        }
        return U64;
      }
      case "kstack":
      case "ustack": {
        // kstack([mode,] [frames]): mode "perf" or "bpftrace" (how frames print), frames a limit.
        const frames = e.args.find((a) => a.op === "int");
        const mode = e.args.find((a) => a.op === "str");
        if (mode?.op === "str" && mode.value !== "perf" && mode.value !== "bpftrace") {
          fail(`${text}: invalid stack mode ${mode.value} (perf or bpftrace)`, text);
        }
        return {
          kind: "stack",
          user: e.fn === "ustack",
          ...(frames?.op === "int" ? { frames: Number(frames.value) } : {}),
          ...(mode?.op === "str" ? { mode: mode.value as "perf" } : {}),
        };
      }
      case "uptr":
      case "kptr":
        if (types.length !== 1) fail(`${text}: ${e.fn}() takes one pointer`, text);
        this.#needInt(e.args[0], types[0], text);
        return {
          kind: "ptr",
          space: e.fn === "uptr" ? "user" : "kernel",
          to: { kind: "int", size: 1, signed: false },
        };
      case "buf": {
        // buf(p, n): up to strlen bytes; n may be any integer (clamped when it runs).
        if (types.length !== 2 || (e.args[1].op === "int" && e.args[1].value <= 0n)) {
          fail(`${text}: buf() takes a pointer and a length`, text);
        }
        // A char * or char array member (read as a string elsewhere) gives its address, as in
        // bpftrace's buf($skb->data, $skb->len).
        const acc = pt.access.get(e.args[0]);
        if (acc?.type !== "str" || acc.src.from !== "mem") this.#needInt(e.args[0], types[0], text);
        this.#needInt(e.args[1], types[1], text);
        const n = e.args[1].op === "int" ? Number(e.args[1].value) : this.strlen;
        return { kind: "buf", len: Math.min(this.strlen, n) };
      }
      default:
        fail(`${text}: ${e.fn}() is not supported yet by the probe back end`, text);
    }
  }
}

/** A defined data symbol (STT_OBJECT) of the ELF file at `path`: `.symtab`, then `.dynsym`. */
function dataSymbol(path: string, name: string): { value: bigint; size: bigint } | undefined {
  const elf = readElfFile(path);
  for (const table of [() => elf.symbols(), () => elf.dynamicSymbols()]) {
    const hit = table().find((s) =>
      s.name === name && s.type === SymbolType.OBJECT && s.value !== 0n
    );
    if (hit) return hit;
  }
  return undefined;
}

/** What `ctx` points to, by point kind (bpftrace 0.17's). */
const CTX_RECORDS: Partial<Record<IrPointKind, string>> = {
  kprobe: "struct pt_regs",
  kretprobe: "struct pt_regs",
  uprobe: "struct pt_regs",
  uretprobe: "struct pt_regs",
  usdt: "struct pt_regs",
  profile: "struct bpf_perf_event_data",
  interval: "struct bpf_perf_event_data",
};

/** Point kinds whose context is a `struct pt_regs` (perf_event data starts with one). */
const REGS_KINDS = new Set(["kprobe", "kretprobe", "uprobe", "uretprobe", "usdt", "profile"]);

/** Offsets of the registers in x86-64's `struct pt_regs`. */
export const PT_REGS: Readonly<Record<string, number>> = {
  r15: 0,
  r14: 8,
  r13: 16,
  r12: 24,
  bp: 32,
  bx: 40,
  r11: 48,
  r10: 56,
  r9: 64,
  r8: 72,
  ax: 80,
  cx: 88,
  dx: 96,
  si: 104,
  di: 112,
  orig_ax: 120,
  ip: 128,
  cs: 136,
  flags: 144,
  sp: 152,
  ss: 160,
};

/** The type of what an access reads. */
function typeOfAccess(acc: Access): IrType {
  if (acc.type === "int" && acc.record) {
    // a struct pointer read from memory points into that memory's space
    const space = acc.src.from === "mem" || acc.src.from === "addr" ? acc.src.space : "kernel";
    if (acc.src.from === "addr") return { kind: "record", ref: { name: acc.record }, space };
    return { kind: "ptr", space, to: { name: acc.record } };
  }
  if (acc.type === "int") return { kind: "int", size: acc.size as 1, signed: acc.signed };
  if (acc.type === "str") return { kind: "str", len: acc.len };
  return { kind: "stack", user: acc.user };
}

/** The access with every memory read in `space` (user memory behind a syscall's pointer). */
function inSpace(acc: Access, space: "user" | "kernel"): Access {
  if (acc.type === "stack" || (acc.src.from !== "mem" && acc.src.from !== "addr")) return acc;
  const src = { ...acc.src, space, ptr: inSpace(acc.src.ptr, space) as IntAccess };
  return { ...acc, src } as Access;
}

/** `args.a.b[2]` as the path `Schema.resolve` reads, or undefined when the root is not `args`. */
export function argsPath(e: IrExpr): string | undefined {
  if (e.op === "builtin" && e.name === "args") return "args";
  if (e.op === "field") {
    const b = argsPath(e.base);
    return b === undefined ? undefined : `${b}.${e.name}`;
  }
  if (e.op === "index" && e.index.op === "int") {
    const b = argsPath(e.base);
    return b === undefined ? undefined : `${b}[${e.index.value}]`;
  }
  return undefined;
}

/** Checks the whole script: each probe at each of its points, twice (see {@linkcode ScriptChecker}). */
export function checkScript(
  ir: ScriptIr,
  programs: readonly { probe: IrProbe; env: PointEnv }[],
): { checker: ScriptChecker; types: ProgramTypes[] } {
  const checker = new ScriptChecker(ir);
  checker.sizeNames(programs.map((p) => p.env));
  for (const p of programs) checker.checkProgram(p.probe, p.env);
  checker.strict();
  const types = programs.map((p) => checker.checkProgram(p.probe, p.env));
  for (const m of checker.maps.values()) {
    if (!m.agg && !m.value) {
      throw new ProbeCompileError(
        `map ${m.name} is used but never assigned (no ${m.name} = … or aggregation)`,
        { expression: m.name },
      );
    }
    m.key ??= { kind: "none" };
  }
  return { checker, types };
}
