/**
 * ELF constants (values from the System V gABI as spelled in `<elf.h>`, and
 * the BPF relocation types from the kernel's `Documentation/bpf/llvm_reloc.rst`).
 * Only the values this library or its callers are likely to need.
 *
 * @module
 */

/** `e_type`: the kind of file. */
export const ElfType = {
  /** ET_NONE */
  NONE: 0,
  /** ET_REL: relocatable object (e.g. a BPF `.o`). */
  REL: 1,
  /** ET_EXEC: executable at fixed addresses. */
  EXEC: 2,
  /** ET_DYN: shared object or PIE. */
  DYN: 3,
  /** ET_CORE: core dump. */
  CORE: 4,
} as const;

/** `e_machine`: a few architectures. */
export const ElfMachine = {
  /** EM_NONE */
  NONE: 0,
  /** EM_386 */
  I386: 3,
  /** EM_MIPS */
  MIPS: 8,
  /** EM_PPC */
  PPC: 20,
  /** EM_PPC64 */
  PPC64: 21,
  /** EM_S390 */
  S390: 22,
  /** EM_ARM */
  ARM: 40,
  /** EM_X86_64 */
  X86_64: 62,
  /** EM_AARCH64 */
  AARCH64: 183,
  /** EM_RISCV */
  RISCV: 243,
  /** EM_BPF */
  BPF: 247,
  /** EM_LOONGARCH */
  LOONGARCH: 258,
} as const;

/** Special section indices (`st_shndx`, `e_shstrndx`). */
export const SectionIndex = {
  /** SHN_UNDEF: undefined symbol / no section. */
  UNDEF: 0,
  /** SHN_LORESERVE: start of the reserved range. */
  LORESERVE: 0xff00,
  /** SHN_ABS: absolute value. */
  ABS: 0xfff1,
  /** SHN_COMMON: common symbol. */
  COMMON: 0xfff2,
  /** SHN_XINDEX: the real index is elsewhere (SHT_SYMTAB_SHNDX, or section 0). */
  XINDEX: 0xffff,
} as const;

/** `sh_type`: section types. */
export const SectionType = {
  /** SHT_NULL */
  NULL: 0,
  /** SHT_PROGBITS */
  PROGBITS: 1,
  /** SHT_SYMTAB */
  SYMTAB: 2,
  /** SHT_STRTAB */
  STRTAB: 3,
  /** SHT_RELA: relocations with explicit addends. */
  RELA: 4,
  /** SHT_HASH */
  HASH: 5,
  /** SHT_DYNAMIC */
  DYNAMIC: 6,
  /** SHT_NOTE */
  NOTE: 7,
  /** SHT_NOBITS: occupies no file space (`.bss`). */
  NOBITS: 8,
  /** SHT_REL: relocations without addends. */
  REL: 9,
  /** SHT_SHLIB */
  SHLIB: 10,
  /** SHT_DYNSYM */
  DYNSYM: 11,
  /** SHT_INIT_ARRAY */
  INIT_ARRAY: 14,
  /** SHT_FINI_ARRAY */
  FINI_ARRAY: 15,
  /** SHT_PREINIT_ARRAY */
  PREINIT_ARRAY: 16,
  /** SHT_GROUP */
  GROUP: 17,
  /** SHT_SYMTAB_SHNDX: extended section indices of a symbol table. */
  SYMTAB_SHNDX: 18,
  /** SHT_RELR */
  RELR: 19,
  /** SHT_LLVM_ADDRSIG */
  LLVM_ADDRSIG: 0x6fff4c03,
  /** SHT_GNU_ATTRIBUTES */
  GNU_ATTRIBUTES: 0x6ffffff5,
  /** SHT_GNU_HASH */
  GNU_HASH: 0x6ffffff6,
  /** SHT_GNU_verdef */
  GNU_VERDEF: 0x6ffffffd,
  /** SHT_GNU_verneed */
  GNU_VERNEED: 0x6ffffffe,
  /** SHT_GNU_versym */
  GNU_VERSYM: 0x6fffffff,
} as const;

