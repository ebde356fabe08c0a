/**
 * Map type probes: create the smallest map of a type, the way libbpf's
 * `libbpf_probe_bpf_map_type` (and so `bpftool feature probe`) does, with
 * the same per-type special cases.
 *
 * @module
 */

import { NotSupportedError } from "../errors.ts";
import { MapCreateFlag, type MapTypeName } from "../map/types.ts";
import { MapType } from "../sys/abi.ts";
import { closeRawFd } from "../sys/fd.ts";
import { ENOTSUPP, errnoName } from "../sys/errno.ts";
import { pageSize } from "../sys/mmap.ts";
import { loadStorageProbeBtf, STORAGE_KEY_TYPE_ID, STORAGE_VALUE_TYPE_ID } from "./_btf_blob.ts";
import { memo } from "./_cache.ts";
import { mapTypeName, mapTypeNumber } from "./_names.ts";
import { assertCanProbe, isDenied } from "./_privilege.ts";
import { mapCreate } from "./_raw.ts";
import { MAP_TYPE_REQUIREMENTS } from "./requirements.ts";

/** A map type, by libbpf name (`"ringbuf"`) or number. */
export type MapTypeInput = MapTypeName | number;

/** What a map type probe found. */
export interface MapTypeProbe {
  /** The map type number. */
  type: number;
  /** Its libbpf name. */
  name: string;
  /** True if the kernel creates maps of this type. */
  supported: boolean;
  /** The errno of the probe's BPF_MAP_CREATE (0 if it succeeded). */
  errno: number;
}

const BPF_F_NO_PREALLOC = 1 << 0;
const BPF_F_MMAPABLE = MapCreateFlag.MMAPABLE;

function runProbe(type: number): MapTypeProbe {
  const name = mapTypeName(type);
  let keySize = 4;
  let valueSize = 4;
  let maxEntries = 1;
  let mapFlags = 0;
  let btfFd = -1;
  let innerFd = -1;
  let expectErrno = 0;
  let btfVmlinuxValueTypeId = 0;
  switch (name) {
    case "stack_trace":
      valueSize = 8;
      break;
    case "lpm_trie":
      keySize = 8;
      valueSize = 8;
      mapFlags = BPF_F_NO_PREALLOC;
      break;
    case "cgroup_storage":
    case "percpu_cgroup_storage":
      keySize = 16; // sizeof(struct bpf_cgroup_storage_key)
      valueSize = 8;
      maxEntries = 0;
      break;
    case "queue":
    case "stack":
      keySize = 0;
      break;
    case "sk_storage":
    case "inode_storage":
    case "task_storage":
    case "cgrp_storage":
      valueSize = 8;
      maxEntries = 0;
      mapFlags = BPF_F_NO_PREALLOC;
      btfFd = loadStorageProbeBtf();
      if (btfFd < 0) return { type, name, supported: false, errno: -btfFd };
      break;
    case "ringbuf":
    case "user_ringbuf":
      keySize = 0;
      valueSize = 0;
      maxEntries = pageSize();
      break;
    case "struct_ops":
      // No struct_ops value type has BTF id 1: a kernel that knows the map
      // type answers ENOTSUPP for it, one that does not answers EINVAL.
      btfVmlinuxValueTypeId = 1;
      expectErrno = ENOTSUPP;
      break;
    case "bloom_filter":
      keySize = 0;
      break;
    case "arena":
      keySize = 0;
      valueSize = 0;
      mapFlags = BPF_F_MMAPABLE;
      break;
    case "array_of_maps":
    case "hash_of_maps":
      innerFd = mapCreate({ mapType: MapType.hash, keySize: 4, valueSize: 4, maxEntries: 1 });
      if (innerFd < 0) return { type, name, supported: false, errno: -innerFd };
      break;
  }
  const fd = mapCreate({
    mapType: type,
    keySize,
    valueSize,
    maxEntries,
    mapFlags,
    innerMapFd: innerFd >= 0 ? innerFd : undefined,
    btfFd: btfFd >= 0 ? btfFd : undefined,
    btfKeyTypeId: btfFd >= 0 ? STORAGE_KEY_TYPE_ID : undefined,
    btfValueTypeId: btfFd >= 0 ? STORAGE_VALUE_TYPE_ID : undefined,
    btfVmlinuxValueTypeId: btfVmlinuxValueTypeId || undefined,
  });
  closeRawFd(fd);
  closeRawFd(innerFd);
  closeRawFd(btfFd);
  const errno = fd >= 0 ? 0 : -fd;
  if (isDenied(errno)) assertCanProbe();
  const supported = expectErrno ? errno === expectErrno : fd >= 0;
  return { type, name, supported, errno };
}

/** Probes map type `type` (once per process) and returns what the probe saw. */
export function probeMapType(type: MapTypeInput): MapTypeProbe {
  const n = mapTypeNumber(type);
  return memo(`map:${n}`, () => runProbe(n));
}

/**
 * True if the running kernel can create maps of type `type`. Probed once
 * per process by creating a minimal map of the type.
 *
 * @example
 * ```ts
 * if (haveMapType("ringbuf")) console.log("ring buffers are available");
 * ```
 */
export function haveMapType(type: MapTypeInput): boolean {
  return probeMapType(type).supported;
}

/**
 * Throws {@linkcode NotSupportedError} (naming the kernel version and
 * config option that bring it) if the kernel cannot create maps of `type`.
 */
export function checkMapType(type: MapTypeInput): void {
  const p = probeMapType(type);
  if (p.supported) return;
  throw new NotSupportedError(`map type ${p.name}`, MAP_TYPE_REQUIREMENTS[p.name], {
    detail: p.errno === 0
      ? "the probe map was created where the kernel should have refused it"
      : `the probe's BPF_MAP_CREATE failed with ${errnoName(p.errno)}`,
  });
}
