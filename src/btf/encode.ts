/**
 * The BTF encoder: `BtfBuilder` (or `encodeBtf`) turns type descriptions
 * into raw BTF, standalone or split on top of a base `Spec`.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { btfBlob } from "./blob.ts";
import { HOST_LITTLE_ENDIAN, Spec } from "./spec.ts";
import { BTF_KIND_NUMBERS, type BtfType, type TypeDesc } from "./types.ts";

/** Options of `BtfBuilder`. */
export interface BuilderOptions {
  /** Encode split BTF on top of this base: ids and string offsets continue after it. */
  base?: Spec;
}

/** Options of `BtfBuilder.encode`. */
export interface EncodeOutputOptions {
  /** Byte order of the output; defaults to the host's. */
  littleEndian?: boolean;
}

/** Options of `encodeBtf`. */
export interface EncodeOptions extends BuilderOptions, EncodeOutputOptions {}

const INT_ENCODING: Record<string, number> = { none: 0, signed: 1, char: 2, bool: 4 };
const LINKAGE: Record<string, number> = { static: 0, global: 1, extern: 2 };

const utf8 = new TextEncoder();

/**
 * Builds raw BTF one type at a time. Ids are assigned in order, from 1 (or
 * after the base's last id); type references are written as given.
 *
 * ```ts
 * const b = new BtfBuilder();
 * const int = b.add({ kind: "int", name: "int", size: 4, encoding: "signed", bitOffset: 0, bits: 32 });
 * b.add({ kind: "ptr", name: "", type: int });
 * const bytes = b.encode();
 * ```
 */
export class BtfBuilder {
  /** The base spec of the split BTF being built, if any. */
  readonly base: Spec | undefined;
  /** Id of the first type added. */
  readonly firstTypeId: number;
  #words = new Uint32Array(1024);
  #nw = 0;
  #count = 0;
  #strBase: number;
  #strMap = new Map<string, number>();
  #strs = new Uint8Array(1024);
  #ns = 0;

  /** Creates an empty builder, for split BTF when `options.base` is given. */
  constructor(options: BuilderOptions = {}) {
    const base = options.base;
    if (base !== undefined && !(base instanceof Spec)) {
      throw new InvalidArgumentError("BtfBuilder: base must be a Spec");
    }
    this.base = base;
    this.firstTypeId = base === undefined ? 1 : base.lastTypeId + 1;
    this.#strBase = base === undefined ? 0 : base.stringsLength;
    this.#strMap.set("", 0);
    if (base === undefined) this.#ns = 1; // the leading NUL
  }

  /** The id the next added type gets. */
  get nextTypeId(): number {
    return this.firstTypeId + this.#count;
  }

  /** Number of types added so far. */
  get typeCount(): number {
    return this.#count;
  }

