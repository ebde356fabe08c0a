/**
 * Label resolution: turns symbolic jumps, bpf-to-bpf calls and function
 * pointer loads into offsets, and lists what is left for a loader to patch
 * (map fds, kfunc and ksym BTF ids).
 *
 * @module
 */

import { JumpOutOfRangeError, UnknownLabelError } from "./errors.ts";
import { type ByteOrderOptions, encode } from "./encoding.ts";
import { Instruction, type Instructions, symbolOffsets } from "./instruction.ts";
import { Class, JmpOp, OP_LDDW, Pseudo } from "./opcode.ts";

/** What kind of thing an unresolved reference names. */
export type ReferenceKind =
  /** `lddw` of a map pointer (`BPF_PSEUDO_MAP_FD`/`MAP_IDX`): patch the fd or index into `constant`. */
  | "map"
  /** `lddw` of a map value address (`BPF_PSEUDO_MAP_VALUE`/`MAP_IDX_VALUE`): patch the low 32 bits. */
  | "map_value"
  /** `lddw` of a kernel variable (`BPF_PSEUDO_BTF_ID`): patch the BTF id. */
  | "ksym"
  /** kfunc call (`BPF_PSEUDO_KFUNC_CALL`): patch the BTF id into `imm` (and module index into `offset`). */
  | "kfunc"
  /** Anything else that carries a `reference` the assembler does not resolve. */
  | "other";

/** A reference `assemble` left for the loader. */
export interface UnresolvedReference {
  /** The referenced name (map name, kfunc name, …). */
  name: string;
  /** What it names. */
  kind: ReferenceKind;
  /** Index of the instruction in the returned list. */
  index: number;
  /** Slot offset of the instruction (the kernel's instruction index). */
  slot: number;
}

/** The result of {@link assemble}. */
export interface AssembleResult {
  /** The instructions with jump/call offsets resolved (copies; labels and references kept). */
  instructions: Instruction[];
  /** The encoded program. */
  bytes: Uint8Array;
  /** References left for a loader (maps, kfuncs, ksyms), in program order. */
  references: UnresolvedReference[];
  /** Slot offset of every label. */
  symbols: Map<string, number>;
}

/** Options of {@link assemble}. */
export type AssembleOptions = ByteOrderOptions;

function refKind(insn: Instruction): ReferenceKind {
  if (insn.opcode === OP_LDDW) {
    switch (insn.src) {
      case Pseudo.MAP_FD:
      case Pseudo.MAP_IDX:
        return "map";
      case Pseudo.MAP_VALUE:
      case Pseudo.MAP_IDX_VALUE:
        return "map_value";
      case Pseudo.BTF_ID:
        return "ksym";
    }
    return "other";
  }
  if (insn.isKfuncCall) return "kfunc";
  return "other";
}

/**
 * Resolves labels and encodes the program.
 *
 * - A jump (`goto`, conditional jumps, `may_goto`) whose `reference` names a
 *   label gets `offset = target − (pc + 1)` (slots); `gotol` (ja32) gets it in
 *   `imm`. Offsets must fit 16 bits (32 for `gotol`), else
 *   {@link JumpOutOfRangeError}.
 * - A bpf-to-bpf call (`src = BPF_PSEUDO_CALL`) and a function pointer load
 *   (`lddw` with `src = BPF_PSEUDO_FUNC`) get `imm = target − (pc + 1)`.
 * - Map loads, kfunc calls and ksym loads by name are listed in
 *   `references` for the loader.
 *
 * Throws {@link UnknownLabelError} for a jump or call to a label no
 * instruction has, and {@link DuplicateLabelError} for a label used twice.
 */
export function assemble(insns: Instructions, options: AssembleOptions = {}): AssembleResult {
  const symbols = symbolOffsets(insns);
  const out: Instruction[] = [];
  const references: UnresolvedReference[] = [];
  let slot = 0;
  for (let index = 0; index < insns.length; index++) {
    const insn = insns[index].clone();
    const name = insn.reference;
    if (name !== undefined) {
      const cls = insn.opcode & 0x07;
      const isCall = insn.opcode === (Class.JMP | JmpOp.CALL);
      const local = insn.isJump || (isCall && insn.src === Pseudo.CALL) ||
        (insn.opcode === OP_LDDW && insn.src === Pseudo.FUNC);
      if (local) {
        const target = symbols.get(name);
        if (target === undefined) {
          throw new UnknownLabelError(name, index, { known: [...symbols.keys()] });
        }
        const distance = target - (slot + 1);
        const long = !insn.isJump || (cls === Class.JMP32 && (insn.opcode & 0xf0) === JmpOp.JA);
        if (long) {
          if (distance < -0x80000000 || distance > 0x7fffffff) {
            throw new JumpOutOfRangeError(name, { index, distance, bits: 32 });
          }
          insn.constant = BigInt(distance);
        } else {
          if (distance < -0x8000 || distance > 0x7fff) {
            throw new JumpOutOfRangeError(name, { index, distance, bits: 16 });
          }
          insn.offset = distance;
        }
      } else {
        references.push({ name, kind: refKind(insn), index, slot });
      }
    }
    out.push(insn);
    slot += insn.slots;
  }
  return { instructions: out, bytes: encode(out, options), references, symbols };
}

Instruction.assembleList = assemble;
