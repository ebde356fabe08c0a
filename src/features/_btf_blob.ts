// The tiny BTF that local-storage map probes need: the kernel only creates
// sk/inode/task/cgrp storage maps whose value type is described by BTF.
// Encoded by hand from the BTF format (Documentation/bpf/btf.rst):
//
//   [1] int, signed, 32 bits
//   [2] struct bpf_spin_lock { int val; }
//   [3] struct val { int cnt; struct bpf_spin_lock l; }

import { btfBlob } from "../btf/blob.ts";
import { BtfKind } from "../sys/abi.ts";
import { bpfTry } from "../sys/bpf.ts";
import { counted } from "./_raw.ts";

const KIND_INT = BtfKind.int;
const KIND_STRUCT = BtfKind.struct;
const INT_SIGNED = 1;

/** BTF type id of the probe's key type (`int`). */
export const STORAGE_KEY_TYPE_ID = 1;
/** BTF type id of the probe's value type (`struct val`). */
export const STORAGE_VALUE_TYPE_ID = 3;

/** The raw BTF blob (header, types, strings). */
function storageProbeBtf(): Uint8Array {
  const strings = "\0bpf_spin_lock\0val\0cnt\0l\0";
  const off = (s: string) => strings.indexOf(`\0${s}\0`) + 1;
  const info = (kind: number, vlen: number) => ((kind << 24) | vlen) >>> 0;
  const types = [
    // [1] int
    0,
    info(KIND_INT, 0),
    4,
    (INT_SIGNED << 24) | 32,
    // [2] struct bpf_spin_lock
    off("bpf_spin_lock"),
    info(KIND_STRUCT, 1),
    4,
    off("val"),
    1,
    0,
    // [3] struct val
    off("val"),
    info(KIND_STRUCT, 2),
    8,
    off("cnt"),
    1,
    0,
    off("l"),
    2,
    32,
  ];
  return btfBlob(types, new TextEncoder().encode(strings));
}

/** Loads the blob; returns the BTF fd (closed by the caller) or -errno. */
export function loadStorageProbeBtf(): number {
  const btf = storageProbeBtf();
  return counted(() => bpfTry("BTF_LOAD", { btf, btfSize: btf.byteLength }));
}
