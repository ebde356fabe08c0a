/**
 * C++ symbol names as bpftrace prints them: the Itanium C++ ABI mangling
 * (`_ZN2ns3BoxIiE3getERKSs`) read back into source form
 * (`ns::Box<int>::get(std::string const&)`) the way the GNU demangler
 * behind `abi::__cxa_demangle` (which BCC, and so bpftrace, calls on every
 * `_Z` user symbol) writes it: `char const*`, `> >`, `std::string` for
 * `Ss`, `{lambda(int)#1}`, `(anonymous namespace)`, `[abi:cxx11]`,
 * ` [clone .cold]`.
 *
 * The subset real programs use is read: nested, local and template names,
 * function parameters and return types of function templates, the
 * substitution table (`S_`, `S0_`, `St`, `Sa`, `Ss` …), template
 * parameters and packs, operators, conversion operators, constructors and
 * destructors, ABI tags, lambdas and unnamed types, literals, pointers to
 * members, function and array types, vtables, typeinfo, thunks, guard
 * variables and clone suffixes. A name outside that subset, or one that is
 * not a valid mangling, comes back unchanged, as the GNU demangler's
 * failure leaves it in BCC.
 *
 * ```ts ignore
 * import { demangle } from "@denobpf/ebpf/probe";
 *
 * demangle("_ZNK3Foo3barERKSt6vectorIiSaIiEE");
 * // "Foo::bar(std::vector<int, std::allocator<int> > const&) const"
 * demangle("main"); // "main"
 * ```
 *
 * @module
 */

/** Options of {@linkcode demangle}. */
export interface DemangleOptions {
  /**
   * Spell the standard abbreviations out (`std::basic_string<char,
   * std::char_traits<char>, std::allocator<char> >` for `Ss`), as
   * `c++filt` does; default false, as `abi::__cxa_demangle` (and so
   * bpftrace) writes them (`std::string`).
   */
  verbose?: boolean;
}

/**
 * The source form of a mangled C++ name, as `abi::__cxa_demangle` gives it;
 * a name that does not start with `_Z`, is not a valid mangling or uses
 * what this reader does not cover comes back unchanged. Never throws.
 */
export function demangle(name: string, options: DemangleOptions = {}): string {
  if (!name.startsWith("_Z") || name.length > MAX_NAME) return name;
  try {
    const p = new Reader(name, options.verbose ?? false);
    const node = p.mangled();
    if (p.pos !== name.length) return name;
    const out = new Printer();
    out.print(node);
    return out.text;
  } catch (e) {
    // Too deep for the stack (a substitution nested thousands of times) is unreadable too.
    if (e instanceof Unreadable || e instanceof RangeError) return name;
    throw e;
  }
}

/** Names longer than this are left as they are (and reading is bounded by it). */
const MAX_NAME = 16384;
/** Longest output: substitutions can repeat text; past this, the name stays mangled. */
const MAX_OUTPUT = 1 << 16;
/** Deepest nesting of the reader. */
const MAX_DEPTH = 256;

/** Not a mangling this reader takes (private: `demangle` returns the name then). */
class Unreadable extends Error {}

function fail(): never {
  throw new Unreadable();
}

// ---------------------------------------------------------------- the tree

type Node =
  | { k: "text"; s: string }
  | { k: "qname"; scope: Node; name: Node; bare?: boolean }
  | { k: "tmpl"; name: Node; args: Node[] }
  | { k: "tagged"; name: Node; tag: string }
  | { k: "ptr" | "ref" | "rref"; to: Node }
  | { k: "cv"; to: Node; q: string }
  | { k: "fn"; ret: Node | null; params: Node[]; q: string }
  | { k: "arr"; dim: string; of: Node }
  | { k: "pm"; cls: Node; mem: Node }
  | { k: "pack"; elems: Node[] }
  | { k: "expand"; pattern: Node }
  | { k: "lit"; type: Node; code: string; value: string; neg: boolean }
  | { k: "special"; prefix: string; of: Node }
  | { k: "ctvt"; of: Node; in: Node }
  | { k: "enc"; name: Node; fn: Extract<Node, { k: "fn" }> }
  | { k: "clone"; of: Node; suffix: string }
  | { k: "ctor"; name: string; dtor: boolean }
  | { k: "conv"; to: Node }
  | { k: "local"; enc: Node; entity: Node }
  | { k: "lambda"; params: Node[]; n: string }
  | { k: "unnamed"; n: string }
  | { k: "bad" }
  /** A template parameter that is a pack: its element being expanded, else its first. */
  | { k: "pref"; pack: Extract<Node, { k: "pack" }> };

