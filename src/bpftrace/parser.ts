/**
 * The parser of the bpftrace language (as of bpftrace 0.17): probes with
 * comma-separated attach points, predicates, statements (assignments,
 * compound assignments, `++`/`--`, `if`/`else`, `unroll`, `while`), and
 * expressions with C precedence, casts, `.`/`->`, indexing, tuples and
 * calls; C struct definitions and preprocessor lines.
 *
 * @module
 */

import type { BtAttachPoint, BtExpr, BtProbe, BtProgram, BtStmt, BtStructDef, Loc } from "./ast.ts";
import { BpftraceError } from "./errors.ts";
import { BINARY_PRECEDENCE } from "../probe/ir.ts";
import { Lexer, type Token } from "./lexer.ts";
import { PREDEFINED, preprocess, type Preprocessed } from "./preprocess.ts";

/** Options of {@linkcode parseBpftrace}. */
export interface ParseBpftraceOptions {
  /** The file name errors print (bpftrace prints `stdin` for `-e`). */
  file?: string;
}

/** Integer types a cast may name. */
const INT_TYPES = new Set([
  "int8",
  "int16",
  "int32",
  "int64",
  "uint8",
  "uint16",
  "uint32",
  "uint64",
]);

/**
 * Builtin variables of bpftrace 0.17 (argN and sargN are matched by
 * pattern). `jiffies` came later: 0.17 calls it an unknown identifier.
 */
export const BUILTINS: ReadonlySet<string> = new Set([
  "pid",
  "tid",
  "uid",
  "gid",
  "nsecs",
  "elapsed",
  "numaid",
  "cpu",
  "comm",
  "kstack",
  "ustack",
  "retval",
  "func",
  "probe",
  "curtask",
  "rand",
  "cgroup",
  "cpid",
  "args",
  "ctx",
  "username",
]);

/** Whether `name` is a builtin variable (`pid`, `arg0`, `sarg1`…). */
export function isBuiltin(name: string): boolean {
  return BUILTINS.has(name) || /^s?arg[0-9]+$/.test(name);
}

/** Binary operators by binding strength, loosest first (ir.ts's table, level 1 first). */
const BINARY_LEVELS: string[][] = Object.entries(BINARY_PRECEDENCE).reduce<string[][]>(
  (levels, [op, p]) => {
    (levels[p - 1] ??= []).push(op);
    return levels;
  },
  [],
);

const ASSIGN_OPS = new Set(["=", "+=", "-=", "*=", "/=", "%=", "&=", "|=", "^=", "<<=", ">>="]);

/** A span from the start of `a` to the end of `b`. */
export function span(a: Loc, b: Loc): Loc {
  return { line: a.line, column: a.column, endLine: b.endLine, endColumn: b.endColumn };
}

/**
 * Parses a bpftrace program into its syntax tree. Throws a
 * {@linkcode BpftraceError} (a ParseError) with the line and columns of the
 * first error, and its `report` as bpftrace prints it.
 */
export function parseBpftrace(source: string, options: ParseBpftraceOptions = {}): BtProgram {
  const pre = preprocess(source, options.file);
  // As bpftrace: a first parse without macros (its errors are the ones printed), then, when the
  // script defines any, a second one with them expanded.
  const program = parseOnce(pre, source, options.file);
  if (![...pre.defines.keys()].some((name) => !PREDEFINED.includes(name))) return program;
  return parseOnce(pre, source, options.file, pre.defines);
}

function parseOnce(
  pre: Preprocessed,
  source: string,
  file?: string,
  defines?: ReadonlyMap<string, string>,
): BtProgram {
  const parser = new Parser(pre.text, source, file, defines);
  const lexed = parser.lexer.errors;
  let program: BtProgram;
  try {
    program = parser.program(pre.includes, pre.defines);
  } catch (e) {
    if (!(e instanceof BpftraceError) || lexed.length === 0) throw e;
    throw again(lexed[0], [...lexed.slice(1), e], source, file);
  }
  if (lexed.length) throw again(lexed[0], lexed.slice(1), source, file);
  return program;
}

/** `first` with the reports of `also` after its own. */
function again(first: BpftraceError, also: BpftraceError[], source: string, file?: string) {
  return new BpftraceError(first.detail, { loc: first.loc, source, file }, { also });
}

class Parser {
  readonly lexer: Lexer;
  #buf: Token[] = [];
  #depth = 0;
  #last: Loc = { line: 1, column: 1, endLine: 1, endColumn: 1 };

