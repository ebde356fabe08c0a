/**
 * BTF as a C header, in the exact text of `bpftool btf dump file F format c`
 * (bpftool 7.1 with libbpf 1.1's btf_dump): every type of the spec (for split
 * BTF, the base's too, as bpftool prints them) in an order that compiles,
 * with forward declarations where a pointer allows them, `___N` suffixes for
 * clashing names, bitfields, explicit padding, `__attribute__((packed))`,
 * enum modes and type tags, between bpftool's `__VMLINUX_H__` header and
 * footer.
 *
 * @example
 * ```ts
 * import { formatBtfAsC, loadKernelSpec } from "@denobpf/ebpf/btf";
 *
 * Deno.writeTextFileSync("vmlinux.h", formatBtfAsC(loadKernelSpec()));
 * ```
 *
 * @module
 */

import { InvalidArgumentError, ParseError } from "../errors.ts";
import type { BtfType, Member } from "./types.ts";
import { resolveSize } from "./core_types.ts";
import { rawSpec, type Spec } from "./spec.ts";

/** Options of {@linkcode formatBtfAsC}. */
export interface FormatCOptions {
  /**
   * Dump only these types and what they need (bpftool's `root_id`), in this
   * order; by default every type, ids 1 to `spec.lastTypeId`.
   */
  rootIds?: readonly number[];
  /**
   * Wrap the types in bpftool's `#ifndef __VMLINUX_H__` header and footer
   * (with the `preserve_access_index` pragma). Default true.
   */
  header?: boolean;
}

const HEADER = "#ifndef __VMLINUX_H__\n#define __VMLINUX_H__\n\n" +
  "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n" +
  "#pragma clang attribute push (__attribute__((preserve_access_index)), apply_to = record)\n" +
  "#endif\n\n";
const FOOTER = "#ifndef BPF_NO_PRESERVE_ACCESS_INDEX\n#pragma clang attribute pop\n#endif\n" +
  "\n#endif /* __VMLINUX_H__ */\n";

/** Indentation by level (libbpf caps it at 13 tabs). */
const PFX: string[] = [];
for (let i = 0; i <= 13; i++) PFX.push("\t".repeat(i));
const pfx = (lvl: number): string => PFX[lvl >= 13 ? 13 : lvl];

/** Typedef names GCC uses for Arm SIMD base types, aliased to standard ones. */
const MISSING_BASE_TYPES = new Map([
  ["__Poly8_t", "unsigned char"],
  ["__Poly16_t", "unsigned short"],
  ["__Poly64_t", "unsigned long long"],
  ["__Poly128_t", "unsigned __int128"],
]);

const LONG_ALIASES = new Set([
  "long",
  "long int",
  "int long",
  "unsigned long",
  "long unsigned",
  "unsigned long int",
  "unsigned int long",
  "long unsigned int",
  "long int unsigned",
  "int unsigned long",
  "int long unsigned",
]);

// Ordering states (0: not ordered yet).
const ORDERING = 1, ORDERED = 2;
const NOT_EMITTED = 0, EMITTING = 1, EMITTED = 2;

/** A view on a chain of type ids being declared (the top is at `cnt - 1`). */
interface DeclStack {
  ids: number[];
  cnt: number;
}

/**
 * libbpf's `roundup` on C ints: the sum wraps at 32 bits and the division
 * truncates toward zero (a negative offset rounds up to 0, not to -y).
 */
const roundup = (x: number, y: number): number => Math.imul(Math.trunc(((x + y - 1) | 0) / y), y);

/**
 * The most text a dump writes (UTF-16 units), well under V8's longest string
 * (2**29 - 24): a vmlinux.h is a few MiB, but a bit offset near 2**31 makes
 * bpftool write ~33 million padding lines, and an anonymous struct is
 * written out at every use.
 */
const MAX_OUTPUT = 256 << 20;

function isMod(t: BtfType): boolean {
  return t.kind === "volatile" || t.kind === "const" || t.kind === "restrict" ||
    t.kind === "type_tag";
}

