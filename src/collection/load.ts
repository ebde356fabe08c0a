/**
 * `loadCollection`: creating the maps of a {@linkcode CollectionSpec},
 * writing their initial contents (global data, `.kconfig`, map-in-map and
 * program-array entries), loading the object's BTF, relocating every
 * program for the running kernel and loading it, as libbpf's
 * `bpf_object__load` does.
 *
 * @module
 */

import { InvalidArgumentError, NotFoundError } from "../errors.ts";
import { CoreRelocationKind, type CoreRelocationResult, essentialName } from "../btf/core.ts";
import { marshalProgramBtf } from "../btf/marshal.ts";
import { marshalFuncInfos, marshalLineInfos } from "../btf/ext.ts";
import { loadBtfObject } from "../btf/_load.ts";
import { createMap } from "../map/map.ts";
import type { BpfMap } from "../map/map.ts";
import type { MapMemory } from "../map/memory.ts";
import { isMapInMapType, MapType, mapTypeNumber } from "../map/types.ts";
import { loadProgramAsync } from "../program/load.ts";
import type { Program } from "../program/program.ts";
import type { ProgramSpec } from "../program/types.ts";
import { ProgramType } from "../sys/abi.ts";
import { SyscallError } from "../sys/error.ts";
import type { FD } from "../sys/fd.ts";
import { probeBtfFeatures } from "../features/btf_kinds.ts";
import { KernelEnv } from "./_kernel.ts";
import { assertReplacementMatches, createCollectionMap, namingMap, u32Key } from "./_load_maps.ts";
import {
  freplaceTargetId,
  ParallelLoads,
  refuseUnresolvedSymbol,
  refuseUntypedPrograms,
} from "./_load_programs.ts";
import { makeVariables } from "./_load_variables.ts";
import { Collection } from "./collection.ts";
import { fillKconfig } from "./kconfig.ts";
import { checkNativeByteOrder, loadCollectionSpec } from "./reader.ts";
import {
  explainLoadError,
  kernelTypesSpec,
  relocate,
  type RelocatedProgram,
  type RelocateOptions,
} from "./relocate.ts";
import type { CollectionProgramSpec, CollectionSpec } from "./types.ts";
import {
  type KernelStructOps,
  resolveStructOps,
  structOpsMembers,
  structOpsValue,
} from "./struct_ops.ts";

/** Options of {@linkcode loadCollection}. */
export interface CollectionOptions extends RelocateOptions {
  /** Use these maps instead of creating the ones of the same name (they are not closed by the collection). */
  replaceMaps?: Readonly<Record<string, BpfMap>>;
  /**
   * bpffs directory for maps with `pinning: "by_name"` (LIBBPF_PIN_BY_NAME):
   * a compatible map pinned there is reused, otherwise the new map is pinned.
   * Default `/sys/fs/bpf`, as libbpf.
   */
  pinPath?: string;
  /** Verifier log level for every program (see `LogLevel`); 0 asks for a log only on failure. */
  logLevel?: number;
  /** Initial verifier log buffer size. */
  logSize?: number;
  /** Values for `.kconfig` externs that override the kernel config (`{ CONFIG_HZ: "1000" }`). */
  kconfig?: Readonly<Record<string, string>>;
  /** Load without BTF (no func/line info, no map BTF), e.g. to compare with an old loader. */
  noBtf?: boolean;
  /**
   * How many program loads are in flight at once, each verified on a
   * worker thread while the next programs are relocated. Default: twice the
   * number of CPUs, 4 to 16; 1 loads them one at a time, in order, as
   * libbpf does.
   */
  parallel?: number;
}

/**
 * Loads an object's maps and programs into the kernel and returns them as
 * a {@linkcode Collection}. `spec` is a {@linkcode CollectionSpec} from
 * `loadCollectionSpec` (possibly edited), or directly a path or the bytes
 * of an object file.
 *
 * Order of work (as libbpf): the object's BTF is loaded (sanitised for the
 * kernel when it rejects newer kinds), maps are created and filled
 * (`.rodata` and `.kconfig` frozen), programs are relocated (CO-RE,
 * externs, attach targets, map descriptors) and loaded, then program
 * arrays are filled. On failure everything created so far is released.
 *
 * Errors: `VerifierError` (with the log) when the verifier rejects a
 * program; `CoreRelocationError` when it rejects one because a poisoned
 * CO-RE relocation was reached; `MissingModuleBtfError` when that
 * relocation (or an fentry target) needs a type of a kernel module whose
 * BTF file is missing; `NotFoundError` for missing externs; the map and
 * program errors of `createMap` and `loadProgram` otherwise.
 *
 * @example
 * ```ts ignore
 * using coll = await loadCollection("testdata/bpf/basic_bpfel.o", { pinPath: "/sys/fs/bpf" });
 * coll.programs.sock_count.testRunSync({ data: new Uint8Array(64) });
 * ```
 */
