/**
 * The YAML the exporter's configuration files use: block mappings and
 * sequences by indentation (`key: value`, `- item`, `- key: value`),
 * flow sequences of scalars (`[comm, pid]`), scalars plain, "double" (JSON
 * escapes) or 'single' quoted, numbers, `true`/`false`/`null`, `#`
 * comments, and literal block strings (`key: |`, `|-` or `|+`, the lines
 * indented under it kept as written, `#` included: a bpftrace program).
 * Anchors, tags, folded (`>`) and other multi-line scalars and flow
 * mappings are not supported and are refused with the line they are on.
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

function scalar(raw: string, line: number, blocks: readonly string[] = []): unknown {
  const s = raw.trim();
  if (s.startsWith("\0")) return blocks[Number(s.slice(1))];
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

/**
 * Where a literal block's content must be indented past when `text` (a
 * line without its indentation) ends with a block header (`key: |`,
 * `- key: |`, `- |`, `|`, with `-`/`+` chomping): the key's column, or the
 * dash's; else undefined.
 */
function blockHeader(text: string, indent: number): { parent: number; chomp: string } | undefined {
  const h = /\|([-+]?)$/.exec(text);
  if (!h) return undefined;
  const item = /^(?:- +)*/.exec(text)![0].length;
  const rest = text.slice(item, h.index).trimEnd();
  if (rest === "") {
    // "- |" (after the dash) or a bare "|".
    return { parent: indent + (item ? text.lastIndexOf("-", item) : -1), chomp: h[1] };
  }
  const c = keyColon(rest);
  if (c !== rest.length - 1) return undefined;
  return { parent: indent + item, chomp: h[1] };
}

/**
 * The literal block whose header is on line `at` (0-based) of `raws`: the
 * lines after it indented past `parent` (blank lines included), less the
 * first one's indentation, chomped; and the index of the next line.
 */
function literalBlock(
  raws: string[],
  at: number,
  parent: number,
  chomp: string,
): { text: string; next: number } {
  let end = at + 1;
  let indent = -1;
  for (; end < raws.length; end++) {
    const raw = raws[end];
    if (raw.trim() === "") continue;
    const n = raw.length - raw.replace(/^ +/, "").length;
    if (indent < 0) {
      if (n <= parent) break;
      if (raw[n] === "\t") fail("tabs cannot indent YAML", end + 1);
      indent = n;
    } else if (n < indent) {
      if (n > parent) fail(`a block line indented less than its first line`, end + 1);
      break;
    }
  }
  // Trailing blank lines belong to the block only as line breaks to chomp.
  let last = end;
  while (last > at + 1 && raws[last - 1].trim() === "") last--;
  const body = raws.slice(at + 1, last).map((l) => l.trim() === "" ? "" : l.slice(indent));
  const breaks = end - last;
  let text = body.join("\n");
  if (body.length > 0 && chomp !== "-") text += "\n";
  if (chomp === "+") text += "\n".repeat(breaks);
  return { text, next: end };
}

/** Parses the YAML subset described in the module doc; throws ParseError naming the line. */
export function parseYaml(text: string): unknown {
  const lines: Line[] = [];
  // Literal blocks' texts; a line holding one ends with a NUL and its index.
  const blocks: string[] = [];
  const raws = text.split(/\r?\n/);
  const nul = raws.findIndex((raw) => raw.includes("\0"));
  if (nul >= 0) fail("a NUL character", nul + 1);
  for (let i = 0; i < raws.length; i++) {
    const raw = raws[i];
    if (raw.includes("\t") && /^\s*\t/.test(raw)) fail("tabs cannot indent YAML", i + 1);
    let body = stripComment(raw).trimEnd();
    if (body.trim() === "" || body.trim() === "---") continue;
    const indent = body.length - body.trimStart().length;
    const header = blockHeader(body.trimStart(), indent);
    if (header) {
      const block = literalBlock(raws, i, header.parent, header.chomp);
      body = `${body.replace(/\|[-+]?$/, "")}\0${blocks.length}`;
      blocks.push(block.text);
      lines.push({ indent, text: body.trimStart(), no: i + 1 });
      i = block.next - 1;
      continue;
    }
    lines.push({ indent, text: body.trimStart(), no: i + 1 });
  }
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
    return scalar(first.text, first.no, blocks);
  }

  function value(rest: string, indent: number, no: number): unknown {
    if (rest.trim() !== "") return scalar(rest, no, blocks);
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
        out.push(scalar(inner, no, blocks));
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