/** The emitter: state per type id, name de-duplication maps and the output. */
class CDumper {
  readonly #types: BtfType[];
  readonly #order: Uint8Array;
  readonly #emit: Uint8Array;
  readonly #fwdEmitted: Uint8Array;
  readonly #nameResolved: Uint8Array;
  readonly #referenced: Uint8Array;
  /** Whether a type's name offset is nonzero (libbpf's test for "named", even when the string is empty). */
  readonly #named: Uint8Array;
  readonly #cached: (string | undefined)[];
  readonly #typeNames = new Map<string, number>();
  readonly #identNames = new Map<string, number>();
  readonly #ptrSz: number;
  #queue: number[] = [];
  #outLen = 0;
  readonly out: string[] = [];

  constructor(types: BtfType[], named: Uint8Array) {
    this.#types = types;
    this.#named = named;
    const n = types.length;
    this.#order = new Uint8Array(n);
    this.#emit = new Uint8Array(n);
    this.#fwdEmitted = new Uint8Array(n);
    this.#nameResolved = new Uint8Array(n);
    this.#referenced = new Uint8Array(n);
    this.#cached = new Array(n);
    this.#order[0] = ORDERED;
    this.#emit[0] = EMITTED;
    let ptrSz = 0;
    for (let i = 1; i < n && ptrSz === 0; i++) {
      const t = types[i];
      if (t.kind === "int" && (t.size === 4 || t.size === 8) && LONG_ALIASES.has(t.name)) {
        ptrSz = t.size;
      }
    }
    this.#ptrSz = ptrSz || 8;
    this.#markReferenced();
  }

