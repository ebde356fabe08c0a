/**
 * Tracepoints: perf tracepoint events (`attachTracepoint`), raw
 * tracepoints (`attachRawTracepoint`) and generic perf events
 * (`attachPerfEvent`).
 *
 * @module
 */

import { ProgramType } from "../asm/types.ts";
import { InvalidArgumentError, NotSupportedError } from "../errors.ts";
import { bpfError, bpfTry, cString } from "../sys/bpf.ts";
import { ENOENT } from "../sys/errno.ts";
import { FD } from "../sys/fd.ts";
import { dupRawFd } from "../sys/fd_dup.ts";
import { type PerfEventAttr, perfEventOpen, PerfType } from "../sys/perf_event.ts";
import { tracepointId } from "../tracefs/events.ts";
import type { TracefsOptions } from "../tracefs/mount.ts";
import { expectProgramType, type FdSource, programFd } from "./_common.ts";
import { attachToPerfEvent } from "./_perf.ts";
import { BpfLink, type LegacyLink } from "./link.ts";

/** Options of {@linkcode attachTracepoint}. */
export interface TracepointOptions extends TracefsOptions {
  /** Tracepoint group, e.g. `"syscalls"`. */
  group: string;
  /** Tracepoint name, e.g. `"sys_enter_getpid"`. */
  name: string;
  /** BPF cookie, read by `bpf_get_attach_cookie` (Linux 5.15+). */
  cookie?: bigint | number;
  /** Use PERF_EVENT_IOC_SET_BPF instead of BPF_LINK_CREATE (what kernels before 5.15 need). */
  legacy?: boolean;
}

/**
 * Attaches a tracepoint program to `<group>/<name>`: a PERF_TYPE_TRACEPOINT
 * perf event for the id in tracefs, then BPF_LINK_CREATE(BPF_PERF_EVENT),
 * falling back to PERF_EVENT_IOC_SET_BPF on kernels without perf links.
 *
 * Needs tracefs (the error says how to mount it).
 *
 * @example
 * ```ts ignore
 * using link = attachTracepoint(prog, { group: "syscalls", name: "sys_enter_getpid" });
 * ```
 */
export function attachTracepoint(
  program: FdSource,
  options: TracepointOptions,
): BpfLink | LegacyLink {
  expectProgramType(program, [ProgramType.tracepoint], "attachTracepoint");
  const id = tracepointId(options.group, options.name, options);
  const what = `tracepoint ${options.group}/${options.name}`;
  const perf = perfEventOpen({
    type: PerfType.TRACEPOINT,
    config: id,
    samplePeriod: 1,
    wakeup: 1,
  }, { pid: -1, cpu: 0, label: what });
  return attachToPerfEvent(program, perf, "tracepoint", {
    cookie: options.cookie,
    legacy: options.legacy,
    what,
  });
}

/** Options of {@linkcode attachRawTracepoint}. */
export interface RawTracepointOptions {
  /** The tracepoint name without its group, e.g. `"sys_enter"` or `"sched_switch"`. */
  name: string;
  /** BPF cookie (Linux 6.10+). */
  cookie?: bigint | number;
}

/**
 * Attaches a raw_tracepoint (or raw_tracepoint_writable) program with
 * BPF_RAW_TRACEPOINT_OPEN, which returns a bpf_link.
 */
export function attachRawTracepoint(program: FdSource, options: RawTracepointOptions): BpfLink {
  expectProgramType(
    program,
    [ProgramType.raw_tracepoint, ProgramType.raw_tracepoint_writable],
    "attachRawTracepoint",
  );
  if (!options.name || /[\s\0\/]/.test(options.name)) {
    throw new InvalidArgumentError(
      `invalid raw tracepoint name ${JSON.stringify(options.name)} (e.g. "sys_enter")`,
    );
  }
  const cookie = BigInt(options.cookie ?? 0);
  const r = bpfTry("RAW_TRACEPOINT_OPEN", {
    name: cString(options.name),
    progFd: programFd(program),
    cookie,
  });
  if (r < 0) {
    if (-r === ENOENT) {
      throw new NotSupportedError(`raw tracepoint ${options.name}`, "a kernel that has it", {
        detail: "BPF_RAW_TRACEPOINT_OPEN answered ENOENT: no tracepoint of that name " +
          "(names are without group, as in /sys/kernel/tracing/available_events after the ':')",
      });
    }
    if (-r === 7 && cookie !== 0n) {
      throw new NotSupportedError("raw tracepoint cookies", "Linux 6.10");
    }
    throw bpfError("RAW_TRACEPOINT_OPEN", -r, {
      hint: `attaching to raw tracepoint ${options.name}`,
    });
  }
  return new BpfLink(new FD(r, `raw_tracepoint ${options.name}`), "raw_tracepoint");
}

/** Options of {@linkcode attachPerfEvent}: an open perf event, or the attributes of one to open. */
export interface PerfEventOptions {
  /** An open perf event descriptor (duplicated: the caller keeps its own). */
  fd?: number | FD;
  /** Attributes of a perf event to open (`perf_event_open(2)`). */
  attr?: PerfEventAttr;
  /** Process for `attr` (-1: all, the default). */
  pid?: number;
  /** CPU for `attr` (default 0 for all processes, -1 for one process). */
  cpu?: number;
  /** BPF cookie (Linux 5.15+). */
  cookie?: bigint | number;
  /** Use PERF_EVENT_IOC_SET_BPF instead of BPF_LINK_CREATE. */
  legacy?: boolean;
}

/**
 * Attaches a program to a perf event: a perf_event program to a hardware or
 * software event, or a tracepoint/kprobe program to an event you opened.
 * The link owns (a duplicate of) the event and closes it.
 */
export function attachPerfEvent(
  program: FdSource,
  options: PerfEventOptions,
): BpfLink | LegacyLink {
  let perf: FD;
  if (options.fd !== undefined) {
    if (options.attr !== undefined) {
      throw new InvalidArgumentError("attachPerfEvent: give fd or attr, not both");
    }
    perf = options.fd instanceof FD
      ? options.fd.dup("perf event")
      : dupRawFd(options.fd, "perf event");
  } else if (options.attr !== undefined) {
    perf = perfEventOpen(options.attr, { pid: options.pid, cpu: options.cpu, label: "perf event" });
  } else {
    throw new InvalidArgumentError("attachPerfEvent: give fd (an open perf event) or attr");
  }
  return attachToPerfEvent(program, perf, "perf_event", {
    cookie: options.cookie,
    legacy: options.legacy,
    what: "a perf event",
  });
}
