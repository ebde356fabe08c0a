// How a probe reads each expression at its probe point: the point's
// "schema" (program type, attach details, argument table) and the
// resolution of builtins and `args.<path>` expressions to accesses the code
// generator knows how to emit.

import { loadKernelSpec } from "../btf/kernel.ts";
import type { Spec } from "../btf/spec.ts";
import type { BtfType, Member } from "../btf/types.ts";
import { InvalidArgumentError, NotSupportedError } from "../errors.ts";
import type { TracefsOptions } from "../tracefs/mount.ts";
import { resolveBinaryPath } from "../uprobe/resolve.ts";
import { readUsdtProbes, type UsdtArgument } from "../uprobe/usdt.ts";
import { ProbeCompileError, ProbeNotFoundError } from "./errors.ts";
import { closeMatches, readTracepointFormat, type TracepointField } from "./format.ts";
import type { ProbePoint } from "./points.ts";

/** Load widths of BPF loads. */
export type LoadSize = 1 | 2 | 4 | 8;

/** Where an integer comes from. */
export type IntSrc =
  | { from: "ctx"; offset: number; load: LoadSize }
  | { from: "builtin"; name: "pid" | "tid" | "uid" | "gid" | "cpu" | "nsecs" }
  | { from: "mem"; space: Space; ptr: IntAccess; offset: number; load: LoadSize }
  | { from: "const"; value: bigint }
  | { from: "slot"; offset: number }
  // the address ptr + offset: a struct member held by value (`curtask->thread`), kept as its place
  | { from: "addr"; space: Space; ptr: IntAccess; offset: number };

/** Kernel or user memory. (`slot`: a value the program stored at fp+offset, e.g. a pointer.) */
export type Space = "kernel" | "user";

/** An integer: loaded, then truncated or sign-extended to `size` bytes. */
export interface IntAccess {
  type: "int";
  src: IntSrc;
  size: number;
  signed: boolean;
  /**
   * For a pointer to a kernel struct or union (`curtask->parent`, a tp_btf
   * argument), or the place of one (`addr` source: a struct value), its name
   * (`"struct task_struct"`), so that a local holding it keeps the type and
   * its members can be read through the local.
   */
  record?: string;
}

/** Where a string comes from. */
export type StrSrc =
  | { from: "comm" }
  | { from: "ctx"; offset: number }
  | { from: "mem"; space: Space; ptr: IntAccess; offset: number }
  | { from: "data_loc"; offset: number };

/** A NUL-terminated string read into `len` bytes. */
export interface StrAccess {
  type: "str";
  src: StrSrc;
  len: number;
}

/** A stack id from a stack trace map, decoded to frames. */
export interface StackAccess {
  type: "stack";
  user: boolean;
}

/** Any access. */
export type Access = IntAccess | StrAccess | StackAccess;

/** What the code generator and the attach step need to know about a point. */
export interface Schema {
  /** The point. */
  point: ProbePoint<unknown>;
  /** BPF program type name. */
  programType: "tracepoint" | "raw_tracepoint" | "tracing" | "kprobe" | "perf_event";
  /** `expected_attach_type`, for tp_btf. */
  attachType?: string;
  /** `attach_btf_id`, for tp_btf. */
  attachBtfId?: number;
  /** The binary resolved for uprobes and USDT. */
  path?: string;
  /** Resolves an expression. */
  resolve(expr: string, strlen: number): Access;
}

const BUILTIN_INTS = new Set(["pid", "tid", "uid", "gid", "cpu", "nsecs"]);

/** pt_regs offsets of the first six argument registers and of the return value register. */
function ptRegs(): { args: number[]; ret: number } {
  if (Deno.build.arch === "aarch64") return { args: [0, 8, 16, 24, 32, 40], ret: 0 };
  // x86-64 struct pt_regs: r15 r14 r13 r12 bp bx r11 r10 r9 r8 ax cx dx si di …
  return { args: [112, 104, 96, 88, 72, 64], ret: 80 };
}

/** One parsed segment of an `args.` path: a name with optional indexes. */
interface Segment {
  name: string;
  indexes: number[];
}

