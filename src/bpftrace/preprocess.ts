/**
 * The part of the C preprocessor bpftrace scripts use: `#include` lines
 * (kept as names; the types come from kernel BTF), `#define NAME value`,
 * `#ifdef`/`#ifndef`/`#if defined(…)`/`#else`/`#endif` with
 * `BPFTRACE_HAVE_BTF` defined, and the `#!` line. Lines it consumes become
 * empty, so that line numbers stay those of the source.
 *
 * @module
 */

import { BpftraceError } from "./errors.ts";
import type { Loc } from "./ast.ts";

/** What preprocessing found. */
export interface Preprocessed {
  /** The source with directive lines and inactive branches blanked. */
  text: string;
  /** Header names of `#include` lines (`"linux/sched.h"`). */
  includes: string[];
  /** Object-like macros from `#define` (name to replacement text). */
  defines: Map<string, string>;
}

/** Names defined before the script (bpftrace 0.17 defines this one, and no other, for clang). */
export const PREDEFINED: readonly string[] = ["BPFTRACE_HAVE_BTF"];

interface Cond {
  /** Whether lines in the current branch are kept. */
  active: boolean;
  /** Whether an earlier branch of this #if was taken. */
  taken: boolean;
  /** Whether the enclosing block is active. */
  outer: boolean;
}

/** Runs the directives of `source` (named `file` in errors). */
export function preprocess(source: string, file?: string): Preprocessed {
  const lines = source.split("\n");
  const includes: string[] = [];
  const defines = new Map<string, string>(PREDEFINED.map((n) => [n, "1"]));
  const stack: Cond[] = [];
  let inComment = false;
  const fail: (msg: string, line: number, len: number) => never = (msg, line, len) => {
    const loc: Loc = { line, column: 1, endLine: line, endColumn: len + 1 };
    throw new BpftraceError(msg, { loc, source, file });
  };
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i];
    const startsInComment = inComment;
    inComment = endsInComment(line, inComment);
    const active = stack.length === 0 || stack[stack.length - 1].active;
    const trimmed = line.trimStart();
    if (startsInComment || !trimmed.startsWith("#")) {
      if (!active) lines[i] = "";
      continue;
    }
    lines[i] = "";
    if (i === 0 && trimmed.startsWith("#!")) continue;
    const m = /^#\s*(\w*)\s*(.*?)\s*(?:\/\/.*|\/\*.*)?$/.exec(trimmed);
    const word = m?.[1] ?? "";
    const rest = m?.[2] ?? "";
    const top = stack[stack.length - 1];
    switch (word) {
      case "ifdef":
      case "ifndef":
      case "if": {
        const value = word === "if"
          ? evalCondition(
            rest,
            defines,
            () => fail(`unsupported #if condition: ${rest}`, i + 1, line.length),
          )
          : defines.has(rest) === (word === "ifdef");
        stack.push({ active: active && value, taken: value, outer: active });
        break;
      }
      case "elif": {
        if (!top) fail("#elif without #if", i + 1, line.length);
        const value = !top.taken &&
          evalCondition(
            rest,
            defines,
            () => fail(`unsupported #elif condition: ${rest}`, i + 1, line.length),
          );
        top.active = top.outer && value;
        top.taken ||= value;
        break;
      }
      case "else":
        if (!top) fail("#else without #if", i + 1, line.length);
        top.active = top.outer && !top.taken;
        top.taken = true;
        break;
      case "endif":
        if (!top) fail("#endif without #if", i + 1, line.length);
        stack.pop();
        break;
      default:
        if (!active) break;
        if (word === "include") {
          const inc = /^[<"]([^>"]+)[>"]$/.exec(rest);
          if (!inc) fail(`#include expects <FILENAME> or "FILENAME"`, i + 1, line.length);
          includes.push(inc[1]);
        } else if (word === "define") {
          const d = /^([A-Za-z_]\w*)(.*)$/.exec(rest);
          if (!d) fail(`#define expects a macro name: ${rest}`, i + 1, line.length);
          // A function-like macro keeps its parameter list: bpftrace expands `MAX` to
          // `(a,b)(…)`, and refuses `MAX(1, 2)` as an unknown function.
          defines.set(d[1], macroValue(d[2]));
        } else if (word === "undef") {
          defines.delete(rest);
        } else if (word !== "") {
          fail(`unsupported preprocessor directive #${word}`, i + 1, line.length);
        }
    }
  }
  if (stack.length) fail("unterminated conditional directive", lines.length, 0);
  return { text: lines.join("\n"), includes, defines };
}

/**
 * A macro's value as bpftrace 0.17 keeps it: clang's tokens of the
 * definition joined without spaces (`1 + 2` is `1+2`; strings keep theirs).
 */
function macroValue(text: string): string {
  let out = "";
  let quote = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      out += c;
      if (c === "\\") out += text[++i] ?? "";
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "'") {
      quote = c;
      out += c;
    } else if (!/\s/.test(c)) out += c;
  }
  return out;
}

/** `defined(X)`, `!defined(X)`, `defined X`, an integer, or a defined name's integer value. */
function evalCondition(text: string, defines: Map<string, string>, fail: () => never): boolean {
  const t = text.replace(/\s+/g, " ").trim();
  const neg = t.startsWith("!");
  const body = neg ? t.slice(1).trim() : t;
  let value: boolean;
  const d = /^defined\s*(?:\(\s*(\w+)\s*\)|(\w+))$/.exec(body);
  if (d) value = defines.has(d[1] ?? d[2]);
  else if (/^\d+$/.test(body)) value = Number(body) !== 0;
  else if (/^[A-Za-z_]\w*$/.test(body)) value = Number(defines.get(body) ?? 0) !== 0;
  else return fail();
  return neg ? !value : value;
}

/** Whether a `/* … *\/` comment is still open at the end of `line`. */
function endsInComment(line: string, open: boolean): boolean {
  let inString = false;
  for (let i = 0; i < line.length; i++) {
    const c = line[i];
    if (open) {
      if (c === "*" && line[i + 1] === "/") {
        open = false;
        i++;
      }
    } else if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "/" && line[i + 1] === "/") return false;
    else if (c === "/" && line[i + 1] === "*") {
      open = true;
      i++;
    }
  }
  return open;
}
