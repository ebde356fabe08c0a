// Turning errnos from map syscalls into typed errors that say what to do.
// Private to src/map.

import { NotSupportedError } from "../errors.ts";
import {
  E2BIG,
  EACCES,
  EBADF,
  EBUSY,
  EEXIST,
  EINVAL,
  ENOENT,
  ENOMEM,
  ENOSPC,
  ENOTSUPP,
  EOPNOTSUPP,
  EPERM,
} from "../sys/errno.ts";
import { PermissionError, SyscallError } from "../sys/error.ts";
import { readTextFile } from "../sys/file.ts";
import { KernelVersion, parseKernelVersion } from "../sys/kernel_version.ts";
import {
  MapFullError,
  MapKeyExistsError,
  MapKeyNotFoundError,
  MapReadOnlyError,
} from "./errors.ts";
import { MAP_TYPE_SINCE, type MapTypeName } from "./types.ts";

/** LINUX_VERSION_CODE of 5.11, the first kernel that charges maps to memcg, not memlock. */
const KERNEL_5_11: number = new KernelVersion(5, 11).code;
/** LINUX_VERSION_CODE of 5.6, the first kernel with batch map operations. */
const KERNEL_5_6: number = new KernelVersion(5, 6).code;

const MEMLOCK_HINT = "on kernels before 5.11 maps are charged to RLIMIT_MEMLOCK: raise it " +
  "(ulimit -l unlimited, or setrlimit(RLIMIT_MEMLOCK) with CAP_SYS_RESOURCE)";

/** What a failed BPF_MAP_CREATE means, given the running kernel's version code. */
export function mapCreateError(
  err: number,
  options: { typeName: string; what: string; kernelVersion: number },
): Error {
  const { typeName, what, kernelVersion } = options;
  const command = "BPF_MAP_CREATE";
  const oldKernel = kernelVersion > 0 && kernelVersion < KERNEL_5_11;
  if (err === EPERM || err === EACCES) {
    return new PermissionError("bpf", err, ["CAP_BPF"], {
      command,
      hint: `creating ${what}` + (oldKernel && err === EPERM ? `; or: ${MEMLOCK_HINT}` : ""),
    });
  }
  if (err === ENOMEM) {
    return new SyscallError("bpf", err, {
      command,
      hint: oldKernel
        ? `creating ${what}: ${MEMLOCK_HINT}`
        : `creating ${what}: the kernel could not allocate the map (it is charged to the ` +
          `memory cgroup); use a smaller maxEntries or valueSize`,
    });
  }
  const since = MAP_TYPE_SINCE[typeName as MapTypeName];
  if (
    (err === EINVAL || err === EOPNOTSUPP || err === ENOTSUPP) && since !== undefined &&
    kernelVersion > 0 && kernelVersion < parseKernelVersion(since).code
  ) {
    return new NotSupportedError(`map type ${typeName}`, `Linux ${since}`, {
      detail: `this kernel is older`,
    });
  }
  if (err === EOPNOTSUPP || err === ENOTSUPP) {
    return new NotSupportedError(`map type ${typeName} with these flags`, undefined, {
      detail: `the kernel answered ${err === EOPNOTSUPP ? "EOPNOTSUPP" : "ENOTSUPP"} for ${what}`,
    });
  }
  if (err === EINVAL) {
    return new SyscallError("bpf", err, {
      command,
      hint: `the kernel rejected ${what}: check keySize, valueSize, maxEntries and flags ` +
        `for ${typeName} maps, or the kernel lacks ${typeName} support in its config`,
    });
  }
  if (err === E2BIG) {
    return new SyscallError("bpf", err, {
      command,
      hint: `${what} is too large for this kernel (key, value or entry count over its limit)`,
    });
  }
  return new SyscallError("bpf", err, { command, hint: `creating ${what}` });
}

/** What error messages say about a map. */
export interface MapLabel {
  /** E.g. `"hash map counts"`. */
  label: string;
  /** E.g. `"hash"`. */
  typeName: string;
  /** Its max entries. */
  maxEntries: number;
}

/** Element commands, for error messages. */
export type ElemOp = "lookup" | "update" | "delete" | "lookup_and_delete" | "get_next_key";

const COMMANDS: Record<ElemOp, string> = {
  lookup: "BPF_MAP_LOOKUP_ELEM",
  update: "BPF_MAP_UPDATE_ELEM",
  delete: "BPF_MAP_DELETE_ELEM",
  lookup_and_delete: "BPF_MAP_LOOKUP_AND_DELETE_ELEM",
  get_next_key: "BPF_MAP_GET_NEXT_KEY",
};

