/**
 * Global variables of an object (`.data`, `.rodata`, `.bss`, custom data
 * sections): {@linkcode VariableSpec} reads and sets a variable's initial
 * value before load; {@linkcode Variable} reads and writes it in the loaded
 * map afterwards (through the map's memory mapping when it is mmapable).
 *
 * Values are converted according to the variable's BTF type: integers up to
 * 32 bits, enums and floats are numbers, 64-bit integers and pointers
 * bigints, `bool` a boolean, `char[N]` a string, anything else bytes.
 *
 * @module
 */

import { InvalidArgumentError, NotFoundError } from "../errors.ts";
import type { Spec } from "../btf/spec.ts";
import { strictRecord } from "./_record.ts";
import type { CollectionMapSpec } from "./types.ts";

/** What `get()` returns and `set()` accepts. */
export type VariableValue = number | bigint | boolean | string | Uint8Array;

const utf8 = new TextEncoder();
const utf8d = new TextDecoder();

type Shape =
  | { kind: "int"; size: number; signed: boolean }
  | { kind: "bool" }
  | { kind: "float"; size: number }
  | { kind: "string"; size: number }
  | { kind: "bytes"; size: number };

function shapeOf(btf: Spec | undefined, typeId: number | undefined, size: number): Shape {
  if (btf === undefined || typeId === undefined) return { kind: "bytes", size };
  let t;
  try {
    t = btf.resolve(typeId);
  } catch {
    return { kind: "bytes", size };
  }
  switch (t.kind) {
    case "int":
      if (t.encoding === "bool" && t.size === 1) return { kind: "bool" };
      if (t.bitOffset !== 0 || t.bits !== t.size * 8) return { kind: "bytes", size };
      return { kind: "int", size: t.size, signed: t.encoding === "signed" };
    case "enum":
    case "enum64":
      return { kind: "int", size: t.size, signed: t.signed };
    case "ptr":
      return { kind: "int", size: 8, signed: false };
    case "float":
      return t.size === 4 || t.size === 8
        ? { kind: "float", size: t.size }
        : { kind: "bytes", size };
    case "array": {
      const el = btf.resolve(t.type);
      if (el.kind === "int" && el.size === 1 && (el.encoding === "char" || el.name === "char")) {
        return { kind: "string", size };
      }
      return { kind: "bytes", size };
    }
    default:
      return { kind: "bytes", size };
  }
}

function decode(shape: Shape, b: Uint8Array, le: boolean): VariableValue {
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  switch (shape.kind) {
    case "bool":
      return b[0] !== 0;
    case "int":
      switch (shape.size) {
        case 1:
          return shape.signed ? dv.getInt8(0) : dv.getUint8(0);
        case 2:
          return shape.signed ? dv.getInt16(0, le) : dv.getUint16(0, le);
        case 4:
          return shape.signed ? dv.getInt32(0, le) : dv.getUint32(0, le);
        case 8:
          return shape.signed ? dv.getBigInt64(0, le) : dv.getBigUint64(0, le);
      }
      return b.slice();
    case "float":
      return shape.size === 4 ? dv.getFloat32(0, le) : dv.getFloat64(0, le);
    case "string": {
      const end = b.indexOf(0);
      return utf8d.decode(b.subarray(0, end < 0 ? b.length : end));
    }
    case "bytes":
      return b.slice();
  }
}

