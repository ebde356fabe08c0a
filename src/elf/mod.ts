/**
 * A dependency-free ELF reader (ELF64 and ELF32, little- and big-endian):
 * header, section headers with names, section contents as views, symbol
 * tables, SHT_REL/SHT_RELA relocations, program headers and notes. Enough
 * for loading BPF objects and for uprobe/USDT offset computation.
 *
 * ```ts
 * import { readElfFile, SymbolType } from "@denobpf/ebpf/elf";
 * const libc = readElfFile("/usr/lib/x86_64-linux-gnu/libc.so.6");
 * const getpid = libc.dynamicSymbols().find((s) => s.name === "getpid" && s.type === SymbolType.FUNC);
 * const uprobeOffset = getpid && libc.addressToOffset(getpid.value);
 * ```
 *
 * Malformed input throws `ParseError` (format `"elf"`, with the byte offset).
 *
 * @module
 */

export {
  ElfFile,
  type ElfHeader,
  type ElfNote,
  type ElfProgramHeader,
  type ElfRelocation,
  type ElfSection,
  type ElfSymbol,
  MAX_ELF_FILE_BYTES,
  parseElf,
  readElfFile,
} from "./elf_file.ts";
export {
  BpfRelocationType,
  ElfMachine,
  ElfType,
  GnuNoteType,
  SectionFlags,
  SectionIndex,
  SectionType,
  SegmentFlags,
  SegmentType,
  SymbolBinding,
  SymbolType,
  SymbolVisibility,
} from "./constants.ts";
