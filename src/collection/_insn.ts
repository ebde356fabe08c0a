// Raw access to `struct bpf_insn` arrays (8 bytes each, in the host's
// little-endian layout: opcode, dst_reg in the low nibble and src_reg in the
// high nibble of byte 1, a 16-bit offset, a 32-bit immediate). Layout from
// linux/bpf.h and Documentation/bpf/standardization/instruction-set.rst.

import { OP_CALL, OP_EXIT, OP_LDDW, POISON_HELPER, POISON_KFUNC_BASE, Pseudo } from "../sys/abi.ts";

export { OP_CALL, OP_EXIT, OP_LDDW, POISON_HELPER, POISON_KFUNC_BASE };

/** `src_reg` of lddw: map fd. */
export const PSEUDO_MAP_FD = Pseudo.MAP_FD;
/** `src_reg` of lddw: map fd plus value offset. */
export const PSEUDO_MAP_VALUE = Pseudo.MAP_VALUE;
/** `src_reg` of lddw: BTF id of a kernel variable. */
export const PSEUDO_BTF_ID = Pseudo.BTF_ID;
/** `src_reg` of lddw: a BPF function's address. */
export const PSEUDO_FUNC = Pseudo.FUNC;
/** `src_reg` of call: a BPF-to-BPF call. */
export const PSEUDO_CALL = Pseudo.CALL;
/** `src_reg` of call: a kernel function (kfunc). */
export const PSEUDO_KFUNC_CALL = Pseudo.KFUNC_CALL;

/** A writable view of an instruction array. */
export class Insns {
  readonly bytes: Uint8Array;
  readonly dv: DataView;

  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  get length(): number {
    return this.bytes.length >>> 3;
  }

  op(i: number): number {
    return this.bytes[i * 8];
  }
  dst(i: number): number {
    return this.bytes[i * 8 + 1] & 0x0f;
  }
  src(i: number): number {
    return this.bytes[i * 8 + 1] >>> 4;
  }
  off(i: number): number {
    return this.dv.getInt16(i * 8 + 2, true);
  }
  imm(i: number): number {
    return this.dv.getInt32(i * 8 + 4, true);
  }
  setOp(i: number, op: number): void {
    this.bytes[i * 8] = op;
  }
  setSrc(i: number, src: number): void {
    this.bytes[i * 8 + 1] = (this.bytes[i * 8 + 1] & 0x0f) | (src << 4);
  }
  setDst(i: number, dst: number): void {
    this.bytes[i * 8 + 1] = (this.bytes[i * 8 + 1] & 0xf0) | (dst & 0x0f);
  }
  setOff(i: number, off: number): void {
    this.dv.setInt16(i * 8 + 2, off, true);
  }
  setImm(i: number, imm: number): void {
    this.dv.setInt32(i * 8 + 4, imm | 0, true);
  }
  /** The 64-bit immediate of the lddw at `i`. */
  imm64(i: number): bigint {
    const lo = BigInt(this.dv.getUint32(i * 8 + 4, true));
    const hi = BigInt(this.dv.getUint32(i * 8 + 12, true));
    return (hi << 32n) | lo;
  }
  /** Sets the 64-bit immediate of the lddw at `i`. */
  setImm64(i: number, v: bigint): void {
    const u = BigInt.asUintN(64, v);
    this.dv.setUint32(i * 8 + 4, Number(u & 0xffffffffn), true);
    this.dv.setUint32(i * 8 + 12, Number(u >> 32n), true);
  }
  isLdImm64(i: number): boolean {
    return this.bytes[i * 8] === OP_LDDW;
  }
  /** Replaces the instruction with `call <helper id>` (and a lddw's second half too). */
  poison(i: number, helperId: number): void {
    const wasLd = this.isLdImm64(i) && i + 1 < this.length;
    this.bytes.fill(0, i * 8, i * 8 + 8);
    this.bytes[i * 8] = OP_CALL;
    this.setImm(i, helperId);
    if (wasLd) {
      this.bytes.fill(0, i * 8 + 8, i * 8 + 16);
      this.bytes[i * 8 + 8] = OP_CALL;
      this.setImm(i + 1, helperId);
    }
  }
}

/**
 * Converts big-endian (`bpfeb`) instructions to the little-endian layout in
 * place: swaps the register nibbles and the byte order of `off` and `imm`.
 */
export function swapInsnsToLittle(bytes: Uint8Array): void {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  for (let p = 0; p + 8 <= bytes.length; p += 8) {
    const regs = bytes[p + 1];
    bytes[p + 1] = ((regs & 0x0f) << 4) | (regs >>> 4);
    dv.setInt16(p + 2, dv.getInt16(p + 2, false), true);
    dv.setInt32(p + 4, dv.getInt32(p + 4, false), true);
  }
}
