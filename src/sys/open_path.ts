/**
 * openat(2) of a path into an owned {@linkcode FD}: for the descriptors the
 * bpf(2) attach commands take that Deno's file API does not expose (a
 * cgroup directory, a network namespace file).
 *
 * @module
 */

import { errno, libc } from "./_libc.ts";
import { addressOf, cString } from "./bpf.ts";
import { SyscallError } from "./error.ts";
import { FD } from "./fd.ts";

/** open(2) flags used with {@linkcode openPath}. */
export const OpenFlags = {
  RDONLY: 0,
  WRONLY: 1,
  RDWR: 2,
  DIRECTORY: 0o200000,
  CLOEXEC: 0o2000000,
} as const;

const SYS_OPENAT = Deno.build.arch === "aarch64" ? 56n : 257n;
const AT_FDCWD = -100n;

/** Options of {@linkcode openPath}. */
export interface OpenPathOptions {
  /** A label for the descriptor and for error messages (default: the path). */
  label?: string;
}

/**
 * Opens `path` (close-on-exec is always added) and returns the owned
 * descriptor. Throws {@linkcode SyscallError} (ENOENT, ENOTDIR, …) naming the path.
 */
export function openPath(
  path: string,
  flags: number = OpenFlags.RDONLY,
  options: OpenPathOptions = {},
): FD {
  const label = options.label ?? path;
  const p = cString(path);
  const r = Number(
    libc().syscall6(
      SYS_OPENAT,
      AT_FDCWD,
      addressOf(p),
      BigInt(flags | OpenFlags.CLOEXEC),
      0n,
      0n,
      0n,
    ),
  );
  if (r < 0) {
    throw new SyscallError("openat", errno(), { command: path, hint: `opening ${label}` });
  }
  p.fill(0, 0, 0);
  return new FD(r, label);
}
