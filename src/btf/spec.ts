/**
 * The BTF decoder: `parseBtf` validates the header and builds a compact
 * index of the type records; `Spec` decodes types on demand.
 *
 * @module
 */

import { InvalidArgumentError, NotFoundError, ParseError } from "../errors.ts";
import { BtfKind } from "../sys/abi.ts";
import {
  BTF_KIND_NAMES,
  BTF_KIND_NUMBERS,
  type BtfType,
  type Enum64Value,
  type EnumValue,
  type FuncLinkage,
  type IntEncoding,
  type Kind,
  type Member,
  type Param,
  type TypeRef,
  type VarLinkage,
  type VarSecinfo,
  type VoidType,
} from "./types.ts";
import { NameIndex, type NameSource } from "./_name_index.ts";
import { HOST_LITTLE_ENDIAN, readBtfHeader } from "./blob.ts";

export { BTF_HEADER_SIZE, BTF_MAGIC, HOST_LITTLE_ENDIAN } from "./blob.ts";
/** How many references `resolve` and `sizeOf` follow before giving up (libbpf's limit). */
export const MAX_RESOLVE_DEPTH = 32;

/** Kind numbers. */
const K_INT = BtfKind.int,
  K_PTR = BtfKind.ptr,
  K_ARRAY = BtfKind.array,
  K_STRUCT = BtfKind.struct,
  K_UNION = BtfKind.union,
  K_ENUM = BtfKind.enum,
  K_FWD = BtfKind.fwd,
  K_TYPEDEF = BtfKind.typedef,
  K_VOLATILE = BtfKind.volatile,
  K_CONST = BtfKind.const,
  K_RESTRICT = BtfKind.restrict,
  K_FUNC = BtfKind.func,
  K_FUNC_PROTO = BtfKind.func_proto,
  K_VAR = BtfKind.var,
  K_DATASEC = BtfKind.datasec,
  K_FLOAT = BtfKind.float,
  K_DECL_TAG = BtfKind.decl_tag,
  K_TYPE_TAG = BtfKind.type_tag,
  K_ENUM64 = BtfKind.enum64;

/**
 * Words of extra data after the 3-word `struct btf_type`, per kind: the
 * fixed part in the low byte, words per vlen item in the next. -1 marks an
 * invalid kind.
 */
const EXTRA = (() => {
  const t = new Int32Array(32).fill(-1);
  for (const k of [K_PTR, K_FWD, K_TYPEDEF, K_VOLATILE, K_CONST, K_RESTRICT, K_FUNC]) t[k] = 0;
  for (const k of [K_FLOAT, K_TYPE_TAG]) t[k] = 0;
  for (const k of [K_INT, K_VAR, K_DECL_TAG]) t[k] = 1;
  t[K_ARRAY] = 3;
  for (const k of [K_STRUCT, K_UNION, K_DATASEC, K_ENUM64]) t[k] = 3 << 8;
  for (const k of [K_ENUM, K_FUNC_PROTO]) t[k] = 2 << 8;
  return t;
})();

/**
 * Words of extra data after a type record's 3-word header, for a record of
 * `kind` with `vlen` items; -1 for an unknown kind.
 *
 * @internal
 */
export function extraWordsOf(kind: number, vlen: number): number {
  const e = EXTRA[kind & 0x1f];
  return e < 0 ? -1 : (e & 0xff) + (e >>> 8) * vlen;
}

const VOID: VoidType = Object.freeze({ kind: "void", id: 0, name: "" });

const INT_ENCODINGS: Record<number, IntEncoding> = { 0: "none", 1: "signed", 2: "char", 4: "bool" };
const FUNC_LINKAGES: readonly FuncLinkage[] = ["static", "global", "extern"];
const VAR_LINKAGES: readonly VarLinkage[] = ["static", "global", "extern"];

const utf8 = new TextDecoder("utf-8");
const utf8Encoder = new TextEncoder();

/**
 * The raw, validated views of a parsed blob, shared with the dumper and the
 * encoder of this module. Not part of the public API.
 *
 * @internal
 */
export interface RawSpec extends NameSource {
  /** Byte offset of the type section in the blob, for error offsets. */
  readonly typeSecStart: number;
  /** The base spec, for split BTF. */
  readonly base: Spec | undefined;
}

/** Options of `parseBtf`. */
export interface ParseOptions {
  /** The base BTF, when `bytes` is split BTF (e.g. a kernel module's on vmlinux). */
  base?: Spec;
  /**
   * Type names to look up in the same walk over the type records as the
   * parse: for big BTF such as vmlinux this costs about as much as the
   * parse alone, where a lookup afterwards walks the types a second time.
   * Lookups of these names (exact, and CO-RE's `name___flavour`) then cost
   * nothing. Split BTF looks them up in one pass after the parse.
   */
  findNames?: Iterable<string>;
}

