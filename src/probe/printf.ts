/**
 * bpftrace's `printf`: which conversions a format holds, whether a call's
 * arguments fit them, and the text it prints, byte for byte as bpftrace
 * v0.17 prints it.
 *
 * bpftrace finds conversions with a regular expression
 * (`%-?[0-9]*(\.[0-9]+)?` then one of `s r rx rh c` or an integer
 * conversion `d u o x X p` after an optional length `hh h l ll j z t`),
 * cuts the format after each one and hands each piece, with its argument,
 * to C's `snprintf`; the text after the last conversion is written as it
 * is. So `%%` prints `%` before a conversion and `%%` after the last one,
 * `%d` prints the low 32 bits of a 64-bit value as a signed int, `%p` of 0
 * prints `(nil)`, and a `%c` of 0 ends its piece. {@linkcode formatPrintf}
 * does the same.
 *
 * ```ts
 * import { formatPrintf } from "@denobpf/ebpf/probe";
 *
 * formatPrintf("%-6s|%5d|%x\n", ["abc", 42n, -1n]); // "abc   |   42|ffffffff\n"
 * ```
 *
 * @module
 */

import { InvalidArgumentError, ParseError } from "../errors.ts";
import type { IrType } from "./ir.ts";

/** The kind of value a conversion takes, as bpftrace names it in its messages. */
export type PrintfValueKind = "integer" | "string" | "buffer";

/** One conversion of a format, e.g. `%-10s` or `%llx`. */
export interface PrintfConversion {
  /** Its text in the format (`"%-10s"`). */
  text: string;
  /** Where it starts in the format (index of its `%`). */
  offset: number;
  /** The length modifier and conversion letter(s): `"s"`, `"llu"`, `"rx"`. */
  conversion: string;
  /** The kind of argument it takes. */
  kind: PrintfValueKind;
  /** `-`: left-justified. */
  left: boolean;
  /** A width starting with `0`: zero-padded (integers only, as C does). */
  zero: boolean;
  /** The minimum width, if given. */
  width?: number;
  /** The precision (`.N`), if given. */
  precision?: number;
}

/** One piece of a format: text, then (except for the last piece) a conversion. */
export interface PrintfPiece {
  /**
   * What the piece prints before its conversion: `%%` already made `%` in
   * pieces that end with a conversion; the text after the last conversion
   * as written (bpftrace writes it as it is).
   */
  text: string;
  /** The conversion that ends the piece; absent for the text after the last one. */
  conversion?: PrintfConversion;
  /**
   * True when C's snprintf never reads the argument: the conversion's `%`
   * was taken by a `%%` before it (`%%d` prints `%d`). The conversion's
   * text is then in `text`, and the argument is still required.
   */
  literal?: boolean;
}

/** A parsed format: see {@linkcode parsePrintfFormat}. */
export interface PrintfFormat {
  /** The format as given. */
  format: string;
  /** The pieces, in order; every one but possibly the last ends with a conversion. */
  pieces: PrintfPiece[];
  /** The conversions, in order (one argument each). */
  conversions: PrintfConversion[];
}

const LENGTHS = ["hh", "h", "ll", "l", "j", "z", "t", ""];
const INT_LETTERS = "duoxXp";

/** The conversion (length and letter) at `i`, longest first; undefined when none matches. */
function conversionAt(format: string, i: number): string | undefined {
  if (format.startsWith("rx", i) || format.startsWith("rh", i)) return format.slice(i, i + 2);
  const c = format[i];
  if (c === "s" || c === "r" || c === "c") return c;
  for (const len of LENGTHS) {
    if (format.startsWith(len, i) && INT_LETTERS.includes(format[i + len.length] ?? "!")) {
      return format.slice(i, i + len.length + 1);
    }
  }
  return undefined;
}

function kindOf(conversion: string): PrintfValueKind {
  if (conversion === "s") return "string";
  if (conversion[0] === "r") return "buffer";
  return "integer";
}