function parsePath(path: string, expr: string): Segment[] {
  const out: Segment[] = [];
  for (const part of path.split(".")) {
    const m = /^([A-Za-z_][A-Za-z0-9_]*)((?:\[\d+\])*)$/.exec(part);
    if (!m) {
      throw new ProbeCompileError(
        `cannot read ${JSON.stringify(expr)}: expected args.<field>, args.<field>.<member> ` +
          `or args.<field>[<index>]`,
        { expression: expr },
      );
    }
    const indexes = [...m[2].matchAll(/\[(\d+)\]/g)].map((x) => Number(x[1]));
    out.push({ name: m[1], indexes });
  }
  return out;
}

function loadSize(n: number): LoadSize {
  if (n === 1 || n === 2 || n === 4 || n === 8) return n;
  throw new InvalidArgumentError(`unsupported load size ${n}`);
}

function builtin(expr: string): Access | undefined {
  if (expr === "comm") return { type: "str", src: { from: "comm" }, len: 16 };
  if (expr === "kstack" || expr === "ustack") return { type: "stack", user: expr === "ustack" };
  if (BUILTIN_INTS.has(expr)) {
    return {
      type: "int",
      src: { from: "builtin", name: expr as "pid" },
      size: expr === "nsecs" ? 8 : 4,
      signed: false,
    };
  }
  return undefined;
}

const BUILTIN_NAMES = [
  "comm",
  "pid",
  "tid",
  "uid",
  "gid",
  "cpu",
  "nsecs",
  "kstack",
  "ustack",
  "retval",
  "arg0",
  "arg1",
  "arg2",
  "arg3",
  "arg4",
  "arg5",
];

function unknownExpr(expr: string, point: ProbePoint<unknown>, args: string[]): never {
  const all = [...BUILTIN_NAMES, ...args.map((a) => `args.${a}`)];
  throw new ProbeNotFoundError(
    `expression ${expr}`,
    closeMatches(expr, all),
    `${point.probe} has no ${JSON.stringify(expr)}` +
      (args.length ? ` (its args: ${args.join(", ")})` : " (it has no args.* fields)"),
  );
}

// ---- tracepoints ----

function tracepointSchema(
  point: ProbePoint<unknown> & { kind: "tracepoint" },
  tracefs: TracefsOptions,
): Schema {
  const fmt = readTracepointFormat(point.group, point.event, tracefs);
  const fields = new Map(fmt.fields.map((f) => [f.name, f]));
  const names = fmt.fields.filter((f) => !f.common).map((f) => f.name);
  const userStrings = point.group === "syscalls";
  return {
    point,
    programType: "tracepoint",
    resolve(expr, strlen) {
      const b = builtin(expr);
      if (b) return b;
      if (!expr.startsWith("args.")) {
        if (/^arg\d$|^retval$/.test(expr)) {
          throw new ProbeCompileError(
            `${point.probe}: ${expr} exists only at raw tracepoints, tp_btf, uprobes and kprobes; ` +
              `a tracepoint's fields are args.<field> (${names.join(", ")})`,
            { expression: expr },
          );
        }
        unknownExpr(expr, point, names);
      }
      const segs = parsePath(expr.slice(5), expr);
      const f = fields.get(segs[0].name);
      if (!f) {
        throw new ProbeNotFoundError(
          `field ${segs[0].name} of ${point.probe}`,
          closeMatches(segs[0].name, names).map((n) => `args.${n}`),
          `${point.probe} has no field "${segs[0].name}" (its fields: ${names.join(", ")})`,
        );
      }
      if (segs.length > 1) {
        throw new ProbeCompileError(
          `${expr}: tracepoint fields have no members to follow (${f.name} is ${f.type}); ` +
            "use tpBtf() or rawTracepoint() for typed struct access",
          { expression: expr },
        );
      }
      return tracepointField(point.probe, f, segs[0].indexes, expr, strlen, userStrings);
    },
  };
}

