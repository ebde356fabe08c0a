/**
 * Programs: describe one with a {@linkcode ProgramSpec}, load it with
 * {@linkcode loadProgram} (verifier log on failure, typed errors), and use
 * the {@linkcode Program} it returns: test runs, info, pinning, cloning.
 *
 * @example
 * ```ts
 * import { loadProgram } from "@denobpf/ebpf/program";
 * // r0 = 2 (XDP_PASS); exit
 * const insns = new Uint8Array([0xb7, 0, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
 * using prog = loadProgram({ type: "xdp", instructions: insns, name: "pass" });
 * const { retval } = await prog.testRun({ data: new Uint8Array(64) });
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./info.ts";
export * from "./load.ts";
export * from "./program.ts";
export * from "./stats.ts";
export * from "./test_run.ts";
export * from "./types.ts";
export * from "./verifier_log.ts";
// The base classes of the errors above, for `instanceof` checks by users of
// this entry alone.
export { EbpfError, InvalidArgumentError, NotSupportedError } from "../errors.ts";
// The types this entry's API refers to, so that it is complete on its own.
export type {
  AssembleResult,
  AttachType,
  AttachTypeName,
  Instruction,
  InstructionFields,
  InstructionInit,
  Instructions,
  ProgramType,
  ProgramTypeName,
  ReferenceKind,
  Register,
  SourceInfo,
  UnresolvedReference,
} from "../asm/mod.ts";
export type { FD } from "../sys/fd.ts";
export { PermissionError, SyscallError } from "../sys/error.ts";
