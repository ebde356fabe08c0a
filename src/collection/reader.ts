/**
 * `loadCollectionSpec`: reading a clang-built BPF object file (ELF, either
 * byte order) into a {@linkcode CollectionSpec}, without touching the
 * kernel: programs from their sections (with every subprogram they call
 * linked in), maps from `.maps` BTF and the legacy `maps` section, global
 * data sections as array maps with their variables, externs, and the BTF
 * and `.BTF.ext` records the loader needs.
 *
 * @module
 */

import { InvalidArgumentError, ParseError } from "../errors.ts";
import {
  type ElfFile,
  type ElfRelocation,
  type ElfSection,
  type ElfSymbol,
  parseElf,
} from "../elf/elf_file.ts";
import {
  BpfRelocationType,
  SectionIndex,
  SectionType,
  SymbolBinding,
  SymbolType,
} from "../elf/constants.ts";
import { parseBtf, type Spec } from "../btf/spec.ts";
import type { BtfType, DatasecType, Member } from "../btf/types.ts";
import {
  type BtfExt,
  type CoreRelocationRecord,
  type FuncInfoRecord,
  type LineInfoRecord,
  parseBtfExt,
} from "../btf/ext.ts";
import {
  isMapInMapType,
  MapCreateFlag,
  type MapTypeName,
  mapTypeName,
  mapTypeNumber,
} from "../map/types.ts";
import { Insns, OP_CALL, OP_LDDW, PSEUDO_CALL, PSEUDO_FUNC, swapInsnsToLittle } from "./_insn.ts";
import { sectionInfo } from "./sections.ts";
import type {
  CollectionMapSpec,
  CollectionProgramSpec,
  CollectionSpec,
  ExternSpec,
  MapContent,
  ProgramFunction,
  ProgramReference,
} from "./types.ts";
import { specVariables, VariableSpec } from "./variables.ts";
import { pathOf, readFile } from "../sys/file.ts";
import { MAX_ELF_FILE_BYTES } from "../elf/elf_file.ts";

const EM_BPF = 247;
/** BPF_F_LINK: a struct_ops map registered through a link. */
const STRUCT_OPS_LINK_FLAG = MapCreateFlag.LINK;
const SHF_ALLOC = 0x2;
const SHF_EXECINSTR = 0x4;

/** Options of {@linkcode loadCollectionSpec}. */
export interface LoadCollectionSpecOptions {
  /** A name for error messages (default: the file name, or `"object"` for bytes). */
  name?: string;
}

function fail(object: string, message: string): never {
  throw new ParseError("bpf object", `${object}: ${message}`);
}

interface Func {
  name: string;
  sec: ElfSection;
  /** First instruction in the section. */
  start: number;
  /** Number of instruction slots. */
  len: number;
  global: boolean;
}

interface SecCode {
  sec: ElfSection;
  insns: Uint8Array;
  funcs: Func[];
  relocs: Map<number, ElfRelocation>;
}

const DATA_SECTION = /^\.(data|rodata|bss)(\..*)?$/;

/**
 * Reads a BPF object file (a path, URL or the file's bytes) into a
 * {@linkcode CollectionSpec}. Nothing is loaded into the kernel; the spec
 * can be inspected and changed before {@linkcode loadCollection}.
 *
 * @example
 * ```ts ignore
 * const spec = loadCollectionSpec("testdata/bpf/basic_bpfel.o");
 * console.log(Object.keys(spec.programs), spec.maps.counts.maxEntries);
 * spec.variables.rodata_limit.set(100);
 * ```
 *
 * A symbol the object does not define (inline asm's `r0 = MY_CONST ll`, a
 * call to a function only declared) does not stop the reading: the
 * instruction keeps a `{ kind: "symbol" }` reference in its program's
 * `references`, and only that program fails at load until it is resolved.
 *
 * @throws {ParseError} when the file is not a BPF object or is malformed.
 */
