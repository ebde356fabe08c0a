/**
 * Dynamic trace events made through tracefs: kprobes (`kprobe_events`) and
 * uprobes (`uprobe_events`). Each event gets a unique name in its own group,
 * and {@linkcode ProbeEvent.close} removes it again.
 *
 * @module
 */

import {
  EbpfError,
  FileError,
  FileNotFoundError,
  InvalidArgumentError,
  nameError,
  NotSupportedError,
} from "../errors.ts";
import { exists, readTextFile, writeTextFile } from "../sys/file.ts";
import { onProcessEnd } from "../sys/signals.ts";
import { tracepointId } from "./events.ts";
import { type TracefsOptions, tracefsPath } from "./mount.ts";

/** The longest event (and group) name the kernel accepts, without the NUL (`MAX_EVENT_NAME_LEN` − 1). */
export const MAX_EVENT_NAME_LENGTH = 63;

/** The group denobpf creates its events in unless told otherwise. */
export const DEFAULT_PROBE_GROUP = "denobpf";

const GOOD_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Options of {@linkcode ProbeEventError}. */
export interface ProbeEventErrorOptions {
  /** Why the write failed (with the kernel's `error_log` line when there is one). */
  reason: string;
  /** The error this one wraps. */
  cause?: unknown;
}

/** Writing a probe definition to tracefs failed; the message carries the kernel's `error_log` line when there is one. */
export class ProbeEventError extends EbpfError {
  static {
    nameError(this, "ProbeEventError");
  }
  /** Always `"EPROBEEVENT"`. */
  override readonly code = "EPROBEEVENT";
  /** The line that was written. */
  readonly definition: string;
  /** The file written to (`…/kprobe_events` or `…/uprobe_events`). */
  readonly file: string;
  /** Creates the error. */
  constructor(file: string, definition: string, options: ProbeEventErrorOptions) {
    super(`${file}: writing ${JSON.stringify(definition)} failed: ${options.reason}`, {
      cause: options.cause,
    });
    this.file = file;
    this.definition = definition;
  }
}

/**
 * Turns any string into a valid event name fragment: characters other than
 * `[A-Za-z0-9_]` become `_`, and a leading digit gets a `_` in front.
 */
export function sanitizeEventName(s: string): string {
  let out = s.replace(/[^A-Za-z0-9_]/g, "_");
  if (out.length === 0 || /^[0-9]/.test(out)) out = `_${out}`;
  return out;
}

let sequence = 0;

/**
 * A name that no other event of this process (nor, thanks to the pid, of
 * another process) has: `<prefix>_<what>_<pid>_<n>`, at most 63 characters.
 */
export function uniqueEventName(prefix: string, what: string): string {
  const tail = `_${Deno.pid}_${++sequence}`;
  const head = sanitizeEventName(`${prefix}_${what}`);
  return head.slice(0, MAX_EVENT_NAME_LENGTH - tail.length) + tail;
}

function checkGroup(group: string): void {
  if (!GOOD_NAME.test(group) || group.length > MAX_EVENT_NAME_LENGTH) {
    throw new InvalidArgumentError(
      `invalid probe event group ${JSON.stringify(group)}: use letters, digits and '_' ` +
        `(at most ${MAX_EVENT_NAME_LENGTH}, not starting with a digit)`,
    );
  }
}

function lastErrorLogLine(tracefs: string): string | undefined {
  try {
    const lines = readTextFile(`${tracefs}/error_log`).trimEnd().split("\n");
    const tail = lines.slice(-3).join(" ").replace(/\s+/g, " ").trim();
    return tail || undefined;
  } catch {
    return undefined;
  }
}

/** The kind of a dynamic probe event. */
export type ProbeKind = "kprobe" | "uprobe";

function eventsFile(kind: ProbeKind, tracefs: string): string {
  return `${tracefs}/${kind}_events`;
}

function writeDefinition(kind: ProbeKind, tracefs: string, line: string): void {
  const file = eventsFile(kind, tracefs);
  try {
    // One write(2) per definition; a FilePermissionError (root needed) passes.
    writeTextFile(file, line + "\n", { append: true, what: `${kind} events file` });
  } catch (e) {
    if (e instanceof FileNotFoundError && !exists(file)) {
      const config = kind === "kprobe" ? "CONFIG_KPROBE_EVENTS" : "CONFIG_UPROBE_EVENTS";
      throw new NotSupportedError(`tracefs ${kind} events`, config, {
        detail: `${file} does not exist`,
        cause: e,
      });
    }
    if (!(e instanceof FileError || e instanceof FileNotFoundError)) throw e;
    const log = lastErrorLogLine(tracefs);
    const what = e instanceof FileNotFoundError
      ? "the target does not exist (ENOENT)"
      : e.code === "EEXIST"
      ? "an event of that name exists (EEXIST)"
      : e.code === "EBUSY"
      ? "the event is in use (EBUSY)"
      : e.message;
    throw new ProbeEventError(file, line, {
      reason: log ? `${what}; kernel error_log: ${log}` : what,
      cause: e,
    });
  }
}