/** The error for a failed element operation `op` on a map. */
export function elemError(
  op: ElemOp,
  err: number,
  options: { map: MapLabel; flags?: number },
): Error {
  const { map, flags = 0 } = options;
  const command = COMMANDS[op];
  const write = op === "update" || op === "delete" || op === "lookup_and_delete";
  if (err === EEXIST && op === "update") return new MapKeyExistsError(command, map.label);
  if (err === ENOENT && op === "update") return new MapKeyNotFoundError(command, map.label);
  if ((err === E2BIG || err === ENOSPC) && op === "update") {
    return new MapFullError(command, map.label, { errno: err, maxEntries: map.maxEntries });
  }
  if (err === EPERM && write) return new MapReadOnlyError(command, map.label);
  if (err === EPERM || err === EACCES) {
    return new PermissionError("bpf", err, [], {
      command,
      hint: `${map.label} cannot be read from user space (created with BPF_F_WRONLY or ` +
        `opened writeOnly)`,
    });
  }
  if (err === EOPNOTSUPP || err === ENOTSUPP) {
    return new NotSupportedError(`${op.replaceAll("_", " ")} on ${map.typeName} maps`, undefined, {
      detail: `the kernel does not offer this operation from user space for this map type`,
    });
  }
  if (err === EBADF) {
    return new SyscallError("bpf", err, {
      command,
      hint: `the descriptor of ${map.label} is not a map (was it closed elsewhere?)`,
    });
  }
  if (err === EINVAL && (flags & 4) !== 0) {
    return new SyscallError("bpf", err, {
      command,
      hint: `"lock" (BPF_F_LOCK) needs a value with a struct bpf_spin_lock described by BTF ` +
        `(was ${map.label} created with one?)`,
    });
  }
  return new SyscallError("bpf", err, { command, hint: `on ${map.label}` });
}

/** The error for a failed batch operation. */
export function batchError(
  command: string,
  err: number,
  options: { map: MapLabel; kernelVersion: number; done: number; flags?: number },
): Error {
  const { map, kernelVersion, done, flags = 0 } = options;
  const unsupported = err === ENOTSUPP || err === EOPNOTSUPP ||
    (err === EINVAL && kernelVersion > 0 && kernelVersion < KERNEL_5_6);
  if (unsupported) {
    return new NotSupportedError(
      `batch operations (${command}) on ${map.typeName} maps`,
      "Linux 5.6 (batch operations) and a map type that implements them: hash, array, " +
        "LPM trie, map-in-map and their per-CPU and LRU kinds",
    );
  }
  if (err === ENOSPC) {
    return new SyscallError("bpf", err, {
      command,
      hint: `a hash bucket of ${map.label} holds more entries than the batch has room for: ` +
        `use a larger batch`,
    });
  }
  if (err === EINVAL && (flags & 4) !== 0) {
    return new SyscallError("bpf", err, {
      command,
      hint: `"lock" (BPF_F_LOCK) needs a value with a struct bpf_spin_lock described by BTF ` +
        `(was ${map.label} created with one?)`,
    });
  }
  if (err === EPERM) return new MapReadOnlyError(command, map.label);
  if (err === EEXIST) return new MapKeyExistsError(command, map.label);
  if (err === E2BIG) {
    return new MapFullError(command, map.label, { errno: err, maxEntries: map.maxEntries });
  }
  return new SyscallError("bpf", err, {
    command,
    hint: `on ${map.label} (${done} elements were processed before the error)`,
  });
}

/**
 * The error for a failed BPF_MAP_FREEZE. A map that is already frozen is a
 * {@linkcode MapReadOnlyError} on every kernel: Linux 6.1 reports it as
 * EBUSY (like a writable mmap), newer kernels as EPERM, so on EBUSY the
 * caller says whether the map is frozen (`frozen`, from its fdinfo).
 */
export function freezeError(err: number, options: { map: MapLabel; frozen: boolean }): Error {
  const { map, frozen } = options;
  const command = "BPF_MAP_FREEZE";
  if (err === EPERM || (err === EBUSY && frozen)) return new MapReadOnlyError(command, map.label);
  return new SyscallError("bpf", err, {
    command,
    hint: err === EBUSY
      ? `${map.label} has a writable mmap (or another freeze is under way): close the mapping first`
      : `freezing ${map.label}`,
  });
}

/**
 * Whether the map behind `fd` is frozen, from `frozen:` in
 * /proc/self/fdinfo/FD (Linux 5.2+); false when that cannot be read.
 */
export function fdinfoFrozen(fd: number): boolean {
  let text: string;
  try {
    text = readTextFile(`/proc/self/fdinfo/${fd}`);
  } catch {
    return false;
  }
  return /^frozen:\s*1$/m.test(text);
}
