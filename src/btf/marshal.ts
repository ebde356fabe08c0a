/**
 * Marshalling an object's `.BTF` for BPF_BTF_LOAD: the fix-ups every
 * loader applies to clang's output, and the replacements that let older
 * kernels accept newer type kinds.
 *
 * Clang leaves some facts to the loader: DATASEC sizes (0) and the offsets
 * of their variables, which come from the ELF section sizes and symbol
 * values; `extern` variables and functions, which the kernel rejects, get
 * global linkage, and the `.kconfig`/`.ksyms` sections get the layout the
 * loader chose. For kernels without a kind (DATASEC/VAR, FLOAT, FUNC,
 * global FUNC linkage, DECL_TAG, TYPE_TAG, ENUM64) the records are replaced
 * by same-sized ones of older kinds, so type ids never change. The output
 * is in host byte order; string offsets are preserved (line info and
 * func info records keep pointing at the same strings).
 *
 * Record layouts: `include/uapi/linux/btf.h`.
 *
 * @module
 */

import { ParseError } from "../errors.ts";
import { BtfKind } from "../sys/abi.ts";
import { btfBlob, readBtfHeader } from "./blob.ts";
import { extraWordsOf } from "./spec.ts";

/** The BTF kinds a kernel may lack (all true on Linux 6.0+). */
export interface BtfFeatures {
  /** BTF_KIND_FUNC and FUNC_PROTO (4.20+). */
  func: boolean;
  /** FUNC with global linkage (5.6+). */
  funcGlobal: boolean;
  /** BTF_KIND_VAR and DATASEC (5.2+). */
  datasec: boolean;
  /** BTF_KIND_FLOAT (5.13+). */
  float: boolean;
  /** BTF_KIND_DECL_TAG (5.16+). */
  declTag: boolean;
  /** BTF_KIND_TYPE_TAG (5.17+). */
  typeTag: boolean;
  /** BTF_KIND_ENUM64 (6.0+). */
  enum64: boolean;
}

/** Every feature present. */
export const ALL_BTF_FEATURES: Readonly<BtfFeatures> = Object.freeze({
  func: true,
  funcGlobal: true,
  datasec: true,
  float: true,
  declTag: true,
  typeTag: true,
  enum64: true,
});

/** Options of {@linkcode marshalProgramBtf}. */
export interface MarshalBtfOptions {
  /** Size of each ELF section, by name: DATASEC sizes. */
  sectionSizes?: Readonly<Record<string, number>>;
  /** `"<section>/<variable>"` → offset: DATASEC variable offsets (ELF symbol values). */
  symbolOffsets?: Readonly<Record<string, number>>;
  /** The `.kconfig` layout the loader chose: total size and each extern's offset. */
  kconfig?: { size: number; offsets: Readonly<Record<string, number>> };
  /** What the target kernel supports; missing kinds are replaced. Default: everything. */
  features?: Partial<BtfFeatures>;
}

/** The marshalled blob and the ids of types the marshaller appended. */
export interface MarshalledBtf {
  /** Raw BTF in host byte order. */
  bytes: Uint8Array;
  /** How many types the marshaller appended after the object's own (0 to 2). */
  appendedTypes: number;
}

const K_INT = BtfKind.int,
  K_PTR = BtfKind.ptr,
  K_ARRAY = BtfKind.array,
  K_STRUCT = BtfKind.struct,
  K_UNION = BtfKind.union,
  K_ENUM = BtfKind.enum,
  K_TYPEDEF = BtfKind.typedef,
  K_CONST = BtfKind.const,
  K_FUNC = BtfKind.func,
  K_FUNC_PROTO = BtfKind.func_proto,
  K_VAR = BtfKind.var,
  K_DATASEC = BtfKind.datasec,
  K_FLOAT = BtfKind.float,
  K_DECL_TAG = BtfKind.decl_tag,
  K_TYPE_TAG = BtfKind.type_tag,
  K_ENUM64 = BtfKind.enum64;

function info(kind: number, vlen: number, kflag = false): number {
  return ((kflag ? 0x80000000 : 0) | (kind << 24) | (vlen & 0xffff)) >>> 0;
}

/**
 * Prepares an object's raw `.BTF` (either byte order) for BPF_BTF_LOAD.
 *
 * @throws {ParseError} when the blob is malformed.
 */
