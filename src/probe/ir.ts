/**
 * The probe IR: what a scripted probe program is, independent of how it was
 * written. Two front ends produce it, the TypeScript script builder
 * (`script()` in this entry) and the bpftrace compiler; one back end
 * (type check, code generation with the assembler, load, attach, print)
 * runs it. A script is a list of probes, each a point (or a glob of
 * points), an optional filter and a body of statements, plus the maps the
 * probes share. Map key and value types are inferred from their uses, as
 * bpftrace infers them.
 *
 * Every node may carry a {@linkcode SourceSpan} so that type errors and
 * verifier refusals name the expression (and, for bpftrace sources, its
 * line and column).
 *
 * ```ts ignore
 * // tracepoint:syscalls:sys_enter_read { @start[tid] = nsecs; }
 * // tracepoint:syscalls:sys_exit_read /@start[tid]/ {
 * //   @us = hist((nsecs - @start[tid]) / 1000); delete(@start[tid]);
 * // }
 * const tidKey: IrExpr = { op: "builtin", name: "tid" };
 * const ir: ScriptIr = {
 *   probes: [
 *     {
 *       points: [{ kind: "tracepoint", target: "syscalls:sys_enter_read" }],
 *       body: [{ op: "map_set", map: "@start", key: tidKey, value: { op: "builtin", name: "nsecs" } }],
 *     },
 *     {
 *       points: [{ kind: "tracepoint", target: "syscalls:sys_exit_read" }],
 *       filter: { op: "map_get", map: "@start", key: tidKey },
 *       body: [
 *         {
 *           op: "aggregate", map: "@us", fn: "hist",
 *           args: [{
 *             op: "binary", operator: "/", right: { op: "int", value: 1000n },
 *             left: {
 *               op: "binary", operator: "-",
 *               left: { op: "builtin", name: "nsecs" },
 *               right: { op: "map_get", map: "@start", key: tidKey },
 *             },
 *           }],
 *         },
 *         { op: "map_delete", map: "@start", key: tidKey },
 *       ],
 *     },
 *   ],
 * };
 * ```
 *
 * @module
 */

/** Where a node came from: a bpftrace source position, or a TypeScript expression's text. */
export interface SourceSpan {
  /** 1-based line of a bpftrace source. */
  line?: number;
  /** 1-based column of a bpftrace source. */
  column?: number;
  /** Line of the node's last character (a bpftrace source). */
  endLine?: number;
  /** 1-based column after the node's last character (a bpftrace source). */
  endColumn?: number;
  /** The source text of the node, for messages (e.g. `"nsecs - @start[tid]"`). */
  text?: string;
}

/** What any node may carry. */
export interface IrNode {
  /** Where the node came from. */
  span?: SourceSpan;
}

// ---------------------------------------------------------------- points

/**
 * Kinds of probe points. The ones a ProbePoint already has, and the three
 * that run in user space's time: `begin` (once, before any other probe
 * fires), `end` (once, at stop, before the maps are printed) and
 * `interval` (every `ms` milliseconds, on one CPU). The back end runs
 * begin/end/interval bodies as BPF programs too, so their statements mean
 * the same as anywhere else.
 */
export type IrPointKind =
  | "tracepoint"
  | "raw_tracepoint"
  | "tp_btf"
  | "fentry"
  | "fexit"
  | "kprobe"
  | "kretprobe"
  | "uprobe"
  | "uretprobe"
  | "usdt"
  | "profile"
  | "interval"
  | "software"
  | "hardware"
  | "begin"
  | "end";

/**
 * A probe point. `target` is the bpftrace spelling after the kind, and may
 * hold `*` and `?` globs, which expand to every matching point (one program
 * each, sharing the script's maps):
 *
 * - tracepoint: `"group:event"` (`"sched:sched_*"`);
 * - raw_tracepoint, tp_btf, fentry, fexit, kprobe, kretprobe: the event or
 *   function name (kprobe may add `+offset`);
 * - uprobe, uretprobe: `"path:function"` (path may be a library name such
 *   as `"c"` or `"libc"`); usdt: `"path:provider:name"` or `"path:name"`;
 * - software, hardware: a perf event and an optional count, `"page-faults:100"`,
 *   `"faults"`, `"cpu-cycles:1000000"` (bpftrace's names; on every CPU);
 * - profile: `"hz:99"`, `"ms:10"`, `"us:…"`, `"s:…"` (per CPU); interval:
 *   `"ms:100"`, `"s:1"`, `"us:…"`, `"hz:…"`; begin, end: `""`.
 *
 * `expandPoints` (in this entry) turns a point into the concrete points it
 * names, in bpftrace's order; it is meant to be called for every point, not
 * only globbed ones: without a glob it returns the point itself, except that
 * a uprobe/USDT library name becomes the library's path and a USDT
 * `"path:name"` becomes `"path:provider:name"` for each provider having it
 * (as bpftrace spells them in `probe`).
 */
