/**
 * `struct bpf_prog_info`, read with BPF_OBJ_GET_INFO_BY_FD: what the kernel
 * knows about a loaded program.
 *
 * @module
 */

import { PROG_INFO } from "../sys/abi.ts";
import { addressOf } from "../sys/bpf.ts";
import { objInfo } from "../sys/obj.ts";
import { attachTypeLabel, FIXED_ATTACH_TYPES, programTypeLabel } from "./_tables.ts";

/** What the kernel reports about a loaded program. */
export interface ProgramInfo {
  /** The program type number. */
  type: number;
  /** The program type's name, e.g. `"xdp"`. */
  typeName: string;
  /**
   * The expected attach type the program was loaded with, where it can be
   * told. `struct bpf_prog_info` has no field for it (through Linux 6.18 at
   * least), so it is known only for program types that have a single valid
   * attach type (sk_lookup, netfilter), and, from `Program.info()`, when the
   * `Program` knows it (it loaded the program, or was told when opened);
   * otherwise `undefined`.
   */
  attachType?: number;
  /** The name of {@linkcode ProgramInfo.attachType}, e.g. `"sk_lookup"`. */
  attachTypeName?: string;
  /** The kernel-wide program id. */
  id: number;
  /** The program tag (a hash of the instructions), 16 hex digits as `bpftool` shows it. */
  tag: string;
  /** The name given at load (at most 15 characters). */
  name: string;
  /** When the program was loaded, in nanoseconds since boot (CLOCK_BOOTTIME). */
  loadTime: bigint;
  /** The uid of the process that loaded it. */
  uid: number;
  /** Size in bytes of the instructions after the verifier's rewrites. */
  xlatedSize: number;
  /** Size in bytes of the JIT-compiled code (0 if not JITed). */
  jitedSize: number;
  /** Ids of the maps the program uses. */
  mapIds: number[];
  /** Id of the program's BTF object (0 if none). */
  btfId: number;
  /** True if the license is GPL-compatible. */
  gplCompatible: boolean;
  /** The device the program is offloaded to (0 if none). */
  ifindex: number;
  /** Total run time in ns (counted only while run-time statistics are enabled). */
  runTimeNs: bigint;
  /** Number of runs (counted only while run-time statistics are enabled). */
  runCnt: bigint;
  /** Runs skipped because the program was already running on the CPU. */
  recursionMisses: bigint;
  /** Instructions the verifier processed. */
  verifiedInsns: number;
  /** Id of the BTF object holding `attachBtfId` (0 if none). */
  attachBtfObjId: number;
  /** The BTF type id the program attaches to (0 if none). */
  attachBtfId: number;
  /** Number of func_info records. */
  funcInfoCount: number;
  /** Number of line_info records. */
  lineInfoCount: number;
}

/** `sizeof(struct bpf_prog_info)` in the UAPI header this library follows. */
const PROG_INFO_SIZE = PROG_INFO.size;

/** Byte offsets of the `struct bpf_prog_info` fields read here (the layout is in src/sys/abi.ts). */
type Offsets = { readonly [K in keyof typeof PROG_INFO.fields]: number };
let offsets: Offsets | undefined;

/** The offsets, built on first use (not when the module is loaded). */
function fieldOffsets(): Offsets {
  return offsets ??= Object.fromEntries(
    Object.entries(PROG_INFO.fields).map(([k, [off]]) => [k, off]),
  ) as Offsets;
}

function readRaw(fd: number, fill?: (dv: DataView) => void): DataView {
  const buf = new Uint8Array(PROG_INFO_SIZE);
  const dv = new DataView(buf.buffer);
  fill?.(dv);
  objInfo(fd, buf);
  return dv;
}

function hex(bytes: Uint8Array): string {
  return Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
}

function cstr(bytes: Uint8Array): string {
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(end < 0 ? bytes : bytes.subarray(0, end));
}

/** Reads `struct bpf_prog_info` for the program behind `fd`, including its map ids. */
export function readProgramInfo(fd: number): ProgramInfo {
  const O = fieldOffsets();
  const dv = readRaw(fd);
  const bytes = new Uint8Array(dv.buffer);
  const nrMaps = dv.getUint32(O.nrMapIds, true);
  let mapIds: number[] = [];
  if (nrMaps > 0) {
    const ids = new Uint32Array(nrMaps);
    const dv2 = readRaw(fd, (d) => {
      d.setUint32(O.nrMapIds, nrMaps, true);
      d.setBigUint64(O.mapIds, addressOf(ids), true);
    });
    mapIds = Array.from(ids.subarray(0, Math.min(nrMaps, dv2.getUint32(O.nrMapIds, true))));
  }
  const type = dv.getUint32(O.type, true);
  const attachType = FIXED_ATTACH_TYPES[type];
  return {
    type,
    typeName: programTypeLabel(type),
    attachType,
    attachTypeName: attachType === undefined ? undefined : attachTypeLabel(attachType),
    id: dv.getUint32(O.id, true),
    tag: hex(bytes.subarray(O.tag, O.tag + 8)),
    name: cstr(bytes.subarray(O.name, O.name + 16)),
    loadTime: dv.getBigUint64(O.loadTime, true),
    uid: dv.getUint32(O.createdByUid, true),
    xlatedSize: dv.getUint32(O.xlatedProgLen, true),
    jitedSize: dv.getUint32(O.jitedProgLen, true),
    mapIds,
    btfId: dv.getUint32(O.btfId, true),
    gplCompatible: (dv.getUint32(O.gplCompatible, true) & 1) === 1,
    ifindex: dv.getUint32(O.ifindex, true),
    runTimeNs: dv.getBigUint64(O.runTimeNs, true),
    runCnt: dv.getBigUint64(O.runCnt, true),
    recursionMisses: dv.getBigUint64(O.recursionMisses, true),
    verifiedInsns: dv.getUint32(O.verifiedInsns, true),
    attachBtfObjId: dv.getUint32(O.attachBtfObjId, true),
    attachBtfId: dv.getUint32(O.attachBtfId, true),
    funcInfoCount: dv.getUint32(O.nrFuncInfo, true),
    lineInfoCount: dv.getUint32(O.nrLineInfo, true),
  };
}

/** The program type number of `fd` (throws a SyscallError if `fd` is not a BPF object). */
export function readProgramType(fd: number): { type: number; name: string } {
  const O = fieldOffsets();
  const dv = readRaw(fd);
  return {
    type: dv.getUint32(O.type, true),
    name: cstr(new Uint8Array(dv.buffer, O.name, 16)),
  };
}

function readCode(fd: number, lenOff: number, ptrOff: number): Uint8Array {
  const len = readRaw(fd).getUint32(lenOff, true);
  if (len === 0) return new Uint8Array(0);
  const out = new Uint8Array(len);
  const dv = readRaw(fd, (d) => {
    d.setUint32(lenOff, len, true);
    d.setBigUint64(ptrOff, addressOf(out), true);
  });
  return out.subarray(0, Math.min(len, dv.getUint32(lenOff, true)));
}

/** The instructions as the verifier rewrote them (`xlated_prog_insns`). */
export function readXlated(fd: number): Uint8Array {
  const O = fieldOffsets();
  return readCode(fd, O.xlatedProgLen, O.xlatedProgInsns);
}

/** The JIT-compiled machine code (`jited_prog_insns`); empty if the program is not JITed. */
export function readJited(fd: number): Uint8Array {
  const O = fieldOffsets();
  return readCode(fd, O.jitedProgLen, O.jitedProgInsns);
}
