/**
 * Instruction builders for the whole eBPF instruction set (ISA v1–v4). Each
 * returns one {@link Instruction}; use them in an array, or through the
 * chaining {@link Assembler}.
 *
 * Registers are {@link Register} objects (`R0`–`R10`); a plain number is an
 * immediate. Jump targets are label names (resolved by `assemble`) or raw
 * offsets in slots.
 *
 * ```ts
 * import { asm, R0, R1 } from "@denobpf/ebpf/asm";
 * const prog = [
 *   asm.mov64(R0, 0),
 *   asm.ldxw(R1, R1, 0),
 *   asm.jeq(R1, 0, "out"),
 *   asm.mov64(R0, 1),
 *   asm.exit().withSymbol("out"),
 * ];
 * ```
 *
 * Names follow the kernel's: `<op>64`/`<op>32` for ALU64/ALU, `j<cond>` and
 * `j<cond>32` for JMP/JMP32, `ldx<size>`, `st<size>`, `stx<size>` with size
 * `b`/`h`/`w`/`dw`.
 *
 * @module
 */

import { InvalidArgumentError, NotFoundError } from "../errors.ts";
import { helperId } from "./helpers.ts";
import { Instruction } from "./instruction.ts";
// Instructions made here can be handed to loadProgram as an array: that
// needs the assembler loaded (it sets Instruction.assembleList).
import "./assemble.ts";
import {
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
} from "./opcode.ts";
import { Register } from "./register.ts";

/** A source operand: a register, or an immediate (a 32-bit signed or unsigned integer). */
export type Operand = Register | number;

/** A jump or call target: a label name, or a raw offset in 8-byte slots from the next instruction. */
export type Target = string | number;

function reg(r: Register, what: string): Register {
  if (!(r instanceof Register)) {
    throw new InvalidArgumentError(
      `asm: ${what} must be a register (R0–R10), got ${
        typeof r === "number" ? `the number ${r}` : String(r)
      }`,
    );
  }
  return r;
}

function alu(cls: number, op: number, dst: Register, src: Operand, offset = 0): Instruction {
  reg(dst, "destination");
  if (src instanceof Register) {
    return new Instruction({ opcode: cls | op | Source.X, dst, src, offset });
  }
  return new Instruction({ opcode: cls | op | Source.K, dst, constant: src, offset });
}

function jmp(cls: number, op: number, dst: Register, src: Operand, target: Target): Instruction {
  reg(dst, "destination");
  const opts = typeof target === "string" ? { reference: target } : { offset: target };
  if (src instanceof Register) {
    return new Instruction({ opcode: cls | op | Source.X, dst, src, ...opts });
  }
  return new Instruction({ opcode: cls | op | Source.K, dst, constant: src, ...opts });
}

function ldx(
  mode: number,
  size: number,
  dst: Register,
  src: Register,
  offset: number,
): Instruction {
  reg(dst, "destination");
  reg(src, "source");
  return new Instruction({ opcode: Class.LDX | mode | size, dst, src, offset });
}

function st(size: number, dst: Register, offset: number, imm: number): Instruction {
  reg(dst, "destination");
  return new Instruction({ opcode: Class.ST | Mode.MEM | size, dst, offset, constant: imm });
}

function stx(size: number, dst: Register, offset: number, src: Register): Instruction {
  reg(dst, "destination");
  reg(src, "source");
  return new Instruction({ opcode: Class.STX | Mode.MEM | size, dst, src, offset });
}

function atomic(
  size: number,
  op: number,
  dst: Register,
  offset: number,
  src: Register,
): Instruction {
  reg(dst, "destination");
  reg(src, "source");
  return new Instruction({
    opcode: Class.STX | Mode.ATOMIC | size,
    dst,
    src,
    offset,
    constant: op,
  });
}

function lddwPseudo(
  dst: Register,
  src: number,
  constant: bigint | number,
  reference?: string,
): Instruction {
  reg(dst, "destination");
  return new Instruction({ opcode: OP_LDDW, dst, src, constant, reference });
}

/** `dst += src` on 64-bit registers; `src` is a register or an immediate. */
export function add64(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU64, AluOp.ADD, dst, src);
}

/** `dst += src` on 32-bit subregisters (upper half zeroed); `src` is a register or an immediate. */
export function add32(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU, AluOp.ADD, dst, src);
}

/** `dst -= src` on 64-bit registers; `src` is a register or an immediate. */
export function sub64(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU64, AluOp.SUB, dst, src);
}

/** `dst -= src` on 32-bit subregisters (upper half zeroed); `src` is a register or an immediate. */
export function sub32(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU, AluOp.SUB, dst, src);
}