export interface IrPoint extends IrNode {
  /** The kind of point. */
  kind: IrPointKind;
  /** The point, in bpftrace's spelling after `kind:` (see above). */
  target: string;
  /** uprobes and USDT: only this process. */
  pid?: number;
}

// ---------------------------------------------------------------- types

/**
 * Types of values, as the checker infers them. `int` is a 64-bit register
 * value with the size and sign it was read with (arithmetic is done on 64
 * bits, signed if either side is); `str`/`buf` are fixed-size byte arrays;
 * `stack` is a kernel or user stack; `ksym`/`usym` are addresses that print
 * as symbols; `record` is a kernel (BTF) or script-declared struct, read
 * through a pointer; `tuple` is an ordered group of values (a map key or
 * value); `inet` is an address family and 16 address bytes (`ntop()`),
 * printed as `inet_ntop` prints it; `timestamp` is nanoseconds since
 * boot printed as local time with a strftime format (`strftime()`); `mac`
 * is 6 bytes printed as a MAC address (`macaddr()`); `array` is `len`
 * integers of one type in a row (`pton()`'s bytes), printed as bpftrace
 * prints arrays (`[1,2,3,4]`); `none` is the type of statements' "no value".
 */
export type IrType =
  | { kind: "int"; size: 1 | 2 | 4 | 8; signed: boolean }
  | { kind: "str"; len: number }
  | { kind: "buf"; len: number }
  | {
    kind: "stack";
    user: boolean;
    frames?: number;
    /** bpftrace's stack mode: `perf` prints `\t<hex addr> <sym>` lines (user: `(module)` too). */
    mode?: "bpftrace" | "perf";
  }
  | { kind: "ksym" }
  | { kind: "usym"; pid?: number }
  | { kind: "ptr"; space: "kernel" | "user"; to: IrRecordRef | IrType }
  | {
    kind: "record";
    ref: IrRecordRef;
    /** A struct value read through a pointer (`*$p`, `$t->thread`): the memory it lies in. */
    space?: "kernel" | "user";
  }
  | { kind: "tuple"; elems: IrType[] }
  | { kind: "inet" }
  | { kind: "username" }
  | { kind: "timestamp"; format: string }
  | { kind: "mac" }
  | { kind: "array"; elem: { kind: "int"; size: 1 | 2 | 4 | 8; signed: boolean }; len: number }
  | { kind: "none" };

/** A struct or union type: from kernel BTF by name, or declared in the script. */
export interface IrRecordRef {
  /** `"struct task_struct"`, `"union bpf_attr"`, or a script-declared name. */
  name: string;
}

/** A struct declared by the script (bpftrace's `struct X { … }`), laid out with C rules. */
export interface IrStructDecl extends IrNode {
  /** Its name, as casts refer to it (`"struct X"`). */
  name: string;
  /** Members in order; a member type is a C type spelling (`"int"`, `"char[16]"`, `"struct Y *"`). */
  members: { name: string; type: string }[];
  /** Whether it is a union. */
  union?: boolean;
}

// ---------------------------------------------------------------- expressions

/** Builtin values, as bpftrace names them. */
export type IrBuiltin =
  | "nsecs"
  | "elapsed"
  | "pid"
  | "tid"
  | "uid"
  | "gid"
  | "cpu"
  | "comm"
  | "cgroup"
  | "retval"
  | "func"
  | "probe"
  | "curtask"
  | "rand"
  | "kstack"
  | "ustack"
  | "args"
  | "numaid" // the NUMA node of the CPU
  | "username" // the user name of uid (resolved in user space, as bpftrace does)
  | "ctx"; // the program's context: a struct pt_regs * (kprobes, uprobes) or bpf_perf_event_data *

/** Binary operators; `&&` and `||` short-circuit. */
export type IrBinaryOp =
  | "+"
  | "-"
  | "*"
  | "/"
  | "%"
  | "&"
  | "|"
  | "^"
  | "<<"
  | ">>"
  | "=="
  | "!="
  | "<"
  | "<="
  | ">"
  | ">="
  | "&&"
  | "||";