/**
 * A kprobe or uprobe event created in tracefs. Its {@linkcode ProbeEvent.id}
 * is the `config` of a PERF_TYPE_TRACEPOINT perf event; closing removes the
 * definition (close every perf event on it first, or the kernel answers EBUSY).
 */
export class ProbeEvent implements Disposable {
  /** `"kprobe"` or `"uprobe"`. */
  readonly kind: ProbeKind;
  /** The event group. */
  readonly group: string;
  /** The event name. */
  readonly name: string;
  /** The event id (`events/<group>/<name>/id`). */
  readonly id: number;
  /** The tracefs directory the event lives in. */
  readonly tracefs: string;
  /** The definition line that created it. */
  readonly definition: string;
  #closed = false;
  #owner: { close(): void } | undefined;

  /** Records an event that exists; use {@linkcode createKprobeEvent} / {@linkcode createUprobeEvent}. */
  constructor(
    init: {
      kind: ProbeKind;
      group: string;
      name: string;
      id: number;
      tracefs: string;
      definition: string;
    },
  ) {
    this.kind = init.kind;
    this.group = init.group;
    this.name = init.name;
    this.id = init.id;
    this.tracefs = init.tracefs;
    this.definition = init.definition;
  }

  /** True once the event was removed. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * The object using this event, normally the link over a perf event opened
   * on it: when the process ends with the event still defined (SIGINT,
   * SIGTERM, exit, uncaught error), the owner is closed first (the kernel
   * refuses to remove an event in use), and its close removes the event.
   */
  get owner(): { close(): void } | undefined {
    return this.#owner;
  }
  set owner(owner: { close(): void } | undefined) {
    this.#owner = owner;
  }