/** `dst *= src` on 64-bit registers; `src` is a register or an immediate. */
export function mul64(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU64, AluOp.MUL, dst, src);
}

/** `dst *= src` on 32-bit subregisters (upper half zeroed); `src` is a register or an immediate. */
export function mul32(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU, AluOp.MUL, dst, src);
}

/** `dst /= src (unsigned; division by zero gives 0)` on 64-bit registers; `src` is a register or an immediate. */
export function div64(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU64, AluOp.DIV, dst, src);
}

/** `dst /= src (unsigned; division by zero gives 0)` on 32-bit subregisters (upper half zeroed); `src` is a register or an immediate. */
export function div32(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU, AluOp.DIV, dst, src);
}

/** `dst s/= src (signed, ISA v4)` on 64-bit registers; `src` is a register or an immediate. */
export function sdiv64(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU64, AluOp.DIV, dst, src, 1);
}

/** `dst s/= src (signed, ISA v4)` on 32-bit subregisters (upper half zeroed); `src` is a register or an immediate. */
export function sdiv32(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU, AluOp.DIV, dst, src, 1);
}

/** `dst |= src` on 64-bit registers; `src` is a register or an immediate. */
export function or64(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU64, AluOp.OR, dst, src);
}

/** `dst |= src` on 32-bit subregisters (upper half zeroed); `src` is a register or an immediate. */
export function or32(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU, AluOp.OR, dst, src);
}

/** `dst &= src` on 64-bit registers; `src` is a register or an immediate. */
export function and64(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU64, AluOp.AND, dst, src);
}

/** `dst &= src` on 32-bit subregisters (upper half zeroed); `src` is a register or an immediate. */
export function and32(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU, AluOp.AND, dst, src);
}

/** `dst <<= src` on 64-bit registers; `src` is a register or an immediate. */
export function lsh64(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU64, AluOp.LSH, dst, src);
}

/** `dst <<= src` on 32-bit subregisters (upper half zeroed); `src` is a register or an immediate. */
export function lsh32(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU, AluOp.LSH, dst, src);
}

/** `dst >>= src (logical)` on 64-bit registers; `src` is a register or an immediate. */
export function rsh64(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU64, AluOp.RSH, dst, src);
}

/** `dst >>= src (logical)` on 32-bit subregisters (upper half zeroed); `src` is a register or an immediate. */
export function rsh32(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU, AluOp.RSH, dst, src);
}

/** `dst %= src (unsigned)` on 64-bit registers; `src` is a register or an immediate. */
export function mod64(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU64, AluOp.MOD, dst, src);
}

/** `dst %= src (unsigned)` on 32-bit subregisters (upper half zeroed); `src` is a register or an immediate. */
export function mod32(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU, AluOp.MOD, dst, src);
}

/** `dst s%= src (signed, ISA v4)` on 64-bit registers; `src` is a register or an immediate. */
export function smod64(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU64, AluOp.MOD, dst, src, 1);
}

/** `dst s%= src (signed, ISA v4)` on 32-bit subregisters (upper half zeroed); `src` is a register or an immediate. */
export function smod32(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU, AluOp.MOD, dst, src, 1);
}

/** `dst ^= src` on 64-bit registers; `src` is a register or an immediate. */
export function xor64(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU64, AluOp.XOR, dst, src);
}

/** `dst ^= src` on 32-bit subregisters (upper half zeroed); `src` is a register or an immediate. */
export function xor32(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU, AluOp.XOR, dst, src);
}

/** `dst = src` on 64-bit registers; `src` is a register or an immediate. */
export function mov64(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU64, AluOp.MOV, dst, src);
}

/** `dst = src` on 32-bit subregisters (upper half zeroed); `src` is a register or an immediate. */
export function mov32(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU, AluOp.MOV, dst, src);
}

/** `dst s>>= src (arithmetic)` on 64-bit registers; `src` is a register or an immediate. */
export function arsh64(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU64, AluOp.ARSH, dst, src);
}

/** `dst s>>= src (arithmetic)` on 32-bit subregisters (upper half zeroed); `src` is a register or an immediate. */
export function arsh32(dst: Register, src: Operand): Instruction {
  return alu(Class.ALU, AluOp.ARSH, dst, src);
}

/** `dst = -dst` (64-bit). */
export function neg64(dst: Register): Instruction {
  return new Instruction({ opcode: Class.ALU64 | AluOp.NEG, dst: reg(dst, "destination") });
}

/** `w_dst = -w_dst` (32-bit). */
export function neg32(dst: Register): Instruction {
  return new Instruction({ opcode: Class.ALU | AluOp.NEG, dst: reg(dst, "destination") });
}

