/**
 * BTF types rendered as TypeScript: for a type id, the TypeScript type of
 * its value and the codec expression that reads and writes it, declaring
 * an interface and a codec constant once per named struct or union.
 *
 * @module
 */

import { ParseError } from "../errors.ts";
import type { Spec } from "../btf/spec.ts";
import type { BtfType, Member } from "../btf/types.ts";

/** A type as the generated module spells it. */
export interface Rendered {
  /** The TypeScript type of the value. */
  ts: string;
  /** An expression for its codec. */
  codec: string;
  /** The C spelling, for comments. */
  c: string;
  /** Size in bytes. */
  size: number;
}

/** A named struct or union the module declares. */
interface Declared extends Rendered {
  /** The codec constant's name. */
  codecName: string;
  /** The decoder function's name, once asked for as a record. */
  decoder?: string;
}

const QUALIFIERS = new Set(["typedef", "const", "volatile", "restrict", "type_tag"]);
/** How deep types may nest (C code stays far below; BTF with a cycle does not). */
const MAX_DEPTH = 64;

function tooDeep(id: number): never {
  throw new ParseError(
    "btf",
    `type ${id}: types nested more than ${MAX_DEPTH} deep, or a cycle that C cannot write (a struct in itself)`,
  );
}
const IDENT = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** `text` made safe inside a `/** … *\/` comment (no comment end, one line). */
export function docText(text: string): string {
  return text.replaceAll("*/", "*\\/").replace(/[\r\n\u2028\u2029]/g, " ");
}

/** `name` as a property key: bare when it is an identifier, else quoted. */
export function propertyKey(name: string): string {
  return IDENT.test(name) ? name : JSON.stringify(name);
}

/** `task_info` → `TaskInfo`, `__sk_buff` → `SkBuff`. */
export function pascalCase(name: string): string {
  const s = name.split(/[^A-Za-z0-9]+/).filter(Boolean)
    .map((p) => p[0].toUpperCase() + p.slice(1)).join("");
  if (s === "") return "Type";
  return /^[0-9]/.test(s) ? `T${s}` : s;
}

/** `TaskInfo` → `taskInfo`. */
export function camelCase(pascal: string): string {
  return pascal[0].toLowerCase() + pascal.slice(1);
}

/** One field of a struct or union after anonymous members are flattened into it. */
interface Field {
  name: string;
  /** Bit offset from the outermost type's start. */
  bitOffset: number;
  /** Bitfield width, 0 for a whole member. */
  bits: number;
  type: number;
  /** May be left out when writing (a union member). */
  optional: boolean;
}

/**
 * Renders the BTF types of one object. Declarations (interfaces and codec
 * constants) accumulate in {@linkcode TypeRenderer.declarations} in an
 * order where each comes after the ones it uses.
 */
export class TypeRenderer {
  /** The interface and codec declarations, in dependency order. */
  readonly declarations: string[] = [];
  #btf: Spec;
  #used: Set<string>;
  #declared = new Map<number, Declared>();
  #enums = new Set<number>();
  #depth = 0;

  /** Renders types of `btf`; `reserved` names are never given to a type. */
  constructor(btf: Spec, reserved: Iterable<string>) {
    this.#btf = btf;
    this.#used = new Set(reserved);
  }

  /** A fresh name based on `base`. */
  #fresh(base: string): string {
    let name = base;
    for (let i = 2; this.#used.has(name); i++) name = `${base}${i}`;
    this.#used.add(name);
    return name;
  }

  /** The type behind qualifiers and typedefs, and the first typedef name on the way. */
  #strip(id: number): { t: BtfType; typedef?: string } {
    let typedef: string | undefined;
    for (let depth = 0; depth < 64; depth++) {
      const t = this.#btf.typeById(id);
      if (!QUALIFIERS.has(t.kind)) return { t, typedef };
      if (t.kind === "typedef" && typedef === undefined) typedef = t.name;
      id = (t as { type: number }).type;
    }
    return { t: this.#btf.typeById(0) };
  }