  /**
   * Adds a string to the string section (deduplicated) and returns its
   * offset in the string space. `""` is offset 0.
   *
   * @throws {InvalidArgumentError} when the string contains NUL.
   */
  addString(s: string): number {
    let off = this.#strMap.get(s);
    if (off !== undefined) return off;
    if (typeof s !== "string") throw new InvalidArgumentError("BTF name must be a string");
    if (s.includes("\0")) {
      throw new InvalidArgumentError(`BTF name ${JSON.stringify(s)} contains NUL`);
    }
    const need = s.length * 3 + 1;
    if (this.#ns + need > this.#strs.length) {
      const nb = new Uint8Array(Math.max(this.#strs.length * 2, this.#ns + need));
      nb.set(this.#strs.subarray(0, this.#ns));
      this.#strs = nb;
    }
    off = this.#strBase + this.#ns;
    const { written } = utf8.encodeInto(s, this.#strs.subarray(this.#ns));
    this.#ns += written + 1; // the NUL is already 0
    this.#strMap.set(s, off);
    return off;
  }

  /**
   * Appends a type and returns its id.
   *
   * @throws {InvalidArgumentError} when the description is invalid.
   */
  add(t: TypeDesc | BtfType): number {
    const id = this.nextTypeId;
    if (t === null || typeof t !== "object") {
      throw new InvalidArgumentError("BTF type must be an object");
    }
    if (t.id !== undefined && t.id !== id) {
      throw new InvalidArgumentError(
        `BTF type ${JSON.stringify(t.name)} has id ${t.id}, would get ${id}`,
      );
    }
    if (t.kind === "void") throw new InvalidArgumentError("void is type id 0 and is never encoded");
    const kind = BTF_KIND_NUMBERS[t.kind];
    if (kind === undefined || kind === 0) {
      throw new InvalidArgumentError(`unknown BTF kind ${JSON.stringify(t.kind)}`);
    }
    const start = this.#nw;
    const name = this.addString(t.name);
    const what = `BTF type ${id} (${t.kind})`;
    try {
      this.#encode(t, kind, name, what);
    } catch (e) {
      this.#nw = start;
      throw e;
    }
    this.#count++;
    return id;
  }

  #encode(t: TypeDesc, kind: number, name: number, what: string): void {
    switch (t.kind) {
      case "int": {
        const e = INT_ENCODING[t.encoding];
        if (e === undefined) throw new InvalidArgumentError(`${what}: bad encoding ${t.encoding}`);
        this.#head(name, kind, 0, false, u32(t.size, what, "size"));
        this.#push(
          (e << 24) | (uint(t.bitOffset, 0xff, what, "bitOffset") << 16) |
            uint(t.bits, 0xff, what, "bits"),
        );
        break;
      }
      case "ptr":
      case "typedef":
      case "volatile":
      case "const":
      case "restrict":
      case "type_tag":
        this.#head(name, kind, 0, false, u32(t.type, what, "type"));
        break;
      case "array":
        this.#head(name, kind, 0, false, 0);
        this.#push(u32(t.type, what, "type"));
        this.#push(u32(t.indexType, what, "indexType"));
        this.#push(u32(t.nelems, what, "nelems"));
        break;
      case "struct":
      case "union": {
        const ms = t.members;
        const bitfields = ms.some((m) => m.bitfieldSize !== 0);
        this.#head(name, kind, vlen(ms, what), bitfields, u32(t.size, what, "size"));
        for (const m of ms) {
          this.#push(this.addString(m.name));
          this.#push(u32(m.type, what, "member type"));
          if (bitfields) {
            const sz = uint(m.bitfieldSize, 0xff, what, "bitfieldSize");
            this.#push(((sz << 24) | uint(m.bitOffset, 0xffffff, what, "bitOffset")) >>> 0);
          } else this.#push(u32(m.bitOffset, what, "bitOffset"));
        }
        break;
      }
      case "enum": {
        const vs = t.values;
        this.#head(name, kind, vlen(vs, what), bool(t.signed, what), u32(t.size, what, "size"));
        for (const v of vs) {
          this.#push(this.addString(v.name));
          const x = v.value;
          const ok = Number.isInteger(x) &&
            (t.signed ? x >= -0x80000000 && x <= 0x7fffffff : x >= 0 && x <= 0xffffffff);
          if (!ok) throw new InvalidArgumentError(`${what}: enum value ${x} out of range`);
          this.#push(x >>> 0);
        }
        break;
      }
      case "enum64": {
        const vs = t.values;
        this.#head(name, kind, vlen(vs, what), bool(t.signed, what), u32(t.size, what, "size"));
        for (const v of vs) {
          this.#push(this.addString(v.name));
          const x = v.value;
          const ok = typeof x === "bigint" &&
            (t.signed ? BigInt.asIntN(64, x) === x : BigInt.asUintN(64, x) === x);
          if (!ok) throw new InvalidArgumentError(`${what}: enum64 value ${x} out of range`);
          const u = BigInt.asUintN(64, x);
          this.#push(Number(u & 0xffffffffn));
          this.#push(Number(u >> 32n));
        }
        break;
      }
      case "fwd":
        if (t.fwdKind !== "struct" && t.fwdKind !== "union") {
          throw new InvalidArgumentError(`${what}: bad fwdKind ${t.fwdKind}`);
        }
        this.#head(name, kind, 0, t.fwdKind === "union", 0);
        break;
      case "func": {
        const l = LINKAGE[t.linkage];
        if (l === undefined) throw new InvalidArgumentError(`${what}: bad linkage ${t.linkage}`);
        this.#head(name, kind, l, false, u32(t.type, what, "type"));
        break;
      }
      case "func_proto": {
        const ps = t.params;
        this.#head(name, kind, vlen(ps, what), false, u32(t.returnType, what, "returnType"));
        for (const p of ps) {
          this.#push(this.addString(p.name));
          this.#push(u32(p.type, what, "param type"));
        }
        break;
      }
      case "var": {
        const l = LINKAGE[t.linkage];
        if (l === undefined) throw new InvalidArgumentError(`${what}: bad linkage ${t.linkage}`);
        this.#head(name, kind, 0, false, u32(t.type, what, "type"));
        this.#push(l);
        break;
      }
      case "datasec": {
        const vs = t.vars;
        this.#head(name, kind, vlen(vs, what), false, u32(t.size, what, "size"));
        for (const v of vs) {
          this.#push(u32(v.type, what, "var type"));
          this.#push(u32(v.offset, what, "var offset"));
          this.#push(u32(v.size, what, "var size"));
        }
        break;
      }
      case "float":
        this.#head(name, kind, 0, false, u32(t.size, what, "size"));
        break;
      case "decl_tag": {
        const c = t.componentIdx;
        if (!Number.isInteger(c) || c < -1 || c > 0x7fffffff) {
          throw new InvalidArgumentError(`${what}: bad componentIdx ${c}`);
        }
        this.#head(name, kind, 0, false, u32(t.type, what, "type"));
        this.#push(c >>> 0);
        break;
      }
      default:
        throw new InvalidArgumentError(`unknown BTF kind ${JSON.stringify((t as TypeDesc).kind)}`);
    }
  }

  /**
   * Appends several types and returns the id of the first.
   *
   * @throws {InvalidArgumentError} when a description is invalid.
   */
  addAll(types: Iterable<TypeDesc | BtfType>): number {
    const first = this.nextTypeId;
    for (const t of types) this.add(t);
    return first;
  }

  /** The raw BTF of the types added so far. */
  encode(options: EncodeOutputOptions = {}): Uint8Array {
    return btfBlob(this.#words.subarray(0, this.#nw), this.#strs.subarray(0, this.#ns), {
      littleEndian: options.littleEndian ?? HOST_LITTLE_ENDIAN,
    });
  }

  #head(name: number, kind: number, vlen: number, kflag: boolean, sizeOrType: number): void {
    this.#push(name);
    this.#push(((kflag ? 0x80000000 : 0) | (kind << 24) | vlen) >>> 0);
    this.#push(sizeOrType);
  }

