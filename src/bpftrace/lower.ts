/**
 * Lowering of a bpftrace syntax tree to the probe IR
 * ({@linkcode ScriptIr}), with the checks bpftrace's semantic analyser
 * makes before code generation: unknown functions and identifiers,
 * argument counts, aggregations not assigned to a map, builtins used in
 * probes that lack them, undefined variables and maps, a map used both as
 * an aggregation and a value. A construct this compiler does not support
 * yet is an error naming it.
 *
 * @module
 */

import type { BtExpr, BtProbe, BtProgram, BtStmt, Loc } from "./ast.ts";
import { BpftraceError, formatReport } from "./errors.ts";
import { parsePrintfFormat } from "../probe/printf.ts";
import { perfEventPoint } from "../probe/perf_events.ts";
import type {
  IrAggregation,
  IrBinaryOp,
  IrBuiltin,
  IrExpr,
  IrFunction,
  IrPoint,
  IrPointKind,
  IrStmt,
  ScriptIr,
  SourceSpan,
} from "../probe/ir.ts";

/** The operators of `@m[k] op= v`. */
type UpdateOp = (IrStmt & { op: "map_update" })["operator"];

/** Options of {@linkcode lowerBpftrace}. */
export interface LowerBpftraceOptions {
  /** The source (for error reports and node spans). */
  source?: string;
  /** The file name errors print (default `stdin`). */
  file?: string;
  /** Positional parameters `$1`, `$2`… as given on the command line. */
  params?: readonly string[];
  /** `-p PID`: uprobes and USDT attach to this process only. */
  pid?: number;
  /** `-c CMD`: the command's process id, the value of `cpid`. */
  cpid?: number;
  /**
   * Whether a struct or union (`"struct task_struct"`) exists, for casts
   * (default: any does; the back end resolves them).
   */
  recordExists?: (name: string) => boolean;
  /**
   * Receives each warning bpftrace 0.17 prints for the program (code after
   * a `break`, `continue` or `return`; `print()` in a loop), as its report
   * (`stdin:1:9-14: WARNING: …`, the line, a marker). bpftrace prints them
   * on stderr as it finds them.
   */
  warn?: (report: string) => void;
  /** bpftrace's --unsafe: allows `system()` and `signal()` (default: refused, as bpftrace does). */
  unsafe?: boolean;
  /** Object-like macros (`#define`), looked up for identifiers before `constant`. */
  defines?: ReadonlyMap<string, string>;
  /**
   * The value of an identifier that is not a builtin (an enum constant or a
   * macro of an included header); undefined when unknown.
   */
  constant?: (name: string) => bigint | undefined;
}

/** bpftrace's probe type names and short forms, to the IR kind. */
const PROBE_KINDS: Record<string, IrPointKind | "unsupported"> = {
  BEGIN: "begin",
  END: "end",
  tracepoint: "tracepoint",
  t: "tracepoint",
  rawtracepoint: "raw_tracepoint",
  rt: "raw_tracepoint",
  kfunc: "fentry",
  f: "fentry",
  fentry: "fentry",
  kretfunc: "fexit",
  fr: "fexit",
  fexit: "fexit",
  kprobe: "kprobe",
  k: "kprobe",
  kretprobe: "kretprobe",
  kr: "kretprobe",
  uprobe: "uprobe",
  u: "uprobe",
  uretprobe: "uretprobe",
  ur: "uretprobe",
  usdt: "usdt",
  U: "usdt",
  profile: "profile",
  p: "profile",
  interval: "interval",
  i: "interval",
  software: "software",
  s: "software",
  hardware: "hardware",
  h: "hardware",
  watchpoint: "unsupported",
  w: "unsupported",
  asyncwatchpoint: "unsupported",
  aw: "unsupported",
  iter: "unsupported",
  it: "unsupported",
};

/** Point kinds with an `args` builtin in bpftrace 0.17. */
const ARGS_KINDS: IrPointKind[] = ["tracepoint", "fentry", "fexit", "uprobe", "uretprobe"];

/** bpftrace's names of point kinds, where they differ from the IR's. */
const PROBE_TYPE_NAMES: Partial<Record<IrPointKind, string>> = {
  begin: "BEGIN",
  end: "END",
  raw_tracepoint: "rawtracepoint",
  fentry: "kfunc",
  fexit: "kretfunc",
};

const AGGREGATIONS: Record<string, number> = {
  count: 0,
  sum: 1,
  avg: 1,
  min: 1,
  max: 1,
  stats: 1,
  hist: 1,
  lhist: 4,
};

/** Functions with a value: [min args, max args]. */
const VALUE_FUNCTIONS: Record<string, [number, number]> = {
  str: [1, 2],
  buf: [1, 2],
  ksym: [1, 1],
  usym: [1, 1],
  kaddr: [1, 1],
  uaddr: [1, 1],
  ntop: [1, 2],
  kstack: [0, 2],
  ustack: [0, 2],
  reg: [1, 1],
  strncmp: [3, 3],
  sizeof: [1, 1],
  uptr: [1, 1],
  kptr: [1, 1],
  bswap: [1, 1],
  cgroupid: [1, 1],
  strftime: [2, 2],
  macaddr: [1, 1],
  pton: [1, 1],
};

/** Functions that are statements: [min args, max args]. */
const STATEMENT_FUNCTIONS: Record<string, [number, number]> = {
  printf: [1, Infinity],
  cat: [1, Infinity],
  system: [1, Infinity],
  signal: [1, 1],
  print: [1, 3],
  clear: [1, 1],
  zero: [1, 1],
  delete: [1, 1],
  exit: [0, 0],
  time: [0, 1],
  join: [1, 2],
};