  #t(id: number): BtfType {
    return this.#types[id];
  }

  #markReferenced(): void {
    const types = this.#types;
    const ref = this.#referenced;
    for (let i = 1; i < types.length; i++) {
      const t = types[i];
      switch (t.kind) {
        case "volatile":
        case "const":
        case "restrict":
        case "ptr":
        case "typedef":
        case "func":
        case "var":
        case "decl_tag":
        case "type_tag":
          ref[t.type] = 1;
          break;
        case "array":
          ref[t.indexType] = 1;
          ref[t.type] = 1;
          break;
        case "struct":
        case "union":
          for (const m of t.members) ref[m.type] = 1;
          break;
        case "func_proto":
          for (const p of t.params) ref[p.type] = 1;
          break;
        case "datasec":
          for (const v of t.vars) ref[v.type] = 1;
          break;
        default:
          break;
      }
    }
  }

  /** Orders `id` and what it needs, then emits them (btf_dump__dump_type). */
  dumpType(id: number): void {
    this.#queue = [];
    this.#orderType(id, false);
    for (const q of this.#queue) this.#emitType(q, 0);
  }

  /** 1: a strong link (must be defined first), 0: a weak one (a forward declaration does). */
  #orderType(id: number, throughPtr: boolean): number {
    const state = this.#order[id];
    if (state === ORDERED) return 1;
    const t = this.#t(id);
    if (state === ORDERING) {
      if ((t.kind === "struct" || t.kind === "union") && throughPtr && this.#named[id]) return 0;
      throw new ParseError(
        "btf",
        `cannot dump BTF as C: unsatisfiable type cycle through type [${id}] ${t.kind} ` +
          `'${t.name || "(anon)"}' (it contains itself other than through a pointer to a ` +
          "named struct or union; bpftool refuses it too)",
      );
    }
    switch (t.kind) {
      case "int":
      case "float":
        this.#order[id] = ORDERED;
        return 0;
      case "ptr": {
        const r = this.#orderType(t.type, true);
        this.#order[id] = ORDERED;
        return r;
      }
      case "array":
        return this.#orderType(t.type, false);
      case "struct":
      case "union": {
        if (throughPtr && this.#named[id]) return 0;
        this.#order[id] = ORDERING;
        for (const m of t.members) this.#orderType(m.type, false);
        if (this.#named[id]) this.#queue.push(id);
        this.#order[id] = ORDERED;
        return 1;
      }
      case "enum":
      case "enum64":
      case "fwd":
        if (this.#named[id] || !this.#referenced[id]) this.#queue.push(id);
        this.#order[id] = ORDERED;
        return 1;
      case "typedef": {
        const strong = this.#orderType(t.type, throughPtr);
        if (throughPtr && !strong) return 0;
        this.#queue.push(id);
        this.#order[id] = ORDERED;
        return 1;
      }
      case "volatile":
      case "const":
      case "restrict":
      case "type_tag":
        return this.#orderType(t.type, throughPtr);
      case "func_proto": {
        let strong = this.#orderType(t.returnType, throughPtr) > 0;
        for (const p of t.params) {
          if (this.#orderType(p.type, throughPtr) > 0) strong = true;
        }
        return strong ? 1 : 0;
      }
      case "func":
      case "var":
      case "datasec":
      case "decl_tag":
        this.#order[id] = ORDERED;
        return 0;
      default:
        return 0;
    }
  }

  #isBlacklisted(id: number): boolean {
    return this.#t(id).name === "__builtin_va_list";
  }

  #p(s: string, times = 1): void {
    this.#outLen += s.length * times;
    if (this.#outLen > MAX_OUTPUT) {
      throw new ParseError(
        "btf",
        `cannot dump BTF as C: the header would be over ${MAX_OUTPUT >> 20} MiB of text ` +
          "(a struct's padding or anonymous types written out again at each use: " +
          "bit offsets or sizes no compiler produces)",
      );
    }
    this.out.push(times === 1 ? s : s.repeat(times));
  }

  #emitType(id: number, contId: number): void {
    const state = this.#emit[id];
    if (state === EMITTED) return;
    const t = this.#t(id);
    const topLevel = contId === 0;
    if (state === EMITTING) {
      if (this.#fwdEmitted[id]) return;
      if (t.kind === "struct" || t.kind === "union") {
        if (id === contId) return;
        if (!this.#named[id]) return; // an anonymous struct/union loop: libbpf warns and goes on
        this.#emitStructFwd(id, t);
        this.#p(";\n\n");
        this.#fwdEmitted[id] = 1;
      } else if (t.kind === "typedef") {
        if (!this.#isBlacklisted(id)) {
          this.#emitTypedefDef(id, t.type, 0);
          this.#p(";\n\n");
        }
        this.#fwdEmitted[id] = 1;
      }
      return;
    }
    switch (t.kind) {
      case "int": {
        const name = this.#typeName(id);
        const alias = MISSING_BASE_TYPES.get(name);
        if (alias !== undefined) this.#p(`typedef ${alias} ${name};\n\n`);
        this.#emit[id] = EMITTED;
        break;
      }
      case "enum":
      case "enum64":
        if (topLevel) {
          this.#emitEnumDef(id, t, 0);
          this.#p(";\n\n");
        }
        this.#emit[id] = EMITTED;
        break;
      case "ptr":
      case "volatile":
      case "const":
      case "restrict":
      case "type_tag":
      case "array":
        this.#emitType(t.type, contId);
        break;
      case "fwd":
        this.#emitFwdDef(id, t.fwdKind);
        this.#p(";\n\n");
        this.#emit[id] = EMITTED;
        break;
      case "typedef":
        this.#emit[id] = EMITTING;
        this.#emitType(t.type, id);
        if (!this.#fwdEmitted[id] && !this.#isBlacklisted(id)) {
          this.#emitTypedefDef(id, t.type, 0);
          this.#p(";\n\n");
        }
        this.#emit[id] = EMITTED;
        break;
      case "struct":
      case "union":
        this.#emit[id] = EMITTING;
        if (topLevel || !this.#named[id]) {
          const cont = this.#named[id] ? id : contId;
          for (const m of t.members) this.#emitType(m.type, cont);
        } else if (!this.#fwdEmitted[id] && id !== contId) {
          this.#emitStructFwd(id, t);
          this.#p(";\n\n");
          this.#fwdEmitted[id] = 1;
        }
        if (topLevel) {
          this.#emitStructDef(id, t, 0);
          this.#p(";\n\n");
          this.#emit[id] = EMITTED;
        } else {
          this.#emit[id] = NOT_EMITTED;
        }
        break;
      case "func_proto":
        this.#emitType(t.returnType, contId);
        for (const p of t.params) this.#emitType(p.type, contId);
        break;
      default:
        break;
    }
  }

  /** btf__align_of: 0 where libbpf cannot tell (fwd, void, func…). */
  #alignOf(id: number): number {
    const t = this.#t(id);
    switch (t.kind) {
      case "int":
      case "enum":
      case "enum64":
      case "float":
        return Math.min(this.#ptrSz, t.size);
      case "ptr":
        return this.#ptrSz;
      case "typedef":
      case "volatile":
      case "const":
      case "restrict":
      case "type_tag":
      case "array":
        return this.#alignOf(t.type);
      case "struct":
      case "union": {
        let max = 1;
        for (const m of t.members) {
          const align = this.#alignOf(m.type);
          if (align <= 0) return align;
          max = Math.max(max, align);
          if (m.bitfieldSize === 0 && m.bitOffset % (8 * align) !== 0) return 1;
        }
        if (t.size % max !== 0) return 1;
        return max;
      }
      default:
        return 0;
    }
  }

  #isStructPacked(t: { size: number; members: readonly Member[] }): boolean {
    let max = 1;
    for (const m of t.members) {
      const align = this.#alignOf(m.type);
      if (align && m.bitfieldSize === 0 && m.bitOffset % (8 * align) !== 0) return true;
      max = Math.max(align, max);
    }
    return t.size % max !== 0;
  }

  /**
   * btf_dump_emit_bit_padding: the offsets are C ints, as in libbpf (an
   * offset of 2**31 bits or more is negative there), and a run of whole
   * `long: 64;` lines is written at once.
   */
  #emitBitPadding(
    curOff: number,
    nextOff: number,
    nextAlign: number,
    inBitfield: boolean,
    lvl: number,
  ): void {
    if (curOff >= nextOff) return;
    const pads: [string, number][] = [["long", this.#ptrSz * 8], ["int", 32], ["short", 16], [
      "char",
      8,
    ]];
    let newOff = 0, padBits = 0, padType = "";
    for (const [name, bits] of pads) {
      padBits = bits;
      padType = name;
      newOff = roundup(curOff, padBits);
      if (newOff <= nextOff) break;
    }
    if (newOff > curOff && newOff <= nextOff) {
      if (
        inBitfield ||
        (newOff === nextOff && roundup(curOff, nextAlign * 8) !== newOff) ||
        (newOff !== nextOff && ((nextOff - newOff) | 0) <= ((newOff - curOff) | 0))
      ) {
        this.#p(`\n${pfx(lvl)}${padType}: ${inBitfield ? (newOff - curOff) | 0 : 0};`);
      }
      curOff = newOff;
    }
    while (curOff !== nextOff) {
      const gap = (nextOff - curOff) | 0;
      const bits = Math.min(gap, padBits);
      if (bits === padBits) {
        const n = Math.floor(gap / padBits);
        this.#p(`\n${pfx(lvl)}${padType}: ${padBits};`, n);
        curOff = (curOff + n * padBits) | 0;
        continue;
      }
      for (let i = pads.length - 1; i >= 0; i--) {
        padType = pads[i][0];
        padBits = pads[i][1];
        if (padBits < bits) continue;
        this.#p(`\n${pfx(lvl)}${padType}: ${bits};`);
        curOff = (curOff + bits) | 0;
        break;
      }
    }
  }

  #emitStructFwd(id: number, t: BtfType): void {
    this.#p(
      `${t.kind === "struct" ? "struct" : "union"}${this.#named[id] ? " " : ""}${
        this.#typeName(id)
      }`,
    );
  }

  #emitStructDef(
    id: number,
    t: { kind: "struct" | "union"; name: string; size: number; members: readonly Member[] },
    lvl: number,
  ): void {
    const isStruct = t.kind === "struct";
    const align = this.#alignOf(id);
    const packed = isStruct ? this.#isStructPacked(t) : false;
    this.#p(`${isStruct ? "struct" : "union"}${this.#named[id] ? " " : ""}${this.#typeName(id)} {`);
    let off = 0;
    let prevBitfield = false;
    for (const m of t.members) {
      // libbpf keeps offsets and sizes in C ints: they wrap at 32 bits.
      let mSz = m.bitfieldSize;
      const mOff = m.bitOffset | 0;
      const mAlign = packed ? 1 : this.#alignOf(m.type);
      const inBitfield = prevBitfield && mSz !== 0;
      this.#emitBitPadding(off, mOff, mAlign, inBitfield, lvl + 1);
      this.#p(`\n${pfx(lvl + 1)}`);
      this.#emitTypeDecl(m.type, m.name, lvl + 1);
      if (mSz) {
        this.#p(`: ${mSz}`);
        off = (mOff + mSz) | 0;
        prevBitfield = true;
      } else {
        mSz = Math.max(0, resolveSize((i) => this.#types[i], m.type, () => this.#ptrSz)) | 0;
        off = (mOff + Math.imul(mSz, 8)) | 0;
        prevBitfield = false;
      }
      this.#p(";");
    }
    if (isStruct) this.#emitBitPadding(off, Math.imul(t.size, 8), align, false, lvl + 1);
    if (t.members.length || t.size) this.#p(`\n${pfx(lvl)}}`);
    else this.#p("}");
    if (packed) this.#p(" __attribute__((packed))");
  }

  #emitEnumDef(id: number, t: BtfType & { kind: "enum" | "enum64" }, lvl: number): void {
    this.#p(`enum${this.#named[id] ? " " : ""}${this.#typeName(id)}`);
    const vlen = t.values.length;
    if (!vlen) return;
    this.#p(" {");
    if (t.kind === "enum") {
      for (const v of t.values) {
        const dup = this.#nameDups(this.#identNames, v.name);
        const val = t.signed ? v.value | 0 : v.value >>> 0;
        this.#p(`\n${pfx(lvl + 1)}${v.name}${dup > 1 ? `___${dup}` : ""} = ${val},`);
      }
    } else {
      for (const v of t.values) {
        const dup = this.#nameDups(this.#identNames, v.name);
        const val = t.signed
          ? `${BigInt.asIntN(64, v.value)}LL`
          : `${BigInt.asUintN(64, v.value)}ULL`;
        this.#p(`\n${pfx(lvl + 1)}${v.name}${dup > 1 ? `___${dup}` : ""} = ${val},`);
      }
    }
    this.#p(`\n${pfx(lvl)}}`);
  }

  #emitFwdDef(id: number, fwdKind: "struct" | "union"): void {
    this.#p(`${fwdKind} ${this.#typeName(id)}`);
  }

  #emitTypedefDef(id: number, type: number, lvl: number): void {
    const name = this.#identName(id);
    if (type === 0 && name === "__gnuc_va_list") {
      this.#p("typedef __builtin_va_list __gnuc_va_list");
      return;
    }
    this.#p("typedef ");
    this.#emitTypeDecl(type, name, lvl);
  }

  /** Declares `fname` of type `id` in C syntax (btf_dump_emit_type_decl). */
  #emitTypeDecl(id: number, fname: string, lvl: number): void {
    const ids: number[] = [];
    for (let depth = 0;; depth++) {
      if (depth > 100_000) {
        throw new ParseError(
          "btf",
          `cannot dump BTF as C: type [${id}] has a cyclic declarator chain`,
        );
      }
      ids.push(id);
      if (id === 0) break;
      const t = this.#t(id);
      let next: number | undefined;
      switch (t.kind) {
        case "ptr":
        case "volatile":
        case "const":
        case "restrict":
        case "type_tag":
        case "array":
          next = t.type;
          break;
        case "func_proto":
          next = t.returnType;
          break;
        default:
          break;
      }
      if (next === undefined) break;
      id = next;
    }
    this.#emitTypeChain({ ids, cnt: ids.length }, fname, lvl);
  }

  #emitMods(decls: DeclStack): void {
    while (decls.cnt) {
      const t = this.#t(decls.ids[decls.cnt - 1]);
      if (t.kind === "volatile") this.#p("volatile ");
      else if (t.kind === "const") this.#p("const ");
      else if (t.kind === "restrict") this.#p("restrict ");
      else return;
      decls.cnt--;
    }
  }

  #dropMods(decls: DeclStack): void {
    while (decls.cnt) {
      if (!isMod(this.#t(decls.ids[decls.cnt - 1]))) return;
      decls.cnt--;
    }
  }

  #emitName(name: string, lastWasPtr: boolean): void {
    this.#p(name !== "" && !lastWasPtr ? ` ${name}` : name);
  }

  #emitTypeChain(decls: DeclStack, fname: string, lvl: number): void {
    let lastWasPtr = true;
    while (decls.cnt) {
      const id = decls.ids[--decls.cnt];
      if (id === 0) {
        this.#emitMods(decls);
        this.#p("void");
        lastWasPtr = false;
        continue;
      }
      const t = this.#t(id);
      switch (t.kind) {
        case "int":
        case "float":
          this.#emitMods(decls);
          this.#p(t.name);
          break;
        case "struct":
        case "union":
          this.#emitMods(decls);
          if (!this.#named[id]) this.#emitStructDef(id, t, lvl);
          else this.#emitStructFwd(id, t);
          break;
        case "enum":
        case "enum64":
          this.#emitMods(decls);
          if (!this.#named[id]) this.#emitEnumDef(id, t, lvl);
          else this.#p(`enum ${this.#typeName(id)}`);
          break;
        case "fwd":
          this.#emitMods(decls);
          this.#emitFwdDef(id, t.fwdKind);
          break;
        case "typedef":
          this.#emitMods(decls);
          this.#p(this.#identName(id));
          break;
        case "ptr":
          this.#p(lastWasPtr ? "*" : " *");
          break;
        case "volatile":
          this.#p(" volatile");
          break;
        case "const":
          this.#p(" const");
          break;
        case "restrict":
          this.#p(" restrict");
          break;
        case "type_tag":
          this.#emitMods(decls);
          this.#p(` __attribute__((btf_type_tag("${t.name}")))`);
          break;
        case "array": {
          this.#dropMods(decls);
          if (decls.cnt === 0) {
            this.#emitName(fname, lastWasPtr);
            this.#p(`[${t.nelems}]`);
            return;
          }
          const multidim = this.#t(decls.ids[decls.cnt - 1]).kind === "array";
          if (fname !== "" && !lastWasPtr) this.#p(" ");
          if (!multidim) this.#p("(");
          this.#emitTypeChain(decls, fname, lvl);
          if (!multidim) this.#p(")");
          this.#p(`[${t.nelems}]`);
          return;
        }
        case "func_proto": {
          this.#dropMods(decls);
          if (decls.cnt) {
            this.#p(" (");
            this.#emitTypeChain(decls, fname, lvl);
            this.#p(")");
          } else {
            this.#emitName(fname, lastWasPtr);
          }
          this.#p("(");
          const params = t.params;
          // No parameters (or clang's single void one): `(void)`.
          if (params.length === 0 || (params.length === 1 && params[0].type === 0)) {
            this.#p("void)");
            return;
          }
          for (let i = 0; i < params.length; i++) {
            if (i > 0) this.#p(", ");
            if (i === params.length - 1 && params[i].type === 0) {
              this.#p("...");
              break;
            }
            this.#emitTypeDecl(params[i].type, params[i].name, lvl);
          }
          this.#p(")");
          return;
        }
        default:
          // func, var, datasec, decl_tag: libbpf warns "unexpected type in decl chain".
          return;
      }
      lastWasPtr = t.kind === "ptr";
    }
    this.#emitName(fname, lastWasPtr);
  }

  #nameDups(map: Map<string, number>, name: string): number {
    const n = (map.get(name) ?? 0) + 1;
    map.set(name, n);
    return n;
  }

  #resolveName(id: number, map: Map<string, number>): string {
    const t = this.#t(id);
    const orig = t.name;
    if (!this.#named[id]) return "";
    if (this.#nameResolved[id]) return this.#cached[id] ?? orig;
    if (t.kind === "fwd" || (t.kind === "enum" && t.values.length === 0)) {
      this.#nameResolved[id] = 1;
      return orig;
    }
    const dup = this.#nameDups(map, orig);
    if (dup > 1) this.#cached[id] = `${orig}___${dup}`.slice(0, 255);
    this.#nameResolved[id] = 1;
    return this.#cached[id] ?? orig;
  }

  #typeName(id: number): string {
    return this.#resolveName(id, this.#typeNames);
  }

  #identName(id: number): string {
    return this.#resolveName(id, this.#identNames);
  }
}