/** Options of `Spec.types`. */
export interface TypesOptions {
  /** Also yield the base's types (and void is never yielded). Default false. */
  includeBase?: boolean;
}

let rawOf!: (spec: Spec) => RawSpec;

/**
 * The raw views of a spec, for the dumper and the encoder.
 *
 * @internal
 */
export function rawSpec(spec: Spec): RawSpec {
  return rawOf(spec);
}

/**
 * Parsed BTF: a lazily decoded set of types. Construct it with `parseBtf`
 * (or `new Spec(bytes, options)`), then look types up by id or by name.
 * Decoded type objects are memoised and shared: treat them as read-only.
 *
 * The spec keeps views of `bytes`; do not modify the buffer afterwards.
 */
export class Spec implements Iterable<BtfType> {
  /** The base spec of split BTF, else `undefined`. */
  readonly base: Spec | undefined;
  /** Id of the first type of this blob (1, or the base's `lastTypeId + 1`). */
  readonly firstTypeId: number;
  /** Number of types in this blob (not counting the base's or void). */
  readonly typeCount: number;
  /** Byte order of the parsed blob. */
  readonly littleEndian: boolean;

  #raw: RawSpec;
  /** This spec, then its base, the base's base… */
  #chain: Spec[];
  #cache = new Map<number, BtfType>();
  #strCache = new Map<number, string>();
  /** This blob's name index (built lazily). */
  #names: NameIndex | undefined;
  #ptrSize = 0;

  static {
    rawOf = (spec) => spec.#raw;
  }

