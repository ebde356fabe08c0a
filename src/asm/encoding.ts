/**
 * The binary encoding of eBPF instructions: 8 bytes per slot
 * (`opcode, regs, offset:16, imm:32`), 16 for `lddw`. In little-endian
 * byte order the `regs` byte is `src << 4 | dst`; in big-endian it is
 * `dst << 4 | src`, and the offset and immediate are big-endian.
 *
 * @module
 */

import { InvalidArgumentError, ParseError } from "../errors.ts";
import { Instruction, type Instructions } from "./instruction.ts";
import { OP_LDDW } from "./opcode.ts";

/** Options of {@link encode} and {@link decode}. */
export interface ByteOrderOptions {
  /** Little-endian (x86, arm64, the default) or big-endian (s390x, …) byte order. */
  littleEndian?: boolean;
}

/** Writes one 8-byte slot. */
function putSlot(
  view: DataView,
  at: number,
  fields: { opcode: number; dst: number; src: number; offset: number; imm: number },
  le: boolean,
): void {
  view.setUint8(at, fields.opcode);
  view.setUint8(at + 1, le ? (fields.src << 4) | fields.dst : (fields.dst << 4) | fields.src);
  view.setInt16(at + 2, fields.offset, le);
  view.setInt32(at + 4, fields.imm, le);
}

/**
 * Encodes instructions into their raw bytes. Jump and call offsets are
 * taken as they are: run {@link assemble} first to resolve labels.
 */
export function encode(insns: Instructions, options: ByteOrderOptions = {}): Uint8Array {
  const le = options.littleEndian ?? true;
  let slots = 0;
  for (const i of insns) slots += i.slots;
  const out = new Uint8Array(slots * 8);
  const view = new DataView(out.buffer);
  let at = 0;
  for (let n = 0; n < insns.length; n++) {
    const i = insns[n];
    if (
      !(i.dst >= 0 && i.dst <= 15 && i.src >= 0 && i.src <= 15 && i.offset >= -0x8000 &&
        i.offset <= 0x7fff && i.opcode >= 0 && i.opcode <= 0xff)
    ) {
      throw new InvalidArgumentError(
        `asm: instruction ${n} (${i}) has a field out of range (dst/src 0–15, offset 16-bit)`,
      );
    }
    if (i.opcode === OP_LDDW) {
      const c = BigInt.asUintN(64, i.constant);
      putSlot(view, at, { ...i, imm: Number(BigInt.asIntN(32, c)) }, le);
      putSlot(view, at + 8, {
        opcode: 0,
        dst: 0,
        src: 0,
        offset: 0,
        imm: Number(BigInt.asIntN(32, c >> 32n)),
      }, le);
      at += 16;
    } else {
      const c = i.constant;
      if (c < -(1n << 31n) || c >= 1n << 32n) {
        throw new InvalidArgumentError(
          `asm: instruction ${n} (${i}) has an immediate beyond 32 bits; only lddw takes 64`,
        );
      }
      putSlot(view, at, { ...i, imm: Number(BigInt.asIntN(32, c)) }, le);
      at += 8;
    }
  }
  return out;
}

/**
 * Decodes raw instruction bytes. Every 8 bytes give an instruction (opcodes
 * no ISA version defines are kept as they are); `lddw` takes 16.
 *
 * Throws {@link ParseError} (format `"asm"`) when the length is not a
 * multiple of 8, when an `lddw` lacks its second half, or when that second
 * half is not a bare immediate (opcode, registers and offset must be zero,
 * as the kernel requires), so that `encode(decode(b))` always equals `b`.
 */
export function decode(bytes: Uint8Array, options: ByteOrderOptions = {}): Instruction[] {
  const le = options.littleEndian ?? true;
  if (bytes.length % 8 !== 0) {
    throw new ParseError(
      "asm",
      `instruction bytes are ${bytes.length} long, not a multiple of 8 (truncated input?)`,
      { offset: bytes.length - (bytes.length % 8) },
    );
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const out: Instruction[] = [];
  for (let at = 0; at < bytes.length; at += 8) {
    const opcode = view.getUint8(at);
    const regs = view.getUint8(at + 1);
    const dst = le ? regs & 0x0f : regs >> 4;
    const src = le ? regs >> 4 : regs & 0x0f;
    const offset = view.getInt16(at + 2, le);
    const lo = view.getInt32(at + 4, le);
    if (opcode === OP_LDDW) {
      if (at + 16 > bytes.length) {
        throw new ParseError("asm", `lddw at slot ${at / 8} is missing its second half`, {
          offset: at,
        });
      }
      if (
        view.getUint8(at + 8) !== 0 || view.getUint8(at + 9) !== 0 ||
        view.getInt16(at + 10, le) !== 0
      ) {
        throw new ParseError(
          "asm",
          `lddw at slot ${at / 8}: the second slot must have zero opcode, registers and offset`,
          { offset: at + 8 },
        );
      }
      const hi = view.getUint32(at + 12, le);
      const constant = BigInt.asIntN(64, (BigInt(hi) << 32n) | BigInt(lo >>> 0));
      out.push(new Instruction({ opcode, dst, src, offset, constant }));
      at += 8;
    } else {
      out.push(new Instruction({ opcode, dst, src, offset, constant: lo }));
    }
  }
  return out;
}
