/**
 * Finding the tracefs mount: `/proc/self/mountinfo` first, then the two
 * conventional places (`/sys/kernel/tracing`, `/sys/kernel/debug/tracing`).
 *
 * @module
 */

import { TracefsNotMountedError } from "./errors.ts";
import { FileError } from "../errors.ts";
import { fileInfo, FilePermissionError, readTextFile } from "../sys/file.ts";

/** Options of every tracefs function. */
export interface TracefsOptions {
  /**
   * File-system root under which `/proc/self/mountinfo` and the mount point
   * are read (for `/host` set-ups and test fixtures). Default `/`.
   */
  root?: string;
  /** Use this tracefs directory as is, without looking for the mount. */
  tracefs?: string;
}

/** One line of `/proc/<pid>/mountinfo`. */
export interface MountInfoEntry {
  /** Mount id. */
  id: number;
  /** Parent mount id. */
  parentId: number;
  /** The root of the mount within its file system. */
  root: string;
  /** Where it is mounted (escapes such as `\040` decoded). */
  mountPoint: string;
  /** Per-mount options, e.g. `rw,relatime`. */
  options: string;
  /** File-system type, e.g. `tracefs`. */
  fsType: string;
  /** Mount source, e.g. `tracefs` or `/dev/vda`. */
  source: string;
}

/** The conventional tracefs mount points, preferred first. */
export const TRACEFS_PATHS: readonly string[] = [
  "/sys/kernel/tracing",
  "/sys/kernel/debug/tracing",
];

function unescape(s: string): string {
  return s.replace(/\\([0-7]{3})/g, (_, o: string) => String.fromCharCode(parseInt(o, 8)));
}

/** Parses the text of a mountinfo file; malformed lines are skipped. */
export function parseMountInfo(text: string): MountInfoEntry[] {
  const out: MountInfoEntry[] = [];
  for (const line of text.split("\n")) {
    const parts = line.split(" ");
    const sep = parts.indexOf("-", 6);
    if (parts.length < 10 || sep < 0 || sep + 2 >= parts.length) continue;
    out.push({
      id: Number(parts[0]),
      parentId: Number(parts[1]),
      root: unescape(parts[3]),
      mountPoint: unescape(parts[4]),
      options: parts[5],
      fsType: parts[sep + 1],
      source: unescape(parts[sep + 2]),
    });
  }
  return out;
}

function join(root: string, path: string): string {
  if (root === "" || root === "/") return path;
  return root.replace(/\/+$/, "") + path;
}

/**
 * True for a directory, and for a path this user may not look at (tracefs is
 * root's): that is a missing permission, which the read that follows
 * reports as such, never a missing mount.
 */
function isDir(path: string): boolean {
  try {
    return fileInfo(path).kind === "directory";
  } catch (e) {
    rethrowNotCapable(e);
    return e instanceof FilePermissionError;
  }
}

function readText(path: string): string | undefined {
  try {
    return readTextFile(path);
  } catch (e) {
    rethrowNotCapable(e);
    return undefined;
  }
}

/**
 * Neither Deno's --allow-read nor --allow-ffi: rethrown (the error names the
 * flag), so that a missing permission is never reported as tracefs not
 * mounted.
 */
function rethrowNotCapable(e: unknown): void {
  if (e instanceof FileError && e.code === "ENOTCAPABLE") throw e;
}

/**
 * The tracefs directory (e.g. `/sys/kernel/tracing`), or undefined when
 * tracefs is not mounted. The mount is looked up afresh on every call, so a
 * mount made after the process started is seen.
 */
export function findTracefs(options: TracefsOptions = {}): string | undefined {
  if (options.tracefs !== undefined) return options.tracefs;
  const root = options.root ?? "/";
  const text = readText(join(root, "/proc/self/mountinfo"));
  if (text !== undefined) {
    const mounts = parseMountInfo(text).filter((m) => m.fsType === "tracefs");
    const points = mounts.map((m) => m.mountPoint);
    for (const p of TRACEFS_PATHS) {
      if (points.includes(p) && isDir(join(root, p))) return join(root, p);
    }
    for (const p of points) if (isDir(join(root, p))) return join(root, p);
  }
  // debugfs can mount tracefs on first access at debug/tracing; a populated
  // `events` directory means a live tracefs.
  for (const p of TRACEFS_PATHS) {
    if (isDir(join(root, `${p}/events`))) return join(root, p);
  }
  return undefined;
}

/**
 * The tracefs directory; throws {@linkcode TracefsNotMountedError} (whose
 * message names `mount -t tracefs tracefs /sys/kernel/tracing`) when tracefs
 * is not mounted.
 */
export function tracefsPath(options: TracefsOptions = {}): string {
  const found = findTracefs(options);
  if (found !== undefined) return found;
  const root = options.root ?? "/";
  throw new TracefsNotMountedError([
    join(root, "/proc/self/mountinfo"),
    ...TRACEFS_PATHS.map((p) => join(root, p)),
  ]);
}