  /** The C spelling of a type, for comments. */
  cName(id: number, depth = 0): string {
    if (depth > MAX_DEPTH) tooDeep(id);
    const t = this.#btf.typeById(id);
    switch (t.kind) {
      case "void":
        return "void";
      case "typedef":
      case "int":
      case "float":
        return t.name;
      case "const":
      case "volatile":
        return `${t.kind} ${this.cName(t.type, depth + 1)}`;
      case "restrict":
      case "type_tag":
        return this.cName(t.type, depth + 1);
      case "ptr":
        return `${this.cName(t.type, depth + 1)} *`;
      case "array":
        return `${this.cName(t.type, depth + 1)}[${t.nelems}]`;
      case "struct":
      case "union":
      case "enum":
      case "enum64":
        return `${t.kind === "enum64" ? "enum" : t.kind} ${t.name || "{…}"}`;
      case "fwd":
        return `${t.fwdKind} ${t.name}`;
      default:
        return t.kind;
    }
  }

  #alignOf(id: number, depth = 0): number {
    if (depth > MAX_DEPTH) tooDeep(id);
    const { t } = this.#strip(id);
    switch (t.kind) {
      case "int":
      case "enum":
      case "enum64":
      case "float":
        return Math.min(Math.max(t.size, 1), 8);
      case "ptr":
        return 8;
      case "array":
        return this.#alignOf(t.type, depth + 1);
      case "struct":
      case "union":
        return t.members.reduce((a, m) => Math.max(a, this.#alignOf(m.type, depth + 1)), 1);
      default:
        return 1;
    }
  }

  #sizeOf(id: number): number {
    try {
      return this.#btf.sizeOf(id);
    } catch {
      return 0;
    }
  }