/**
 * The C header `bpftool btf dump file F format c` prints for `spec`
 * (`--base-btf B` for split BTF: the split's own types and the base's),
 * byte for byte: libbpf 1.1's type ordering, forward declarations, naming
 * and layout rules, inside bpftool's `__VMLINUX_H__` guard and
 * `preserve_access_index` pragma.
 *
 * @throws {ParseError} when the types cannot be written as C: a struct or
 * union that contains itself other than through a pointer to a named type
 * (bpftool fails there too), a cyclic or too deep chain of references, an
 * int of a size other than 1, 2, 4, 8 or 16 bytes, a struct or union
 * over 64 MiB (bpftool writes its padding out, a line per 8 bytes), or a
 * header over 256 MiB of text (member bit offsets near 2**31, or anonymous
 * types written out again at each use).
 * @throws {InvalidArgumentError} when a root id is not a type of `spec`.
 */
export function formatBtfAsC(spec: Spec, options: FormatCOptions = {}): string {
  const last = spec.lastTypeId;
  const types: BtfType[] = new Array(last + 1);
  types[0] = { kind: "void", id: 0, name: "" };
  for (let id = 1; id <= last; id++) {
    const t = spec.typeById(id);
    types[id] = t;
    const bad = implausibleSize(t);
    if (bad !== undefined) {
      throw new ParseError(
        "btf",
        `cannot dump BTF as C: type [${id}] ${t.kind} '${t.name}' ${bad}`,
      );
    }
    const ref = danglingRef(t, last);
    if (ref >= 0) {
      throw new ParseError(
        "btf",
        `cannot dump BTF as C: type [${id}] ${t.kind} '${t.name}' refers to type ${ref}, ` +
          `past the last type ${last}`,
      );
    }
  }
  const roots = options.rootIds ?? Array.from({ length: last }, (_, i) => i + 1);
  for (const id of roots) {
    if (!Number.isInteger(id) || id < 0 || id > last) {
      throw new InvalidArgumentError(
        `cannot dump BTF type ${id} as C: the spec has types 1 to ${last}; pass an existing type id`,
      );
    }
  }
  const d = new CDumper(types, namedTypes(spec, last));
  try {
    for (const id of roots) d.dumpType(id);
  } catch (e) {
    if (e instanceof RangeError) {
      throw new ParseError(
        "btf",
        "cannot dump BTF as C: the type graph is cyclic or too deep " +
          "(e.g. a typedef that refers to itself)",
        { cause: e },
      );
    }
    throw e;
  }
  const body = d.out.join("");
  return options.header === false ? body : HEADER + body + FOOTER;
}