/** bpftrace functions this compiler knows but does not support yet. */
const UNSUPPORTED_FUNCTIONS = new Set([
  "override",
  "path",
  "skboutput",
  "printf_unsafe",
  "unwatch",
  "len",
  "has_key",
  "offsetof",
  "debugf",
  "errorf",
  "warnf",
  "percpu_kaddr",
  "strcontains",
  "socket_cookie",
]);

/** Builtins bpftrace 0.17 types uint64 whatever their width (what `sizeof` says of them). */
const U64_BUILTINS = new Set([
  "nsecs",
  "elapsed",
  "pid",
  "tid",
  "cgroup",
  "uid",
  "gid",
  "cpu",
  "rand",
  "numaid",
  "cpid",
]);

/** Point kinds where bpftrace 0.17 allows signal(). */
const SIGNAL_KINDS: IrPointKind[] = [
  "kprobe",
  "kretprobe",
  "uprobe",
  "uretprobe",
  "usdt",
  "tracepoint",
  "profile",
  "fentry",
  "fexit",
  "raw_tracepoint",
  "tp_btf",
];

/** The signal names bpftrace 0.17 knows, and their numbers (Linux's). */
const SIGNALS: Record<string, number> = {
  SIGABRT: 6,
  SIGALRM: 14,
  SIGBUS: 7,
  SIGCHLD: 17,
  SIGCONT: 18,
  SIGFPE: 8,
  SIGHUP: 1,
  SIGILL: 4,
  SIGINT: 2,
  SIGKILL: 9,
  SIGPIPE: 13,
  SIGPOLL: 29,
  SIGQUIT: 3,
  SIGSEGV: 11,
  SIGSTOP: 19,
  SIGSYS: 31,
  SIGTERM: 15,
  SIGTRAP: 5,
  SIGTSTP: 20,
  SIGTTIN: 21,
  SIGTTOU: 22,
  SIGURG: 23,
  SIGUSR1: 10,
  SIGUSR2: 12,
  SIGVTALRM: 26,
  SIGWINCH: 28,
  SIGXCPU: 24,
  SIGXFSZ: 25,
};

/** Point kinds where bpftrace 0.17 has `ctx` (a pt_regs or perf event context). */
const CTX_KINDS: IrPointKind[] = [
  "kprobe",
  "kretprobe",
  "uprobe",
  "uretprobe",
  "usdt",
  "profile",
  "interval",
];

/** Builtins of bpftrace this compiler does not support yet. */
const UNSUPPORTED_BUILTINS = new Set<string>();

/**
 * Macros of the headers bpftrace scripts include, which kernel BTF does not
 * hold: a name resolves only when the script includes one of its headers
 * (as clang would define it for bpftrace).
 */
const HEADER_MACROS: { headers: string[]; values: Record<string, bigint> }[] = [
  {
    headers: ["sys/socket.h", "linux/socket.h", "net/sock.h", "bits/socket.h"],
    values: {
      AF_UNSPEC: 0n,
      AF_UNIX: 1n,
      AF_LOCAL: 1n,
      AF_INET: 2n,
      AF_INET6: 10n,
      AF_NETLINK: 16n,
      AF_PACKET: 17n,
      PF_INET: 2n,
      PF_INET6: 10n,
    },
  },
  {
    headers: ["signal.h", "linux/signal.h", "asm/signal.h"],
    values: { SIGKILL: 9n, SIGTERM: 15n },
  },
  {
    headers: ["errno.h", "linux/errno.h", "asm-generic/errno-base.h"],
    values: { EPERM: 1n, ENOENT: 2n, EAGAIN: 11n },
  },
  {
    headers: ["linux/sched.h"],
    values: { TASK_RUNNING: 0n, TASK_INTERRUPTIBLE: 1n, TASK_UNINTERRUPTIBLE: 2n },
  },
  {
    headers: ["fcntl.h", "linux/fcntl.h", "asm-generic/fcntl.h"],
    values: {
      O_RDONLY: 0n,
      O_WRONLY: 1n,
      O_RDWR: 2n,
      O_CREAT: 0o100n,
      O_TRUNC: 0o1000n,
      O_APPEND: 0o2000n,
    },
  },
];

/**
 * Lowers a parsed bpftrace program to the probe IR. Throws a
 * {@linkcode BpftraceError} naming the node at fault.
 */
export function lowerBpftrace(program: BtProgram, options: LowerBpftraceOptions = {}): ScriptIr {
  return new Lowering(program, options).run();
}

interface MapUse {
  /** `"value"` or the aggregation's name. */
  type: string;
  /** The type's name as bpftrace prints it, when known. */
  typeName?: string;
}

class Lowering {
  readonly #program: BtProgram;
  readonly #options: LowerBpftraceOptions;
  readonly #lines: string[];
  #maps = new Map<string, MapUse>();
  #vars = new Set<string>();
  /** Literal types of locals (`int64`, `string[N]`), when a literal was assigned. */
  #varTypes = new Map<string, string>();
  #kinds: IrPointKind[] = [];
  #mapRefs: { name: string; loc: Loc }[] = [];
  #errors: BpftraceError[] = [];
  /** How many `while` loops enclose the statement being lowered (`unroll` is none, as in bpftrace). */
  #loops = 0;
  /**
   * Statements the statement being lowered needs first: the updates of the
   * `++`/`--` inside its expressions (undefined where an expression cannot
   * have them: filters, loop conditions).
   */
  #prelude: { stmts: IrStmt[]; targets: Map<string, Loc> } | undefined;
  /** How deep the expression being lowered is in a part that may not run (ternary branch, `&&`/`||` right side). */
  #conditional = 0;
  #temps = 0;

  constructor(program: BtProgram, options: LowerBpftraceOptions) {
    this.#program = program;
    this.#options = options;
    this.#lines = (options.source ?? "").split("\n");
  }