  /**
   * Parses raw BTF; the same as `parseBtf(bytes, options)`.
   *
   * @throws {ParseError} when the blob is malformed.
   */
  constructor(bytes: Uint8Array, options: ParseOptions = {}) {
    if (!(bytes instanceof Uint8Array)) {
      throw new InvalidArgumentError("parseBtf: bytes must be a Uint8Array");
    }
    const base = options.base;
    if (base !== undefined && !(base instanceof Spec)) {
      throw new InvalidArgumentError("parseBtf: base must be a Spec");
    }
    const { littleEndian: le, hdrLen, typeOff, typeLen, strOff, strLen } = readBtfHeader(bytes);
    const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    const strStart = hdrLen + strOff;
    const strs = bytes.subarray(strStart, strStart + strLen);
    if (base === undefined) {
      if (strLen === 0) fail("empty string section", 20);
      if (strs[0] !== 0) fail("string section does not start with NUL", strStart);
    }
    if (strLen > 0 && strs[strLen - 1] !== 0) {
      fail("string section is not NUL-terminated", strStart + strLen - 1);
    }

    const typeSecStart = hdrLen + typeOff;
    const nWords = typeLen / 4;
    let words: Uint32Array;
    const abs = bytes.byteOffset + typeSecStart;
    if (le === HOST_LITTLE_ENDIAN && (abs & 3) === 0) {
      words = new Uint32Array(bytes.buffer, abs, nWords);
    } else {
      words = new Uint32Array(nWords);
      for (let i = 0; i < nWords; i++) words[i] = dv.getUint32(typeSecStart + i * 4, le);
    }
    const findNames = options.findNames === undefined ? [] : [...options.findNames];
    const query = findNames.length > 0 && base === undefined ? nameQuery(findNames) : undefined;
    const offsets = query !== undefined
      ? indexTypesFindingNames(words, typeSecStart, strs, query)
      : indexTypes(words, typeSecStart);

    this.base = base;
    this.littleEndian = le;
    this.firstTypeId = base === undefined ? 1 : base.lastTypeId + 1;
    this.typeCount = offsets.length;
    const strBase = base === undefined ? 0 : base.#raw.strBase + base.#raw.strs.length;
    this.#chain = base === undefined ? [this] : [this, ...base.#chain];
    this.#raw = {
      words,
      offsets,
      strs,
      strBase,
      firstTypeId: this.firstTypeId,
      typeCount: this.typeCount,
      typeSecStart,
      base,
    };
    if (query !== undefined) {
      const index = this.#nameIndex();
      for (let i = 0; i < findNames.length; i++) {
        // The walk probes a name's first two bytes: a one-byte name's own
        // (its NUL) differ from those of its flavours, which it cannot find.
        const flavoured = query.names[i].length >= 2 ? query.flavoured[i] : undefined;
        index.seed(findNames[i], query.hits[i], flavoured);
      }
    } else if (findNames.length > 0) this.prefetchNames(findNames);
  }

  /** Id of the last type (of this blob, or of the base when this blob has none); 0 if none. */
  get lastTypeId(): number {
    return this.firstTypeId + this.typeCount - 1;
  }

  /** Length of the string space: the base's strings plus this blob's own. */
  get stringsLength(): number {
    return this.#raw.strBase + this.#raw.strs.length;
  }

  /**
   * The type with this id (0 is void; ids below `firstTypeId` come from the base).
   *
   * @throws {NotFoundError} when there is no such type.
   * @throws {ParseError} when the type record is malformed.
   */
  typeById(id: number): BtfType {
    if (!Number.isInteger(id) || id < 0 || id > this.lastTypeId) {
      throw new NotFoundError(`BTF type id ${id}`);
    }
    return this.#typeAt(id);
  }

  /**
   * The type a reference (a member, param, pointer, typedef, var …) points
   * to, decoded on demand.
   *
   * @throws {ParseError} when the id is dangling or the record malformed.
   */
  typeOf(ref: TypeRef): BtfType {
    const id = ref.type;
    if (!Number.isInteger(id) || id < 0 || id > this.lastTypeId) {
      throw new ParseError("btf", `reference to missing type id ${id}`);
    }
    return this.#typeAt(id);
  }

  /**
   * The kind of a type without decoding it.
   *
   * @throws {NotFoundError} when there is no such type.
   */
  kindOf(id: number): Kind {
    if (!Number.isInteger(id) || id < 0 || id > this.lastTypeId) {
      throw new NotFoundError(`BTF type id ${id}`);
    }
    if (id === 0) return "void";
    const r = this.#ownerOfId(id).#raw;
    return BTF_KIND_NAMES[(r.words[r.offsets[id - r.firstTypeId] + 1] >>> 24) & 0x1f];
  }

  /**
   * The name of type `id` without decoding the type (`""` for void and
   * anonymous types): for walks over many types that want names only.
   *
   * @throws {NotFoundError} when there is no such type.
   */
  nameOf(id: number): string {
    if (!Number.isInteger(id) || id < 0 || id > this.lastTypeId) {
      throw new NotFoundError(`BTF type id ${id}`);
    }
    if (id === 0) return "";
    const owner = this.#ownerOfId(id);
    const r = owner.#raw;
    const o = r.offsets[id - r.firstTypeId];
    return owner.#str(r.words[o], r.typeSecStart + o * 4);
  }

  /** This blob's own types in id order (the base's are not included). */
  [Symbol.iterator](): IterableIterator<BtfType> {
    return this.types();
  }

  /** The types in id order: this blob's own, or with `includeBase` the base's first. */
  *types(options: TypesOptions = {}): IterableIterator<BtfType> {
    if (options.includeBase && this.base !== undefined) yield* this.base.types(options);
    const first = this.firstTypeId;
    const end = first + this.typeCount;
    for (let id = first; id < end; id++) yield this.#typeAt(id);
  }

  /**
   * All types named `name`, in id order, the base's first. `""` matches none.
   *
   * @throws {ParseError} when a matching record is malformed.
   */
  typesByName(name: string): BtfType[] {
    return this.typeIdsByName(name).map((id) => this.#typeAt(id));
  }

  /**
   * The ids of all types named `name` (of `kind`, when given), in id order,
   * the base's first. Decodes nothing.
   */
  typeIdsByName(name: string, kind?: Kind): number[] {
    const out: number[] = [];
    if (name === "") return out;
    const k = kind === undefined ? -1 : kindNumber(kind);
    const chain = this.#chain;
    for (let c = chain.length - 1; c >= 0; c--) chain[c].#ownIds(name, k, out);
    return out;
  }

  /**
   * The ids of this blob's own types (not the base's) named `name`, of
   * `kind` when given, in id order. Lookups are cached; look many names up
   * in one pass with {@linkcode Spec.prefetchNames}.
   */
  ownTypeIdsByName(name: string, kind?: Kind): number[] {
    const k = kind === undefined ? -1 : kindNumber(kind);
    return this.#ownIds(name, k, []);
  }

  /**
   * The ids of this blob's own types named `name` plus a CO-RE flavour
   * (`name___x`, whose essential name is `name`), in id order: CO-RE
   * candidates besides the types named `name` itself.
   */
  ownFlavouredTypeIds(name: string): number[] {
    return [...this.#nameIndex().flavoured(name)];
  }

  /**
   * Looks up several names of this blob's own types, exactly and with a
   * CO-RE flavour, in one pass over the type records (for big BTF such as
   * vmlinux one pass costs about as much as a single lookup); later
   * lookups of them cost nothing.
   */
  prefetchNames(names: Iterable<string>): void {
    this.#nameIndex().find(names);
  }

  /**
   * One type named `name` (of `kind`, when given): complete definitions
   * rank before forward declarations (`fwd`, a struct or union with no
   * members and size 0, an enum without values), then lower ids first.
   * Returns `undefined` when there is none.
   *
   * @throws {ParseError} when the chosen record is malformed.
   */
  typeByName(name: string, kind?: Kind): BtfType | undefined {
    const id = this.typeIdByName(name, kind);
    return id === undefined ? undefined : this.#typeAt(id);
  }

  /**
   * The id of the type `typeByName` returns, without decoding anything
   * (like libbpf's `btf__find_by_name_kind`, but preferring definitions to
   * forward declarations).
   */
  typeIdByName(name: string, kind?: Kind): number | undefined {
    if (name === "") return undefined;
    const k = kind === undefined ? -1 : kindNumber(kind);
    const rank = (id: number): number => {
      const [r, o] = this.#locate(id);
      if (k >= 0 && ((r.words[o + 1] >>> 24) & 0x1f) !== k) return 0;
      return isComplete(r.words, o) ? 2 : 1;
    };
    // Base first: a complete type anywhere wins, else the first of any.
    let fallback = 0;
    const chain = this.#chain;
    for (let c = chain.length - 1; c >= 0; c--) {
      const id = chain[c].#nameIndex().first(name, rank);
      if (id > 0) return id;
      if (id < 0 && fallback === 0) fallback = -id;
    }
    return fallback === 0 ? undefined : fallback;
  }

  /**
   * Follows typedef, const, volatile, restrict and type_tag references to
   * the underlying type.
   *
   * @throws {NotFoundError} when `id` does not exist.
   * @throws {ParseError} on dangling references, loops or chains deeper than 32.
   */
  resolve(id: number): BtfType {
    if (!Number.isInteger(id) || id < 0 || id > this.lastTypeId) {
      throw new NotFoundError(`BTF type id ${id}`);
    }
    let cur = id;
    for (let depth = 0;; depth++) {
      if (cur === 0) return VOID;
      const [r, o] = this.#locate(cur);
      const kind = (r.words[o + 1] >>> 24) & 0x1f;
      if (
        kind !== K_TYPEDEF && kind !== K_CONST && kind !== K_VOLATILE && kind !== K_RESTRICT &&
        kind !== K_TYPE_TAG
      ) {
        return this.#typeAt(cur);
      }
      if (depth >= MAX_RESOLVE_DEPTH) {
        throw new ParseError("btf", `type ${id}: reference chain too deep or cyclic`, {
          offset: r.typeSecStart + o * 4,
        });
      }
      cur = this.#checkRef(r.words[o + 2], r, o);
    }
  }

  /**
   * The size in bytes of a type, following typedefs, qualifiers, vars and
   * arrays (like libbpf's `btf__resolve_size`).
   *
   * @throws {NotFoundError} when `id` does not exist.
   * @throws {InvalidArgumentError} for types without a size (void, fwd, func …).
   * @throws {ParseError} on dangling references, loops, or a size beyond 32 bits.
   */
  sizeOf(id: number): number {
    if (!Number.isInteger(id) || id < 0 || id > this.lastTypeId) {
      throw new NotFoundError(`BTF type id ${id}`);
    }
    let nelems = 1;
    let cur = id;
    let size = -1;
    for (let depth = 0; depth <= MAX_RESOLVE_DEPTH; depth++) {
      if (cur === 0) break;
      const [r, o] = this.#locate(cur);
      const w = r.words;
      const kind = (w[o + 1] >>> 24) & 0x1f;
      switch (kind) {
        case K_INT:
        case K_STRUCT:
        case K_UNION:
        case K_ENUM:
        case K_ENUM64:
        case K_DATASEC:
        case K_FLOAT:
          size = w[o + 2];
          break;
        case K_PTR:
          size = this.pointerSize;
          break;
        case K_TYPEDEF:
        case K_VOLATILE:
        case K_CONST:
        case K_RESTRICT:
        case K_VAR:
        case K_TYPE_TAG:
          cur = this.#checkRef(w[o + 2], r, o);
          continue;
        case K_ARRAY: {
          nelems *= w[o + 5];
          if (nelems > 0xffffffff) {
            throw new ParseError("btf", `type ${id}: array size overflows 32 bits`, {
              offset: r.typeSecStart + o * 4,
            });
          }
          cur = this.#checkRef(w[o + 3], r, o);
          continue;
        }
        default:
          break;
      }
      break;
    }
    if (size < 0) {
      let kind = 0;
      if (cur !== 0) {
        const [r, o] = this.#locate(cur);
        kind = (r.words[o + 1] >>> 24) & 0x1f;
        if (
          kind === K_TYPEDEF || kind === K_VOLATILE || kind === K_CONST || kind === K_RESTRICT ||
          kind === K_VAR || kind === K_TYPE_TAG || kind === K_ARRAY
        ) {
          throw new ParseError("btf", `type ${id}: reference chain too deep or cyclic`, {
            offset: r.typeSecStart + o * 4,
          });
        }
      }
      const what = cur === id
        ? `(${BTF_KIND_NAMES[kind]})`
        : `(resolving to ${BTF_KIND_NAMES[kind]} ${cur})`;
      throw new InvalidArgumentError(`BTF type ${id} ${what} has no size`);
    }
    const total = nelems * size;
    if (total > 0xffffffff) {
      throw new ParseError("btf", `type ${id}: size overflows 32 bits`);
    }
    return total;
  }

  /**
   * The size of a pointer: that of `long`/`unsigned long` when the BTF has
   * them (or the base's), else 8.
   */
  get pointerSize(): number {
    if (this.#ptrSize === 0) {
      let size = 0;
      if (this.base !== undefined) size = this.base.pointerSize;
      else {
        for (const n of ["long int", "long unsigned int", "long", "unsigned long"]) {
          const ids = this.typeIdsByName(n, "int");
          for (const id of ids) {
            const [r, o] = this.#locate(id);
            const s = r.words[o + 2];
            if (s === 4 || s === 8) {
              size = s;
              break;
            }
          }
          if (size !== 0) break;
        }
      }
      this.#ptrSize = size === 0 ? 8 : size;
    }
    return this.#ptrSize;
  }

  /**
   * The string at offset `off` of the string space (base strings first for split BTF).
   *
   * @throws {InvalidArgumentError} when `off` is outside the string space.
   */
  stringAt(off: number): string {
    if (!Number.isInteger(off) || off < 0 || off >= this.stringsLength) {
      throw new InvalidArgumentError(`BTF string offset ${off} out of range`);
    }
    return this.#str(off, -1);
  }

  // ---- internals ----------------------------------------------------------

  /** Raw record of `id` (which must be in range and nonzero). */
  #locate(id: number): [RawSpec, number] {
    const r = this.#ownerOfId(id).#raw;
    return [r, r.offsets[id - r.firstTypeId]];
  }

  /** The spec in the chain holding type `id` (>= 1). */
  #ownerOfId(id: number): Spec {
    const chain = this.#chain;
    let i = 0;
    while (id < chain[i].firstTypeId) i++;
    return chain[i];
  }

  /** The spec in the chain holding string offset `off`. */
  #ownerOfStr(off: number): Spec {
    const chain = this.#chain;
    let i = 0;
    while (off < chain[i].#raw.strBase) i++;
    return chain[i];
  }

  #checkRef(ref: number, r: RawSpec, o: number): number {
    if (ref > this.lastTypeId) {
      throw new ParseError("btf", `reference to missing type id ${ref}`, {
        offset: r.typeSecStart + o * 4,
      });
    }
    return ref;
  }

  /** Decodes (or returns the memoised) type `id`, which must be in range. */
  #typeAt(id: number): BtfType {
    if (id === 0) return VOID;
    if (id < this.firstTypeId) return this.base!.#typeAt(id);
    let t = this.#cache.get(id);
    if (t === undefined) {
      t = this.#decode(id);
      this.#cache.set(id, t);
    }
    return t;
  }

  #decode(id: number): BtfType {
    const r = this.#raw;
    const w = r.words;
    const o = r.offsets[id - r.firstTypeId];
    const at = r.typeSecStart + o * 4;
    const info = w[o + 1];
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    const kflag = info >>> 31 === 1;
    const name = this.#str(w[o], at);
    const st = w[o + 2];
    switch (kind) {
      case K_INT: {
        const v = w[o + 3];
        const encoding = INT_ENCODINGS[(v >>> 24) & 0x0f];
        if (encoding === undefined) {
          throw new ParseError("btf", `type ${id}: bad int encoding ${(v >>> 24) & 0x0f}`, {
            offset: at + 12,
          });
        }
        return {
          kind: "int",
          id,
          name,
          size: st,
          encoding,
          bitOffset: (v >>> 16) & 0xff,
          bits: v & 0xff,
        };
      }
      case K_PTR:
        return { kind: "ptr", id, name, type: st };
      case K_ARRAY:
        return { kind: "array", id, name, type: w[o + 3], indexType: w[o + 4], nelems: w[o + 5] };
      case K_STRUCT:
      case K_UNION: {
        const members: Member[] = new Array(vlen);
        for (let i = 0, m = o + 3; i < vlen; i++, m += 3) {
          const off = w[m + 2];
          members[i] = {
            name: this.#str(w[m], at + (m - o) * 4),
            type: w[m + 1],
            bitOffset: kflag ? off & 0xffffff : off,
            bitfieldSize: kflag ? off >>> 24 : 0,
          };
        }
        return kind === K_STRUCT
          ? { kind: "struct", id, name, size: st, members }
          : { kind: "union", id, name, size: st, members };
      }
      case K_ENUM: {
        const values: EnumValue[] = new Array(vlen);
        for (let i = 0, m = o + 3; i < vlen; i++, m += 2) {
          const v = w[m + 1];
          values[i] = { name: this.#str(w[m], at + (m - o) * 4), value: kflag ? v | 0 : v };
        }
        return { kind: "enum", id, name, size: st, signed: kflag, values };
      }
      case K_ENUM64: {
        const values: Enum64Value[] = new Array(vlen);
        for (let i = 0, m = o + 3; i < vlen; i++, m += 3) {
          const lo = w[m + 1];
          const hi = w[m + 2];
          let value: bigint;
          if (hi === 0) value = BigInt(lo);
          else {
            value = (BigInt(hi) << 32n) | BigInt(lo);
            if (kflag) value = BigInt.asIntN(64, value);
          }
          values[i] = { name: this.#str(w[m], at + (m - o) * 4), value };
        }
        return { kind: "enum64", id, name, size: st, signed: kflag, values };
      }
      case K_FWD:
        return { kind: "fwd", id, name, fwdKind: kflag ? "union" : "struct" };
      case K_TYPEDEF:
        return { kind: "typedef", id, name, type: st };
      case K_VOLATILE:
        return { kind: "volatile", id, name, type: st };
      case K_CONST:
        return { kind: "const", id, name, type: st };
      case K_RESTRICT:
        return { kind: "restrict", id, name, type: st };
      case K_FUNC: {
        const linkage = FUNC_LINKAGES[vlen];
        if (linkage === undefined) {
          throw new ParseError("btf", `type ${id}: bad func linkage ${vlen}`, { offset: at + 4 });
        }
        return { kind: "func", id, name, type: st, linkage };
      }
      case K_FUNC_PROTO: {
        const params: Param[] = new Array(vlen);
        for (let i = 0, m = o + 3; i < vlen; i++, m += 2) {
          params[i] = { name: this.#str(w[m], at + (m - o) * 4), type: w[m + 1] };
        }
        return { kind: "func_proto", id, name, returnType: st, params };
      }
      case K_VAR: {
        const l = w[o + 3];
        const linkage = l < 3 ? VAR_LINKAGES[l] : undefined;
        if (linkage === undefined) {
          throw new ParseError("btf", `type ${id}: bad var linkage ${l}`, { offset: at + 12 });
        }
        return { kind: "var", id, name, type: st, linkage };
      }
      case K_DATASEC: {
        const vars: VarSecinfo[] = new Array(vlen);
        for (let i = 0, m = o + 3; i < vlen; i++, m += 3) {
          vars[i] = { type: w[m], offset: w[m + 1], size: w[m + 2] };
        }
        return { kind: "datasec", id, name, size: st, vars };
      }
      case K_FLOAT:
        return { kind: "float", id, name, size: st };
      case K_DECL_TAG: {
        const componentIdx = w[o + 3] | 0;
        if (componentIdx < -1) {
          throw new ParseError("btf", `type ${id}: bad decl_tag component_idx ${componentIdx}`, {
            offset: at + 12,
          });
        }
        return { kind: "decl_tag", id, name, type: st, componentIdx };
      }
      case K_TYPE_TAG:
        return { kind: "type_tag", id, name, type: st };
      default:
        // Unreachable: indexTypes rejects unknown kinds.
        throw new ParseError("btf", `type ${id}: unknown kind ${kind}`, { offset: at + 4 });
    }
  }

  /** The string at offset `off`; `at` is the blob offset blamed when it is out of range. */
  #str(off: number, at: number): string {
    if (off === 0) return "";
    const s = this.#ownerOfStr(off);
    const r = s.#raw;
    const rel = off - r.strBase;
    const strs = r.strs;
    if (rel >= strs.length) {
      throw new ParseError(
        "btf",
        `string offset ${off} out of range`,
        at < 0 ? {} : { offset: at },
      );
    }
    const cache = s.#strCache;
    let str = cache.get(rel);
    if (str === undefined) {
      const end = strs.indexOf(0, rel); // found: the section ends with NUL
      str = decodeName(strs, rel, end);
      cache.set(rel, str);
    }
    return str;
  }

  /** This blob's name index, created on first use. */
  #nameIndex(): NameIndex {
    return this.#names ??= new NameIndex(this.#raw, (off) => {
      const r = this.#ownerOfStr(off).#raw;
      return [r.strs, r.strBase];
    });
  }

  /** Appends the ids of this blob's own types named `name` (of kind `k`, any when -1). */
  #ownIds(name: string, k: number, out: number[]): number[] {
    const ids = this.#nameIndex().exact(name);
    if (k < 0) {
      for (const id of ids) out.push(id);
      return out;
    }
    const r = this.#raw;
    for (const id of ids) {
      if (((r.words[r.offsets[id - r.firstTypeId] + 1] >>> 24) & 0x1f) === k) out.push(id);
    }
    return out;
  }
}