  constructor(text: string, raw: string, file?: string, defines?: ReadonlyMap<string, string>) {
    this.lexer = new Lexer(text, { raw, file, defines });
  }

  peek(n = 0): Token {
    while (this.#buf.length <= n) this.#buf.push(this.lexer.next());
    return this.#buf[n];
  }

  take(): Token {
    const t = this.peek();
    this.#buf.shift();
    this.#last = t.loc;
    return t;
  }

  is(text: string, n = 0): boolean {
    const t = this.peek(n);
    return (t.kind === "punct" || t.kind === "ident") && t.text === text;
  }

  error(message: string, loc: Loc): BpftraceError {
    return this.lexer.error(message, loc);
  }

  unexpected(expecting?: string): BpftraceError {
    const t = this.peek();
    const what = t.kind === "eof"
      ? "end of file"
      : t.kind === "int"
      ? "integer"
      : t.kind === "string"
      ? "string"
      : t.kind === "var"
      ? "variable"
      : t.kind === "map"
      ? "map"
      : t.kind === "positional"
      ? "positional parameter"
      : t.kind === "ident"
      ? (isBuiltin(t.text) ? "builtin" : "identifier")
      : t.text;
    return this.error(
      `syntax error, unexpected ${what}${expecting ? `, expecting ${expecting}` : ""}`,
      t.loc,
    );
  }

  expect(text: string): Token {
    if (!this.is(text) || this.peek().kind === "string") throw this.unexpected(text);
    return this.take();
  }

  /** Guards recursion: a deeply nested input is an error, not a stack overflow. */
  nest<T>(f: () => T): T {
    if (++this.#depth > 200) {
      throw this.error("expression nested too deeply (over 200 levels)", this.peek().loc);
    }
    try {
      return f();
    } finally {
      this.#depth--;
    }
  }

  program(includes: string[], defines: Map<string, string>): BtProgram {
    const structs: BtStructDef[] = [];
    const probes: BtProbe[] = [];
    while (this.peek().kind !== "eof") {
      const t = this.peek();
      if (
        (this.is("struct") || this.is("union")) && this.peek(1).kind === "ident" &&
        this.is("{", 2)
      ) {
        structs.push(this.structDef());
      } else if (t.kind === "punct" && t.text === ";" && structs.length) {
        this.take();
      } else {
        probes.push(this.probe());
      }
    }
    if (!probes.length) {
      throw this.error("syntax error, unexpected end of file", this.peek().loc);
    }
    return { includes, structs, probes, defines };
  }

  structDef(): BtStructDef {
    const kw = this.take();
    const name = `${kw.text} ${this.take().text}`;
    this.expect("{");
    const members: BtStructDef["members"] = [];
    while (!this.is("}")) {
      const first = this.peek();
      const words: string[] = [];
      while (this.peek().kind === "ident" || this.is("*")) {
        if (this.peek().kind === "eof") break;
        words.push(this.take().text);
      }
      if (words.length < 2) throw this.unexpected();
      const memberName = words.pop()!;
      let type = words.join(" ").replace(/ \*/g, "*").replace(/(\w)\*/g, "$1 *");
      while (this.is("[")) {
        this.take();
        const n = this.take();
        if (n.kind !== "int") throw this.error("syntax error, unexpected array size", n.loc);
        this.expect("]");
        type += `[${n.value}]`;
      }
      const last = this.expect(";");
      members.push({ name: memberName, type, loc: span(first.loc, last.loc) });
    }
    const end = this.expect("}");
    return { name, members, loc: span(kw.loc, end.loc) };
  }

  probe(): BtProbe {
    const points: BtAttachPoint[] = [];
    for (;;) {
      const first = this.peek();
      if (first.kind !== "ident") throw this.unexpected();
      this.#buf = [];
      this.lexer.reset(first);
      const ap = this.lexer.attachPoint();
      if (!ap.text) throw this.unexpected();
      const before = this.#last;
      points.push({
        raw: ap.text,
        loc: ap.loc,
        checkLoc: { ...ap.loc, line: before.endLine, column: before.endColumn },
      });
      if (!this.is(",")) break;
      this.take();
    }
    let predicate: BtExpr | undefined;
    if (this.is("/")) {
      this.take();
      predicate = this.expr();
      if (!this.is("/")) throw this.unexpected("/");
      this.take();
    }
    if (!this.is("{")) throw this.unexpected("{");
    const body = this.block();
    return { points, predicate, body, loc: points[0].loc };
  }

  block(): BtStmt[] {
    this.expect("{");
    const stmts: BtStmt[] = [];
    while (!this.is("}")) {
      if (this.peek().kind === "eof") throw this.unexpected("}");
      if (this.is(";")) {
        this.take();
        continue;
      }
      const s = this.nest(() => this.stmt());
      stmts.push(s);
      if (s.kind === "if" || s.kind === "unroll" || s.kind === "while" || s.kind === "block") {
        continue;
      }
      if (this.is(";")) this.take();
      else if (!this.is("}")) throw this.unexpected("}");
    }
    this.take();
    return stmts;
  }

  stmt(): BtStmt {
    const t = this.peek();
    if (t.kind === "ident" && t.text === "if") return this.ifStmt();
    if (t.kind === "ident" && (t.text === "unroll" || t.text === "while")) {
      this.take();
      this.expect("(");
      const arg = this.expr();
      const head = span(t.loc, this.expect(")").loc);
      const body = this.block();
      const loc = span(t.loc, this.lastLoc);
      return t.text === "unroll"
        ? { kind: "unroll", loc, head, count: arg, body }
        : { kind: "while", loc, head, cond: arg, body };
    }
    if (
      t.kind === "ident" && (t.text === "break" || t.text === "continue" || t.text === "return")
    ) {
      this.take();
      return { kind: "jump", loc: t.loc, word: t.text };
    }
    if (t.kind === "punct" && t.text === "{") {
      const body = this.block();
      return { kind: "block", loc: span(t.loc, this.lastLoc), body };
    }
    const target = this.expr();
    const op = this.peek();
    if (op.kind === "punct" && ASSIGN_OPS.has(op.text)) {
      if (target.kind !== "map" && target.kind !== "var") {
        throw this.unexpected();
      }
      this.take();
      const value = this.expr();
      return {
        kind: "assign",
        loc: span(target.loc, value.loc),
        target,
        operator: op.text,
        opLoc: op.loc,
        value,
      };
    }
    if (target.kind === "ident" || target.kind === "builtin") {
      // a bare word is a statement only with ++ or -- (as bpftrace's grammar has it)
      throw this.unexpected("++ or --");
    }
    return { kind: "expr", loc: target.loc, expr: target };
  }

  /** Where the last token taken is. */
  get lastLoc(): Loc {
    return this.#last;
  }

  ifStmt(): BtStmt {
    const kw = this.take();
    this.expect("(");
    const cond = this.expr();
    this.expect(")");
    const then = this.block();
    let els: BtStmt[] | undefined;
    if (this.is("else")) {
      this.take();
      if (this.is("if")) els = [this.nest(() => this.ifStmt())];
      else els = this.block();
    }
    return { kind: "if", loc: span(kw.loc, this.#last), cond, then, else: els };
  }

  expr(): BtExpr {
    return this.nest(() => this.ternary());
  }

  ternary(): BtExpr {
    const cond = this.binary(0);
    if (!this.is("?")) return cond;
    this.take();
    const then = this.expr();
    this.expect(":");
    const els = this.nest(() => this.ternary());
    return { kind: "ternary", loc: span(cond.loc, els.loc), cond, then, else: els };
  }

  binary(level: number): BtExpr {
    if (level >= BINARY_LEVELS.length) return this.unary();
    let left = this.binary(level + 1);
    for (;;) {
      const t = this.peek();
      if (t.kind !== "punct" || !BINARY_LEVELS[level].includes(t.text)) return left;
      // "/ {" ends a predicate: never a division
      if (t.text === "/" && this.endsPredicate()) return left;
      this.take();
      const right = this.nest(() => this.binary(level + 1));
      left = { kind: "binary", loc: span(left.loc, right.loc), operator: t.text, left, right };
    }
  }

  endsPredicate(): boolean {
    const after = this.peek(1);
    return after.kind === "punct" && after.text === "{";
  }

  unary(): BtExpr {
    const t = this.peek();
    // bpftrace 0.17 has no address-of: a unary & is its syntax error
    if (t.kind === "punct" && ["!", "~", "-", "*"].includes(t.text)) {
      this.take();
      const arg = this.nest(() => this.unary());
      return {
        kind: "unary",
        loc: span(t.loc, arg.loc),
        operator: t.text as "!" | "~" | "-" | "*",
        arg,
      };
    }
    if (t.kind === "punct" && (t.text === "++" || t.text === "--")) {
      this.take();
      const arg = this.nest(() => this.unary());
      return { kind: "incdec", loc: span(t.loc, arg.loc), operator: t.text, prefix: true, arg };
    }
    if (t.kind === "punct" && t.text === "(" && this.isCastStart()) {
      this.take();
      const type = this.typeName();
      const head = span(t.loc, this.expect(")").loc);
      const arg = this.nest(() => this.unary());
      return { kind: "cast", loc: span(t.loc, arg.loc), head, type, arg };
    }
    return this.postfix(this.primary());
  }

  isCastStart(): boolean {
    const t = this.peek(1);
    if (t.kind !== "ident") return false;
    if (t.text === "struct" || t.text === "union" || t.text === "enum") return true;
    return INT_TYPES.has(t.text) && (this.is(")", 2) || this.is("*", 2));
  }

  /** A type spelling: `struct X *`, `uint32`, `int8 *`. */
  typeName(): string {
    const words: string[] = [];
    const first = this.take();
    words.push(first.text);
    if (first.text === "struct" || first.text === "union" || first.text === "enum") {
      const name = this.take();
      if (name.kind !== "ident") {
        throw this.error(`syntax error, unexpected ${name.text || "end of file"}`, name.loc);
      }
      words.push(name.text);
    }
    let stars = "";
    while (this.is("*")) {
      this.take();
      stars += "*";
    }
    return words.join(" ") + (stars ? ` ${stars}` : "");
  }

  postfix(base: BtExpr): BtExpr {
    for (;;) {
      const t = this.peek();
      if (t.kind !== "punct") return base;
      if (t.text === "." || t.text === "->") {
        this.take();
        const name = this.take();
        if (name.kind !== "ident" && name.kind !== "int") {
          this.#buf.unshift(name);
          throw this.unexpected("identifier");
        }
        base = {
          kind: "field",
          loc: span(base.loc, name.loc),
          base,
          name: name.text,
          arrow: t.text === "->",
        };
      } else if (t.text === "[") {
        this.take();
        const index = this.expr();
        const end = this.expect("]");
        base = { kind: "index", loc: span(base.loc, end.loc), base, index };
      } else if (t.text === "++" || t.text === "--") {
        this.take();
        base = {
          kind: "incdec",
          loc: span(base.loc, t.loc),
          operator: t.text,
          prefix: false,
          arg: base,
        };
      } else return base;
    }
  }

  primary(): BtExpr {
    const t = this.peek();
    switch (t.kind) {
      case "int":
        this.take();
        return { kind: "int", loc: t.loc, value: t.value! };
      case "string":
        this.take();
        return { kind: "string", loc: t.loc, value: t.text };
      case "var":
        this.take();
        return { kind: "var", loc: t.loc, name: t.text };
      case "positional":
        this.take();
        return t.text === "$#"
          ? { kind: "positional_count", loc: t.loc }
          : { kind: "positional", loc: t.loc, index: Number(t.text.slice(1)) };
      case "map": {
        this.take();
        if (!this.is("[")) return { kind: "map", loc: t.loc, name: t.text };
        this.take();
        const keys = this.exprList("]");
        const end = this.expect("]");
        return { kind: "map", loc: span(t.loc, end.loc), name: t.text, keys };
      }
      case "ident": {
        this.take();
        if (this.is("(")) {
          this.take();
          if (t.text === "sizeof" && (this.isTypeWord())) {
            const type = this.typeName();
            const end = this.expect(")");
            return { kind: "sizeof", loc: span(t.loc, end.loc), type };
          }
          const args = this.exprList(")");
          const end = this.expect(")");
          return { kind: "call", loc: span(t.loc, end.loc), name: t.text, args };
        }
        if (isBuiltin(t.text)) return { kind: "builtin", loc: t.loc, name: t.text };
        return { kind: "ident", loc: t.loc, name: t.text };
      }
      case "punct":
        if (t.text === "(") {
          this.take();
          const elems = this.exprList(")");
          const end = this.expect(")");
          if (elems.length === 0) throw this.error("syntax error, unexpected )", end.loc);
          if (elems.length === 1) return { ...elems[0], loc: elems[0].loc };
          return { kind: "tuple", loc: span(t.loc, end.loc), elems };
        }
        break;
    }
    throw this.unexpected();
  }

  isTypeWord(): boolean {
    const t = this.peek();
    return t.kind === "ident" &&
      (INT_TYPES.has(t.text) || t.text === "struct" || t.text === "union" || t.text === "enum");
  }

  exprList(close: string): BtExpr[] {
    const out: BtExpr[] = [];
    if (this.is(close)) return out;
    for (;;) {
      out.push(this.expr());
      if (!this.is(",")) return out;
      this.take();
    }
  }
}
