/**
 * Errors specific to map operations. They extend the shared classes, so
 * `instanceof SyscallError` (with `errno`/`code`) and `instanceof
 * PermissionError` keep working.
 *
 * @module
 */

import { EbpfError } from "../errors.ts";
import { EEXIST, ENOENT, EPERM } from "../sys/errno.ts";
import { PermissionError, SyscallError } from "../sys/error.ts";

/**
 * An update with `"noexist"` found the key already present (EEXIST).
 * `errno` is EEXIST and `code` is `"EEXIST"`.
 */
export class MapKeyExistsError extends SyscallError {
  /** Creates the error for `command` (e.g. `"BPF_MAP_UPDATE_ELEM"`) on map `label`. */
  constructor(command: string, label: string) {
    super("bpf", EEXIST, {
      command,
      hint: `the key already exists in ${label} and the update used "noexist"; ` +
        `use "any" to replace it`,
    });
  }
}

/**
 * An update with `"exist"` did not find the key (ENOENT). Lookups never
 * throw this: a missing key is `undefined` there.
 */
export class MapKeyNotFoundError extends SyscallError {
  /** Creates the error for `command` on map `label`. */
  constructor(command: string, label: string) {
    super("bpf", ENOENT, {
      command,
      hint: `the key does not exist in ${label} and the update used "exist"; ` +
        `use "any" or "noexist" to create it`,
    });
  }
}

/** The map has no room for a new element (E2BIG from an update or push). */
export class MapFullError extends SyscallError {
  /** Creates the error; `errno` is the one the kernel returned (E2BIG or ENOSPC). */
  constructor(command: string, label: string, options: { errno: number; maxEntries: number }) {
    super("bpf", options.errno, {
      command,
      hint: `${label} is full (max ${options.maxEntries} entries): delete entries first, ` +
        `or create the map with a larger maxEntries`,
    });
  }
}

/**
 * The map refused a write from user space (EPERM): it was frozen, created
 * with BPF_F_RDONLY, or opened read-only. No capability helps here.
 */
export class MapReadOnlyError extends PermissionError {
  /** Creates the error for `command` on map `label`. */
  constructor(command: string, label: string) {
    super("bpf", EPERM, [], {
      command,
      hint: `${label} is read-only from user space (frozen, created with BPF_F_RDONLY, or ` +
        `opened read-only); write to it before freezing it, or open it without readOnly`,
    });
  }
}

/**
 * Iterating a map gave up: the map changed under the iterator so often
 * (keys deleted, making it restart) that it visited more keys than the
 * map can hold. Retry, or stop the writers while iterating.
 */
export class MapIterationError extends EbpfError {
  /** `"EMAPITER"`. */
  override readonly code = "EMAPITER";
  /** How many keys the iterator visited before giving up. */
  readonly visited: number;
  /** Creates the error. */
  constructor(label: string, options: { visited: number; maxEntries: number }) {
    super(
      `iteration of ${label} aborted after ${options.visited} keys (max entries ` +
        `${options.maxEntries}): the map changed under the iterator too often; retry, or ` +
        `pause the writers`,
    );
    this.visited = options.visited;
  }
}
