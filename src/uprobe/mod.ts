/**
 * Locating uprobes in user-space binaries: library and binary paths by
 * name, function symbols to file offsets (PIE and shared libraries too),
 * and USDT probes (`.note.stapsdt`) with their semaphores and argument specs.
 *
 * @example
 * ```ts
 * import { readUsdtProbes, resolveBinaryPath, symbolOffset } from "@denobpf/ebpf/uprobe";
 *
 * const { offset } = symbolOffset("/usr/bin/bash", "readline");
 * const libc = resolveBinaryPath("libc.so.6");
 * console.log(offset, libc, readUsdtProbes(libc).map((p) => `${p.provider}:${p.name}`));
 * ```
 *
 * @module
 */

export * from "./resolve.ts";
export * from "./usdt.ts";
// The base classes of the errors above, for `instanceof` checks by users of
// this entry alone.
export { EbpfError, NotFoundError, ParseError } from "../errors.ts";
// The types this entry's API refers to, so that it is complete on its own.
export type {
  ElfFile,
  ElfHeader,
  ElfNote,
  ElfProgramHeader,
  ElfRelocation,
  ElfSection,
  ElfSymbol,
} from "../elf/mod.ts";
