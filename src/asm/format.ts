/**
 * Instruction text: the syntax LLVM's BPF back end prints (what
 * `llvm-objdump -d` shows), and a more readable form for
 * {@link Instruction.toString} that names helpers, maps and labels.
 *
 * @module
 */

import { helperName } from "./helpers.ts";
import { AluOp, AtomicOp, Class, JmpOp, Mode, OP_LDDW, Pseudo, Size } from "./opcode.ts";

/** The fields of one instruction, as the formatters read them. */
export interface InstructionFields {
  /** The opcode byte. */
  opcode: number;
  /** Destination register number (0–15). */
  dst: number;
  /** Source register number (0–15). */
  src: number;
  /** Signed 16-bit offset. */
  offset: number;
  /** Immediate: sign-extended 32-bit, or the whole 64-bit value of `lddw`. */
  constant: bigint;
  /** Symbol referred to (jump label, call target, map name). */
  reference?: string;
}

/** Options of {@link llvmText}. */
export interface LlvmTextOptions {
  /**
   * Print 8/16/32-bit loads, stores and atomics with `w` registers, as
   * `llvm-objdump --mattr=+alu32` does. Default false, like plain
   * `llvm-objdump -d`.
   */
  alu32?: boolean;
  /**
   * Decode exactly as LLVM 14 does: instructions it does not know (ISA v4
   * ones, `mod`, `jset`, `BPF_ST`, 32-bit atomics other than add without
   * alu32, …) give `undefined` (printed `<unknown>`), and fields it ignores
   * stay ignored (so `sdiv` reads as `/=` and `movsx` as a plain move).
   *
   * Default false: the same text wherever LLVM 14 reads an encoding right,
   * and for the rest what the instruction is, in the syntax of newer LLVM
   * releases (`r1 s/= r2`, `r1 = (s8)r2`, `r1 = bswap16 r1`, `gotol +5`,
   * `r0 = *(s8 *)(r1 + 0)`, `*(u32 *)(r10 - 4) = 1`, `w2 =
   * atomic_fetch_or((u32 *)(r1 + 0), w2)`, `r0 = load_acquire((u64 *)(r1 +
   * 0))`, `may_goto +3`, `if r1 & 8 goto +1`). Everything clang 14 emits
   * prints identically in both modes, except 32-bit atomics without alu32,
   * which LLVM 14 misprints.
   */
  llvm14?: boolean;
}

/** The result of {@link llvmText}. */
export interface LlvmText {
  /** The instruction text, e.g. `r0 = *(u32 *)(r1 + 0)`. */
  text: string;
  /**
   * For jumps: the branch offset in 8-byte slots relative to the next
   * instruction (what llvm-objdump resolves to `<symbol+0x..>`).
   */
  branch?: number;
}

const ALU_SYMBOL: Record<number, string> = {
  [AluOp.ADD]: "+=",
  [AluOp.SUB]: "-=",
  [AluOp.MUL]: "*=",
  [AluOp.DIV]: "/=",
  [AluOp.OR]: "|=",
  [AluOp.AND]: "&=",
  [AluOp.LSH]: "<<=",
  [AluOp.RSH]: ">>=",
  [AluOp.MOD]: "%=",
  [AluOp.XOR]: "^=",
  [AluOp.MOV]: "=",
  [AluOp.ARSH]: "s>>=",
};

const JMP_SYMBOL: Record<number, string> = {
  [JmpOp.JEQ]: "==",
  [JmpOp.JGT]: ">",
  [JmpOp.JGE]: ">=",
  [JmpOp.JSET]: "&",
  [JmpOp.JNE]: "!=",
  [JmpOp.JSGT]: "s>",
  [JmpOp.JSGE]: "s>=",
  [JmpOp.JLT]: "<",
  [JmpOp.JLE]: "<=",
  [JmpOp.JSLT]: "s<",
  [JmpOp.JSLE]: "s<=",
};

