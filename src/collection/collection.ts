/**
 * A loaded {@linkcode Collection}: the maps and programs of an object file,
 * its global variables, and the CO-RE results, owned together — `close()`
 * (or `using`) releases every descriptor.
 *
 * @module
 */

import { InvalidArgumentError, NotFoundError } from "../errors.ts";
import type { CoreRelocationResult } from "../btf/core.ts";
import type { BpfMap } from "../map/map.ts";
import type { MapMemory } from "../map/memory.ts";
import { MapType } from "../map/types.ts";
import type { Program } from "../program/program.ts";
import type { FD } from "../sys/fd.ts";
import { strictRecord } from "./_record.ts";
import type { Variable } from "./variables.ts";

/** The objects {@linkcode Collection.assign} hands over, owned by the caller. */
export interface AssignedObjects<P extends string, M extends string> extends Disposable {
  /** The programs asked for, by name. */
  readonly programs: { readonly [K in P]: Program };
  /** The maps asked for, by name. */
  readonly maps: { readonly [K in M]: BpfMap };
  /**
   * Program arrays the programs asked for tail-call through (directly, or
   * from a program such an array was initialised with) and that were not
   * asked for themselves, by name: descriptors of their own, kept open
   * because the kernel empties a program array once no user-space
   * descriptor or pin holds it, and the tail calls would then silently
   * miss. Closed by {@linkcode AssignedObjects.close}.
   */
  readonly keptMaps: Readonly<Record<string, BpfMap>>;
  /** Closes every program and map handed over, and the {@linkcode AssignedObjects.keptMaps}. */
  close(): void;
}

/** What {@linkcode Collection.assign} should take out of the collection. */
export interface AssignRequest<P extends string, M extends string> {
  /** Program names. */
  programs?: readonly P[];
  /** Map names. */
  maps?: readonly M[];
}

/** @internal The parts a collection is made of. */
export interface CollectionParts {
  maps: Record<string, BpfMap>;
  programs: Record<string, Program>;
  variables: Record<string, Variable>;
  core: Record<string, CoreRelocationResult[]>;
  /** Maps the collection did not create (replaceMaps): never closed by it. */
  borrowed: Set<BpfMap>;
  memories: MapMemory[];
  btf?: FD;
  warnings: string[];
  /** struct_ops map values in the kernel's layout, by map name. */
  structOps?: Record<string, Uint8Array>;
  /** The maps each program refers to, by program name. */
  programMaps?: Record<string, readonly string[]>;
  /** The programs each program array was initialised with, by map name. */
  arrayPrograms?: Record<string, readonly string[]>;
}

/**
 * The maps and programs of an object file, loaded. Access them by name;
 * close the collection (or let `using` do it) to release all descriptors
 * at once. Objects taken out with {@linkcode Collection.assign} are no
 * longer closed by the collection.
 *
 * @example
 * ```ts ignore
 * await using coll = await loadCollection("prog.o");
 * const { retval } = coll.programs.xdp_sum.testRunSync({ data: new Uint8Array(64) });
 * console.log(coll.variables.bss_total.get());
 * ```
 */
export class Collection implements Disposable {
  /** Maps by name. */
  readonly maps: Record<string, BpfMap>;
  /** Programs by name. */
  readonly programs: Record<string, Program>;
  /**
   * Global variables by name, read and written in their maps. Reading a
   * name that is not there throws `NotFoundError` listing the variables
   * (test with `name in coll.variables`).
   */
  readonly variables: Record<string, Variable>;
  /** CO-RE relocation results by program name. */
  readonly coreRelocations: Readonly<Record<string, readonly CoreRelocationResult[]>>;
  /** Things that went differently than asked but did not stop the load (e.g. BTF dropped). */
  readonly warnings: readonly string[];
  #borrowed: Set<BpfMap>;
  #memories: MapMemory[];
  #structOps: Record<string, Uint8Array>;
  #btf?: FD;
  #programMaps: Record<string, readonly string[]>;
  #arrayPrograms: Record<string, readonly string[]>;
  #closed = false;

  /** @internal Use `loadCollection`. */
  constructor(parts: CollectionParts) {
    this.maps = parts.maps;
    this.programs = parts.programs;
    this.variables = strictRecord(
      parts.variables,
      (name, names) =>
        new NotFoundError(
          `variable ${name}`,
          `the collection has no variable ${JSON.stringify(name)} (it has: ${
            names.join(", ") || "none"
          }); test for one with \`name in coll.variables\``,
        ),
    );
    this.coreRelocations = parts.core;
    this.warnings = parts.warnings;
    this.#borrowed = parts.borrowed;
    this.#memories = parts.memories;
    this.#btf = parts.btf;
    this.#structOps = parts.structOps ?? {};
    this.#programMaps = parts.programMaps ?? {};
    this.#arrayPrograms = parts.arrayPrograms ?? {};
  }

