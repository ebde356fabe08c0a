/**
 * Probe filters, the `/predicate/` of bpftrace: comparisons of one
 * expression with a literal, joined with `&&`, `||`, `!` and parentheses.
 *
 * ```ts
 * import { parseFilter } from "./filter.ts";
 * parseFilter('args.ret < 0 && comm != "sshd"');
 * // { op: "&&", args: [{ op: "<", left: "args.ret", right: 0 }, { op: "!=", left: "comm", right: "sshd" }] }
 * ```
 *
 * Comparisons: `== != < <= > >=` with a number (decimal, hex, negative)
 * or, for strings (`comm`, `args.filename`), `==` / `!=` with a quoted
 * string; `x & 0x40` tests bits; a bare expression is true when non-zero.
 * Integers compare signed when the field is signed, unsigned otherwise.
 *
 * @module
 */

import { ProbeCompileError } from "./errors.ts";

/** The comparison operators. */
export type CompareOp = "==" | "!=" | "<" | "<=" | ">" | ">=" | "&";

/** A filter: a comparison, a conjunction or disjunction, or a negation. */
export type Predicate =
  | { op: CompareOp; left: string; right: number | bigint | string }
  | { op: "&&" | "||"; args: Predicate[] }
  | { op: "!"; arg: Predicate };

type Token =
  | { t: "id"; v: string }
  | { t: "num"; v: number | bigint }
  | { t: "str"; v: string }
  | { t: "op"; v: string };

function tokenize(source: string): Token[] {
  // bpftrace's `args->x->y` is `args.x.y` here.
  const text = source.replace(/([\w\]])\s*->\s*/g, "$1.");
  const out: Token[] = [];
  let i = 0;
  const fail = (msg: string): never => {
    throw new ProbeCompileError(`filter ${JSON.stringify(text)}: ${msg} at column ${i + 1}`, {
      expression: text,
    });
  };
  while (i < text.length) {
    const c = text[i];
    if (/\s/.test(c)) {
      i++;
      continue;
    }
    const two = text.slice(i, i + 2);
    if (["==", "!=", "<=", ">=", "&&", "||"].includes(two)) {
      out.push({ t: "op", v: two });
      i += 2;
      continue;
    }
    if ("<>!()&".includes(c)) {
      out.push({ t: "op", v: c });
      i++;
      continue;
    }
    if (c === '"' || c === "'") {
      let j = i + 1;
      let s = "";
      while (j < text.length && text[j] !== c) {
        if (text[j] === "\\" && j + 1 < text.length) {
          const e = text[j + 1];
          s += e === "n" ? "\n" : e === "t" ? "\t" : e === "0" ? "\0" : e;
          j += 2;
        } else s += text[j++];
      }
      if (j >= text.length) fail("unterminated string");
      out.push({ t: "str", v: s });
      i = j + 1;
      continue;
    }
    const num = /^-?(0x[0-9a-fA-F]+|\d+)/.exec(text.slice(i));
    if (num && (c !== "-" || !/[\w)]/.test(prevChar(text, i)))) {
      const neg = num[0].startsWith("-");
      const big = BigInt(neg ? num[0].slice(1) : num[0]) * (neg ? -1n : 1n);
      out.push({
        t: "num",
        v: big >= BigInt(Number.MIN_SAFE_INTEGER) && big <= BigInt(Number.MAX_SAFE_INTEGER)
          ? Number(big)
          : big,
      });
      i += num[0].length;
      continue;
    }
    const id = /^[A-Za-z_$][\w$]*(?:\[\d+\])*(?:\.[A-Za-z_]\w*(?:\[\d+\])*)*/.exec(text.slice(i));
    if (id) {
      out.push({ t: "id", v: id[0] });
      i += id[0].length;
      continue;
    }
    fail(`unexpected ${JSON.stringify(c)}`);
  }
  return out;
}

function prevChar(text: string, i: number): string {
  for (let j = i - 1; j >= 0; j--) if (!/\s/.test(text[j])) return text[j];
  return "";
}

/** How deep parentheses and negations may nest. */
const MAX_NESTING = 256;

/**
 * Parses a filter expression into a {@linkcode Predicate}. Throws
 * `ProbeCompileError` (an InvalidArgumentError) with the column of the
 * problem.
 */
export function parseFilter(text: string): Predicate {
  const toks = tokenize(text);
  let p = 0;
  const fail = (msg: string): never => {
    throw new ProbeCompileError(`filter ${JSON.stringify(text)}: ${msg}`, { expression: text });
  };
  const peek = () => toks[p];
  const isOp = (v: string) => peek()?.t === "op" && peek()!.v === v;
  const or = (): Predicate => {
    const args = [and()];
    while (isOp("||")) {
      p++;
      args.push(and());
    }
    return args.length === 1 ? args[0] : { op: "||", args };
  };
  const and = (): Predicate => {
    const args = [unary()];
    while (isOp("&&")) {
      p++;
      args.push(unary());
    }
    return args.length === 1 ? args[0] : { op: "&&", args };
  };
  let depth = 0;
  const unary = (): Predicate => {
    if (isOp("!") || isOp("(")) {
      if (++depth > MAX_NESTING) fail(`more than ${MAX_NESTING} nested ( or !`);
      let r: Predicate;
      if (isOp("!")) {
        p++;
        r = { op: "!", arg: unary() };
      } else {
        p++;
        r = or();
        if (!isOp(")")) fail("missing )");
        p++;
      }
      depth--;
      return r;
    }
    return compare();
  };
  const compare = (): Predicate => {
    const left = peek();
    if (!left || left.t !== "id") {
      return fail(
        `expected a field or builtin, found ${left ? JSON.stringify(String(left.v)) : "the end"}`,
      );
    }
    p++;
    const op = peek();
    if (op?.t === "op" && ["==", "!=", "<", "<=", ">", ">=", "&"].includes(op.v)) {
      p++;
      const right = peek();
      if (!right || (right.t !== "num" && right.t !== "str")) {
        return fail(`expected a number or a quoted string after ${left.v} ${op.v}`);
      }
      p++;
      if (right.t === "str" && op.v !== "==" && op.v !== "!=") {
        fail(`strings compare with == and != only (${left.v} ${op.v} "${right.v}")`);
      }
      return { op: op.v as CompareOp, left: left.v, right: right.v };
    }
    return { op: "!=", left: left.v, right: 0 };
  };
  if (toks.length === 0) fail("empty");
  const result = or();
  if (p < toks.length) fail(`unexpected ${JSON.stringify(String(toks[p].v))}`);
  return result;
}

/** Combines filters given as strings or predicates into one predicate (their conjunction). */
export function toPredicate(
  filter: string | Predicate | readonly (string | Predicate)[],
): Predicate {
  const list = Array.isArray(filter) ? filter : [filter];
  const preds = list.map((f) => typeof f === "string" ? parseFilter(f) : f as Predicate);
  return preds.length === 1 ? preds[0] : { op: "&&", args: preds };
}