/** `dst = (s8|s16|s32)src`: move with sign extension from the low `bits` bits (ISA v4). */
export function movsx64(dst: Register, src: Register, bits: 8 | 16 | 32): Instruction {
  if (bits !== 8 && bits !== 16 && bits !== 32) {
    throw new InvalidArgumentError(`asm: movsx64 sign-extends from 8, 16 or 32 bits, not ${bits}`);
  }
  return alu(Class.ALU64, AluOp.MOV, dst, reg(src, "source"), bits);
}

/** `w_dst = (s8|s16)w_src`: 32-bit move with sign extension (ISA v4). */
export function movsx32(dst: Register, src: Register, bits: 8 | 16): Instruction {
  if (bits !== 8 && bits !== 16) {
    throw new InvalidArgumentError(`asm: movsx32 sign-extends from 8 or 16 bits, not ${bits}`);
  }
  return alu(Class.ALU, AluOp.MOV, dst, reg(src, "source"), bits);
}

/** Address spaces of {@link addrSpaceCast}. */
export interface AddrSpaceCastOptions {
  /** Address space converted to (0 = kernel, 1 = arena user pointer). */
  to: number;
  /** Address space converted from. */
  from: number;
}

/** `dst = addr_space_cast(src, to, from)`: convert an arena pointer (Linux 6.9). */
export function addrSpaceCast(
  dst: Register,
  src: Register,
  spaces: AddrSpaceCastOptions,
): Instruction {
  reg(dst, "destination");
  reg(src, "source");
  return new Instruction({
    opcode: Class.ALU64 | AluOp.MOV | Source.X,
    dst,
    src,
    offset: MovOffset.ADDR_SPACE_CAST,
    constant: ((spaces.to & 0xffff) << 16) | (spaces.from & 0xffff),
  });
}

function end(cls: number, dir: number, dst: Register, bits: number): Instruction {
  return new Instruction({
    opcode: cls | AluOp.END | dir,
    dst: reg(dst, "destination"),
    constant: bits,
  });
}

/** `dst = le16 dst`: convert the low 16 bits from host to little-endian order (zero-extends). */
export function le16(dst: Register): Instruction {
  return end(Class.ALU, Endian.TO_LE, dst, 16);
}

/** `dst = be16 dst`: convert the low 16 bits from host to big-endian order (zero-extends). */
export function be16(dst: Register): Instruction {
  return end(Class.ALU, Endian.TO_BE, dst, 16);
}

/** `dst = bswap16 dst`: unconditional byte swap of the low 16 bits (ALU64, ISA v4). */
export function bswap16(dst: Register): Instruction {
  return end(Class.ALU64, Endian.TO_LE, dst, 16);
}

/** `dst = le32 dst`: convert the low 32 bits from host to little-endian order (zero-extends). */
export function le32(dst: Register): Instruction {
  return end(Class.ALU, Endian.TO_LE, dst, 32);
}

/** `dst = be32 dst`: convert the low 32 bits from host to big-endian order (zero-extends). */
export function be32(dst: Register): Instruction {
  return end(Class.ALU, Endian.TO_BE, dst, 32);
}

/** `dst = bswap32 dst`: unconditional byte swap of the low 32 bits (ALU64, ISA v4). */
export function bswap32(dst: Register): Instruction {
  return end(Class.ALU64, Endian.TO_LE, dst, 32);
}

/** `dst = le64 dst`: convert the low 64 bits from host to little-endian order (zero-extends). */
export function le64(dst: Register): Instruction {
  return end(Class.ALU, Endian.TO_LE, dst, 64);
}

/** `dst = be64 dst`: convert the low 64 bits from host to big-endian order (zero-extends). */
export function be64(dst: Register): Instruction {
  return end(Class.ALU, Endian.TO_BE, dst, 64);
}

/** `dst = bswap64 dst`: unconditional byte swap of the low 64 bits (ALU64, ISA v4). */
export function bswap64(dst: Register): Instruction {
  return end(Class.ALU64, Endian.TO_LE, dst, 64);
}

/** `goto target`: unconditional jump (16-bit offset). */
export function ja(target: Target): Instruction {
  return new Instruction({
    opcode: Class.JMP | JmpOp.JA,
    ...(typeof target === "string" ? { reference: target } : { offset: target }),
  });
}

/** `gotol target`: unconditional jump with a 32-bit offset in `imm` (JMP32 class, ISA v4). */
export function ja32(target: Target): Instruction {
  return new Instruction({
    opcode: Class.JMP32 | JmpOp.JA,
    ...(typeof target === "string" ? { reference: target } : { constant: target }),
  });
}

