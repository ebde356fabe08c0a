/**
 * `MapSpec`: a plain object that describes a map before it exists, and the
 * per-type defaults and checks applied before BPF_MAP_CREATE.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { possibleCpuCount } from "../sys/cpu.ts";
import type { FD } from "../sys/fd.ts";
import type { FdSource } from "../sys/fd_source.ts";
import { pageSize } from "../sys/mmap.ts";
import {
  isKeylessMapType,
  isLocalStorageMapType,
  isMapInMapType,
  isPerCpuMapType,
  MapCreateFlag,
  MapType,
  type MapTypeName,
  mapTypeName,
  mapTypeNumber,
} from "./types.ts";

/** BTF type information for a map (BPF_MAP_CREATE's `btf_*` fields). */
export interface MapBtfSpec {
  /** The loaded BTF object holding the key and value types. */
  btfFd?: FdSource;
  /** BTF type id of the key. */
  keyTypeId?: number;
  /** BTF type id of the value. */
  valueTypeId?: number;
  /** For struct_ops maps: the vmlinux type id of `struct bpf_struct_ops_<name>`. */
  vmlinuxValueTypeId?: number;
  /** For struct_ops maps of a module: the module's BTF object (6.9+). */
  valueTypeBtfObjFd?: FdSource;
}

/**
 * Describes a map, as cilium/ebpf's `MapSpec` does. Only `type` is always
 * required; the sizes have per-type defaults where the kernel fixes them
 * (e.g. 4-byte keys and values for `prog_array`, key size 0 for `queue`).
 *
 * @example
 * ```ts
 * const spec: MapSpec = { type: "hash", keySize: 4, valueSize: 8, maxEntries: 1024, name: "counts" };
 * ```
 */
export interface MapSpec {
  /** The map type, by name (`"hash"`) or number. */
  type: MapTypeName | number;
  /** Key size in bytes. */
  keySize?: number;
  /** Value size in bytes (per CPU for per-CPU maps). */
  valueSize?: number;
  /** Maximum number of entries (pages for arenas, bytes for ring buffers). */
  maxEntries?: number;
  /** BPF_MAP_CREATE flags, see `MapCreateFlag`. */
  flags?: number;
  /** Up to 15 characters of `[A-Za-z0-9_.]`. */
  name?: string;
  /** For `array_of_maps` / `hash_of_maps`: the inner map's spec, or an existing map. */
  innerMap?: MapSpec | { readonly fd: FD | number };
  /** NUMA node to allocate on (sets BPF_F_NUMA_NODE). */
  numaNode?: number;
  /** `map_extra`: number of hash functions for bloom filters; start address for arenas. */
  mapExtra?: number | bigint;
  /** BTF key/value types (local storage maps get a generated one when absent). */
  btf?: MapBtfSpec;
  /** Offload the map to this network device. */
  ifindex?: number;
  /** `"by_name"`: pin under `createMap`'s `pinPath` by name, reusing a compatible pin. */
  pinning?: "none" | "by_name";
}

/** A spec with every default applied and every size checked. */
export interface ResolvedMapSpec {
  /** The type number. */
  type: number;
  /** The type name. */
  typeName: string;
  /** Key size in bytes. */
  keySize: number;
  /** Value size in bytes (per CPU for per-CPU maps). */
  valueSize: number;
  /** Maximum entries. */
  maxEntries: number;
  /** Creation flags, including the ones the type requires. */
  flags: number;
  /** The name ("" when none). */
  name: string;
  /** Where `numaNode` was given, the node. */
  numaNode?: number;
  /** `map_extra`. */
  mapExtra: bigint;
  /** The inner map, for map-in-map types. */
  innerMap?: MapSpec | { readonly fd: FD | number };
  /** BTF info as given. */
  btf?: MapBtfSpec;
  /** Offload device. */
  ifindex: number;
  /** Pinning mode. */
  pinning: "none" | "by_name";
}

const U32_MAX = 0xffffffff;

function checkU32(what: string, v: number | undefined, typeName: string): void {
  if (v === undefined) return;
  if (!Number.isInteger(v) || v < 0 || v > U32_MAX) {
    throw new InvalidArgumentError(
      `${typeName} map: ${what} must be an integer from 0 to ${U32_MAX}, got ${v}`,
    );
  }
}

