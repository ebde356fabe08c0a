/**
 * The {@link Instruction} type and helpers over instruction lists.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { DuplicateLabelError } from "./errors.ts";
import type { AssembleResult } from "./assemble.ts";
import { formatInstruction, type InstructionFields } from "./format.ts";
import { AluOp, Class, JmpOp, Mode, OP_LDDW, Pseudo } from "./opcode.ts";
import type { Register } from "./register.ts";

/** Where an instruction came from (a source line, for messages and listings). */
export interface SourceInfo {
  /** Source file name. */
  file?: string;
  /** 1-based line number. */
  line?: number;
  /** 1-based column. */
  column?: number;
  /** The source text of the line. */
  text?: string;
}

/** The fields to build an {@link Instruction} from; all but `opcode` default to 0/absent. */
export interface InstructionInit {
  /** The opcode byte. */
  opcode: number;
  /** Destination register (number 0–15 or a {@link Register}). */
  dst?: number | Register;
  /** Source register (number 0–15 or a {@link Register}). */
  src?: number | Register;
  /** Signed 16-bit offset. */
  offset?: number;
  /**
   * The immediate. A signed or unsigned 32-bit value for ordinary
   * instructions; any 64-bit value for `lddw`. Stored sign-extended.
   */
  constant?: bigint | number;
  /** Symbol this instruction refers to (jump label, call target, map name). */
  reference?: string;
  /** Label of this instruction. */
  symbol?: string;
  /** Source position. */
  source?: SourceInfo;
}

function regNumber(r: number | Register | undefined, what: string): number {
  if (r === undefined) return 0;
  const n = typeof r === "number" ? r : r.index;
  if (!Number.isInteger(n) || n < 0 || n > 15) {
    throw new InvalidArgumentError(`asm: ${what} register ${n} is not 0–15`);
  }
  return n;
}

/** Sign-extends or checks an immediate for an instruction with this opcode. */
function normalizeConstant(opcode: number, c: bigint | number | undefined): bigint {
  if (c === undefined) return 0n;
  let v: bigint;
  if (typeof c === "number") {
    if (!Number.isInteger(c)) {
      throw new InvalidArgumentError(`asm: immediate ${c} is not an integer`);
    }
    v = BigInt(c);
  } else v = c;
  if (opcode === OP_LDDW) {
    if (v < -(1n << 63n) || v >= 1n << 64n) {
      throw new InvalidArgumentError(`asm: 64-bit immediate ${v} does not fit in 64 bits`);
    }
    return BigInt.asIntN(64, v);
  }
  if (v < -(1n << 31n) || v >= 1n << 32n) {
    throw new InvalidArgumentError(
      `asm: immediate ${v} does not fit in 32 bits; use lddw for 64-bit constants`,
    );
  }
  return BigInt.asIntN(32, v);
}

/**
 * One eBPF instruction. An `lddw` (64-bit immediate load, two 8-byte slots
 * in the encoding) is one `Instruction` whose `constant` holds all 64 bits.
 *
 * Fields are mutable so that a loader can patch them (map fds into
 * `constant`, resolved offsets); the builders in `asm` create them.
 */
export class Instruction implements InstructionFields {
  /**
   * Assembles a list of instructions (labels resolved, encoded little
   * endian): set by `assemble.ts` when it loads, so that the program loader
   * can take instruction arrays without loading the assembler itself (every
   * way of making instructions loads it).
   *
   * @internal
   */
  static assembleList?: (insns: Instructions) => AssembleResult;

  /** The opcode byte: class, plus op/source or mode/size. */
  opcode: number;
  /** Destination register number. */
  dst: number;
  /** Source register number (or a `BPF_PSEUDO_*` value for lddw and call). */
  src: number;
  /** Signed 16-bit offset (jump distance, memory displacement, …). */
  offset: number;
  /**
   * The immediate, sign-extended to a bigint: a 32-bit value for ordinary
   * instructions, the full 64-bit value (high half from the second slot) for
   * `lddw`.
   */
  constant: bigint;
  /** A symbol this instruction refers to: a jump/call label, a map name, a kfunc or ksym. */
  reference?: string;
  /** The label of this instruction (a jump or call target, a function name). */
  symbol?: string;
  /** Where the instruction came from. */
  source?: SourceInfo;