/** Alias of {@link ja32}: `gotol target`. */
export function gotol(target: Target): Instruction {
  return ja32(target);
}

/**
 * `gotox dst`: indirect jump to the instruction whose address `dst` holds
 * (taken from an instruction-array map; kernels newer than 6.18).
 */
export function gotox(dst: Register): Instruction {
  return new Instruction({ opcode: Class.JMP | JmpOp.JA | Source.X, dst: reg(dst, "destination") });
}

/** `may_goto target`: jump unless the loop budget is exhausted (Linux 6.9). */
export function mayGoto(target: Target): Instruction {
  return new Instruction({
    opcode: Class.JMP | JmpOp.JCOND,
    src: JCond.MAY_GOTO,
    ...(typeof target === "string" ? { reference: target } : { offset: target }),
  });
}

/** `if dst == src goto target` comparing 64-bit registers. */
export function jeq(dst: Register, src: Operand, target: Target): Instruction {
  return jmp(Class.JMP, JmpOp.JEQ, dst, src, target);
}

/** `if w_dst == src goto target` comparing 32-bit subregisters (JMP32). */
export function jeq32(dst: Register, src: Operand, target: Target): Instruction {
  return jmp(Class.JMP32, JmpOp.JEQ, dst, src, target);
}

/** `if dst > (unsigned) src goto target` comparing 64-bit registers. */
export function jgt(dst: Register, src: Operand, target: Target): Instruction {
  return jmp(Class.JMP, JmpOp.JGT, dst, src, target);
}

/** `if w_dst > (unsigned) src goto target` comparing 32-bit subregisters (JMP32). */
export function jgt32(dst: Register, src: Operand, target: Target): Instruction {
  return jmp(Class.JMP32, JmpOp.JGT, dst, src, target);
}

/** `if dst >= (unsigned) src goto target` comparing 64-bit registers. */
export function jge(dst: Register, src: Operand, target: Target): Instruction {
  return jmp(Class.JMP, JmpOp.JGE, dst, src, target);
}

/** `if w_dst >= (unsigned) src goto target` comparing 32-bit subregisters (JMP32). */
export function jge32(dst: Register, src: Operand, target: Target): Instruction {
  return jmp(Class.JMP32, JmpOp.JGE, dst, src, target);
}

/** `if dst & (any bit set) src goto target` comparing 64-bit registers. */
export function jset(dst: Register, src: Operand, target: Target): Instruction {
  return jmp(Class.JMP, JmpOp.JSET, dst, src, target);
}

/** `if w_dst & (any bit set) src goto target` comparing 32-bit subregisters (JMP32). */
export function jset32(dst: Register, src: Operand, target: Target): Instruction {
  return jmp(Class.JMP32, JmpOp.JSET, dst, src, target);
}

/** `if dst != src goto target` comparing 64-bit registers. */
export function jne(dst: Register, src: Operand, target: Target): Instruction {
  return jmp(Class.JMP, JmpOp.JNE, dst, src, target);
}

/** `if w_dst != src goto target` comparing 32-bit subregisters (JMP32). */
export function jne32(dst: Register, src: Operand, target: Target): Instruction {
  return jmp(Class.JMP32, JmpOp.JNE, dst, src, target);
}

/** `if dst s> (signed) src goto target` comparing 64-bit registers. */
export function jsgt(dst: Register, src: Operand, target: Target): Instruction {
  return jmp(Class.JMP, JmpOp.JSGT, dst, src, target);
}

/** `if w_dst s> (signed) src goto target` comparing 32-bit subregisters (JMP32). */
export function jsgt32(dst: Register, src: Operand, target: Target): Instruction {
  return jmp(Class.JMP32, JmpOp.JSGT, dst, src, target);
}

/** `if dst s>= (signed) src goto target` comparing 64-bit registers. */
export function jsge(dst: Register, src: Operand, target: Target): Instruction {
  return jmp(Class.JMP, JmpOp.JSGE, dst, src, target);
}

/** `if w_dst s>= (signed) src goto target` comparing 32-bit subregisters (JMP32). */
export function jsge32(dst: Register, src: Operand, target: Target): Instruction {
  return jmp(Class.JMP32, JmpOp.JSGE, dst, src, target);
}

/** `if dst < (unsigned) src goto target` comparing 64-bit registers. */
export function jlt(dst: Register, src: Operand, target: Target): Instruction {
  return jmp(Class.JMP, JmpOp.JLT, dst, src, target);
}