/**
 * C's (and bpftrace's) binding strength of each binary operator, 1 (`||`)
 * to 10 (`*`, `/`, `%`); all are left-associative. The bpftrace parser, the
 * checker's expression text and the script builder's rendering all use this
 * one table.
 */
export const BINARY_PRECEDENCE: Readonly<Record<IrBinaryOp, number>> = {
  "||": 1,
  "&&": 2,
  "|": 3,
  "^": 4,
  "&": 5,
  "==": 6,
  "!=": 6,
  "<": 7,
  "<=": 7,
  ">": 7,
  ">=": 7,
  "<<": 8,
  ">>": 8,
  "+": 9,
  "-": 9,
  "*": 10,
  "/": 10,
  "%": 10,
};

/** Functions that compute a value. */
export type IrFunction =
  | "str" // str(ptr [, len]): a NUL-terminated string from kernel or user memory
  | "buf" // buf(ptr, len): bytes, printed as \xNN escapes
  | "join" // join(argv [, sep]): a NULL-terminated array of strings, joined
  | "ksym" // ksym(addr): a kernel symbol
  | "usym" // usym(addr): a user symbol of the current process
  | "kaddr" // kaddr("name"): a kernel symbol's address
  | "uaddr" // uaddr("name"): a user symbol's address
  | "ntop" // ntop([af,] addr): an IP address as text
  | "bswap" // bswap(x): x's bytes reversed, within x's size (8, 16, 32 or 64 bits)
  | "cgroupid" // cgroupid("path"): the id of a cgroup v2 directory
  | "strftime" // strftime("format", nsecs): a time since boot, printed as local time
  | "macaddr" // macaddr(addr): 6 bytes (an array, or at an address) as a MAC address
  | "pton" // pton("1.2.3.4" or "::1"): the address's 4 or 16 bytes (an array), at compile time
  | "kstack" // kstack([mode,] [frames])
  | "ustack" // ustack([mode,] [frames])
  | "sizeof" // sizeof(type or expr)
  | "reg" // reg("ip"): a pt_regs register
  | "strncmp" // strncmp(a, b, n)
  | "uptr" // uptr(p): p points to user memory (reads through it are user reads)
  | "kptr" // kptr(p): p points to kernel memory
  | "pid_ns"; // reserved

/**
 * An expression.
 *
 * - `int`, `str`: literals;
 * - `builtin`: `nsecs`, `pid`, `comm`…; `arg` with `index` is `argN`;
 *   `args` is the probe's argument record (tracepoint fields, tp_btf/fentry
 *   parameters, USDT arguments), read through `field`;
 * - `field`: `base.name` or `base->name` (same meaning: pointers are
 *   followed); `index`: `base[i]` on arrays and pointers;
 * - `var`: a `$local`; `map_get`: `@m[key]` (0 or empty when absent);
 *   `map_has`: whether the key is present (`@m[key]` in a filter is
 *   `map_get`'s value being non-zero, as in bpftrace);
 * - `deref`: `*p`, the value `p` points to (a typed pointer's pointee; a
 *   struct pointer's struct, whose members are read where it lies; an
 *   integer address reads an integer of the address's own size);
 * - `unary`, `binary`, `ternary`; `call`; `cast` to an integer type
 *   (`"u32"`, `"int64"`…) or a record pointer (`"struct task_struct *"`);
 * - `tuple`: `(a, b)`.
 */
export type IrExpr =
  | (IrNode & { op: "int"; value: bigint })
  | (IrNode & { op: "str"; value: string })
  | (IrNode & { op: "builtin"; name: IrBuiltin })
  | (IrNode & { op: "arg"; index: number })
  | (IrNode & { op: "field"; base: IrExpr; name: string })
  | (IrNode & { op: "index"; base: IrExpr; index: IrExpr })
  | (IrNode & { op: "var"; name: string })
  | (IrNode & { op: "map_get"; map: string; key?: IrExpr })
  | (IrNode & { op: "map_has"; map: string; key?: IrExpr })
  | (IrNode & { op: "unary"; operator: "-" | "~" | "!"; arg: IrExpr })
  | (IrNode & { op: "deref"; arg: IrExpr })
  | (IrNode & { op: "binary"; operator: IrBinaryOp; left: IrExpr; right: IrExpr })
  | (IrNode & { op: "ternary"; cond: IrExpr; then: IrExpr; else: IrExpr })
  | (IrNode & { op: "call"; fn: IrFunction; args: IrExpr[] })
  | (IrNode & { op: "cast"; type: string; arg: IrExpr })
  | (IrNode & { op: "tuple"; elems: IrExpr[] });