/**
 * Parses raw BTF (`/sys/kernel/btf/vmlinux`, a module's split BTF with
 * `options.base`, or a `.BTF` section's bytes) of either byte order.
 * Only the header and a compact index of type records are built here;
 * types are decoded on demand.
 *
 * @throws {ParseError} when the blob is malformed (with the byte offset).
 */
export function parseBtf(bytes: Uint8Array, options?: ParseOptions): Spec {
  return new Spec(bytes, options);
}

/** Names looked for during the index walk, and the ids found for each. */
interface NameQuery {
  /** The names, UTF-8. */
  names: Uint8Array[];
  /** Ids of the types named `names[i]`, ascending. */
  hits: number[][];
  /** Ids of the types named `names[i]` + `___` + more (CO-RE flavours), ascending. */
  flavoured: number[][];
}

/** An empty query for `names`. */
function nameQuery(names: readonly string[]): NameQuery {
  return {
    names: names.map((n) => utf8Encoder.encode(n)),
    hits: names.map(() => []),
    flavoured: names.map(() => []),
  };
}

/**
 * `indexTypes` that also collects the ids of the types whose name is one of
 * `query.names` (types of a blob without a base: ids start at 1).
 *
 * One table probe on a name's first two bytes picks the few wanted names
 * to compare. This walk runs once per process on vmlinux (126k types),
 * mostly before V8 has optimised it, so its body stays small and touches
 * only typed arrays: no property loads or calls on the rare paths, which
 * would have no type feedback yet and throw the optimised loop back to
 * the interpreter when first taken.
 */