export async function loadCollection(
  spec: CollectionSpec | string | URL | Uint8Array,
  options: CollectionOptions = {},
): Promise<Collection> {
  const s = typeof spec === "string" || spec instanceof URL || spec instanceof Uint8Array
    ? loadCollectionSpec(spec)
    : spec;
  checkNativeByteOrder(s);
  const loader = new CollectionLoader(s, options);
  try {
    loader.refuseUntypedPrograms();
    loader.readKconfig();
    loader.loadBtf();
    loader.prefetchKernelNames();
    loader.createMaps();
    loader.populateMaps();
    await loader.loadPrograms();
    loader.populateProgramArrays();
    return loader.finalize();
  } catch (e) {
    loader.close();
    throw e;
  }
}

/** How a struct_ops program is loaded against the member it implements. */
interface StructOpsAttach {
  /** The kernel struct (e.g. `tcp_congestion_ops`). */
  attachBtfId: number;
  /** The member's index in the struct. */
  attachType: number;
  /** The module owning the struct, if not vmlinux. */
  module?: string;
}

/**
 * One load of a {@linkcode CollectionSpec}, as cilium/ebpf's
 * `collectionLoader`: its steps are its public methods, called in the order
 * they are declared; {@linkcode CollectionLoader.finalize} hands everything
 * over to a {@linkcode Collection}, {@linkcode CollectionLoader.close}
 * releases what the steps made when one of them fails.
 */
class CollectionLoader {
  readonly #spec: CollectionSpec;
  readonly #options: CollectionOptions;
  /** Kernel BTF, kallsyms and module BTF descriptors for this load. */
  readonly #env: KernelEnv;
  /** The `.kconfig` map's value, read from the kernel (the spec keeps its zeros). */
  #kconfig?: Uint8Array;
  /** The object's BTF loaded into the kernel; undefined without BTF. */
  #btfFd?: FD;
  /** Every map of the spec, by name: created, reused from a pin, or borrowed. */
  readonly #maps: Record<string, BpfMap> = {};
  /** Maps from `replaceMaps`: the caller's, never written nor closed here. */
  readonly #borrowed = new Set<BpfMap>();
  /** Pinned maps reused from `pinPath`: they keep what they hold. */
  readonly #reused = new Set<BpfMap>();
  /** Maps this load pinned: unpinned if it fails. */
  readonly #newPins: BpfMap[] = [];
  /** The kernel side of each struct_ops map, by map name. */
  readonly #structOps = new Map<string, KernelStructOps>();
  /** The member each struct_ops program implements, by program name. */
  readonly #structOpsAttach = new Map<string, StructOpsAttach>();
  /** The loaded programs, by name, in the spec's order. */
  readonly #programs: Record<string, Program> = {};
  /** The CO-RE relocations of each program, as applied. */
  readonly #core: Record<string, CoreRelocationResult[]> = {};
  /** Maps mmap'ed for the variables. */
  readonly #memories: MapMemory[] = [];
  readonly #warnings: string[] = [];

