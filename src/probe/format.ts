/**
 * Tracepoint format files (`events/<group>/<name>/format` in tracefs): the
 * record layout a tracepoint program's context points at, with each
 * field's C declaration, offset, size and signedness, classified into what
 * a probe can read (integers, inline char arrays, `char *` strings,
 * `__data_loc` strings, integer arrays).
 *
 * ```ts ignore
 * import { readTracepointFormat } from "./format.ts";
 * const fmt = readTracepointFormat("syscalls", "sys_enter_openat");
 * fmt.fields.find((f) => f.name === "filename"); // { kind: "string_pointer", offset: 24, … }
 * ```
 *
 * @module
 */

import { FileNotFoundError, ParseError } from "../errors.ts";
import { readDir, readTextFile } from "../sys/file.ts";
import { eventDir } from "../tracefs/events.ts";
import { type TracefsOptions, tracefsPath } from "../tracefs/mount.ts";
import { ProbeNotFoundError } from "./errors.ts";

/** How a probe reads a tracepoint field. */
export type FieldKind =
  | "int"
  | "char_array"
  | "string_pointer"
  | "data_loc_string"
  | "int_array"
  | "unsupported";

/** One field of a tracepoint record. */
export interface TracepointField {
  /** The field name, e.g. `"filename"`. */
  name: string;
  /** The C type as declared, without the name, e.g. `"const char *"`. */
  type: string;
  /** Byte offset in the record. */
  offset: number;
  /** Byte size in the record. */
  size: number;
  /** Whether the record's field is signed (`signed:` of the format file). */
  signed: boolean;
  /** How the field is read. */
  kind: FieldKind;
  /**
   * For `int` and `int_array` fields: the size of the value as declared
   * (`int dfd` stored in an 8-byte syscall slot has valueSize 4).
   */
  valueSize: number;
  /** Whether the value is signed as declared. */
  valueSigned: boolean;
  /** Element count of `char_array` and `int_array` fields. */
  length?: number;
  /** True for the `common_*` header fields. */
  common: boolean;
}

/** A parsed format file. */
export interface TracepointFormat {
  /** The event name. */
  name: string;
  /** The event id (the `config` of a PERF_TYPE_TRACEPOINT perf event). */
  id: number;
  /** Every field, the common header fields first. */
  fields: TracepointField[];
}

// Sizes and signedness of the C integer types that appear in format files.
const C_INTS: Record<string, [number, boolean]> = {
  "char": [1, true],
  "signed char": [1, true],
  "unsigned char": [1, false],
  "bool": [1, false],
  "_Bool": [1, false],
  "short": [2, true],
  "short int": [2, true],
  "unsigned short": [2, false],
  "unsigned short int": [2, false],
  "int": [4, true],
  "signed int": [4, true],
  "unsigned": [4, false],
  "unsigned int": [4, false],
  "long": [8, true],
  "long int": [8, true],
  "unsigned long": [8, false],
  "unsigned long int": [8, false],
  "long long": [8, true],
  "long long int": [8, true],
  "unsigned long long": [8, false],
  "unsigned long long int": [8, false],
  "u8": [1, false],
  "u16": [2, false],
  "u32": [4, false],
  "u64": [8, false],
  "s8": [1, true],
  "s16": [2, true],
  "s32": [4, true],
  "s64": [8, true],
  "__u8": [1, false],
  "__u16": [2, false],
  "__u32": [4, false],
  "__u64": [8, false],
  "__s8": [1, true],
  "__s16": [2, true],
  "__s32": [4, true],
  "__s64": [8, true],
  "pid_t": [4, true],
  "uid_t": [4, false],
  "gid_t": [4, false],
  "umode_t": [2, false],
  "size_t": [8, false],
  "ssize_t": [8, true],
  "loff_t": [8, true],
  "off_t": [8, true],
  "gfp_t": [4, false],
  "dev_t": [4, false],
  "ino_t": [8, false],
  "key_serial_t": [4, true],
  "clockid_t": [4, true],
  "timer_t": [4, true],
  "qid_t": [4, false],
  "rwf_t": [4, true],
  "aio_context_t": [8, false],
  "cap_user_header_t": [8, false],
  "cap_user_data_t": [8, false],
};

