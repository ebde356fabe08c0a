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
import { HOST_LITTLE_ENDIAN } from "../btf/spec.ts";
import { createMap } from "../map/map.ts";
import type { BpfMap } from "../map/map.ts";
import type { MapMemory } from "../map/memory.ts";
import type { MapSpec } from "../map/spec.ts";
import { isMapInMapType, MapType, mapTypeName, mapTypeNumber } from "../map/types.ts";
import { loadProgramAsync } from "../program/load.ts";
import type { Program } from "../program/program.ts";
import { type FdLike, fdOf, type ProgramSpec } from "../program/types.ts";
import { readProgramInfo } from "../program/info.ts";
import { loadedBtfSpec } from "../btf/loaded.ts";
import { SyscallError } from "../sys/error.ts";
import type { FD } from "../sys/fd.ts";
import { fileInfo } from "../sys/file.ts";
import { probeBtfFeatures } from "./_btf.ts";
import { OP_CALL } from "./_insn.ts";
import { ProgramType } from "../sys/abi.ts";
import { loadBtfObject } from "../btf/_load.ts";
import { KernelEnv } from "./_kernel.ts";
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
import type { CollectionMapSpec, CollectionProgramSpec, CollectionSpec } from "./types.ts";
import { Variable, type VariableAccess } from "./variables.ts";
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

/** A load started by {@linkcode ParallelLoads}: its program once loaded, or its failure. */
interface LoadSlot {
  name: string;
  program?: Program;
  failure?: { error: unknown };
}

/**
 * Program loads in flight, at most `limit` at once; their programs and
 * failures are gathered in the order the loads were started.
 */
class ParallelLoads {
  #limit: number;
  #running = new Set<Promise<void>>();
  /** One per load started, in order. */
  #slots: LoadSlot[] = [];
  #failed = false;

  constructor(parallel: number | undefined) {
    // Twice the CPUs (4 to 16): a load also waits on the thread hand-over.
    const n = parallel ?? Math.min(16, Math.max(4, 2 * (navigator.hardwareConcurrency || 1)));
    if (!Number.isInteger(n) || n < 1) {
      throw new InvalidArgumentError(`parallel must be a positive integer (got ${parallel})`);
    }
    this.#limit = n;
  }

