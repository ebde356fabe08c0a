/**
 * The YAML the exporter's configuration files use: block mappings and
 * sequences by indentation (`key: value`, `- item`, `- key: value`),
 * flow sequences of scalars (`[comm, pid]`), scalars plain, "double" (JSON
 * escapes) or 'single' quoted, numbers, `true`/`false`/`null`, and `#`
 * comments. Anchors, tags, multi-line scalars and flow mappings are not
 * supported and are refused with the line they are on.
 *
 * @module
 */

import { ParseError } from "../errors.ts";

interface Line {
  indent: number;
  text: string;
  no: number;
}

function fail(what: string, line: number): never {
  throw new ParseError("YAML", `line ${line}: ${what}`);
}

/** `text` up to a comment (`#` at the start or after a space, outside quotes). */
function stripComment(text: string): string {
  let quote = "";
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "#" && (i === 0 || text[i - 1] === " " || text[i - 1] === "\t")) {
      return text.slice(0, i);
    }
  }
  return text;
}

/** Where the `key: ` colon of a mapping entry is, or -1. */
function keyColon(text: string): number {
  if (text.startsWith('"') || text.startsWith("'")) {
    const q = text[0];
    let i = 1;
    while (i < text.length && text[i] !== q) i += text[i] === "\\" && q === '"' ? 2 : 1;
    if (text[i + 1] === ":" && (i + 2 === text.length || text[i + 2] === " ")) return i + 1;
    return -1;
  }
  for (let i = 0; i < text.length; i++) {
    if (text[i] === ":" && (i + 1 === text.length || text[i + 1] === " ")) return i;
    if (text[i] === "[" || text[i] === "{" || text[i] === '"' || text[i] === "'") return -1;
  }
  return -1;
}

function scalar(raw: string, line: number): unknown {
  const s = raw.trim();
  if (s === "" || s === "~" || s === "null") return null;
  if (s === "true") return true;
  if (s === "false") return false;
  if (s.startsWith('"')) {
    try {
      const v = JSON.parse(s);
      if (typeof v === "string") return v;
    } catch { /* below */ }
    fail(`bad double-quoted string ${s}`, line);
  }
  if (s.startsWith("'")) {
    if (s.length < 2 || !s.endsWith("'") || /[^']'(?!')/.test(s.slice(1, -1).replace(/''/g, ""))) {
      fail(`bad single-quoted string ${s}`, line);
    }
    return s.slice(1, -1).replaceAll("''", "'");
  }
  if (s.startsWith("[")) {
    if (!s.endsWith("]")) fail(`a flow sequence must end on its line: ${s}`, line);
    const inner = s.slice(1, -1).trim();
    if (inner === "") return [];
    return splitFlow(inner, line).map((p) => scalar(p, line));
  }
  if (/^[{&*!|>%@`]/.test(s)) fail(`unsupported YAML (${s[0]}): ${s}`, line);
  if (/^[-+]?(\d+(\.\d*)?|\.\d+)([eE][-+]?\d+)?$/.test(s)) return Number(s);
  if (/^0x[0-9a-fA-F]+$/.test(s)) return Number(s);
  return s;
}

function splitFlow(inner: string, line: number): string[] {
  const parts: string[] = [];
  let quote = "";
  let start = 0;
  for (let i = 0; i < inner.length; i++) {
    const c = inner[i];
    if (quote) {
      if (c === "\\" && quote === '"') i++;
      else if (c === quote) quote = "";
    } else if (c === '"' || c === "'") quote = c;
    else if (c === "[" || c === "{") fail(`nested flow collections are not supported`, line);
    else if (c === ",") {
      parts.push(inner.slice(start, i));
      start = i + 1;
    }
  }
  if (quote) fail(`unterminated string in ${inner}`, line);
  parts.push(inner.slice(start));
  return parts;
}

/** Parses the YAML subset described in the module doc; throws ParseError naming the line. */
export function parseYaml(text: string): unknown {
  const lines: Line[] = [];
  text.split(/\r?\n/).forEach((raw, i) => {
    if (raw.includes("\t") && /^\s*\t/.test(raw)) fail("tabs cannot indent YAML", i + 1);
    const body = stripComment(raw).trimEnd();
    if (body.trim() === "" || body.trim() === "---") return;
    const indent = body.length - body.trimStart().length;
    lines.push({ indent, text: body.trimStart(), no: i + 1 });
  });
  if (lines.length === 0) return null;
  let at = 0;

  function block(indent: number): unknown {
    const first = lines[at];
    if (first.text === "-" || first.text.startsWith("- ")) return sequence(indent);
    if (keyColon(first.text) >= 0) return mapping(indent);
    at++;
    if (at < lines.length && lines[at].indent > indent) {
      fail(`unexpected indentation after ${first.text}`, lines[at].no);
    }
    return scalar(first.text, first.no);
  }

  function value(rest: string, indent: number, no: number): unknown {
    if (rest.trim() !== "") return scalar(rest, no);
    if (at < lines.length && lines[at].indent > indent) return block(lines[at].indent);
    // A sequence may sit at its key's indentation.
    if (at < lines.length && lines[at].indent === indent && lines[at].text.startsWith("- ")) {
      return sequence(indent);
    }
    return null;
  }

  function mapping(indent: number): Record<string, unknown> {
    const out: Record<string, unknown> = {};
    while (at < lines.length && lines[at].indent === indent) {
      const { text, no } = lines[at];
      const c = keyColon(text);
      if (c < 0) fail(`expected "key: value", got ${text}`, no);
      const rawKey = text.slice(0, c).trim();
      const key = String(scalar(rawKey, no) ?? "null");
      if (Object.hasOwn(out, key)) fail(`key "${key}" appears twice`, no);
      at++;
      out[key] = value(text.slice(c + 1), indent, no);
    }
    if (at < lines.length && lines[at].indent > indent) {
      fail(`unexpected indentation: ${lines[at].text}`, lines[at].no);
    }
    return out;
  }

  function sequence(indent: number): unknown[] {
    const out: unknown[] = [];
    while (
      at < lines.length && lines[at].indent === indent &&
      (lines[at].text === "-" || lines[at].text.startsWith("- "))
    ) {
      const { text, no } = lines[at];
      const rest = text.slice(1);
      const inner = rest.trimStart();
      if (inner === "") {
        at++;
        out.push(value("", indent, no));
        continue;
      }
      // "- key: value" starts a mapping indented past the dash.
      const itemIndent = indent + 1 + (rest.length - inner.length);
      if (keyColon(inner) >= 0 || inner.startsWith("- ")) {
        lines[at] = { indent: itemIndent, text: inner, no };
        out.push(block(itemIndent));
      } else {
        at++;
        out.push(scalar(inner, no));
      }
    }
    if (at < lines.length && lines[at].indent > indent) {
      fail(`unexpected indentation: ${lines[at].text}`, lines[at].no);
    }
    return out;
  }

  const doc = block(lines[0].indent);
  if (at < lines.length) fail(`unexpected ${lines[at].text}`, lines[at].no);
  return doc;
}