function tracepointField(
  probe: string,
  f: TracepointField,
  indexes: number[],
  expr: string,
  strlen: number,
  userStrings: boolean,
): Access {
  if (f.offset < 8) {
    throw new ProbeCompileError(
      `${expr}: the common_* header of a tracepoint record is not readable by BPF programs; ` +
        "use the pid/tid/comm builtins",
      { expression: expr },
    );
  }
  const noIndex = () => {
    if (indexes.length) {
      throw new ProbeCompileError(`${expr}: ${f.name} (${f.type}) is not an array`, {
        expression: expr,
      });
    }
  };
  switch (f.kind) {
    case "int":
      noIndex();
      return {
        type: "int",
        src: { from: "ctx", offset: f.offset, load: loadSize(f.size) },
        size: f.valueSize,
        signed: f.valueSigned,
      };
    case "int_array": {
      if (indexes.length === 0 && f.size === f.length && (f.length === 4 || f.length === 16)) {
        // A whole 4- or 16-byte address (`__u8 saddr[4]`, `saddr_v6[16]`): its bytes, for ntop().
        return { type: "str", src: { from: "ctx", offset: f.offset }, len: roundUp8(f.length) };
      }
      if (indexes.length !== 1 || indexes[0] >= f.length!) {
        throw new ProbeCompileError(
          `${expr}: ${f.name} is ${f.type}; read one element, ${f.name}[0] to ${f.name}[${
            f.length! - 1
          }]`,
          { expression: expr },
        );
      }
      const elem = f.size / f.length!;
      return {
        type: "int",
        src: { from: "ctx", offset: f.offset + indexes[0] * elem, load: loadSize(elem) },
        size: f.valueSize,
        signed: f.valueSigned,
      };
    }
    case "char_array":
      noIndex();
      return { type: "str", src: { from: "ctx", offset: f.offset }, len: roundUp8(f.length!) };
    case "string_pointer":
      noIndex();
      return {
        type: "str",
        src: {
          from: "mem",
          space: userStrings ? "user" : "kernel",
          ptr: {
            type: "int",
            src: { from: "ctx", offset: f.offset, load: 8 },
            size: 8,
            signed: false,
          },
          offset: 0,
        },
        len: strlen,
      };
    case "data_loc_string":
      noIndex();
      return { type: "str", src: { from: "data_loc", offset: f.offset }, len: strlen };
    default:
      throw new ProbeCompileError(`${probe}: field ${f.name} (${f.type}) cannot be read`, {
        expression: expr,
      });
  }
}

function roundUp8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

// ---- BTF-typed arguments (raw tracepoints, tp_btf) ----

interface BtfArg {
  name: string;
  type: number;
}

function btfArgs(spec: Spec, event: string, probe: string): { args: BtfArg[]; typedef: number } {
  const typedef = spec.typeIdByName(`btf_trace_${event}`, "typedef");
  if (typedef === undefined) {
    const names: string[] = [];
    for (const t of spec) {
      if (t.kind === "typedef" && t.name.startsWith("btf_trace_")) names.push(t.name.slice(10));
    }
    throw new ProbeNotFoundError(
      `tracepoint ${event}`,
      closeMatches(event, names),
      `${probe}: the kernel has no tracepoint "${event}" (no btf_trace_${event} in vmlinux BTF)`,
    );
  }
  const ptr = spec.resolve(typedef);
  const proto = ptr.kind === "ptr" ? spec.resolve(ptr.type) : ptr;
  if (proto.kind !== "func_proto") {
    throw new ProbeCompileError(`btf_trace_${event} is not a function pointer type`);
  }
  // Names come from the __bpf_trace_<event> function (the typedef's params are anonymous).
  let named: readonly { name: string }[] = [];
  for (const fn of [`__bpf_trace_${event}`, `__probestub_${event}`]) {
    const f = spec.typeByName(fn, "func");
    if (f && f.kind === "func") {
      const p = spec.typeById(f.type);
      if (p.kind === "func_proto") {
        named = p.params;
        break;
      }
    }
  }
  const args = proto.params.slice(1).map((p, i) => ({
    name: named[i + 1]?.name || `arg${i}`,
    type: p.type,
  }));
  return { args, typedef };
}

function isChar(t: BtfType): boolean {
  return t.kind === "int" && t.size === 1 && (t.encoding === "char" || t.name.endsWith("char"));
}

