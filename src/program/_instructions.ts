// Turns what a ProgramSpec's `instructions` holds (raw bytes, assembler
// instructions, an Assembler) into bytecode, patching the fds of maps that
// assembler instructions name (`loadMapPtr(R1, "counters")`).

import type { UnresolvedReference } from "../asm/assemble.ts";
import type { Instruction, Instructions } from "../asm/instruction.ts";
import { InvalidArgumentError } from "../errors.ts";
import { fdOf, type FdSource, type ProgramInstructions } from "./types.ts";

/** The bytes of `insns`, whole 8-byte instructions, with named maps patched in. */
export function instructionBytes(
  insns: ProgramInstructions,
  maps: Readonly<Record<string, FdSource>> = {},
): Uint8Array {
  let bytes: Uint8Array;
  let references: readonly UnresolvedReference[] = [];
  if (insns instanceof Uint8Array) {
    bytes = insns;
  } else if (Array.isArray(insns)) {
    // Instructions carry their assembler (see Instruction.assembleList):
    // loading programs from bytes never loads src/asm's assembler.
    const list = insns as Instructions;
    if (list.length === 0) bytes = new Uint8Array(0);
    else {
      const assembleList = (list[0]?.constructor as typeof Instruction | undefined)?.assembleList;
      if (assembleList === undefined) {
        throw new InvalidArgumentError(
          "program instructions: an array must hold instructions made by src/asm " +
            "(asm.mov64(…), …; import them from the asm module)",
        );
      }
      ({ bytes, references } = assembleList(list));
    }
  } else if (insns && typeof (insns as { assemble?: unknown }).assemble === "function") {
    ({ bytes, references } =
      (insns as { assemble(): { bytes: Uint8Array; references: UnresolvedReference[] } })
        .assemble());
  } else {
    throw new InvalidArgumentError(
      "program instructions must be a Uint8Array of bytecode, an array of asm instructions " +
        "or an Assembler",
    );
  }
  if (bytes.byteLength === 0 || bytes.byteLength % 8 !== 0) {
    throw new InvalidArgumentError(
      `program instructions must be a non-empty multiple of 8 bytes (got ${bytes.byteLength})`,
    );
  }
  if (references.length === 0) return bytes;
  const patched = bytes.slice();
  const dv = new DataView(patched.buffer);
  const unresolved: string[] = [];
  for (const ref of references) {
    const map = Object.hasOwn(maps, ref.name) ? maps[ref.name] : undefined;
    if ((ref.kind === "map" || ref.kind === "map_value") && map !== undefined) {
      // lddw: the low 32 bits of the immediate (first slot) hold the map fd;
      // for map_value the second slot keeps the offset.
      dv.setInt32(ref.slot * 8 + 4, fdOf(map), true);
    } else {
      unresolved.push(`${ref.name} (${ref.kind}, instruction ${ref.index})`);
    }
  }
  if (unresolved.length > 0) {
    throw new InvalidArgumentError(
      `program instructions refer to names the loader cannot resolve: ${unresolved.join(", ")}; ` +
        "give maps in the spec's `maps` ({ name: map }) or load them by fd " +
        "(kfuncs and ksyms need the ELF/BTF loader)",
    );
  }
  return patched;
}
