/**
 * The lexer of the bpftrace language: integers (decimal, hex, octal,
 * `1e6`, `1_000`), strings with C escapes, identifiers, `$vars`, `$1`
 * positional parameters, `@maps`, operators and punctuation, `//` and
 * `/* *\/` comments. Attach points are read raw by {@linkcode Lexer.attachPoint}
 * since they have their own spelling (`uprobe:/bin/bash:readline`).
 *
 * @module
 */

import type { Loc } from "./ast.ts";
import { BpftraceError } from "./errors.ts";

/** Kinds of tokens. */
export type TokenKind =
  | "int"
  | "string"
  | "ident"
  | "var"
  | "positional"
  | "map"
  | "punct"
  | "eof";

/** A token: its kind, its text (a string's decoded value) and where it is. */
export interface Token {
  /** The kind. */
  kind: TokenKind;
  /** Operator or identifier text; a string's value; a var's or map's name with its sigil. */
  text: string;
  /** An integer's value. */
  value?: bigint;
  /** Where it is. */
  loc: Loc;
  /** Offset of its first character in the source. */
  start: number;
  /** Line of its first character, and the offset that line starts at (to reread it). */
  startLine: number;
  /** Offset of the start of `startLine`. */
  startLineStart: number;
}

const PUNCT = [
  "<<=",
  ">>=",
  "->",
  "++",
  "--",
  "==",
  "!=",
  "<=",
  ">=",
  "&&",
  "||",
  "<<",
  ">>",
  "+=",
  "-=",
  "*=",
  "/=",
  "%=",
  "&=",
  "|=",
  "^=",
  "{",
  "}",
  "(",
  ")",
  "[",
  "]",
  ";",
  ",",
  ":",
  "?",
  ".",
  "+",
  "-",
  "*",
  "/",
  "%",
  "&",
  "|",
  "^",
  "!",
  "~",
  "<",
  ">",
  "=",
];

const ESCAPES: Record<string, string> = {
  n: "\n",
  t: "\t",
  r: "\r",
  "\\": "\\",
  '"': '"',
  "'": "'",
  "0": "\0",
  a: "\x07",
  b: "\b",
  f: "\f",
  v: "\v",
};

const isIdentStart = (c: string) => /[A-Za-z_]/.test(c);
const isIdent = (c: string) => /[A-Za-z0-9_]/.test(c);

/** Characters of macro values bpftrace's lexer inserts before it gives up (a recursive macro). */
const MACRO_LIMIT = 1000;