function findMember(
  spec: Spec,
  t: BtfType & { members: readonly Member[] },
  name: string,
): { member: Member; bitOffset: number } | undefined {
  for (const m of t.members) {
    if (m.name === name) return { member: m, bitOffset: m.bitOffset };
    if (m.name === "") {
      const inner = spec.resolve(m.type);
      if (inner.kind === "struct" || inner.kind === "union") {
        const hit = findMember(spec, inner, name);
        if (hit) return { member: hit.member, bitOffset: m.bitOffset + hit.bitOffset };
      }
    }
  }
  return undefined;
}

function memberNames(spec: Spec, t: BtfType & { members: readonly Member[] }): string[] {
  const out: string[] = [];
  for (const m of t.members) {
    if (m.name) out.push(m.name);
    else {
      const inner = spec.resolve(m.type);
      if (inner.kind === "struct" || inner.kind === "union") out.push(...memberNames(spec, inner));
    }
  }
  return out;
}

function typeName(spec: Spec, id: number): string {
  const t = spec.resolve(id);
  if (t.kind === "ptr") return `${typeName(spec, t.type)} *`;
  if (t.kind === "struct" || t.kind === "union" || t.kind === "enum") {
    return `${t.kind} ${t.name || "(anon)"}`;
  }
  return t.name || t.kind;
}

/**
 * Follows `segs` from a value of BTF type `typeId` (held by `value`, an
 * integer access: a scalar or a pointer).
 */
function btfPath(
  spec: Spec,
  typeId: number,
  value: IntAccess,
  segs: Segment[],
  expr: string,
  strlen: number,
): Access {
  // Either a value in hand (`value`) or a location in kernel memory (`loc`).
  let loc: { ptr: IntAccess; offset: number } | undefined;
  let cur = typeId;
  let val: IntAccess | undefined = value;
  const deref = (): { ptr: IntAccess; offset: number } => {
    const t = spec.resolve(cur);
    if (t.kind !== "ptr") throw new Error("unreachable");
    const ptrValue = val ?? memInt(loc!, 8, false);
    cur = t.type;
    val = undefined;
    return { ptr: ptrValue, offset: 0 };
  };
  const index = (i: number) => {
    const t = spec.resolve(cur);
    if (t.kind === "array") {
      if (i >= t.nelems && t.nelems > 0) {
        throw new ProbeCompileError(`${expr}: index ${i} is beyond ${t.nelems} elements`, {
          expression: expr,
        });
      }
      loc = { ptr: loc!.ptr, offset: loc!.offset + i * spec.sizeOf(t.type) };
      cur = t.type;
    } else if (t.kind === "ptr") {
      const elem = spec.sizeOf(t.type);
      loc = deref();
      loc.offset = i * elem;
    } else {
      throw new ProbeCompileError(`${expr}: ${typeName(spec, cur)} cannot be indexed`, {
        expression: expr,
      });
    }
  };
  for (let s = 0; s < segs.length; s++) {
    const seg = segs[s];
    if (s > 0) {
      let t = spec.resolve(cur);
      if (t.kind === "ptr") {
        loc = deref();
        t = spec.resolve(cur);
      }
      if (t.kind !== "struct" && t.kind !== "union") {
        throw new ProbeCompileError(
          `${expr}: ${segs.slice(0, s).map((x) => x.name).join(".")} is ${
            typeName(spec, cur)
          }, which has no member "${seg.name}"`,
          { expression: expr },
        );
      }
      if (!loc) {
        throw new ProbeCompileError(`${expr}: a struct passed by value cannot be read`, {
          expression: expr,
        });
      }
      const hit = findMember(spec, t, seg.name);
      if (!hit) {
        throw new ProbeNotFoundError(
          `member ${seg.name} of ${typeName(spec, cur)}`,
          closeMatches(seg.name, memberNames(spec, t)),
          `${expr}: ${typeName(spec, cur)} has no member "${seg.name}"`,
        );
      }
      if (hit.member.bitfieldSize !== 0 || hit.bitOffset % 8 !== 0) {
        throw new ProbeCompileError(`${expr}: bitfield members cannot be read`, {
          expression: expr,
        });
      }
      loc = { ptr: loc.ptr, offset: loc.offset + hit.bitOffset / 8 };
      cur = hit.member.type;
    }
    for (const i of seg.indexes) index(i);
  }
  const t = spec.resolve(cur);
  if (t.kind === "int" || t.kind === "enum" || t.kind === "enum64") {
    const size = t.size;
    const signed = t.kind === "int" ? t.encoding === "signed" : t.signed;
    if (![1, 2, 4, 8].includes(size)) {
      throw new ProbeCompileError(`${expr}: ${size}-byte integers cannot be read`, {
        expression: expr,
      });
    }
    if (val) return { ...val, size, signed };
    return memInt(loc!, size, signed);
  }
  if (t.kind === "ptr") {
    const pointee = spec.resolve(t.type);
    const ptr = val ?? memInt(loc!, 8, false);
    if (isChar(pointee)) {
      return { type: "str", src: { from: "mem", space: "kernel", ptr, offset: 0 }, len: strlen };
    }
    const record = (pointee.kind === "struct" || pointee.kind === "union") && pointee.name
      ? `${pointee.kind} ${pointee.name}`
      : undefined;
    return record ? { ...ptr, record } : ptr;
  }
  if (t.kind === "array" && isChar(spec.resolve(t.type)) && loc) {
    return {
      type: "str",
      src: { from: "mem", space: "kernel", ptr: loc.ptr, offset: loc.offset },
      len: roundUp8(Math.min(Math.max(t.nelems, 1), Math.max(strlen, 16))),
    };
  }
  if ((t.kind === "struct" || t.kind === "union") && t.name && loc) {
    // a struct value: its place, whose members a local holding it reads
    const src = {
      from: "addr" as const,
      space: "kernel" as const,
      ptr: loc.ptr,
      offset: loc.offset,
    };
    return { type: "int", src, size: 8, signed: false, record: `${t.kind} ${t.name}` };
  }
  if (t.kind === "struct" || t.kind === "union") {
    throw new ProbeCompileError(
      `${expr} is ${typeName(spec, cur)}; read one of its members (${
        memberNames(spec, t).slice(0, 12).join(", ")
      }…)`,
      { expression: expr },
    );
  }
  throw new ProbeCompileError(`${expr}: ${typeName(spec, cur)} cannot be read`, {
    expression: expr,
  });
}