/** `if w_dst < (unsigned) src goto target` comparing 32-bit subregisters (JMP32). */
export function jlt32(dst: Register, src: Operand, target: Target): Instruction {
  return jmp(Class.JMP32, JmpOp.JLT, dst, src, target);
}

/** `if dst <= (unsigned) src goto target` comparing 64-bit registers. */
export function jle(dst: Register, src: Operand, target: Target): Instruction {
  return jmp(Class.JMP, JmpOp.JLE, dst, src, target);
}

/** `if w_dst <= (unsigned) src goto target` comparing 32-bit subregisters (JMP32). */
export function jle32(dst: Register, src: Operand, target: Target): Instruction {
  return jmp(Class.JMP32, JmpOp.JLE, dst, src, target);
}

/** `if dst s< (signed) src goto target` comparing 64-bit registers. */
export function jslt(dst: Register, src: Operand, target: Target): Instruction {
  return jmp(Class.JMP, JmpOp.JSLT, dst, src, target);
}

/** `if w_dst s< (signed) src goto target` comparing 32-bit subregisters (JMP32). */
export function jslt32(dst: Register, src: Operand, target: Target): Instruction {
  return jmp(Class.JMP32, JmpOp.JSLT, dst, src, target);
}

/** `if dst s<= (signed) src goto target` comparing 64-bit registers. */
export function jsle(dst: Register, src: Operand, target: Target): Instruction {
  return jmp(Class.JMP, JmpOp.JSLE, dst, src, target);
}

/** `if w_dst s<= (signed) src goto target` comparing 32-bit subregisters (JMP32). */
export function jsle32(dst: Register, src: Operand, target: Target): Instruction {
  return jmp(Class.JMP32, JmpOp.JSLE, dst, src, target);
}

/**
 * `call helper`: call a helper function by name (`"map_lookup_elem"` or
 * `"bpf_map_lookup_elem"`) or number (`Helper.map_lookup_elem`). For
 * bpf-to-bpf calls use {@link callLabel}, for kfuncs {@link callKfunc}.
 */
export function call(helper: string | number): Instruction {
  let id: number;
  if (typeof helper === "string") {
    const n = helperId(helper);
    if (n === undefined) {
      throw new NotFoundError(
        `helper ${helper}`,
        `asm: no helper function is named "${helper}"; see Helper for the names, ` +
          "use callLabel() for a bpf-to-bpf call or callKfunc() for a kfunc",
      );
    }
    id = n;
  } else id = helper;
  return new Instruction({ opcode: Class.JMP | JmpOp.CALL, constant: id });
}

/**
 * `call target`: a bpf-to-bpf call (`src = BPF_PSEUDO_CALL`) to the
 * function labelled `target` (resolved by `assemble`), or to a raw offset.
 */
export function callLabel(target: Target): Instruction {
  return new Instruction({
    opcode: Class.JMP | JmpOp.CALL,
    src: Pseudo.CALL,
    ...(typeof target === "string" ? { reference: target, constant: -1 } : { constant: target }),
  });
}

/** Options of {@link callKfunc}. */
export interface KfuncCallOptions {
  /** Index into the program's `fd_array` of the module BTF defining the kfunc (0 = vmlinux). */
  btfFdIndex?: number;
}

/**
 * `call kfunc`: call a kernel function (`src = BPF_PSEUDO_KFUNC_CALL`) by
 * BTF id, or by name (left as a reference for the loader to resolve).
 */
export function callKfunc(kfunc: number | string, options: KfuncCallOptions = {}): Instruction {
  return new Instruction({
    opcode: Class.JMP | JmpOp.CALL,
    src: Pseudo.KFUNC_CALL,
    offset: options.btfFdIndex ?? 0,
    ...(typeof kfunc === "string" ? { reference: kfunc } : { constant: kfunc }),
  });
}

/** `callx dst`: indirect call through a register (LLVM's encoding: register number in `imm`). */
export function callx(dst: Register): Instruction {
  return new Instruction({
    opcode: Class.JMP | JmpOp.CALL | Source.X,
    constant: reg(dst, "target").index,
  });
}

/** `exit`: return r0 to the caller. */
export function exit(): Instruction {
  return new Instruction({ opcode: Class.JMP | JmpOp.EXIT });
}

/** `dst = *(u8 *)(src + offset)`. */
export function ldxb(dst: Register, src: Register, offset: number): Instruction {
  return ldx(Mode.MEM, Size.B, dst, src, offset);
}

/** `dst = *(u16 *)(src + offset)`. */
export function ldxh(dst: Register, src: Register, offset: number): Instruction {
  return ldx(Mode.MEM, Size.H, dst, src, offset);
}

