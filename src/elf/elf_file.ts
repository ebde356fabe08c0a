/**
 * The ELF reader: {@link ElfFile} over a `Uint8Array`, for ELF64 and ELF32
 * files of either byte order.
 *
 * Structure layouts are those of the System V gABI (`<elf.h>`). Every offset
 * and size read from the file is checked against the file before use, and
 * every entry count is bounded by the bytes that hold the entries, so a
 * malformed blob gives a {@link ParseError} (format `"elf"`, `offset` = the
 * byte offset of the offending structure), never a RangeError or a huge
 * allocation.
 *
 * @module
 */

import { InvalidArgumentError, NotFoundError, ParseError } from "../errors.ts";
import { SectionIndex, SectionType, SegmentType } from "./constants.ts";
import { pathOf, readFile } from "../sys/file.ts";

/** The ELF file header. */
export interface ElfHeader {
  /** 64 for ELFCLASS64, 32 for ELFCLASS32. */
  class: 32 | 64;
  /** True for ELFDATA2LSB, false for ELFDATA2MSB. */
  littleEndian: boolean;
  /** `e_ident[EI_VERSION]`. */
  identVersion: number;
  /** `e_ident[EI_OSABI]`. */
  osAbi: number;
  /** `e_ident[EI_ABIVERSION]`. */
  abiVersion: number;
  /** `e_type` (see `ElfType`). */
  type: number;
  /** `e_machine` (see `ElfMachine`). */
  machine: number;
  /** `e_version`. */
  version: number;
  /** `e_entry`. */
  entry: bigint;
  /** `e_phoff`. */
  phoff: number;
  /** `e_shoff`. */
  shoff: number;
  /** `e_flags`. */
  flags: number;
  /** `e_ehsize`. */
  ehsize: number;
  /** `e_phentsize`. */
  phentsize: number;
  /** Number of program headers (`e_phnum`, or section 0's `sh_info` when it is PN_XNUM). */
  phnum: number;
  /** `e_shentsize`. */
  shentsize: number;
  /** Number of section headers (`e_shnum`, or section 0's `sh_size` when it is 0). */
  shnum: number;
  /** Index of the section-name string table (`e_shstrndx`, or section 0's `sh_link` for SHN_XINDEX). */
  shstrndx: number;
}

/** A section header, with its name resolved. */
export interface ElfSection {
  /** Index in the section header table. */
  index: number;
  /** The name from the section-name string table ("" when there is none). */
  name: string;
  /** `sh_name`: offset of the name in the section-name string table. */
  nameOffset: number;
  /** `sh_type` (see `SectionType`). */
  type: number;
  /**
   * `sh_flags` (see `SectionFlags`). The low 32 bits, where the gABI defines
   * every flag including the OS and processor masks; ELF64's upper half is unused.
   */
  flags: number;
  /** `sh_addr`. */
  addr: bigint;
  /** `sh_offset`: file offset of the contents. */
  offset: number;
  /** `sh_size`: size in bytes (in memory only, for SHT_NOBITS). */
  size: number;
  /** `sh_link`. */
  link: number;
  /** `sh_info`. */
  info: number;
  /** `sh_addralign`. */
  addralign: number;
  /** `sh_entsize`. */
  entsize: number;
}

/** A program header (segment). */
export interface ElfProgramHeader {
  /** Index in the program header table. */
  index: number;
  /** `p_type` (see `SegmentType`). */
  type: number;
  /** `p_flags` (see `SegmentFlags`). */
  flags: number;
  /** `p_offset`. */
  offset: number;
  /** `p_vaddr`. */
  vaddr: bigint;
  /** `p_paddr`. */
  paddr: bigint;
  /** `p_filesz`. */
  filesz: number;
  /** `p_memsz`. */
  memsz: bigint;
  /** `p_align`. */
  align: bigint;
}