/** The conversion starting at the `%` at `at`, or undefined when none starts there. */
function matchConversion(format: string, at: number): PrintfConversion | undefined {
  let i = at + 1;
  const left = format[i] === "-";
  if (left) i++;
  const widthStart = i;
  while (format[i] >= "0" && format[i] <= "9") i++;
  const widthText = format.slice(widthStart, i);
  let precision: number | undefined;
  if (format[i] === "." && format[i + 1] >= "0" && format[i + 1] <= "9") {
    const p = ++i;
    while (format[i] >= "0" && format[i] <= "9") i++;
    precision = Number(format.slice(p, i));
  }
  const conversion = conversionAt(format, i);
  if (conversion === undefined) return undefined;
  if (widthText.length > 6 || (precision ?? 0) > 999_999) {
    throw new ParseError(
      "printf",
      `the width or precision of ${JSON.stringify(format.slice(at, i + conversion.length))} ` +
        "is over 999999 characters",
      { offset: at },
    );
  }
  const end = i + conversion.length;
  return {
    text: format.slice(at, end),
    offset: at,
    conversion,
    kind: kindOf(conversion),
    left,
    zero: widthText.startsWith("0"),
    width: widthText === "" ? undefined : Number(widthText),
    precision,
  };
}

/**
 * The text C's snprintf prints for `piece` up to `end` (the conversion's
 * `%` at `at`): `%%` is `%`; whether the conversion's `%` was taken by a
 * `%%`; a ParseError for any other `%`.
 */
function scanPiece(
  format: string,
  range: { start: number; at: number; end: number },
): { text: string; literal: boolean } {
  let text = "";
  let i = range.start;
  while (i < range.at) {
    const j = format.indexOf("%", i);
    if (j < 0 || j >= range.at) {
      text += format.slice(i, range.at);
      break;
    }
    text += format.slice(i, j);
    if (format[j + 1] !== "%") throw strayError(format, j);
    text += "%";
    i = j + 2;
  }
  // A %% ending on the conversion's %: its letters are plain text.
  if (i > range.at) return { text: text + format.slice(range.at + 1, range.end), literal: true };
  return { text, literal: false };
}