// ---------------------------------------------------------------- statements

/** Aggregation functions, as in bpftrace. */
export type IrAggregation =
  | "count"
  | "sum"
  | "avg"
  | "min"
  | "max"
  | "stats"
  | "hist"
  | "lhist";

/**
 * A statement.
 *
 * - `let`: `$name = value` (a local lives for one probe firing; its type is
 *   its first value's: a struct pointer or struct value keeps its struct, so
 *   members read through the local, and a later value of another type is
 *   refused, as bpftrace refuses it);
 * - `map_set`: `@m[key] = value`; `map_update`: `@m[key] op= value`
 *   (`++`/`--` are `+= 1`/`-= 1`); `map_delete`: `delete(@m[key])`;
 * - `aggregate`: `@m[key] = fn(args)` (`hist(v)`, `lhist(v, min, max, step)`,
 *   `count()`, `sum(v)`…);
 * - `if`, `unroll`; `while` (a loop the verifier bounds: kernel 5.3 or
 *   later), with `break` and `continue` inside it; `return` ends the probe's
 *   run at once (the filter-false path: nothing after it runs);
 * - `printf`, `cat` (prints a file, its path a printf format), `print` (a map, with `top` and `div` as bpftrace's
 *   `print(@m, top, div)`, or a value), `clear`, `zero`, `time`
 *   (strftime format), `exit`: actions that run in user space, in the
 *   order the kernel emitted them;
 * - `system`: runs the formatted command with `sh -c` in user space and
 *   prints what it wrote (bpftrace's `system()`, allowed with --unsafe);
 *   `signal`: sends a signal number to the current process (bpf_send_signal);
 * - `expr`: an expression evaluated for its effect (a call).
 */
export type IrStmt =
  | (IrNode & { op: "let"; name: string; value: IrExpr })
  | (IrNode & { op: "map_set"; map: string; key?: IrExpr; value: IrExpr })
  | (IrNode & {
    op: "map_update";
    map: string;
    key?: IrExpr;
    operator: "+" | "-" | "*" | "/" | "%" | "&" | "|" | "^" | "<<" | ">>";
    value: IrExpr;
  })
  | (IrNode & { op: "map_delete"; map: string; key?: IrExpr })
  | (IrNode & {
    op: "aggregate";
    map: string;
    key?: IrExpr;
    fn: IrAggregation;
    args: IrExpr[];
  })
  | (IrNode & { op: "if"; cond: IrExpr; then: IrStmt[]; else?: IrStmt[] })
  | (IrNode & { op: "unroll"; count: number; body: IrStmt[] })
  | (IrNode & { op: "while"; cond: IrExpr; body: IrStmt[] })
  | (IrNode & { op: "break" })
  | (IrNode & { op: "continue" })
  | (IrNode & { op: "return" })
  | (IrNode & { op: "printf"; format: string; args: IrExpr[] })
  | (IrNode & { op: "cat"; format: string; args: IrExpr[] })
  | (IrNode & { op: "system"; format: string; args: IrExpr[] })
  | (IrNode & { op: "signal"; signal: IrExpr })
  | (IrNode & { op: "print"; map: string; top?: number; div?: number })
  | (IrNode & { op: "print_value"; value: IrExpr })
  | (IrNode & { op: "clear"; map: string })
  | (IrNode & { op: "zero"; map: string })
  | (IrNode & { op: "time"; format: string })
  | (IrNode & { op: "exit" })
  | (IrNode & { op: "expr"; value: IrExpr });

// ---------------------------------------------------------------- scripts

/** One probe: a point (or several sharing one body, as `a, b { … }`), a filter and a body. */
export interface IrProbe extends IrNode {
  /** The points; a glob in a target expands to every match. */
  points: IrPoint[];
  /** Only when this holds (non-zero). */
  filter?: IrExpr;
  /** What runs when it fires. */
  body: IrStmt[];
}

/** A whole script. */
export interface ScriptIr {
  /** The probes, in source order (the order bpftrace attaches and prints in). */
  probes: IrProbe[];
  /** Structs declared by the script. */
  structs?: IrStructDecl[];
  /** Bytes kept of each string (bpftrace's BPFTRACE_STRLEN; default 64). */
  strlen?: number;
  /** Maximum keys of each map (bpftrace's BPFTRACE_MAP_KEYS_MAX; default 4096). */
  maxKeys?: number;
}