export function marshalProgramBtf(raw: Uint8Array, options: MarshalBtfOptions = {}): MarshalledBtf {
  const features = { ...ALL_BTF_FEATURES, ...options.features };
  const { littleEndian: le, hdrLen, typeOff, typeLen, strOff, strLen } = readBtfHeader(raw);
  const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
  const nw = typeLen / 4;
  const w = new Uint32Array(nw);
  for (let i = 0; i < nw; i++) w[i] = dv.getUint32(hdrLen + typeOff + i * 4, le);
  const strs = raw.slice(hdrLen + strOff, hdrLen + strOff + strLen);
  const decoder = new TextDecoder();
  const str = (off: number): string => {
    if (off >= strs.length) return "";
    const end = strs.indexOf(0, off);
    return decoder.decode(strs.subarray(off, end < 0 ? strs.length : end));
  };

  // Pass 1: record offsets, kinds and names by id.
  const at: number[] = [0]; // id → word offset (id 0 is void)
  for (let p = 0; p < nw;) {
    if (p + 3 > nw) throw new ParseError("btf", "truncated type record");
    const inf = w[p + 1];
    const e = extraWordsOf((inf >>> 24) & 0x1f, inf & 0xffff);
    if (e < 0) throw new ParseError("btf", `unknown kind ${(inf >>> 24) & 0x1f}`);
    at.push(p);
    p += 3 + e;
  }
  const count = at.length - 1;
  const kindOf = (id: number) => (id === 0 || id > count ? 0 : (w[at[id] + 1] >>> 24) & 0x1f);
  const nameOf = (id: number) => (id === 0 || id > count ? 0 : w[at[id]]);

  // Extern functions: their prototypes need named parameters.
  const protoNames = new Map<number, number>();
  for (let id = 1; id <= count; id++) {
    const p = at[id];
    if (kindOf(id) === K_FUNC && (w[p + 1] & 0xffff) === 2) protoNames.set(w[p + 2], w[p]);
  }

  // Appended types and strings.
  const extraStrs: number[] = [];
  const addString = (s: string): number => {
    const off = strs.length + extraStrs.length;
    for (const b of new TextEncoder().encode(s)) extraStrs.push(b);
    extraStrs.push(0);
    return off;
  };
  const appended: number[][] = [];
  let intId = 0;
  const int4 = (): number => {
    if (intId) return intId;
    for (let id = 1; id <= count; id++) {
      const p = at[id];
      if (kindOf(id) === K_INT && w[p + 2] === 4 && (w[p + 3] & 0xff) === 32) return intId = id;
    }
    appended.push([addString("int"), info(K_INT, 0), 4, (1 << 24) | 32]);
    return intId = count + appended.length;
  };
  let dummyVarId = 0;
  const dummyVar = (): number => {
    if (dummyVarId) return dummyVarId;
    // Without DATASEC support the section becomes a struct: an int member will do.
    if (!features.datasec) return dummyVarId = int4();
    const t = int4();
    appended.push([addString("dummy_ksym"), info(K_VAR, 0), t, 1]);
    return dummyVarId = count + appended.length;
  };
  let paramNameOff = 0;
  const paramName = (): number => paramNameOff ||= addString("param");
  let placeholderId = 0;
  const enum64Placeholder = (): number => {
    if (placeholderId) return placeholderId;
    appended.push([addString("enum64_placeholder"), info(K_INT, 0), 1, 8]);
    return placeholderId = count + appended.length;
  };
  const sizeOfType = (id: number, depth = 0): number => {
    if (depth > 32 || id === 0 || id > count) return 0;
    const p = at[id];
    switch (kindOf(id)) {
      case K_INT:
      case K_STRUCT:
      case K_UNION:
      case K_ENUM:
      case K_ENUM64:
      case K_DATASEC:
      case K_FLOAT:
        return w[p + 2];
      case K_PTR:
        return 8;
      case K_ARRAY:
        return w[p + 5] * sizeOfType(w[p + 3], depth + 1);
      case K_TYPEDEF:
      case BtfKind.volatile:
      case K_CONST:
      case BtfKind.restrict:
      case K_TYPE_TAG:
      case K_VAR:
        return sizeOfType(w[p + 2], depth + 1);
      default:
        return 0;
    }
  };

  // Every .ksyms variable, typed or not, is a fake 4-byte int to the kernel
  // (its real type is checked against the kernel's by the loader).
  for (let id = 1; id <= count; id++) {
    const p = at[id];
    if (kindOf(id) !== K_DATASEC || str(w[p]) !== ".ksyms") continue;
    for (let i = 0; i < (w[p + 1] & 0xffff); i++) {
      const v = w[p + 3 + i * 3];
      if (kindOf(v) !== K_VAR) continue;
      w[at[v] + 2] = int4();
      if (w[at[v] + 3] === 2) w[at[v] + 3] = 1;
    }
  }

  // Pass 2: emit.
  const out: number[] = [];
  for (let id = 1; id <= count; id++) {
    const p = at[id];
    const inf = w[p + 1];
    const kind = (inf >>> 24) & 0x1f;
    const vlen = inf & 0xffff;
    const kflag = inf >>> 31 === 1;
    const rec = Array.from(w.subarray(p, p + 3 + extraWordsOf(kind, vlen)));
    switch (kind) {
      case K_FUNC: {
        let linkage = vlen === 2 ? 1 : vlen; // extern → global
        if (!features.funcGlobal) linkage = 0;
        rec[1] = info(K_FUNC, linkage);
        if (!features.func) rec[1] = info(K_TYPEDEF, 0);
        break;
      }
      case K_FUNC_PROTO: {
        const name = protoNames.get(id);
        if (name !== undefined) {
          for (let i = 0; i < vlen; i++) {
            if (rec[3 + i * 2] === 0 && rec[4 + i * 2] !== 0) rec[3 + i * 2] = name;
          }
        }
        if (!features.func) {
          // An enum of the same size; its values need names.
          rec[1] = info(K_ENUM, vlen);
          rec[2] = 4;
          for (let i = 0; i < vlen; i++) {
            if (rec[3 + i * 2] === 0) rec[3 + i * 2] = paramName();
          }
        }
        break;
      }
      case K_VAR: {
        if (rec[3] === 2) rec[3] = 1; // extern → global allocated
        if (!features.datasec) {
          rec[1] = info(K_INT, 0);
          rec[2] = 1;
          rec[3] = 8;
        }
        break;
      }
      case K_DATASEC: {
        const name = str(rec[0]);
        const secinfo: [number, number, number][] = [];
        for (let i = 0; i < vlen; i++) {
          secinfo.push([rec[3 + i * 3], rec[4 + i * 3], rec[5 + i * 3]]);
        }
        let size = rec[2];
        if (name === ".ksyms") {
          let off = 0;
          for (const s of secinfo) {
            if (kindOf(s[0]) === K_FUNC) s[0] = dummyVar();
            s[1] = off;
            s[2] = 4;
            off += 4;
          }
          size = off;
        } else if (name === ".kconfig" && options.kconfig) {
          for (const s of secinfo) {
            const off = options.kconfig.offsets[str(nameOf(s[0]))];
            if (off !== undefined) s[1] = off;
          }
          size = options.kconfig.size;
        } else {
          const secSize = options.sectionSizes?.[name];
          if (secSize !== undefined) size = secSize;
          for (const s of secinfo) {
            const off = options.symbolOffsets?.[`${name}/${str(nameOf(s[0]))}`];
            if (off !== undefined) s[1] = off;
            if (s[2] === 0) s[2] = sizeOfType(s[0]);
          }
        }
        // The kernel wants variables in increasing offset order.
        secinfo.sort((a, b) => a[1] - b[1]);
        if (!features.datasec) {
          // A struct of the same shape, with a name the kernel accepts.
          const sname = name.replace(/[^A-Za-z0-9_]/g, "_");
          const nameOff = sname === name ? rec[0] : addString(sname);
          const r = [nameOff, info(K_STRUCT, secinfo.length), size];
          for (const s of secinfo) {
            if (kindOf(s[0]) === K_VAR) r.push(nameOf(s[0]), w[at[s[0]] + 2], s[1] * 8);
            else r.push(0, s[0], s[1] * 8); // the dummy int of .ksyms functions
          }
          out.push(...r);
          continue;
        }
        const r = [rec[0], info(K_DATASEC, secinfo.length), size];
        for (const s of secinfo) r.push(...s);
        out.push(...r);
        continue;
      }
      case K_FLOAT:
        if (!features.float) {
          rec[1] = info(K_STRUCT, 0);
        }
        break;
      case K_DECL_TAG:
        if (!features.declTag) {
          rec[0] = 0;
          rec[1] = info(K_INT, 0);
          rec[2] = 1;
          rec[3] = 8;
        }
        break;
      case K_TYPE_TAG:
        if (!features.typeTag) {
          rec[0] = 0;
          rec[1] = info(K_CONST, 0);
        }
        break;
      case K_ENUM:
        if (!features.enum64 && kflag) rec[1] = info(K_ENUM, vlen);
        break;
      case K_ENUM64:
        if (!features.enum64) {
          rec[1] = info(K_UNION, vlen);
          const ph = enum64Placeholder();
          for (let i = 0; i < vlen; i++) {
            rec[4 + i * 3] = ph;
            rec[5 + i * 3] = 0;
          }
        }
        break;
    }
    out.push(...rec);
  }
  for (const a of appended) out.push(...a);

  const allStrs = new Uint8Array(strs.length + extraStrs.length);
  allStrs.set(strs);
  allStrs.set(extraStrs, strs.length);
  return { bytes: btfBlob(Uint32Array.from(out), allStrs), appendedTypes: appended.length };
}
