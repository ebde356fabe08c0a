// The code generator of scripts (the probe IR): one BPF program per
// expanded point, the script's maps shared by name, locals and temporaries
// on the stack, and the actions (printf, print, clear, zero, time, exit)
// written as records to the one ring buffer `events`.
//
// Registers: R6 holds the context for the whole program; expressions are
// evaluated into R0 and may clobber R1–R5 (intermediate values are spilled
// to stack temporaries); R7 and R8 hold an aggregation's value and bucket,
// R9 the ring buffer record being written.
//
// Stack frame (offsets from fp): fp-8 the scratch of integer reads, fp-24
// the initial value of a new aggregation element, then the locals, then
// temporaries (keys, values, spilled operands), allocated and freed as a
// stack.

import type { Assembler } from "../asm/assembler.ts";
import { R0, R1, R10, R2, R3, R4, R6, R7, R8, R9, type Register } from "../asm/register.ts";
import type { IntAccess } from "./_access.ts";
import {
  type AggKind,
  Gen,
  initialValue,
  linearBucket,
  log2Bucket,
  STACK_SIZE,
  update,
  VAL,
} from "./_codegen.ts";
import {
  castType,
  exprText,
  localName,
  type MapInfo,
  type PointEnv,
  POINTER_SLOT,
  type ProgramTypes,
  PT_REGS,
  stmtText,
} from "./_check.ts";
import { symbolAddress } from "../kallsyms/load.ts";
import { fileInfo } from "../sys/file.ts";
import type { VerifierError } from "../program/errors.ts";
import { ProbeCompileError } from "./errors.ts";
import {
  GLOBAL_START,
  GLOBAL_STOP,
  JOIN_ARGS,
  JOIN_ARGSIZE,
  Rec,
  sizeOfType,
} from "./_script_records.ts";
import { parseInet } from "./_inet.ts";
import type { IrExpr, IrStmt, IrType, SourceSpan } from "./ir.ts";

/** How a map of the script is held in the kernel. */
export interface MapLayout {
  /** What the checker inferred. */
  info: MapInfo;
  /** The name instructions refer to it by. */
  ref: string;
  /** The key type (`none` for no key). */
  key: IrType;
  /** Bytes of the user key (at least 8). */
  userKeySize: number;
  /** Bytes of the BPF key: the user key, and the bucket of histograms. */
  keySize: number;
  /** Bytes of one value (per CPU for aggregations). */
  valueSize: number;
  /** The kernel-side aggregation (`stats` is kept as `avg`: sum and count). */
  aggKind?: AggKind;
}

/** The layout of `info`'s map. */
export function mapLayout(info: MapInfo): MapLayout {
  const key = info.key ?? { kind: "none" };
  const userKeySize = Math.max(8, sizeOfType(key));
  const fn = info.agg?.fn;
  const aggKind: AggKind | undefined = fn === "stats" ? "avg" : fn;
  const hist = fn === "hist" || fn === "lhist";
  return {
    info,
    ref: `m${info.index}`,
    key,
    userKeySize,
    keySize: userKeySize + (hist ? 8 : 0),
    valueSize: aggKind
      ? (aggKind === "min" || aggKind === "max" || aggKind === "avg" ? 16 : 8)
      : Math.max(8, sizeOfType(info.value!)),
    aggKind,
  };
}

/** The actions user space performs for records, shared by every program of a script. */
export interface ActionTable {
  /** printf formats and the types of their arguments. */
  printf: { format: string; args: IrType[] }[];
  /** print(@m, top, div). */
  print: { map: string; top?: number; div?: number }[];
  /** print(value). */
  printValue: IrType[];
  /** time(format). */
  time: string[];
  /** join(argv, sep): the separators. */
  join: string[];
  /** cat(format, args…): the path's format and the types of its arguments. */
  cat: { format: string; args: IrType[] }[];
  /** system(format, args…): the command's format and the types of its arguments. */
  system: { format: string; args: IrType[] }[];
}

/** A generated program and what it needs. */
export interface ScriptProgram {
  /** The instructions. */
  asm: Assembler;
  /** Whether it uses the `stacks` map. */
  stacks: boolean;
  /** Whether it reads the start time (`elapsed`), which `globals` holds once set. */
  elapsed: boolean;
}

/** Address families, as ntop() records them. */
const AF_INET = 2;
const AF_INET6 = 10;

/** The id of a cgroup v2 directory: its inode number (kernfs node id, as name_to_handle_at gives it). */
function cgroupId(path: string, expr: string): number {
  let info;
  try {
    info = fileInfo(path);
  } catch (e) {
    throw new ProbeCompileError(
      `${expr}: cannot find the cgroup ${path}: ${(e as Error).message}`,
      {
        expression: expr,
        cause: e,
      },
    );
  }
  if (info.kind !== "directory") {
    throw new ProbeCompileError(`${expr}: ${path} is not a cgroup directory`, { expression: expr });
  }
  return info.ino;
}

function roundUp8(n: number): number {
  return Math.ceil(n / 8) * 8;
}

const MAP_ANY = 0;
const USER_STACK = 1 << 8;

class ProgramGen {
  readonly g = new Gen();
  readonly a = this.g.a;
  #sp = POINTER_SLOT;
  #locals = new Map<string, { off: number; type: IrType }>();
  /** The enclosing `while` loops' labels, innermost last (`continue` jumps to top, `break` to end). */
  #loops: { top: string; end: string }[] = [];
  stacks = false;
  elapsed = false;

  constructor(
    readonly env: PointEnv,
    readonly pt: ProgramTypes,
    readonly maps: ReadonlyMap<string, MapLayout>,
    readonly actions: ActionTable,
  ) {}

  /** Whether the program returns at once once the script is stopped: all but BEGIN and END. */
  get frozenReturns(): boolean {
    return this.env.kind !== "begin" && this.env.kind !== "end";
  }

