/**
 * Map type numbers and names (`enum bpf_map_type`), map creation flags and
 * element update flags, as the UAPI header `linux/bpf.h` defines them.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { MapType } from "../sys/abi.ts";

export { MapType };

/** A map type name, e.g. `"hash"` or `"ringbuf"`. */
export type MapTypeName = Exclude<keyof typeof MapType, "unspec">;

/** Map type names by number, built on first use (not at import). */
let names: string[] | undefined;
function mapTypeNames(): string[] {
  if (names === undefined) {
    names = [];
    for (const [name, n] of Object.entries(MapType)) names[n] = name;
  }
  return names;
}

/** The name of map type number `type`, or `"type <n>"` for numbers this table does not know. */
export function mapTypeName(type: number): string {
  return mapTypeNames()[type] ?? `type ${type}`;
}

/**
 * The number of a map type given by name or number. Throws
 * {@linkcode InvalidArgumentError} for an unknown name.
 */
export function mapTypeNumber(type: MapTypeName | number): number {
  if (typeof type === "number") {
    if (!Number.isInteger(type) || type < 0 || type > 0xffffffff) {
      throw new InvalidArgumentError(`invalid map type number ${type}`);
    }
    return type;
  }
  const n = (MapType as Record<string, number>)[type];
  if (n === undefined || n === 0) {
    throw new InvalidArgumentError(
      `unknown map type ${JSON.stringify(type)}; use one of: ${mapTypeNames().slice(1).join(", ")}`,
    );
  }
  return n;
}

/** The kernel release that introduced each map type, for error messages. */
export const MAP_TYPE_SINCE: Readonly<Record<MapTypeName, string>> = {
  hash: "3.19",
  array: "3.19",
  prog_array: "4.2",
  perf_event_array: "4.3",
  percpu_hash: "4.6",
  percpu_array: "4.6",
  stack_trace: "4.6",
  cgroup_array: "4.8",
  lru_hash: "4.10",
  lru_percpu_hash: "4.10",
  lpm_trie: "4.11",
  array_of_maps: "4.12",
  hash_of_maps: "4.12",
  devmap: "4.14",
  sockmap: "4.14",
  cpumap: "4.15",
  xskmap: "4.18",
  sockhash: "4.18",
  cgroup_storage: "4.19",
  reuseport_sockarray: "4.19",
  percpu_cgroup_storage: "4.20",
  queue: "4.20",
  stack: "4.20",
  sk_storage: "5.2",
  devmap_hash: "5.4",
  struct_ops: "5.6",
  ringbuf: "5.8",
  inode_storage: "5.10",
  task_storage: "5.11",
  bloom_filter: "5.16",
  user_ringbuf: "6.1",
  cgrp_storage: "6.2",
  arena: "6.9",
};

/** Map creation flags (`BPF_F_*` for BPF_MAP_CREATE's `map_flags`). */
export const MapCreateFlag = {
  /** Allocate elements on demand (required by LPM tries and local storage maps). */
  NO_PREALLOC: 1 << 0,
  /** Per-CPU LRU lists for LRU hashes. */
  NO_COMMON_LRU: 1 << 1,
  /** `numa_node` is valid. */
  NUMA_NODE: 1 << 2,
  /** Read-only from user space (also an open flag for pinned maps and ids). */
  RDONLY: 1 << 3,
  /** Write-only from user space (also an open flag for pinned maps and ids). */
  WRONLY: 1 << 4,
  /** Stack trace maps store build id + offset. */
  STACK_BUILD_ID: 1 << 5,
  /** Zero hash seed (testing only). */
  ZERO_SEED: 1 << 6,
  /** Read-only from programs. */
  RDONLY_PROG: 1 << 7,
  /** Write-only from programs. */
  WRONLY_PROG: 1 << 8,
  /** Clone socket local storage to accepted sockets. */
  CLONE: 1 << 9,
  /** The map can be mmap()ed (arrays, arenas). */
  MMAPABLE: 1 << 10,
  /** Keep perf event array entries when the map's owner closes. */
  PRESERVE_ELEMS: 1 << 11,
  /** An inner map whose max_entries may differ between instances. */
  INNER_MAP: 1 << 12,
  /** A struct_ops map usable as a link (6.4+). */
  LINK: 1 << 13,
  /** Open flag: `path_fd` is valid for OBJ_PIN/OBJ_GET (6.5+). */
  PATH_FD: 1 << 14,
  /** `value_type_btf_obj_fd` is valid (6.9+). */
  VTYPE_BTF_OBJ_FD: 1 << 15,
  /** `map_token_fd` is valid (6.9+). */
  TOKEN_FD: 1 << 16,
  /** Arena: fault accesses to unallocated pages with SIGSEGV (6.9+). */
  SEGV_ON_FAULT: 1 << 17,
  /** Arena: do not convert user addresses (6.9+). */
  NO_USER_CONV: 1 << 18,
} as const;

/** Element update flags (`BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`, `BPF_F_LOCK`). */
export const UpdateFlag = {
  /** Create or replace. */
  any: 0,
  /** Create only: fails with EEXIST if the key exists. */
  noexist: 1,
  /** Replace only: fails with ENOENT if the key does not exist. */
  exist: 2,
  /** Take the value's `struct bpf_spin_lock` while copying. */
  lock: 4,
} as const;

/** An update flag by name or a raw `BPF_*` number (flags can be or-ed as numbers). */
export type UpdateFlagName = keyof typeof UpdateFlag;

/** Resolves an update flag name or number to the number the kernel takes. */
export function updateFlagNumber(flags: UpdateFlagName | number | undefined): number {
  if (flags === undefined) return 0;
  if (typeof flags === "number") {
    if (!Number.isInteger(flags) || flags < 0 || flags > 0xffffffff) {
      throw new InvalidArgumentError(`invalid update flags ${flags}`);
    }
    return flags;
  }
  const n = UpdateFlag[flags];
  if (n === undefined) {
    throw new InvalidArgumentError(
      `unknown update flag ${JSON.stringify(flags)}; use "any", "noexist", "exist" or "lock"`,
    );
  }
  return n;
}

const PERCPU = new Set<number>([
  MapType.percpu_hash,
  MapType.percpu_array,
  MapType.lru_percpu_hash,
  MapType.percpu_cgroup_storage,
]);

/** True for the map types that hold one value per possible CPU per key. */
export function isPerCpuMapType(type: number): boolean {
  return PERCPU.has(type);
}

const KEYLESS = new Set<number>([
  MapType.queue,
  MapType.stack,
  MapType.bloom_filter,
  MapType.ringbuf,
  MapType.user_ringbuf,
  MapType.arena,
]);

/** True for the map types that have no keys (key size 0). */
export function isKeylessMapType(type: number): boolean {
  return KEYLESS.has(type);
}

const LOCAL_STORAGE = new Set<number>([
  MapType.sk_storage,
  MapType.inode_storage,
  MapType.task_storage,
  MapType.cgrp_storage,
]);

/** True for local storage maps (socket, inode, task, cgroup), which need BTF. */
export function isLocalStorageMapType(type: number): boolean {
  return LOCAL_STORAGE.has(type);
}

/** True for the map types whose values are other maps. */
export function isMapInMapType(type: number): boolean {
  return type === MapType.array_of_maps || type === MapType.hash_of_maps;
}