  error(message: string, loc: Loc): BpftraceError {
    return new BpftraceError(message, {
      loc,
      source: this.#options.source,
      file: this.#options.file,
    });
  }

  spanLines(loc: Loc): SourceSpan {
    return { line: loc.line, column: loc.column, endLine: loc.endLine, endColumn: loc.endColumn };
  }

  span(loc: Loc): SourceSpan {
    const text = loc.line === loc.endLine
      ? this.#lines[loc.line - 1]?.slice(loc.column - 1, loc.endColumn - 1)
      : undefined;
    return { ...this.spanLines(loc), ...(text ? { text: text.trim() } : {}) };
  }

  run(): ScriptIr {
    const probes = this.#program.probes.flatMap((p) => this.recover(() => [this.probe(p)]));
    for (const ref of this.#mapRefs) {
      if (!this.#maps.has(ref.name)) {
        this.#errors.push(this.error(`Undefined map: ${ref.name}`, ref.loc));
      }
    }
    if (this.#errors.length) {
      const [first, ...also] = this.#errors;
      throw new BpftraceError(first.detail, {
        loc: first.loc,
        source: this.#options.source,
        file: this.#options.file,
      }, { also });
    }
    const structs = this.#program.structs.map((s) => ({
      name: s.name,
      members: s.members.map((m) => ({ name: m.name, type: m.type })),
      ...(s.name.startsWith("union ") ? { union: true } : {}),
      span: this.span(s.loc),
    }));
    return { probes, ...(structs.length ? { structs } : {}) };
  }

  probe(p: BtProbe): ScriptIr["probes"][number] {
    const points = p.points.map((ap) => {
      const point = this.point(ap.raw, ap.loc);
      const at = ap.checkLoc;
      // bpftrace's checks of the point against the system place it here
      return at ? { ...point, span: { ...point.span, ...this.spanLines(at) } } : point;
    });
    this.#kinds = points.map((pt) => pt.kind);
    this.#vars = new Set();
    this.#varTypes = new Map();
    const filter = p.predicate ? this.recover(() => [this.expr(p.predicate!)])[0] : undefined;
    const body = this.stmts(p.body, false);
    return { points, ...(filter ? { filter } : {}), body, span: this.span(p.loc) };
  }

  point(written: string, loc: Loc): IrPoint {
    // uprobe:$1:main: positional parameters stand for their text
    const raw = written.replace(
      /\$([0-9]+)/g,
      (_, i) => this.#options.params?.[Number(i) - 1] ?? "",
    );
    const colon = raw.indexOf(":");
    const type = colon < 0 ? raw : raw.slice(0, colon);
    const rest = colon < 0 ? "" : raw.slice(colon + 1);
    const kind = PROBE_KINDS[type];
    if (!kind) throw this.error(`Invalid probe type: ${type}`, loc);
    if (kind === "unsupported") throw this.error(`${type} probes are not supported yet`, loc);
    const span = this.span(loc);
    const parts = rest.split(":");
    const requires = (n: number) => this.error(`${type} probe type requires ${n} arguments`, loc);
    if (kind === "begin" || kind === "end") {
      if (colon >= 0) throw requires(0);
      return { kind, target: "", span };
    }
    if (kind === "software" || kind === "hardware") {
      const name = kind === "software" ? "software" : "hardware";
      if (!parts[0]) throw this.error(`${name} probe must have a ${name} event name`, loc);
      if (parts.length > 2) throw this.error(`${name} probe type requires 1 or 2 arguments`, loc);
      // bpftrace 0.17 reads the count with std::stoull and prints its exception's text
      if (parts[1] !== undefined && !/^[0-9]+$/.test(parts[1])) throw this.error("stoull", loc);
      if (!perfEventPoint(kind, rest)) throw this.error(`${parts[0]} is not a ${name} probe`, loc);
      return { kind, target: rest, span };
    }
    if (!rest) {
      if (kind === "kprobe" || kind === "kretprobe") {
        throw this.error("kprobes should be attached to a function", loc);
      }
      throw requires(kind === "tracepoint" || kind === "profile" || kind === "interval" ? 2 : 1);
    }
    let target = rest;
    switch (kind) {
      case "tracepoint":
        if (parts.length !== 2 || !parts[0] || !parts[1]) throw requires(2);
        break;
      case "fentry":
      case "fexit":
      case "kprobe":
      case "kretprobe":
      case "raw_tracepoint":
        if (parts.length > 2) {
          throw this.error(`${type} probe takes at most a module and a name`, loc);
        }
        if (parts.length === 2 && parts[0] !== "vmlinux") {
          throw this.error(
            `${type} probes on module functions (${rest}) are not supported yet`,
            loc,
          );
        }
        target = parts[parts.length - 1];
        break;
      case "profile":
      case "interval": {
        if (parts.length === 1 && /^[0-9]+$/.test(parts[0]) && kind === "profile") {
          target = `hz:${parts[0]}`;
          break;
        }
        if (parts.length !== 2) throw requires(2);
        if (!["hz", "s", "ms", "us"].includes(parts[0])) {
          throw this.error(`${parts[0]} is not an accepted unit of time`, loc);
        }
        if (!/^[0-9]+$/.test(parts[1])) throw this.error(`invalid rate: ${parts[1]}`, loc);
        if (Number(parts[1]) === 0) {
          const what = kind === "profile" ? "profile frequency" : "interval";
          throw this.error(`${what} should be a positive integer`, loc);
        }
        break;
      }
      case "uprobe":
      case "uretprobe":
      case "usdt":
        if (parts.length < 2 && this.#options.pid === undefined) throw requires(2);
        return {
          kind,
          target,
          ...(this.#options.pid !== undefined ? { pid: this.#options.pid } : {}),
          span,
        };
    }
    return { kind, target, span };
  }

  /**
   * Lowers a list of statements; `nested` for the bodies of if, unroll and
   * while, where bpftrace 0.17 warns of code after a jump (not in a probe's
   * own body).
   */
  stmts(list: BtStmt[], nested = true): IrStmt[] {
    return list.flatMap((s, i) => {
      const out = this.recover(() => this.stmt(s));
      if (nested && s.kind === "jump" && i < list.length - 1) {
        this.warn(`All code after a '${s.word}' is unreachable.`, s.loc);
      }
      return out;
    });
  }

  /** Reports a warning through the `warn` option, as bpftrace prints it. */
  warn(message: string, loc: Loc): void {
    const { warn, source, file } = this.#options;
    warn?.(formatReport(message, file ?? "stdin", loc, source, "WARNING"));
  }

  /**
   * Runs `f`; a BpftraceError it throws is kept and the node left out, so
   * that the checks go on and every error is reported, as bpftrace's
   * semantic analyser reports them all.
   */
  recover<T>(f: () => T[]): T[] {
    try {
      return f();
    } catch (e) {
      if (!(e instanceof BpftraceError)) throw e;
      this.#errors.push(e);
      return [];
    }
  }

  stmt(s: BtStmt): IrStmt[] {
    const span = this.span(s.loc);
    switch (s.kind) {
      case "block":
        return this.stmts(s.body, false);
      case "if":
        return this.withPrelude(() => {
          const cond = this.expr(s.cond);
          const then = this.stmts(s.then);
          const els = s.else ? this.stmts(s.else) : undefined;
          return [{ op: "if", cond, then, ...(els ? { else: els } : {}), span }];
        }, (out) => [(out[0] as IrStmt & { op: "if" }).cond]);
      case "unroll": {
        const n = this.expr(s.count);
        if (n.op !== "int") throw this.error("unroll takes an integer literal", s.head);
        if (n.value > 100n) throw this.error("unroll maximum value is 100", s.head);
        if (n.value < 1n) throw this.error("unroll minimum value is 1", s.head);
        return [{ op: "unroll", count: Number(n.value), body: this.stmts(s.body), span }];
      }
      case "while": {
        const cond = this.withoutPrelude(() => this.expr(s.cond));
        this.#loops++;
        try {
          return [{ op: "while", cond, body: this.stmts(s.body), span: this.span(s.head) }];
        } finally {
          this.#loops--;
        }
      }
      case "jump":
        if (s.word !== "return" && !this.#loops) {
          throw this.error(`${s.word} used outside of a loop`, s.loc);
        }
        return [{ op: s.word, span }];
      case "assign":
        return this.withPrelude(() => [this.assign(s, span)]);
      case "expr":
        return this.withPrelude(() => this.exprStmt(s.expr, span));
    }
  }

  /**
   * Lowers one statement with the `++`/`--` of its expressions first (see
   * {@linkcode incDec}). `checked` picks the parts of the result to check
   * (default all): where they read a variable or map that one of those
   * updates, bpftrace's order (left to right, the update where it is) and
   * this one (the updates first) could differ, and the statement is refused.
   */
  withPrelude(f: () => IrStmt[], checked: (out: IrStmt[]) => unknown[] = (o) => o): IrStmt[] {
    const saved = this.#prelude;
    const prelude = this.#prelude = { stmts: [] as IrStmt[], targets: new Map<string, Loc>() };
    let out: IrStmt[];
    try {
      out = f();
    } finally {
      this.#prelude = saved;
    }
    if (!prelude.stmts.length) return out;
    const text = irText(checked(out));
    for (const [t, loc] of prelude.targets) {
      const read = t.startsWith("@")
        ? `"map":${JSON.stringify(t)}`
        : `"op":"var","name":${JSON.stringify(t)}`;
      if (text.includes(read)) {
        throw this.error(
          `${t} read beside its own ++ or -- in one statement is not supported yet (split the statement)`,
          loc,
        );
      }
    }
    return [...prelude.stmts, ...out];
  }

  /** Runs `f` where an expression may not hold `++`/`--`. */
  withoutPrelude<T>(f: () => T): T {
    const saved = this.#prelude;
    this.#prelude = undefined;
    try {
      return f();
    } finally {
      this.#prelude = saved;
    }
  }

  /** Runs `f` for a part of an expression that may not run (no `++`/`--` can be hoisted out of it). */
  conditional<T>(f: () => T): T {
    this.#conditional++;
    try {
      return f();
    } finally {
      this.#conditional--;
    }
  }

  /**
   * `x++`, `++x`, `x--`, `--x` inside an expression: the statement's prelude
   * updates the variable or map (and keeps its old value for the postfix
   * forms in a variable of its own), and the expression reads that value.
   */
  incDec(e: BtExpr & { kind: "incdec" }, span: SourceSpan): IrExpr {
    const prelude = this.#prelude;
    const arg = e.arg;
    if (!prelude || this.#conditional || (arg.kind !== "var" && arg.kind !== "map")) {
      throw this.error(
        `${e.operator} inside an expression is not supported yet here (use it as a statement)`,
        e.loc,
      );
    }
    const update = this.exprStmt({ ...e, prefix: true }, span);
    const current: IrExpr = arg.kind === "var" ? { op: "var", name: arg.name, span } : (() => {
      const key = this.mapKey(arg.keys);
      if (/"op":"(call|map_get|map_has)"|"name":"(nsecs|elapsed|rand|jiffies)"/.test(irText(key))) {
        throw this.error(
          `${e.operator} of a map element whose key calls or reads a clock or a map inside an expression is not supported yet`,
          e.loc,
        );
      }
      return { op: "map_get", map: arg.name, ...(key ? { key } : {}), span };
    })();
    const temp = `$__denobpf_incdec${++this.#temps}`;
    this.#vars.add(temp);
    const keep: IrStmt = { op: "let", name: temp, value: current, span };
    // prefix: the new value; postfix: the old one
    prelude.stmts.push(...(e.prefix ? [...update, keep] : [keep, ...update]));
    prelude.targets.set(arg.name, e.loc);
    return { op: "var", name: temp, span };
  }

  mapKey(keys: BtExpr[] | undefined): IrExpr | undefined {
    if (!keys || keys.length === 0) return undefined;
    if (keys.length === 1) return this.expr(keys[0]);
    const first = keys[0].loc, last = keys[keys.length - 1].loc;
    return {
      op: "tuple",
      elems: keys.map((k) => this.expr(k)),
      span: this.span({ ...first, endLine: last.endLine, endColumn: last.endColumn }),
    };
  }

  /** Records that `map` holds `use`; a different kind of use is bpftrace's type mismatch. */
  useMap(name: string, use: MapUse, loc: Loc): void {
    const had = this.#maps.get(name);
    if (!had) {
      this.#maps.set(name, use);
      return;
    }
    const now = use.typeName ?? use.type;
    const before = had.typeName ?? had.type;
    if (had.type === "value" && !had.typeName) return; // the back end knows the value's type
    if (use.type === "value" && !use.typeName) return;
    if (had.type === use.type && before.replace(/\[.*/, "") === now.replace(/\[.*/, "")) return;
    throw this.error(
      `Type mismatch for ${name}: trying to assign value of type '${now}' when map already contains a value of type '${before}`,
      loc,
    );
  }

  assign(s: BtStmt & { kind: "assign" }, span: SourceSpan): IrStmt {
    const t = s.target;
    if (t.kind === "var") {
      if (s.operator !== "=" && !this.#vars.has(t.name)) {
        throw this.error(`Undefined or undeclared variable: ${t.name}`, t.loc);
      }
      const value = s.operator === "=" ? this.expr(s.value) : this.binaryOf(
        s.operator.slice(0, -1),
        { op: "var", name: t.name },
        this.expr(s.value),
        span,
      );
      const now = s.operator === "=" ? literalType(value) : undefined;
      const before = this.#varTypes.get(t.name);
      if (now && before && now.replace(/\[.*/, "") !== before.replace(/\[.*/, "")) {
        throw this.error(
          `Type mismatch for ${t.name}: trying to assign value of type '${now}' when variable already contains a value of type '${before}'`,
          s.opLoc,
        );
      }
      if (now) this.#varTypes.set(t.name, now);
      this.#vars.add(t.name);
      return { op: "let", name: t.name, value, span };
    }
    const key = this.mapKey(t.keys);
    const v = s.value;
    if (s.operator === "=" && v.kind === "call" && v.name in AGGREGATIONS) {
      const fn = v.name as IrAggregation;
      this.checkArgs(v.name, v.args.length, [AGGREGATIONS[v.name], AGGREGATIONS[v.name]], v.loc);
      this.useMap(t.name, { type: fn, typeName: fn }, t.loc);
      return {
        op: "aggregate",
        map: t.name,
        ...(key ? { key } : {}),
        fn,
        args: v.args.map((a) => this.expr(a)),
        span,
      };
    }
    const value = this.expr(v);
    if (s.operator === "=") {
      this.useMap(t.name, { type: "value", typeName: literalType(value) }, t.loc);
      return { op: "map_set", map: t.name, ...(key ? { key } : {}), value, span };
    }
    this.useMap(t.name, { type: "value", typeName: "int64" }, t.loc);
    return {
      op: "map_update",
      map: t.name,
      ...(key ? { key } : {}),
      operator: s.operator.slice(0, -1) as UpdateOp,
      value,
      span,
    };
  }

  binaryOf(operator: string, left: IrExpr, right: IrExpr, span: SourceSpan): IrExpr {
    return { op: "binary", operator: operator as IrBinaryOp, left, right, span };
  }

  exprStmt(e: BtExpr, span: SourceSpan): IrStmt[] {
    if (e.kind === "incdec" && (e.arg.kind === "map" || e.arg.kind === "var")) {
      const operator = e.operator === "++" ? "+" : "-";
      const one: IrExpr = { op: "int", value: 1n };
      if (e.arg.kind === "var") {
        if (!this.#vars.has(e.arg.name)) {
          throw this.error(`Undefined or undeclared variable: ${e.arg.name}`, e.arg.loc);
        }
        return [{
          op: "let",
          name: e.arg.name,
          value: this.binaryOf(operator, { op: "var", name: e.arg.name }, one, span),
          span,
        }];
      }
      const key = this.mapKey(e.arg.keys);
      this.useMap(e.arg.name, { type: "value", typeName: "int64" }, e.arg.loc);
      return [{
        op: "map_update",
        map: e.arg.name,
        ...(key ? { key } : {}),
        operator,
        value: one,
        span,
      }];
    }
    if (e.kind !== "call") {
      return [{ op: "expr", value: this.expr(e), span }];
    }
    const name = e.name;
    const limits = STATEMENT_FUNCTIONS[name];
    if (!limits) return [{ op: "expr", value: this.expr(e), span }];
    if ((name === "system" || name === "signal") && !this.#options.unsafe) {
      // reported first, and the checks go on (bpftrace prints both)
      this.#errors.push(
        this.error(`${name}() is an unsafe function being used in safe mode`, e.loc),
      );
    }
    this.checkArgs(name, e.args.length, limits, e.loc);
    const a = e.args;
    switch (name) {
      case "signal":
        return [{ op: "signal", signal: this.signal(e), span }];
      case "printf":
      case "cat":
      case "system": {
        if (a[0].kind !== "string") {
          throw this.error(
            `${name}() expects a string literal (${kindName(a[0])} provided)`,
            e.loc,
          );
        }
        let want: number;
        try {
          want = parsePrintfFormat(a[0].value).conversions.length;
        } catch (err) {
          throw this.error(err instanceof Error ? err.message : String(err), e.loc);
        }
        const got = a.length - 1;
        if (got !== want) {
          throw this.error(
            `${name}: ${got < want ? "Not enough" : "Too many"} arguments for format string ` +
              `(${got} supplied, ${want} expected)`,
            e.loc,
          );
        }
        return [{
          op: name,
          format: a[0].value,
          args: a.slice(1).map((x) => this.expr(x)),
          span,
        }];
      }
      case "print": {
        if (this.#loops) {
          this.warn(
            "Due to it's asynchronous nature using 'print()' in a loop can lead to unexpected " +
              "behavior. The map will likely be updated before the runtime can 'print' it.",
            e.loc,
          );
        }
        if (a[0].kind === "map" && !a[0].keys) {
          this.#mapRefs.push({ name: a[0].name, loc: a[0].loc });
          const top = a[1] ? this.intArg(a[1], "print") : undefined;
          const div = a[2] ? this.intArg(a[2], "print") : undefined;
          return [{
            op: "print",
            map: a[0].name,
            ...(top !== undefined ? { top } : {}),
            ...(div !== undefined ? { div } : {}),
            span,
          }];
        }
        if (a.length > 1) throw this.error("Non-map print() only takes 1 argument", e.loc);
        return [{ op: "print_value", value: this.expr(a[0]), span }];
      }
      case "clear":
      case "zero": {
        if (a[0].kind !== "map") throw this.error(`${name}() expects a map to be provided`, e.loc);
        if (a[0].keys) {
          throw this.error(`The map passed to ${name}() should not be indexed by a key`, e.loc);
        }
        this.#mapRefs.push({ name: a[0].name, loc: a[0].loc });
        return [{ op: name, map: a[0].name, span }];
      }
      case "delete": {
        if (a[0].kind !== "map") {
          throw this.error("delete() expects a map to be provided", a[0].loc);
        }
        this.#mapRefs.push({ name: a[0].name, loc: a[0].loc });
        const key = this.mapKey(a[0].keys);
        return [{ op: "map_delete", map: a[0].name, ...(key ? { key } : {}), span }];
      }
      case "exit":
        return [{ op: "exit", span }];
      case "time": {
        if (a[0] && a[0].kind !== "string") {
          throw this.error(`time() expects a string literal (${kindName(a[0])} provided)`, e.loc);
        }
        return [{ op: "time", format: a[0]?.kind === "string" ? a[0].value : "%H:%M:%S\n", span }];
      }
      default: // join
        return [{ op: "expr", value: this.call(e, true), span }];
    }
  }

  /** signal(SIG): bpftrace 0.17's checks (where, which names and numbers), the number to send. */
  signal(e: BtExpr & { kind: "call" }): IrExpr {
    const bad = this.#kinds.find((k) => !SIGNAL_KINDS.includes(k));
    if (bad) {
      throw this.error(
        `signal can not be used with "${PROBE_TYPE_NAMES[bad] ?? bad}" probes`,
        e.loc,
      );
    }
    const arg = e.args[0];
    if (arg.kind === "string") {
      let sig = arg.value.toUpperCase();
      if (sig && sig[0] !== "S") sig = `SIG${sig}`;
      const n = SIGNALS[sig];
      if (!n) throw this.error(`${arg.value} is not a valid signal`, e.loc);
      return { op: "int", value: BigInt(n), span: this.span(arg.loc) };
    }
    const v = this.expr(arg);
    if (v.op === "int" && (v.value < 1n || v.value > 64n)) {
      throw this.error(`${v.value} is not a valid signal, allowed range: [1,64]`, e.loc);
    }
    if (kindName(arg) !== "integer") {
      throw this.error("signal only accepts string literals or integers", e.loc);
    }
    return v;
  }

  intArg(e: BtExpr, fn: string): number {
    const v = this.expr(e);
    if (v.op !== "int") throw this.error(`${fn}() expects an integer literal here`, e.loc);
    return Number(v.value);
  }

  checkArgs(name: string, n: number, [min, max]: [number, number], loc: Loc): void {
    const words = (k: number) => k === 1 ? "one argument" : `${k} arguments`;
    if (min === max && n !== min) {
      const need = min === 0 ? "no arguments" : words(min);
      throw this.error(`${name}() requires ${need} (${n} provided)`, loc);
    }
    if (n < min) throw this.error(`${name}() requires at least ${words(min)} (${n} provided)`, loc);
    if (n > max) throw this.error(`${name}() takes up to ${max} arguments (${n} provided)`, loc);
  }

  call(e: BtExpr & { kind: "call" }, statement = false): IrExpr {
    const name = e.name;
    const nameLoc = { ...e.loc, endLine: e.loc.line, endColumn: e.loc.column + name.length };
    if (name in AGGREGATIONS) {
      throw this.error(`${name}() should be directly assigned to a map`, e.loc);
    }
    if (name in STATEMENT_FUNCTIONS && !(statement && name === "join")) {
      throw this.error(`${name}() should be used as a statement, not as a value`, e.loc);
    }
    if (UNSUPPORTED_FUNCTIONS.has(name)) throw this.error(`${name}() is not supported yet`, e.loc);
    const limits = VALUE_FUNCTIONS[name] ?? STATEMENT_FUNCTIONS[name];
    if (!limits) throw this.error(`Unknown function: ${name}`, nameLoc);
    this.checkArgs(name, e.args.length, limits, e.loc);
    if (name === "sizeof") {
      const size = this.sizeofValue(e.args[0], e.loc);
      if (size !== undefined) return { op: "int", value: BigInt(size), span: this.span(e.loc) };
    }
    const args = e.args.map((a, i): IrExpr => {
      // str($1): a positional parameter as a string
      if (a.kind === "positional" && i === 0 && name === "str") {
        return { op: "str", value: this.#options.params?.[a.index - 1] ?? "" };
      }
      // kstack(perf, 3): the mode is a bare word
      if (a.kind === "ident" && (name === "kstack" || name === "ustack") && i === 0) {
        if (a.name !== "perf" && a.name !== "bpftrace") {
          throw this.error(`${name}: invalid stack mode: ${a.name}`, a.loc);
        }
        return { op: "str", value: a.name };
      }
      return this.expr(a);
    });
    if (name === "str" && args[0].op === "str" && args.length === 1) return args[0];
    return { op: "call", fn: name as IrFunction, args, span: this.span(e.loc) };
  }

  builtin(e: BtExpr & { kind: "builtin" }): IrExpr {
    const name = e.name;
    const span = this.span(e.loc);
    if (UNSUPPORTED_BUILTINS.has(name)) {
      throw this.error(`the ${name} builtin is not supported yet`, e.loc);
    }
    const sarg = /^sarg([0-9]+)$/.exec(name);
    if (sarg) {
      if (this.#kinds.some((k) => !["kprobe", "uprobe"].includes(k))) {
        throw this.error(
          `The ${name} builtin can only be used with 'kprobes' and 'uprobes' probes`,
          e.loc,
        );
      }
      // The Nth 8-byte word above the return address: *(uint64 *)(sp + 8 * (N + 1)).
      const at: IrExpr = {
        op: "binary",
        operator: "+",
        left: { op: "call", fn: "reg", args: [{ op: "str", value: "sp" }] },
        right: { op: "int", value: 8n * (BigInt(sarg[1]) + 1n) },
      };
      return { op: "deref", arg: { op: "cast", type: "uint64 *", arg: at }, span };
    }
    if (name === "ctx") {
      if (this.#kinds.includes("tracepoint")) {
        throw this.error("Use args instead of ctx in tracepoint", e.loc);
      }
      if (this.#kinds.some((k) => !CTX_KINDS.includes(k))) {
        throw this.error("invalid program type", e.loc);
      }
    }
    if (name === "cpid") {
      const cpid = this.#options.cpid;
      if (cpid === undefined) throw this.error("cpid cannot be used without child command", e.loc);
      return { op: "int", value: BigInt(cpid), span };
    }
    const arg = /^arg([0-9]+)$/.exec(name);
    if (arg) {
      if (this.#kinds.some((k) => !["kprobe", "uprobe", "usdt"].includes(k))) {
        throw this.error(
          `The ${name} builtin can only be used with 'kprobes', 'uprobes' and 'usdt' probes`,
          e.loc,
        );
      }
      return { op: "arg", index: Number(arg[1]), span };
    }
    if (name === "args") {
      const bad = this.#kinds.find((k) => !ARGS_KINDS.includes(k));
      if (bad) {
        throw this.error(
          `The args builtin can only be used with tracepoint/kfunc/uprobeprobes (${
            PROBE_TYPE_NAMES[bad] ?? bad
          } used here)`,
          e.loc,
        );
      }
    }
    if (
      name === "retval" && this.#kinds.some((k) => !["kretprobe", "uretprobe", "fexit"].includes(k))
    ) {
      throw this.error(
        "The retval builtin can only be used with 'kretprobe' and 'uretprobe' and 'kfunc' probes",
        e.loc,
      );
    }
    if (
      name === "func" &&
      this.#kinds.some((k) =>
        !["kprobe", "kretprobe", "uprobe", "uretprobe", "fentry", "fexit"].includes(k)
      )
    ) {
      throw this.error(
        "The func builtin can not be used with '" + this.#kinds.find((k) =>
          !["kprobe", "kretprobe", "uprobe", "uretprobe", "fentry", "fexit"].includes(k)
        ) + "' probes",
        e.loc,
      );
    }
    return { op: "builtin", name: name as IrBuiltin, span };
  }

  /**
   * `sizeof(struct X)`, `sizeof(uint32)`: the back end's sizeof of a type
   * name. bpftrace 0.17 knows the script's and the kernel's structs and
   * unions and its own integer names (`int` is an unknown identifier, a
   * pointer type a syntax error), and names the whole call when it fails.
   */
  sizeofType(e: BtExpr & { kind: "sizeof" }): IrExpr {
    const stars = e.type.split("*").length - 1;
    if (stars) {
      // bpftrace's struct lexer reads each `*` twice: its location runs that much further.
      throw this.error("syntax error, unexpected )", {
        ...e.loc,
        endColumn: e.loc.endColumn + stars,
      });
    }
    const record = /^(struct|union|enum) /.test(e.type);
    if (record && (e.type.startsWith("enum ") || !this.recordExists(e.type))) {
      throw this.error(`Unknown identifier: '${e.type}'`, e.loc);
    }
    const arg: IrExpr = { op: "str", value: e.type };
    return { op: "call", fn: "sizeof", args: [arg], span: this.span(e.loc) };
  }

  /**
   * The size bpftrace gives `sizeof(arg)` where it differs from the back
   * end's type of the value: a string literal's bytes with its NUL, 8 for
   * the builtins bpftrace types uint64 (`pid`, `cpu`…); undefined for the
   * rest. An identifier that is no constant is unknown, at the call.
   */
  sizeofValue(arg: BtExpr, loc: Loc): number | undefined {
    if (arg.kind === "string") return new TextEncoder().encode(arg.value).length + 1;
    if (arg.kind === "builtin" && U64_BUILTINS.has(arg.name)) return 8;
    if (arg.kind === "ident" && !this.#options.defines?.has(arg.name)) {
      if (this.macro(arg.name) === undefined && this.#options.constant?.(arg.name) === undefined) {
        throw this.error(`Unknown identifier: '${arg.name}'`, {
          ...loc,
          endColumn: arg.loc.endColumn,
        });
      }
      return 8;
    }
    return undefined;
  }

  /** Whether a struct or union is declared by the script or known to the kernel. */
  recordExists(name: string): boolean {
    if (this.#program.structs.some((s) => s.name === name)) return true;
    return this.#options.recordExists?.(name) ?? true;
  }

  /** A macro of a header the script includes. */
  macro(name: string): bigint | undefined {
    for (const m of HEADER_MACROS) {
      if (name in m.values && m.headers.some((h) => this.#program.includes.includes(h))) {
        return m.values[name];
      }
    }
    return undefined;
  }

  ident(e: BtExpr & { kind: "ident" }): IrExpr {
    const span = this.span(e.loc);
    const def = this.#options.defines?.get(e.name);
    const n = def === undefined ? undefined : parseInteger(def);
    if (n !== undefined) return { op: "int", value: n, span };
    const v = this.macro(e.name) ?? this.#options.constant?.(e.name);
    if (v === undefined) throw this.error(`Unknown identifier: '${e.name}'`, e.loc);
    return { op: "int", value: v, span };
  }

  expr(e: BtExpr): IrExpr {
    const span = this.span(e.loc);
    switch (e.kind) {
      case "int":
        return { op: "int", value: e.value, span };
      case "string":
        return { op: "str", value: e.value, span };
      case "ident":
        return this.ident(e);
      case "builtin":
        return this.builtin(e);
      case "positional": {
        const text = this.#options.params?.[e.index - 1];
        if (text === undefined || text === "") return { op: "int", value: 0n, span };
        const v = parseInteger(text);
        if (v === undefined) {
          throw this.error(
            `$${e.index} used numerically but given "${text}". Try using str($${e.index}).`,
            e.loc,
          );
        }
        return { op: "int", value: v, span };
      }
      case "positional_count":
        return { op: "int", value: BigInt(this.#options.params?.length ?? 0), span };
      case "var":
        if (!this.#vars.has(e.name)) {
          throw this.error(`Undefined or undeclared variable: ${e.name}`, e.loc);
        }
        return { op: "var", name: e.name, span };
      case "map": {
        const key = this.mapKey(e.keys);
        this.#mapRefs.push({ name: e.name, loc: e.loc });
        return { op: "map_get", map: e.name, ...(key ? { key } : {}), span };
      }
      case "call":
        return this.call(e);
      case "unary":
        if (e.operator === "*") return { op: "deref", arg: this.expr(e.arg), span };
        return { op: "unary", operator: e.operator, arg: this.expr(e.arg), span };
      case "incdec":
        return this.incDec(e, span);
      case "binary": {
        const left = this.expr(e.left);
        const right = e.operator === "&&" || e.operator === "||"
          ? this.conditional(() => this.expr(e.right))
          : this.expr(e.right);
        return this.binaryOf(e.operator, left, right, span);
      }
      case "ternary":
        return {
          op: "ternary",
          cond: this.expr(e.cond),
          then: this.conditional(() => this.expr(e.then)),
          else: this.conditional(() => this.expr(e.else)),
          span,
        };
      case "field":
        return { op: "field", base: this.expr(e.base), name: e.name, span };
      case "index":
        return { op: "index", base: this.expr(e.base), index: this.expr(e.index), span };
      case "cast": {
        const record = /^((?:struct|union) \w+)/.exec(e.type)?.[1];
        if (record && !this.recordExists(record)) {
          throw this.error(`Unknown struct/union: '${record}'`, e.head);
        }
        return { op: "cast", type: e.type, arg: this.expr(e.arg), span };
      }
      case "tuple":
        return { op: "tuple", elems: e.elems.map((x) => this.expr(x)), span };
      case "sizeof":
        return this.sizeofType(e);
    }
  }
}

/** What bpftrace calls an argument's type in "expects a string literal (… provided)". */
function kindName(e: BtExpr): string {
  if (e.kind === "string" || (e.kind === "builtin" && e.name === "comm")) return "string";
  if (e.kind === "call" && (e.name === "str" || e.name === "ksym" || e.name === "usym")) {
    return "string";
  }
  if (e.kind === "map") return "map";
  if (e.kind === "tuple") return "tuple";
  return "integer";
}

/** bpftrace's name of a literal's type (`int64`, `string[N]`), or undefined when not a literal. */
function literalType(e: IrExpr): string | undefined {
  if (e.op === "int") return "int64";
  if (e.op === "str") return `string[${new TextEncoder().encode(e.value).length + 1}]`;
  return undefined;
}

/** An integer in C spelling (decimal, 0x hex, 0 octal, optional sign), or undefined. */
function parseInteger(text: string): bigint | undefined {
  const t = text.trim().replace(/[uUlL]+$/, "");
  const m = /^([-+]?)(0[xX][0-9a-fA-F]+|0[0-7]*|[1-9][0-9]*)$/.exec(t);
  if (!m) return undefined;
  const body = m[2];
  const v = /^0[0-7]+$/.test(body) ? BigInt("0o" + body.slice(1)) : BigInt(body);
  return m[1] === "-" ? -v : v;
}

/** IR as JSON text (bigints as their digits), to search it for a node. */
function irText(ir: unknown): string {
  return JSON.stringify(ir ?? null, (_, v) => typeof v === "bigint" ? `${v}` : v);
}