/** `dst = *(u32 *)(src + offset)`. */
export function ldxw(dst: Register, src: Register, offset: number): Instruction {
  return ldx(Mode.MEM, Size.W, dst, src, offset);
}

/** `dst = *(u64 *)(src + offset)`. */
export function ldxdw(dst: Register, src: Register, offset: number): Instruction {
  return ldx(Mode.MEM, Size.DW, dst, src, offset);
}

/** `dst = *(s8 *)(src + offset)`: sign-extending load (ISA v4). */
export function ldxsb(dst: Register, src: Register, offset: number): Instruction {
  return ldx(Mode.MEMSX, Size.B, dst, src, offset);
}

/** `dst = *(s16 *)(src + offset)`: sign-extending load (ISA v4). */
export function ldxsh(dst: Register, src: Register, offset: number): Instruction {
  return ldx(Mode.MEMSX, Size.H, dst, src, offset);
}

/** `dst = *(s32 *)(src + offset)`: sign-extending load (ISA v4). */
export function ldxsw(dst: Register, src: Register, offset: number): Instruction {
  return ldx(Mode.MEMSX, Size.W, dst, src, offset);
}

/** `*(u8 *)(dst + offset) = imm`. */
export function stb(dst: Register, offset: number, imm: number): Instruction {
  return st(Size.B, dst, offset, imm);
}

/** `*(u16 *)(dst + offset) = imm`. */
export function sth(dst: Register, offset: number, imm: number): Instruction {
  return st(Size.H, dst, offset, imm);
}

/** `*(u32 *)(dst + offset) = imm`. */
export function stw(dst: Register, offset: number, imm: number): Instruction {
  return st(Size.W, dst, offset, imm);
}

/** `*(u64 *)(dst + offset) = imm`. */
export function stdw(dst: Register, offset: number, imm: number): Instruction {
  return st(Size.DW, dst, offset, imm);
}

/** `*(u8 *)(dst + offset) = src`. */
export function stxb(dst: Register, offset: number, src: Register): Instruction {
  return stx(Size.B, dst, offset, src);
}

/** `*(u16 *)(dst + offset) = src`. */
export function stxh(dst: Register, offset: number, src: Register): Instruction {
  return stx(Size.H, dst, offset, src);
}

/** `*(u32 *)(dst + offset) = src`. */
export function stxw(dst: Register, offset: number, src: Register): Instruction {
  return stx(Size.W, dst, offset, src);
}

/** `*(u64 *)(dst + offset) = src`. */
export function stxdw(dst: Register, offset: number, src: Register): Instruction {
  return stx(Size.DW, dst, offset, src);
}

/** `r0 = ntoh(*(u8 *)(skb->data + imm))`: legacy packet load (socket filters). */
export function ldabsb(imm: number): Instruction {
  return new Instruction({ opcode: Class.LD | Mode.ABS | Size.B, constant: imm });
}

/** `r0 = ntoh(*(u8 *)(skb->data + src + imm))`: legacy indirect packet load. */
export function ldindb(src: Register, imm: number): Instruction {
  return new Instruction({
    opcode: Class.LD | Mode.IND | Size.B,
    src: reg(src, "source"),
    constant: imm,
  });
}

/** `r0 = ntoh(*(u16 *)(skb->data + imm))`: legacy packet load (socket filters). */
export function ldabsh(imm: number): Instruction {
  return new Instruction({ opcode: Class.LD | Mode.ABS | Size.H, constant: imm });
}

/** `r0 = ntoh(*(u16 *)(skb->data + src + imm))`: legacy indirect packet load. */
export function ldindh(src: Register, imm: number): Instruction {
  return new Instruction({
    opcode: Class.LD | Mode.IND | Size.H,
    src: reg(src, "source"),
    constant: imm,
  });
}

/** `r0 = ntoh(*(u32 *)(skb->data + imm))`: legacy packet load (socket filters). */
export function ldabsw(imm: number): Instruction {
  return new Instruction({ opcode: Class.LD | Mode.ABS | Size.W, constant: imm });
}

/** `r0 = ntoh(*(u32 *)(skb->data + src + imm))`: legacy indirect packet load. */
export function ldindw(src: Register, imm: number): Instruction {
  return new Instruction({
    opcode: Class.LD | Mode.IND | Size.W,
    src: reg(src, "source"),
    constant: imm,
  });
}

/** `lock *(u64 *)(dst + offset) += src`: atomic, without fetching the old value. */
export function atomicAdd64(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.DW, AtomicOp.ADD, dst, offset, src);
}

/** `src = atomic_fetch_add((u64 *)(dst + offset), src)`: atomic, returning the old value in `src`. */
export function atomicFetchAdd64(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.DW, AtomicOp.ADD | AtomicOp.FETCH, dst, offset, src);
}