const BUILTINS: Record<string, string> = {
  v: "void",
  w: "wchar_t",
  b: "bool",
  c: "char",
  a: "signed char",
  h: "unsigned char",
  s: "short",
  t: "unsigned short",
  i: "int",
  j: "unsigned int",
  l: "long",
  m: "unsigned long",
  x: "long long",
  y: "unsigned long long",
  n: "__int128",
  o: "unsigned __int128",
  f: "float",
  d: "double",
  e: "long double",
  g: "__float128",
  z: "...",
};
const D_BUILTINS: Record<string, string> = {
  d: "decimal64",
  e: "decimal128",
  f: "decimal32",
  h: "half",
  i: "char32_t",
  s: "char16_t",
  u: "char8_t",
  a: "auto",
  c: "decltype(auto)",
  n: "decltype(nullptr)",
};
const BUILTIN_NAMES = new Set([...Object.values(BUILTINS), ...Object.values(D_BUILTINS)]);
/** Literal suffixes of the integer types, as the GNU demangler prints them. */
const LITERAL_SUFFIX: Record<string, string> = {
  i: "",
  j: "u",
  l: "l",
  m: "ul",
  x: "ll",
  y: "ull",
};
const OPERATORS: Record<string, string> = {
  nw: "new",
  na: "new[]",
  dl: "delete",
  da: "delete[]",
  ps: "+",
  ng: "-",
  ad: "&",
  de: "*",
  co: "~",
  pl: "+",
  mi: "-",
  ml: "*",
  dv: "/",
  rm: "%",
  an: "&",
  or: "|",
  eo: "^",
  aS: "=",
  pL: "+=",
  mI: "-=",
  mL: "*=",
  dV: "/=",
  rM: "%=",
  aN: "&=",
  oR: "|=",
  eO: "^=",
  ls: "<<",
  rs: ">>",
  lS: "<<=",
  rS: ">>=",
  eq: "==",
  ne: "!=",
  lt: "<",
  gt: ">",
  le: "<=",
  ge: ">=",
  ss: "<=>",
  nt: "!",
  aa: "&&",
  oo: "||",
  pp: "++",
  mm: "--",
  cm: ",",
  pm: "->*",
  pt: "->",
  cl: "()",
  ix: "[]",
  qu: "?",
  aw: "co_await",
};
/** The standard abbreviations: [name set for a following constructor, short, spelled out]. */
const STD_SUBS: Record<string, [string, string, string]> = {
  a: ["allocator", "std::allocator", "std::allocator"],
  b: ["basic_string", "std::basic_string", "std::basic_string"],
  s: [
    "basic_string",
    "std::string",
    "std::basic_string<char, std::char_traits<char>, std::allocator<char> >",
  ],
  i: ["basic_istream", "std::istream", "std::basic_istream<char, std::char_traits<char> >"],
  o: ["basic_ostream", "std::ostream", "std::basic_ostream<char, std::char_traits<char> >"],
  d: ["basic_iostream", "std::iostream", "std::basic_iostream<char, std::char_traits<char> >"],
};
const SPECIAL_TYPES: Record<string, string> = {
  V: "vtable for ",
  T: "VTT for ",
  I: "typeinfo for ",
  S: "typeinfo name for ",
};

const text = (s: string): Node => ({ k: "text", s });

// ---------------------------------------------------------------- reading

class Reader {
  pos = 0;
  readonly #s: string;
  readonly #verbose: boolean;
  readonly #subs: Node[] = [];
  /** Substitutions that are a bare template parameter: its number. */
  readonly #subParams = new Map<number, number>();
  #params: Node[] | undefined;
  #lastName = "";
  #depth = 0;

  constructor(s: string, verbose: boolean) {
    this.#s = s;
    this.#verbose = verbose;
  }