const ATOMIC_NAME: Record<number, string> = { 0x0: "add", 0x4: "or", 0x5: "and", 0xa: "xor" };
const ATOMIC_SYMBOL: Record<number, string> = { 0x0: "+=", 0x4: "|=", 0x5: "&=", 0xa: "^=" };

function sizeName(opcode: number, signed = false): string {
  const bits = { [Size.B]: 8, [Size.H]: 16, [Size.W]: 32, [Size.DW]: 64 }[opcode & 0x18];
  return `${signed ? "s" : "u"}${bits}`;
}

function mem(base: number, off: number): string {
  return off >= 0 ? `r${base} + ${off}` : `r${base} - ${-off}`;
}

function rel(off: number): string {
  return off >= 0 ? `+${off}` : `${off}`;
}

/**
 * The text LLVM prints for one instruction, or `undefined` where
 * llvm-objdump prints `<unknown>`. `imm` is the sign-extended 32-bit
 * immediate; `hi` the immediate of an `lddw`'s second slot.
 */
export function llvmText(
  fields: { opcode: number; dst: number; src: number; offset: number; imm: number; hi?: number },
  options: LlvmTextOptions = {},
): LlvmText | undefined {
  const { opcode, dst, src, offset: off, imm } = fields;
  const strict = options.llvm14 ?? false;
  const alu32 = options.alu32 ?? false;
  const cls = opcode & 0x07;
  const code = opcode & 0xf0;
  const isX = (opcode & 0x08) !== 0;
  switch (cls) {
    case Class.ALU:
    case Class.ALU64: {
      const p = cls === Class.ALU64 ? "r" : "w";
      if (dst > 11) return undefined;
      if (code === AluOp.NEG) return isX ? undefined : { text: `${p}${dst} = -${p}${dst}` };
      if (code === AluOp.END) {
        if (imm !== 16 && imm !== 32 && imm !== 64) return undefined;
        if (cls === Class.ALU) return { text: `r${dst} = ${isX ? "be" : "le"}${imm} r${dst}` };
        if (strict || isX) return undefined;
        return { text: `r${dst} = bswap${imm} r${dst}` };
      }
      let sym = ALU_SYMBOL[code];
      if (sym === undefined || (strict && code === AluOp.MOD)) return undefined;
      if (isX && src > 11) return undefined;
      const rhs = isX ? `${p}${src}` : `${imm}`;
      if (!strict && off !== 0) {
        if ((code === AluOp.DIV || code === AluOp.MOD) && off === 1) sym = `s${sym}`;
        else if (code === AluOp.MOV && isX) {
          if (off === 8 || off === 16 || (off === 32 && p === "r")) {
            return { text: `${p}${dst} = (s${off})${p}${src}` };
          }
          if (off === 1 && p === "r") {
            return { text: `r${dst} = addr_space_cast(r${src}, ${imm >>> 16}, ${imm & 0xffff})` };
          }
          return undefined;
        } else return undefined;
      }
      return { text: `${p}${dst} ${sym} ${rhs}` };
    }
    case Class.JMP:
    case Class.JMP32: {
      const p = cls === Class.JMP ? "r" : "w";
      if (code === JmpOp.JA) {
        if (isX) {
          return !strict && cls === Class.JMP && dst <= 11 ? { text: `gotox r${dst}` } : undefined;
        }
        if (cls === Class.JMP) return { text: `goto ${rel(off)}`, branch: off };
        return strict ? undefined : { text: `gotol ${rel(imm)}`, branch: imm };
      }
      if (code === JmpOp.CALL) {
        if (cls !== Class.JMP) return undefined;
        if (!isX) return { text: `call ${imm}` };
        return imm >= 0 && imm <= 11 ? { text: `callx r${imm}` } : undefined;
      }
      if (code === JmpOp.EXIT) {
        return cls === Class.JMP && !isX && imm === 0 ? { text: "exit" } : undefined;
      }
      if (code === JmpOp.JCOND) {
        if (strict || cls !== Class.JMP || isX || src !== 0) return undefined;
        return { text: `may_goto ${rel(off)}`, branch: off };
      }
      const sym = JMP_SYMBOL[code];
      if (sym === undefined || (strict && code === JmpOp.JSET)) return undefined;
      if (dst > 11 || (isX && src > 11)) return undefined;
      const rhs = isX ? `${p}${src}` : `${imm}`;
      return { text: `if ${p}${dst} ${sym} ${rhs} goto ${rel(off)}`, branch: off };
    }
    case Class.LD: {
      if (opcode === OP_LDDW) {
        if (off !== 0 || dst > 11) return undefined;
        if (src === 0) {
          const v = (BigInt(fields.hi ?? 0) << 32n) | BigInt(imm >>> 0);
          return { text: `r${dst} = ${BigInt.asIntN(64, v)} ll` };
        }
        return { text: `ld_pseudo\tr${dst}, ${src}, ${imm >>> 0}` };
      }
      const mode = opcode & 0xe0;
      if ((opcode & 0x18) === Size.DW) return undefined;
      if (mode === Mode.ABS) return { text: `r0 = *(${sizeName(opcode)} *)skb[${imm}]` };
      if (mode === Mode.IND) {
        return src > 11 ? undefined : { text: `r0 = *(${sizeName(opcode)} *)skb[r${src}]` };
      }
      return undefined;
    }
    case Class.LDX: {
      const mode = opcode & 0xe0;
      if (dst > 11 || src > 11) return undefined;
      const dw = (opcode & 0x18) === Size.DW;
      if (mode === Mode.MEM) {
        const p = alu32 && !dw ? "w" : "r";
        return { text: `${p}${dst} = *(${sizeName(opcode)} *)(${mem(src, off)})` };
      }
      if (mode === Mode.MEMSX && !strict && !dw) {
        return { text: `r${dst} = *(${sizeName(opcode, true)} *)(${mem(src, off)})` };
      }
      return undefined;
    }
    case Class.ST: {
      if (strict || (opcode & 0xe0) !== Mode.MEM || dst > 11) return undefined;
      return { text: `*(${sizeName(opcode)} *)(${mem(dst, off)}) = ${imm}` };
    }
    default: { // STX
      const mode = opcode & 0xe0;
      if (dst > 11 || src > 11) return undefined;
      const size = opcode & 0x18;
      if (mode === Mode.MEM) {
        const p = alu32 && size !== Size.DW ? "w" : "r";
        return { text: `*(${sizeName(opcode)} *)(${mem(dst, off)}) = ${p}${src}` };
      }
      if (mode !== Mode.ATOMIC) return undefined;
      const loadStore = !strict && (imm === AtomicOp.LOAD_ACQ || imm === AtomicOp.STORE_REL);
      if (loadStore) {
        const p = size === Size.DW ? "r" : "w";
        const ptr = `(${sizeName(opcode)} *)(${mem(imm === AtomicOp.LOAD_ACQ ? src : dst, off)})`;
        return imm === AtomicOp.LOAD_ACQ
          ? { text: `${p}${dst} = load_acquire(${ptr})` }
          : { text: `store_release(${ptr}, ${p}${src})` };
      }
      if (size !== Size.W && size !== Size.DW) return undefined;
      const hi4 = (imm >> 4) & 0xf;
      const lo4 = imm & 0xf;
      const addr = mem(dst, off);
      const width = sizeName(opcode);
      if (size === Size.W && !alu32) {
        // LLVM 14 without alu32 only knows the 32-bit add (fetch bit ignored).
        if (hi4 === 0 && (strict || lo4 !== 1)) {
          return { text: `lock *(u32 *)(${addr}) += r${src}` };
        }
        if (strict) return undefined;
      }
      const p = size === Size.DW ? "r" : "w";
      if (ATOMIC_NAME[hi4] !== undefined) {
        if (lo4 === 1) {
          return {
            text: `${p}${src} = atomic_fetch_${
              ATOMIC_NAME[hi4]
            }((${width} *)(${addr}), ${p}${src})`,
          };
        }
        return { text: `lock *(${width} *)(${addr}) ${ATOMIC_SYMBOL[hi4]} ${p}${src}` };
      }
      if (lo4 !== 1) return undefined;
      const suffix = size === Size.DW ? "_64" : "32_32";
      if (hi4 === 0xe) return { text: `${p}${src} = xchg${suffix}(${addr}, ${p}${src})` };
      if (hi4 === 0xf) return { text: `${p}0 = cmpxchg${suffix}(${addr}, ${p}0, ${p}${src})` };
      return undefined;
    }
  }
}