  /** Creates an instruction; registers may be numbers or {@link Register}s. */
  constructor(init: InstructionInit) {
    const op = init.opcode;
    if (!Number.isInteger(op) || op < 0 || op > 0xff) {
      throw new InvalidArgumentError(`asm: opcode ${op} is not a byte`);
    }
    const off = init.offset ?? 0;
    if (!Number.isInteger(off) || off < -0x8000 || off > 0x7fff) {
      throw new InvalidArgumentError(`asm: offset ${off} does not fit in a signed 16-bit field`);
    }
    this.opcode = op;
    this.dst = regNumber(init.dst, "destination");
    this.src = regNumber(init.src, "source");
    this.offset = off;
    this.constant = normalizeConstant(op, init.constant);
    if (init.reference !== undefined) this.reference = init.reference;
    if (init.symbol !== undefined) this.symbol = init.symbol;
    if (init.source !== undefined) this.source = init.source;
  }

  /** The low 32 bits of the immediate, signed. */
  get imm(): number {
    return Number(BigInt.asIntN(32, this.constant));
  }
  /** Sets the immediate (for `lddw`, the whole 64-bit constant). */
  set imm(value: number) {
    this.constant = normalizeConstant(this.opcode, value);
  }

  /** Whether this is a 64-bit immediate load (`lddw`, two slots). */
  get isLoadImm64(): boolean {
    return this.opcode === OP_LDDW;
  }

  /** Number of 8-byte slots the instruction takes: 2 for `lddw`, else 1. */
  get slots(): 1 | 2 {
    return this.opcode === OP_LDDW ? 2 : 1;
  }

  /** The instruction class (`Class.*`). */
  get class(): number {
    return this.opcode & 0x07;
  }

  /** Whether this is `exit`. */
  get isExit(): boolean {
    return this.opcode === (Class.JMP | JmpOp.EXIT);
  }

  /** Whether this is a call to a helper function (by number). */
  get isHelperCall(): boolean {
    return this.opcode === (Class.JMP | JmpOp.CALL) && this.src === 0;
  }

  /** Whether this is a bpf-to-bpf call (`src` = `BPF_PSEUDO_CALL`). */
  get isFunctionCall(): boolean {
    return this.opcode === (Class.JMP | JmpOp.CALL) && this.src === Pseudo.CALL;
  }

  /** Whether this is a kfunc call (`src` = `BPF_PSEUDO_KFUNC_CALL`). */
  get isKfuncCall(): boolean {
    return this.opcode === (Class.JMP | JmpOp.CALL) && this.src === Pseudo.KFUNC_CALL;
  }

  /** Whether this is a jump with an offset: `goto`, `gotol`, conditional jumps, `may_goto` (not `gotox`). */
  get isJump(): boolean {
    const cls = this.opcode & 0x07;
    if (cls !== Class.JMP && cls !== Class.JMP32) return false;
    const code = this.opcode & 0xf0;
    if (code === JmpOp.JA && (this.opcode & 0x08) !== 0) return false; // gotox: no offset
    return code !== JmpOp.CALL && code !== JmpOp.EXIT;
  }

  /** Whether this `lddw` loads a map pointer or map value address (by fd or fd_array index). */
  get isMapLoad(): boolean {
    return this.opcode === OP_LDDW &&
      (this.src === Pseudo.MAP_FD || this.src === Pseudo.MAP_VALUE ||
        this.src === Pseudo.MAP_IDX || this.src === Pseudo.MAP_IDX_VALUE);
  }

  /** Whether this is a load or store through memory (`LDX`, `ST`, `STX` in MEM/MEMSX/ATOMIC mode). */
  get isMemoryAccess(): boolean {
    const cls = this.opcode & 0x07;
    const mode = this.opcode & 0xe0;
    return (cls === Class.LDX || cls === Class.ST || cls === Class.STX) &&
      (mode === Mode.MEM || mode === Mode.MEMSX || mode === Mode.ATOMIC);
  }

  /** Whether this is `ALU64 mov dst, imm` or `mov dst, src` with no sign extension. */
  get isMov64(): boolean {
    return (this.opcode & 0xf7) === (Class.ALU64 | AluOp.MOV) && this.offset === 0;
  }