/** `sh_flags` bits. */
export const SectionFlags = {
  /** SHF_WRITE */
  WRITE: 0x1,
  /** SHF_ALLOC */
  ALLOC: 0x2,
  /** SHF_EXECINSTR */
  EXECINSTR: 0x4,
  /** SHF_MERGE */
  MERGE: 0x10,
  /** SHF_STRINGS */
  STRINGS: 0x20,
  /** SHF_INFO_LINK: `sh_info` holds a section index. */
  INFO_LINK: 0x40,
  /** SHF_LINK_ORDER */
  LINK_ORDER: 0x80,
  /** SHF_OS_NONCONFORMING */
  OS_NONCONFORMING: 0x100,
  /** SHF_GROUP */
  GROUP: 0x200,
  /** SHF_TLS */
  TLS: 0x400,
  /** SHF_COMPRESSED: contents start with a compression header (returned raw). */
  COMPRESSED: 0x800,
  /** SHF_EXCLUDE */
  EXCLUDE: 0x80000000,
} as const;

/** `ELF_ST_TYPE(st_info)`: symbol types. */
export const SymbolType = {
  /** STT_NOTYPE */
  NOTYPE: 0,
  /** STT_OBJECT */
  OBJECT: 1,
  /** STT_FUNC */
  FUNC: 2,
  /** STT_SECTION */
  SECTION: 3,
  /** STT_FILE */
  FILE: 4,
  /** STT_COMMON */
  COMMON: 5,
  /** STT_TLS */
  TLS: 6,
  /** STT_GNU_IFUNC */
  GNU_IFUNC: 10,
} as const;

/** `ELF_ST_BIND(st_info)`: symbol bindings. */
export const SymbolBinding = {
  /** STB_LOCAL */
  LOCAL: 0,
  /** STB_GLOBAL */
  GLOBAL: 1,
  /** STB_WEAK */
  WEAK: 2,
  /** STB_GNU_UNIQUE */
  GNU_UNIQUE: 10,
} as const;

/** `ELF_ST_VISIBILITY(st_other)`: symbol visibilities. */
export const SymbolVisibility = {
  /** STV_DEFAULT */
  DEFAULT: 0,
  /** STV_INTERNAL */
  INTERNAL: 1,
  /** STV_HIDDEN */
  HIDDEN: 2,
  /** STV_PROTECTED */
  PROTECTED: 3,
} as const;

/** `p_type`: program header (segment) types. */
export const SegmentType = {
  /** PT_NULL */
  NULL: 0,
  /** PT_LOAD */
  LOAD: 1,
  /** PT_DYNAMIC */
  DYNAMIC: 2,
  /** PT_INTERP */
  INTERP: 3,
  /** PT_NOTE */
  NOTE: 4,
  /** PT_SHLIB */
  SHLIB: 5,
  /** PT_PHDR */
  PHDR: 6,
  /** PT_TLS */
  TLS: 7,
  /** PT_GNU_EH_FRAME */
  GNU_EH_FRAME: 0x6474e550,
  /** PT_GNU_STACK */
  GNU_STACK: 0x6474e551,
  /** PT_GNU_RELRO */
  GNU_RELRO: 0x6474e552,
  /** PT_GNU_PROPERTY */
  GNU_PROPERTY: 0x6474e553,
} as const;

/** `p_flags` bits. */
export const SegmentFlags = {
  /** PF_X */
  X: 0x1,
  /** PF_W */
  W: 0x2,
  /** PF_R */
  R: 0x4,
} as const;

/** GNU note types (`n_type` of notes named "GNU"). */
export const GnuNoteType = {
  /** NT_GNU_ABI_TAG */
  ABI_TAG: 1,
  /** NT_GNU_HWCAP */
  HWCAP: 2,
  /** NT_GNU_BUILD_ID */
  BUILD_ID: 3,
  /** NT_GNU_GOLD_VERSION */
  GOLD_VERSION: 4,
  /** NT_GNU_PROPERTY_TYPE_0 */
  PROPERTY_TYPE_0: 5,
} as const;

/** Relocation types of EM_BPF objects (kernel Documentation/bpf/llvm_reloc.rst). */
export const BpfRelocationType = {
  /** R_BPF_NONE */
  NONE: 0,
  /** R_BPF_64_64: `ld_imm64` of a map or global variable address. */
  R_64_64: 1,
  /** R_BPF_64_ABS64: 64-bit data (e.g. DWARF). */
  R_64_ABS64: 2,
  /** R_BPF_64_ABS32: 32-bit data (e.g. DWARF, `.BTF.ext`). */
  R_64_ABS32: 3,
  /** R_BPF_64_NODYLD32: 32-bit data not resolved by the dynamic loader (`.BTF`, `.BTF.ext`). */
  R_64_NODYLD32: 4,
  /** R_BPF_64_32: pc-relative call to a BPF function (subprogram or kfunc). */
  R_64_32: 10,
} as const;
