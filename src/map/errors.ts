/**
 * Errors specific to map operations. They extend the shared classes, so
 * `instanceof SyscallError` (with `errno`/`code`) and `instanceof
 * PermissionError` keep working.
 *
 * @module
 */

import { EbpfError, InvalidArgumentError, nameError } from "../errors.ts";
import { EEXIST, ENOENT, EPERM } from "../sys/errno.ts";
import { PermissionError, SyscallError } from "../sys/error.ts";

/**
 * An update with `"noexist"` found the key already present (EEXIST).
 * `errno` is EEXIST and `code` is `"EEXIST"`.
 */
export class MapKeyExistsError extends SyscallError {
  static {
    nameError(this, "MapKeyExistsError");
  }
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
  static {
    nameError(this, "MapKeyNotFoundError");
  }
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
  static {
    nameError(this, "MapFullError");
  }
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
  static {
    nameError(this, "MapReadOnlyError");
  }
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
  static {
    nameError(this, "MapIterationError");
  }
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

/** One field in which an existing map differs from the spec it should match. */
export interface MapFieldMismatch {
  /** The spec field: `"type"`, `"keySize"`, `"valueSize"`, `"maxEntries"` or `"flags"`. */
  field: "type" | "keySize" | "valueSize" | "maxEntries" | "flags";
  /** What the existing map has (a type name for `type`). */
  actual: number | string;
  /** What the spec asks for (a type name for `type`). */
  expected: number | string;
}

/**
 * An existing map (a pin being reused, a `replaceMaps` entry) does not match
 * the spec it stands for. The message names the map, where it came from and
 * each differing field (`keySize 8 ≠ 4`: the map's value, then the spec's);
 * `mismatches` lists them.
 */
export class MapMismatchError extends InvalidArgumentError {
  static {
    nameError(this, "MapMismatchError");
  }
  /** The map's name in the spec or collection. */
  readonly map: string;
  /** The fields that differ. */
  readonly mismatches: readonly MapFieldMismatch[];
  /**
   * Creates the error. `subject` says which map and where it came from
   * (`"the map pinned at /sys/fs/bpf/x"`); `remedy` what to do.
   */
  constructor(
    map: string,
    subject: string,
    mismatches: readonly MapFieldMismatch[],
    remedy: string,
  ) {
    super(`${subject} does not match its spec: ${describeMismatches(mismatches)}; ${remedy}`);
    this.map = map;
    this.mismatches = mismatches;
  }
}

/** `"keySize 8 ≠ 4, flags 0x0 ≠ 0x1"`: each field, the map's value, then the spec's. */
export function describeMismatches(mismatches: readonly MapFieldMismatch[]): string {
  const show = (f: MapFieldMismatch["field"], v: number | string) =>
    f === "flags" && typeof v === "number" ? `0x${v.toString(16)}` : String(v);
  return mismatches.map((m) =>
    `${m.field} ${show(m.field, m.actual)} ≠ ${show(m.field, m.expected)}`
  )
    .join(", ");
}