const PSEUDO_LDDW: Record<number, string> = {
  [Pseudo.MAP_FD]: "map",
  [Pseudo.MAP_VALUE]: "map_value",
  [Pseudo.BTF_ID]: "btf_id",
  [Pseudo.FUNC]: "func",
  [Pseudo.MAP_IDX]: "map_idx",
  [Pseudo.MAP_IDX_VALUE]: "map_idx_value",
};

/**
 * A readable one-line form of an instruction: LLVM's syntax, but helper
 * calls, map loads and symbolic jumps show names:
 * `call bpf_map_lookup_elem#1`, `r1 = map[counts] ll`,
 * `if r1 == 0 goto <out>`, `call <fn>`, `r1 = map_value[fd:5]+16 ll`,
 * `r1 = func[<fn>] ll`, `r1 = btf_id[42] ll`.
 * Encodings no ISA version defines print as `.insn <fields>`.
 */
export function formatInstruction(insn: InstructionFields): string {
  const { opcode, dst, src, offset, constant, reference } = insn;
  const imm = Number(BigInt.asIntN(32, constant));
  const cls = opcode & 0x07;
  const code = opcode & 0xf0;
  const jmp = cls === Class.JMP || cls === Class.JMP32;
  if (opcode === OP_LDDW && src !== 0 && dst <= 10 && offset === 0) {
    const kind = PSEUDO_LDDW[src];
    if (kind !== undefined) {
      const lo = Number(BigInt.asIntN(32, constant));
      const hi = Number(BigInt.asIntN(32, constant >> 32n));
      let what: string;
      if (src === Pseudo.FUNC) {
        what = reference !== undefined ? `<${reference}>` : `pc${lo >= 0 ? "+" : ""}${lo}`;
      } else if (reference !== undefined) what = reference;
      else if (src === Pseudo.MAP_FD || src === Pseudo.MAP_VALUE) what = `fd:${lo}`;
      else what = `${lo}`;
      const plus = src === Pseudo.MAP_VALUE || src === Pseudo.MAP_IDX_VALUE ? `+${hi >>> 0}` : "";
      return `r${dst} = ${kind}[${what}]${plus} ll`;
    }
  }
  if (opcode === (Class.JMP | JmpOp.CALL)) {
    if (src === 0) {
      const name = helperName(imm);
      return name !== undefined && imm !== 0 ? `call bpf_${name}#${imm}` : `call ${imm}`;
    }
    if (src === Pseudo.CALL) {
      return reference !== undefined
        ? `call <${reference}>`
        : `call pc${imm >= 0 ? "+" : ""}${imm}`;
    }
    if (src === Pseudo.KFUNC_CALL) {
      const what = reference !== undefined ? `<${reference}>` : `kfunc#${imm}`;
      return `call ${what}${offset !== 0 ? ` (fd_array[${offset}])` : ""}`;
    }
  }
  if (opcode === OP_LDDW && src === 0 && reference !== undefined) {
    return `r${dst} = <${reference}> ll`;
  }
  const hi = opcode === OP_LDDW ? Number(BigInt.asIntN(32, constant >> 32n)) : 0;
  const r = llvmText({ opcode, dst, src, offset, imm, hi });
  if (r === undefined) {
    return `.insn opcode=0x${opcode.toString(16).padStart(2, "0")} dst=${dst} src=${src} ` +
      `off=${offset} imm=${opcode === OP_LDDW ? constant : imm}`;
  }
  if (jmp && r.branch !== undefined && reference !== undefined && code !== JmpOp.CALL) {
    return r.text.replace(/(goto|gotol|may_goto) [+-]?\d+$/, `$1 <${reference}>`);
  }
  return r.text;
}