export function loadCollectionSpec(
  source: string | URL | Uint8Array,
  options: LoadCollectionSpecOptions = {},
): CollectionSpec {
  const bytes = source instanceof Uint8Array
    ? source
    : readFile(pathOf(source), { maxBytes: MAX_ELF_FILE_BYTES, what: "BPF object" });
  const object = options.name ??
    (source instanceof Uint8Array ? "object" : String(source).replace(/^.*\//, ""));
  const elf = parseElf(bytes);
  if (elf.header.machine !== EM_BPF) {
    fail(object, `not a BPF object (ELF machine ${elf.header.machine}, want ${EM_BPF})`);
  }
  if (!elf.is64) fail(object, "not a 64-bit ELF file");
  return new Reader(elf, object).read();
}

/** The inner-map template of the legacy map of maps `outer`: the shape of `inner`. */
function legacyInnerTemplate(outer: string, inner: CollectionMapSpec): CollectionMapSpec {
  const t: CollectionMapSpec = {
    name: `${outer}.inner`,
    type: inner.type,
    keySize: inner.keySize,
    valueSize: inner.valueSize,
    maxEntries: inner.maxEntries,
    flags: inner.flags,
    origin: "legacy",
    section: "maps",
  };
  if (inner.numaNode !== undefined) t.numaNode = inner.numaNode;
  return t;
}

/**
 * The largest global data section read (`.bss` takes no room in the file):
 * above any kernel's KMALLOC_MAX_SIZE, which bounds an array map's value.
 */
const MAX_DATA_SECTION = 64 * 1024 * 1024;

/** Sections whose relocations the loader never uses. */
const UNUSED_RELOCATED = /^(\.debug_|\.BTF($|\.ext$)|\.eh_frame$)/;

/** The size of iproute2's `struct bpf_elf_map` (include/bpf_elf.h). */
const IPROUTE2_MAP_DEF_SIZE = 36;

/** The iproute2-only fields of a `struct bpf_elf_map`. */
interface Iproute2MapDef {
  spec: CollectionMapSpec;
  id: number;
  pinning: number;
  innerId: number;
  innerIdx: number;
}

class Reader {
  readonly elf: ElfFile;
  readonly object: string;
  readonly le: boolean;
  readonly symbols: ElfSymbol[];
  btf?: Spec;
  ext?: BtfExt;
  readonly maps: Record<string, CollectionMapSpec> = {};
  readonly externs: Record<string, ExternSpec> = {};
  readonly variables: Record<string, VariableSpec> = {};
  /** Legacy map section index → map names by symbol offset. */
  readonly mapSections = new Map<number, Map<number, string>>();
  /** Data section index → map name. */
  readonly dataSections = new Map<number, string>();
  readonly code = new Map<number, SecCode>();
  readonly relocsBySection = new Map<number, ElfRelocation[]>();
  license = "";
  kernelVersion?: number;

  constructor(elf: ElfFile, object: string) {
    this.elf = elf;
    this.object = object;
    this.le = elf.littleEndian;
    this.symbols = elf.symbols();
  }

  fail(message: string): never {
    fail(this.object, message);
  }

  read(): CollectionSpec {
    const elf = this.elf;
    for (const rs of elf.relocationSections()) {
      if (rs.info === 0 || rs.info >= elf.sections.length) continue;
      // DWARF and .BTF.ext relocations (nine in ten of a clang object's)
      // matter to linkers, not to loading: skipped, as libbpf does.
      if (UNUSED_RELOCATED.test(elf.sections[rs.info].name)) continue;
      const list = this.relocsBySection.get(rs.info) ?? [];
      list.push(...elf.relocations(rs));
      this.relocsBySection.set(rs.info, list);
    }
    const btfBytes = elf.section(".BTF");
    if (btfBytes && btfBytes.length > 0) {
      // Copy: the spec keeps views, and the caller may reuse the file buffer.
      this.btf = parseBtf(btfBytes.slice());
      const extBytes = elf.section(".BTF.ext");
      if (extBytes && extBytes.length > 0) this.ext = parseBtfExt(extBytes, this.btf);
    }
    const lic = elf.section("license");
    if (lic) {
      const end = lic.indexOf(0);
      this.license = new TextDecoder().decode(lic.subarray(0, end < 0 ? lic.length : end));
    }
    const ver = elf.section("version");
    if (ver && ver.length >= 4) {
      this.kernelVersion = new DataView(ver.buffer, ver.byteOffset, 4).getUint32(0, this.le);
    }
    this.readBtfMaps();
    this.readLegacyMaps();
    this.readDataSections();
    this.readExterns();
    this.readCode();
    this.readStructOps();
    const programs: Record<string, CollectionProgramSpec> = {};
    for (const sc of this.code.values()) {
      if (sc.sec.name === ".text") continue;
      for (const f of sc.funcs) {
        if (Object.hasOwn(programs, f.name)) this.fail(`two programs named ${f.name}`);
        programs[f.name] = this.link(f);
      }
    }
    this.resolveMapContents(programs);
    const layout = {
      sectionSizes: {} as Record<string, number>,
      symbolOffsets: {} as Record<string, number>,
    };
    for (const s of elf.sections) {
      if (s.flags & SHF_ALLOC) layout.sectionSizes[s.name] = s.size;
    }
    for (const sym of this.symbols) {
      if (sym.name === "" || sym.sectionIndex === 0 || sym.sectionIndex >= elf.sections.length) {
        continue;
      }
      if (sym.type !== SymbolType.OBJECT && sym.type !== SymbolType.NOTYPE) continue;
      const key = `${elf.sections[sym.sectionIndex].name}/${sym.name}`;
      layout.symbolOffsets[key] ??= Number(sym.value);
    }
    return {
      maps: this.maps,
      programs,
      variables: specVariables(this.variables),
      types: this.btf,
      externs: this.externs,
      byteOrder: this.le ? "little" : "big",
      license: this.license,
      kernelVersion: this.kernelVersion,
      btfBytes: btfBytes?.slice(),
      layout,
    };
  }

  // ---- maps ---------------------------------------------------------------

  datasec(name: string): DatasecType | undefined {
    const t = this.btf?.typeByName(name, "datasec");
    return t?.kind === "datasec" ? t : undefined;
  }

  symbolIn(secIndex: number, name: string): ElfSymbol | undefined {
    return this.symbols.find((s) => s.sectionIndex === secIndex && s.name === name);
  }

  readBtfMaps(): void {
    const sec = this.elf.sectionHeader(".maps");
    if (!sec) return;
    const btf = this.btf;
    const ds = this.datasec(".maps");
    if (!btf || !ds) this.fail("section .maps needs BTF (compile with -g)");
    const byOffset = new Map<number, string>();
    const data = sec.type === SectionType.NOBITS ? new Uint8Array(0) : this.elf.sectionData(sec);
    const relocated = (this.relocsBySection.get(sec.index) ?? []).map((r) => Number(r.offset));
    for (const vs of ds.vars) {
      const v = btf.typeById(vs.type);
      if (v.kind !== "var") this.fail(`.maps: entry ${vs.type} is not a variable`);
      const sym = this.symbolIn(sec.index, v.name);
      const offset = sym ? Number(sym.value) : vs.offset;
      const spec = this.btfMapDef(v.name, v.type, 0);
      this.checkBtfMapData(v.name, v.type, offset, data, relocated);
      spec.section = ".maps";
      this.maps[v.name] = spec;
      byOffset.set(offset, v.name);
      const at = (spec as MapDefInternal)[VALUES_AT];
      if (at !== undefined) (spec as MapDefInternal)[VALUES_AT] = offset + at;
    }
    this.mapSections.set(sec.index, byOffset);
  }

  /**
   * A `.maps` definition holds no data: clang writes zeros for its
   * `__uint`/`__type`/`__array` fields, and only `.values = { … }` puts
   * something there, through relocations. Any other non-zero byte is an
   * initialiser (`.key = (void *)1`) that would be silently dropped: refused.
   */
  checkBtfMapData(
    name: string,
    typeId: number,
    offset: number,
    data: Uint8Array,
    relocated: number[],
  ): void {
    const t = this.btf!.resolve(typeId);
    if (t.kind !== "struct") return;
    const end = Math.min(offset + t.size, data.length);
    for (let at = offset; at < end; at++) {
      if (data[at] === 0 || relocated.some((r) => at >= r && at < r + 8)) continue;
      const i = at - offset;
      let field: Member | undefined;
      for (const m of t.members) if (m.bitOffset / 8 <= i) field = m;
      this.fail(
        `map ${name}: its .maps definition has non-zero data at byte ${i}` +
          `${field ? ` (field ${field.name})` : ""}; a .maps entry is declared with __uint, ` +
          "__type and __array only, and given initial values only with .values = { … }: " +
          "remove the initialiser",
      );
    }
  }

  btfMapDef(name: string, typeId: number, depth: number): CollectionMapSpec {
    const btf = this.btf!;
    const t = btf.resolve(typeId);
    if (t.kind !== "struct") this.fail(`map ${name}: definition is a ${t.kind}, not a struct`);
    const what = `map ${name}`;
    const uint = (m: Member): number => {
      const p = btf.resolve(m.type);
      const a = p.kind === "ptr" ? btf.resolve(p.type) : undefined;
      if (!a || a.kind !== "array") {
        this.fail(`${what}: field ${m.name} is not an __uint() (pointer to an array)`);
      }
      return a.nelems;
    };
    const pointee = (m: Member): number => {
      const p = btf.resolve(m.type);
      if (p.kind !== "ptr") this.fail(`${what}: field ${m.name} is not a __type() (pointer)`);
      return p.type;
    };
    let type: number | undefined;
    let keySize: number | undefined;
    let valueSize: number | undefined;
    let keyTypeId: number | undefined;
    let valueTypeId: number | undefined;
    let maxEntries = 0;
    let flags = 0;
    let numaNode: number | undefined;
    let mapExtra: number | undefined;
    let pinning: "none" | "by_name" = "none";
    let innerMap: CollectionMapSpec | undefined;
    let valuesAt: number | undefined;
    let valuesKind: "maps" | "programs" | undefined;
    for (const m of t.members) {
      switch (m.name) {
        case "type":
          type = uint(m);
          break;
        case "max_entries":
          maxEntries = uint(m);
          break;
        case "map_flags":
          flags = uint(m);
          break;
        case "numa_node":
          numaNode = uint(m);
          break;
        case "map_extra":
          mapExtra = uint(m);
          break;
        case "key_size":
          keySize = checkSize(this, what, "key_size", keySize, uint(m));
          break;
        case "value_size":
          valueSize = checkSize(this, what, "value_size", valueSize, uint(m));
          break;
        case "key": {
          keyTypeId = pointee(m);
          keySize = checkSize(this, what, "key", keySize, this.sizeOf(what, keyTypeId));
          break;
        }
        case "value": {
          valueTypeId = pointee(m);
          valueSize = checkSize(this, what, "value", valueSize, this.sizeOf(what, valueTypeId));
          break;
        }
        case "pinning": {
          const p = uint(m);
          if (p > 1) this.fail(`${what}: unknown pinning mode ${p} (0: none, 1: by name)`);
          pinning = p === 1 ? "by_name" : "none";
          break;
        }
        case "values": {
          const a = btf.resolve(m.type);
          if (a.kind !== "array") this.fail(`${what}: values is not an __array()`);
          const p = btf.resolve(a.type);
          if (p.kind !== "ptr") this.fail(`${what}: values must be an array of pointers`);
          const inner = btf.resolve(p.type);
          valuesAt = m.bitOffset / 8;
          if (inner.kind === "struct") {
            if (depth > 0) this.fail(`${what}: map-in-map nesting deeper than one level`);
            innerMap = this.btfMapDef(`${name}.inner`, inner.id, depth + 1);
            valuesKind = "maps";
          } else if (inner.kind === "func_proto") {
            valuesKind = "programs";
          } else {
            this.fail(`${what}: values must point to map definitions or functions`);
          }
          break;
        }
        default:
          this.fail(`${what}: unknown field ${m.name}`);
      }
    }
    if (type === undefined) this.fail(`${what}: no type`);
    if (valuesKind === "maps") {
      valueSize ??= 4;
      if (valueSize !== 4) this.fail(`${what}: map-in-map values must be 4 bytes (a map fd)`);
      valueTypeId = undefined;
    }
    if (valuesKind === "programs") {
      valueSize ??= 4;
      valueTypeId = undefined;
    }
    const spec: MapDefInternal = {
      name,
      type: mapTypeLabel(type),
      keySize: keySize ?? 0,
      valueSize: valueSize ?? 0,
      maxEntries,
      flags,
      origin: "btf",
      section: ".maps",
    };
    if (numaNode !== undefined) spec.numaNode = numaNode;
    if (mapExtra !== undefined) spec.mapExtra = mapExtra;
    if (pinning !== "none") spec.pinning = pinning;
    if (innerMap) spec.innerMap = innerMap;
    if (keyTypeId !== undefined || valueTypeId !== undefined) {
      spec.btf = { keyTypeId: keyTypeId ?? 0, valueTypeId: valueTypeId ?? 0 };
    }
    if (valuesAt !== undefined) spec[VALUES_AT] = valuesAt;
    return spec;
  }

  sizeOf(what: string, id: number): number {
    try {
      return this.btf!.sizeOf(id);
    } catch (e) {
      return this.fail(`${what}: type [${id}] has no size (${(e as Error).message})`);
    }
  }

  /**
   * The legacy `maps` section: one definition per symbol, all the same size,
   * read with the layout of the kernel's old samples/bpf `struct bpf_map_def`:
   * `type, key_size, value_size, max_entries, map_flags` (the 20 bytes
   * libbpf's own, now removed, `struct bpf_map_def` had), then
   * `inner_map_idx` and `numa_node`. `inner_map_idx` is read for
   * array_of_maps / hash_of_maps only: the index (in section order) of the
   * map whose shape the inner maps take; it becomes the outer map's
   * `innerMap`, as the template BTF `.maps` definitions give with
   * `__array(values, …)`. libbpf never read it (it refused non-zero bytes
   * past `map_flags`). iproute2's `struct bpf_elf_map` is another layout
   * (`id, pinning, inner_id, inner_idx` after `flags`) and is not read.
   */
  readLegacyMaps(): void {
    const sec = this.elf.sectionHeader("maps");
    if (!sec || sec.size === 0) return;
    const data = this.elf.sectionData(sec);
    const syms = this.symbols
      .filter((s) => s.sectionIndex === sec.index && s.name !== "" && s.type !== SymbolType.SECTION)
      .sort((a, b) => Number(a.value - b.value));
    if (syms.length === 0) this.fail("section maps has no symbols");
    const defSize = sec.size / syms.length;
    if (!Number.isInteger(defSize) || defSize < 20 || defSize % 4 !== 0) {
      this.fail(
        `section maps: ${sec.size} bytes do not divide into ${syms.length} map definitions`,
      );
    }
    const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
    const byOffset = new Map<number, string>();
    const innerIdx: [CollectionMapSpec, number][] = [];
    const iproute2: Iproute2MapDef[] = [];
    for (const s of syms) {
      const o = Number(s.value);
      if (o + defSize > data.length) this.fail(`legacy map ${s.name} lies outside its section`);
      const u = (
        i: number,
      ) => (o + i * 4 + 4 <= o + defSize ? dv.getUint32(o + i * 4, this.le) : 0);
      const spec: CollectionMapSpec = {
        name: s.name,
        type: mapTypeLabel(u(0)),
        keySize: u(1),
        valueSize: u(2),
        maxEntries: u(3),
        flags: u(4),
        origin: "legacy",
        section: "maps",
      };
      if (defSize === IPROUTE2_MAP_DEF_SIZE) {
        iproute2.push({ spec, id: u(5), pinning: u(6), innerId: u(7), innerIdx: u(8) });
      } else {
        this.checkLegacyTail(spec, defSize, u);
        if (defSize >= 28 && (spec.flags & MapCreateFlag.NUMA_NODE)) spec.numaNode = u(6);
        if (defSize >= 24 && isMapInMapType(mapTypeNumber(spec.type))) innerIdx.push([spec, u(5)]);
      }
      if (Object.hasOwn(this.maps, s.name)) this.fail(`two maps named ${s.name}`);
      this.maps[s.name] = spec;
      byOffset.set(o, s.name);
    }
    this.linkIproute2Maps(iproute2);
    for (const [spec, idx] of innerIdx) {
      const what = `legacy map ${spec.name}: inner_map_idx ${idx}`;
      if (idx >= syms.length) {
        this.fail(`${what} is past the ${syms.length} maps of section maps`);
      }
      const inner = this.maps[syms[idx].name];
      if (inner === spec) this.fail(`${what} names the map itself`);
      if (isMapInMapType(mapTypeNumber(inner.type))) {
        this.fail(`${what} names ${inner.name}, itself a map of maps (one level only)`);
      }
      spec.innerMap = legacyInnerTemplate(spec.name, inner);
    }
    this.mapSections.set(sec.index, byOffset);
  }

  /**
   * Refuses non-zero words after `map_flags` in a legacy definition that
   * this reader would not use: `inner_map_idx` of a map that is no map of
   * maps, `numa_node` without BPF_F_NUMA_NODE, anything past them (as
   * libbpf refused unknown non-zero fields).
   */
  checkLegacyTail(spec: CollectionMapSpec, defSize: number, u: (i: number) => number): void {
    const mapInMap = isMapInMapType(mapTypeNumber(spec.type));
    for (let i = 5; i < defSize / 4; i++) {
      const v = u(i);
      if (v === 0) continue;
      if (i === 5 && mapInMap) continue;
      if (i === 6 && (spec.flags & MapCreateFlag.NUMA_NODE)) continue;
      const why = i === 5
        ? `read as inner_map_idx, which only a map of maps takes (this is a ${spec.type} map)`
        : i === 6
        ? "read as numa_node, which needs map_flags BPF_F_NUMA_NODE"
        : "past the fields of struct bpf_map_def";
      this.fail(
        `legacy map ${spec.name}: its ${defSize}-byte definition has ${v} at byte ${i * 4}, ` +
          `${why}; the maps section holds struct bpf_map_def { type, key_size, value_size, ` +
          "max_entries, map_flags, inner_map_idx, numa_node }: remove the extra fields " +
          "(or define the map in .maps)",
      );
    }
  }

  /**
   * iproute2's `struct bpf_elf_map` (tc objects): `pinning` PIN_GLOBAL_NS
   * and PIN_OBJECT_NS pin by name (under `pinPath`: tc's own directory is
   * /sys/fs/bpf/tc/globals); a map of maps takes as inner template the map
   * whose `id` is its `inner_id`, and gets, at slot `inner_idx`, every map
   * with that `id` (and no `inner_id` of its own) whose `inner_idx` is set.
   */
  linkIproute2Maps(defs: Iproute2MapDef[]): void {
    for (const d of defs) {
      const what = `iproute2 map ${d.spec.name}`;
      if (d.pinning === 1 || d.pinning === 2) d.spec.pinning = "by_name";
      else if (d.pinning !== 0) {
        this.fail(
          `${what}: pinning ${d.pinning} is a custom pinning of iproute2's bpf_pinning ` +
            "file, which denobpf does not read (use PIN_GLOBAL_NS)",
        );
      }
    }
    for (const outer of defs) {
      if (!isMapInMapType(mapTypeNumber(outer.spec.type))) continue;
      const what = `iproute2 map ${outer.spec.name}`;
      if (outer.innerId === 0) this.fail(`${what}: a map of maps needs inner_id`);
      const members = defs.filter((d) => d.id === outer.innerId && d !== outer);
      if (members.length === 0) this.fail(`${what}: no map has id ${outer.innerId} (inner_id)`);
      const t = members[0].spec;
      if (isMapInMapType(mapTypeNumber(t.type))) {
        this.fail(`${what}: inner_id names ${t.name}, itself a map of maps`);
      }
      outer.spec.innerMap = legacyInnerTemplate(outer.spec.name, t);
      for (const m of members) {
        if (m.innerId !== 0 || m.innerIdx === 0xffffffff) continue;
        (outer.spec.contents ??= []).push({ key: m.innerIdx, value: m.spec.name });
      }
    }
  }

  readDataSections(): void {
    for (const sec of this.elf.sections) {
      if (!DATA_SECTION.test(sec.name) || !(sec.flags & SHF_ALLOC) || sec.size === 0) continue;
      if (sec.flags & SHF_EXECINSTR) continue;
      const readOnly = sec.name.startsWith(".rodata");
      if (sec.size > MAX_DATA_SECTION) {
        this.fail(
          `section ${sec.name}: ${sec.size} bytes of global data; an array map's value ` +
            `holds at most ${MAX_DATA_SECTION} (the kernel's KMALLOC_MAX_SIZE is smaller still)`,
        );
      }
      const data = new Uint8Array(sec.size);
      if (sec.type !== SectionType.NOBITS) data.set(this.elf.sectionData(sec));
      const ds = this.datasec(sec.name);
      const spec: CollectionMapSpec = {
        name: sec.name.slice(0, 15),
        type: "array",
        keySize: 4,
        valueSize: sec.size,
        maxEntries: 1,
        flags: MapCreateFlag.MMAPABLE | (readOnly ? MapCreateFlag.RDONLY_PROG : 0),
        contents: [{ key: 0, value: data }],
        freeze: readOnly,
        origin: "data",
        section: sec.name,
      };
      if (ds) spec.btf = { keyTypeId: 0, valueTypeId: ds.id };
      this.maps[sec.name] = spec;
      this.dataSections.set(sec.index, sec.name);
      const add = (name: string, offset: number, size: number, typeId?: number) => {
        const loc = { name, mapName: sec.name, offset, size, typeId };
        const v = new VariableSpec(loc, spec, {
          btf: this.btf,
          littleEndian: this.le,
          constant: readOnly,
        });
        const key = Object.hasOwn(this.variables, name) ? `${sec.name}/${name}` : name;
        this.variables[key] = v;
      };
      const described: [number, number][] = [];
      if (ds && this.btf) {
        for (const vs of ds.vars) {
          const v = this.btf.typeById(vs.type);
          if (v.kind !== "var") continue;
          const sym = this.symbolIn(sec.index, v.name);
          const offset = sym ? Number(sym.value) : vs.offset;
          let size = vs.size;
          if (size === 0) {
            try {
              size = this.btf.sizeOf(v.type);
            } catch {
              size = sym ? Number(sym.size) : 0;
            }
          }
          if (offset + size > sec.size) continue;
          add(v.name, offset, size, v.type);
          described.push([offset, offset + size]);
        }
      }
      // Without BTF for the section, and for what its DATASEC leaves out
      // (clang 9 omits global variables): the symbol table's objects, but
      // not the compiler's local labels (`.Lconstinit.1`).
      for (const sym of this.symbols) {
        if (sym.sectionIndex !== sec.index || sym.type !== SymbolType.OBJECT) continue;
        if (sym.size === 0n || sym.name === "" || sym.name.startsWith(".L")) continue;
        const start = Number(sym.value);
        const end = start + Number(sym.size);
        if (end > sec.size || described.some(([s, e]) => start < e && end > s)) continue;
        add(sym.name, start, end - start);
      }
    }
  }

  readExterns(): void {
    const btf = this.btf;
    const undef = new Map<string, ElfSymbol>();
    for (const s of this.symbols) {
      if (s.sectionIndex === SectionIndex.UNDEF && s.name !== "") undef.set(s.name, s);
    }
    // Without BTF, undefined symbols are references left to the user.
    if (!btf) return;
    const kconfig = this.datasec(".kconfig");
    if (kconfig) {
      const items: { name: string; typeId: number; size: number; align: number; weak: boolean }[] =
        [];
      for (const vs of kconfig.vars) {
        const v = btf.typeById(vs.type);
        if (v.kind !== "var") continue;
        const { size, align } = kconfigLayout(this, btf, v.name, v.type);
        const sym = undef.get(v.name);
        items.push({
          name: v.name,
          typeId: v.id,
          size,
          align,
          weak: sym?.bind === SymbolBinding.WEAK,
        });
      }
      // libbpf's order: alignment descending, then size ascending, then name.
      items.sort((a, b) =>
        b.align - a.align || a.size - b.size || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)
      );
      let off = 0;
      for (const it of items) {
        off = Math.ceil(off / it.align) * it.align;
        this.externs[it.name] = {
          name: it.name,
          kind: "kconfig",
          weak: it.weak,
          typeId: it.typeId,
          offset: off,
          size: it.size,
        };
        off += it.size;
      }
      if (!Number.isSafeInteger(off) || off > MAX_DATA_SECTION) {
        this.fail(`.kconfig: its externs take ${off} bytes, more than a map value holds`);
      }
      if (items.length > 0) {
        this.maps[".kconfig"] = {
          name: ".kconfig",
          type: "array",
          keySize: 4,
          valueSize: off,
          maxEntries: 1,
          flags: MapCreateFlag.RDONLY_PROG | MapCreateFlag.MMAPABLE,
          contents: [{ key: 0, value: new Uint8Array(off) }],
          freeze: true,
          origin: "kconfig",
          section: ".kconfig",
          btf: { keyTypeId: 0, valueTypeId: kconfig.id },
        };
      }
    }
    const ksyms = this.datasec(".ksyms");
    if (ksyms) {
      for (const vs of ksyms.vars) {
        const v = btf.typeById(vs.type);
        const sym = undef.get(v.name);
        const weak = sym?.bind === SymbolBinding.WEAK;
        if (v.kind === "func") {
          this.externs[v.name] = { name: v.name, kind: "kfunc", weak, typeId: v.id };
        } else if (v.kind === "var") {
          const typed = btf.resolve(v.type).kind !== "void";
          this.externs[v.name] = { name: v.name, kind: "ksym", weak, typeId: v.id, typed };
        }
      }
    }
  }

  /** `.struct_ops` and `.struct_ops.link` variables: struct_ops maps. */
  readStructOps(): void {
    for (const sec of this.elf.sections) {
      if (sec.name !== ".struct_ops" && sec.name !== ".struct_ops.link") continue;
      const btf = this.btf;
      const ds = this.datasec(sec.name);
      if (!btf || !ds) this.fail(`section ${sec.name} needs BTF (compile with -g)`);
      const data = this.elf.sectionData(sec);
      const relocs = this.relocsBySection.get(sec.index) ?? [];
      for (const vs of ds.vars) {
        const v = btf.typeById(vs.type);
        if (v.kind !== "var") continue;
        const t = btf.resolve(v.type);
        if (t.kind !== "struct") this.fail(`${sec.name} variable ${v.name} is not a struct`);
        const sym = this.symbolIn(sec.index, v.name);
        const off = sym ? Number(sym.value) : vs.offset;
        if (off + t.size > data.length) this.fail(`${sec.name} variable ${v.name} is truncated`);
        const programs: Record<string, string> = {};
        for (const r of relocs) {
          const ro = Number(r.offset);
          if (ro < off || ro >= off + t.size) continue;
          const m = t.members.find((x) => x.bitOffset / 8 === ro - off);
          const target = this.symbols[r.symbolIndex];
          if (!m || !target) {
            this.fail(`${sec.name} ${v.name}: relocation at ${ro} is not a member`);
          }
          const f = this.funcAt(target.sectionIndex, Number(target.value) / 8);
          if (!f) this.fail(`${sec.name} ${v.name}.${m.name} does not point at a program`);
          programs[m.name] = f.name;
        }
        if (Object.hasOwn(this.maps, v.name)) this.fail(`two maps named ${v.name}`);
        this.maps[v.name] = {
          name: v.name.slice(0, 15),
          type: "struct_ops",
          keySize: 4,
          valueSize: 0,
          maxEntries: 1,
          flags: sec.name === ".struct_ops.link" ? STRUCT_OPS_LINK_FLAG : 0,
          origin: "struct_ops",
          section: sec.name,
          structOps: {
            typeName: t.name,
            localTypeId: t.id,
            data: data.slice(off, off + t.size),
            programs,
          },
        };
      }
    }
  }

  // ---- code ---------------------------------------------------------------

  readCode(): void {
    for (const sec of this.elf.sections) {
      if (sec.type !== SectionType.PROGBITS || !(sec.flags & SHF_EXECINSTR) || sec.size === 0) {
        continue;
      }
      if (sec.size % 8 !== 0) {
        this.fail(`section ${sec.name}: size ${sec.size} is not whole instructions`);
      }
      const insns = this.elf.sectionData(sec).slice();
      if (!this.le) swapInsnsToLittle(insns);
      const count = insns.length / 8;
      const funcs: Func[] = [];
      const syms = this.functionSymbols(sec.index);
      const starts = syms.map((s) => Number(s.value) / 8);
      for (const s of syms) {
        const start = Number(s.value) / 8;
        let len = Number(s.size) / 8;
        if (!Number.isInteger(start) || start >= count) {
          this.fail(`function ${s.name} starts outside section ${sec.name}`);
        }
        // No size (clang < 8's STT_NOTYPE symbols): up to the next function.
        if (len === 0) {
          len = starts.reduce((end, o) => (o > start && o < end ? o : end), count) - start;
        }
        if (!Number.isInteger(len) || start + len > count) {
          this.fail(
            `function ${s.name}: ${s.size} bytes from offset ${s.value} overrun section ` +
              `${sec.name} (${sec.size} bytes)`,
          );
        }
        funcs.push({ name: s.name, sec, start, len, global: s.bind !== SymbolBinding.LOCAL });
      }
      if (funcs.length === 0) {
        // Hand-written objects without function symbols: the section is one program.
        const name = sec.name.replace(/[^A-Za-z0-9_]/g, "_");
        funcs.push({ name, sec, start: 0, len: count, global: true });
      }
      funcs.sort((a, b) => a.start - b.start);
      const relocs = new Map<number, ElfRelocation>();
      for (const r of this.relocsBySection.get(sec.index) ?? []) {
        relocs.set(Number(r.offset) / 8, r);
      }
      this.code.set(sec.index, { sec, insns, funcs, relocs });
    }
  }

  /**
   * The symbols of the functions in code section `secIndex`: its STT_FUNC
   * symbols or, when it has none (clang < 8 marks functions STT_NOTYPE), its
   * named STT_NOTYPE symbols other than local labels (`LBB0_2`, `.Ltmp0`).
   */
  functionSymbols(secIndex: number): ElfSymbol[] {
    const inSec = this.symbols.filter((s) => s.sectionIndex === secIndex && s.name !== "");
    const funcs = inSec.filter((s) => s.type === SymbolType.FUNC);
    if (funcs.length > 0) return funcs;
    return inSec.filter((s) =>
      s.type === SymbolType.NOTYPE &&
      !(s.bind === SymbolBinding.LOCAL && /^(LBB|\.L)/.test(s.name))
    );
  }

  funcAt(secIndex: number, insn: number): Func | undefined {
    const sc = this.code.get(secIndex);
    if (!sc) return undefined;
    for (const f of sc.funcs) if (insn >= f.start && insn < f.start + f.len) return f;
    return undefined;
  }

  link(entry: Func): CollectionProgramSpec {
    const layout: Func[] = [entry];
    const starts = new Map<Func, number>([[entry, 0]]);
    let total = entry.len;
    const schedule = (f: Func) => {
      if (!starts.has(f)) {
        starts.set(f, total);
        layout.push(f);
        total += f.len;
      }
    };
    const fixups: { pos: number; target: Func; delta: number }[] = [];
    const references: ProgramReference[] = [];
    const where = (f: Func, i: number) => `${f.sec.name}+${(f.start + i) * 8} (in ${f.name})`;
    for (let k = 0; k < layout.length; k++) {
      const f = layout[k];
      const base = starts.get(f)!;
      const sc = this.code.get(f.sec.index)!;
      const ins = new Insns(sc.insns);
      for (let i = 0; i < f.len; i++) {
        const si = f.start + i;
        const op = ins.op(si);
        const r = sc.relocs.get(si);
        if (op === OP_CALL) {
          let targetSec: number;
          let target: number;
          if (r) {
            const sym = this.symbols[r.symbolIndex];
            if (!sym) {
              this.fail(`${where(f, i)}: relocation refers to missing symbol ${r.symbolIndex}`);
            }
            if (sym.sectionIndex === SectionIndex.UNDEF) {
              const ext = this.externs[sym.name];
              // A function only declared: the program keeps the reference
              // (and fails at load unless it is resolved); others load.
              if (ext?.kind === "kfunc") {
                references.push({ kind: "ksym", insn: base + i, extern: sym.name });
              } else references.push({ kind: "symbol", insn: base + i, symbol: sym.name });
              continue;
            }
            targetSec = sym.sectionIndex;
            target = Number(sym.value) / 8 + ins.imm(si) + 1;
          } else if (ins.src(si) === PSEUDO_CALL) {
            targetSec = f.sec.index;
            target = si + ins.imm(si) + 1;
          } else continue; // helper call
          const tf = this.funcAt(targetSec, target);
          if (!tf) this.fail(`${where(f, i)}: call target is not a function`);
          ins.setSrc(si, PSEUDO_CALL);
          schedule(tf);
          fixups.push({ pos: base + i, target: tf, delta: target - tf.start });
        } else if (op === OP_LDDW) {
          if (r) this.lddw(f, i, base, r, ins, references, fixups, schedule, where);
          i++;
        } else if (r) {
          if (r.type === BpfRelocationType.NONE) continue;
          this.fail(
            `${where(f, i)}: relocation on an instruction (opcode 0x${op.toString(16)}) ` +
              "that is neither a call nor a 64-bit load",
          );
        }
      }
    }
    // Assemble: the entry function, then every subprogram it reaches.
    const out = new Uint8Array(total * 8);
    const functions: ProgramFunction[] = [];
    for (const f of layout) {
      const sc = this.code.get(f.sec.index)!;
      const base = starts.get(f)!;
      out.set(sc.insns.subarray(f.start * 8, (f.start + f.len) * 8), base * 8);
      functions.push({ name: f.name, insnOff: base, length: f.len, section: f.sec.name });
    }
    const ins = new Insns(out);
    for (const fx of fixups) ins.setImm(fx.pos, starts.get(fx.target)! + fx.delta - (fx.pos + 1));
    // .BTF.ext records, moved to the program's frame.
    const funcInfos: FuncInfoRecord[] = [];
    const lineInfos: LineInfoRecord[] = [];
    const coreRelos: CoreRelocationRecord[] = [];
    if (this.ext) {
      for (const f of layout) {
        const base = starts.get(f)!;
        const move = <T extends { insnOff: number }>(list: readonly T[] | undefined, into: T[]) => {
          if (!list) return;
          for (const r of list) {
            if (r.insnOff >= f.start && r.insnOff < f.start + f.len) {
              into.push({ ...r, insnOff: r.insnOff - f.start + base });
            }
          }
        };
        move(this.ext.funcInfo.get(f.sec.name), funcInfos);
        move(this.ext.lineInfo.get(f.sec.name), lineInfos);
        move(this.ext.coreRelos.get(f.sec.name), coreRelos);
      }
    }
    const info = sectionInfo(entry.sec.name);
    const spec: CollectionProgramSpec = {
      name: entry.name,
      sectionName: entry.sec.name,
      type: info?.programType ?? "unspec",
      instructions: out,
      license: this.license,
      flags: info?.flags ?? 0,
      references,
      funcInfos,
      lineInfos,
      coreRelos,
      functions,
    };
    if (info?.attachType) spec.attachType = info.attachType;
    if (info?.attachTo !== undefined) spec.attachTo = info.attachTo;
    if (info?.btfAttach) spec.btfAttach = info.btfAttach;
    if (info?.retprobe) spec.retprobe = true;
    if (this.kernelVersion !== undefined) spec.kernelVersion = this.kernelVersion;
    return spec;
  }

  lddw(
    f: Func,
    i: number,
    base: number,
    r: ElfRelocation,
    ins: Insns,
    references: ProgramReference[],
    fixups: { pos: number; target: Func; delta: number }[],
    schedule: (f: Func) => void,
    where: (f: Func, i: number) => string,
  ): void {
    const si = f.start + i;
    const sym = this.symbols[r.symbolIndex];
    if (!sym) this.fail(`${where(f, i)}: relocation refers to missing symbol ${r.symbolIndex}`);
    const insn = base + i;
    if (sym.sectionIndex === SectionIndex.UNDEF) {
      const ext = this.externs[sym.name];
      if (!ext) {
        // Inline asm's `r0 = MY_CONST ll`: kept for the user to resolve.
        references.push({ kind: "symbol", insn, symbol: sym.name });
        return;
      }
      if (ext.kind === "kconfig") {
        references.push({ kind: "map_value", insn, map: ".kconfig", offset: ext.offset! });
      } else references.push({ kind: "ksym", insn, extern: sym.name });
      return;
    }
    const secIndex = sym.sectionIndex;
    const mapSec = this.mapSections.get(secIndex);
    if (mapSec) {
      const off = Number(sym.value) + (sym.type === SymbolType.SECTION ? ins.imm(si) : 0);
      const name = mapSec.get(off);
      if (name === undefined) this.fail(`${where(f, i)}: no map at offset ${off} of ${sym.name}`);
      references.push({ kind: "map", insn, map: name });
      return;
    }
    const data = this.dataSections.get(secIndex);
    if (data !== undefined) {
      references.push({
        kind: "map_value",
        insn,
        map: data,
        offset: Number(sym.value) + ins.imm(si),
      });
      return;
    }
    if (this.code.has(secIndex)) {
      const target = (Number(sym.value) + ins.imm(si)) / 8;
      const tf = this.funcAt(secIndex, target);
      if (!tf) this.fail(`${where(f, i)}: function pointer does not point at a function`);
      ins.setSrc(si, PSEUDO_FUNC);
      schedule(tf);
      fixups.push({ pos: insn, target: tf, delta: target - tf.start });
      return;
    }
    const sec = this.elf.sections[secIndex];
    this.fail(
      `${where(f, i)}: 64-bit load refers to ${sym.name || "a symbol"} in section ` +
        `${sec?.name ?? secIndex}, which is neither a map, global data nor code`,
    );
  }

  /** Initial values of map-in-map and program arrays, from `.rel.maps`. */
  resolveMapContents(programs: Record<string, CollectionProgramSpec>): void {
    const sec = this.elf.sectionHeader(".maps");
    if (!sec) return;
    const relocs = this.relocsBySection.get(sec.index);
    if (!relocs) return;
    for (const r of relocs) {
      const off = Number(r.offset);
      const sym = this.symbols[r.symbolIndex];
      let owner: MapDefInternal | undefined;
      for (const m of Object.values(this.maps) as MapDefInternal[]) {
        if (m.origin !== "btf") continue;
        const start = m[VALUES_AT];
        if (start === undefined) continue;
        if (off >= start && (owner === undefined || start > owner[VALUES_AT]!)) owner = m;
      }
      if (!owner || !sym) this.fail(`.rel.maps: relocation at ${off} is not in a values array`);
      const index = (off - owner[VALUES_AT]!) / 8;
      if (!Number.isInteger(index) || index >= owner.maxEntries) {
        this.fail(`map ${owner.name}: initial value index ${index} is out of range`);
      }
      let value: string;
      if (this.code.has(sym.sectionIndex)) {
        const f = this.funcAt(sym.sectionIndex, Number(sym.value) / 8);
        if (!f || !programs[f.name]) this.fail(`map ${owner.name}: ${sym.name} is not a program`);
        value = f.name;
      } else {
        const byOff = this.mapSections.get(sym.sectionIndex);
        const name = byOff?.get(Number(sym.value));
        if (!name) this.fail(`map ${owner.name}: initial value ${sym.name} is not a map`);
        value = name;
      }
      const contents: MapContent[] = owner.contents ??= [];
      contents.push({ key: index, value });
    }
    for (const m of Object.values(this.maps) as MapDefInternal[]) delete m[VALUES_AT];
  }
}

const VALUES_AT = Symbol("valuesAt");
type MapDefInternal = CollectionMapSpec & { [VALUES_AT]?: number };

function checkSize(r: Reader, what: string, field: string, old: number | undefined, n: number) {
  if (old !== undefined && old !== n) {
    r.fail(`${what}: ${field} gives size ${n}, but another field says ${old}`);
  }
  return n;
}

function mapTypeLabel(type: number): MapTypeName | number {
  const n = mapTypeName(type);
  return /^type /.test(n) || n === "unspec" ? type : n as MapTypeName;
}

/** Size and alignment of a `.kconfig` extern, by its BTF type. */
function kconfigLayout(r: Reader, btf: Spec, name: string, typeId: number) {
  let t: BtfType;
  try {
    t = btf.resolve(typeId);
  } catch {
    return r.fail(`kconfig extern ${name}: bad type`);
  }
  switch (t.kind) {
    case "int":
      if (![1, 2, 4, 8].includes(t.size)) break;
      return { size: t.size, align: t.size };
    case "enum":
    case "enum64":
      return { size: t.size, align: t.size };
    case "array": {
      const el = btf.resolve(t.type);
      if (el.kind === "int" && el.size === 1) return { size: t.nelems, align: 1 };
      break;
    }
  }
  return r.fail(
    `kconfig extern ${name} has an unsupported type (${t.kind}): use bool, char, an integer, ` +
      "enum libbpf_tristate or a char array",
  );
}

/** Throws when an object cannot be loaded on this machine: its byte order differs. */
export function checkNativeByteOrder(spec: CollectionSpec): void {
  const host = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? "little" : "big";
  if (spec.byteOrder !== host) {
    throw new InvalidArgumentError(
      `the object is ${spec.byteOrder}-endian (clang -target bpf${
        spec.byteOrder === "big" ? "eb" : "el"
      }) but this machine is ${host}-endian: rebuild it with -target bpf${
        host === "big" ? "eb" : "el"
      } (or -target bpf)`,
    );
  }
}
