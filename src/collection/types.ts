/**
 * The shapes `loadCollectionSpec` produces: a {@linkcode CollectionSpec}
 * holding map, program and variable specs read from an object file,
 * independent of the running kernel. They are plain data: edit them
 * (change `maxEntries`, delete a program, set a variable) before
 * `loadCollection`.
 *
 * @module
 */

import type { Spec } from "../btf/spec.ts";
import type { CoreRelocationRecord, FuncInfoRecord, LineInfoRecord } from "../btf/ext.ts";
import type { MapSpec } from "../map/spec.ts";
import type { ProgramSpec } from "../program/types.ts";
import type { BtfAttachKind } from "./sections.ts";
import type { VariableSpec } from "./variables.ts";

/** One initial entry of a map: a key and a value, or the name of a map or program. */
export interface MapContent {
  /** The key: an index for array-like maps, or raw key bytes. */
  key: number | Uint8Array;
  /**
   * The value: raw bytes, or — for map-in-map and program arrays — the name
   * of a map or program of the same collection (its descriptor is stored).
   */
  value: Uint8Array | string;
}

/** Where a map of a collection came from. */
export type MapOrigin =
  /** A BTF-defined map in `.maps`. */
  | "btf"
  /** A `struct bpf_map_def` in the legacy `maps` section. */
  | "legacy"
  /** A global data section (`.data`, `.rodata`, `.bss`, `.data.*`, `.rodata.*`). */
  | "data"
  /** The `.kconfig` extern values. */
  | "kconfig"
  /** A `.struct_ops` / `.struct_ops.link` variable: a kernel struct of BPF programs. */
  | "struct_ops";

/** What a struct_ops map is made of (from a `.struct_ops` variable). */
export interface StructOpsSpec {
  /** The local struct type's name, e.g. `"tcp_congestion_ops"` (flavours allowed). */
  typeName: string;
  /** The local struct type's id in the object's BTF. */
  localTypeId: number;
  /** The variable's initial bytes, in the local struct's layout. */
  data: Uint8Array;
  /** Function-pointer members set to programs of the object: member name → program name. */
  programs: Record<string, string>;
}

/** A map of a collection, before it is created. */
export interface CollectionMapSpec extends MapSpec {
  /** The name: the ELF symbol, or the section for global data (`".rodata"`). */
  name: string;
  /** Key size in bytes. */
  keySize: number;
  /** Value size in bytes. */
  valueSize: number;
  /** Maximum entries. */
  maxEntries: number;
  /** BPF_MAP_CREATE flags. */
  flags: number;
  /**
   * For map-in-map types: the inner maps' shape, from `__array(values, …)`
   * in `.maps`, or from `inner_map_idx` (the index of another definition)
   * in the legacy `maps` section.
   */
  innerMap?: CollectionMapSpec;
  /** Entries written after creation (and before programs load). */
  contents?: MapContent[];
  /** Freeze the map (BPF_MAP_FREEZE) once `contents` are written: `.rodata`, `.kconfig`. */
  freeze?: boolean;
  /** Where the map came from. */
  origin: MapOrigin;
  /** For struct_ops maps: the struct's local type, data and programs. */
  structOps?: StructOpsSpec;
  /** The ELF section it was defined in. */
  section: string;
}

/** A reference from an instruction to something resolved at load time. */
export type ProgramReference =
  /** `lddw rX, map` (BPF_PSEUDO_MAP_FD). */
  | { kind: "map"; insn: number; map: string }
  /** `lddw rX, map value + offset` (BPF_PSEUDO_MAP_VALUE): global data, `.kconfig`. */
  | { kind: "map_value"; insn: number; map: string; offset: number }
  /** A `.ksyms` extern: a variable's address (lddw) or a kfunc (call or lddw). */
  | { kind: "ksym"; insn: number; extern: string }
  /**
   * A symbol the object does not define: a constant of inline assembly
   * (`r0 = MY_CONST ll`), a call to a function that is only declared. The
   * instruction is left as clang wrote it, and `loadCollection` refuses the
   * program while the reference is there: to load it, write what the
   * symbol stands for into the instruction and remove the reference (or
   * set `autoload` to false to load the other programs without it).
   */
  | { kind: "symbol"; insn: number; symbol: string };

