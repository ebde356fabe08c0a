/**
 * tracefs: finding its mount (with an error that names the mount command
 * when it is absent), tracepoint ids, and kprobe/uprobe events made through
 * `kprobe_events` / `uprobe_events` with unique names and clean removal.
 *
 * ```ts ignore
 * import { tracepointId } from "./mod.ts";
 * const id = tracepointId("syscalls", "sys_enter_getpid");
 * ```
 *
 * @module
 */

export * from "./errors.ts";
export * from "./events.ts";
export * from "./mount.ts";
export * from "./probe_events.ts";