function indexTypesFindingNames(
  words: Uint32Array,
  secStart: number,
  strs: Uint8Array,
  query: NameQuery,
): Uint32Array {
  const names = query.names;
  // The wanted names back to back, and where each starts and how long it is.
  let total = 0;
  for (const q of names) total += q.length;
  const flat = new Uint8Array(total);
  const starts = new Int32Array(names.length);
  const lens = new Int32Array(names.length);
  // For the first two bytes of a wanted name (the second may be its NUL):
  // 1 + the index of the first such name, chained through `sameStart`.
  const prefix = new Uint16Array(65536);
  const sameStart = new Int32Array(names.length).fill(-1);
  total = 0;
  for (let k = names.length - 1; k >= 0; k--) {
    const q = names[k];
    starts[k] = total;
    lens[k] = q.length;
    flat.set(q, total);
    total += q.length;
    if (q.length === 0 || q[0] === 0) continue;
    const key = q[0] | ((q.length > 1 ? q[1] : 0) << 8);
    sameStart[k] = prefix[key] - 1;
    prefix[key] = k + 1;
  }
  const n = words.length;
  const offsets = new Uint32Array(Math.floor(n / 3) + 1);
  let hitIds = new Int32Array(64);
  let hitNames = new Int32Array(64);
  let hits = 0;
  const extra = EXTRA;
  let count = 0;
  let pos = 0;
  while (pos < n) {
    // Past the end `info` reads undefined: kind 0, invalid, caught below.
    const info = words[pos + 1];
    const e = extra[(info >>> 24) & 0x1f];
    const next = pos + 3 + (e & 0xff) + (e >>> 8) * (info & 0xffff);
    if (e < 0 || next > n) badRecord(words, pos, count, secStart);
    // Out-of-range offsets read undefined, which `|` and `<<` turn into 0;
    // a name starting with NUL (offset 0: the empty name) is never wanted.
    const off = words[pos];
    for (let k = prefix[strs[off] | (strs[off + 1] << 8)] - 1; k >= 0; k = sameStart[k]) {
      const len = lens[k];
      // The name itself (NUL after it), or the name + "___" (a flavour).
      const end = strs[off + len];
      if (
        end !== 0 && (end !== 95 || strs[off + len + 1] !== 95 || strs[off + len + 2] !== 95)
      ) continue;
      const st = starts[k];
      let j = 2;
      while (j < len && strs[off + j] === flat[st + j]) j++;
      if (j < len) continue;
      if (hits === hitIds.length) {
        hitIds = growInt32(hitIds);
        hitNames = growInt32(hitNames);
      }
      hitIds[hits] = count + 1;
      hitNames[hits++] = end === 0 ? k : ~k;
    }
    offsets[count++] = pos;
    pos = next;
  }
  for (let h = 0; h < hits; h++) {
    const k = hitNames[h];
    if (k >= 0) query.hits[k].push(hitIds[h]);
    else query.flavoured[~k].push(hitIds[h]);
  }
  return offsets.subarray(0, count);
}

