/**
 * `.BTF.ext`: the per-section records clang emits next to `.BTF` — function
 * info (which BTF `FUNC` starts at which instruction), line info (source
 * file, line and column of instructions) and CO-RE relocations — and their
 * encoding for BPF_PROG_LOAD (`struct bpf_func_info`, `struct bpf_line_info`).
 *
 * Layouts from `include/uapi/linux/btf.h` and the kernel's
 * Documentation/bpf/btf.rst ("BTF.ext section"). In the object file the
 * instruction offsets are byte offsets within the ELF section; the parser
 * turns them into instruction indices, which is what the kernel expects.
 *
 * @module
 */

import { ParseError } from "../errors.ts";
import { BTF_MAGIC, type Spec } from "./spec.ts";

/** `struct bpf_func_info`: a BTF `FUNC` that starts at an instruction. */
export interface FuncInfoRecord {
  /** Instruction index (within the ELF section when parsed, within the program once linked). */
  insnOff: number;
  /** Id of the `FUNC` type in the object's BTF. */
  typeId: number;
}

/** `struct bpf_line_info`: the source position of an instruction. */
export interface LineInfoRecord {
  /** Instruction index (within the ELF section when parsed, within the program once linked). */
  insnOff: number;
  /** Offset of the file name in the BTF string section. */
  fileNameOff: number;
  /** Offset of the source line's text in the BTF string section. */
  lineOff: number;
  /** Line number (`line_col >> 10`). */
  line: number;
  /** Column (`line_col & 0x3ff`). */
  column: number;
}

/** `struct bpf_core_relo`: one CO-RE relocation as clang recorded it. */
export interface CoreRelocationRecord {
  /** Instruction index (within the ELF section when parsed, within the program once linked). */
  insnOff: number;
  /** The local (object BTF) type id the access starts from. */
  typeId: number;
  /** The access string, e.g. `"0:1:2"` (member indices), read from the BTF strings. */
  accessStr: string;
  /** `enum bpf_core_relo_kind` (see `CoreRelocationKind` in core.ts). */
  kind: number;
}

/** A parsed `.BTF.ext` section: records grouped by the ELF section they describe. */
export interface BtfExt {
  /** Function info per ELF section name. */
  readonly funcInfo: ReadonlyMap<string, readonly FuncInfoRecord[]>;
  /** Line info per ELF section name. */
  readonly lineInfo: ReadonlyMap<string, readonly LineInfoRecord[]>;
  /** CO-RE relocations per ELF section name. */
  readonly coreRelos: ReadonlyMap<string, readonly CoreRelocationRecord[]>;
  /** Whether the section was little-endian. */
  readonly littleEndian: boolean;
}

/** Size of `struct bpf_func_info`. */
export const FUNC_INFO_SIZE = 8;
/** Size of `struct bpf_line_info`. */
export const LINE_INFO_SIZE = 16;
/** Size of `struct bpf_core_relo`. */
export const CORE_RELO_SIZE = 16;

const BTF_EXT_HEADER_MIN = 24; // up to line_info_len
const BTF_EXT_HEADER_CORE = 32; // with core_relo_off/len

function fail(message: string, offset: number): never {
  throw new ParseError("btf.ext", message, { offset });
}

/**
 * Parses a `.BTF.ext` section. `btf` is the object's parsed `.BTF`, whose
 * string section holds the section names, file names, source lines and
 * CO-RE access strings the records refer to.
 *
 * @throws {ParseError} when the section is malformed.
 */