/** A symbol table entry. */
export interface ElfSymbol {
  /** Index in its symbol table (relocations refer to symbols by this index; 0 is the null symbol). */
  index: number;
  /**
   * The name ("" for none). Section symbols (STT_SECTION) usually have no
   * name of their own; the section is `sectionIndex`. Versioned dynamic
   * symbols carry the bare name, without `@VERSION`.
   */
  name: string;
  /** `st_value`: an address (executables, shared objects) or a section offset (relocatables). */
  value: bigint;
  /** `st_size`. */
  size: bigint;
  /** `ELF_ST_TYPE(st_info)` (see `SymbolType`). */
  type: number;
  /** `ELF_ST_BIND(st_info)` (see `SymbolBinding`). */
  bind: number;
  /** `ELF_ST_VISIBILITY(st_other)` (see `SymbolVisibility`). */
  visibility: number;
  /** `st_other`, whole. */
  other: number;
  /**
   * The section the symbol is defined in, or a special index (SHN_UNDEF,
   * SHN_ABS, SHN_COMMON, see `SectionIndex`). SHN_XINDEX is resolved through
   * the SHT_SYMTAB_SHNDX section when there is one.
   */
  sectionIndex: number;
}

/** A relocation entry (from SHT_REL or SHT_RELA). */
export interface ElfRelocation {
  /** `r_offset`: offset in the target section (relocatables) or an address. */
  offset: bigint;
  /** Symbol index in the linked symbol table (`ELF64_R_SYM` / `ELF32_R_SYM`). */
  symbolIndex: number;
  /** Relocation type (`ELF64_R_TYPE` / `ELF32_R_TYPE`), machine-specific. */
  type: number;
  /** `r_addend` for SHT_RELA; absent for SHT_REL (the addend is in the target bytes). */
  addend?: bigint;
}

/** A note (from an SHT_NOTE section or a PT_NOTE segment). */
export interface ElfNote {
  /** The owner name (`"GNU"`, `"stapsdt"`, …), without its NUL. */
  name: string;
  /** `n_type`. */
  type: number;
  /** The descriptor bytes (a view into the file). */
  desc: Uint8Array;
  /** File offset of the note header. */
  offset: number;
  /** The section it came from, when read from section headers. */
  section?: string;
}

/** A string table being read: its contents, strings decoded so far, and the scan budget left. */
interface StringTable {
  section: ElfSection;
  data: Uint8Array;
  strings: Map<number, string>;
  budget: number;
}

const EHDR64 = 64;
const EHDR32 = 52;
const SHDR64 = 64;
const SHDR32 = 40;
const PHDR64 = 56;
const PHDR32 = 32;
const SYM64 = 24;
const SYM32 = 16;
const PN_XNUM = 0xffff;

function fail(message: string, offset: number): never {
  throw new ParseError("elf", message, { offset });
}

/** Decodes a string from bytes: ASCII fast path, UTF-8 (lenient) otherwise. */
const utf8 = new TextDecoder();
function decodeString(b: Uint8Array, s: number, e: number): string {
  if (e - s <= 256) {
    let ascii = true;
    for (let i = s; i < e; i++) {
      if (b[i] >= 0x80) {
        ascii = false;
        break;
      }
    }
    if (ascii) return String.fromCharCode.apply(null, b.subarray(s, e) as unknown as number[]);
  }
  return utf8.decode(b.subarray(s, e));
}

/**
 * A parsed ELF file. The header, section headers (with names) and program
 * headers are read up front; symbols, relocations and notes on demand
 * (symbol tables are cached). Section contents are views into the input
 * bytes, not copies.
 */
export class ElfFile {
  /** The whole file. */
  readonly bytes: Uint8Array;
  /** The file header. */
  readonly header: ElfHeader;
  /** Section headers, in index order (index 0 is the null section when present). */
  readonly sections: readonly ElfSection[];
  /** Program headers, in index order. */
  readonly programHeaders: readonly ElfProgramHeader[];

  #view: DataView;
  #le: boolean;
  #is64: boolean;
  #byName = new Map<string, ElfSection>();
  #symCache = new Map<number, ElfSymbol[]>();
  #strtabs = new Map<number, StringTable>();