function growInt32(a: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> {
  const b = new Int32Array(a.length * 2);
  b.set(a);
  return b;
}

/**
 * Walks the type section and returns the word offset of every record.
 *
 * @internal
 * @throws {ParseError} on unknown kinds, truncated records or records
 * overrunning the section (with the blob offset, `secStart` being the
 * section's).
 */
export function indexTypes(words: Uint32Array, secStart: number): Uint32Array {
  const n = words.length;
  const offsets = new Uint32Array(Math.floor(n / 3) + 1);
  const extra = EXTRA;
  let count = 0;
  let pos = 0;
  while (pos < n) {
    // Past the end `info` reads undefined: kind 0, invalid, caught below.
    const info = words[pos + 1];
    const e = extra[(info >>> 24) & 0x1f];
    const next = pos + 3 + (e & 0xff) + (e >>> 8) * (info & 0xffff);
    if (e < 0 || next > n) badRecord(words, pos, count, secStart);
    offsets[count++] = pos;
    pos = next;
  }
  return offsets.subarray(0, count);
}

/** Throws the ParseError for the malformed type record at word `pos`. */
function badRecord(words: Uint32Array, pos: number, count: number, secStart: number): never {
  const n = words.length;
  if (n - pos < 3) {
    fail(`truncated type record: ${(n - pos) * 4} of 12 bytes`, secStart + pos * 4);
  }
  const info = words[pos + 1];
  const kind = (info >>> 24) & 0x1f;
  if (EXTRA[kind] < 0) fail(`type ${count + 1}: unknown kind ${kind}`, secStart + pos * 4 + 4);
  fail(
    `${BTF_KIND_NAMES[kind]} record with vlen ${info & 0xffff} overruns the type section`,
    secStart + pos * 4,
  );
}

/**
 * Whether the record at `o` is a complete type: not a `fwd`, a struct or
 * union without members and size 0, or an enum without values.
 */
function isComplete(w: Uint32Array, o: number): boolean {
  const info = w[o + 1];
  switch ((info >>> 24) & 0x1f) {
    case K_FWD:
      return false;
    case K_STRUCT:
    case K_UNION:
      return (info & 0xffff) !== 0 || w[o + 2] !== 0;
    case K_ENUM:
    case K_ENUM64:
      return (info & 0xffff) !== 0;
    default:
      return true;
  }
}

function fail(msg: string, offset: number): never {
  throw new ParseError("btf", msg, { offset });
}

function kindNumber(kind: Kind): number {
  const k = BTF_KIND_NUMBERS[kind];
  if (k === undefined) throw new InvalidArgumentError(`unknown BTF kind ${JSON.stringify(kind)}`);
  return k;
}

/** Decodes `b[start, end)` as UTF-8, with a fast path for short ASCII names. */
function decodeName(b: Uint8Array, start: number, end: number): string {
  const len = end - start;
  if (len <= 64) {
    let ascii = true;
    for (let i = start; i < end; i++) {
      if (b[i] >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) {
      return String.fromCharCode.apply(null, b.subarray(start, end) as unknown as number[]);
    }
  }
  return utf8.decode(b.subarray(start, end));
}