function memInt(loc: { ptr: IntAccess; offset: number }, size: number, signed: boolean): IntAccess {
  return {
    type: "int",
    src: { from: "mem", space: "kernel", ptr: loc.ptr, offset: loc.offset, load: loadSize(size) },
    size,
    signed,
  };
}

function ctxSlot(i: number): IntAccess {
  return { type: "int", src: { from: "ctx", offset: 8 * i, load: 8 }, size: 8, signed: false };
}

/** A raw tracepoint on a kernel without BTF: `arg0`…`arg5` only. */
function untypedRawSchema(point: ProbePoint<unknown> & { kind: "raw_tracepoint" }): Schema {
  return {
    point,
    programType: "raw_tracepoint",
    resolve(expr) {
      const b = builtin(expr);
      if (b) return b;
      const m = /^arg([0-5])$/.exec(expr);
      if (m) return ctxSlot(Number(m[1]));
      if (expr.startsWith("args.")) {
        throw new ProbeCompileError(
          `${expr}: naming raw tracepoint arguments needs kernel BTF (CONFIG_DEBUG_INFO_BTF); ` +
            "use arg0…arg5",
          { expression: expr },
        );
      }
      unknownExpr(expr, point, []);
    },
  };
}

function rawSchema(point: ProbePoint<unknown> & { kind: "raw_tracepoint" | "tp_btf" }): Schema {
  let spec: Spec;
  try {
    spec = loadKernelSpec();
  } catch (e) {
    if (e instanceof NotSupportedError && point.kind === "raw_tracepoint") {
      return untypedRawSchema(point as ProbePoint<unknown> & { kind: "raw_tracepoint" });
    }
    throw e;
  }
  const { args, typedef } = btfArgs(spec, point.event, point.probe);
  const names = args.map((a) => a.name);
  return {
    point,
    programType: point.kind === "tp_btf" ? "tracing" : "raw_tracepoint",
    attachType: point.kind === "tp_btf" ? "trace_raw_tp" : undefined,
    attachBtfId: point.kind === "tp_btf" ? typedef : undefined,
    resolve(expr, strlen) {
      const b = builtin(expr);
      if (b) return b;
      const m = /^arg(\d)$/.exec(expr);
      if (m) {
        const i = Number(m[1]);
        if (i >= args.length) {
          throw new ProbeCompileError(
            `${point.probe} has ${args.length} argument(s) (arg0…arg${args.length - 1}): ${expr}`,
            { expression: expr },
          );
        }
        return ctxSlot(i);
      }
      if (!expr.startsWith("args.")) unknownExpr(expr, point, names);
      const segs = parsePath(expr.slice(5), expr);
      const i = names.indexOf(segs[0].name);
      if (i < 0) {
        throw new ProbeNotFoundError(
          `argument ${segs[0].name} of ${point.probe}`,
          closeMatches(segs[0].name, names).map((n) => `args.${n}`),
          `${point.probe} has no argument "${segs[0].name}" (its arguments: ${
            args.map((a) => `${a.name}: ${typeName(spec, a.type)}`).join(", ")
          })`,
        );
      }
      return btfPath(spec, args[i].type, ctxSlot(i), segs, expr, strlen);
    },
  };
}