  #push(w: number): void {
    if (this.#nw === this.#words.length) {
      const nb = new Uint32Array(this.#words.length * 2);
      nb.set(this.#words);
      this.#words = nb;
    }
    this.#words[this.#nw++] = w;
  }
}

/**
 * Encodes a list of types as raw BTF: the first gets id 1 (or the id after
 * the base's last, for split BTF on `options.base`).
 *
 * @throws {InvalidArgumentError} when a description is invalid.
 */
export function encodeBtf(
  types: Iterable<TypeDesc | BtfType>,
  options: EncodeOptions = {},
): Uint8Array {
  const b = new BtfBuilder({ base: options.base });
  b.addAll(types);
  return b.encode({ littleEndian: options.littleEndian });
}

/**
 * Re-encodes a parsed spec's own types (ids are preserved; strings are
 * laid out anew). With a base, the output is split BTF on that base.
 */
export function reencodeSpec(spec: Spec, options: EncodeOutputOptions = {}): Uint8Array {
  if (!(spec instanceof Spec)) throw new InvalidArgumentError("reencodeSpec: spec must be a Spec");
  const b = new BtfBuilder({ base: spec.base });
  for (const t of spec) b.add(t);
  return b.encode(options);
}

function u32(x: number, what: string, field: string): number {
  if (!Number.isInteger(x) || x < 0 || x > 0xffffffff) {
    throw new InvalidArgumentError(`${what}: ${field} ${x} is not a u32`);
  }
  return x;
}

function uint(x: number, max: number, what: string, field: string): number {
  if (!Number.isInteger(x) || x < 0 || x > max) {
    throw new InvalidArgumentError(`${what}: ${field} ${x} out of range 0..${max}`);
  }
  return x;
}

function bool(x: boolean, what: string): boolean {
  if (typeof x !== "boolean") throw new InvalidArgumentError(`${what}: signed must be a boolean`);
  return x;
}

function vlen(items: readonly unknown[], what: string): number {
  if (!Array.isArray(items)) throw new InvalidArgumentError(`${what}: items must be an array`);
  if (items.length > 0xffff) {
    throw new InvalidArgumentError(`${what}: ${items.length} items exceed the vlen limit 65535`);
  }
  return items.length;
}