/** `lock *(u32 *)(dst + offset) += src`: atomic, without fetching the old value. */
export function atomicAdd32(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.W, AtomicOp.ADD, dst, offset, src);
}

/** `src = atomic_fetch_add((u32 *)(dst + offset), src)`: atomic, returning the old value in `src`. */
export function atomicFetchAdd32(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.W, AtomicOp.ADD | AtomicOp.FETCH, dst, offset, src);
}

/** `lock *(u64 *)(dst + offset) |= src`: atomic, without fetching the old value. */
export function atomicOr64(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.DW, AtomicOp.OR, dst, offset, src);
}

/** `src = atomic_fetch_or((u64 *)(dst + offset), src)`: atomic, returning the old value in `src`. */
export function atomicFetchOr64(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.DW, AtomicOp.OR | AtomicOp.FETCH, dst, offset, src);
}

/** `lock *(u32 *)(dst + offset) |= src`: atomic, without fetching the old value. */
export function atomicOr32(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.W, AtomicOp.OR, dst, offset, src);
}

/** `src = atomic_fetch_or((u32 *)(dst + offset), src)`: atomic, returning the old value in `src`. */
export function atomicFetchOr32(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.W, AtomicOp.OR | AtomicOp.FETCH, dst, offset, src);
}

/** `lock *(u64 *)(dst + offset) &= src`: atomic, without fetching the old value. */
export function atomicAnd64(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.DW, AtomicOp.AND, dst, offset, src);
}

/** `src = atomic_fetch_and((u64 *)(dst + offset), src)`: atomic, returning the old value in `src`. */
export function atomicFetchAnd64(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.DW, AtomicOp.AND | AtomicOp.FETCH, dst, offset, src);
}

/** `lock *(u32 *)(dst + offset) &= src`: atomic, without fetching the old value. */
export function atomicAnd32(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.W, AtomicOp.AND, dst, offset, src);
}

/** `src = atomic_fetch_and((u32 *)(dst + offset), src)`: atomic, returning the old value in `src`. */
export function atomicFetchAnd32(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.W, AtomicOp.AND | AtomicOp.FETCH, dst, offset, src);
}

/** `lock *(u64 *)(dst + offset) ^= src`: atomic, without fetching the old value. */
export function atomicXor64(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.DW, AtomicOp.XOR, dst, offset, src);
}

/** `src = atomic_fetch_xor((u64 *)(dst + offset), src)`: atomic, returning the old value in `src`. */
export function atomicFetchXor64(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.DW, AtomicOp.XOR | AtomicOp.FETCH, dst, offset, src);
}

/** `lock *(u32 *)(dst + offset) ^= src`: atomic, without fetching the old value. */
export function atomicXor32(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.W, AtomicOp.XOR, dst, offset, src);
}

/** `src = atomic_fetch_xor((u32 *)(dst + offset), src)`: atomic, returning the old value in `src`. */
export function atomicFetchXor32(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.W, AtomicOp.XOR | AtomicOp.FETCH, dst, offset, src);
}

/** `src = xchg((u64 *)(dst + offset), src)`: atomic exchange. */
export function atomicXchg64(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.DW, AtomicOp.XCHG, dst, offset, src);
}

/** `r0 = cmpxchg((u64 *)(dst + offset), r0, src)`: compare r0 with memory; if equal store `src`; r0 gets the old value. */
export function atomicCmpxchg64(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.DW, AtomicOp.CMPXCHG, dst, offset, src);
}

/** `src = xchg((u32 *)(dst + offset), src)`: atomic exchange. */
export function atomicXchg32(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.W, AtomicOp.XCHG, dst, offset, src);
}

/** `r0 = cmpxchg((u32 *)(dst + offset), r0, src)`: compare r0 with memory; if equal store `src`; r0 gets the old value. */
export function atomicCmpxchg32(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.W, AtomicOp.CMPXCHG, dst, offset, src);
}

/** `dst = load_acquire((u8 *)(src + offset))` (Linux 6.15). */
export function loadAcquire8(dst: Register, src: Register, offset: number): Instruction {
  reg(dst, "destination");
  reg(src, "source");
  return new Instruction({
    opcode: Class.STX | Mode.ATOMIC | Size.B,
    dst,
    src,
    offset,
    constant: AtomicOp.LOAD_ACQ,
  });
}

/** `store_release((u8 *)(dst + offset), src)` (Linux 6.15). */
export function storeRelease8(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.B, AtomicOp.STORE_REL, dst, offset, src);
}