  /**
   * Parses `bytes` as an ELF file.
   *
   * @throws {ParseError} when it is not ELF or its header, section header
   * table, section-name table or program header table is malformed.
   */
  constructor(bytes: Uint8Array) {
    this.bytes = bytes;
    this.#view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < 16) fail("file too short for the ELF identification", 0);
    if (bytes[0] !== 0x7f || bytes[1] !== 0x45 || bytes[2] !== 0x4c || bytes[3] !== 0x46) {
      fail("not an ELF file (bad magic)", 0);
    }
    const cls = bytes[4];
    if (cls !== 1 && cls !== 2) fail(`unknown ELF class ${cls}`, 4);
    const data = bytes[5];
    if (data !== 1 && data !== 2) fail(`unknown ELF data encoding ${data}`, 5);
    this.#is64 = cls === 2;
    this.#le = data === 1;
    const ehsize = this.#is64 ? EHDR64 : EHDR32;
    if (bytes.length < ehsize) fail(`file too short for the ELF${this.#is64 ? 64 : 32} header`, 0);
    this.header = this.#readHeader();
    this.sections = this.#readSections();
    for (const s of this.sections) if (!this.#byName.has(s.name)) this.#byName.set(s.name, s);
    this.programHeaders = this.#readProgramHeaders();
  }

  /** Same as `new ElfFile(bytes)`. */
  static parse(bytes: Uint8Array): ElfFile {
    return new ElfFile(bytes);
  }

  // --- primitive reads (callers check bounds) ---

  #u8(o: number): number {
    return this.bytes[o];
  }
  #u16(o: number): number {
    return this.#view.getUint16(o, this.#le);
  }
  #u32(o: number): number {
    return this.#view.getUint32(o, this.#le);
  }
  #u64(o: number): bigint {
    return this.#view.getBigUint64(o, this.#le);
  }
  /** A u64 that must fit a JS number exactly (offsets, sizes). */
  #u64n(o: number, what: string): number {
    const lo = this.#view.getUint32(o + (this.#le ? 0 : 4), this.#le);
    const hi = this.#view.getUint32(o + (this.#le ? 4 : 0), this.#le);
    if (hi > 0x1fffff) fail(`${what} too large`, o);
    return hi * 0x1_0000_0000 + lo;
  }
  /** Word-sized unsigned value (u32 in ELF32, u64 in ELF64) as a number. */
  #wordn(o: number, what: string): number {
    return this.#is64 ? this.#u64n(o, what) : this.#u32(o);
  }
  /** Word-sized unsigned value as a bigint. */
  #word(o: number): bigint {
    return this.#is64 ? this.#u64(o) : BigInt(this.#u32(o));
  }

  #readHeader(): ElfHeader {
    const b = this.bytes;
    const is64 = this.#is64;
    const h: ElfHeader = {
      class: is64 ? 64 : 32,
      littleEndian: this.#le,
      identVersion: b[6],
      osAbi: b[7],
      abiVersion: b[8],
      type: this.#u16(16),
      machine: this.#u16(18),
      version: this.#u32(20),
      entry: this.#word(24),
      phoff: is64 ? this.#u64n(32, "e_phoff") : this.#u32(28),
      shoff: is64 ? this.#u64n(40, "e_shoff") : this.#u32(32),
      flags: this.#u32(is64 ? 48 : 36),
      ehsize: this.#u16(is64 ? 52 : 40),
      phentsize: this.#u16(is64 ? 54 : 42),
      phnum: this.#u16(is64 ? 56 : 44),
      shentsize: this.#u16(is64 ? 58 : 46),
      shnum: this.#u16(is64 ? 60 : 48),
      shstrndx: this.#u16(is64 ? 62 : 50),
    };
    return h;
  }

  #readSections(): ElfSection[] {
    const h = this.header;
    const len = this.bytes.length;
    if (h.shoff === 0) {
      h.shnum = 0;
      h.shstrndx = 0;
      return [];
    }
    const minEnt = this.#is64 ? SHDR64 : SHDR32;
    if (h.shentsize < minEnt) fail(`e_shentsize ${h.shentsize} < ${minEnt}`, this.#is64 ? 58 : 46);
    if (h.shoff > len || len - h.shoff < h.shentsize) {
      fail("section header table outside the file", h.shoff);
    }
    // Extended numbering lives in section 0.
    let shnum = h.shnum;
    if (shnum === 0) shnum = this.#wordn(h.shoff + (this.#is64 ? 32 : 20), "section count");
    if (h.phnum === PN_XNUM) h.phnum = this.#u32(h.shoff + (this.#is64 ? 44 : 28));
    let shstrndx = h.shstrndx;
    if (shstrndx === SectionIndex.XINDEX) shstrndx = this.#u32(h.shoff + (this.#is64 ? 40 : 24));
    if (shnum > Math.floor((len - h.shoff) / h.shentsize)) {
      fail(`section header table (${shnum} entries) runs past the end of the file`, h.shoff);
    }
    h.shnum = shnum;
    h.shstrndx = shstrndx;
    const out: ElfSection[] = new Array(shnum);
    for (let i = 0; i < shnum; i++) {
      const o = h.shoff + i * h.shentsize;
      if (this.#is64) {
        out[i] = {
          index: i,
          name: "",
          nameOffset: this.#u32(o),
          type: this.#u32(o + 4),
          flags: this.#u32(o + 8 + (this.#le ? 0 : 4)),
          addr: this.#u64(o + 16),
          offset: this.#u64n(o + 24, "sh_offset"),
          size: this.#u64n(o + 32, "sh_size"),
          link: this.#u32(o + 40),
          info: this.#u32(o + 44),
          addralign: this.#u64n(o + 48, "sh_addralign"),
          entsize: this.#u64n(o + 56, "sh_entsize"),
        };
      } else {
        out[i] = {
          index: i,
          name: "",
          nameOffset: this.#u32(o),
          type: this.#u32(o + 4),
          flags: this.#u32(o + 8),
          addr: BigInt(this.#u32(o + 12)),
          offset: this.#u32(o + 16),
          size: this.#u32(o + 20),
          link: this.#u32(o + 24),
          info: this.#u32(o + 28),
          addralign: this.#u32(o + 32),
          entsize: this.#u32(o + 36),
        };
      }
    }
    if (shstrndx !== SectionIndex.UNDEF) {
      if (shstrndx >= shnum) fail(`e_shstrndx ${shstrndx} out of range (${shnum} sections)`, 0);
      const strtab = this.#strtab(out[shstrndx]);
      for (const s of out) s.name = this.#cstring(strtab, s.nameOffset);
    }
    return out;
  }

  #readProgramHeaders(): ElfProgramHeader[] {
    const h = this.header;
    const len = this.bytes.length;
    if (h.phoff === 0 || h.phnum === 0) return [];
    const minEnt = this.#is64 ? PHDR64 : PHDR32;
    if (h.phentsize < minEnt) fail(`e_phentsize ${h.phentsize} < ${minEnt}`, this.#is64 ? 54 : 42);
    if (h.phoff > len || h.phnum > Math.floor((len - h.phoff) / h.phentsize)) {
      fail(`program header table (${h.phnum} entries) runs past the end of the file`, h.phoff);
    }
    const out: ElfProgramHeader[] = new Array(h.phnum);
    for (let i = 0; i < h.phnum; i++) {
      const o = h.phoff + i * h.phentsize;
      if (this.#is64) {
        out[i] = {
          index: i,
          type: this.#u32(o),
          flags: this.#u32(o + 4),
          offset: this.#u64n(o + 8, "p_offset"),
          vaddr: this.#u64(o + 16),
          paddr: this.#u64(o + 24),
          filesz: this.#u64n(o + 32, "p_filesz"),
          memsz: this.#u64(o + 40),
          align: this.#u64(o + 48),
        };
      } else {
        out[i] = {
          index: i,
          type: this.#u32(o),
          offset: this.#u32(o + 4),
          vaddr: BigInt(this.#u32(o + 8)),
          paddr: BigInt(this.#u32(o + 12)),
          filesz: this.#u32(o + 16),
          memsz: BigInt(this.#u32(o + 20)),
          flags: this.#u32(o + 24),
          align: BigInt(this.#u32(o + 28)),
        };
      }
    }
    return out;
  }

  /** The string table state of section `table` (contents, decoded strings, work budget). */
  #strtab(table: ElfSection): StringTable {
    let t = this.#strtabs.get(table.index);
    if (!t) {
      const data = this.#dataOf(table);
      t = { section: table, data, strings: new Map(), budget: 4 * data.length + 65536 };
      this.#strtabs.set(table.index, t);
    }
    return t;
  }

  /**
   * The NUL-terminated string at `off` of a string table. Strings are cached
   * by offset, and the bytes scanned for distinct offsets are limited to a
   * few times the table size: a crafted table (one long unterminated run,
   * thousands of symbols pointing into it) cannot make this quadratic.
   */
  #cstring(t: StringTable, off: number): string {
    const { data, section } = t;
    if (off >= data.length) {
      if (off === 0) return ""; // empty table: only offset 0, meaning ""
      fail(
        `string offset ${off} outside string table ${section.name || section.index}`,
        section.offset,
      );
    }
    const cached = t.strings.get(off);
    if (cached !== undefined) return cached;
    const end = data.indexOf(0, off);
    if (end < 0) {
      fail(
        `unterminated string in string table ${section.name || section.index}`,
        section.offset + off,
      );
    }
    t.budget -= end - off + 1;
    if (t.budget < 0) {
      fail(
        `string table ${section.name || section.index} has too many overlapping strings`,
        section.offset + off,
      );
    }
    const str = decodeString(data, off, end);
    t.strings.set(off, str);
    return str;
  }

  /** Contents of a section, checked against the file; empty for SHT_NOBITS. */
  #dataOf(s: ElfSection): Uint8Array {
    if (s.type === SectionType.NOBITS || s.type === SectionType.NULL) {
      return this.bytes.subarray(0, 0);
    }
    const len = this.bytes.length;
    if (s.offset > len || s.size > len - s.offset) {
      fail(
        `section ${
          s.name || s.index
        } (offset ${s.offset}, size ${s.size}) extends past the end of the file`,
        this.header.shoff + s.index * this.header.shentsize,
      );
    }
    return this.bytes.subarray(s.offset, s.offset + s.size);
  }

  #resolve(section: ElfSection | string | number): ElfSection {
    if (typeof section === "number") {
      const s = Number.isInteger(section) ? this.sections[section] : undefined;
      if (!s) throw new NotFoundError(`ELF section ${section}`);
      return s;
    }
    if (typeof section === "string") {
      const s = this.#byName.get(section);
      if (!s) throw new NotFoundError(`ELF section ${section}`);
      return s;
    }
    if (this.sections[section.index] !== section) {
      throw new InvalidArgumentError(`section header ${section.name} is not from this file`);
    }
    return section;
  }

  /** True for ELFCLASS64. */
  get is64(): boolean {
    return this.#is64;
  }

  /** True for little-endian (ELFDATA2LSB). */
  get littleEndian(): boolean {
    return this.#le;
  }

  /** The first section header named `name`, or undefined. */
  sectionHeader(name: string): ElfSection | undefined {
    return this.#byName.get(name);
  }

  /**
   * The contents of the first section named `name` as a view into the file
   * (zero-length for SHT_NOBITS), or undefined when there is no such section.
   * Compressed sections (SHF_COMPRESSED) are returned as stored.
   *
   * @throws {ParseError} when the section extends past the end of the file.
   */
  section(name: string): Uint8Array | undefined {
    const s = this.#byName.get(name);
    return s === undefined ? undefined : this.#dataOf(s);
  }

  /**
   * The contents of a section given by header, index or name (a view into
   * the file; zero-length for SHT_NOBITS).
   *
   * @throws {ParseError} when there is no such section or it extends past the end of the file.
   */
  sectionData(section: ElfSection | string | number): Uint8Array {
    return this.#dataOf(this.#resolve(section));
  }

  /** The sections of type `type` (see `SectionType`), in index order. */
  sectionsOfType(type: number): ElfSection[] {
    return this.sections.filter((s) => s.type === type);
  }

  /**
   * The string at offset `offset` of string table section `table`.
   *
   * @throws {ParseError} when the offset is outside the table or the string is unterminated.
   */
  stringAt(table: ElfSection | string | number, offset: number): string {
    const t = this.#resolve(table);
    return this.#cstring(this.#strtab(t), offset);
  }

  /** The static symbol table (the first SHT_SYMTAB section), or [] when there is none. */
  symbols(): ElfSymbol[] {
    const s = this.sections.find((x) => x.type === SectionType.SYMTAB);
    return s ? this.symbolTable(s) : [];
  }

  /** The dynamic symbol table (the first SHT_DYNSYM section), or [] when there is none. */
  dynamicSymbols(): ElfSymbol[] {
    const s = this.sections.find((x) => x.type === SectionType.DYNSYM);
    return s ? this.symbolTable(s) : [];
  }

  /**
   * The symbols of a symbol table section (SHT_SYMTAB or SHT_DYNSYM), index 0
   * (the null symbol) included, so that `result[relocation.symbolIndex]` is
   * the relocation's symbol. Cached per section; do not modify the result.
   *
   * @throws {ParseError} on a malformed table (bad entry size, string table
   * index or name offset, contents outside the file).
   */
  symbolTable(section: ElfSection | string | number): ElfSymbol[] {
    const s = this.#resolve(section);
    const cached = this.#symCache.get(s.index);
    if (cached) return cached;
    if (s.type !== SectionType.SYMTAB && s.type !== SectionType.DYNSYM) {
      throw new InvalidArgumentError(`section ${s.name || s.index} is not a symbol table`);
    }
    const shdrOff = this.header.shoff + s.index * this.header.shentsize;
    const ent = this.#is64 ? SYM64 : SYM32;
    const entsize = s.entsize === 0 ? ent : s.entsize;
    if (entsize < ent) fail(`symbol table ${s.name} has entry size ${entsize} < ${ent}`, shdrOff);
    const data = this.#dataOf(s);
    if (s.link >= this.sections.length) {
      fail(`symbol table ${s.name} links to missing string table ${s.link}`, shdrOff);
    }
    const strSec = this.sections[s.link];
    const strtab = this.#strtab(strSec);
    const xdata = this.#xindexFor(s.index);
    const xindex = xdata && new DataView(xdata.buffer, xdata.byteOffset, xdata.byteLength);
    const count = Math.floor(data.length / entsize);
    const out: ElfSymbol[] = new Array(count);
    const base = s.offset;
    for (let i = 0; i < count; i++) {
      const o = base + i * entsize;
      let nameOff: number, info: number, other: number, shndx: number, value: bigint, size: bigint;
      if (this.#is64) {
        nameOff = this.#u32(o);
        info = this.#u8(o + 4);
        other = this.#u8(o + 5);
        shndx = this.#u16(o + 6);
        value = this.#u64(o + 8);
        size = this.#u64(o + 16);
      } else {
        nameOff = this.#u32(o);
        value = BigInt(this.#u32(o + 4));
        size = BigInt(this.#u32(o + 8));
        info = this.#u8(o + 12);
        other = this.#u8(o + 13);
        shndx = this.#u16(o + 14);
      }
      if (shndx === SectionIndex.XINDEX && xindex && 4 * i + 4 <= xindex.byteLength) {
        shndx = xindex.getUint32(4 * i, this.#le);
      }
      out[i] = {
        index: i,
        name: nameOff === 0 ? "" : this.#cstring(strtab, nameOff),
        value,
        size,
        type: info & 0xf,
        bind: info >> 4,
        visibility: other & 0x3,
        other,
        sectionIndex: shndx,
      };
    }
    this.#symCache.set(s.index, out);
    return out;
  }

  /** Contents of the SHT_SYMTAB_SHNDX section for symbol table `symtab`, if any. */
  #xindexFor(symtab: number): Uint8Array | undefined {
    const x = this.sections.find((s) => s.type === SectionType.SYMTAB_SHNDX && s.link === symtab);
    return x ? this.#dataOf(x) : undefined;
  }

  /** The relocation sections (SHT_REL and SHT_RELA), in index order. */
  relocationSections(): ElfSection[] {
    return this.sections.filter((s) => s.type === SectionType.REL || s.type === SectionType.RELA);
  }

  /**
   * The entries of a relocation section. Its `info` is the index of the
   * section the relocations apply to and its `link` the index of the symbol
   * table that `symbolIndex` refers to.
   *
   * @throws {ParseError} when the section is not SHT_REL/SHT_RELA, its entry
   * size is too small, or its contents lie outside the file.
   */
  relocations(section: ElfSection | string | number): ElfRelocation[] {
    const s = this.#resolve(section);
    const shdrOff = this.header.shoff + s.index * this.header.shentsize;
    const rela = s.type === SectionType.RELA;
    if (!rela && s.type !== SectionType.REL) {
      throw new InvalidArgumentError(`section ${s.name || s.index} is not a relocation section`);
    }
    const ent = this.#is64 ? (rela ? 24 : 16) : (rela ? 12 : 8);
    const entsize = s.entsize === 0 ? ent : s.entsize;
    if (entsize < ent) {
      fail(`relocation section ${s.name} has entry size ${entsize} < ${ent}`, shdrOff);
    }
    const data = this.#dataOf(s);
    const count = Math.floor(data.length / entsize);
    const out: ElfRelocation[] = new Array(count);
    for (let i = 0; i < count; i++) {
      const o = s.offset + i * entsize;
      let r: ElfRelocation;
      if (this.#is64) {
        // r_info: symbol in the high 32 bits, type in the low 32.
        const infoLo = this.#u32(o + 8 + (this.#le ? 0 : 4));
        const infoHi = this.#u32(o + 8 + (this.#le ? 4 : 0));
        r = { offset: this.#u64(o), symbolIndex: infoHi, type: infoLo };
        if (rela) r.addend = this.#view.getBigInt64(o + 16, this.#le);
      } else {
        // r_info: symbol in the high 24 bits, type in the low 8.
        const info = this.#u32(o + 4);
        r = { offset: BigInt(this.#u32(o)), symbolIndex: info >>> 8, type: info & 0xff };
        if (rela) r.addend = BigInt(this.#view.getInt32(o + 8, this.#le));
      }
      out[i] = r;
    }
    return out;
  }

  /**
   * Every note of the file: from all SHT_NOTE sections when the file has
   * section headers, else from the PT_NOTE segments. Notes are 4-byte
   * aligned unless the section (or segment) alignment is 8, as for
   * `.note.gnu.property`.
   *
   * @throws {ParseError} on a note that runs past its section or segment.
   */
  notes(): ElfNote[] {
    const out: ElfNote[] = [];
    if (this.sections.length > 0) {
      for (const s of this.sections) {
        if (s.type !== SectionType.NOTE) continue;
        const data = this.#dataOf(s);
        this.#parseNotes(data, s.offset, s.addralign === 8 ? 8 : 4, s.name, out);
      }
    } else {
      const len = this.bytes.length;
      for (const p of this.programHeaders) {
        if (p.type !== SegmentType.NOTE) continue;
        if (p.offset > len || p.filesz > len - p.offset) {
          fail(`PT_NOTE segment ${p.index} extends past the end of the file`, p.offset);
        }
        const data = this.bytes.subarray(p.offset, p.offset + p.filesz);
        this.#parseNotes(data, p.offset, p.align === 8n ? 8 : 4, undefined, out);
      }
    }
    return out;
  }

  /**
   * The notes of one section (given by header, index or name).
   *
   * @throws {ParseError} when it is not an SHT_NOTE section or a note runs past its end.
   */
  notesIn(section: ElfSection | string | number): ElfNote[] {
    const s = this.#resolve(section);
    if (s.type !== SectionType.NOTE) {
      throw new InvalidArgumentError(`section ${s.name || s.index} is not a note section`);
    }
    const out: ElfNote[] = [];
    this.#parseNotes(this.#dataOf(s), s.offset, s.addralign === 8 ? 8 : 4, s.name, out);
    return out;
  }

  #parseNotes(
    data: Uint8Array,
    fileOffset: number,
    align: number,
    section: string | undefined,
    out: ElfNote[],
  ): void {
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    // namesz and descsz are u32: this arithmetic stays exact in doubles.
    const pad = (n: number) => Math.ceil(n / align) * align;
    let pos = 0;
    while (pos + 12 <= data.length) {
      const namesz = dv.getUint32(pos, this.#le);
      const descsz = dv.getUint32(pos + 4, this.#le);
      const type = dv.getUint32(pos + 8, this.#le);
      const nameStart = pos + 12;
      // Padding aligns the descriptor and the next note to `align` within
      // the (aligned) section: with 8-byte alignment the 12-byte header and
      // the name are padded together.
      const descStart = pad(nameStart + namesz);
      const descEnd = descStart + descsz;
      if (nameStart + namesz > data.length || descEnd > data.length) {
        fail("note runs past the end of its section", fileOffset + pos);
      }
      let nameEnd = nameStart + namesz;
      const nul = data.subarray(nameStart, nameEnd).indexOf(0);
      if (nul >= 0) nameEnd = nameStart + nul;
      const note: ElfNote = {
        name: decodeString(data, nameStart, nameEnd),
        type,
        desc: data.subarray(descStart, descEnd),
        offset: fileOffset + pos,
      };
      if (section !== undefined) note.section = section;
      out.push(note);
      pos = pad(descEnd);
    }
  }

  /**
   * The file offset that virtual address `vaddr` is loaded from, through the
   * PT_LOAD segment whose file image contains it; undefined when none does.
   * This is how a symbol value of an executable or shared object becomes a
   * uprobe offset.
   */
  addressToOffset(vaddr: bigint): number | undefined {
    for (const p of this.programHeaders) {
      if (p.type !== SegmentType.LOAD) continue;
      if (vaddr >= p.vaddr && vaddr < p.vaddr + BigInt(p.filesz)) {
        return p.offset + Number(vaddr - p.vaddr);
      }
    }
    return undefined;
  }
}

/**
 * Parses ELF bytes; same as `new ElfFile(bytes)`.
 *
 * @throws {ParseError} when the bytes are not a well-formed ELF file.
 */
export function parseElf(bytes: Uint8Array): ElfFile {
  return new ElfFile(bytes);
}

/**
 * The largest ELF file the readers accept: 1 GiB (BPF objects are KiB to a
 * few MiB; a shared library some MiB).
 */
export const MAX_ELF_FILE_BYTES = 1024 * 1024 * 1024;

/**
 * Reads and parses an ELF file, synchronously, as every file reader of the
 * package (README, "API conventions"). Directories, FIFOs, devices and files
 * over {@linkcode MAX_ELF_FILE_BYTES} are refused before reading.
 *
 * @throws {ParseError} when it is not a well-formed ELF file.
 * @throws {FileNotFoundError} when it does not exist.
 * @throws {FileError} for a non-regular or oversized file.
 */
export function readElfFile(path: string | URL): ElfFile {
  return new ElfFile(readFile(pathOf(path), { maxBytes: MAX_ELF_FILE_BYTES, what: "ELF file" }));
}