  #peek(at = 0): string {
    return this.#s[this.pos + at] ?? "";
  }

  #eat(s: string): boolean {
    if (this.#s.startsWith(s, this.pos)) {
      this.pos += s.length;
      return true;
    }
    return false;
  }

  #expect(s: string): void {
    if (!this.#eat(s)) fail();
  }

  #enter(): void {
    if (++this.#depth > MAX_DEPTH) fail();
  }

  /** `_Z <encoding> [. clone-suffix]*` */
  mangled(): Node {
    this.#expect("_Z");
    let node = this.#encoding(true);
    while (this.#peek() === "." && /[a-z_0-9]/.test(this.#peek(1))) {
      const m = /^(\.[a-z_]+)?(\.[0-9]+)*/.exec(this.#s.slice(this.pos))!;
      let suffix = m[0];
      if (suffix === "") suffix = /^\.[0-9]+(\.[0-9]+)*/.exec(this.#s.slice(this.pos))![0];
      this.pos += suffix.length;
      node = { k: "clone", of: node, suffix };
    }
    return node;
  }

  #encoding(top: boolean): Node {
    this.#enter();
    const c = this.#peek();
    if (c === "T" || (c === "G" && /[VRTA]/.test(this.#peek(1)))) {
      const r = this.#special();
      this.#depth--;
      return r;
    }
    const saved = this.#params;
    const { name, q } = this.#name(true);
    const next = this.#peek();
    if (next === "" || next === "E") {
      if (q) fail(); // cv-qualifiers on a name that is not a function's
      this.#depth--;
      return name;
    }
    // `T_` in the type names the encoding's own template arguments, if it has them.
    if (!endsWithTemplateArgs(name)) this.#params = undefined;
    const ret = hasReturnType(name) ? this.#type() : null;
    const params = this.#bareParams();
    this.#depth--;
    if (!top) this.#params = saved;
    return { k: "enc", name, fn: { k: "fn", ret, params, q } };
  }

  #special(): Node {
    if (this.#eat("TC")) {
      const of = this.#type();
      this.#number();
      this.#expect("_");
      const inType = this.#type();
      return { k: "ctvt", of, in: inType };
    }
    const c2 = this.#s.slice(this.pos, this.pos + 2);
    if (c2[0] === "T" && c2[1] in SPECIAL_TYPES) {
      this.pos += 2;
      return { k: "special", prefix: SPECIAL_TYPES[c2[1]], of: this.#type() };
    }
    switch (c2) {
      case "Th":
        this.pos += 2;
        this.#callOffset("h");
        return { k: "special", prefix: "non-virtual thunk to ", of: this.#encoding(false) };
      case "Tv":
        this.pos += 2;
        this.#callOffset("v");
        return { k: "special", prefix: "virtual thunk to ", of: this.#encoding(false) };
      case "Tc":
        this.pos += 2;
        this.#callOffset();
        this.#callOffset();
        return {
          k: "special",
          prefix: "covariant return thunk to ",
          of: this.#encoding(false),
        };
      case "TW":
        this.pos += 2;
        return { k: "special", prefix: "TLS wrapper function for ", of: this.#name(false).name };
      case "TH":
        this.pos += 2;
        return { k: "special", prefix: "TLS init function for ", of: this.#name(false).name };
      case "GV":
        this.pos += 2;
        return { k: "special", prefix: "guard variable for ", of: this.#name(false).name };
      case "GR": {
        this.pos += 2;
        const of = this.#name(false).name;
        let n = 0;
        if (this.#peek() !== "_") n = this.#seqId() + 1;
        this.#expect("_");
        return { k: "special", prefix: `reference temporary #${n} for `, of };
      }
      case "GT":
        this.pos += 2;
        if (this.#eat("t")) {
          return { k: "special", prefix: "transaction clone for ", of: this.#encoding(false) };
        }
        if (this.#eat("n")) {
          return {
            k: "special",
            prefix: "non-transaction clone for ",
            of: this.#encoding(false),
          };
        }
        fail();
        break;
      case "GA":
        this.pos += 2;
        return { k: "special", prefix: "hidden alias for ", of: this.#encoding(false) };
    }
    fail();
  }

  #callOffset(kind?: string): void {
    const c = kind ?? this.#peek();
    if (kind === undefined) this.pos++;
    if (c === "h") {
      this.#number();
      this.#expect("_");
    } else if (c === "v") {
      this.#number();
      this.#expect("_");
      this.#number();
      this.#expect("_");
    } else fail();
  }

  /** `[n] digits` as text. */
  #number(): string {
    const m = /^n?[0-9]+/.exec(this.#s.slice(this.pos, this.pos + 40));
    if (!m) fail();
    this.pos += m[0].length;
    return m[0][0] === "n" ? `-${m[0].slice(1)}` : m[0];
  }

  #seqId(): number {
    const m = /^[0-9A-Z]+/.exec(this.#s.slice(this.pos, this.pos + 12));
    if (!m) fail();
    this.pos += m[0].length;
    return parseInt(m[0], 36);
  }

  /**
   * `<name>`; `top` for an encoding's name, whose template arguments become
   * the template parameters `T_` refers to. `q` is the method's cv- and
   * ref-qualifiers (` const`, ` &`) of a nested name.
   */
  #name(top: boolean): { name: Node; q: string } {
    this.#enter();
    const c = this.#peek();
    let r: { name: Node; q: string };
    if (c === "N") r = this.#nested(top);
    else if (c === "Z") r = this.#local(top);
    else {
      let name: Node;
      if (c === "S" && this.#peek(1) !== "t") {
        name = this.#substitution();
        if (this.#peek() !== "I") fail(); // a substitution is a name only as a template's
      } else {
        name = this.#unscoped();
        if (this.#peek() === "I") this.#subs.push(name);
      }
      if (this.#peek() === "I") name = { k: "tmpl", name, args: this.#templateArgs(top) };
      r = { name, q: "" };
    }
    this.#depth--;
    return r;
  }

  #unscoped(): Node {
    const std = this.#eat("St");
    const name = this.#unqualified(null);
    return std ? { k: "qname", scope: text("std"), name } : name;
  }

  #local(top: boolean): { name: Node; q: string } {
    this.#expect("Z");
    let enc = this.#encoding(false);
    this.#expect("E");
    // The function a local name is in prints without its return type.
    if (enc.k === "enc") enc = { ...enc, fn: { ...enc.fn, ret: null } };
    if (this.#eat("s")) {
      this.#discriminator();
      return { name: { k: "local", enc, entity: text("string literal") }, q: "" };
    }
    if (this.#eat("d")) {
      if (this.#peek() !== "_") this.#number();
      this.#expect("_");
    }
    const { name: entity, q } = this.#name(top);
    this.#discriminator();
    return { name: { k: "local", enc, entity }, q };
  }

  /** `_ <digits>` or `__ <digits> _` (GNU reads every digit after one `_`, too). */
  #discriminator(): void {
    if (!this.#eat("_")) return;
    const two = this.#eat("_");
    const m = /^[0-9]+/.exec(this.#s.slice(this.pos, this.pos + 12));
    if (!m) fail();
    this.pos += m[0].length;
    if (two && Number(m[0]) >= 10) this.#expect("_");
  }

  #nested(top: boolean): { name: Node; q: string } {
    this.#expect("N");
    let q = this.#cvQualifiers();
    if (this.#eat("R")) q += " &";
    else if (this.#eat("O")) q += " &&";
    let soFar: Node | null = null;
    let pushed = 0;
    while (!this.#eat("E")) {
      const c = this.#peek();
      if (c === "") fail();
      if (c === "I") {
        if (!soFar) fail();
        soFar = { k: "tmpl", name: soFar, args: this.#templateArgs(top) };
      } else if (c === "T") {
        if (soFar) fail();
        const i = this.#paramIndex();
        soFar = this.#param(i);
        this.#pushParam(i);
        pushed++;
        continue;
      } else if (c === "S" && this.#peek(1) !== "t") {
        if (soFar) fail();
        soFar = this.#substitution(true);
        continue; // already a substitution: not added again
      } else if (c === "S") {
        if (soFar) fail();
        this.pos += 2;
        soFar = text("std");
        continue;
      } else if (c === "D" && (this.#peek(1) === "t" || this.#peek(1) === "T")) {
        fail(); // decltype prefixes
      } else {
        const name = this.#unqualified(soFar);
        soFar = soFar ? { k: "qname", scope: soFar, name } : name;
      }
      this.#subs.push(soFar);
      pushed++;
    }
    if (!soFar || pushed === 0) fail();
    this.#subs.pop(); // the whole name is not a substitution candidate
    return { name: soFar, q };
  }

  #cvQualifiers(): string {
    // Printed last first, as the GNU demangler nests them (`VK` is `const volatile`).
    let q = "";
    for (let c = this.#peek(); c === "r" || c === "V" || c === "K"; c = this.#peek()) {
      this.pos++;
      q = (c === "K" ? " const" : c === "V" ? " volatile" : " restrict") + q;
    }
    return q;
  }

  /** `<unqualified-name>` with its ABI tags; `scope` is what it is declared in (for constructors). */
  #unqualified(scope: Node | null): Node {
    this.#enter();
    const c = this.#peek();
    let name: Node;
    if (/[0-9]/.test(c)) {
      name = this.#sourceName();
    } else if (c === "L" && /[0-9]/.test(this.#peek(1))) {
      this.pos++;
      name = this.#sourceName();
      this.#discriminator();
    } else if (c === "C" && /[1-5I]/.test(this.#peek(1))) {
      if (!scope && this.#lastName === "") fail();
      this.pos += 2;
      if (this.#s[this.pos - 1] === "I") {
        if (!/[1-5]/.test(this.#peek())) fail();
        this.pos++;
        this.#type();
      }
      name = { k: "ctor", name: this.#lastName, dtor: false };
    } else if (c === "D" && /[0-5]/.test(this.#peek(1))) {
      if (!scope && this.#lastName === "") fail();
      this.pos += 2;
      name = { k: "ctor", name: this.#lastName, dtor: true };
    } else if (c === "U" && this.#peek(1) === "t") {
      this.pos += 2;
      name = { k: "unnamed", n: this.#closureNumber() };
    } else if (c === "U" && this.#peek(1) === "l") {
      this.pos += 2;
      const params = this.#bareParams();
      this.#expect("E");
      name = { k: "lambda", params, n: this.#closureNumber() };
    } else if (c === "c" && this.#peek(1) === "v") {
      this.pos += 2;
      name = { k: "conv", to: this.#type() };
    } else if (c === "l" && this.#peek(1) === "i") {
      this.pos += 2;
      name = text(`operator"" ${nameText(this.#sourceName())}`);
    } else {
      const code = this.#s.slice(this.pos, this.pos + 2);
      if (!(code in OPERATORS)) fail();
      this.pos += 2;
      const op = OPERATORS[code];
      name = text(`operator${/^[a-z]/.test(op) ? " " : ""}${op}`);
    }
    while (this.#peek() === "B") {
      this.pos++;
      const last = this.#lastName;
      name = { k: "tagged", name, tag: nameText(this.#sourceName()) };
      this.#lastName = last;
    }
    this.#depth--;
    return name;
  }

  #closureNumber(): string {
    let n = "1";
    if (this.#peek() !== "_") n = String(Number(this.#number()) + 2);
    this.#expect("_");
    return n;
  }

  #sourceName(): Node {
    const m = /^[0-9]+/.exec(this.#s.slice(this.pos, this.pos + 10));
    if (!m) fail();
    const len = Number(m[0]);
    this.pos += m[0].length;
    if (len === 0 || this.pos + len > this.#s.length) fail();
    const id = this.#s.slice(this.pos, this.pos + len);
    this.pos += len;
    this.#lastName = id;
    if (len >= 10 && /^_GLOBAL_[._$]N/.test(id)) return text("(anonymous namespace)");
    return text(id);
  }

  /** `S_`, `S<seq>_`, `Sa` … ; `prefix` when a nested name's first part (a `C`/`D` after spells it out). */
  #substitution(prefix = false): Node {
    this.#expect("S");
    const c = this.#peek();
    if (c === "_" || /[0-9A-Z]/.test(c)) {
      const i = c === "_" ? 0 : this.#seqId() + 1;
      this.#expect("_");
      const param = this.#subParams.get(i);
      return param === undefined ? this.#subs[i] ?? fail() : this.#param(param);
    }
    const std = STD_SUBS[c];
    if (!std) fail();
    this.pos++;
    const verbose = this.#verbose || (prefix && /[CD]/.test(this.#peek()));
    this.#lastName = std[0];
    return text(verbose ? std[2] : std[1]);
  }

  #templateParam(): Node {
    return this.#param(this.#paramIndex());
  }

  #paramIndex(): number {
    this.#expect("T");
    let i = 0;
    if (this.#peek() !== "_") i = Number(this.#number()) + 1;
    this.#expect("_");
    return i;
  }

  /** Template argument `i`; one that is not there fails only if printed (as in the GNU demangler). */
  #param(i: number): Node {
    const arg = this.#params?.[i] ?? { k: "bad" };
    return arg.k === "pack" ? { k: "pref", pack: arg } : arg;
  }

  /**
   * Adds a template parameter `T_` to the substitutions: like the mangling,
   * a later `S<n>_` of it means the parameter of the same number where it
   * is used (a lambda's `T_` in a template argument, reused in the
   * enclosing function's parameters, is that function's).
   */
  #pushParam(i: number): void {
    this.#subParams.set(this.#subs.length, i);
    this.#subs.push(this.#param(i));
  }

  /** `I <template-arg>+ E`; `top`: the encoding's own, which `T_` then names. */
  #templateArgs(top: boolean): Node[] {
    this.#enter();
    this.#expect("I");
    const last = this.#lastName;
    const args: Node[] = [];
    while (!this.#eat("E")) args.push(this.#templateArg());
    this.#lastName = last;
    if (top) this.#params = args;
    this.#depth--;
    return args;
  }

  #templateArg(): Node {
    const c = this.#peek();
    if (c === "L") return this.#literal();
    if (c === "J") {
      this.pos++;
      const elems: Node[] = [];
      while (!this.#eat("E")) elems.push(this.#templateArg());
      return { k: "pack", elems };
    }
    if (c === "X") {
      this.pos++;
      const e = this.#expression();
      this.#expect("E");
      return e;
    }
    return this.#type();
  }

  /** The expressions template arguments of real programs hold: parameters, literals, `A::b`. */
  #expression(): Node {
    this.#enter();
    let e: Node;
    const unary = this.#s.slice(this.pos, this.pos + 2);
    if (unary === "ad" || unary === "nt") {
      // `&f` of a function or `!A::value`: a name, not a compound expression.
      this.pos += 2;
      const arg = this.#expression();
      if (arg.k !== "qname" && !(arg.k === "text" && /^[A-Za-z_(]/.test(arg.s))) fail();
      e = { k: "qname", scope: text(unary === "ad" ? "&" : "!"), name: arg, bare: true };
    } else if (this.#eat("L_Z")) {
      // A function's or object's address: its name (the GNU demangler leaves its parameters out).
      const enc = this.#encoding(false);
      this.#expect("E");
      e = enc.k === "enc" ? enc.name : enc;
    } else if (this.#peek() === "T") e = this.#templateParam();
    else if (this.#peek() === "L") e = this.#literal();
    else if (this.#eat("sr")) {
      let scope: Node;
      if (/[0-9]/.test(this.#peek())) {
        scope = this.#simpleId();
        while (!this.#eat("E")) scope = { k: "qname", scope, name: this.#simpleId() };
      } else {
        scope = this.#type();
        if (this.#peek() === "I") {
          scope = { k: "tmpl", name: scope, args: this.#templateArgs(false) };
        }
      }
      e = { k: "qname", scope, name: this.#simpleId() };
    } else fail();
    this.#depth--;
    return e;
  }

  /** `<source-name> [<template-args>]`, not a substitution candidate. */
  #simpleId(): Node {
    const name = this.#sourceName();
    return this.#peek() === "I" ? { k: "tmpl", name, args: this.#templateArgs(false) } : name;
  }

  #literal(): Node {
    this.#expect("L");
    if (this.#peek() === "_" && this.#peek(1) === "Z") fail(); // addresses of functions
    const code = this.#peek();
    let type: Node;
    if (code in BUILTINS) {
      if (code === "v" || code === "z") fail();
      this.pos++;
      type = text(BUILTINS[code]);
    } else type = this.#type();
    const neg = this.#eat("n");
    const m = /^[0-9a-f]+/.exec(this.#s.slice(this.pos, this.pos + 64));
    if (!m) fail();
    this.pos += m[0].length;
    this.#expect("E");
    return { k: "lit", type, code, value: m[0], neg };
  }

  /** Parameters up to `E`, `.` or the end; a lone `v` is none. */
  #bareParams(): Node[] {
    const params: Node[] = [];
    while (this.pos < this.#s.length && this.#peek() !== "E" && this.#peek() !== ".") {
      params.push(this.#type());
    }
    if (params.length === 0) fail();
    if (params.length === 1 && params[0].k === "text" && params[0].s === "void") return [];
    return params;
  }

  /** A class or enum type's name; qualifiers of a nested name print after it, as GNU prints them. */
  #typeName(): Node {
    const { name, q } = this.#name(false);
    return q ? { k: "cv", to: name, q } : name;
  }

  #functionType(): Extract<Node, { k: "fn" }> {
    this.#expect("F");
    this.#eat("Y");
    const ret = this.#type();
    const params = this.#bareParams();
    let q = "";
    if (this.#eat("R")) q = " &";
    else if (this.#eat("O")) q = " &&";
    this.#expect("E");
    return { k: "fn", ret, params, q };
  }

  #type(): Node {
    this.#enter();
    const c = this.#peek();
    let t: Node;
    if (c in BUILTINS) {
      this.pos++;
      this.#depth--;
      return text(BUILTINS[c]);
    }
    switch (c) {
      case "D": {
        const d = this.#peek(1);
        if (d in D_BUILTINS) {
          this.pos += 2;
          this.#depth--;
          return text(D_BUILTINS[d]);
        }
        if (d === "F" && /[0-9]/.test(this.#peek(2))) {
          this.pos += 2;
          const n = this.#number();
          this.#expect("_");
          this.#depth--;
          return text(`_Float${n}`);
        }
        if (d === "p") {
          this.pos += 2;
          t = { k: "expand", pattern: this.#type() };
          break;
        }
        fail();
        break;
      }
      case "u":
        this.pos++;
        t = this.#sourceName();
        break;
      case "r":
      case "V":
      case "K": {
        const q = this.#cvQualifiers();
        if (this.#peek() === "F") {
          // Qualifiers of a function type are its `this`'s: the unqualified type is no substitution.
          const f = this.#functionType();
          t = { ...f, q: q + f.q };
        } else t = { k: "cv", to: this.#type(), q };
        break;
      }
      case "P":
        this.pos++;
        t = { k: "ptr", to: this.#type() };
        break;
      case "R":
        this.pos++;
        t = { k: "ref", to: this.#type() };
        break;
      case "O":
        this.pos++;
        t = { k: "rref", to: this.#type() };
        break;
      case "F":
        t = this.#functionType();
        break;
      case "A": {
        this.pos++;
        let dim = "";
        if (this.#peek() !== "_") {
          dim = this.#peek() === "T" ? printed(this.#templateParam()) : this.#number();
        }
        this.#expect("_");
        t = { k: "arr", dim, of: this.#type() };
        break;
      }
      case "M": {
        this.pos++;
        const cls = this.#type();
        t = { k: "pm", cls, mem: this.#type() };
        break;
      }
      case "T": {
        const i = this.#paramIndex();
        this.#pushParam(i);
        t = this.#param(i);
        if (this.#peek() !== "I") {
          this.#depth--;
          return t;
        }
        t = { k: "tmpl", name: t, args: this.#templateArgs(false) };
        break;
      }
      case "S": {
        if (this.#peek(1) !== "t") {
          const s = this.#substitution();
          if (this.#peek() !== "I") {
            this.#depth--;
            return s;
          }
          t = { k: "tmpl", name: s, args: this.#templateArgs(false) };
          break;
        }
        t = this.#typeName();
        break;
      }
      case "N":
      case "Z":
      case "0":
      case "1":
      case "2":
      case "3":
      case "4":
      case "5":
      case "6":
      case "7":
      case "8":
      case "9":
        t = this.#typeName();
        break;
      default:
        fail();
    }
    this.#subs.push(t);
    this.#depth--;
    return t;
  }
}

function hasReturnType(n: Node): boolean {
  if (n.k === "local") return hasReturnType(n.entity);
  if (n.k === "tmpl") return !isCtorDtorOrConversion(n.name);
  return false;
}

function endsWithTemplateArgs(n: Node): boolean {
  return n.k === "local" ? endsWithTemplateArgs(n.entity) : n.k === "tmpl";
}

function isCtorDtorOrConversion(n: Node): boolean {
  switch (n.k) {
    case "qname":
      return isCtorDtorOrConversion(n.name);
    case "local":
      return isCtorDtorOrConversion(n.entity);
    case "tagged":
      return isCtorDtorOrConversion(n.name);
    case "ctor":
    case "conv":
      return true;
    default:
      return false;
  }
}

function nameText(n: Node): string {
  return n.k === "text" ? n.s : fail();
}

function printed(n: Node): string {
  const p = new Printer();
  p.print(n);
  return p.text;
}

// ---------------------------------------------------------------- printing

/** Whether a type prints with a part after the declarator (functions and arrays). */
function hasRight(n: Node): boolean {
  switch (n.k) {
    case "fn":
    case "arr":
      return true;
    case "ptr":
    case "ref":
    case "rref":
    case "cv":
      return hasRight(n.to);
    case "pm":
      return hasRight(n.mem);
    default:
      return false;
  }
}

class Printer {
  text = "";
  /** The pack element a pack expansion is printing, by pack. */
  readonly #expanding = new Map<Node, Node>();
  #lastSpace = false;

  #put(s: string): void {
    if (s === "") return;
    this.#lastSpace = false;
    this.text += s;
    if (this.text.length > MAX_OUTPUT) fail();
  }

  #last(): string {
    if (this.#lastSpace) return " ";
    return this.text[this.text.length - 1] ?? "";
  }

  print(n: Node): void {
    this.#left(n);
    this.#right(n);
  }

  /**
   * A comma-separated list, printed as GNU's nested argument lists print:
   * the ", " before an element is taken back when it and all after it
   * print nothing (empty packs), and the text then counts as ending in a
   * space (so `A<B<int>, >` prints `A<B<int>>`, but `A<, int>` stays).
   */
  #list(nodes: Node[]): void {
    const starts: number[] = [];
    nodes.forEach((n, i) => {
      if (i > 0) this.#put(", ");
      starts.push(this.text.length);
      this.#expanded(n).forEach((part, j) => {
        if (j > 0) this.#put(", ");
        part();
      });
    });
    for (let i = nodes.length - 1; i > 0 && this.text.length === starts[i]; i--) {
      this.text = this.text.slice(0, -2);
      this.#lastSpace = true;
    }
  }

  /** A list element: a pack prints as its elements, an expansion once per element. */
  #expanded(n: Node): (() => void)[] {
    if (n.k === "pack") return n.elems.flatMap((e) => this.#expanded(e));
    if (n.k === "expand") {
      const pack = findPack(n.pattern);
      if (!pack) {
        // No pack in it (a function parameter pack): the pattern and "...", as GNU prints it.
        const p = n.pattern;
        const simple = p.k === "qname" || (p.k === "text" && !BUILTIN_NAMES.has(p.s));
        return [() => {
          this.#put(simple ? "" : "(");
          this.print(p);
          this.#put(simple ? "..." : ")...");
        }];
      }
      return pack.elems.map((e) => () => {
        this.#expanding.set(pack, e);
        this.print(n.pattern);
        this.#expanding.delete(pack);
      });
    }
    return [() => this.print(n)];
  }

  #left(n: Node): void {
    switch (n.k) {
      case "text":
        this.#put(n.s);
        return;
      case "qname":
        this.print(n.scope);
        if (!n.bare) this.#put("::");
        this.print(n.name);
        return;
      case "tmpl":
        this.print(n.name);
        if (this.#last() === "<") this.#put(" ");
        this.#put("<");
        this.#list(n.args);
        if (this.#last() === ">") this.#put(" ");
        this.#put(">");
        return;
      case "tagged":
        this.print(n.name);
        this.#put(`[abi:${n.tag}]`);
        return;
      case "ref":
      case "rref": {
        const c = this.#collapsed(n);
        if (c !== n) return this.#left(c);
      }
      /* falls through */
      case "ptr": {
        const to = n.to;
        this.#left(to);
        const kind = this.#declarator(to);
        const wrap = kind === "fn" || kind === "arr";
        if (kind === "arr") this.#put(" ");
        else if (wrap && !"(* ".includes(this.#last())) this.#put(" ");
        if (wrap) this.#put("(");
        this.#put(n.k === "ptr" ? "*" : n.k === "ref" ? "&" : "&&");
        return;
      }
      case "cv": {
        this.#left(n.to);
        // A qualifier the type (a template parameter's) already has is not repeated.
        let have = "";
        for (let t = this.#resolved(n.to); t.k === "cv" || t.k === "arr";) {
          if (t.k === "cv") have += t.q;
          t = this.#resolved(t.k === "cv" ? t.to : t.of);
        }
        for (const q of n.q.split(" ")) if (q && !have.includes(` ${q}`)) this.#put(` ${q}`);
        return;
      }
      case "fn":
        if (n.ret) {
          this.#left(n.ret);
          if (!hasRight(n.ret)) this.#put(" ");
        }
        return;
      case "arr":
        this.#left(n.of);
        return;
      case "pm": {
        this.#left(n.mem);
        const wrap = /^(fn|arr)$/.test(this.#declarator(n.mem));
        this.#put(wrap ? (this.#last() === " " || this.#last() === "(" ? "(" : " (") : " ");
        this.print(n.cls);
        this.#put("::*");
        return;
      }
      case "pack":
        this.#list(n.elems);
        return;
      case "pref":
        this.#left(this.#resolved(n));
        return;
      case "expand":
        this.#list([n]);
        return;
      case "lit":
        if (n.code in LITERAL_SUFFIX) {
          this.#put(`${n.neg ? "-" : ""}${n.value}${LITERAL_SUFFIX[n.code]}`);
        } else if (n.code === "f" || n.code === "d" || n.code === "e") {
          this.#put("(");
          this.print(n.type);
          this.#put(`)${n.neg ? "-" : ""}[${n.value}]`);
        } else if (n.code === "b" && !n.neg && (n.value === "0" || n.value === "1")) {
          this.#put(n.value === "0" ? "false" : "true");
        } else {
          this.#put("(");
          this.print(n.type);
          this.#put(`)${n.neg ? "-" : ""}${n.value}`);
        }
        return;
      case "special":
        this.#put(n.prefix);
        this.print(n.of);
        return;
      case "ctvt":
        this.#put("construction vtable for ");
        this.print(n.of);
        this.#put("-in-");
        this.print(n.in);
        return;
      case "enc": {
        const ret = n.fn.ret;
        if (ret) {
          this.#left(ret);
          if (!hasRight(ret)) this.#put(" ");
        }
        this.print(n.name);
        this.#put("(");
        this.#list(n.fn.params);
        this.#put(")");
        this.#put(n.fn.q);
        if (ret) this.#right(ret);
        return;
      }
      case "clone":
        this.print(n.of);
        this.#put(` [clone ${n.suffix}]`);
        return;
      case "ctor":
        this.#put(n.dtor ? `~${n.name}` : n.name);
        return;
      case "conv":
        this.#put("operator ");
        this.print(n.to);
        return;
      case "local":
        this.print(n.enc);
        this.#put("::");
        this.print(n.entity);
        return;
      case "lambda":
        this.#put("{lambda(");
        this.#list(n.params);
        this.#put(`)#${n.n}}`);
        return;
      case "unnamed":
        this.#put(`{unnamed type#${n.n}}`);
        return;
      case "bad":
        fail();
    }
  }

  /** The kind of type a declarator wraps: through qualifiers and the pack element being printed. */
  #declarator(n: Node): string {
    let t = this.#resolved(n);
    while (t.k === "cv") t = this.#resolved(t.to);
    return t.k;
  }

  /** A pack parameter stands for the element being expanded (outside an expansion, its first). */
  #resolved(n: Node): Node {
    if (n.k !== "pref") return n;
    return this.#expanding.get(n.pack) ?? n.pack.elems[0] ?? fail();
  }

  /** References to references collapse, as in C++ (`&` wins). */
  #collapsed(n: { k: "ptr" | "ref" | "rref"; to: Node }): Node {
    let k = n.k;
    let to = this.#resolved(n.to);
    if (to.k !== "ref" && to.k !== "rref") return n;
    while (to.k === "ref" || to.k === "rref") {
      if (to.k === "ref") k = "ref";
      to = this.#resolved(to.to);
    }
    return { k, to };
  }

  #right(n: Node): void {
    switch (n.k) {
      case "pref":
        this.#right(this.#resolved(n));
        return;
      case "ref":
      case "rref": {
        const c = this.#collapsed(n);
        if (c !== n) return this.#right(c);
      }
      /* falls through */
      case "ptr":
        if (/^(fn|arr)$/.test(this.#declarator(n.to))) this.#put(")");
        this.#right(n.to);
        return;
      case "cv":
        this.#right(n.to);
        return;
      case "pm":
        if (/^(fn|arr)$/.test(this.#declarator(n.mem))) this.#put(")");
        this.#right(n.mem);
        return;
      case "fn":
        this.#put("(");
        this.#list(n.params);
        this.#put(")");
        this.#put(n.q);
        if (n.ret) this.#right(n.ret);
        return;
      case "arr":
        if (this.#last() !== "]") this.#put(" ");
        this.#put(`[${n.dim}]`);
        this.#right(n.of);
        return;
      default:
        return;
    }
  }
}

/** The first pack a pack expansion's pattern refers to. */
function findPack(n: Node): Extract<Node, { k: "pack" }> | undefined {
  switch (n.k) {
    case "pref":
      return n.pack;
    case "ptr":
    case "ref":
    case "rref":
    case "cv":
      return findPack(n.to);
    case "tmpl":
      return n.args.map(findPack).find((p) => p) ?? findPack(n.name);
    case "qname":
      return findPack(n.scope) ?? findPack(n.name);
    case "fn":
      return (n.ret && findPack(n.ret)) ?? n.params.map(findPack).find((p) => p);
    case "arr":
      return findPack(n.of);
    case "pm":
      return findPack(n.cls) ?? findPack(n.mem);
    default:
      return undefined;
  }
}