  /** Raw bytes: for types without a natural JavaScript reading. */
  #bytes(id: number, size: number): Rendered {
    return { ts: "Uint8Array", codec: `map.bytes(${size})`, c: this.cName(id), size };
  }

  /** The TypeScript type and codec of type `id`. */
  render(id: number): Rendered {
    if (this.#depth >= MAX_DEPTH) tooDeep(id);
    this.#depth++;
    try {
      return this.#render(id);
    } finally {
      this.#depth--;
    }
  }

  #render(id: number): Rendered {
    const { t, typedef } = this.#strip(id);
    const c = this.cName(id);
    const size = this.#sizeOf(id);
    const simple = (ts: string, codec: string): Rendered => ({ ts, codec, c, size });
    switch (t.kind) {
      case "int":
        if (t.bits !== t.size * 8 || t.bitOffset !== 0) return this.#bytes(id, size);
        if (t.encoding === "bool" && t.size === 1) return simple("boolean", "map.bool");
        return this.#integer(t.size, t.encoding === "signed", c) ?? this.#bytes(id, size);
      case "enum":
      case "enum64":
        if (t.name) this.#declareEnum(t.id);
        return this.#integer(t.size, t.signed, c) ?? this.#bytes(id, size);
      case "ptr":
        return simple("bigint", "map.u64");
      case "float":
        if (t.size === 4) return simple("number", "map.f32");
        if (t.size === 8) return simple("number", "map.f64");
        return this.#bytes(id, size);
      case "array":
        return this.#array(t.type, t.nelems, id);
      case "struct":
      case "union": {
        const name = t.name || typedef;
        if (name === undefined) return this.#record(t.id, c);
        return { ...this.declare(t.id, name), c };
      }
      default:
        return this.#bytes(id, size);
    }
  }

  /** The values of a named enum as a constant object, once. */
  #declareEnum(id: number): void {
    if (this.#enums.has(id)) return;
    this.#enums.add(id);
    const t = this.#btf.typeById(id);
    if (t.kind !== "enum" && t.kind !== "enum64") return;
    const name = this.#fresh(pascalCase(t.name));
    const big = t.kind === "enum64" && t.size === 8;
    const values = t.values.map((v) =>
      `  ${propertyKey(v.name)}: ${String(v.value)}${big ? "n" : ""},`
    );
    this.declarations.push(
      `/** The values of \`enum ${
        docText(t.name)
      }\` (fields of this type read as plain numbers). */\n` +
        `export const ${name} = {\n${values.join("\n")}\n} as const;\n`,
    );
  }

  #integer(size: number, signed: boolean, c: string): Rendered | undefined {
    const p = signed ? "i" : "u";
    switch (size) {
      case 1:
      case 2:
      case 4:
        return { ts: "number", codec: `map.${p}${size * 8}`, c, size };
      case 8:
        return { ts: "bigint", codec: `map.${p}64`, c, size };
    }
    return undefined;
  }

  #array(elem: number, n: number, id: number): Rendered {
    const size = this.#sizeOf(id);
    const { t } = this.#strip(elem);
    if (t.kind === "int" && t.size === 1 && t.bits === 8) {
      // char name[N] reads as a string; other byte arrays (__u8 addr[4]) as bytes.
      if ((t.name === "char" || t.encoding === "char") && n > 0) {
        return { ts: "string", codec: `map.cstring(${n})`, c: this.cName(id), size };
      }
      if (t.encoding !== "bool") return this.#bytes(id, size);
    }
    const e = this.render(elem);
    return {
      ts: `${/^[A-Za-z0-9_]+$/.test(e.ts) ? e.ts : `(${e.ts})`}[]`,
      codec: `map.arrayOf(${e.codec}, ${n})`,
      c: this.cName(id),
      size,
    };
  }

  /**
   * Declares an interface and a codec constant for the struct or union
   * `id` under (a fresh form of) `name`, once.
   */
  declare(id: number, name: string): Declared {
    const seen = this.#declared.get(id);
    if (seen) return seen;
    const t = this.#btf.typeById(id);
    const tsName = this.#fresh(pascalCase(name));
    const codecName = this.#fresh(`${camelCase(tsName)}Codec`);
    const d: Declared = { ts: tsName, codec: codecName, codecName, c: this.cName(id), size: 0 };
    this.#declared.set(id, d);
    const { fields, size, align } = this.#layout(id);
    d.size = size;
    const cDecl = docText(
      t.name ? `${t.kind} ${t.name}` : `${name} (a typedef of an anonymous ${t.kind})`,
    );
    const members = fields.map((f) =>
      `  /** \`${docText(`${f.r.c} ${f.name}`)}\`${
        f.bits ? `:${f.bits}` : ""
      }, at byte ${f.offset}${f.optional ? " (a union member)" : ""}. */\n  ${
        propertyKey(f.name)
      }: ${f.r.ts};`
    );
    const unionNote = fields.some((f) => f.optional)
      ? ` Reading gives every union member; to write one, give that member alone.`
      : "";
    this.declarations.push(
      `/** \`${cDecl}\`: ${size} bytes, from the object's BTF.${unionNote} */\n` +
        `export interface ${tsName} {\n${members.join("\n")}\n}\n\n` +
        `/** The codec of {@linkcode ${tsName}}. */\n` +
        `export const ${codecName}: map.Codec<${tsName}> = ${
          this.#recordExpr(`${t.kind} ${t.name || name}`, { fields, size, align })
        };\n`,
    );
    return d;
  }

  /** Marks a declared type as a record and declares its decoder; returns the decoder's name. */
  declareDecoder(id: number, name: string): string {
    const d = this.declare(id, name);
    if (d.decoder) return d.decoder;
    d.decoder = this.#fresh(`decode${d.ts}`);
    this.declarations.push(
      `/**\n * Decodes a \`${
        docText(d.c)
      }\` record a program sent (ring buffer or perf sample): its first\n` +
        ` * ${d.size} bytes.\n *\n * @throws {ParseError} when the record is shorter.\n */\n` +
        `export function ${d.decoder}(record: Uint8Array): ${d.ts} {\n` +
        `  return map.decodeRecord(${d.codecName}, record);\n}\n`,
    );
    return d.decoder;
  }

  /** An anonymous struct or union, inline. */
  #record(id: number, c: string): Rendered {
    const t = this.#btf.typeById(id) as { kind: string };
    const layout = this.#layout(id);
    const ts = `{ ${layout.fields.map((f) => `${propertyKey(f.name)}: ${f.r.ts}`).join("; ")} }`;
    return {
      ts,
      codec: this.#recordExpr(`${t.kind} {…}`, layout),
      c,
      size: layout.size,
    };
  }

  /**
   * A `map.record(…)` expression. Its value type is inferred from the
   * fields' codecs, so the type checker holds it against the interface the
   * codec is declared with.
   */
  #recordExpr(cName: string, layout: { fields: LaidOut[]; size: number; align: number }): string {
    const fields = layout.fields.map((f) =>
      `${propertyKey(f.name)}: { offset: ${f.offset}, codec: ${f.r.codec.replaceAll("\n", "\n  ")}${
        f.optional ? ", optional: true" : ""
      } },`
    );
    return `map.record({ name: ${
      JSON.stringify(cName)
    }, size: ${layout.size}, align: ${layout.align} }, {\n  ${fields.join("\n  ")}\n})`;
  }

  #layout(id: number): { fields: LaidOut[]; size: number; align: number } {
    const t = this.#btf.typeById(id);
    const size = this.#sizeOf(id);
    const fields: LaidOut[] = [];
    for (const f of this.#flatten(t, 0, false)) {
      const bits = f.bits || this.#intBits(f.type, f);
      if (bits) {
        const first = Math.floor(f.bitOffset / 8);
        const signed = this.#signed(f.type);
        const fn = bits > 32 ? "bitfield64" : "bitfield";
        fields.push({
          name: f.name,
          offset: first,
          bits,
          optional: f.optional,
          r: {
            ts: bits > 32 ? "bigint" : "number",
            codec: `map.${fn}({ bitOffset: ${f.bitOffset % 8}, bits: ${bits}, signed: ${signed} })`,
            c: this.cName(f.type),
            size: Math.ceil((f.bitOffset % 8 + bits) / 8),
          },
        });
      } else {
        fields.push({
          name: f.name,
          offset: f.bitOffset / 8,
          bits: 0,
          optional: f.optional,
          r: this.render(f.type),
        });
      }
    }
    return { fields, size, align: this.#alignOf(id) };
  }

  /** Bits of an old-style bitfield (an int type narrower than its size); moves the offset. */
  #intBits(type: number, f: Field): number {
    const { t } = this.#strip(type);
    if (t.kind === "int" && (t.bits !== t.size * 8 || t.bitOffset !== 0)) {
      f.bitOffset += t.bitOffset;
      return t.bits;
    }
    return f.bitOffset % 8 !== 0 ? this.#sizeOf(type) * 8 : 0;
  }

  #signed(type: number): boolean {
    const { t } = this.#strip(type);
    if (t.kind === "int") return t.encoding === "signed";
    if (t.kind === "enum" || t.kind === "enum64") return t.signed;
    return false;
  }

  /** The fields of a struct or union, anonymous members' fields in their place. */
  #flatten(t: BtfType, base: number, optional: boolean, depth = 0): Field[] {
    if (depth > MAX_DEPTH) tooDeep(t.id);
    if (t.kind !== "struct" && t.kind !== "union") return [];
    const out: Field[] = [];
    const union = t.kind === "union";
    t.members.forEach((m: Member) => {
      const bitOffset = base + m.bitOffset;
      if (m.name === "") {
        const inner = this.#strip(m.type).t;
        out.push(
          ...this.#flatten(
            inner,
            bitOffset,
            optional || union || inner.kind === "union",
            depth + 1,
          ),
        );
        return;
      }
      out.push({
        name: m.name,
        bitOffset,
        bits: m.bitfieldSize,
        type: m.type,
        optional: optional || union,
      });
    });
    return out;
  }
}

interface LaidOut {
  name: string;
  offset: number;
  bits: number;
  optional: boolean;
  r: Rendered;
}
