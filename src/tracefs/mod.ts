/**
 * tracefs: finding its mount (with an error that names the mount command
 * when it is absent), tracepoint ids, and kprobe/uprobe events made through
 * `kprobe_events` / `uprobe_events` with unique names and clean removal.
 *
 * @example
 * ```ts
 * import { tracepointId, tracepointNames } from "@denobpf/ebpf/tracefs";
 *
 * // Throws TracefsNotMountedError, naming the mount command, without tracefs.
 * const id = tracepointId("syscalls", "sys_enter_getpid");
 * console.log(id, tracepointNames("syscalls").length);
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./events.ts";
export * from "./mount.ts";
export * from "./probe_events.ts";
// The base classes of the errors above, for `instanceof` checks by users of
// this entry alone.
export { EbpfError, NotFoundError } from "../errors.ts";
