// Fixtures for the program tests and examples: a tiny eBPF instruction
// encoder (until src/asm exists) and a packet builder. Instruction
// encoding: `struct bpf_insn` of linux/bpf.h (code, dst:4 |
// src:4, off:s16, imm:s32, little-endian host).

/** One encoded instruction (8 bytes; 16 for lddw). */
export type Insn = Uint8Array;

function raw(code: number, dst: number, src: number, off: number, imm: number): Insn {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  b[0] = code;
  b[1] = ((src & 0xf) << 4) | (dst & 0xf);
  dv.setInt16(2, off, true);
  dv.setInt32(4, imm, true);
  return b;
}

/** Concatenates instructions into program bytes. */
export function program(...insns: Insn[]): Uint8Array {
  const out = new Uint8Array(insns.reduce((n, i) => n + i.length, 0));
  let o = 0;
  for (const i of insns) {
    out.set(i, o);
    o += i.length;
  }
  return out;
}

/** dst = imm (64-bit mov). */
export const movImm = (dst: number, imm: number): Insn => raw(0xb7, dst, 0, 0, imm);
/** dst = src (64-bit mov). */
export const movReg = (dst: number, src: number): Insn => raw(0xbf, dst, src, 0, 0);
/** dst += imm. */
export const addImm = (dst: number, imm: number): Insn => raw(0x07, dst, 0, 0, imm);
/** dst += src. */
export const addReg = (dst: number, src: number): Insn => raw(0x0f, dst, src, 0, 0);
/** dst -= imm. */
export const subImm = (dst: number, imm: number): Insn => raw(0x17, dst, 0, 0, imm);
/** dst = *(u32 *)(src + off). */
export const ldxW = (dst: number, src: number, off: number): Insn => raw(0x61, dst, src, off, 0);
/** dst = *(u8 *)(src + off). */
export const ldxB = (dst: number, src: number, off: number): Insn => raw(0x71, dst, src, off, 0);
/** dst = *(u64 *)(src + off). */
export const ldxDW = (dst: number, src: number, off: number): Insn => raw(0x79, dst, src, off, 0);
/** *(u32 *)(dst + off) = imm. */
export const stW = (dst: number, off: number, imm: number): Insn => raw(0x62, dst, 0, off, imm);
/** *(u8 *)(dst + off) = imm. */
export const stB = (dst: number, off: number, imm: number): Insn => raw(0x72, dst, 0, off, imm);
/** *(u64 *)(dst + off) = src. */
export const stxDW = (dst: number, off: number, src: number): Insn => raw(0x7b, dst, src, off, 0);
/** lock *(u64 *)(dst + off) += src. */
export const atomicAddDW = (dst: number, off: number, src: number): Insn =>
  raw(0xdb, dst, src, off, 0);
/** if dst == imm goto +off. */
export const jeqImm = (dst: number, imm: number, off: number): Insn => raw(0x15, dst, 0, off, imm);
/** if dst > src goto +off (unsigned). */
export const jgtReg = (dst: number, src: number, off: number): Insn => raw(0x2d, dst, src, off, 0);
/** call helper #id. */
export const call = (id: number): Insn => raw(0x85, 0, 0, 0, id);
/** exit. */
export const exit = (): Insn => raw(0x95, 0, 0, 0, 0);
/** dst = map (lddw with BPF_PSEUDO_MAP_FD), two slots. */
export const ldMapFd = (dst: number, fd: number): Insn =>
  program(raw(0x18, dst, 1, 0, fd), raw(0, 0, 0, 0, 0));

/** `r0 = value; exit`. */
export function returns(value: number): Uint8Array {
  return program(movImm(0, value), exit());
}

/**
 * A 64-byte Ethernet + IPv4 + UDP frame (10.0.0.1:1234 → 10.0.0.2:5678) with
 * a valid IPv4 header checksum and `payload` bytes of 0x42.
 */
export function buildPacket(total = 64): Uint8Array {
  const p = new Uint8Array(total);
  const dv = new DataView(p.buffer);
  p.set([0x02, 0, 0, 0, 0, 0x02], 0); // destination MAC
  p.set([0x02, 0, 0, 0, 0, 0x01], 6); // source MAC
  dv.setUint16(12, 0x0800); // EtherType IPv4
  const ip = 14;
  p[ip] = 0x45; // version 4, IHL 5
  dv.setUint16(ip + 2, total - ip); // total length
  p[ip + 8] = 64; // TTL
  p[ip + 9] = 17; // UDP
  p.set([10, 0, 0, 1], ip + 12);
  p.set([10, 0, 0, 2], ip + 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += dv.getUint16(ip + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  dv.setUint16(ip + 10, ~sum & 0xffff);
  const udp = ip + 20;
  dv.setUint16(udp, 1234);
  dv.setUint16(udp + 2, 5678);
  dv.setUint16(udp + 4, total - udp);
  p.fill(0x42, udp + 8);
  return p;
}
