/**
 * `struct bpf_map_info`, as BPF_OBJ_GET_INFO_BY_FD fills it.
 *
 * @module
 */

import { layoutU32, layoutU64, MAP_INFO } from "../sys/abi.ts";
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
export const MAP_INFO_SIZE: number = MAP_INFO.size;

/** Decodes a `struct bpf_map_info` buffer (fields past its end read as 0). */
export function decodeMapInfo(buf: Uint8Array): MapInfo {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const f = MAP_INFO.fields;
  const [nameOff, nameLen] = f.name;
  const nameBytes = buf.subarray(nameOff, nameOff + nameLen);
  const end = nameBytes.indexOf(0);
  const type = layoutU32(dv, f.type);
  return {
    type,
    typeName: mapTypeName(type),
    id: layoutU32(dv, f.id),
    keySize: layoutU32(dv, f.keySize),
    valueSize: layoutU32(dv, f.valueSize),
    maxEntries: layoutU32(dv, f.maxEntries),
    flags: layoutU32(dv, f.mapFlags),
    name: new TextDecoder().decode(nameBytes.subarray(0, end < 0 ? nameBytes.length : end)),
    ifindex: layoutU32(dv, f.ifindex),
    btfVmlinuxValueTypeId: layoutU32(dv, f.btfVmlinuxValueTypeId),
    netnsDev: layoutU64(dv, f.netnsDev),
    netnsIno: layoutU64(dv, f.netnsIno),
    btfId: layoutU32(dv, f.btfId),
    btfKeyTypeId: layoutU32(dv, f.btfKeyTypeId),
    btfValueTypeId: layoutU32(dv, f.btfValueTypeId),
    btfVmlinuxId: layoutU32(dv, f.btfVmlinuxId),
    mapExtra: layoutU64(dv, f.mapExtra),
  };
}

/** Reads the info of the map behind descriptor `fd`. */
export function readMapInfo(fd: number): MapInfo {
  const buf = new Uint8Array(MAP_INFO_SIZE);
  const len = objInfo(fd, buf);
  return decodeMapInfo(buf.subarray(0, Math.min(len, MAP_INFO_SIZE)));
}