/** The largest struct or union the C dump writes: its padding is a line per 8 bytes. */
const MAX_RECORD_BYTES = 64 << 20;

/**
 * Why a type's size is not one C can have, or `undefined`: an int whose size
 * is not 1, 2, 4, 8 or 16 bytes (the kernel's btf_int_check_meta refuses
 * those), or a struct or union larger than {@linkcode MAX_RECORD_BYTES},
 * whose padding bpftool writes out as millions of `long: 64;` lines.
 */
function implausibleSize(t: BtfType): string | undefined {
  if (t.kind === "int" && ![1, 2, 4, 8, 16].includes(t.size)) {
    return `has size ${t.size}; an int is 1, 2, 4, 8 or 16 bytes`;
  }
  if ((t.kind === "struct" || t.kind === "union") && t.size > MAX_RECORD_BYTES) {
    return `has size ${t.size}, over the ${MAX_RECORD_BYTES} bytes a C dump writes out`;
  }
  return undefined;
}

/** 1 for each type id whose record's name offset is nonzero. */
function namedTypes(spec: Spec, last: number): Uint8Array {
  const named = new Uint8Array(last + 1);
  for (let s: Spec | undefined = spec; s !== undefined; s = s.base) {
    const r = rawSpec(s);
    for (let i = 0; i < r.typeCount; i++) {
      named[r.firstTypeId + i] = r.words[r.offsets[i]] !== 0 ? 1 : 0;
    }
  }
  return named;
}

/** The first reference of `t` past `last`, or -1 (no allocation: this runs for every type). */
function danglingRef(t: BtfType, last: number): number {
  switch (t.kind) {
    case "ptr":
    case "typedef":
    case "volatile":
    case "const":
    case "restrict":
    case "func":
    case "var":
    case "decl_tag":
    case "type_tag":
      return t.type > last ? t.type : -1;
    case "array":
      return t.type > last ? t.type : t.indexType > last ? t.indexType : -1;
    case "struct":
    case "union":
      for (const m of t.members) if (m.type > last) return m.type;
      return -1;
    case "func_proto":
      if (t.returnType > last) return t.returnType;
      for (const p of t.params) if (p.type > last) return p.type;
      return -1;
    case "datasec":
      for (const v of t.vars) if (v.type > last) return v.type;
      return -1;
    default:
      return -1;
  }
}
