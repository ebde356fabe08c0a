/**
 * Duplicating a descriptor that no {@linkcode FD} owns yet (e.g. one handed
 * over by a caller), so the copy can be owned and closed independently.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { errno, libc } from "./_libc.ts";
import { SyscallError } from "./error.ts";
import { FD } from "./fd.ts";

const F_DUPFD_CLOEXEC = 1030;

/** dup(2)s the raw descriptor `fd` (close-on-exec) into a new owned {@linkcode FD}. */
export function dupRawFd(fd: number, label = "fd"): FD {
  if (!Number.isInteger(fd) || fd < 0) {
    throw new InvalidArgumentError(`invalid file descriptor ${fd} for ${label}`);
  }
  const r = libc().fcntl(fd, F_DUPFD_CLOEXEC, 0n);
  if (r < 0) {
    throw new SyscallError("fcntl", errno(), {
      command: "F_DUPFD_CLOEXEC",
      hint: `cannot duplicate descriptor ${fd} (${label}): is it open?`,
    });
  }
  return new FD(r, label);
}