export function parseBtfExt(bytes: Uint8Array, btf: Spec): BtfExt {
  if (bytes.length < 8) fail(`truncated header: ${bytes.length} bytes`, 0);
  let le: boolean;
  if (bytes[0] === (BTF_MAGIC & 0xff) && bytes[1] === BTF_MAGIC >> 8) le = true;
  else if (bytes[0] === BTF_MAGIC >> 8 && bytes[1] === (BTF_MAGIC & 0xff)) le = false;
  else fail(`bad magic 0x${bytes[0].toString(16)}${bytes[1].toString(16)}`, 0);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (bytes[2] !== 1) fail(`unsupported version ${bytes[2]}`, 2);
  const hdrLen = dv.getUint32(4, le);
  if (hdrLen < BTF_EXT_HEADER_MIN) fail(`header length ${hdrLen} is too small`, 4);
  if (hdrLen > bytes.length) fail(`header length ${hdrLen} exceeds the section`, 4);
  const str = (off: number, at: number): string => {
    try {
      return btf.stringAt(off);
    } catch {
      return fail(`string offset ${off} is outside the BTF string section`, at);
    }
  };
  // Each info block: u32 rec_size, then {u32 sec_name_off, u32 num_info, rec[num_info]}*.
  const blocks = <T>(
    off: number,
    len: number,
    minRec: number,
    what: string,
    read: (at: number) => T,
  ): Map<string, T[]> => {
    const out = new Map<string, T[]>();
    if (len === 0) return out;
    const start = hdrLen + off;
    const end = start + len;
    if (end > bytes.length || start < hdrLen) fail(`${what} [${off}, +${len}) out of bounds`, 8);
    if (len < 4) fail(`${what}: truncated record size`, start);
    const recSize = dv.getUint32(start, le);
    if (recSize < minRec) fail(`${what}: record size ${recSize} < ${minRec}`, start);
    let p = start + 4;
    while (p < end) {
      if (p + 8 > end) fail(`${what}: truncated section header`, p);
      const name = str(dv.getUint32(p, le), p);
      const n = dv.getUint32(p + 4, le);
      p += 8;
      if (n === 0) fail(`${what}: section ${name} has no records`, p - 4);
      if (p + n * recSize > end) fail(`${what}: ${n} records of section ${name} overrun`, p);
      let list = out.get(name);
      if (!list) out.set(name, list = []);
      for (let i = 0; i < n; i++, p += recSize) list.push(read(p));
    }
    return out;
  };
  const insn = (at: number): number => {
    const off = dv.getUint32(at, le);
    if (off % 8 !== 0) fail(`instruction offset ${off} is not a multiple of 8`, at);
    return off / 8;
  };
  const funcInfo = blocks(
    dv.getUint32(8, le),
    dv.getUint32(12, le),
    FUNC_INFO_SIZE,
    "func_info",
    (at): FuncInfoRecord => ({ insnOff: insn(at), typeId: dv.getUint32(at + 4, le) }),
  );
  const lineInfo = blocks(
    dv.getUint32(16, le),
    dv.getUint32(20, le),
    LINE_INFO_SIZE,
    "line_info",
    (at): LineInfoRecord => {
      const lc = dv.getUint32(at + 12, le);
      return {
        insnOff: insn(at),
        fileNameOff: dv.getUint32(at + 4, le),
        lineOff: dv.getUint32(at + 8, le),
        line: lc >>> 10,
        column: lc & 0x3ff,
      };
    },
  );
  const coreRelos = hdrLen >= BTF_EXT_HEADER_CORE
    ? blocks(
      dv.getUint32(24, le),
      dv.getUint32(28, le),
      CORE_RELO_SIZE,
      "core_relo",
      (at): CoreRelocationRecord => ({
        insnOff: insn(at),
        typeId: dv.getUint32(at + 4, le),
        accessStr: str(dv.getUint32(at + 8, le), at + 8),
        kind: dv.getUint32(at + 12, le),
      }),
    )
    : new Map<string, CoreRelocationRecord[]>();
  return { funcInfo, lineInfo, coreRelos, littleEndian: le };
}

/** Encodes func info records as `struct bpf_func_info[]` in host byte order, for BPF_PROG_LOAD. */
export function marshalFuncInfos(records: readonly FuncInfoRecord[]): Uint8Array {
  const out = new Uint8Array(records.length * FUNC_INFO_SIZE);
  const w = new Uint32Array(out.buffer);
  for (let i = 0; i < records.length; i++) {
    w[i * 2] = records[i].insnOff;
    w[i * 2 + 1] = records[i].typeId;
  }
  return out;
}

/** Encodes line info records as `struct bpf_line_info[]` in host byte order, for BPF_PROG_LOAD. */
export function marshalLineInfos(records: readonly LineInfoRecord[]): Uint8Array {
  const out = new Uint8Array(records.length * LINE_INFO_SIZE);
  const w = new Uint32Array(out.buffer);
  for (let i = 0; i < records.length; i++) {
    const r = records[i];
    w[i * 4] = r.insnOff;
    w[i * 4 + 1] = r.fileNameOff;
    w[i * 4 + 2] = r.lineOff;
    w[i * 4 + 3] = ((r.line << 10) | (r.column & 0x3ff)) >>> 0;
  }
  return out;
}
