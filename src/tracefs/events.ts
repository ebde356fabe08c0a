/**
 * Trace events: validated group/name pairs, tracepoint ids
 * (`events/<group>/<name>/id`), and the list of a group's events.
 *
 * @module
 */

import { FileNotFoundError, InvalidArgumentError, NotFoundError } from "../errors.ts";
import { fileInfo, readDir, readTextFile } from "../sys/file.ts";
import { TRACEFS_PATHS, type TracefsOptions, tracefsPath } from "./mount.ts";

const FORBIDDEN = /[\/\s\0]/;

/**
 * Checks one component of an event path (a group or an event name): not
 * empty, no `/`, no whitespace, no NUL, not `.` or `..`. Throws
 * {@linkcode InvalidArgumentError}.
 */
export function checkEventComponent(value: string, what: "group" | "name"): void {
  if (typeof value !== "string" || value.length === 0) {
    throw new InvalidArgumentError(`tracepoint ${what} must be a non-empty string`);
  }
  if (FORBIDDEN.test(value) || value === "." || value === ".." || value.includes("..")) {
    throw new InvalidArgumentError(
      `invalid tracepoint ${what} ${JSON.stringify(value)}: it must not contain '/', '..', ` +
        "whitespace or NUL (tracepoint names look like `syscalls` / `sys_enter_getpid`)",
    );
  }
}

/** The `events/<group>/<name>` directory of an event. */
export function eventDir(group: string, name: string, options: TracefsOptions = {}): string {
  checkEventComponent(group, "group");
  checkEventComponent(name, "name");
  return `${tracefsPath(options)}/events/${group}/${name}`;
}

/**
 * The id of trace event `group/name` (a tracepoint, or a kprobe/uprobe event
 * made through tracefs), from `events/<group>/<name>/id`: the `config` of a
 * PERF_TYPE_TRACEPOINT perf event.
 *
 * Throws {@linkcode TracefsNotMountedError} without tracefs,
 * `NotFoundError` when the event does not exist, and `FilePermissionError`
 * (a `PermissionError`: tracefs is readable by root only) for a user who
 * may not read it.
 */
export function tracepointId(group: string, name: string, options: TracefsOptions = {}): number {
  if (options.tracefs === undefined && (options.root ?? "/") === "/") {
    // Tracefs at its usual place answers without a look at the mount table.
    checkEventComponent(group, "group");
    checkEventComponent(name, "name");
    const dir = `${TRACEFS_PATHS[0]}/events/${group}/${name}`;
    let text: string | undefined;
    try {
      text = readTextFile(`${dir}/id`, { what: "tracepoint id file" });
    } catch {
      // Not there (or not mounted there): the general path below finds out.
    }
    if (text !== undefined) return parseEventId(dir, text);
  }
  const dir = eventDir(group, name, options);
  let text: string;
  try {
    text = readTextFile(`${dir}/id`, { what: "tracepoint id file" });
  } catch (e) {
    if (e instanceof FileNotFoundError) {
      throw new NotFoundError(
        `tracepoint ${group}/${name}`,
        `tracepoint ${group}/${name} does not exist (no ${dir}/id); ` +
          `list the available ones under ${dir.slice(0, dir.lastIndexOf("/events/") + 7)}`,
        { cause: e },
      );
    }
    throw e;
  }
  return parseEventId(dir, text);
}

function parseEventId(dir: string, text: string): number {
  const id = Number(text.trim());
  if (!Number.isInteger(id) || id < 0) {
    throw new InvalidArgumentError(`${dir}/id holds ${JSON.stringify(text)}, not an event id`);
  }
  return id;
}

/** True when trace event `group/name` exists. */
export function tracepointExists(
  group: string,
  name: string,
  options: TracefsOptions = {},
): boolean {
  try {
    fileInfo(`${eventDir(group, name, options)}/id`);
    return true;
  } catch (e) {
    if (e instanceof FileNotFoundError) return false;
    throw e;
  }
}

/** The event names of a group (e.g. every `syscalls/*` tracepoint), sorted. */
export function tracepointNames(group: string, options: TracefsOptions = {}): string[] {
  checkEventComponent(group, "group");
  const dir = `${tracefsPath(options)}/events/${group}`;
  const out: string[] = [];
  try {
    for (const e of readDir(dir)) if (e.kind === "directory") out.push(e.name);
  } catch (e) {
    if (e instanceof FileNotFoundError) {
      throw new NotFoundError(`tracepoint group ${group}`, `no tracepoint group ${group} (${dir})`);
    }
    throw e;
  }
  return out.sort();
}
