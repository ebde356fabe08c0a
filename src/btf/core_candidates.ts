/**
 * The target side of CO-RE: candidate types by essential name, looked up
 * through each spec's name index.
 *
 * @module
 */

import { essentialName, isAnyEnum, LONG_NAMES } from "./core_types.ts";
import type { Spec } from "./spec.ts";
import type { BtfType, Kind } from "./types.ts";

/**
 * Looks up many type names in one pass over `spec`'s own types (for big
 * BTF such as vmlinux, one scan costs about as much as one single-name
 * lookup); the same as `spec.prefetchNames(names)`.
 */
export function prefetchTypeNames(spec: Spec, names: Iterable<string>): void {
  spec.prefetchNames(names);
}

/**
 * The ids of `spec`'s own types (not its base's) named `name`, of `kind`
 * when given, in id order; the same as `spec.ownTypeIdsByName(name, kind)`.
 */
export function ownTypeIdsByName(spec: Spec, name: string, kind?: Kind): number[] {
  return spec.ownTypeIdsByName(name, kind);
}

/**
 * The names {@linkcode CoreTargets.prefetch} looks up for these local type names.
 *
 * @internal
 */
export function coreLookupNames(names: Iterable<string>): Set<string> {
  const set = new Set<string>();
  for (const n of names) set.add(essentialName(n));
  set.add(LONG_NAMES[0]); // for the pointer size
  return set;
}

/** A candidate target type. */
export interface CoreCandidate {
  /** The BTF it is in. */
  spec: Spec;
  /** Its id there. */
  id: number;
  /** `"vmlinux"`, a module name, or the label of user-supplied BTF. */
  source: string;
}

/** Where candidates come from: a base BTF and, lazily, more (kernel modules). */
export interface CoreTargetsOptions {
  /** Label of the base BTF in results and errors. Default `"vmlinux"`. */
  label?: string;
  /**
   * More BTF to search when the base has no candidate: kernel modules'
   * split BTF, as `[name, spec]` pairs. Called at most once, on first need.
   */
  modules?: () => Iterable<readonly [string, Spec]>;
}

/**
 * The target side of CO-RE: candidate lookup by essential name and kind,
 * cached. The base BTF (vmlinux, or user-supplied kernel types) is searched
 * first; the modules only when the base has no candidate at all, as libbpf
 * does. Both may be given lazily.
 */
export class CoreTargets {
  #base: Spec | (() => Spec);
  #label: string;
  #modulesFn?: () => Iterable<readonly [string, Spec]>;
  #modules?: (readonly [string, Spec])[];
  #cache = new Map<string, CoreCandidate[]>();
  #narrowed = new WeakMap<Spec, Map<number, readonly CoreCandidate[]>>();

  /** Creates the target side over `base` (a spec or a function returning one). */
  constructor(base: Spec | (() => Spec), options: CoreTargetsOptions = {}) {
    this.#base = base;
    this.#label = options.label ?? "vmlinux";
    this.#modulesFn = options.modules;
  }

  /** The base BTF (loaded on first use when given lazily). */
  get base(): Spec {
    if (typeof this.#base === "function") this.#base = this.#base();
    return this.#base;
  }

  /** The label of the base BTF (`"vmlinux"` by default). */
  get label(): string {
    return this.#label;
  }

  /** The module specs (loaded on first use). */
  modules(): readonly (readonly [string, Spec])[] {
    if (!this.#modules) this.#modules = this.#modulesFn ? [...this.#modulesFn()] : [];
    return this.#modules;
  }

  /** Looks up the essential names of these local types in one pass over the base BTF. */
  prefetch(names: Iterable<string>): void {
    const set = coreLookupNames(names);
    for (let s: Spec | undefined = this.base; s; s = s.base) s.prefetchNames(set);
  }

  /**
   * The candidates for local type `localId` (`local`) of `localBtf`: those
   * of {@linkcode CoreTargets.candidates}, narrowed down by the relocations
   * of that type resolved so far. As libbpf, a relocation that matched some
   * candidates keeps only those for the relocations after it.
   */
  candidatesFor(localBtf: Spec, localId: number, local: BtfType): readonly CoreCandidate[] {
    return this.#narrowed.get(localBtf)?.get(localId) ?? this.candidates(local);
  }

  /**
   * Keeps only `kept` as the candidates of local type `localId` of `localBtf`.
   *
   * @internal
   */
  narrow(localBtf: Spec, localId: number, kept: readonly CoreCandidate[]): void {
    let m = this.#narrowed.get(localBtf);
    if (!m) this.#narrowed.set(localBtf, m = new Map());
    m.set(localId, kept);
  }

  /** Candidates for the local type `local` (its essential name, a compatible kind). */
  candidates(local: BtfType): CoreCandidate[] {
    const name = essentialName(local.name);
    const key = `${local.kind}\0${name}`;
    let c = this.#cache.get(key);
    if (c) return c;
    c = [];
    const kinds: Kind[] = isAnyEnum(local) ? ["enum", "enum64"] : [local.kind];
    const base = this.base;
    // As libbpf's bpf_core_add_cands: every type whose essential name is
    // the local one's, with or without a flavour (`name`, `name___x`).
    // A plain name counts only when it is its own essential name.
    const plain = essentialName(name) === name;
    const add = (spec: Spec, source: string, ownOnly: boolean) => {
      for (let s: Spec | undefined = spec; s; s = ownOnly ? undefined : s.base) {
        const ids = plain
          ? [...s.ownTypeIdsByName(name), ...s.ownFlavouredTypeIds(name)]
          : s.ownFlavouredTypeIds(name);
        for (const id of ids) {
          if (kinds.includes(s.kindOf(id))) c!.push({ spec, id, source });
        }
      }
    };
    add(base, this.#label, false);
    // Modules only when the base has no candidate, as libbpf: their own
    // types only (their base is vmlinux, searched already).
    if (c.length === 0) { for (const [module, spec] of this.modules()) add(spec, module, true); }
    c.sort((a, b) => a.id - b.id);
    this.#cache.set(key, c);
    return c;
  }
}
