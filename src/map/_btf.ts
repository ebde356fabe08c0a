// A tiny BTF blob for the maps that need BTF key/value types (local storage
// maps; spin-locked values): `int` for the key and a struct of the value's
// size. Private to src/map; the full BTF module lives in src/btf.
// Layout facts from the kernel's Documentation/bpf/btf.rst and linux/btf.h.

import { btfBlob } from "../btf/blob.ts";
import { BtfKind } from "../sys/abi.ts";

const KIND_INT = BtfKind.int;
const KIND_ARRAY = BtfKind.array;
const KIND_STRUCT = BtfKind.struct;
const INT_SIGNED = 1;

/** What the blob describes. */
export interface MapBtfLayout {
  /** Size of the value struct in bytes. */
  valueSize: number;
  /** Put a `struct bpf_spin_lock` at this byte offset of the value (for BPF_F_LOCK). */
  spinLockOffset?: number;
}

/** The blob and the type ids a map create needs. */
export interface MapBtfBlob {
  blob: Uint8Array;
  keyTypeId: number;
  valueTypeId: number;
}

/**
 * Builds: [1] int, [2] unsigned char, [3] unsigned char[n] (as needed),
 * [4] struct bpf_spin_lock (as needed), and a struct `map_value` of
 * `valueSize` bytes whose members cover the value.
 */
export function buildMapBtf(layout: MapBtfLayout): MapBtfBlob {
  const strings: number[] = [0];
  const enc = new TextEncoder();
  const str = (s: string) => {
    const off = strings.length;
    strings.push(...enc.encode(s), 0);
    return off;
  };
  const words: number[] = [];
  let nextId = 1;
  const type = (nameOff: number, kind: number, vlen: number, sizeOrType: number) => {
    words.push(nameOff, ((kind & 0x1f) << 24) | (vlen & 0xffff), sizeOrType);
    return nextId++;
  };

  const intId = type(str("int"), KIND_INT, 0, 4);
  words.push((INT_SIGNED << 24) | 32);
  const charId = type(str("unsigned char"), KIND_INT, 0, 1);
  words.push(8);
  const arrays = new Map<number, number>();
  const byteArray = (n: number) => {
    let id = arrays.get(n);
    if (id === undefined) {
      id = type(0, KIND_ARRAY, 0, 0);
      words.push(charId, intId, n);
      arrays.set(n, id);
    }
    return id;
  };

  // Members: [name, type id, byte offset].
  const members: [string, number, number][] = [];
  const size = layout.valueSize;
  const lockAt = layout.spinLockOffset;
  if (lockAt !== undefined) {
    const lockId = type(str("bpf_spin_lock"), KIND_STRUCT, 1, 4);
    words.push(str("val"), intId, 0);
    if (lockAt > 0) members.push(["pad", byteArray(lockAt), 0]);
    members.push(["lock", lockId, lockAt]);
    if (size > lockAt + 4) members.push(["data", byteArray(size - lockAt - 4), lockAt + 4]);
  } else {
    members.push(["data", byteArray(size), 0]);
  }
  const valueId = type(str("map_value"), KIND_STRUCT, members.length, size);
  for (const [name, id, off] of members) words.push(str(name), id, off * 8);

  const blob = btfBlob(words, new Uint8Array(strings));
  return { blob, keyTypeId: intId, valueTypeId: valueId };
}