const QUALIFIERS = /\b(const|volatile|__user|__kernel|__iomem|__rcu|struct|enum|union)\b/g;

function cInt(type: string): [number, boolean] | undefined {
  const t = type.replace(/\bconst\b|\bvolatile\b/g, "").replace(/\s+/g, " ").trim();
  return C_INTS[t];
}

function isCharType(type: string): boolean {
  const t = type.replace(QUALIFIERS, "").replace(/\s+/g, " ").trim();
  return t === "char" || t === "signed char" || t === "unsigned char";
}

/** Classifies one `field:` declaration. */
function classify(
  decl: string,
  offset: number,
  size: number,
  signed: boolean,
): TracepointField | undefined {
  let text = decl.trim();
  const dataLoc = text.startsWith("__data_loc ");
  if (dataLoc) text = text.slice("__data_loc ".length).trim();
  const m = /^(.*?)([A-Za-z_][A-Za-z0-9_]*)\s*(?:\[([^\]]*)\])?$/.exec(text);
  if (!m) return undefined;
  const type = m[1].trim();
  const name = m[2];
  const dim = m[3];
  const common = name.startsWith("common_");
  const base = { name, offset, size, signed, common };
  if (dataLoc) {
    const str = isCharType(type.replace(/\[\s*\]/, ""));
    return {
      ...base,
      type: `__data_loc ${type}`,
      kind: str ? "data_loc_string" : "unsupported",
      valueSize: 4,
      valueSigned: false,
    };
  }
  if (dim !== undefined) {
    const n = Number(dim);
    const fullType = `${type}[${dim}]`;
    if (!Number.isInteger(n) || n <= 0) {
      return { ...base, type: fullType, kind: "unsupported", valueSize: size, valueSigned: signed };
    }
    if (isCharType(type)) {
      return {
        ...base,
        type: fullType,
        kind: "char_array",
        length: n,
        valueSize: 1,
        valueSigned: false,
      };
    }
    const elem = size / n;
    const known = type.includes("*") ? undefined : cInt(type);
    if (Number.isInteger(elem) && [1, 2, 4, 8].includes(elem)) {
      return {
        ...base,
        type: fullType,
        kind: "int_array",
        length: n,
        valueSize: known && known[0] <= elem ? known[0] : elem,
        valueSigned: known ? known[1] : signed,
      };
    }
    return { ...base, type: fullType, kind: "unsupported", valueSize: size, valueSigned: signed };
  }
  if (type.includes("*")) {
    const pointee = type.slice(0, type.lastIndexOf("*"));
    const single = type.indexOf("*") === type.lastIndexOf("*");
    if (single && isCharType(pointee) && size === 8) {
      return { ...base, type, kind: "string_pointer", valueSize: 8, valueSigned: false };
    }
    return {
      ...base,
      type,
      kind: size <= 8 ? "int" : "unsupported",
      valueSize: size,
      valueSigned: false,
    };
  }
  if (![1, 2, 4, 8].includes(size)) {
    return { ...base, type, kind: "unsupported", valueSize: size, valueSigned: signed };
  }
  const known = cInt(type);
  return {
    ...base,
    type,
    kind: "int",
    valueSize: known && known[0] <= size ? known[0] : size,
    valueSigned: known ? known[1] : signed,
  };
}

/** Larger than any trace record (they live in the ring buffer's pages). */
const MAX_RECORD = 65536;

