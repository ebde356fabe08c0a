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

/** Instruction classes (the low 3 bits of the opcode). */
export const Class = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  JMP32: 0x06,
  ALU64: 0x07,
} as const;

/** Operand source bit of ALU/JMP opcodes: immediate (`K`) or register (`X`). */
export const Source = { K: 0x00, X: 0x08 } as const;

/**
 * Byte-order direction of `BPF_END` (the source bit): `TO_LE` (0) and
 * `TO_BE` (8) in class ALU; in class ALU64 only `TO_LE` is defined and means
 * an unconditional byte swap (`bswap`, ISA v4).
 */
export const Endian = { TO_LE: 0x00, TO_BE: 0x08 } as const;

/** ALU operations (the high 4 bits of an ALU/ALU64 opcode). */
export const AluOp = {
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  MOV: 0xb0,
  ARSH: 0xc0,
  END: 0xd0,
} as const;

/** Jump operations (the high 4 bits of a JMP/JMP32 opcode). */
export const JmpOp = {
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  JNE: 0x50,
  JSGT: 0x60,
  JSGE: 0x70,
  CALL: 0x80,
  EXIT: 0x90,
  JLT: 0xa0,
  JLE: 0xb0,
  JSLT: 0xc0,
  JSLE: 0xd0,
  JCOND: 0xe0,
} as const;

/** Access sizes of load/store opcodes (bits 3–4). */
export const Size = { W: 0x00, H: 0x08, B: 0x10, DW: 0x18 } as const;

/** Addressing modes of load/store opcodes (the high 3 bits). */
export const Mode = {
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  MEMSX: 0x80,
  ATOMIC: 0xc0,
} as const;

/**
 * Atomic operations, in the `imm` field of `STX | ATOMIC` instructions.
 * `FETCH` is or-ed into ADD/OR/AND/XOR to return the old value; XCHG and
 * CMPXCHG always include it. `LOAD_ACQ`/`STORE_REL` are load-acquire and
 * store-release (Linux 6.15).
 */
export const AtomicOp = {
  ADD: 0x00,
  OR: 0x40,
  AND: 0x50,
  XOR: 0xa0,
  FETCH: 0x01,
  XCHG: 0xe1,
  CMPXCHG: 0xf1,
  LOAD_ACQ: 0x100,
  STORE_REL: 0x110,
} as const;

/**
 * Values of the `src` field that give a 64-bit immediate load (`lddw`) or a
 * call a special meaning (`BPF_PSEUDO_*`).
 */
export const Pseudo = {
  /** lddw: `imm` is a map fd; the register gets the map's address. */
  MAP_FD: 1,
  /** lddw: `imm` is a map fd, the second `imm` an offset into its value. */
  MAP_VALUE: 2,
  /** lddw: `imm` is a BTF id of a kernel variable (ksym). */
  BTF_ID: 3,
  /** lddw: `imm` is the instruction offset of a bpf-to-bpf function. */
  FUNC: 4,
  /** lddw: `imm` is an index into `fd_array`. */
  MAP_IDX: 5,
  /** lddw: `imm` is an index into `fd_array`, the second `imm` an offset. */
  MAP_IDX_VALUE: 6,
  /** call: `imm` is the instruction offset of a bpf-to-bpf function. */
  CALL: 1,
  /** call: `imm` is the BTF id of a kfunc, `offset` an index into `fd_array`. */
  KFUNC_CALL: 2,
} as const;

/** Offset values of `ALU64 | MOV | X` (and `ALU | MOV | X`) beyond 0. */
export const MovOffset = {
  /** `addr_space_cast` (arena pointers, Linux 6.9). */
  ADDR_SPACE_CAST: 1,
} as const;

/** `src` values of `JMP | JCOND` (Linux 6.9). */
export const JCond = { MAY_GOTO: 0 } as const;

/** The opcode of the 16-byte `lddw` instruction (`LD | IMM | DW`). */
export const OP_LDDW = 0x18;

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