/** `map_extra` is a u64: a non-negative integer number or bigint. */
function checkMapExtra(v: number | bigint | undefined, typeName: string): bigint {
  if (v === undefined) return 0n;
  if (typeof v === "bigint" && v >= 0n && v <= 0xffffffffffffffffn) return v;
  if (typeof v === "number" && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
  throw new InvalidArgumentError(
    `${typeName} map: mapExtra must be an integer from 0 to 2^64-1 (a number or a bigint), ` +
      `got ${typeof v === "bigint" ? `${v}n` : typeof v === "number" ? v : typeof v}`,
  );
}

/** Rounds `n` up to a multiple of 8, the per-CPU value slot size. */
export function roundUp8(n: number): number {
  return (n + 7) & ~7;
}

/**
 * Bytes one value occupies in a syscall buffer: `valueSize` for most maps;
 * for per-CPU maps one 8-byte-aligned slot per possible CPU.
 */
export function valueBufferSize(
  type: number,
  valueSize: number,
  cpus: number = possibleCpuCount(),
): number {
  return isPerCpuMapType(type) ? roundUp8(valueSize) * cpus : valueSize;
}

/** Checks a map name: up to 15 characters of letters, digits, `_` and `.`. */
export function checkMapName(name: string): void {
  if (name.length > 15 || !/^[A-Za-z0-9_.]*$/.test(name)) {
    throw new InvalidArgumentError(
      `invalid map name ${JSON.stringify(name)}: use at most 15 characters of ` +
        `letters, digits, "_" and "."`,
    );
  }
}

const FIXED_4_4 = new Set<number>([
  MapType.prog_array,
  MapType.perf_event_array,
  MapType.cgroup_array,
  MapType.array_of_maps,
  MapType.xskmap,
]);

const ARRAY_KEYED = new Set<number>([
  MapType.array,
  MapType.percpu_array,
  MapType.prog_array,
  MapType.perf_event_array,
  MapType.cgroup_array,
  MapType.array_of_maps,
  MapType.devmap,
  MapType.sockmap,
  MapType.cpumap,
  MapType.xskmap,
  MapType.reuseport_sockarray,
  MapType.stack_trace,
]);

/** Value size defaults for the types whose value is a descriptor or an id. */
const DEFAULT_VALUE_4 = new Set<number>([
  MapType.devmap,
  MapType.devmap_hash,
  MapType.sockmap,
  MapType.sockhash,
  MapType.cpumap,
  MapType.reuseport_sockarray,
  MapType.hash_of_maps,
]);

function need(spec: MapSpec, field: "keySize" | "valueSize" | "maxEntries", typeName: string) {
  const v = spec[field];
  if (v === undefined) {
    throw new InvalidArgumentError(`${typeName} map: ${field} is required`);
  }
  return v;
}

/**
 * Applies the per-type defaults and checks a spec, without any syscall.
 * Throws {@linkcode InvalidArgumentError} saying which field to fix.
 */
export function resolveMapSpec(spec: MapSpec): ResolvedMapSpec {
  if (spec === null || typeof spec !== "object") {
    throw new InvalidArgumentError("createMap needs a MapSpec object");
  }
  const type = mapTypeNumber(spec.type);
  const typeName = mapTypeName(type);
  checkU32("keySize", spec.keySize, typeName);
  checkU32("valueSize", spec.valueSize, typeName);
  checkU32("maxEntries", spec.maxEntries, typeName);
  checkU32("flags", spec.flags, typeName);
  checkU32("ifindex", spec.ifindex, typeName);
  const mapExtra = checkMapExtra(spec.mapExtra, typeName);
  const name = spec.name ?? "";
  checkMapName(name);

  let flags = spec.flags ?? 0;
  let keySize = spec.keySize;
  let valueSize = spec.valueSize;
  let maxEntries = spec.maxEntries;

  if (FIXED_4_4.has(type)) {
    keySize ??= 4;
    valueSize ??= 4;
  }
  if (ARRAY_KEYED.has(type)) keySize ??= 4;
  if (DEFAULT_VALUE_4.has(type)) valueSize ??= 4;
  if (type === MapType.perf_event_array || type === MapType.cpumap) {
    maxEntries ??= possibleCpuCount();
  }
  if (type === MapType.stack_trace) valueSize ??= 127 * 8; // PERF_MAX_STACK_DEPTH frames
  if (type === MapType.devmap_hash) keySize ??= 4;

  if (isKeylessMapType(type)) {
    if (keySize !== undefined && keySize !== 0) {
      throw new InvalidArgumentError(`${typeName} map: keySize must be 0 (it has no keys)`);
    }
    keySize = 0;
  }
  if (type === MapType.ringbuf || type === MapType.user_ringbuf || type === MapType.arena) {
    if (valueSize !== undefined && valueSize !== 0) {
      throw new InvalidArgumentError(`${typeName} map: valueSize must be 0`);
    }
    valueSize = 0;
  }
  if (type === MapType.ringbuf || type === MapType.user_ringbuf) {
    const n = need(spec, "maxEntries", typeName);
    const page = pageSize();
    if (n === 0 || (n & (n - 1)) !== 0 || n % page !== 0) {
      throw new InvalidArgumentError(
        `${typeName} map: maxEntries is the buffer size in bytes and must be a power of two ` +
          `and a multiple of the page size (${page}), e.g. ${page * 64}; got ${n}`,
      );
    }
  }
  if (type === MapType.arena) {
    flags |= MapCreateFlag.MMAPABLE;
    if (need(spec, "maxEntries", typeName) === 0) {
      throw new InvalidArgumentError(`arena map: maxEntries (the number of pages) must be > 0`);
    }
  }
  if (isLocalStorageMapType(type)) {
    keySize ??= 4;
    maxEntries ??= 0;
    flags |= MapCreateFlag.NO_PREALLOC;
    if (keySize !== 4) {
      throw new InvalidArgumentError(`${typeName} map: keySize must be 4 (an fd or pidfd)`);
    }
    if (maxEntries !== 0) {
      throw new InvalidArgumentError(`${typeName} map: maxEntries must be 0 (storage per object)`);
    }
  }
  if (type === MapType.cgroup_storage || type === MapType.percpu_cgroup_storage) {
    keySize ??= 8; // __u64 cgroup inode id (5.9+); 16 selects struct bpf_cgroup_storage_key
    maxEntries ??= 0;
    if (keySize !== 8 && keySize !== 16) {
      throw new InvalidArgumentError(
        `${typeName} map: keySize must be 8 (cgroup inode id) or 16 (struct bpf_cgroup_storage_key)`,
      );
    }
    if (maxEntries !== 0) {
      throw new InvalidArgumentError(`${typeName} map: maxEntries must be 0`);
    }
  }
  if (type === MapType.lpm_trie) {
    flags |= MapCreateFlag.NO_PREALLOC;
    const k = need(spec, "keySize", typeName);
    if (k <= 4 || k > 4 + 256) {
      throw new InvalidArgumentError(
        `lpm_trie map: keySize must be 4 (the prefix length) + 1 to 256 data bytes, got ${k}`,
      );
    }
  }
  if (type === MapType.struct_ops) {
    keySize ??= 4;
    maxEntries ??= 1;
    if (!spec.btf?.vmlinuxValueTypeId) {
      throw new InvalidArgumentError(
        "struct_ops map: btf.vmlinuxValueTypeId is required: the vmlinux BTF id of " +
          "`struct bpf_struct_ops_<name>`, and valueSize its size",
      );
    }
  }
  if (type === MapType.bloom_filter) {
    const hashes = spec.mapExtra === undefined ? 0 : Number(spec.mapExtra);
    if (!Number.isInteger(hashes) || hashes < 0 || hashes > 15) {
      throw new InvalidArgumentError(
        `bloom_filter map: mapExtra is the number of hash functions, 1 to 15 (0: the default 5)`,
      );
    }
  }
  if (isMapInMapType(type) && spec.innerMap === undefined) {
    throw new InvalidArgumentError(
      `${typeName} map: innerMap is required (a MapSpec or an open map for the inner maps' shape)`,
    );
  }
  if (spec.numaNode !== undefined) {
    checkU32("numaNode", spec.numaNode, typeName);
    flags |= MapCreateFlag.NUMA_NODE;
  }
  if (spec.pinning === "by_name" && name === "") {
    throw new InvalidArgumentError(`${typeName} map: pinning "by_name" needs a name`);
  }

  keySize = keySize ?? need(spec, "keySize", typeName);
  valueSize = valueSize ?? need(spec, "valueSize", typeName);
  maxEntries = maxEntries ?? need(spec, "maxEntries", typeName);

  if (!isKeylessMapType(type) && keySize === 0) {
    throw new InvalidArgumentError(`${typeName} map: keySize must be > 0`);
  }
  if (ARRAY_KEYED.has(type) && keySize !== 4) {
    throw new InvalidArgumentError(`${typeName} map: keySize must be 4 (a u32 index)`);
  }
  if (
    valueSize === 0 && type !== MapType.ringbuf && type !== MapType.user_ringbuf &&
    type !== MapType.arena
  ) {
    throw new InvalidArgumentError(`${typeName} map: valueSize must be > 0`);
  }
  if (
    maxEntries === 0 && !isLocalStorageMapType(type) && type !== MapType.cgroup_storage &&
    type !== MapType.percpu_cgroup_storage
  ) {
    throw new InvalidArgumentError(`${typeName} map: maxEntries must be > 0`);
  }

  return {
    type,
    typeName,
    keySize,
    valueSize,
    maxEntries,
    flags: flags >>> 0,
    name,
    numaNode: spec.numaNode,
    mapExtra,
    innerMap: spec.innerMap,
    btf: spec.btf,
    ifindex: spec.ifindex ?? 0,
    pinning: spec.pinning ?? "none",
  };
}