/** `dst = load_acquire((u16 *)(src + offset))` (Linux 6.15). */
export function loadAcquire16(dst: Register, src: Register, offset: number): Instruction {
  reg(dst, "destination");
  reg(src, "source");
  return new Instruction({
    opcode: Class.STX | Mode.ATOMIC | Size.H,
    dst,
    src,
    offset,
    constant: AtomicOp.LOAD_ACQ,
  });
}

/** `store_release((u16 *)(dst + offset), src)` (Linux 6.15). */
export function storeRelease16(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.H, AtomicOp.STORE_REL, dst, offset, src);
}

/** `dst = load_acquire((u32 *)(src + offset))` (Linux 6.15). */
export function loadAcquire32(dst: Register, src: Register, offset: number): Instruction {
  reg(dst, "destination");
  reg(src, "source");
  return new Instruction({
    opcode: Class.STX | Mode.ATOMIC | Size.W,
    dst,
    src,
    offset,
    constant: AtomicOp.LOAD_ACQ,
  });
}

/** `store_release((u32 *)(dst + offset), src)` (Linux 6.15). */
export function storeRelease32(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.W, AtomicOp.STORE_REL, dst, offset, src);
}

/** `dst = load_acquire((u64 *)(src + offset))` (Linux 6.15). */
export function loadAcquire64(dst: Register, src: Register, offset: number): Instruction {
  reg(dst, "destination");
  reg(src, "source");
  return new Instruction({
    opcode: Class.STX | Mode.ATOMIC | Size.DW,
    dst,
    src,
    offset,
    constant: AtomicOp.LOAD_ACQ,
  });
}

/** `store_release((u64 *)(dst + offset), src)` (Linux 6.15). */
export function storeRelease64(dst: Register, offset: number, src: Register): Instruction {
  return atomic(Size.DW, AtomicOp.STORE_REL, dst, offset, src);
}

/** `dst = value ll`: load a 64-bit immediate (two slots). */
export function lddw(dst: Register, value: bigint | number): Instruction {
  return lddwPseudo(dst, 0, value);
}

/**
 * `dst = map`: load a map pointer (`src = BPF_PSEUDO_MAP_FD`). Give the map
 * by name (a reference the loader patches with the fd; see `assemble`'s
 * `references`) or by fd.
 */
export function loadMapPtr(dst: Register, map: string | number): Instruction {
  return typeof map === "string"
    ? lddwPseudo(dst, Pseudo.MAP_FD, 0, map)
    : lddwPseudo(dst, Pseudo.MAP_FD, map);
}

/**
 * `dst = &map_value + offset`: load the address of a byte in the value of
 * an array map with one entry (`src = BPF_PSEUDO_MAP_VALUE`; global data).
 * The map is a name (patched by the loader) or an fd.
 */
export function loadMapValue(dst: Register, map: string | number, offset: number): Instruction {
  const hi = BigInt(offset >>> 0) << 32n;
  return typeof map === "string"
    ? lddwPseudo(dst, Pseudo.MAP_VALUE, hi, map)
    : lddwPseudo(dst, Pseudo.MAP_VALUE, hi | BigInt(map >>> 0));
}

/** `dst = fd_array[index]` as a map pointer (`src = BPF_PSEUDO_MAP_IDX`, Linux 5.14). */
export function loadMapIdx(dst: Register, index: number): Instruction {
  return lddwPseudo(dst, Pseudo.MAP_IDX, index);
}

/** `dst = &value of fd_array[index] + offset` (`src = BPF_PSEUDO_MAP_IDX_VALUE`). */
export function loadMapIdxValue(dst: Register, index: number, offset: number): Instruction {
  return lddwPseudo(dst, Pseudo.MAP_IDX_VALUE, (BigInt(offset >>> 0) << 32n) | BigInt(index >>> 0));
}

/**
 * `dst = &ksym`: load the address of a kernel variable by BTF id
 * (`src = BPF_PSEUDO_BTF_ID`), or by name (left for the loader).
 */
export function loadBtfId(dst: Register, ksym: number | string): Instruction {
  return typeof ksym === "string"
    ? lddwPseudo(dst, Pseudo.BTF_ID, 0, ksym)
    : lddwPseudo(dst, Pseudo.BTF_ID, ksym);
}

/** `dst = &function`: load a bpf-to-bpf function pointer (`src = BPF_PSEUDO_FUNC`) by label. */
export function loadFunc(dst: Register, target: Target): Instruction {
  return typeof target === "string"
    ? lddwPseudo(dst, Pseudo.FUNC, 0, target)
    : lddwPseudo(dst, Pseudo.FUNC, target);
}