  /**
   * Removes the event (`-:<group>/<name>`). Idempotent; an event already gone
   * is not an error. When the kernel refuses (EBUSY: a perf event is still
   * open on it), the event stays defined and `close` can be called again.
   */
  close(): void {
    if (this.#closed) return;
    try {
      writeDefinition(this.kind, this.tracefs, `-:${this.group}/${this.name}`);
    } catch (e) {
      if (!(e instanceof ProbeEventError && e.cause instanceof FileNotFoundError)) throw e;
    }
    this.#closed = true;
    this.#owner = undefined;
    untrack(this);
  }

  /** Same as {@linkcode ProbeEvent.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

// ---- events of this process still defined, removed when it ends ----

/** The events this process created and has not removed yet. */
const live = new Set<ProbeEvent>();
let atEnd: Disposable | undefined;

function track(event: ProbeEvent): void {
  live.add(event);
  atEnd ??= onProcessEnd(removeLiveEvents);
}

function untrack(event: ProbeEvent): void {
  live.delete(event);
  if (live.size === 0 && atEnd) {
    atEnd[Symbol.dispose]();
    atEnd = undefined;
  }
}

/**
 * The process is ending (SIGINT, SIGTERM, exit, uncaught error) with
 * events still defined: close their owners (perf events on them), then
 * remove them. Best effort: nothing here may keep the process from ending.
 */
function removeLiveEvents(): void {
  for (const event of [...live]) {
    try {
      event.owner?.close();
    } catch { /* the event's removal below is what matters */ }
    try {
      event.close();
    } catch { /* still in use by a perf event we do not know of */ }
  }
}

/** Events of processes that died without removing them (SIGKILL, a crash), swept before each creation. */
function sweepStale(kind: ProbeKind, tracefs: string, group: string): void {
  try {
    removeStaleProbeEvents(kind, { tracefs, group });
  } catch { /* the sweep must not keep a new event from being created */ }
}

function create(
  kind: ProbeKind,
  group: string,
  name: string,
  line: string,
  options: TracefsOptions,
): ProbeEvent {
  const tracefs = tracefsPath(options);
  sweepStale(kind, tracefs, group);
  writeDefinition(kind, tracefs, line);
  try {
    const id = tracepointId(group, name, { tracefs });
    const event = new ProbeEvent({ kind, group, name, id, tracefs, definition: line });
    track(event);
    return event;
  } catch (e) {
    try {
      writeDefinition(kind, tracefs, `-:${group}/${name}`);
    } catch { /* already reported */ }
    throw e;
  }
}

/** Options of {@linkcode createKprobeEvent}. */
export interface KprobeEventOptions extends TracefsOptions {
  /** The kernel function (optionally `module:function`), or an address with `address`. */
  symbol?: string;
  /** A kernel address to probe instead of a symbol. */
  address?: bigint;
  /** Byte offset into the function (kprobes only). */
  offset?: number;
  /** A return probe (kretprobe). */
  retprobe?: boolean;
  /** kretprobe instances held at once (`r<N>:`), 0 for the kernel's default. */
  maxactive?: number;
  /** Event group; default `"denobpf"`. */
  group?: string;
  /** Event name; default a unique one derived from the symbol. */
  name?: string;
}

/**
 * Creates a kprobe (or kretprobe) event through `<tracefs>/kprobe_events`.
 * Throws `NotSupportedError` (CONFIG_KPROBE_EVENTS) when the file does not
 * exist, {@linkcode ProbeEventError} when the kernel refuses the definition.
 */
export function createKprobeEvent(options: KprobeEventOptions): ProbeEvent {
  const group = options.group ?? DEFAULT_PROBE_GROUP;
  checkGroup(group);
  let target: string;
  if (options.address !== undefined) target = `0x${options.address.toString(16)}`;
  else if (options.symbol !== undefined && /^[A-Za-z0-9_.:$]+$/.test(options.symbol)) {
    target = options.symbol;
  } else {
    throw new InvalidArgumentError(
      `kprobe target must be a kernel symbol (letters, digits, '_', '.', ':') or an address; ` +
        `got ${JSON.stringify(options.symbol)}`,
    );
  }
  const offset = options.offset ?? 0;
  if (!Number.isInteger(offset) || offset < 0) {
    throw new InvalidArgumentError(`kprobe offset must be a non-negative integer (got ${offset})`);
  }
  if (options.retprobe && offset !== 0) {
    throw new InvalidArgumentError("a kretprobe cannot have an offset");
  }
  const name = options.name ?? uniqueEventName(options.retprobe ? "kretprobe" : "kprobe", target);
  checkGroup(name);
  const maxactive = options.maxactive ?? 0;
  const head = options.retprobe ? `r${maxactive > 0 ? maxactive : ""}` : "p";
  const line = `${head}:${group}/${name} ${target}${offset ? `+${offset}` : ""}`;
  return create("kprobe", group, name, line, options);
}

/** Options of {@linkcode createUprobeEvent}. */
export interface UprobeEventOptions extends TracefsOptions {
  /** Absolute path of the binary. */
  path: string;
  /** File offset of the probed instruction. */
  offset: number | bigint;
  /** A return probe (uretprobe). */
  retprobe?: boolean;
  /** File offset of a USDT semaphore (reference counter) to increment while attached. */
  refCtrOffset?: number | bigint;
  /** Event group; default `"denobpf"`. */
  group?: string;
  /** Event name; default a unique one. */
  name?: string;
}

/**
 * Creates a uprobe (or uretprobe) event through `<tracefs>/uprobe_events`.
 * Throws `NotSupportedError` (CONFIG_UPROBE_EVENTS) when the file does not
 * exist, {@linkcode ProbeEventError} when the kernel refuses the definition.
 */
export function createUprobeEvent(options: UprobeEventOptions): ProbeEvent {
  const group = options.group ?? DEFAULT_PROBE_GROUP;
  checkGroup(group);
  if (!options.path.startsWith("/") || /[\s\0]/.test(options.path)) {
    throw new InvalidArgumentError(
      `uprobe path must be absolute and free of whitespace (tracefs splits on it): ` +
        JSON.stringify(options.path),
    );
  }
  const offset = BigInt(options.offset);
  if (offset < 0n) throw new InvalidArgumentError("uprobe offset must not be negative");
  const base = options.path.slice(options.path.lastIndexOf("/") + 1);
  const name = options.name ??
    uniqueEventName(options.retprobe ? "uretprobe" : "uprobe", `${base}_${offset.toString(16)}`);
  checkGroup(name);
  const ref = options.refCtrOffset ? `(0x${BigInt(options.refCtrOffset).toString(16)})` : "";
  const line = `${options.retprobe ? "r" : "p"}:${group}/${name} ${options.path}:0x${
    offset.toString(16)
  }${ref}`;
  return create("uprobe", group, name, line, options);
}

/**
 * Removes every event of `group` in `<tracefs>/<kind>_events` whose name
 * carries the pid of a process that no longer exists: the leftovers of
 * processes that died before closing their probes. Returns the names removed.
 */
export function removeStaleProbeEvents(
  kind: ProbeKind,
  options: TracefsOptions & { group?: string } = {},
): string[] {
  const group = options.group ?? DEFAULT_PROBE_GROUP;
  checkGroup(group);
  const tracefs = tracefsPath(options);
  let text: string;
  try {
    text = readTextFile(eventsFile(kind, tracefs));
  } catch (e) {
    if (e instanceof FileNotFoundError) return [];
    throw e;
  }
  const removed: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^[pr]\d*:([^/\s]+)\/(\S+)/.exec(line);
    if (!m || m[1] !== group) continue;
    const pid = /_(\d+)_\d+$/.exec(m[2])?.[1];
    if (pid === undefined) continue;
    try {
      if (exists(`/proc/${pid}`)) continue;
    } catch { /* the process is gone */ }
    try {
      writeDefinition(kind, tracefs, `-:${group}/${m[2]}`);
      removed.push(m[2]);
    } catch (e) {
      if (!(e instanceof ProbeEventError)) throw e;
    }
  }
  return removed;
}
