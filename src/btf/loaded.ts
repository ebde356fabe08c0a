/**
 * BTF objects loaded in the kernel (the object BTF of loaded programs and
 * maps, vmlinux, modules): their raw bytes and descriptions, read back
 * with BPF_OBJ_GET_INFO_BY_FD (`struct bpf_btf_info`, linux/bpf.h), as
 * `bpftool btf dump id N` does.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { BTF_INFO } from "../sys/abi.ts";
import { addressOf } from "../sys/bpf.ts";
import type { FD } from "../sys/fd.ts";
import { objFromId, objInfo } from "../sys/obj.ts";
import { parseBtf, type Spec } from "./spec.ts";

const INFO_SIZE = BTF_INFO.size;
const F = BTF_INFO.fields;
const NAME_MAX = 64;
/** Larger than any BTF a kernel hands out (vmlinux is ~6 MB). */
const MAX_BTF_SIZE = 256 * 1024 * 1024;
const decoder = new TextDecoder();

/** What the kernel says of a loaded BTF object. */
export interface LoadedBtfInfo {
  /** Its id (as in `bpftool btf list`). */
  id: number;
  /** `vmlinux`, a module's name, or "" for BTF that a program loaded. */
  name: string;
  /** Whether it is the kernel's own BTF (vmlinux or a module's). */
  kernel: boolean;
  /** The size of its raw BTF in bytes. */
  size: number;
}

function readInfo(fd: number, btf?: Uint8Array): LoadedBtfInfo {
  const buf = new Uint8Array(INFO_SIZE);
  const dv = new DataView(buf.buffer);
  const name = new Uint8Array(NAME_MAX);
  if (btf) {
    dv.setBigUint64(F.btf[0], addressOf(btf), true);
    dv.setUint32(F.btfSize[0], btf.byteLength, true);
  }
  dv.setBigUint64(F.name[0], addressOf(name), true);
  dv.setUint32(F.nameLen[0], name.byteLength, true);
  objInfo(fd, buf);
  const end = name.indexOf(0);
  return {
    id: dv.getUint32(F.id[0], true),
    name: decoder.decode(name.subarray(0, end < 0 ? name.length : end)),
    kernel: dv.getUint32(F.kernelBtf[0], true) !== 0,
    size: dv.getUint32(F.btfSize[0], true),
  };
}

/** Describes the loaded BTF object `btf` (a descriptor of it). */
export function loadedBtfInfo(btf: FD | number): LoadedBtfInfo {
  return readInfo(typeof btf === "number" ? btf : btf.value);
}

/**
 * The raw bytes of the loaded BTF object `btf` (a descriptor of it), as
 * the kernel keeps them: for a module, split BTF on vmlinux.
 *
 * @throws {SyscallError} when the kernel refuses (ENOENT, EPERM without CAP_SYS_ADMIN…).
 */
export function loadedBtfBytes(btf: FD | number): Uint8Array {
  const fd = typeof btf === "number" ? btf : btf.value;
  // The size first, then the bytes; a second try covers a size that is
  // only known once asked (the kernel writes back the real size).
  let size = readInfo(fd).size;
  for (let attempt = 0; attempt < 2; attempt++) {
    if (size <= 0 || size > MAX_BTF_SIZE) {
      throw new InvalidArgumentError(`BTF object of implausible size ${size} bytes`);
    }
    const bytes = new Uint8Array(size);
    const info = readInfo(fd, bytes);
    if (info.size <= size) return bytes.subarray(0, info.size);
    size = info.size;
  }
  throw new InvalidArgumentError("BTF object changed size while being read");
}

/**
 * Parses the BTF object with id `id` (see `bpftool btf list`, or a
 * program's `info().btfId`). Split BTF (a module's) needs `options.base`,
 * the vmlinux spec.
 *
 * @example
 * ```ts ignore
 * const spec = loadedBtfSpec(program.info().btfId);
 * const fn = spec.typeByName("decide", "func");
 * ```
 */
export function loadedBtfSpec(id: number, options: { base?: Spec } = {}): Spec {
  if (!Number.isInteger(id) || id <= 0) {
    throw new InvalidArgumentError(`invalid BTF object id ${id} (0: the program has no BTF)`);
  }
  using fd = objFromId("btf", id);
  return parseBtf(loadedBtfBytes(fd), { base: options.base });
}
