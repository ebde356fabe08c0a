/**
 * The type-level vocabulary of scripted probes: expressions (builtins such
 * as `comm` and `pid`, and `args.<field>` paths), the JavaScript values they
 * decode to, aggregation keys and emitted event shapes.
 *
 * Integers decode to `number` (exact up to ±2^53; beyond that, such as
 * kernel addresses, they lose precision), strings and stacks to `string`.
 *
 * @module
 */

/** A value a probe reads: an integer (as a number) or a string. */
export type ArgValue = number | string;

/**
 * The arguments of a probe point when they are not described: any field
 * name, decoding to a number or a string. Give a probe point a type
 * argument (`tracepoint<{ filename: string; flags: number }>(...)`) to have
 * field names checked and values typed.
 */
export type AnyArgs = Record<string, ArgValue>;

/** Builtins that decode to numbers. */
export type IntBuiltin =
  | "pid"
  | "tid"
  | "uid"
  | "gid"
  | "cpu"
  | "nsecs"
  | "retval"
  | "arg0"
  | "arg1"
  | "arg2"
  | "arg3"
  | "arg4"
  | "arg5";

/** Builtins that decode to strings: the task name and the kernel / user stacks. */
export type StrBuiltin = "comm" | "kstack" | "ustack";

/**
 * The builtins, as in bpftrace: `comm` (task name), `pid` (process id),
 * `tid` (thread id), `uid`, `gid`, `cpu`, `nsecs` (monotonic time),
 * `kstack` / `ustack` (kernel / user stack), `arg0`…`arg5` (raw arguments
 * of raw tracepoints, tp_btf, uprobes and USDT probes) and `retval` (the
 * return value in a uretprobe). Registers (`argN` of uprobes, `retval`)
 * read as signed 64-bit integers; raw tracepoint `argN` as unsigned.
 */
export type Builtin = IntBuiltin | StrBuiltin;

/** Depth countdown for {@linkcode ArgPath} (paths go at most three members deep). */
export type PathDepth = [never, 0, 1, 2, 3];

/** Dotted paths into an argument shape (depth-limited), e.g. `"prev.pid"`. */
export type ArgPath<A, D extends number = 3> = [D] extends [never] ? never
  : string extends keyof A ? string
  : {
    [K in keyof A & string]: A[K] extends ArgValue ? K
      : K | `${K}.${ArgPath<A[K], PathDepth[D]>}`;
  }[keyof A & string];

/** The value at an argument path. */
export type ArgAt<A, P extends string> = string extends keyof A ? ArgValue
  : P extends keyof A ? (A[P] extends ArgValue ? A[P] : never)
  : P extends `${infer H}.${infer R}` ? (H extends keyof A ? ArgAt<A[H], R> : never)
  : never;

/** An expression a probe can read: a builtin or an `args.<path>` field. */
export type Expr<A = AnyArgs> = Builtin | `args.${ArgPath<A>}`;

/** The JavaScript value an expression decodes to. */
export type ValueOf<E, A = AnyArgs> = E extends StrBuiltin ? string
  : E extends IntBuiltin ? number
  : E extends `args.${infer P}` ? ArgAt<A, P>
  : never;

/** What an aggregation is keyed by: one expression, or several (a tuple key). */
export type KeySpec<A = AnyArgs> = Expr<A> | readonly Expr<A>[];

/**
 * The JavaScript key of an aggregation keyed by `K`: `null` without a key,
 * the value of the expression for one, a tuple for several.
 */
export type KeyOf<K, A = AnyArgs> = [K] extends [undefined] ? null
  : K extends readonly unknown[] ? { -readonly [I in keyof K]: ValueOf<K[I], A> }
  : ValueOf<K, A>;

/** The fields an event carries: a list of expressions, or names mapped to expressions. */
export type EmitFields<A = AnyArgs> =
  | readonly Expr<A>[]
  | Readonly<Record<string, Expr<A>>>;

/** The property name of a listed expression: the expression without its `args.` prefix. */
export type FieldName<E> = E extends `args.${infer P}` ? P : E;

/** The decoded shape of an event with fields `F`. */
export type EventOf<F, A = AnyArgs> = F extends readonly unknown[]
  ? { [E in F[number] & string as FieldName<E>]: ValueOf<E, A> }
  : { -readonly [N in keyof F]: ValueOf<F[N], A> };

/** What an aggregation computes, as in bpftrace. */
export type AggregationKind = "count" | "sum" | "min" | "max" | "avg" | "hist" | "lhist";