  /**
   * Starts a load, after waiting for a free slot. False, and nothing
   * started, once a load has failed.
   */
  async add(
    name: string,
    load: () => Promise<Program>,
    explain: (e: unknown) => unknown,
  ): Promise<boolean> {
    while (this.#running.size >= this.#limit) await Promise.race(this.#running);
    if (this.#failed) return false;
    const slot: LoadSlot = { name };
    this.#slots.push(slot);
    const task = load().then(
      (p) => {
        slot.program = p;
      },
      (e) => {
        slot.failure = { error: explain(e) };
        this.#failed = true;
      },
    ).finally(() => this.#running.delete(task));
    this.#running.add(task);
    return true;
  }

  /** Waits for every load started and puts the programs into `out`, in order. */
  async settle(out: Record<string, Program>): Promise<void> {
    await Promise.all(this.#running);
    for (const { name, program } of this.#slots) if (program) out[name] = program;
  }

  /** Throws the failure of the earliest load that failed, if any. */
  throwFirstFailure(): void {
    for (const { failure } of this.#slots) if (failure) throw failure.error;
  }
}

const ZERO_KEY = new Uint8Array(4);

/** A u32 in host order (a key, or a descriptor as a map value); bytes pass through. */
function u32Key(k: number | Uint8Array): Uint8Array {
  if (k instanceof Uint8Array) return k;
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, k, HOST_LITTLE_ENDIAN);
  return b;
}

/** Map types whose BPF_MAP_CREATE rejects BTF key/value types. */
const NO_BTF_TYPES = new Set<number>([
  MapType.prog_array,
  MapType.perf_event_array,
  MapType.cgroup_array,
  MapType.array_of_maps,
  MapType.hash_of_maps,
  MapType.devmap,
  MapType.devmap_hash,
  MapType.sockmap,
  MapType.sockhash,
  MapType.cpumap,
  MapType.xskmap,
  MapType.reuseport_sockarray,
  MapType.stack_trace,
  MapType.ringbuf,
  MapType.user_ringbuf,
  MapType.queue,
  MapType.stack,
  MapType.bloom_filter,
]);

function toMapSpec(s: CollectionMapSpec, btfFd: FD | undefined, name = true): MapSpec {
  const type = mapTypeNumber(s.type);
  const spec: MapSpec = {
    type,
    keySize: s.keySize || undefined,
    valueSize: s.valueSize || undefined,
    maxEntries: s.maxEntries || undefined,
    flags: s.flags,
    name: name ? s.name.slice(0, 15) : undefined,
    numaNode: s.numaNode,
    mapExtra: s.mapExtra,
    ifindex: s.ifindex,
    pinning: s.pinning,
  };
  if (type === MapType.ringbuf || type === MapType.user_ringbuf || type === MapType.arena) {
    spec.keySize = undefined;
    spec.valueSize = undefined;
  }
  if (s.innerMap) spec.innerMap = toMapSpec(s.innerMap, btfFd, false);
  if (s.btf && btfFd && !NO_BTF_TYPES.has(type) && (s.btf.keyTypeId || s.btf.valueTypeId)) {
    spec.btf = { ...s.btf, btfFd };
  } else if (s.btf?.vmlinuxValueTypeId) spec.btf = { ...s.btf };
  return spec;
}

function isCompatible(m: BpfMap, s: CollectionMapSpec): string | undefined {
  const diffs: string[] = [];
  const type = mapTypeNumber(s.type);
  if (m.type !== type) diffs.push(`type ${m.typeName} ≠ ${mapTypeName(type)}`);
  if (s.keySize && m.keySize !== s.keySize) diffs.push(`key size ${m.keySize} ≠ ${s.keySize}`);
  if (s.valueSize && m.valueSize !== s.valueSize) {
    diffs.push(`value size ${m.valueSize} ≠ ${s.valueSize}`);
  }
  if (s.maxEntries && m.maxEntries !== s.maxEntries) {
    diffs.push(`max entries ${m.maxEntries} ≠ ${s.maxEntries}`);
  }
  return diffs.length ? diffs.join(", ") : undefined;
}

function pinExists(path: string): boolean {
  try {
    fileInfo(path, { followSymlinks: false });
    return true;
  } catch {
    return false;
  }
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
  const env = new KernelEnv({
    root: options.root,
    kernelTypes: kernelTypesSpec(options.kernelTypes),
  });
  const maps: Record<string, BpfMap> = {};
  const programs: Record<string, Program> = {};
  const borrowed = new Set<BpfMap>();
  const memories: MapMemory[] = [];
  const warnings: string[] = [];
  const newPins: BpfMap[] = [];
  const reused = new Set<BpfMap>();
  let btfFd: FD | undefined;
  const cleanup = () => {
    for (const mem of memories) mem.close();
    for (const p of Object.values(programs)) p.close();
    for (const m of newPins) {
      try {
        m.unpin();
      } catch { /* best effort */ }
    }
    for (const m of Object.values(maps)) if (!borrowed.has(m)) m.close();
    btfFd?.close();
  };
  try {
    // Programs the loader cannot type stop the load before anything is created.
    refuseUntypedPrograms(s);
    // .kconfig values (read before anything is created), into a fresh buffer:
    // the spec keeps its zeros, so that every load reads the kernel anew.
    const kconfigMap = s.maps[".kconfig"];
    let kconfigData: Uint8Array | undefined;
    if (kconfigMap?.origin === "kconfig" && s.types) {
      kconfigData = new Uint8Array(kconfigMap.valueSize);
      await fillKconfig(kconfigData, Object.values(s.externs), s.types, {
        root: options.root,
        overrides: options.kconfig,
      });
    }
    // BTF.
    if (s.btfBytes && !options.noBtf) btfFd = loadObjectBtf(s, warnings);
    // Every kernel type name the maps and programs will need, in one pass.
    prefetchNames(s, env);
    // Maps.
    const pinPath = options.pinPath ?? "/sys/fs/bpf";
    const structOps = new Map<string, KernelStructOps>();
    const structOpsAttach = new Map<
      string,
      { attachBtfId: number; attachType: number; module?: string }
    >();
    for (const [name, ms] of Object.entries(s.maps)) {
      const replacement = options.replaceMaps?.[name];
      if (replacement) {
        const diff = isCompatible(replacement, ms);
        if (diff) {
          throw new InvalidArgumentError(
            `replacement for map ${name} (replaceMaps.${name}) does not match ` +
              `its spec: ${diff}; pass a map of the spec's shape or change spec.maps.${name}`,
          );
        }
        maps[name] = replacement;
        borrowed.add(replacement);
        continue;
      }
      if (ms.origin === "struct_ops" && ms.structOps) {
        const k = resolveStructOps(env, ms);
        structOps.set(name, k);
        for (const [prog, index] of structOpsMembers(k, ms.structOps, name)) {
          structOpsAttach.set(prog, { attachBtfId: k.typeId, attachType: index, module: k.module });
        }
        maps[name] = createMap({
          type: MapType.struct_ops,
          keySize: 4,
          valueSize: k.valueSize,
          maxEntries: 1,
          flags: ms.flags,
          name: ms.name.slice(0, 15),
          btf: {
            btfFd,
            vmlinuxValueTypeId: k.valueTypeId,
            valueTypeBtfObjFd: k.module ? env.moduleBtfFd(k.module) : undefined,
          },
        });
        continue;
      }
      maps[name] = namingMap(
        name,
        ms,
        () => createCollectionMap(ms, btfFd, pinPath, newPins, reused),
      );
    }
    // Contents: data, then maps of maps. A pinned map that is reused keeps
    // what it holds (as in libbpf): other loaders may be using it.
    for (const [name, ms] of Object.entries(s.maps)) {
      if (borrowed.has(maps[name]) || reused.has(maps[name])) continue;
      const m = maps[name];
      for (const c of ms.contents ?? []) {
        if (typeof c.value !== "string") {
          if (ms.origin === "data" && !ms.freeze && c.value.every((b) => b === 0)) continue;
          const value = ms.origin === "kconfig" && kconfigData ? kconfigData : c.value;
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
    // Programs: relocated here, one after the other, and verified on worker
    // threads, several at a time (the kernel verifies in parallel), while
    // the next ones are relocated.
    const core: Record<string, CoreRelocationResult[]> = {};
    const loads = new ParallelLoads(options.parallel);
    try {
      for (const [name, ps] of Object.entries(s.programs)) {
        if (ps.autoload === false) continue;
        const so = structOpsAttach.get(name);
        if ((ps.type === "struct_ops" || ps.type === ProgramType.struct_ops) && !so) {
          warnings.push(`struct_ops program ${name} is in no .struct_ops variable: not loaded`);
          continue;
        }
        refuseUnresolvedSymbol(name, ps);
        const r = relocate(ps, {
          env,
          spec: s,
          mapFd: (n) => {
            const m = maps[n];
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
          moduleFd: (mod) => env.moduleBtfFd(mod).value,
        });
        core[name] = r.core;
        if (so) {
          r.attachBtfId = so.attachBtfId;
          r.attachBtfModule = so.module;
        }
        const spec = programSpecOf(ps, r, s, btfFd, env, options, so?.attachType);
        // After a failure no more loads start.
        if (
          !await loads.add(name, () => loadProgramAsync(spec), (e) => explainLoadError(e, ps, r))
        ) {
          break;
        }
      }
    } catch (e) {
      // A program that failed to relocate: a load started before it that
      // fails is the earlier failure, as a one-at-a-time loader would report.
      await loads.settle(programs);
      loads.throwFirstFailure();
      throw e;
    }
    // Every load started ends before anything is returned or cleaned up;
    // the failure reported is that of the earliest program that failed.
    await loads.settle(programs);
    loads.throwFirstFailure();
    // Program arrays.
    for (const [name, ms] of Object.entries(s.maps)) {
      if (borrowed.has(maps[name]) || isMapInMapType(mapTypeNumber(ms.type))) continue;
      for (const c of ms.contents ?? []) {
        if (typeof c.value !== "string") continue;
        const p = programs[c.value];
        if (!p) continue; // not loaded (autoload false)
        maps[name].update(u32Key(c.key), u32Key(p.fd.value));
      }
    }
    const variables = makeVariables(s, maps, memories);
    const structOpsValues: Record<string, Uint8Array> = {};
    for (const [name, k] of structOps) {
      structOpsValues[name] = structOpsValue(k, s.maps[name].structOps!, s.types!, (p) => {
        const prog = programs[p];
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
    env.close();
    return new Collection({
      maps,
      programs,
      variables,
      core,
      borrowed,
      memories,
      btf: btfFd,
      warnings,
      structOps: structOpsValues,
      ...tailCallGraph(s, programs),
    });
  } catch (e) {
    env.close();
    cleanup();
    throw e;
  }
}

/**
 * Refuses a program that still refers to a symbol its object does not
 * define (inline asm's `r0 = MY_CONST ll`, a call to a function only
 * declared), naming the symbol and how to resolve it.
 */
function refuseUnresolvedSymbol(name: string, ps: CollectionProgramSpec): void {
  const ref = ps.references.find((r) => r.kind === "symbol");
  if (ref?.kind !== "symbol") return;
  const call = ps.instructions[ref.insn * 8] === OP_CALL;
  throw new NotFoundError(
    `symbol ${ref.symbol}`,
    `program ${name}: instruction ${ref.insn} ${call ? "calls" : "refers to"} ${ref.symbol}, ` +
      `which the object does not define${call ? " (a function only declared)" : ""}: ` +
      `resolve it (write its value into instruction ${ref.insn} and remove the reference from ` +
      `spec.programs.${name}.references), declare it __kconfig or __ksym (built with -g), ` +
      `or set spec.programs.${name}.autoload = false to load the other programs`,
  );
}

/**
 * Throws for the first program to be loaded whose section names no program
 * type, saying how to leave it out or type it.
 */
function refuseUntypedPrograms(s: CollectionSpec): void {
  for (const [name, ps] of Object.entries(s.programs)) {
    if (ps.autoload === false || (ps.type !== "unspec" && ps.type !== 0)) continue;
    const key = /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
    throw new InvalidArgumentError(
      `program ${JSON.stringify(name)} (section ${JSON.stringify(ps.sectionName)}): ` +
        `unknown section type, it names no known program type; to load the other programs ` +
        `without it, delete spec.programs${key} (or set its autoload to false); to load it, ` +
        `set spec.programs${key}.type (and attachType) before loading`,
    );
  }
}

/**
 * What `Collection.assign` needs to keep tail calls working: the maps each
 * loaded program refers to, and the programs each program array was
 * initialised with.
 */
function tailCallGraph(
  s: CollectionSpec,
  programs: Record<string, Program>,
): { programMaps: Record<string, string[]>; arrayPrograms: Record<string, string[]> } {
  const programMaps: Record<string, string[]> = {};
  for (const name of Object.keys(programs)) {
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

function prefetchNames(s: CollectionSpec, env: KernelEnv): void {
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
  env.prefetch(coreNames, kernelNames);
}

function loadObjectBtf(s: CollectionSpec, warnings: string[]): FD | undefined {
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
    return loadBtfObject(marshalProgramBtf(s.btfBytes!, base).bytes, "the object's BTF");
  } catch (first) {
    if (!(first instanceof SyscallError)) throw first;
    // Maybe the kernel lacks some BTF kinds: replace them and retry.
    const features = probeBtfFeatures();
    try {
      return loadBtfObject(
        marshalProgramBtf(s.btfBytes!, { ...base, features }).bytes,
        "the object's BTF",
      );
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      warnings.push(`loading without BTF: ${e.message}`);
      return undefined;
    }
  }
}

/**
 * Runs `create`, turning the spec checks it fails into errors that name the
 * map and the `spec.maps` field to set: a `max_entries` left 0 in the object
 * (libbpf-tools set it at run time) otherwise reads `hash map: maxEntries
 * is required`.
 */
function namingMap(name: string, ms: CollectionMapSpec, create: () => BpfMap): BpfMap {
  try {
    return create();
  } catch (e) {
    if (!(e instanceof InvalidArgumentError)) throw e;
    const key = /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
    const what = `map ${JSON.stringify(name)} (${mapTypeName(mapTypeNumber(ms.type))})`;
    const missing = /^\w+ map: (keySize|valueSize|maxEntries) is required$/.exec(e.message);
    const message = missing
      ? `${what}: ${missing[1]} is 0; set spec.maps${key}.${missing[1]} before loading`
      : `${what}: ${e.message.replace(/^\w+ map: /, "")}; fix spec.maps${key} before loading`;
    throw new InvalidArgumentError(message, { cause: e });
  }
}

function createCollectionMap(
  ms: CollectionMapSpec,
  btfFd: FD | undefined,
  pinPath: string,
  newPins: BpfMap[],
  reused: Set<BpfMap>,
): BpfMap {
  const spec = toMapSpec(ms, btfFd);
  if (spec.type === MapType.perf_event_array && !ms.maxEntries) spec.maxEntries = undefined;
  const pinned = spec.pinning === "by_name" &&
    pinExists(`${pinPath.replace(/\/+$/, "")}/${spec.name}`);
  let m: BpfMap;
  try {
    m = createMap(spec, { pinPath });
  } catch (e) {
    // Some kernels reject BTF for some map types: retry without, as libbpf does.
    if (!(e instanceof SyscallError) || !spec.btf?.btfFd) throw e;
    m = createMap({ ...spec, btf: undefined }, { pinPath });
  }
  if (spec.pinning === "by_name") {
    if (pinned) reused.add(m);
    else newPins.push(m);
  }
  return m;
}

/**
 * The BTF id of the function a freplace program replaces: the function its
 * section names (`freplace/decide`), in the BTF of the target program, as
 * libbpf's `bpf_program__set_attach_target` finds it.
 */
function freplaceTargetId(ps: CollectionProgramSpec, target: FdLike): number {
  const name = ps.attachTo;
  if (!name) {
    throw new InvalidArgumentError(
      `program ${ps.name} (freplace): its section names no function; set attachBtfId`,
    );
  }
  const info = readProgramInfo(fdOf(target));
  const what = `program ${ps.name} (freplace) replaces ${name} in program ` +
    `${info.name || `id ${info.id}`}`;
  if (!info.btfId) {
    throw new NotFoundError(
      `BTF of program ${info.name || info.id}`,
      `${what}, which was loaded without BTF: load it from an object built with clang -g`,
    );
  }
  const btf = loadedBtfSpec(info.btfId);
  const ids = btf.typeIdsByName(name, "func");
  if (ids.length === 0) {
    const funcs = [...btf.types()].filter((t) => t.kind === "func").map((t) => t.name);
    throw new NotFoundError(
      `function ${name}`,
      `${what}, whose BTF has no such function (it has: ${funcs.join(", ") || "none"})`,
    );
  }
  return ids[0];
}

/** The load attributes of a relocated program of the collection. */
function programSpecOf(
  ps: CollectionProgramSpec,
  r: RelocatedProgram,
  s: CollectionSpec,
  btfFd: FD | undefined,
  env: KernelEnv,
  options: CollectionOptions,
  structOpsMember?: number,
): ProgramSpec {
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
  if (r.attachBtfModule) spec.attachBtfObjFd = env.moduleBtfFd(r.attachBtfModule);
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
  if (btfFd && s.types) {
    spec.btf = {
      fd: btfFd,
      funcInfo: ps.funcInfos.length ? marshalFuncInfos(ps.funcInfos) : undefined,
      lineInfo: ps.lineInfos.length ? marshalLineInfos(ps.lineInfos) : undefined,
    };
  }
  if (r.fdArrayModules.length > 0) {
    spec.fdArray = [0, ...r.fdArrayModules.map((m) => env.moduleBtfFd(m))];
  }
  return spec;
}

function makeVariables(
  s: CollectionSpec,
  maps: Record<string, BpfMap>,
  memories: MapMemory[],
): Record<string, Variable> {
  const out: Record<string, Variable> = {};
  const access = new Map<string, { access: VariableAccess; readOnly: boolean }>();
  const accessFor = (mapName: string) => {
    let a = access.get(mapName);
    if (a) return a;
    const m = maps[mapName];
    const ms = s.maps[mapName];
    if (!m || !ms) return undefined;
    const readOnly = ms.freeze === true;
    let acc: VariableAccess;
    if (m.flags & 0x400 /* BPF_F_MMAPABLE */) {
      const mem = m.mmap({ readOnly });
      memories.push(mem);
      const value = () => mem.value(0);
      acc = {
        read: (off, size) => value().slice(off, off + size),
        write: (off, bytes) => value().set(bytes, off),
      };
    } else {
      acc = {
        read: (off, size) =>
          (m.lookup(ZERO_KEY) ?? new Uint8Array(m.valueSize)).slice(off, off + size),
        write: (off, bytes) => {
          const v = m.lookup(ZERO_KEY) ?? new Uint8Array(m.valueSize);
          v.set(bytes, off);
          m.update(ZERO_KEY, v);
        },
      };
    }
    a = { access: acc, readOnly };
    access.set(mapName, a);
    return a;
  };
  for (const [key, v] of Object.entries(s.variables)) {
    const a = accessFor(v.mapName);
    if (!a) continue;
    out[key] = new Variable(v, a.access, { btf: s.types, readOnly: a.readOnly });
  }
  for (const e of Object.values(s.externs)) {
    if (e.kind !== "kconfig" || Object.hasOwn(out, e.name)) continue;
    const a = accessFor(".kconfig");
    if (!a) continue;
    const v = s.types?.typeById(e.typeId);
    out[e.name] = new Variable(
      {
        name: e.name,
        mapName: ".kconfig",
        offset: e.offset!,
        size: e.size!,
        typeId: v?.kind === "var" ? v.type : undefined,
      },
      a.access,
      { btf: s.types, readOnly: true },
    );
  }
  return out;
}