  // ---- stack

  alloc(size: number, what: string): number {
    this.#sp -= roundUp8(size);
    if (-this.#sp > STACK_SIZE) {
      throw new ProbeCompileError(
        `${this.env.name}: ${what} needs more than the ${STACK_SIZE} bytes of BPF stack ` +
          "(locals, keys and strings); use shorter strings (the strlen option) or fewer locals",
        { expression: what },
      );
    }
    return this.#sp;
  }

  /** Runs `f` with temporaries freed after it. */
  scoped<T>(f: () => T): T {
    const mark = this.#sp;
    try {
      return f();
    } finally {
      this.#sp = mark;
    }
  }

  zero(base: Register, off: number, size: number): void {
    for (let i = 0; i < size; i += 8) this.a.stdw(base, off + i, 0);
  }

  copy(src: Register, srcOff: number, dst: Register, dstOff: number, size: number): void {
    for (let i = 0; i < size; i += 8) {
      this.a.ldxdw(R1, src, srcOff + i).stxdw(dst, dstOff + i, R1);
    }
  }

  source(span: SourceSpan | undefined, text: string): void {
    this.a.source({ line: span?.line, column: span?.column, text: span?.text ?? text });
  }

  type(e: IrExpr): IrType {
    const t = this.pt.types.get(e);
    if (!t) throw new Error(`unchecked expression ${exprText(e)}`);
    return t;
  }

  // ---- programs

  program(filter: IrExpr | undefined, body: readonly IrStmt[]): void {
    const a = this.a;
    a.mov64(R6, R1);
    if (this.frozenReturns) {
      // Stopped (stop() set the flag): the maps keep what they hold while the probes detach.
      a.loadMapValue(R1, "globals", GLOBAL_STOP).ldxdw(R1, R1, 0).jne(R1, 0, "out");
    }
    for (const [name, type] of this.pt.locals) {
      const size = Math.max(8, sizeOfType(type));
      const off = this.alloc(size, `$${name}`);
      this.zero(R10, off, size);
      this.#locals.set(name, { off, type });
    }
    if (filter) {
      this.source(filter.span, exprText(filter));
      this.scoped(() => this.int(filter));
      a.jeq(R0, 0, "out");
    }
    this.stmts(body);
    this.g.label("out");
    a.mov64(R0, 0).exit();
  }

  /**
   * Generates a block; true when it ends with `exit()` (the statements
   * after one are left out: the verifier refuses unreachable code).
   */
  stmts(list: readonly IrStmt[]): boolean {
    for (const s of list) {
      this.source(s.span, stmtText(s));
      if (this.scoped(() => this.stmt(s))) return true;
    }
    return false;
  }

  /** Generates a statement; true when control does not go on after it. */
  stmt(s: IrStmt): boolean {
    if (s.op === "exit") {
      // The flag (lost[1]) ends the run even when the ring has no room for the record. The
      // probes go on until stop() freezes them, as bpftrace's go on until it detaches them.
      const a = this.a;
      const skip = this.g.fresh("flagged");
      a.stw(R10, -8, 1).loadMapPtr(R1, "lost").mov64(R2, R10).add64(R2, -8)
        .call("map_lookup_elem").jeq(R0, 0, skip).stdw(R0, 0, 1);
      this.g.label(skip);
      this.record(Rec.EXIT, 0, []);
      a.ja("out");
      return true;
    }
    if (s.op === "while") {
      const a = this.a;
      const top = this.g.fresh("while");
      const end = this.g.fresh("wend");
      this.g.label(top);
      this.scoped(() => this.int(s.cond));
      a.jeq(R0, 0, end);
      this.#loops.push({ top, end });
      try {
        if (!this.stmts(s.body)) a.ja(top);
      } finally {
        this.#loops.pop();
      }
      this.g.label(end);
      return false;
    }
    if (s.op === "break" || s.op === "continue" || s.op === "return") {
      const loop = this.#loops[this.#loops.length - 1];
      this.a.ja(s.op === "return" ? "out" : s.op === "break" ? loop.end : loop.top);
      return true;
    }
    if (s.op === "if") {
      const a = this.a;
      const els = this.g.fresh("else");
      const end = this.g.fresh("endif");
      this.scoped(() => this.int(s.cond));
      a.jeq(R0, 0, els);
      const thenEnds = this.stmts(s.then);
      if (!thenEnds) a.ja(end);
      this.g.label(els);
      const elseEnds = s.else ? this.stmts(s.else) : false;
      this.g.label(end);
      return thenEnds && elseEnds;
    }
    this.simple(s);
    return false;
  }

