/**
 * Accepting "a map" in the APIs that only need its descriptor (ring and
 * perf buffer readers, links): a `BpfMap`, an `FD`, or a raw descriptor.
 *
 * @module
 */

import { readMapInfo } from "../map/info.ts";

/** The fields of `struct bpf_map_info` that describe a map's shape. */
export interface MapBasics {
  /** Map type number. */
  type: number;
  /** Map id. */
  id: number;
  /** Key size in bytes. */
  keySize: number;
  /** Value size in bytes. */
  valueSize: number;
  /** Maximum entries (for a ring buffer: its size in bytes). */
  maxEntries: number;
  /** Map flags. */
  flags: number;
}

/**
 * Reads the shape of the map behind `fd` with BPF_OBJ_GET_INFO_BY_FD
 * (decoded by `readMapInfo`, the one `struct bpf_map_info` decoder).
 */
export function mapBasics(fd: number): MapBasics {
  const { type, id, keySize, valueSize, maxEntries, flags } = readMapInfo(fd);
  return { type, id, keySize, valueSize, maxEntries, flags };
}