function strayError(format: string, at: number): ParseError {
  const m = /^%[-+ #0-9.*]*[a-zA-Z]{0,3}/.exec(format.slice(at));
  const what = m ? m[0] : "%";
  return new ParseError(
    "printf",
    `unknown conversion ${JSON.stringify(what)} in ${JSON.stringify(format)}: ` +
      "bpftrace knows %s, %r, %rx, %rh, %c and %d %u %o %x %X %p with an optional " +
      "length hh, h, l, ll, j, z or t, a '-' flag, a width and a precision; write %% for a %",
    { offset: at },
  );
}

/**
 * Parses a printf format as bpftrace does (the string as the script means
 * it: escapes such as `\n` already turned into characters). Conversions
 * are found the way bpftrace finds them, left to right, so `%%d` holds a
 * `%d` (bpftrace prints `%d` for it). Text after the last conversion is
 * kept as written and never an error (bpftrace prints it as it is,
 * `%%` and all).
 *
 * @throws {ParseError} (format `"printf"`) naming a `%` sequence that
 * bpftrace does not know (`%f`, `%+d`, `%*d`, `%ls`…) in the text before a
 * conversion, where C's snprintf would read an argument bpftrace never
 * passed.
 */
export function parsePrintfFormat(format: string): PrintfFormat {
  const pieces: PrintfPiece[] = [];
  const conversions: PrintfConversion[] = [];
  let last = 0;
  for (let i = format.indexOf("%"); i >= 0; i = format.indexOf("%", i + 1)) {
    const c = matchConversion(format, i);
    if (c === undefined) continue;
    const end = i + c.text.length;
    const { text, literal } = scanPiece(format, { start: last, at: i, end });
    pieces.push(literal ? { text, conversion: c, literal } : { text, conversion: c });
    conversions.push(c);
    last = end;
    i = last - 1;
  }
  if (last < format.length || pieces.length === 0) pieces.push({ text: format.slice(last) });
  return { format, pieces, conversions };
}

// ---------------------------------------------------------------- checking

/**
 * A value's type for {@linkcode checkPrintfArgs}: an IR type, or a kind
 * bpftrace names (`"integer"`, `"string"`, `"buffer"`, `"pointer"`, `"ksym"`…).
 */
export type PrintfArgType = IrType | PrintfValueKind | string;

/** bpftrace's name of a type, after its printf mapping (symbols and stacks print as strings, pointers as integers). */
function printfKind(t: PrintfArgType): string {
  if (typeof t === "string") {
    if (["ksym", "usym", "kstack", "ustack", "stack", "probe", "username"].includes(t)) {
      return "string";
    }
    return t === "pointer" ? "integer" : t;
  }
  switch (t.kind) {
    case "int":
    case "ptr":
      return "integer";
    case "str":
    case "stack":
    case "ksym":
    case "usym":
    case "inet":
    case "timestamp":
    case "mac":
    case "username":
      return "string";
    case "buf":
      return "buffer";
    default:
      return t.kind;
  }
}

/** Options of {@linkcode checkPrintfArgs}. */
export interface CheckPrintfOptions {
  /** The function named in messages (default `"printf"`). */
  fn?: string;
}

/**
 * Checks a call's arguments against its format as bpftrace does at compile
 * time, with bpftrace's messages: `printf: Not enough arguments for format
 * string (1 supplied, 2 expected)`, `printf: %d specifier expects a value
 * of type integer (string supplied)`.
 *
 * @throws {InvalidArgumentError} when the count or a type does not fit.
 * @throws {ParseError} when the format does not parse (see {@linkcode parsePrintfFormat}).
 */
export function checkPrintfArgs(
  format: string | PrintfFormat,
  types: readonly PrintfArgType[],
  options: CheckPrintfOptions = {},
): void {
  const f = typeof format === "string" ? parsePrintfFormat(format) : format;
  const fn = options.fn ?? "printf";
  const want = f.conversions.length;
  if (types.length !== want) {
    throw new InvalidArgumentError(
      `${fn}: ${types.length < want ? "Not enough" : "Too many"} arguments for format string ` +
        `(${types.length} supplied, ${want} expected)`,
    );
  }
  f.conversions.forEach((c, i) => {
    const got = printfKind(types[i]);
    if (got !== c.kind) {
      const spec = c.conversion;
      throw new InvalidArgumentError(
        `${fn}: %${spec} specifier expects a value of type ${c.kind} (${got} supplied)`,
      );
    }
  });
}

// ---------------------------------------------------------------- formatting

/**
 * An argument as decoded from a record: an integer (`bigint`, or a safe
 * `number`), a string (symbols and stacks already turned into text), or a
 * buffer's bytes (`buf()`).
 */
export type PrintfArg = bigint | number | string | Uint8Array;

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

/** `buf()` bytes as bpftrace prints them: `%r` keeps printable ASCII, `%rx` all `\xNN`, `%rh` `61 01 7a`. */
export function formatBuffer(bytes: Uint8Array, style: "r" | "rx" | "rh" = "r"): string {
  let s = "";
  bytes.forEach((b, i) => {
    const hex = b.toString(16).padStart(2, "0");
    if (style === "r" && b >= 32 && b <= 126) s += String.fromCharCode(b);
    else if (style === "rh") s += i === bytes.length - 1 ? hex : `${hex} `;
    else s += `\\x${hex}`;
  });
  return s;
}

/** Pads `body` to the conversion's width, with spaces (or zeros after `prefix` for integers). */
function pad(c: PrintfConversion, prefix: string, body: string, zeros: boolean): string {
  const width = c.width ?? 0;
  const len = prefix.length + body.length;
  if (len >= width) return prefix + body;
  if (c.left) return prefix + body + " ".repeat(width - len);
  if (zeros) return prefix + "0".repeat(width - len) + body;
  return " ".repeat(width - len) + prefix + body;
}

function bitsOf(conversion: string): number {
  if (conversion.startsWith("hh")) return 8;
  if (conversion.startsWith("h")) return 16;
  return conversion.length > 1 ? 64 : 32;
}

function formatInt(c: PrintfConversion, arg: PrintfArg): string {
  const v = typeof arg === "bigint" ? arg : typeof arg === "number" ? BigInt(Math.trunc(arg)) : 0n;
  const letter = c.conversion[c.conversion.length - 1];
  if (letter === "p") {
    const p = BigInt.asUintN(64, v);
    if (p === 0n) return pad(c, "", "(nil)", false);
    let digits = p.toString(16);
    if (c.precision !== undefined) digits = digits.padStart(c.precision, "0");
    return pad(c, "0x", digits, c.zero && c.precision === undefined);
  }
  const bits = bitsOf(c.conversion);
  const n = letter === "d" ? BigInt.asIntN(bits, v) : BigInt.asUintN(bits, v);
  const sign = n < 0n ? "-" : "";
  const abs = n < 0n ? -n : n;
  const base = letter === "o" ? 8 : letter === "x" || letter === "X" ? 16 : 10;
  let digits = abs.toString(base);
  if (letter === "X") digits = digits.toUpperCase();
  if (c.precision !== undefined) {
    digits = c.precision === 0 && abs === 0n ? "" : digits.padStart(c.precision, "0");
  }
  return pad(c, sign, digits, c.zero && c.precision === undefined);
}

/** Text as C's %s with a precision cuts it: at most `precision` UTF-8 bytes. */
function cut(s: string, precision: number | undefined): string {
  if (precision === undefined) return s;
  const bytes = utf8.encode(s);
  return bytes.length <= precision ? s : utf8Decoder.decode(bytes.subarray(0, precision));
}

function padText(c: PrintfConversion, s: string): string {
  const t = cut(s, c.precision);
  // Widths count bytes, as C's do.
  const extra = utf8.encode(t).length - t.length;
  return pad({ ...c, width: c.width === undefined ? undefined : c.width - extra }, "", t, false);
}

function argText(arg: PrintfArg): string {
  if (typeof arg === "string") return arg;
  if (arg instanceof Uint8Array) return formatBuffer(arg);
  return String(arg);
}

function formatOne(c: PrintfConversion, arg: PrintfArg): string {
  switch (c.kind) {
    case "integer":
      if (c.conversion === "c") {
        const v = typeof arg === "bigint" ? arg : BigInt(Math.trunc(Number(arg)));
        // One byte, one column (a byte over 0x7f comes out as its Latin-1 character).
        return pad(
          { ...c, precision: undefined },
          "",
          String.fromCharCode(Number(BigInt.asUintN(8, v))),
          false,
        );
      }
      return formatInt(c, arg);
    case "buffer":
      return padText(
        c,
        arg instanceof Uint8Array
          ? formatBuffer(arg, c.conversion as "r" | "rx" | "rh")
          : argText(arg),
      );
    default: {
      // bpftrace's strings end at their first NUL.
      const s = argText(arg);
      const nul = s.indexOf("\0");
      return padText(c, nul < 0 ? s : s.slice(0, nul));
    }
  }
}

/**
 * The text bpftrace's `printf(format, args…)` prints. Integers are taken
 * as the conversion's C type (`%d` the low 32 bits, signed; `%lu` 64 bits,
 * unsigned; `%hhx` 8 bits…), `%p` prints `0x…` or `(nil)`, `%c` one byte,
 * `%s` a string (ksym, usym and stacks as their text), `%r`/`%rx`/`%rh` a
 * buffer as `\xNN` escapes or hex. `%%` prints `%` in the text before a
 * conversion; the text after the last conversion is written as it is, as
 * bpftrace writes it. Each piece ends at a NUL (a `%c` of 0), as C
 * strings do.
 *
 * @throws {ParseError} when the format does not parse (see {@linkcode parsePrintfFormat}).
 * @throws {InvalidArgumentError} when there are fewer arguments than conversions.
 */
export function formatPrintf(format: string | PrintfFormat, args: readonly PrintfArg[]): string {
  const f = typeof format === "string" ? parsePrintfFormat(format) : format;
  if (args.length < f.conversions.length) {
    throw new InvalidArgumentError(
      `printf: Not enough arguments for format string ` +
        `(${args.length} supplied, ${f.conversions.length} expected)`,
    );
  }
  let out = "";
  let i = 0;
  for (const piece of f.pieces) {
    if (piece.conversion === undefined) {
      out += piece.text;
      continue;
    }
    const arg = args[i++];
    const text = piece.literal ? piece.text : piece.text + formatOne(piece.conversion, arg);
    const nul = text.indexOf("\0");
    out += nul < 0 ? text : text.slice(0, nul);
  }
  return out;
}