function encode(shape: Shape, value: VariableValue, out: Uint8Array, le: boolean, what: string) {
  if (value instanceof Uint8Array) {
    if (value.length !== out.length) {
      throw new InvalidArgumentError(
        `${what} is ${out.length} bytes; the value given has ${value.length}`,
      );
    }
    out.set(value);
    return;
  }
  const dv = new DataView(out.buffer, out.byteOffset, out.byteLength);
  const bad = (expected: string): never => {
    throw new InvalidArgumentError(
      `${what} takes ${expected}, not ${typeof value} ${String(value)}`,
    );
  };
  switch (shape.kind) {
    case "bool":
      if (typeof value !== "boolean" && typeof value !== "number") bad("a boolean");
      out[0] = value ? 1 : 0;
      return;
    case "float":
      if (typeof value !== "number") bad("a number");
      if (shape.size === 4) dv.setFloat32(0, value as number, le);
      else dv.setFloat64(0, value as number, le);
      return;
    case "string": {
      if (typeof value !== "string") bad("a string");
      const b = utf8.encode(value as string);
      if (b.length > out.length - 1) {
        throw new InvalidArgumentError(
          `${what} holds at most ${out.length - 1} bytes and a NUL; ${JSON.stringify(value)} ` +
            `has ${b.length}`,
        );
      }
      out.fill(0);
      out.set(b);
      return;
    }
    case "int": {
      let n: bigint;
      if (typeof value === "bigint") n = value;
      else if (typeof value === "number" && Number.isInteger(value)) n = BigInt(value);
      else if (typeof value === "boolean") n = value ? 1n : 0n;
      else return bad("an integer");
      const bits = shape.size * 8;
      const min = shape.signed ? -(1n << BigInt(bits - 1)) : 0n;
      const max = shape.signed ? (1n << BigInt(bits - 1)) - 1n : (1n << BigInt(bits)) - 1n;
      if (n < min || n > max) {
        throw new InvalidArgumentError(
          `${what} is a ${
            shape.signed ? "signed" : "unsigned"
          } ${bits}-bit integer; ${n} is out of range`,
        );
      }
      const u = BigInt.asUintN(bits, n);
      switch (shape.size) {
        case 1:
          dv.setUint8(0, Number(u));
          return;
        case 2:
          dv.setUint16(0, Number(u), le);
          return;
        case 4:
          dv.setUint32(0, Number(u), le);
          return;
        case 8:
          dv.setBigUint64(0, u, le);
          return;
      }
      return bad("raw bytes");
    }
    case "bytes":
      return bad(`a Uint8Array of ${out.length} bytes`);
  }
}

/** Where a variable lives: shared by {@linkcode VariableSpec} and {@linkcode Variable}. */
export interface VariableLocation {
  /** The variable's name. */
  readonly name: string;
  /** The map (data section) holding it, e.g. `".bss"`. */
  readonly mapName: string;
  /** Byte offset in the map's value. */
  readonly offset: number;
  /** Size in bytes. */
  readonly size: number;
  /** The `VAR`'s type id in the object's BTF, if known. */
  readonly typeId?: number;
}

/**
 * A global variable of a {@linkcode CollectionSpec}, before load. Setting it
 * changes the initial contents of its data section's map (`.rodata`
 * constants set here become known to the verifier).
 *
 * @example
 * ```ts ignore
 * const spec = loadCollectionSpec("prog.o");
 * spec.variables.rodata_limit.set(100);
 * ```
 */
export class VariableSpec implements VariableLocation {
  /** The variable's name. */
  readonly name: string;
  /** The map (data section) holding it. */
  readonly mapName: string;
  /** Byte offset in the map's value. */
  readonly offset: number;
  /** Size in bytes. */
  readonly size: number;
  /** The `VAR`'s type id in the object's BTF, if known. */
  readonly typeId?: number;
  /** True for `.rodata*` variables: constant once loaded. */
  readonly constant: boolean;
  #map: CollectionMapSpec;
  #shape: Shape;
  #le: boolean;

  /** Creates the variable over `map`'s initial contents. */
  constructor(
    location: VariableLocation,
    map: CollectionMapSpec,
    options: { btf?: Spec; littleEndian: boolean; constant?: boolean },
  ) {
    this.name = location.name;
    this.mapName = location.mapName;
    this.offset = location.offset;
    this.size = location.size;
    this.typeId = location.typeId;
    this.constant = options.constant ?? false;
    this.#map = map;
    this.#shape = shapeOf(options.btf, location.typeId, location.size);
    this.#le = options.littleEndian;
  }