/** Parses the text of a tracepoint `format` file. Throws `ParseError` when it has no fields. */
export function parseTracepointFormat(text: string): TracepointFormat {
  let name = "";
  let id = -1;
  const fields: TracepointField[] = [];
  for (const line of text.split("\n")) {
    const t = line.trim();
    if (t.startsWith("name:")) name = t.slice(5).trim();
    else if (t.startsWith("ID:")) id = Number(t.slice(3).trim());
    else if (t.startsWith("field:")) {
      const m = /^field:(.*);\s*offset:(\d+);\s*size:(\d+);\s*signed:(\d+);/.exec(t);
      if (!m) continue;
      const offset = Number(m[2]);
      const size = Number(m[3]);
      // A trace record fits in a page of the ring buffer: anything larger is not a format file.
      if (offset + size > MAX_RECORD) {
        throw new ParseError(
          "tracepoint format",
          `field ${JSON.stringify(m[1].trim())}: offset ${m[2]} and size ${m[3]} ` +
            `are past the largest trace record (${MAX_RECORD} bytes)`,
        );
      }
      const f = classify(m[1], offset, size, m[4] === "1");
      if (f) fields.push(f);
    }
  }
  if (fields.length === 0) {
    throw new ParseError("tracepoint format", "no field: lines (is this a format file?)");
  }
  return { name, id, fields };
}

/** Names within `max` edits of `name` (or containing it), closest first, at most `limit`. */
export function closeMatches(
  name: string,
  candidates: Iterable<string>,
  options: { limit?: number; max?: number } = {},
): string[] {
  const limit = options.limit ?? 5;
  const max = options.max ?? Math.max(2, Math.floor(name.length / 3));
  const scored: [number, string][] = [];
  const lower = name.toLowerCase();
  for (const c of candidates) {
    const cl = c.toLowerCase();
    let d = editDistance(lower, cl, max + 1);
    if (d > max && lower.length >= 3 && (cl.includes(lower) || lower.includes(cl))) d = max;
    if (d <= max) scored.push([d, c]);
  }
  scored.sort((a, b) => a[0] - b[0] || a[1].localeCompare(b[1]));
  return scored.slice(0, limit).map((s) => s[1]);
}

function editDistance(a: string, b: string, cap: number): number {
  if (Math.abs(a.length - b.length) >= cap) return cap;
  let prev = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const v = Math.min(
        prev[j] + 1,
        cur[j - 1] + 1,
        prev[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1),
      );
      cur.push(v);
      if (v < best) best = v;
    }
    if (best >= cap) return cap;
    prev = cur;
  }
  return prev[b.length];
}

function listDir(path: string): string[] {
  try {
    return readDir(path).filter((e) => e.kind === "directory").map((e) => e.name);
  } catch {
    return [];
  }
}

/**
 * Reads and parses `events/<group>/<name>/format`. An unknown group or
 * event throws {@linkcode ProbeNotFoundError} listing the closest existing
 * names; without tracefs, `TracefsNotMountedError` (which names the mount
 * command).
 */
export function readTracepointFormat(
  group: string,
  name: string,
  options: TracefsOptions = {},
): TracepointFormat {
  const dir = eventDir(group, name, options);
  let text: string;
  try {
    text = readTextFile(`${dir}/format`, { what: "tracepoint format file" });
  } catch (e) {
    if (!(e instanceof FileNotFoundError)) throw e;
    const events = `${tracefsPath(options)}/events`;
    const groups = listDir(events);
    if (!groups.includes(group)) {
      throw new ProbeNotFoundError(
        `tracepoint group ${group}`,
        closeMatches(group, groups),
        `no tracepoint group "${group}" in ${events}`,
      );
    }
    const names = listDir(`${events}/${group}`);
    throw new ProbeNotFoundError(
      `tracepoint ${group}:${name}`,
      closeMatches(name, names).map((n) => `${group}:${n}`),
      `no tracepoint ${group}:${name} (${dir} does not exist)`,
    );
  }
  return parseTracepointFormat(text);
}