  simple(s: IrStmt): void {
    const a = this.a;
    switch (s.op) {
      case "let": {
        const l = this.#locals.get(localName(s.name))!;
        this.store(s.value, l.type, R10, l.off);
        return;
      }
      case "map_set": {
        const m = this.maps.get(s.map)!;
        const key = this.key(m, s.key);
        const val = this.alloc(m.valueSize, stmtText(s));
        this.zero(R10, val, m.valueSize);
        this.store(s.value, m.info.value!, R10, val);
        this.mapCall(m, key, val);
        return;
      }
      case "map_update":
        return this.mapUpdate(s);
      case "map_delete": {
        const m = this.maps.get(s.map)!;
        if (m.aggKind === "hist" || m.aggKind === "lhist") {
          throw new ProbeCompileError(
            `${stmtText(s)}: deleting one key of a histogram is not supported; clear(${s.map})`,
            { expression: stmtText(s) },
          );
        }
        const key = this.key(m, s.key);
        a.loadMapPtr(R1, m.ref).mov64(R2, R10).add64(R2, key).call("map_delete_elem");
        return;
      }
      case "aggregate":
        return this.aggregate(s);
      case "unroll":
        for (let i = 0; i < s.count; i++) this.stmts(s.body);
        return;
      case "if":
      case "exit":
      case "while":
      case "break":
      case "continue":
      case "return":
        return;
      case "printf": {
        const types = s.args.map((x) => this.type(x));
        const id = this.actions.printf.push({ format: s.format, args: types }) - 1;
        return this.record(Rec.PRINTF, id, s.args.map((x, i) => [x, types[i]]));
      }
      case "cat":
      case "system": {
        const types = s.args.map((x) => this.type(x));
        const id = this.actions[s.op].push({ format: s.format, args: types }) - 1;
        const kind = s.op === "cat" ? Rec.CAT : Rec.SYSTEM;
        return this.record(kind, id, s.args.map((x, i) => [x, types[i]]));
      }
      case "signal":
        this.int(s.signal);
        a.mov64(R1, R0).call("send_signal");
        return;
      case "print": {
        const id = this.actions.print.push({ map: s.map, top: s.top, div: s.div }) - 1;
        return this.record(Rec.PRINT_MAP, id, []);
      }
      case "print_value": {
        const t = this.type(s.value);
        const id = this.actions.printValue.push(t) - 1;
        return this.record(Rec.PRINT_VALUE, id, [[s.value, t]]);
      }
      case "clear":
      case "zero":
        return this.record(
          s.op === "clear" ? Rec.CLEAR : Rec.ZERO,
          this.maps.get(s.map)!.info.index,
          [],
        );
      case "time": {
        const id = this.actions.time.push(s.format) - 1;
        return this.record(Rec.TIME, id, []);
      }
      case "expr":
        if (s.value.op === "call" && s.value.fn === "join") return this.join(s.value);
        if (["str", "tuple", "array"].includes(this.type(s.value).kind)) return;
        this.int(s.value);
        return;
    }
  }

  /** Writes a ring buffer record: the header, then each value at 8-byte aligned offsets. */
  record(kind: number, id: number, values: [IrExpr, IrType][]): void {
    const a = this.a;
    const size = 8 + values.reduce((n, [, t]) => n + sizeOfType(t), 0);
    const skip = this.reserve(size, kind, id);
    let off = 8;
    for (const [e, t] of values) {
      this.scoped(() => this.store(e, t, R9, off));
      off += sizeOfType(t);
    }
    a.mov64(R1, R9).mov64(R2, 0).call("ringbuf_submit");
    this.g.label(skip);
  }

  /**
   * Reserves a record of `size` bytes in R9 with its header written; when
   * the ring is full, counts the loss in `lost` and jumps to the label it
   * returns (which the caller places after its ringbuf_submit).
   */
  reserve(size: number, kind: number, id: number): string {
    const a = this.a;
    const skip = this.g.fresh("full");
    const ok = this.g.fresh("reserved");
    a.loadMapPtr(R1, "events").mov64(R2, size).mov64(R3, 0).call("ringbuf_reserve");
    a.jne(R0, 0, ok);
    a.stw(R10, -8, 0).loadMapPtr(R1, "lost").mov64(R2, R10).add64(R2, -8)
      .call("map_lookup_elem").jeq(R0, 0, skip).mov64(R1, 1).atomicAdd64(R0, 0, R1).ja(skip);
    this.g.label(ok);
    a.mov64(R9, R0).stw(R9, 0, kind).stw(R9, 4, id);
    return skip;
  }

  /**
   * `join(argv, sep)`: a record of the count and up to JOIN_ARGS strings read
   * through the array's pointers (user memory at syscalls and uprobes).
   */
  join(e: IrExpr & { op: "call" }): void {
    const a = this.a;
    const sep = e.args[1]?.op === "str" ? e.args[1].value : " ";
    const id = this.actions.join.push(sep) - 1;
    const at = this.type(e.args[0]);
    const user = at.kind === "ptr" ? at.space === "user" : this.env.user;
    const read = user ? "probe_read_user" : "probe_read_kernel";
    const argv = this.alloc(8, exprText(e));
    this.int(e.args[0]);
    a.stxdw(R10, argv, R0);
    const done = this.g.fresh("joined");
    const skip = this.reserve(16 + JOIN_ARGS * JOIN_ARGSIZE, Rec.JOIN, id);
    a.stdw(R9, 8, 0);
    for (let i = 0; i < JOIN_ARGS; i++) a.stb(R9, 16 + i * JOIN_ARGSIZE, 0);
    for (let i = 0; i < JOIN_ARGS; i++) {
      a.stdw(R10, -8, 0).mov64(R1, R10).add64(R1, -8).mov64(R2, 8).ldxdw(R3, R10, argv);
      if (i) a.add64(R3, 8 * i);
      a.call(read).ldxdw(R3, R10, -8).jeq(R3, 0, done);
      a.mov64(R1, R9).add64(R1, 16 + i * JOIN_ARGSIZE).mov64(R2, JOIN_ARGSIZE).call(`${read}_str`);
      a.stdw(R9, 8, i + 1);
    }
    this.g.label(done);
    a.mov64(R1, R9).mov64(R2, 0).call("ringbuf_submit");
    this.g.label(skip);
  }

  /** Builds the key of `m` on the stack (zeroed first); returns its offset. */
  key(m: MapLayout, key: IrExpr | undefined): number {
    const off = this.alloc(m.keySize, `${m.info.name} key`);
    this.zero(R10, off, m.keySize);
    if (key) this.store(key, m.key, R10, off);
    return off;
  }

  /** map_update_elem(m, fp+key, fp+value, BPF_ANY). */
  mapCall(m: MapLayout, key: number, value: number): void {
    this.a.loadMapPtr(R1, m.ref).mov64(R2, R10).add64(R2, key).mov64(R3, R10).add64(R3, value)
      .mov64(R4, MAP_ANY).call("map_update_elem");
  }

  lookup(m: MapLayout, key: number): void {
    this.a.loadMapPtr(R1, m.ref).mov64(R2, R10).add64(R2, key).call("map_lookup_elem");
  }