/** Characters an attach point may contain besides letters and digits. */
const ATTACH_CHARS = /[A-Za-z0-9_:*?.\-+/\[\]@$#"]/;

/** Splits source text into tokens on demand. */
export class Lexer {
  /** Offset of the next character. */
  pos = 0;
  /** 1-based line of `pos`. */
  line = 1;
  /** Offset of the first character of `line`. */
  lineStart = 0;
  /**
   * Where the last run of spaces or comments ended: a token's location
   * starts there, as bpftrace's do (`BEGIN{$x=$y}` puts `$y` at column 1).
   */
  #step = { pos: 0, line: 1, lineStart: 0 };
  /**
   * Errors the lexer went on after (an invalid character is skipped, an
   * unterminated string ends the input), in order, as bpftrace reports them
   * before the parser's.
   */
  readonly errors: BpftraceError[] = [];
  #src: string;
  readonly #raw: string;
  readonly #file?: string;
  readonly #defines?: ReadonlyMap<string, string>;
  /** Characters of macro values inserted since the last identifier that was no macro. */
  #unput = 0;

  /**
   * A lexer over `text` (the preprocessed source); errors quote lines of
   * `raw` (the source as written) and name `file`. An identifier named in
   * `defines` is replaced by its value where it stands, as bpftrace's lexer
   * does: the value's characters are read next and counted in the columns
   * of the line (later tokens on it are that much further right).
   */
  constructor(
    text: string,
    options: { raw?: string; file?: string; defines?: ReadonlyMap<string, string> } = {},
  ) {
    this.#src = text;
    this.#raw = options.raw ?? text;
    this.#file = options.file;
    this.#defines = options.defines;
  }

  /** An error at `loc`, printed as bpftrace prints it. */
  error(message: string, loc: Loc): BpftraceError {
    return new BpftraceError(message, { loc, source: this.#raw, file: this.#file });
  }

  /** Where the lexer is, as a zero-width location. */
  here(): Loc {
    const column = this.pos - this.lineStart + 1;
    return { line: this.line, column, endLine: this.line, endColumn: column };
  }

  #advance(n: number): void {
    for (let i = 0; i < n; i++) {
      if (this.#src[this.pos] === "\n") {
        this.line++;
        this.lineStart = this.pos + 1;
      }
      this.pos++;
    }
  }

  #locHere(): Loc {
    const { pos, line, lineStart } = this.#step;
    return {
      line,
      column: pos - lineStart + 1,
      endLine: this.line,
      endColumn: this.pos - this.lineStart + 1,
    };
  }

  /** Skips spaces and comments. */
  skipSpace(): void {
    const s = this.#src;
    const from = this.pos;
    while (this.pos < s.length) {
      const c = s[this.pos];
      if (c === " " || c === "\t" || c === "\n" || c === "\r" || c === "\f" || c === "\v") {
        this.#advance(1);
      } else if (c === "/" && s[this.pos + 1] === "/") {
        while (this.pos < s.length && s[this.pos] !== "\n") this.pos++;
      } else if (c === "/" && s[this.pos + 1] === "*") {
        const end = s.indexOf("*/", this.pos + 2);
        if (end < 0) {
          this.#advance(s.length - this.pos);
          throw this.error("unterminated comment", this.#locHere());
        }
        this.#advance(end + 2 - this.pos);
      } else break;
    }
    if (this.pos !== from) {
      this.#step = { pos: this.pos, line: this.line, lineStart: this.lineStart };
    }
  }

  /** Whether the next significant character is `c` (after spaces and comments). */
  peekChar(c: string): boolean {
    const { pos, line, lineStart } = this;
    const step = this.#step;
    this.skipSpace();
    const found = this.#src[this.pos] === c;
    this.pos = pos;
    this.line = line;
    this.lineStart = lineStart;
    this.#step = step;
    return found;
  }

  /** Moves back to a token's start (the parser rereads it in another mode). */
  reset(token: Token): void {
    this.pos = token.start;
    this.line = token.startLine;
    this.lineStart = token.startLineStart;
    // the step point is on the token's line: a line break is a space
    const lineStart = token.startLineStart;
    this.#step = { pos: lineStart + token.loc.column - 1, line: token.startLine, lineStart };
  }

  /** The next token. */
  next(): Token {
    this.skipSpace();
    const s = this.#src;
    const start = this.pos, line = this.line, ls = this.lineStart;
    const tok = (kind: TokenKind, text: string, value?: bigint): Token => ({
      kind,
      text,
      value,
      loc: this.#locHere(),
      start,
      startLine: line,
      startLineStart: ls,
    });
    if (this.pos >= s.length) return tok("eof", "");
    const c = s[this.pos];
    if (/[0-9]/.test(c)) return this.#number(tok);
    if (isIdentStart(c)) {
      let end = this.pos + 1;
      while (end < s.length && isIdent(s[end])) end++;
      const text = s.slice(this.pos, end);
      this.#advance(end - this.pos);
      const value = this.#defines?.get(text);
      // A macro before "(" is a call bpftrace's first parse (without macros) refused.
      if (!value || value === text || this.peekChar("(")) {
        this.#unput = 0;
        return tok("ident", text);
      }
      if (this.#unput + value.length > MACRO_LIMIT) {
        this.errors.push(
          this.error(`Macro recursion limit reached: ${text}, ${value}`, this.#locHere()),
        );
        this.#src = s.slice(0, this.pos); // bpftrace stops reading there
        return tok("eof", "");
      }
      this.#unput += value.length;
      this.#src = s.slice(0, this.pos) + value + s.slice(this.pos);
      return this.next();
    }
    if (c === '"') return this.#string(tok);
    if (c === "$" || c === "@") {
      let end = this.pos + 1;
      if (c === "$" && s[end] === "#") end++;
      else if (c === "$" && /[0-9]/.test(s[end] ?? "")) {
        while (end < s.length && /[0-9]/.test(s[end])) end++;
      } else {
        while (end < s.length && isIdent(s[end])) end++;
      }
      const text = s.slice(this.pos, end);
      this.#advance(end - this.pos);
      if (c === "@") return tok("map", text);
      if (text === "$") {
        this.errors.push(this.error("invalid character '$'", tok("punct", "$").loc));
        return this.next();
      }
      return tok(/^\$[0-9#]/.test(text) ? "positional" : "var", text);
    }
    for (const p of PUNCT) {
      if (s.startsWith(p, this.pos)) {
        this.#advance(p.length);
        return tok("punct", p);
      }
    }
    this.#advance(1);
    this.errors.push(this.error(`invalid character '${c}'`, tok("punct", c).loc));
    return this.next();
  }

  #number(tok: (kind: TokenKind, text: string, value?: bigint) => Token): Token {
    const s = this.#src;
    const m = /^(?:0[xX][0-9a-fA-F_]+|[0-9][0-9_]*(?:[eE][0-9]+)?)/.exec(
      s.slice(this.pos, this.pos + 64),
    )!;
    let text = m[0];
    let end = this.pos + text.length;
    while (end < s.length && isIdent(s[end])) end++; // a suffix or garbage: part of the token
    const whole = s.slice(this.pos, end);
    this.#advance(end - this.pos);
    const suffix = whole.slice(text.length);
    if (suffix && !/^(?:[uU]|[lL]{1,2}|[uU][lL]{1,2}|[lL]{1,2}[uU])$/.test(suffix)) {
      throw this.error(`invalid integer literal: ${whole}`, tok("int", whole).loc);
    }
    text = text.replaceAll("_", "");
    let value: bigint;
    const exp = /^([0-9]+)[eE]([0-9]+)$/.exec(text);
    if (exp) {
      if (Number(exp[2]) > 19) {
        throw this.error(`integer too large: ${whole}`, tok("int", whole).loc);
      }
      value = BigInt(exp[1]) * 10n ** BigInt(exp[2]);
    } else if (/^0[0-7]+$/.test(text)) value = BigInt("0o" + text.slice(1));
    else if (/^0[0-9]+$/.test(text)) {
      throw this.error(`invalid octal literal: ${whole}`, tok("int", whole).loc);
    } else value = BigInt(text === "0x" || text === "0X" ? "x" : text);
    if (value >= 1n << 64n) throw this.error(`integer too large: ${whole}`, tok("int", whole).loc);
    return tok("int", whole, value);
  }

  #string(tok: (kind: TokenKind, text: string, value?: bigint) => Token): Token {
    const s = this.#src;
    let out = "";
    let i = this.pos + 1;
    for (;;) {
      if (i >= s.length || s[i] === "\n") {
        this.#advance(i - this.pos);
        this.errors.push(this.error("unterminated string", tok("string", "").loc));
        const end = tok("eof", "");
        this.#advance(s.length - this.pos); // the rest of the input is the string's
        return end;
      }
      const c = s[i];
      if (c === '"') break;
      if (c !== "\\") {
        out += c;
        i++;
        continue;
      }
      const e = s[i + 1] ?? "";
      const oct = /^[0-7]{1,3}/.exec(s.slice(i + 1, i + 4));
      const hex = /^x([0-9a-fA-F]{1,2})/.exec(s.slice(i + 1, i + 4));
      if (oct) {
        out += String.fromCharCode(parseInt(oct[0], 8) & 0xff);
        i += 1 + oct[0].length;
      } else if (hex) {
        out += String.fromCharCode(parseInt(hex[1], 16));
        i += 1 + hex[0].length;
      } else if (e in ESCAPES) {
        out += ESCAPES[e];
        i += 2;
      } else {
        this.#advance(i + 2 - this.pos);
        throw this.error(`invalid escape character '\\${e}'`, tok("string", "").loc);
      }
    }
    this.#advance(i + 1 - this.pos);
    return tok("string", out);
  }

  /**
   * Reads an attach point's raw text from the current position: letters,
   * digits and `_:*?.-+/[]@$#`, and quoted parts (`uprobe:"/a b":f`). A
   * `/` ends it unless it follows `:` or lies in a path (a part that
   * started with `/`), so that `kprobe:f /pid == 1/` has a predicate.
   */
  attachPoint(): Token {
    this.skipSpace();
    const s = this.#src;
    const start = this.pos, line = this.line, ls = this.lineStart;
    let i = this.pos;
    let text = "";
    let partIsPath = false;
    while (i < s.length && ATTACH_CHARS.test(s[i])) {
      const c = s[i];
      if (c === '"') {
        const end = s.indexOf('"', i + 1);
        const nl = s.indexOf("\n", i + 1);
        if (end < 0 || (nl >= 0 && nl < end)) {
          this.#advance((nl < 0 ? s.length : nl) - this.pos);
          throw this.error("unterminated string", this.#locHere());
        }
        text += s.slice(i + 1, end);
        i = end + 1;
        continue;
      }
      if (c === "/") {
        const prev = text[text.length - 1];
        const part = text.slice(text.lastIndexOf(":") + 1);
        if (prev === ":" || text === "" || /^\.+$/.test(part)) partIsPath = true;
        else if (!partIsPath) break;
      }
      if (c === ":") partIsPath = false;
      text += c;
      i++;
    }
    this.#advance(i - this.pos);
    const loc = this.#locHere();
    return { kind: "ident", text, loc, start, startLine: line, startLineStart: ls };
  }
}