  /**
   * The value to write into a struct_ops map (key 0) to register it: the
   * kernel struct with the programs' descriptors in its function pointers
   * and the object's data in the other members. Writing it registers the
   * struct_ops (e.g. a TCP congestion control); for `.struct_ops.link` maps
   * it is then attached with a struct_ops link.
   *
   * @throws {NotFoundError} when `name` is not a struct_ops map of the collection.
   */
  structOpsValue(name: string): Uint8Array {
    const v = this.#structOps[name];
    if (!v) throw new NotFoundError(`struct_ops map ${name}`);
    return v.slice();
  }

  /** The descriptor of the object's BTF loaded into the kernel, if any. */
  get btfFd(): FD | undefined {
    return this.#btf;
  }

  /** True once {@linkcode Collection.close} ran. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Takes programs and maps out of the collection: the caller owns them
   * (closing the collection leaves them open). Names not in the collection
   * throw `NotFoundError` before anything is taken.
   *
   * The program arrays an assigned program tail-calls through stay filled
   * after the collection closes, as with libbpf: the ones not asked for are
   * kept open in {@linkcode AssignedObjects.keptMaps} (a descriptor of
   * their own each), since the kernel empties a program array once its
   * last user-space descriptor closes.
   *
   * @example
   * ```ts ignore
   * using objs = coll.assign({ programs: ["xdp_sum"], maps: ["counts"] });
   * objs.programs.xdp_sum; objs.maps.counts;
   * ```
   */
  assign<P extends string = never, M extends string = never>(
    request: AssignRequest<P, M>,
  ): AssignedObjects<P, M> {
    if (this.#closed) throw new InvalidArgumentError("the collection is closed");
    for (const p of request.programs ?? []) {
      if (!Object.hasOwn(this.programs, p)) {
        throw new NotFoundError(
          `program ${p}`,
          `the collection has no program ${p} (it has: ${Object.keys(this.programs).join(", ")})`,
        );
      }
    }
    for (const m of request.maps ?? []) {
      if (!Object.hasOwn(this.maps, m)) {
        throw new NotFoundError(
          `map ${m}`,
          `the collection has no map ${m} (it has: ${Object.keys(this.maps).join(", ")})`,
        );
      }
    }
    const keptMaps = this.#programArraysOf(request.programs ?? [], request.maps ?? []);
    const programs = {} as Record<P, Program>;
    const maps = {} as Record<M, BpfMap>;
    for (const p of request.programs ?? []) {
      programs[p] = this.programs[p];
      delete this.programs[p];
    }
    for (const m of request.maps ?? []) {
      maps[m] = this.maps[m];
      delete this.maps[m];
    }
    const close = () => {
      for (const p of Object.values<Program>(programs)) p.close();
      for (const m of Object.values<BpfMap>(maps)) m.close();
      for (const m of Object.values(keptMaps)) m.close();
    };
    return { programs, maps, keptMaps, close, [Symbol.dispose]: close };
  }

  /**
   * Own descriptors of the program arrays still in the collection that
   * `programs` tail-call through, following the programs those arrays were
   * initialised with; the arrays in `taken` are handed over anyway.
   */
  #programArraysOf(programs: readonly string[], taken: readonly string[]): Record<string, BpfMap> {
    const kept: Record<string, BpfMap> = {};
    const seenPrograms = new Set<string>();
    const seenMaps = new Set<string>();
    const visit = (program: string) => {
      if (seenPrograms.has(program)) return;
      seenPrograms.add(program);
      for (const name of this.#programMaps[program] ?? []) {
        const m = this.maps[name];
        if (seenMaps.has(name) || !m || m.type !== MapType.prog_array) continue;
        seenMaps.add(name);
        if (!taken.includes(name)) kept[name] = m.clone();
        for (const p of this.#arrayPrograms[name] ?? []) visit(p);
      }
    };
    try {
      for (const p of programs) visit(p);
    } catch (e) {
      for (const m of Object.values(kept)) m.close();
      throw e;
    }
    return kept;
  }

  /** Closes every program, map (except replaced ones), mapping and the BTF. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const mem of this.#memories) mem.close();
    for (const p of Object.values(this.programs)) p.close();
    for (const m of Object.values(this.maps)) if (!this.#borrowed.has(m)) m.close();
    this.#btf?.close();
  }

  /** Same as {@linkcode Collection.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