  mapUpdate(s: IrStmt & { op: "map_update" }): void {
    const a = this.a;
    const m = this.maps.get(s.map)!;
    const key = this.key(m, s.key);
    const v = this.alloc(8, stmtText(s));
    this.int(s.value);
    a.stxdw(R10, v, R0);
    const init = this.g.fresh("new");
    const done = this.g.fresh("updated");
    this.lookup(m, key);
    a.jeq(R0, 0, init);
    a.ldxdw(R2, R0, 0).ldxdw(R1, R10, v);
    this.arith(s.operator, R2, R1);
    a.stxdw(R0, 0, R2).ja(done);
    this.g.label(init);
    a.mov64(R2, 0).ldxdw(R1, R10, v);
    this.arith(s.operator, R2, R1);
    a.stxdw(R10, v, R2);
    this.mapCall(m, key, v);
    this.g.label(done);
  }

  aggregate(s: IrStmt & { op: "aggregate" }): void {
    const a = this.a;
    const m = this.maps.get(s.map)!;
    const kind = m.aggKind!;
    const signed = m.info.agg!.signed;
    if (s.args.length > 0) {
      this.int(s.args[0]);
      a.mov64(R7, R0);
    }
    const key = this.key(m, s.key);
    if (kind === "hist") log2Bucket(this.g, signed);
    if (kind === "lhist") linearBucket(this.g, m.info.agg!.linear!, signed);
    if (kind === "hist" || kind === "lhist") a.stxdw(R10, key + m.userKeySize, R8);
    const init = this.g.fresh("init");
    const done = this.g.fresh("agg");
    this.lookup(m, key);
    a.jeq(R0, 0, init);
    update(this.g, kind, signed);
    a.ja(done);
    this.g.label(init);
    initialValue(this.g, kind);
    a.loadMapPtr(R1, m.ref).mov64(R2, R10).add64(R2, key).mov64(R3, R10).add64(R3, VAL)
      .mov64(R4, 1).call("map_update_elem");
    a.jeq(R0, 0, done);
    // Another CPU created the element first (EEXIST): update our slot of it.
    this.lookup(m, key);
    a.jeq(R0, 0, done);
    update(this.g, kind, signed);
    this.g.label(done);
  }

  /** dst = dst op src. */
  arith(op: string, dst: Register, src: Register | number): void {
    const a = this.a;
    switch (op) {
      case "+":
        a.add64(dst, src);
        return;
      case "-":
        a.sub64(dst, src);
        return;
      case "*":
        a.mul64(dst, src);
        return;
      // / % and >> are unsigned, as bpftrace compiles them (it warns that signed operands are
      // undefined behaviour); BPF's unsigned ops also need no v4 ISA (sdiv/smod: Linux 6.6).
      // By a power of two they are a shift and a mask, as LLVM compiles them: the verifier
      // tracks the bounds of those (a loop halving a value ends for it), not of div/mod.
      case "/":
        if (typeof src === "number" && src > 0 && (src & (src - 1)) === 0) {
          a.rsh64(dst, Math.log2(src));
        } else a.div64(dst, src);
        return;
      case "%":
        if (typeof src === "number" && src > 0 && (src & (src - 1)) === 0) {
          a.and64(dst, src - 1);
        } else a.mod64(dst, src);
        return;
      case "&":
        a.and64(dst, src);
        return;
      case "|":
        a.or64(dst, src);
        return;
      case "^":
        a.xor64(dst, src);
        return;
      case "<<":
        a.lsh64(dst, src);
        return;
      case ">>":
        a.rsh64(dst, src);
        return;
    }
    throw new Error(`unknown operator ${op}`);
  }

  // ---- values into memory

  /** Writes the value of `e` as type `t` (the destination's layout) at `base + off`. */
  store(e: IrExpr, t: IrType, base: Register, off: number): void {
    const a = this.a;
    const size = sizeOfType(t);
    if (t.kind === "str") return this.str(e, t.len, base, off);
    if (t.kind === "buf") return this.buf(e, t.len, base, off);
    if (t.kind === "inet") return this.inet(e, base, off);
    if (t.kind === "mac") return this.mac(e, base, off);
    if (t.kind === "array") return this.array(e, size, base, off);
    if (t.kind === "tuple") {
      if (e.op !== "tuple") {
        // a tuple-valued local or map value
        const tmp = this.alloc(size, exprText(e));
        this.tupleInto(e, tmp);
        this.copy(R10, tmp, base, off, size);
        return;
      }
      let o = off;
      e.elems.forEach((x, i) => {
        this.scoped(() => this.store(x, t.elems[i], base, o));
        o += sizeOfType(t.elems[i]);
      });
      return;
    }
    if (t.kind === "stack") {
      // A stack a local or a map holds is its id, taken where it was stored.
      const taken = (e.op === "builtin" || e.op === "call") &&
        ["kstack", "ustack"].includes(e.op === "builtin" ? e.name : e.fn);
      if (!taken) return this.held(e, size, base, off);
      this.stacks = true;
      a.mov64(R1, R6).loadMapPtr(R2, "stacks").mov64(R3, t.user ? USER_STACK : 0)
        .call("get_stackid");
      a.stxdw(base, off, R0);
      // bpftrace's layout: a user stack's pid in the high half, to symbolize its frames.
      if (t.user) a.call("get_current_pid_tgid").rsh64(R0, 32).stxw(base, off + 4, R0);
      return;
    }
    this.int(e);
    a.stxdw(base, off, R0);
    // usym: the address and the process to symbolize it in.
    if (t.kind === "usym") a.call("get_current_pid_tgid").rsh64(R0, 32).stxdw(base, off + 8, R0);
  }

