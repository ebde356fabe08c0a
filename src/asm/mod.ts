/**
 * The eBPF assembler: instructions and their builders for the whole
 * instruction set (ISA v1–v4), label resolution, the binary encoding in both
 * byte orders, a disassembler matching `llvm-objdump -d`, and the kernel's
 * helper, program type and attach type tables.
 *
 * ```ts
 * import { asm, assemble, disassemble, R0, R1, R2, R10 } from "@denobpf/ebpf/asm";
 *
 * const prog = [
 *   asm.stw(R10, -4, 0),
 *   asm.mov64(R2, R10),
 *   asm.add64(R2, -4),
 *   asm.loadMapPtr(R1, "counts"),
 *   asm.call("map_lookup_elem"),
 *   asm.jeq(R0, 0, "out"),
 *   asm.mov64(R1, 1),
 *   asm.atomicAdd64(R0, 0, R1),
 *   asm.mov64(R0, 0).withSymbol("out"),
 *   asm.exit(),
 * ];
 * const { bytes, references } = assemble(prog);
 * // references: [{ name: "counts", kind: "map", index: 3, slot: 3 }]
 * console.log(disassemble(bytes).join("\n"));
 * ```
 *
 * @module
 */

export * as asm from "./builders.ts";
export type { AddrSpaceCastOptions, KfuncCallOptions, Operand, Target } from "./builders.ts";
export {
  Assembler,
  type AssemblerConstructor,
  type AssemblerMethods,
  type BuilderName,
  type Builders,
} from "./assembler.ts";
export {
  assemble,
  type AssembleOptions,
  type AssembleResult,
  type ReferenceKind,
  type UnresolvedReference,
} from "./assemble.ts";
export { type ByteOrderOptions, decode, encode } from "./encoding.ts";
export { disassemble, type DisassembleOptions, type DisassemblySymbol } from "./disasm.ts";
export {
  DuplicateLabelError,
  JumpOutOfRangeError,
  type JumpOutOfRangeErrorOptions,
  UnknownLabelError,
  type UnknownLabelErrorOptions,
} from "./errors.ts";
export {
  formatInstruction,
  type InstructionFields,
  type LlvmText,
  llvmText,
  type LlvmTextOptions,
} from "./format.ts";
export { Helper, HELPER_MAX_ID, helperId, type HelperName, helperName } from "./helpers.ts";
export {
  findSymbol,
  formatInstructions,
  type FormatOptions,
  Instruction,
  type InstructionInit,
  type Instructions,
  referencesTo,
  slotCount,
  slotOffsets,
  type SourceInfo,
  symbolOffsets,
} from "./instruction.ts";
export {
  AluOp,
  AtomicOp,
  Class,
  Endian,
  isAluClass,
  isJmpClass,
  isLoadStoreClass,
  JCond,
  JmpOp,
  Mode,
  MovOffset,
  OP_LDDW,
  opClass,
  Pseudo,
  Size,
  sizeBytes,
  Source,
} from "./opcode.ts";
export {
  R0,
  R1,
  R10,
  R2,
  R3,
  R4,
  R5,
  R6,
  R7,
  R8,
  R9,
  Register,
  REGISTERS,
  RFP,
} from "./register.ts";
export {
  AttachType,
  type AttachTypeName,
  attachTypeName,
  LinkType,
  type LinkTypeName,
  linkTypeName,
  ProgramType,
  type ProgramTypeName,
  programTypeName,
} from "./types.ts";
// The base classes of the errors above, for `instanceof` checks by users of
// this entry alone.
export { EbpfError, InvalidArgumentError, NotFoundError } from "../errors.ts";
