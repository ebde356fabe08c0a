// The map side of the collection loader (load.ts): turning a map of the
// spec into createMap's spec, checking a replacement or a pinned map against
// it, and naming the map in the errors of createMap. Private to
// src/collection.

import { InvalidArgumentError } from "../errors.ts";
import { HOST_LITTLE_ENDIAN } from "../btf/spec.ts";
import { assertMapMatches } from "../map/compat.ts";
import { createMap } from "../map/map.ts";
import { MapMismatchError } from "../map/errors.ts";
import type { BpfMap } from "../map/map.ts";
import type { MapSpec } from "../map/spec.ts";
import { MapType, mapTypeName, mapTypeNumber } from "../map/types.ts";
import { SyscallError } from "../sys/error.ts";
import type { FD } from "../sys/fd.ts";
import { fileInfo } from "../sys/file.ts";
import type { CollectionMapSpec } from "./types.ts";

/** A u32 in host order (a key, or a descriptor as a map value); bytes pass through. */
export function u32Key(k: number | Uint8Array): Uint8Array {
  if (k instanceof Uint8Array) return k;
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, k, HOST_LITTLE_ENDIAN);
  return b;
}

/** Map types whose BPF_MAP_CREATE rejects BTF key/value types. */
const NO_BTF_TYPES = new Set<number>([
  MapType.prog_array,
  MapType.perf_event_array,
  MapType.cgroup_array,
  MapType.array_of_maps,
  MapType.hash_of_maps,
  MapType.devmap,
  MapType.devmap_hash,
  MapType.sockmap,
  MapType.sockhash,
  MapType.cpumap,
  MapType.xskmap,
  MapType.reuseport_sockarray,
  MapType.stack_trace,
  MapType.ringbuf,
  MapType.user_ringbuf,
  MapType.queue,
  MapType.stack,
  MapType.bloom_filter,
]);

/** createMap's spec for a map of the collection (its inner map too), with the object's BTF. */
function toMapSpec(s: CollectionMapSpec, btfFd: FD | undefined, name = true): MapSpec {
  const type = mapTypeNumber(s.type);
  const spec: MapSpec = {
    type,
    keySize: s.keySize || undefined,
    valueSize: s.valueSize || undefined,
    maxEntries: s.maxEntries || undefined,
    flags: s.flags,
    name: name ? s.name.slice(0, 15) : undefined,
    numaNode: s.numaNode,
    mapExtra: s.mapExtra,
    ifindex: s.ifindex,
    pinning: s.pinning,
  };
  if (type === MapType.ringbuf || type === MapType.user_ringbuf || type === MapType.arena) {
    spec.keySize = undefined;
    spec.valueSize = undefined;
  }
  if (s.innerMap) spec.innerMap = toMapSpec(s.innerMap, btfFd, false);
  if (s.btf && btfFd && !NO_BTF_TYPES.has(type) && (s.btf.keyTypeId || s.btf.valueTypeId)) {
    spec.btf = { ...s.btf, btfFd };
  } else if (s.btf?.vmlinuxValueTypeId) spec.btf = { ...s.btf };
  return spec;
}

/**
 * Throws `MapMismatchError` naming `name` (`replaceMaps.<name>`) and each
 * field in which the replacement `m` differs from the spec `s`.
 */
export function assertReplacementMatches(name: string, m: BpfMap, s: CollectionMapSpec): void {
  assertMapMatches(
    name,
    `replacement for map ${name} (replaceMaps.${name})`,
    m,
    {
      type: mapTypeNumber(s.type),
      keySize: s.keySize,
      valueSize: s.valueSize,
      maxEntries: s.maxEntries,
    },
    `pass a map of the spec's shape or change spec.maps.${name}`,
  );
}

function pinExists(path: string): boolean {
  try {
    fileInfo(path, { followSymlinks: false });
    return true;
  } catch {
    return false;
  }
}

/**
 * Runs `create`, turning the spec checks it fails into errors that name the
 * map and the `spec.maps` field to set: a `max_entries` left 0 in the object
 * (libbpf-tools set it at run time) otherwise reads `hash map: maxEntries
 * is required`.
 */
export function namingMap(name: string, ms: CollectionMapSpec, create: () => BpfMap): BpfMap {
  try {
    return create();
  } catch (e) {
    // A pin of another shape already names the map and the field.
    if (!(e instanceof InvalidArgumentError) || e instanceof MapMismatchError) throw e;
    const key = /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
    const what = `map ${JSON.stringify(name)} (${mapTypeName(mapTypeNumber(ms.type))})`;
    const missing = /^\w+ map: (keySize|valueSize|maxEntries) is required$/.exec(e.message);
    const message = missing
      ? `${what}: ${missing[1]} is 0; set spec.maps${key}.${missing[1]} before loading`
      : `${what}: ${e.message.replace(/^\w+ map: /, "")}; fix spec.maps${key} before loading`;
    throw new InvalidArgumentError(message, { cause: e });
  }
}

/**
 * Creates a map of the collection (retrying without BTF when the kernel
 * rejects it). A `pinning: "by_name"` map already pinned under `pinPath` is
 * reused and goes into `pins.reused`; one pinned now goes into
 * `pins.newPins`.
 */
export function createCollectionMap(
  ms: CollectionMapSpec,
  btfFd: FD | undefined,
  pinPath: string,
  pins: { newPins: BpfMap[]; reused: Set<BpfMap> },
): BpfMap {
  const spec = toMapSpec(ms, btfFd);
  if (spec.type === MapType.perf_event_array && !ms.maxEntries) spec.maxEntries = undefined;
  const pinned = spec.pinning === "by_name" &&
    pinExists(`${pinPath.replace(/\/+$/, "")}/${spec.name}`);
  let m: BpfMap;
  try {
    m = createMap(spec, { pinPath });
  } catch (e) {
    // Some kernels reject BTF for some map types: retry without, as libbpf does.
    if (!(e instanceof SyscallError) || !spec.btf?.btfFd) throw e;
    m = createMap({ ...spec, btf: undefined }, { pinPath });
  }
  if (spec.pinning === "by_name") {
    if (pinned) pins.reused.add(m);
    else pins.newPins.push(m);
  }
  return m;
}
