/**
 * Opcode fields of the eBPF instruction set (ISA v1–v4), as the kernel's
 * `Documentation/bpf/standardization/instruction-set.rst` and the UAPI
 * headers (`linux/bpf_common.h`, `linux/bpf.h`) define them.
 *
 * An opcode byte is `class | ...`: for ALU/JMP classes `op | source | class`,
 * for load/store classes `mode | size | class`.
 *
 * @module
 */

export {
  AluOp,
  AtomicOp,
  Class,
  Endian,
  JCond,
  JmpOp,
  Mode,
  MovOffset,
  OP_LDDW,
  Pseudo,
  Size,
  Source,
} from "../sys/abi.ts";
import { Class, Size } from "../sys/abi.ts";

/** The instruction class of an opcode. */
export function opClass(opcode: number): number {
  return opcode & 0x07;
}

/** Whether an opcode's class is ALU or ALU64. */
export function isAluClass(opcode: number): boolean {
  const c = opcode & 0x07;
  return c === Class.ALU || c === Class.ALU64;
}

/** Whether an opcode's class is JMP or JMP32. */
export function isJmpClass(opcode: number): boolean {
  const c = opcode & 0x07;
  return c === Class.JMP || c === Class.JMP32;
}

/** Whether an opcode's class is one of the load/store classes. */
export function isLoadStoreClass(opcode: number): boolean {
  return (opcode & 0x07) < Class.ALU;
}

/** Bytes accessed by a load/store size field. */
export function sizeBytes(opcode: number): 1 | 2 | 4 | 8 {
  switch (opcode & 0x18) {
    case Size.B:
      return 1;
    case Size.H:
      return 2;
    case Size.W:
      return 4;
    default:
      return 8;
  }
}