  /** Sets the label of this instruction and returns it (for building lists inline). */
  withSymbol(name: string): this {
    this.symbol = name;
    return this;
  }

  /** Sets the symbol this instruction refers to and returns it. */
  withReference(name: string): this {
    this.reference = name;
    return this;
  }

  /** Sets the source position and returns the instruction. */
  withSource(source: SourceInfo): this {
    this.source = source;
    return this;
  }

  /** A copy, with some fields replaced. */
  clone(changes: Partial<InstructionInit> = {}): Instruction {
    return new Instruction({
      opcode: this.opcode,
      dst: this.dst,
      src: this.src,
      offset: this.offset,
      constant: this.constant,
      reference: this.reference,
      symbol: this.symbol,
      source: this.source,
      ...changes,
    });
  }

  /** Whether two instructions encode the same (metadata is ignored). */
  equals(other: InstructionFields): boolean {
    return this.opcode === other.opcode && this.dst === other.dst && this.src === other.src &&
      this.offset === other.offset && this.constant === other.constant;
  }

  /**
   * A readable one-line form in LLVM's syntax, with names for helpers, maps
   * and labels, e.g. `call bpf_map_lookup_elem#1`, `if r0 == 0 goto <out>`.
   */
  toString(): string {
    return formatInstruction(this);
  }
}

/** A list of instructions (a program or a function). */
export type Instructions = readonly Instruction[];

/** Number of 8-byte slots a list takes when encoded (`lddw` counts 2). */
export function slotCount(insns: Instructions): number {
  let n = 0;
  for (const i of insns) n += i.slots;
  return n;
}

/** The slot offset of every instruction (the index the kernel and jump offsets use). */
export function slotOffsets(insns: Instructions): number[] {
  const out = new Array<number>(insns.length);
  let n = 0;
  for (let i = 0; i < insns.length; i++) {
    out[i] = n;
    n += insns[i].slots;
  }
  return out;
}

/**
 * The slot offset of every label (`symbol`) in the list.
 * Throws {@link DuplicateLabelError} if a label is used twice.
 */
export function symbolOffsets(insns: Instructions): Map<string, number> {
  const out = new Map<string, number>();
  const index = new Map<string, number>();
  let n = 0;
  for (let i = 0; i < insns.length; i++) {
    const s = insns[i].symbol;
    if (s !== undefined) {
      const prev = index.get(s);
      if (prev !== undefined) throw new DuplicateLabelError(s, [prev, i]);
      index.set(s, i);
      out.set(s, n);
    }
    n += insns[i].slots;
  }
  return out;
}

/** Index (in the list, not slots) of the instruction labelled `name`, or -1. */
export function findSymbol(insns: Instructions, name: string): number {
  return insns.findIndex((i) => i.symbol === name);
}

/** The instructions that refer to `name` (jumps, calls, map loads), by list index. */
export function referencesTo(insns: Instructions, name: string): number[] {
  const out: number[] = [];
  for (let i = 0; i < insns.length; i++) if (insns[i].reference === name) out.push(i);
  return out;
}

/** Options of {@link formatInstructions}. */
export interface FormatOptions {
  /** Prefix each line with its slot offset (default true). */
  offsets?: boolean;
  /** Append the source line as a `; comment` when known (default true). */
  source?: boolean;
}

/**
 * A readable listing: one instruction per line, each label on a line of its
 * own (`name:`), slot offsets on the left:
 *
 * ```text
 * 0: r0 = 0
 * out:
 * 1: exit
 * ```
 */
export function formatInstructions(insns: Instructions, options: FormatOptions = {}): string {
  const lines: string[] = [];
  const offsets = options.offsets ?? true;
  const width = String(Math.max(0, slotCount(insns) - 1)).length;
  let n = 0;
  for (const insn of insns) {
    if (insn.symbol !== undefined) lines.push(`${insn.symbol}:`);
    let line = (offsets ? `${String(n).padStart(width)}: ` : "\t") + insn.toString();
    if ((options.source ?? true) && insn.source?.text !== undefined) {
      line += `\t; ${insn.source.text.trim()}`;
    }
    lines.push(line);
    n += insn.slots;
  }
  return lines.join("\n");
}
