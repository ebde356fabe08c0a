/**
 * `struct bpf_map_info`, as BPF_OBJ_GET_INFO_BY_FD fills it.
 *
 * @module
 */

import { objInfo } from "../sys/obj.ts";
import { mapTypeName } from "./types.ts";

/** What the kernel reports about a map (`struct bpf_map_info`). */
export interface MapInfo {
  /** Type number. */
  type: number;
  /** Type name, e.g. `"hash"`. */
  typeName: string;
  /** The map's id (stable while the map exists; see `mapFromId`). */
  id: number;
  /** Key size in bytes. */
  keySize: number;
  /** Value size in bytes (per CPU for per-CPU maps). */
  valueSize: number;
  /** Maximum entries. */
  maxEntries: number;
  /** Creation flags. */
  flags: number;
  /** The name given at creation ("" if none). */
  name: string;
  /** Offload device (0: none). */
  ifindex: number;
  /** struct_ops maps: vmlinux BTF id of the value type. */
  btfVmlinuxValueTypeId: number;
  /** Offload: network namespace device. */
  netnsDev: bigint;
  /** Offload: network namespace inode. */
  netnsIno: bigint;
  /** Id of the map's BTF object (0: none). */
  btfId: number;
  /** BTF type id of the key. */
  btfKeyTypeId: number;
  /** BTF type id of the value. */
  btfValueTypeId: number;
  /** Id of the vmlinux (or module) BTF of a struct_ops value type (6.8+; 0 before). */
  btfVmlinuxId: number;
  /** `map_extra` (bloom filter hash count, arena start address). */
  mapExtra: bigint;
}

/** Bytes of `struct bpf_map_info` this module reads (through `map_extra`). */
export const MAP_INFO_SIZE = 88;

/** Decodes a `struct bpf_map_info` buffer. */
export function decodeMapInfo(buf: Uint8Array): MapInfo {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const u32 = (o: number) => (o + 4 <= buf.byteLength ? dv.getUint32(o, true) : 0);
  const u64 = (o: number) => (o + 8 <= buf.byteLength ? dv.getBigUint64(o, true) : 0n);
  const nameBytes = buf.subarray(24, 40);
  const end = nameBytes.indexOf(0);
  const type = u32(0);
  return {
    type,
    typeName: mapTypeName(type),
    id: u32(4),
    keySize: u32(8),
    valueSize: u32(12),
    maxEntries: u32(16),
    flags: u32(20),
    name: new TextDecoder().decode(nameBytes.subarray(0, end < 0 ? 16 : end)),
    ifindex: u32(40),
    btfVmlinuxValueTypeId: u32(44),
    netnsDev: u64(48),
    netnsIno: u64(56),
    btfId: u32(64),
    btfKeyTypeId: u32(68),
    btfValueTypeId: u32(72),
    btfVmlinuxId: u32(76),
    mapExtra: u64(80),
  };
}

/** Reads the info of the map behind descriptor `fd`. */
export function readMapInfo(fd: number): MapInfo {
  const buf = new Uint8Array(MAP_INFO_SIZE);
  const len = objInfo(fd, buf);
  return decodeMapInfo(buf.subarray(0, Math.min(len, MAP_INFO_SIZE)));
}