// ---- kernel structs reached through a pointer (curtask, casts) ----

const pointerIds = new WeakMap<Spec, Map<number, number>>();

/** The id of a BTF pointer type to `target`, or undefined when vmlinux has none. */
function pointerTo(spec: Spec, target: number): number | undefined {
  let ids = pointerIds.get(spec);
  if (!ids) {
    ids = new Map();
    const last = spec.firstTypeId + spec.typeCount;
    for (let id = 1; id < last; id++) {
      if (spec.kindOf(id) !== "ptr") continue;
      const to = (spec.typeById(id) as BtfType & { type: number }).type;
      if (!ids.has(to)) ids.set(to, id);
    }
    pointerIds.set(spec, ids);
  }
  return ids.get(target);
}

/**
 * Reads `path` (`".pid"`, `".parent.comm"`, `".files[0]"`) from the kernel
 * struct or union `record` (`"struct task_struct"`) that a pointer stored
 * at fp+`slot` points to, typed by kernel BTF as `args.*` paths are.
 */
export function resolveKernelPath(
  record: string,
  path: string,
  options: { slot: number; strlen: number; expr: string },
): Access {
  const m = /^(struct|union)\s+([A-Za-z_][A-Za-z0-9_]*)$/.exec(record.trim());
  if (!m) {
    throw new ProbeCompileError(`${options.expr}: ${record} is not a struct or union`, {
      expression: options.expr,
    });
  }
  const spec = loadKernelSpec();
  const id = spec.typeIdByName(m[2], m[1] as "struct");
  const ptr = id === undefined ? undefined : pointerTo(spec, id);
  if (ptr === undefined) {
    throw new ProbeNotFoundError(
      record,
      [],
      `${options.expr}: kernel BTF has no ${record} (or no pointer to it)`,
    );
  }
  const root: IntAccess = {
    type: "int",
    src: { from: "slot", offset: options.slot },
    size: 8,
    signed: false,
  };
  const segs = parsePath(`root${path}`, options.expr);
  return btfPath(spec, ptr, root, segs, options.expr, options.strlen);
}

// ---- uprobes, USDT, kprobes, profile ----