  /**
   * A buffer at `base + off`: the length read (at most `cap`), then the
   * bytes, from `buf(p, n)` or a local or map holding one.
   */
  buf(e: IrExpr, cap: number, base: Register, off: number): void {
    const a = this.a;
    const size = 8 + roundUp8(cap);
    if (e.op !== "call" || e.fn !== "buf") {
      this.zero(base, off, size);
      if (base === R10) return this.copyFrom(e, off, size);
      const tmp = this.alloc(size, exprText(e));
      this.zero(R10, tmp, size);
      this.copyFrom(e, tmp, size);
      this.copy(R10, tmp, base, off, size);
      return;
    }
    const [ptr, len] = e.args;
    const at = this.type(ptr);
    // A char * or char array member: its address, in its own space.
    const acc = this.pt.access.get(ptr);
    const member = acc?.type === "str" && acc.src.from === "mem" ? acc.src : undefined;
    const user = member
      ? member.space === "user"
      : at.kind === "ptr"
      ? at.space === "user"
      : this.env.user;
    this.zero(base, off, size);
    this.scoped(() => {
      // The length, clamped to cap, kept in a stack slot (a spill keeps its bounds).
      const n = this.alloc(8, exprText(e));
      this.int(len);
      const ok = this.g.fresh("len");
      a.jle(R0, cap, ok).mov64(R0, cap);
      this.g.label(ok);
      a.stxdw(R10, n, R0).stxdw(base, off, R0);
      if (member) {
        this.pointer(ptr);
        this.g.int(member.ptr);
        if (member.offset) a.add64(R0, member.offset);
      } else this.int(ptr);
      a.mov64(R3, R0).mov64(R1, base).add64(R1, off + 8).ldxdw(R2, R10, n);
      a.call(user ? "probe_read_user" : "probe_read_kernel");
    });
  }

  /**
   * ntop's value at `base + off`: the address family (8 bytes), then the
   * address (4 or 16 bytes, zero-padded to 16): from an integer (its low 32
   * bits, IPv4) or from a 4- or 16-byte array in kernel or user memory.
   */
  inet(e: IrExpr, base: Register, off: number): void {
    const a = this.a;
    this.zero(base, off, 24);
    if (e.op !== "call" || e.fn !== "ntop") return this.held(e, 24, base, off);
    const addr = e.args[e.args.length - 1];
    const t = this.type(addr);
    const v6 = (t.kind === "str" && t.len === 16) ||
      (t.kind === "array" && t.len * t.elem.size === 16);
    if (e.args.length === 2) {
      this.int(e.args[0]);
      a.stxdw(base, off, R0);
    } else {
      a.stdw(base, off, v6 ? AF_INET6 : AF_INET);
    }
    if (t.kind === "array") return this.array(addr, sizeOfType(t), base, off + 8);
    if (t.kind !== "str") {
      this.int(addr);
      a.stxw(base, off + 8, R0);
      return;
    }
    this.arrayBytes(addr, v6 ? 16 : 4, base, off + 8);
  }

  /**
   * macaddr's value at `base + off`: 6 bytes (then 2 of padding) of a
   * 6-byte array, or at the address an integer or pointer holds (user
   * memory at syscalls and uprobes, as bpftrace reads it).
   */
  mac(e: IrExpr, base: Register, off: number): void {
    const a = this.a;
    this.zero(base, off, 8);
    if (e.op !== "call" || e.fn !== "macaddr") return this.held(e, 8, base, off);
    const arg = e.args[0];
    const t = this.type(arg);
    if (t.kind === "str") return this.arrayBytes(arg, 6, base, off);
    this.int(arg);
    const user = t.kind === "ptr" ? t.space === "user" : this.env.user;
    a.mov64(R3, R0).mov64(R1, base).add64(R1, off).mov64(R2, 6);
    a.call(user ? "probe_read_user" : "probe_read_kernel");
  }

  /**
   * An array's `size` bytes at `base + off`: pton()'s, known at compile
   * time, or one a local or a map holds.
   */
  array(e: IrExpr, size: number, base: Register, off: number): void {
    this.zero(base, off, size);
    if (e.op !== "call" || e.fn !== "pton" || e.args[0]?.op !== "str") {
      return this.held(e, size, base, off);
    }
    parseInet(e.args[0].value)?.forEach((byte, i) => {
      if (byte) this.a.stb(base, off + i, byte);
    });
  }

  /** A value a local or a map holds whole (an inet, a MAC address), copied to `base + off`. */
  held(e: IrExpr, size: number, base: Register, off: number): void {
    if (base === R10) return this.copyFrom(e, off, size);
    const tmp = this.alloc(size, exprText(e));
    this.zero(R10, tmp, size);
    this.copyFrom(e, tmp, size);
    this.copy(R10, tmp, base, off, size);
  }

  /**
   * The first `n` bytes of a byte array at `base + off`: an array member in
   * kernel or user memory, a tracepoint's array field, or a string the
   * program holds (a local, a map value, comm).
   */
  arrayBytes(e: IrExpr, n: number, base: Register, off: number): void {
    const a = this.a;
    const acc = this.pt.access.get(e);
    const read = (space: "user" | "kernel") => {
      a.mov64(R1, base).add64(R1, off).mov64(R2, n);
      a.call(space === "user" ? "probe_read_user" : "probe_read_kernel");
    };
    if (acc?.type === "str" && acc.src.from === "mem") {
      this.pointer(e);
      this.g.int(acc.src.ptr);
      a.mov64(R3, R0);
      if (acc.src.offset) a.add64(R3, acc.src.offset);
      return read(acc.src.space);
    }
    if (acc?.type === "str" && acc.src.from === "ctx") {
      a.mov64(R3, R6).add64(R3, acc.src.offset);
      return read("kernel");
    }
    this.scoped(() => {
      const tmp = this.alloc(16, exprText(e));
      this.str(e, 16, R10, tmp);
      this.copy(R10, tmp, base, off, roundUp8(n));
    });
  }