  constructor(spec: CollectionSpec, options: CollectionOptions) {
    this.#spec = spec;
    this.#options = options;
    this.#env = new KernelEnv({
      root: options.root,
      kernelTypes: kernelTypesSpec(options.kernelTypes),
    });
  }

  /** Programs the loader cannot type stop the load before anything is created. */
  refuseUntypedPrograms(): void {
    refuseUntypedPrograms(this.#spec);
  }

  /**
   * Reads the `.kconfig` values (before anything is created) into a fresh
   * buffer: the spec keeps its zeros, so that every load reads the kernel anew.
   */
  readKconfig(): void {
    const s = this.#spec;
    const kconfigMap = s.maps[".kconfig"];
    if (kconfigMap?.origin !== "kconfig" || !s.types) return;
    this.#kconfig = new Uint8Array(kconfigMap.valueSize);
    fillKconfig(this.#kconfig, Object.values(s.externs), s.types, {
      root: this.#options.root,
      overrides: this.#options.kconfig,
    });
  }

  /**
   * Loads the object's BTF; when the kernel rejects it, again with the
   * kinds it lacks replaced, and then goes on without BTF (with a warning).
   */
  loadBtf(): void {
    const s = this.#spec;
    if (!s.btfBytes || this.#options.noBtf) return;
    const kconfigOffsets: Record<string, number> = {};
    for (const e of Object.values(s.externs)) {
      if (e.kind === "kconfig" && e.offset !== undefined) kconfigOffsets[e.name] = e.offset;
    }
    const base = {
      sectionSizes: s.layout.sectionSizes,
      symbolOffsets: s.layout.symbolOffsets,
      kconfig: s.maps[".kconfig"]
        ? { size: s.maps[".kconfig"].valueSize, offsets: kconfigOffsets }
        : undefined,
    };
    try {
      this.#btfFd = loadBtfObject(marshalProgramBtf(s.btfBytes, base).bytes, "the object's BTF");
    } catch (first) {
      if (!(first instanceof SyscallError)) throw first;
      // Maybe the kernel lacks some BTF kinds: replace them and retry.
      const features = probeBtfFeatures();
      try {
        this.#btfFd = loadBtfObject(
          marshalProgramBtf(s.btfBytes, { ...base, features }).bytes,
          "the object's BTF",
        );
      } catch (e) {
        if (!(e instanceof SyscallError)) throw e;
        this.#warnings.push(`loading without BTF: ${e.message}`);
      }
    }
  }

  /** Looks up every kernel type name the maps and programs will need, in one pass. */
  prefetchKernelNames(): void {
    const s = this.#spec;
    const coreNames = new Set<string>();
    const kernelNames = new Set<string>();
    for (const p of Object.values(s.programs)) {
      if (p.autoload === false) continue;
      for (const r of p.coreRelos) {
        if (r.kind === CoreRelocationKind.TYPE_ID_LOCAL || !s.types) continue;
        coreNames.add(s.types.typeById(r.typeId).name);
      }
      const t = p.attachTo;
      if (t && p.btfAttach && p.btfAttach !== "ext") {
        kernelNames.add(
          p.btfAttach === "raw_tp"
            ? `btf_trace_${t}`
            : p.btfAttach === "lsm"
            ? `bpf_lsm_${t}`
            : p.btfAttach === "iter"
            ? `bpf_iter_${t}`
            : t,
        );
      }
    }
    for (const e of Object.values(s.externs)) if (e.kind !== "kconfig") kernelNames.add(e.name);
    for (const m of Object.values(s.maps)) {
      if (!m.structOps) continue;
      const n = essentialName(m.structOps.typeName);
      kernelNames.add(n);
      kernelNames.add(`bpf_struct_ops_${n}`);
    }
    if (coreNames.size === 0 && kernelNames.size === 0) return;
    this.#env.prefetch(coreNames, kernelNames);
  }

  /**
   * Creates the maps, in the spec's order: a replacement from `replaceMaps`
   * is checked and used as is, a struct_ops map is shaped after its kernel
   * struct, a map pinned by name is reused when compatible.
   */
  createMaps(): void {
    const replaceMaps = this.#options.replaceMaps;
    const pinPath = this.#options.pinPath ?? "/sys/fs/bpf";
    const pins = { newPins: this.#newPins, reused: this.#reused };
    for (const [name, ms] of Object.entries(this.#spec.maps)) {
      const replacement = replaceMaps?.[name];
      if (replacement) {
        assertReplacementMatches(name, replacement, ms);
        this.#maps[name] = replacement;
        this.#borrowed.add(replacement);
        continue;
      }
      if (ms.origin === "struct_ops" && ms.structOps) {
        const k = resolveStructOps(this.#env, ms);
        this.#structOps.set(name, k);
        for (const [prog, index] of structOpsMembers(k, ms.structOps, name)) {
          this.#structOpsAttach.set(prog, {
            attachBtfId: k.typeId,
            attachType: index,
            module: k.module,
          });
        }
        this.#maps[name] = createMap({
          type: MapType.struct_ops,
          keySize: 4,
          valueSize: k.valueSize,
          maxEntries: 1,
          flags: ms.flags,
          name: ms.name.slice(0, 15),
          btf: {
            btfFd: this.#btfFd,
            vmlinuxValueTypeId: k.valueTypeId,
            valueTypeBtfObjFd: k.module ? this.#env.moduleBtfFd(k.module) : undefined,
          },
        });
        continue;
      }
      this.#maps[name] = namingMap(
        name,
        ms,
        () => createCollectionMap(ms, this.#btfFd, pinPath, pins),
      );
    }
  }

  /**
   * Writes the maps' initial contents: data (`.kconfig` from the kernel),
   * then maps of maps; freezes `.rodata` and `.kconfig`. A pinned map that
   * is reused keeps what it holds (as in libbpf): other loaders may be
   * using it.
   */
  populateMaps(): void {
    const maps = this.#maps;
    for (const [name, ms] of Object.entries(this.#spec.maps)) {
      if (this.#borrowed.has(maps[name]) || this.#reused.has(maps[name])) continue;
      const m = maps[name];
      for (const c of ms.contents ?? []) {
        if (typeof c.value !== "string") {
          if (ms.origin === "data" && !ms.freeze && c.value.every((b) => b === 0)) continue;
          const value = ms.origin === "kconfig" && this.#kconfig ? this.#kconfig : c.value;
          m.update(u32Key(c.key), value);
        } else if (isMapInMapType(mapTypeNumber(ms.type))) {
          const inner = maps[c.value];
          if (!inner) {
            throw new NotFoundError(
              `map ${c.value}`,
              `map ${JSON.stringify(name)} holds map ${JSON.stringify(c.value)} at key ${c.key}, ` +
                `which is not in the spec: put it back in spec.maps, or remove that entry from ` +
                `spec.maps.${name}.contents`,
            );
          }
          m.update(u32Key(c.key), inner);
        }
      }
      if (ms.freeze) m.freeze();
    }
  }

  /**
   * Relocates the programs here, one after the other, and verifies them on
   * worker threads, several at a time (the kernel verifies in parallel),
   * while the next ones are relocated. Every load started ends before this
   * returns or throws; the failure thrown is that of the earliest program
   * that failed, as a one-at-a-time loader would report.
   */
  async loadPrograms(): Promise<void> {
    const loads = new ParallelLoads(this.#options.parallel);
    try {
      for (const [name, ps] of Object.entries(this.#spec.programs)) {
        const prepared = this.#prepareProgram(name, ps);
        if (!prepared) continue;
        const { spec, relocated } = prepared;
        // After a failure no more loads start.
        const started = await loads.add(
          name,
          () => loadProgramAsync(spec),
          (e) => explainLoadError(e, ps, relocated),
        );
        if (!started) break;
      }
    } catch (e) {
      // A program that failed to relocate: a load started before it that
      // fails is the earlier failure.
      await loads.settle(this.#programs);
      loads.throwFirstFailure();
      throw e;
    }
    await loads.settle(this.#programs);
    loads.throwFirstFailure();
  }

  /** Puts the loaded programs into the program arrays that name them (not the borrowed ones). */
  populateProgramArrays(): void {
    for (const [name, ms] of Object.entries(this.#spec.maps)) {
      const m = this.#maps[name];
      if (this.#borrowed.has(m) || isMapInMapType(mapTypeNumber(ms.type))) continue;
      for (const c of ms.contents ?? []) {
        if (typeof c.value !== "string") continue;
        const p = this.#programs[c.value];
        if (!p) continue; // not loaded (autoload false)
        m.update(u32Key(c.key), u32Key(p.fd.value));
      }
    }
  }

  /**
   * Makes the variables and the struct_ops values, and hands every
   * descriptor over to the {@linkcode Collection} returned.
   */
  finalize(): Collection {
    const s = this.#spec;
    const variables = makeVariables(s, this.#maps, this.#memories);
    const structOps: Record<string, Uint8Array> = {};
    for (const [name, k] of this.#structOps) {
      structOps[name] = structOpsValue(k, s.maps[name].structOps!, s.types!, (p) => {
        const prog = this.#programs[p];
        if (!prog) {
          throw new NotFoundError(
            `program ${p}`,
            `struct_ops map ${JSON.stringify(name)} needs program ${JSON.stringify(p)}, which ` +
              `was not loaded: keep spec.programs.${p}, with autoload not false`,
          );
        }
        return prog.fd.value;
      });
    }
    this.#env.close();
    return new Collection({
      maps: this.#maps,
      programs: this.#programs,
      variables,
      core: this.#core,
      borrowed: this.#borrowed,
      memories: this.#memories,
      btf: this.#btfFd,
      warnings: this.#warnings,
      structOps,
      ...this.#tailCallGraph(),
    });
  }

  /**
   * Releases what the steps made, after one failed: mapped memory,
   * programs, the pins this load made, the maps it did not borrow, the
   * object's BTF.
   */
  close(): void {
    this.#env.close();
    for (const mem of this.#memories) mem.close();
    for (const p of Object.values(this.#programs)) p.close();
    for (const m of this.#newPins) {
      try {
        m.unpin();
      } catch { /* best effort */ }
    }
    for (const m of Object.values(this.#maps)) if (!this.#borrowed.has(m)) m.close();
    this.#btfFd?.close();
  }

  /**
   * A program to load, relocated, with its load attributes; undefined for
   * one left out (autoload false, or a struct_ops program in no
   * `.struct_ops` variable, with a warning).
   */
  #prepareProgram(
    name: string,
    ps: CollectionProgramSpec,
  ): { spec: ProgramSpec; relocated: RelocatedProgram } | undefined {
    if (ps.autoload === false) return undefined;
    const so = this.#structOpsAttach.get(name);
    if ((ps.type === "struct_ops" || ps.type === ProgramType.struct_ops) && !so) {
      this.#warnings.push(`struct_ops program ${name} is in no .struct_ops variable: not loaded`);
      return undefined;
    }
    refuseUnresolvedSymbol(name, ps);
    const r = relocate(ps, {
      env: this.#env,
      spec: this.#spec,
      mapFd: (n) => {
        const m = this.#maps[n];
        if (!m) {
          throw new NotFoundError(
            `map ${n}`,
            `program ${JSON.stringify(name)} refers to map ${JSON.stringify(n)}, which is ` +
              `not in the spec: put it back in spec.maps (or pass it in replaceMaps), or ` +
              `leave the program out (delete spec.programs.${name})`,
          );
        }
        return m.fd;
      },
      moduleFd: (mod) => this.#env.moduleBtfFd(mod).value,
    });
    this.#core[name] = r.core;
    if (so) {
      r.attachBtfId = so.attachBtfId;
      r.attachBtfModule = so.module;
    }
    return { spec: this.#programSpec(ps, r, so?.attachType), relocated: r };
  }

  /** The load attributes of a relocated program of the collection. */
  #programSpec(
    ps: CollectionProgramSpec,
    r: RelocatedProgram,
    structOpsMember?: number,
  ): ProgramSpec {
    const options = this.#options;
    const spec: ProgramSpec = {
      type: ps.type,
      instructions: r.instructions,
      name: ps.name.slice(0, 15),
      license: ps.license || undefined,
      attachType: structOpsMember ?? ps.attachType,
      kernelVersion: ps.kernelVersion,
      flags: ps.flags,
      attachBtfId: r.attachBtfId ?? ps.attachBtfId,
      ifindex: ps.ifindex,
      logLevel: options.logLevel ?? ps.logLevel,
      logSize: options.logSize ?? ps.logSize,
      maxLogSize: ps.maxLogSize,
    };
    if (r.attachBtfModule) spec.attachBtfObjFd = this.#env.moduleBtfFd(r.attachBtfModule);
    else if (ps.attachBtfObjFd !== undefined) spec.attachBtfObjFd = ps.attachBtfObjFd;
    if (ps.attachProgFd !== undefined) spec.attachProgFd = ps.attachProgFd;
    if (ps.btfAttach === "ext") {
      if (ps.attachProgFd === undefined) {
        throw new InvalidArgumentError(
          `program ${ps.name} (freplace) replaces a function of a loaded program: set ` +
            `spec.programs.${ps.name}.attachProgFd to that program before loading` +
            (ps.attachTo ? ` (the function, ${ps.attachTo}, comes from the section name)` : ""),
        );
      }
      spec.attachBtfId ??= freplaceTargetId(ps, ps.attachProgFd);
    }
    if (this.#btfFd && this.#spec.types) {
      spec.btf = {
        fd: this.#btfFd,
        funcInfo: ps.funcInfos.length ? marshalFuncInfos(ps.funcInfos) : undefined,
        lineInfo: ps.lineInfos.length ? marshalLineInfos(ps.lineInfos) : undefined,
      };
    }
    if (r.fdArrayModules.length > 0) {
      spec.fdArray = [0, ...r.fdArrayModules.map((m) => this.#env.moduleBtfFd(m))];
    }
    return spec;
  }

  /**
   * What `Collection.assign` needs to keep tail calls working: the maps each
   * loaded program refers to, and the programs each program array was
   * initialised with.
   */
  #tailCallGraph(): {
    programMaps: Record<string, string[]>;
    arrayPrograms: Record<string, string[]>;
  } {
    const s = this.#spec;
    const programMaps: Record<string, string[]> = {};
    for (const name of Object.keys(this.#programs)) {
      const refs = s.programs[name]?.references ?? [];
      programMaps[name] = [...new Set(refs.flatMap((r) => r.kind === "map" ? [r.map] : []))];
    }
    const arrayPrograms: Record<string, string[]> = {};
    for (const [name, ms] of Object.entries(s.maps)) {
      if (mapTypeNumber(ms.type) !== MapType.prog_array) continue;
      arrayPrograms[name] = (ms.contents ?? []).flatMap((c) =>
        typeof c.value === "string" ? [c.value] : []
      );
    }
    return { programMaps, arrayPrograms };
  }
}