function regsSchema(point: ProbePoint<unknown>, usdtArgs?: UsdtArgument[]): Schema {
  const regs = ptRegs();
  const ret = point.kind === "uretprobe" || point.kind === "kretprobe";
  return {
    point,
    programType: point.kind === "profile" ? "perf_event" : "kprobe",
    resolve(expr) {
      const b = builtin(expr);
      if (b) return b;
      if (point.kind !== "profile") {
        if (expr === "retval") {
          if (!ret) {
            throw new ProbeCompileError(
              `retval exists only at return probes (uretprobe, kretprobe), not at ${point.probe}`,
              { expression: expr },
            );
          }
          return {
            type: "int",
            src: { from: "ctx", offset: regs.ret, load: 8 },
            size: 8,
            signed: true,
          };
        }
        const m = /^arg(\d)$/.exec(expr);
        if (m) {
          const i = Number(m[1]);
          if (usdtArgs) return usdtArg(point, usdtArgs, i, expr);
          if (i > 5) {
            throw new ProbeCompileError(`only arg0…arg5 are in registers: ${expr}`, {
              expression: expr,
            });
          }
          // Registers are read as signed 64-bit values, like retval.
          return {
            type: "int",
            src: { from: "ctx", offset: regs.args[i], load: 8 },
            size: 8,
            signed: true,
          };
        }
      }
      unknownExpr(expr, point, []);
    },
  };
}

function usdtArg(
  point: ProbePoint<unknown>,
  specs: UsdtArgument[],
  i: number,
  expr: string,
): IntAccess {
  const a = specs[i];
  if (!a) {
    throw new ProbeCompileError(
      `${point.probe} has ${specs.length} argument(s) (arg0…arg${specs.length - 1}): ${expr}`,
      { expression: expr },
    );
  }
  const reg = (): IntAccess => {
    if (a.registerOffset === undefined) {
      throw new ProbeCompileError(
        `${expr}: register ${a.register} of USDT argument "${a.spec}" is not in pt_regs`,
        { expression: expr },
      );
    }
    return {
      type: "int",
      src: { from: "ctx", offset: a.registerOffset, load: 8 },
      size: 8,
      signed: false,
    };
  };
  switch (a.kind) {
    case "constant":
      return {
        type: "int",
        src: { from: "const", value: a.value! },
        size: a.size,
        signed: a.signed,
      };
    case "register":
      return { ...reg(), size: a.size, signed: a.signed };
    case "memory":
      return {
        type: "int",
        src: {
          from: "mem",
          space: "user",
          ptr: reg(),
          offset: Number(a.offset ?? 0n),
          load: loadSize(a.size),
        },
        size: a.size,
        signed: a.signed,
      };
    default:
      throw new ProbeCompileError(
        `${expr}: USDT argument "${a.spec}" (indexed addressing) is not supported`,
        { expression: expr },
      );
  }
}

function usdtSchema(point: ProbePoint<unknown> & { kind: "usdt" }): Schema {
  const path = resolveBinaryPath(point.path, { pid: point.pid });
  const all = readUsdtProbes(path);
  const probes = all.filter((p) => p.provider === point.provider && p.name === point.name);
  if (probes.length === 0) {
    const have = [...new Set(all.map((p) => `${p.provider}:${p.name}`))];
    throw new ProbeNotFoundError(
      `usdt probe ${point.provider}:${point.name}`,
      closeMatches(`${point.provider}:${point.name}`, have),
      `${path} has no USDT probe ${point.provider}:${point.name}` +
        (have.length ? "" : " (it has no .note.stapsdt probes)"),
    );
  }
  const same = probes.every((p) =>
    p.arguments.map((a) => a.spec).join(" ") === probes[0].arguments.map((a) => a.spec).join(" ")
  );
  const schema = regsSchema(point, same ? probes[0].arguments : []);
  return { ...schema, path };
}

/** The schema of a point: reads tracefs or kernel BTF as the point needs. */
export function schemaOf(point: ProbePoint<unknown>, tracefs: TracefsOptions = {}): Schema {
  switch (point.kind) {
    case "tracepoint":
      return tracepointSchema(point, tracefs);
    case "raw_tracepoint":
    case "tp_btf":
      return rawSchema(point);
    case "usdt":
      return usdtSchema(point);
    case "uprobe":
    case "uretprobe":
      return { ...regsSchema(point), path: resolveBinaryPath(point.path, { pid: point.pid }) };
    case "kprobe":
    case "kretprobe":
    case "profile":
      return regsSchema(point);
  }
}