  tupleInto(e: IrExpr, off: number): void {
    const t = this.type(e);
    const size = sizeOfType(t);
    this.zero(R10, off, size);
    this.copyFrom(e, off, size);
  }

  /** Copies a string, tuple or buffer held by a local or a map into fp+off (zeroed already). */
  copyFrom(e: IrExpr, off: number, size: number): void {
    const src = this.type(e);
    const n = Math.min(size, sizeOfType(src));
    if (e.op === "var") {
      const l = this.#locals.get(localName(e.name))!;
      this.copy(R10, l.off, R10, off, n);
      return;
    }
    if (e.op === "map_get") {
      const m = this.maps.get(e.map)!;
      const skip = this.g.fresh("absent");
      this.scoped(() => {
        const key = this.key(m, e.key);
        this.lookup(m, key);
      });
      this.a.jeq(R0, 0, skip);
      this.copy(R0, 0, R10, off, n);
      this.g.label(skip);
      return;
    }
    throw new ProbeCompileError(`${exprText(e)} cannot be used as a value here`, {
      expression: exprText(e),
    });
  }

  /** Writes a NUL-terminated string of at most `len` bytes at `base + off` (zero-padded). */
  str(e: IrExpr, len: number, base: Register, off: number): void {
    const a = this.a;
    const size = roundUp8(len);
    const dst = () => {
      a.mov64(R1, base);
      if (off) a.add64(R1, off);
    };
    const literal = (s: string) => {
      const bytes = new Uint8Array(size);
      bytes.set(new TextEncoder().encode(s).subarray(0, len - 1));
      const dv = new DataView(bytes.buffer);
      for (let i = 0; i < size; i += 8) {
        this.g.constant(R1, dv.getBigInt64(i, true));
        a.stxdw(base, off + i, R1);
      }
    };
    if (e.op === "str") return literal(e.value);
    if (e.op === "builtin" && e.name === "probe") return literal(this.env.name);
    if (e.op === "builtin" && e.name === "func") return literal(this.env.func ?? "");
    this.zero(base, off, size);
    if (e.op === "builtin" && e.name === "comm") {
      dst();
      a.mov64(R2, Math.min(16, size)).call("get_current_comm");
      return;
    }
    const acc = this.pt.access.get(e);
    if (acc?.type === "str") {
      this.pointer(e);
      this.g.str(acc, base, off, Math.min(size, acc.len));
      return;
    }
    if (e.op === "call" && e.fn === "str") {
      const arg = e.args[0];
      const at = this.type(arg);
      // Bytes to read: n characters and the NUL (bpftrace's str(p, n)), within the buffer.
      let n = size;
      if (e.args[1]?.op === "int") n = Math.min(n, Number(e.args[1].value) + 1);
      const argAcc = this.pt.access.get(arg);
      if (at.kind === "str" && argAcc?.type === "str") {
        this.zero(base, off, size);
        this.pointer(arg);
        this.g.str(argAcc, base, off, Math.min(n, argAcc.len));
        return;
      }
      if (at.kind === "str") return this.str(arg, len, base, off);
      this.int(arg);
      a.mov64(R3, R0);
      dst();
      a.mov64(R2, n);
      // The pointer's space: uptr()/kptr() say; else the point's (user at syscalls and uprobes).
      const user = at.kind === "ptr" ? at.space === "user" : this.env.user;
      a.call(user ? "probe_read_user_str" : "probe_read_kernel_str");
      return;
    }
    if (e.op === "ternary") {
      const els = this.g.fresh("selse");
      const end = this.g.fresh("send");
      this.scoped(() => this.int(e.cond));
      a.jeq(R0, 0, els);
      this.scoped(() => this.str(e.then, len, base, off));
      a.ja(end);
      this.g.label(els);
      this.scoped(() => this.str(e.else, len, base, off));
      this.g.label(end);
      return;
    }
    if (base === R10) return this.copyFrom(e, off, size);
    const tmp = this.alloc(size, exprText(e));
    this.zero(R10, tmp, size);
    this.copyFrom(e, tmp, size);
    this.copy(R10, tmp, base, off, size);
  }

  // ---- integers into R0

