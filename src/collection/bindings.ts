/**
 * Typed views of a spec's and a loaded collection's global variables and
 * maps: {@linkcode typedVariable}, {@linkcode bindSpec} and
 * {@linkcode bindCollection} — what modules written by `denobpf gen ts`
 * return from their `loadSpec()` and `load()`.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import type { Codec } from "../map/codec.ts";
import { decodeRecord } from "../map/layout.ts";
import type { BpfMap } from "../map/map.ts";
import { TypedMap } from "../map/typed.ts";
import type { Program } from "../program/program.ts";
import type { Collection } from "./collection.ts";
import type { CollectionSpec } from "./types.ts";

/** A global variable through its codec: what the generated `variables` hold. */
export interface TypedVariable<T> {
  /** The variable's name. */
  readonly name: string;
  /** Its size in bytes. */
  readonly size: number;
  /** Reads it. */
  get(): T;
  /**
   * Writes it.
   *
   * @throws {InvalidArgumentError} when the value does not fit or the variable is read-only.
   */
  set(value: T): void;
}

/** What {@linkcode typedVariable} wraps: a `VariableSpec` or a loaded `Variable`. */
export interface RawVariable {
  /** The variable's name. */
  readonly name: string;
  /** Its size in bytes. */
  readonly size: number;
  /** Its raw bytes (a copy). */
  bytes(): Uint8Array;
  /** Writes raw bytes (exactly `size`). */
  set(value: Uint8Array): void;
}

/** A variable read and written through `codec` (whose size must be the variable's). */
export function typedVariable<T>(variable: RawVariable, codec: Codec<T>): TypedVariable<T> {
  if (codec.size !== variable.size) {
    throw new InvalidArgumentError(
      `variable ${variable.name} is ${variable.size} bytes; codec ${codec.name} is ${codec.size}`,
    );
  }
  return {
    name: variable.name,
    size: variable.size,
    get: () => decodeRecord(codec, variable.bytes()),
    set(value) {
      const b = variable.bytes();
      codec.write(new DataView(b.buffer, b.byteOffset, b.byteLength), 0, value);
      variable.set(b);
    },
  };
}

/** The codecs a generated module hands {@linkcode bindCollection} and {@linkcode bindSpec}. */
export interface BindingCodecs {
  /** Key and value codecs of the maps that get a typed view, by map name. */
  maps: Readonly<Record<string, { key: Codec<unknown>; value: Codec<unknown> }>>;
  /** Codecs of the global variables, by variable name. */
  variables: Readonly<Record<string, Codec<unknown>>>;
}

/**
 * A collection spec with its variables typed: what a generated `loadSpec()`
 * returns, `V` naming the object's variables.
 */
export interface BoundSpec<V = Readonly<Record<string, TypedVariable<unknown>>>> {
  /** The spec itself, to adapt before load (map sizes, programs' autoload …). */
  readonly collection: CollectionSpec;
  /** The global variables, typed: set `.rodata` constants here before load. */
  readonly variables: V;
}

/**
 * Types the variables of `spec` with `codecs` (variables the spec lacks are
 * left out); `V` is the type the caller gives them (a generated module's
 * interface, which it writes from the same BTF as the codecs).
 */
export function bindSpec<V = Readonly<Record<string, TypedVariable<unknown>>>>(
  spec: CollectionSpec,
  codecs: BindingCodecs,
): BoundSpec<V> {
  const variables: Record<string, TypedVariable<unknown>> = {};
  for (const [name, codec] of Object.entries(codecs.variables)) {
    if (Object.hasOwn(spec.variables, name)) {
      variables[name] = typedVariable(spec.variables[name], codec);
    }
  }
  return { collection: spec, variables: variables as V };
}

/**
 * A loaded collection with typed maps and variables: what a generated
 * `load()` returns, `P`, `M` and `V` naming the object's programs, maps
 * and variables.
 */
export interface BoundCollection<
  P = Readonly<Record<string, Program>>,
  M = Readonly<Record<string, BpfMap | TypedMap<unknown, unknown, BpfMap>>>,
  V = Readonly<Record<string, TypedVariable<unknown>>>,
> extends Disposable {
  /** The collection (raw maps and programs, CO-RE results, warnings). */
  readonly collection: Collection;
  /** The programs by name. */
  readonly programs: P;
  /** The maps by name: a typed view where the map has key and value types, else the map. */
  readonly maps: M;
  /** The global variables, typed. */
  readonly variables: V;
  /** Closes the collection (every map and program). */
  close(): void;
}

/**
 * Gives a loaded collection's maps and variables their codecs; `P`, `M`
 * and `V` are the types the caller gives its programs, maps and variables
 * (a generated module's interfaces, written from the same BTF as the
 * codecs).
 */
export function bindCollection<
  P = Readonly<Record<string, Program>>,
  M = Readonly<Record<string, BpfMap | TypedMap<unknown, unknown, BpfMap>>>,
  V = Readonly<Record<string, TypedVariable<unknown>>>,
>(coll: Collection, codecs: BindingCodecs): BoundCollection<P, M, V> {
  const maps: Record<string, BpfMap | TypedMap<unknown, unknown, BpfMap>> = {};
  for (const [name, m] of Object.entries(coll.maps)) {
    const c = codecs.maps[name];
    maps[name] = c ? new TypedMap(m, c) : m;
  }
  const variables: Record<string, TypedVariable<unknown>> = {};
  for (const [name, codec] of Object.entries(codecs.variables)) {
    if (name in coll.variables) variables[name] = typedVariable(coll.variables[name], codec);
  }
  const close = () => coll.close();
  return {
    collection: coll,
    programs: coll.programs as P,
    maps: maps as M,
    variables: variables as V,
    close,
    [Symbol.dispose]: close,
  };
}