/** A function of a linked program: the entry point or an appended subprogram. */
export interface ProgramFunction {
  /** The function's symbol name. */
  name: string;
  /** Its first instruction in the linked program. */
  insnOff: number;
  /** Its number of instruction slots. */
  length: number;
  /** The ELF section it came from. */
  section: string;
}

/**
 * A program of a collection, before it is loaded: the entry function with
 * every subprogram it calls appended (calls already point at them), plus
 * what the loader fills in from the kernel (maps, externs, CO-RE).
 */
export interface CollectionProgramSpec extends ProgramSpec {
  /** The entry function's name (the kernel keeps its first 15 characters). */
  name: string;
  /** The ELF section, e.g. `"kprobe/do_sys_open"`. */
  sectionName: string;
  /** The part of the section name after the kind, e.g. `"do_sys_open"`. */
  attachTo?: string;
  /** For programs attached by BTF id (tp_btf, fentry, lsm, iter): how the target is found. */
  btfAttach?: BtfAttachKind;
  /** True for kretprobe/uretprobe sections. */
  retprobe?: boolean;
  /** The linked instructions (host byte order), before load-time relocation. */
  instructions: Uint8Array;
  /** The object's license (the `license` section). */
  license: string;
  /** `prog_flags` from the section kind (sleepable, XDP frags); editable. */
  flags: number;
  /** Instructions that refer to maps and externs. */
  references: ProgramReference[];
  /** `.BTF.ext` function info, instruction offsets within this program. */
  funcInfos: FuncInfoRecord[];
  /** `.BTF.ext` line info, instruction offsets within this program. */
  lineInfos: LineInfoRecord[];
  /** CO-RE relocations, instruction offsets within this program. */
  coreRelos: CoreRelocationRecord[];
  /** The functions the program is made of, entry first. */
  functions: ProgramFunction[];
  /** Set to false to leave the program out of `loadCollection` (like libbpf's autoload). */
  autoload?: boolean;
}

/** What kind of extern a `.kconfig`/`.ksyms` declaration is. */
export type ExternKind = "kconfig" | "ksym" | "kfunc";

/** An `extern` the object declares (`__kconfig` or `__ksym`). */
export interface ExternSpec {
  /** The symbol name. */
  name: string;
  /** Where its value comes from. */
  kind: ExternKind;
  /** Declared `__weak`: a missing value is zero (or the call is poisoned), not an error. */
  weak: boolean;
  /** The `VAR` or `FUNC` type id in the object's BTF. */
  typeId: number;
  /** For `.kconfig`: the offset of the value in the `.kconfig` map. */
  offset?: number;
  /** For `.kconfig`: the value's size in bytes. */
  size?: number;
  /** For `.ksyms` variables: false for `extern const void sym` (address from kallsyms). */
  typed?: boolean;
}

/** Everything an object file describes, independent of the running kernel. */
export interface CollectionSpec {
  /** Maps by name (BTF maps, legacy maps, global data sections, `.kconfig`). */
  maps: Record<string, CollectionMapSpec>;
  /** Programs by entry function name. */
  programs: Record<string, CollectionProgramSpec>;
  /** Global variables (from the data sections' BTF), to read and set before load. */
  variables: Record<string, VariableSpec>;
  /** The object's BTF (`.BTF`), if it has any. */
  types?: Spec;
  /** The `.kconfig` and `.ksyms` externs by name. */
  externs: Record<string, ExternSpec>;
  /** Byte order of the object. */
  byteOrder: "little" | "big";
  /** The object's license. */
  license: string;
  /** The `version` section (legacy kprobe kernel version), if any. */
  kernelVersion?: number;
  /** The raw `.BTF` bytes (marshalled anew for the kernel at load). */
  btfBytes?: Uint8Array;
  /** ELF section sizes and variable offsets the BTF fix-ups need. */
  layout: ObjectLayout;
}

/** Facts from the ELF file that BTF fix-ups need (clang leaves DATASEC sizes to the loader). */
export interface ObjectLayout {
  /** Section name → size, for every allocated section. */
  sectionSizes: Record<string, number>;
  /** `"<section>/<symbol>"` → symbol value (offset in the section). */
  symbolOffsets: Record<string, number>;
}