  /** Evaluates an integer expression into R0 (clobbers R1–R5). */
  int(e: IrExpr): void {
    const a = this.a;
    const at = e.op === "index" ? this.type(e.base) : undefined;
    if (e.op === "index" && at?.kind === "array" && e.index.op === "int") {
      // an element of an array the program holds (pton("…")[1], $a[i]): copied, then read
      const { size, signed } = at.elem;
      const i = Number(e.index.value);
      this.scoped(() => {
        const tmp = this.alloc(sizeOfType(at), exprText(e));
        this.array(e.base, sizeOfType(at), R10, tmp);
        const o = tmp + i * size;
        if (size === 8) a.ldxdw(R0, R10, o);
        else if (size === 4) a.ldxw(R0, R10, o);
        else if (size === 2) a.ldxh(R0, R10, o);
        else a.ldxb(R0, R10, o);
        if (signed && size < 8) a.lsh64(R0, 64 - 8 * size).arsh64(R0, 64 - 8 * size);
      });
      return;
    }
    const acc = this.pt.access.get(e);
    if (acc) {
      if (acc.type !== "int") throw this.notInt(e);
      this.pointer(e);
      this.g.int(acc as IntAccess);
      return;
    }
    switch (e.op) {
      case "int":
        this.g.constant(R0, e.value);
        return;
      case "builtin":
        return this.builtin(e);
      case "var": {
        const l = this.#locals.get(localName(e.name))!;
        if (["str", "tuple", "array"].includes(l.type.kind)) throw this.notInt(e);
        a.ldxdw(R0, R10, l.off);
        return;
      }
      case "map_get":
      case "map_has": {
        const m = this.maps.get(e.map)!;
        this.scoped(() => {
          const key = this.key(m, e.key);
          this.lookup(m, key);
        });
        const done = this.g.fresh("got");
        a.jeq(R0, 0, done);
        if (e.op === "map_has") a.mov64(R0, 1);
        else if (m.info.value?.kind === "str") a.ldxb(R0, R0, 0); // a non-empty string is true
        else a.ldxdw(R0, R0, 0);
        this.g.label(done);
        return;
      }
      case "unary":
        this.int(e.arg);
        if (e.operator === "-") a.neg64(R0);
        else if (e.operator === "~") a.xor64(R0, -1);
        else this.truth(true);
        return;
      case "binary":
        return this.binary(e);
      case "ternary": {
        const els = this.g.fresh("telse");
        const end = this.g.fresh("tend");
        this.int(e.cond);
        a.jeq(R0, 0, els);
        this.int(e.then);
        a.ja(end);
        this.g.label(els);
        this.int(e.else);
        this.g.label(end);
        return;
      }
      case "cast": {
        this.int(e.arg);
        const t = castType(e.type);
        if (t?.kind === "int") this.g.normalize(R0, 8, t.size, t.signed);
        return;
      }
      case "call":
        if (["ksym", "usym", "uptr", "kptr"].includes(e.fn)) return this.int(e.args[0]);
        if (e.fn === "bswap") {
          // bpftrace's bswap: within the argument's size (a byte is left as it is)
          this.int(e.args[0]);
          const t = this.type(e);
          const size = t.kind === "int" ? t.size : 8;
          if (size === 2) a.be16(R0);
          else if (size === 4) a.be32(R0);
          else if (size === 8) a.be64(R0);
          return;
        }
        if (e.fn === "strftime") return this.int(e.args[1]); // the time; the format is its type's
        if (e.fn === "cgroupid" && e.args[0].op === "str") {
          this.g.constant(R0, BigInt(cgroupId(e.args[0].value, exprText(e))));
          return;
        }
        if (e.fn === "kaddr" && e.args[0].op === "str") {
          this.g.constant(R0, symbolAddress(e.args[0].value));
          return;
        }
        if (e.fn === "reg" && e.args[0].op === "str") {
          a.ldxdw(R0, R6, PT_REGS[e.args[0].value]);
          return;
        }
        if (e.fn === "strncmp") return this.strncmp(e);
        throw this.notInt(e);
      default:
        throw this.notInt(e);
    }
  }

  /** For a read through a pointer: evaluates the pointer into its slot. */
  pointer(e: IrExpr): void {
    const root = this.pt.roots.get(e);
    if (!root) return;
    this.int(root);
    this.a.stxdw(R10, POINTER_SLOT, R0);
  }

  notInt(e: IrExpr): ProbeCompileError {
    return new ProbeCompileError(`${exprText(e)} is not an integer`, { expression: exprText(e) });
  }

  /** R0 = (R0 == 0) when `negate`, else (R0 != 0). */
  truth(negate: boolean): void {
    const a = this.a;
    const l = this.g.fresh("bool");
    a.mov64(R1, R0).mov64(R0, negate ? 1 : 0).jeq(R1, 0, l).mov64(R0, negate ? 0 : 1);
    this.g.label(l);
  }

  builtin(e: IrExpr & { op: "builtin" }): void {
    const a = this.a;
    switch (e.name) {
      case "nsecs":
        a.call("ktime_get_ns");
        return;
      case "elapsed": {
        this.elapsed = true;
        a.call("ktime_get_ns").loadMapValue(R1, "globals", GLOBAL_START).ldxdw(R1, R1, 0)
          .sub64(R0, R1);
        return;
      }
      case "pid":
      case "tid":
      case "uid":
      case "gid":
      case "cpu":
        this.g.int({ type: "int", src: { from: "builtin", name: e.name }, size: 8, signed: false });
        return;
      case "cgroup":
        a.call("get_current_cgroup_id");
        return;
      case "rand":
        a.call("get_prandom_u32");
        return;
      case "curtask":
        a.call("get_current_task");
        return;
      case "numaid":
        a.call("get_numa_node_id");
        return;
      case "username": // the uid; user space prints its name
        a.call("get_current_uid_gid").mov32(R0, R0);
        return;
      case "ctx":
        a.mov64(R0, R6);
        return;
      default:
        throw this.notInt(e);
    }
  }

  binary(e: IrExpr & { op: "binary" }): void {
    const a = this.a;
    const op = e.operator;
    if (op === "&&" || op === "||") {
      const end = this.g.fresh("logic");
      this.int(e.left);
      this.truth(false);
      a.jeq(R0, op === "&&" ? 0 : 1, end);
      this.int(e.right);
      this.truth(false);
      this.g.label(end);
      return;
    }
    const lt = this.type(e.left);
    const rt = this.type(e.right);
    if (lt.kind === "str" || rt.kind === "str") return this.strCompare(e, lt, rt);
    if (lt.kind === "array") {
      return this.wholeCompare(e, sizeOfType(lt), (x, off) => this.store(x, lt, R10, off));
    }
    // As bpftrace: signed only when both sides are (a mixed comparison is unsigned).
    const signed = lt.kind === "int" && lt.signed && rt.kind === "int" && rt.signed;
    let rhs: Register | number;
    const r = e.right;
    // An immediate divisor of 0 is refused by the verifier ("div by zero"); in a register
    // it gives what BPF gives (x / 0 = 0, x % 0 = x).
    const zeroDivisor = (op === "/" || op === "%") && r.op === "int" && r.value === 0n;
    const scale = this.pt.scale.get(e);
    if (scale?.side === "left") {
      // int + pointer: the integer counts pointees
      this.int(e.right);
      rhs = R1;
      this.scoped(() => {
        const tmp = this.alloc(8, exprText(e));
        a.stxdw(R10, tmp, R0);
        this.int(e.left);
        a.mul64(R0, scale.size).ldxdw(R1, R10, tmp);
      });
    } else if (r.op === "int" && r.value >= -(1n << 31n) && r.value < 1n << 31n && !zeroDivisor) {
      this.int(e.left);
      rhs = Number(r.value) * (scale?.size ?? 1);
    } else {
      this.scoped(() => {
        const tmp = this.alloc(8, exprText(e));
        this.int(e.left);
        a.stxdw(R10, tmp, R0);
        this.int(e.right);
        if (scale) a.mul64(R0, scale.size);
        a.mov64(R1, R0).ldxdw(R0, R10, tmp);
      });
      rhs = R1;
    }
    const cmp = COMPARE[op];
    if (cmp) {
      const yes = this.g.fresh("cmp");
      a.mov64(R2, R0).mov64(R0, 1);
      cmp(a, signed, R2, rhs, yes);
      a.mov64(R0, 0);
      this.g.label(yes);
      return;
    }
    this.arith(op, R0, rhs);
  }