  #bytes(): Uint8Array {
    const c = this.#map.contents?.[0]?.value;
    if (!(c instanceof Uint8Array) || c.length < this.offset + this.size) {
      throw new InvalidArgumentError(
        `variable ${this.name}: the contents of map ${this.mapName} were replaced or truncated`,
      );
    }
    return c.subarray(this.offset, this.offset + this.size);
  }

  /** The variable's raw initial bytes (a copy). */
  bytes(): Uint8Array {
    return this.#bytes().slice();
  }

  /** The initial value, converted by BTF type. */
  get(): VariableValue {
    return decode(this.#shape, this.#bytes(), this.#le);
  }

  /**
   * Sets the initial value.
   *
   * @throws {InvalidArgumentError} when the value does not fit the type.
   */
  set(value: VariableValue): void {
    encode(this.#shape, value, this.#bytes(), this.#le, `variable ${this.name}`);
  }
}

/**
 * `variables` made into a `CollectionSpec.variables`: reading a name it
 * does not hold (`spec.variables.nope.set(1)`) throws `NotFoundError`
 * listing the variables there are, instead of a `TypeError` on `undefined`.
 * `in`, `Object.keys` and the other ways to look at it are unchanged.
 */
export function specVariables(
  variables: Record<string, VariableSpec>,
): Record<string, VariableSpec> {
  return strictRecord(
    variables,
    (name, names) =>
      new NotFoundError(
        `variable ${name}`,
        `spec.variables has no variable ${JSON.stringify(name)} (it has: ${
          names.join(", ") || "none"
        }); names are the object's global variables, "<section>/<name>" for a name a second ` +
          `data section defines again; test for one with \`name in spec.variables\``,
      ),
  );
}

/**
 * A global variable of a loaded collection, read and written in its map:
 * through the map's memory mapping (mmapable data sections), else with map
 * lookups and updates.
 */
export class Variable implements VariableLocation {
  /** The variable's name. */
  readonly name: string;
  /** The map holding it. */
  readonly mapName: string;
  /** Byte offset in the map's value. */
  readonly offset: number;
  /** Size in bytes. */
  readonly size: number;
  /** The `VAR`'s type id in the object's BTF, if known. */
  readonly typeId?: number;
  /** True when the map is frozen (`.rodata`, `.kconfig`): `set` throws. */
  readonly readOnly: boolean;
  #shape: Shape;
  #access: VariableAccess;

  /** Creates the variable over `access` (used by the collection loader). */
  constructor(
    location: VariableLocation,
    access: VariableAccess,
    options: { btf?: Spec; readOnly: boolean },
  ) {
    this.name = location.name;
    this.mapName = location.mapName;
    this.offset = location.offset;
    this.size = location.size;
    this.typeId = location.typeId;
    this.readOnly = options.readOnly;
    this.#shape = shapeOf(options.btf, location.typeId, location.size);
    this.#access = access;
  }

  /** The current raw bytes (a copy). */
  bytes(): Uint8Array {
    return this.#access.read(this.offset, this.size);
  }

  /** The current value, converted by BTF type. */
  get(): VariableValue {
    return decode(this.#shape, this.#access.read(this.offset, this.size), true);
  }

  /**
   * Writes a new value.
   *
   * @throws {InvalidArgumentError} when the map is read-only or the value does not fit.
   */
  set(value: VariableValue): void {
    if (this.readOnly) {
      throw new InvalidArgumentError(
        `variable ${this.name} is in frozen map ${this.mapName}: set it on the spec before load`,
      );
    }
    const b = new Uint8Array(this.size);
    encode(this.#shape, value, b, true, `variable ${this.name}`);
    this.#access.write(this.offset, b);
  }
}

/** How a loaded {@linkcode Variable} reaches its bytes. */
export interface VariableAccess {
  /** Reads `size` bytes at `offset` of the map's value. */
  read(offset: number, size: number): Uint8Array;
  /** Writes `bytes` at `offset` of the map's value. */
  write(offset: number, bytes: Uint8Array): void;
}
