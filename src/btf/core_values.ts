/**
 * CO-RE relocation values: what a field, type or enumerator relocation
 * computes for one side (local or target) of a matched access spec.
 *
 * @module
 */

import { coreKindLabel, CoreRelocationKind } from "./core_kinds.ts";
import { type CoreSpec, SpecError } from "./core_access.ts";
import { isAnyEnum, sizeOf, skip } from "./core_types.ts";
import type { BtfType, Member } from "./types.ts";

interface FieldValue {
  value: bigint;
  /** Memory size of a plain field (for load/store size adjustment); 0 for bitfields. */
  size: number;
  /** The field's type id (for the size adjustment check). */
  typeId: number;
  validate: boolean;
}

/** Thrown when a relocation has no target value: the instruction is poisoned. */
export class Poison extends Error {}

/** `bitOff` in bytes; a field that is not a bitfield starts on a byte (else the BTF is bad). */
function byteAligned(bitOff: number, what: string): number {
  if (bitOff % 8 !== 0) throw new SpecError(`${what} is at bit offset ${bitOff}, not on a byte`);
  return bitOff / 8;
}

/** The value of a field relocation for one side (`spec` undefined: no match). */
export function calcField(
  kind: number,
  spec: CoreSpec | undefined,
  bigEndian: boolean,
): FieldValue {
  if (kind === CoreRelocationKind.FIELD_EXISTS) {
    return { value: spec ? 1n : 0n, size: 0, typeId: 0, validate: true };
  }
  if (!spec) throw new Poison();
  const btf = spec.btf;
  const acc = spec.acc[spec.acc.length - 1];
  if (acc.name === undefined) {
    // An array element access a[n].
    const sz = sizeOf(btf, acc.typeId);
    if (sz < 0) throw new SpecError(`array element [${acc.typeId}] has no size`);
    if (kind === CoreRelocationKind.FIELD_BYTE_OFFSET) {
      return {
        value: BigInt(byteAligned(spec.bitOffset, "array element")),
        size: sz,
        typeId: acc.typeId,
        validate: true,
      };
    }
    if (kind === CoreRelocationKind.FIELD_BYTE_SIZE) {
      return { value: BigInt(sz), size: 0, typeId: 0, validate: true };
    }
    throw new SpecError(`${coreKindLabel(kind)} cannot be applied to an array access`);
  }
  const t = btf.typeById(acc.typeId) as Extract<BtfType, { members: readonly Member[] }>;
  const m = t.members[acc.idx];
  const mt = skip(btf, m.type);
  const fieldType = mt.id;
  const bitOff = spec.bitOffset;
  let bitSz = m.bitfieldSize;
  const bitfield = bitSz > 0;
  let byteSz: number;
  let byteOff: number;
  if (bitfield) {
    byteSz = (mt as { size?: number }).size ?? 0;
    if (byteSz <= 0) throw new SpecError(`bitfield ${acc.name} has a sizeless type`);
    byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    while (bitOff + bitSz - byteOff * 8 > byteSz * 8) {
      if (byteSz >= 8) {
        throw new SpecError(`bitfield ${acc.name} cannot be read with a 64-bit load`);
      }
      byteSz *= 2;
      byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    }
  } else {
    byteSz = sizeOf(btf, fieldType);
    if (byteSz < 0) throw new SpecError(`field ${acc.name} has no size`);
    byteOff = byteAligned(bitOff, `field ${acc.name}`);
    bitSz = byteSz * 8;
  }
  let value: bigint;
  let validate = !bitfield;
  let size = 0;
  let typeId = 0;
  switch (kind) {
    case CoreRelocationKind.FIELD_BYTE_OFFSET:
      value = BigInt(byteOff);
      if (!bitfield) {
        size = byteSz;
        typeId = fieldType;
      }
      break;
    case CoreRelocationKind.FIELD_BYTE_SIZE:
      value = BigInt(byteSz);
      break;
    case CoreRelocationKind.FIELD_SIGNED:
      value = (isAnyEnum(mt) && mt.signed) || (mt.kind === "int" && mt.encoding === "signed")
        ? 1n
        : 0n;
      validate = true;
      break;
    case CoreRelocationKind.FIELD_LSHIFT_U64:
      value = bigEndian
        ? BigInt((8 - byteSz) * 8 + (bitOff - byteOff * 8))
        : BigInt(64 - (bitOff + bitSz - byteOff * 8));
      break;
    case CoreRelocationKind.FIELD_RSHIFT_U64:
      value = BigInt(64 - bitSz);
      validate = true;
      break;
    default:
      throw new SpecError(`unknown field relocation kind ${kind}`);
  }
  return { value, size, typeId, validate };
}

/** The value of a type relocation for one side (`spec` undefined: no match). */
export function calcType(kind: number, spec: CoreSpec | undefined): bigint {
  if (!spec) return 0n;
  switch (kind) {
    case CoreRelocationKind.TYPE_ID_TARGET:
      return BigInt(spec.rootTypeId);
    case CoreRelocationKind.TYPE_EXISTS:
    case CoreRelocationKind.TYPE_MATCHES:
      return 1n;
    case CoreRelocationKind.TYPE_SIZE: {
      const sz = sizeOf(spec.btf, spec.rootTypeId);
      if (sz < 0) throw new SpecError(`type [${spec.rootTypeId}] has no size`);
      return BigInt(sz);
    }
    default:
      throw new SpecError(`unknown type relocation kind ${kind}`);
  }
}

/** The value of an enumerator relocation for one side (`spec` undefined: no match). */
export function calcEnum(kind: number, spec: CoreSpec | undefined): bigint {
  if (kind === CoreRelocationKind.ENUMVAL_EXISTS) return spec ? 1n : 0n;
  if (!spec) throw new Poison();
  const a = spec.acc[0];
  const t = spec.btf.typeById(a.typeId);
  if (!isAnyEnum(t)) throw new SpecError("enumerator relocation on a non-enum");
  return BigInt(t.values[a.idx].value);
}
