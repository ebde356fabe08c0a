/**
 * Errors of the tracefs helpers.
 *
 * @module
 */

import { nameError, NotFoundError } from "../errors.ts";

/** The command that mounts tracefs where the kernel documentation puts it. */
export const TRACEFS_MOUNT_COMMAND = "mount -t tracefs tracefs /sys/kernel/tracing";

/**
 * tracefs is not mounted (neither at `/sys/kernel/tracing` nor at
 * `/sys/kernel/debug/tracing`, nor anywhere else `/proc/self/mountinfo`
 * lists). Tracepoint ids and kprobe/uprobe events live there; the message
 * names the command that mounts it.
 */
export class TracefsNotMountedError extends NotFoundError {
  static {
    nameError(this, "TracefsNotMountedError");
  }
  /** The mount command to run, as root. */
  readonly mountCommand: string = TRACEFS_MOUNT_COMMAND;
  /** The places that were looked at. */
  readonly searched: readonly string[];
  /** Creates the error; `searched` lists the paths and files that were checked. */
  constructor(searched: readonly string[], options?: { cause?: unknown }) {
    super(
      "tracefs",
      `tracefs is not mounted (looked in ${searched.join(", ")}); ` +
        `mount it as root with: ${TRACEFS_MOUNT_COMMAND}`,
      options,
    );
    this.searched = searched;
  }
}