  /** strncmp(a, b, n): 0 when the first n bytes (up to a NUL in both) are equal, else 1. */
  strncmp(e: IrExpr & { op: "call" }): void {
    const a = this.a;
    const [x, y, n] = e.args;
    const lx = this.type(x);
    const ly = this.type(y);
    const len = Math.max(lx.kind === "str" ? lx.len : 8, ly.kind === "str" ? ly.len : 8);
    const count = Math.min(len, n.op === "int" ? Number(n.value) : 0);
    this.scoped(() => {
      const l = this.alloc(len, exprText(e));
      const r = this.alloc(len, exprText(e));
      this.str(x, len, R10, l);
      this.str(y, len, R10, r);
      const end = this.g.fresh("strncmp");
      a.mov64(R0, 1);
      for (let i = 0; i < count; i++) {
        a.ldxb(R1, R10, l + i).ldxb(R2, R10, r + i).jne(R1, R2, end).jeq(R1, 0, `${end}_eq`);
      }
      this.g.label(`${end}_eq`);
      a.mov64(R0, 0);
      this.g.label(end);
    });
  }

  strCompare(e: IrExpr & { op: "binary" }, lt: IrType, rt: IrType): void {
    const len = Math.max(lt.kind === "str" ? lt.len : 8, rt.kind === "str" ? rt.len : 8);
    this.wholeCompare(e, len, (x, off) => this.str(x, len, R10, off));
  }

  /** `==`/`!=` of two values of `len` bytes (a multiple of 8) that `fill` writes zero-padded. */
  wholeCompare(
    e: IrExpr & { op: "binary" },
    len: number,
    fill: (x: IrExpr, off: number) => void,
  ): void {
    const a = this.a;
    this.scoped(() => {
      const l = this.alloc(len, exprText(e));
      const r = this.alloc(len, exprText(e));
      fill(e.left, l);
      fill(e.right, r);
      const differ = this.g.fresh("differ");
      const end = this.g.fresh("strcmp");
      // Compare up to the first NUL of the left side: bytes after it are zero on both sides
      // only when the strings are equal, and both buffers are zero-padded.
      for (let i = 0; i < len; i += 8) {
        a.ldxdw(R1, R10, l + i).ldxdw(R2, R10, r + i).jne(R1, R2, differ);
      }
      a.mov64(R0, e.operator === "==" ? 1 : 0).ja(end);
      this.g.label(differ);
      a.mov64(R0, e.operator === "==" ? 0 : 1);
      this.g.label(end);
    });
  }
}

type Comparer = (a: Assembler, s: boolean, l: Register, r: Register | number, t: string) => void;
const COMPARE: Record<string, Comparer | undefined> = {
  "==": (a, _s, l, r, t) => a.jeq(l, r, t),
  "!=": (a, _s, l, r, t) => a.jne(l, r, t),
  "<": (a, s, l, r, t) => s ? a.jslt(l, r, t) : a.jlt(l, r, t),
  "<=": (a, s, l, r, t) => s ? a.jsle(l, r, t) : a.jle(l, r, t),
  ">": (a, s, l, r, t) => s ? a.jsgt(l, r, t) : a.jgt(l, r, t),
  ">=": (a, s, l, r, t) => s ? a.jsge(l, r, t) : a.jge(l, r, t),
};

/** Generates the program of one probe at one point. */
export function compileScriptProgram(
  input: {
    env: PointEnv;
    types: ProgramTypes;
    filter?: IrExpr;
    body: readonly IrStmt[];
  },
  maps: ReadonlyMap<string, MapLayout>,
  actions: ActionTable,
): ScriptProgram {
  const p = new ProgramGen(input.env, input.types, maps, actions);
  p.program(input.filter, input.body);
  return { asm: p.a, stacks: p.stacks, elapsed: p.elapsed };
}

/**
 * The verifier's refusal of the program of `point` in terms of the script:
 * the statement whose code the verifier stopped at (from the instructions'
 * source, `line:column` for bpftrace sources), its reason and its last lines.
 */
export function explainVerifier(
  e: VerifierError,
  point: string,
  asm: Assembler,
): ProbeCompileError {
  let insn = -1;
  for (const line of e.log.split("\n")) {
    const m = /^(\d+): \(/.exec(line);
    if (m) insn = Number(m[1]);
  }
  let text: string | undefined;
  let where = "";
  let slot = 0;
  for (const i of insn >= 0 ? asm.instructions : []) {
    if (slot + i.slots > insn) {
      text = i.source?.text;
      if (i.source?.line) where = ` (line ${i.source.line}:${i.source.column ?? 0})`;
      break;
    }
    slot += i.slots;
  }
  const last = e.log.split("\n").filter((l) => l.trim()).slice(-4).join("\n");
  return new ProbeCompileError(
    `the verifier refused the program of ${point}` + (text ? ` at ${text}${where}` : "") +
      `: ${e.reason || e.summary}\n${last}`,
    { expression: text, cause: e },
  );
}
