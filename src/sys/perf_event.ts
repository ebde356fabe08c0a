/**
 * perf_event_open(2) and the perf ioctls denobpf needs to attach programs to
 * tracepoints, kprobes and uprobes, and to read perf event arrays.
 *
 * @module
 */

import { errno, libc } from "./_libc.ts";
import { isPermissionErrno, PermissionError, SyscallError } from "./error.ts";
import { FD } from "./fd.ts";

/** `perf_event_attr.type` values. */
export const PerfType = {
  HARDWARE: 0,
  SOFTWARE: 1,
  TRACEPOINT: 2,
  HW_CACHE: 3,
  RAW: 4,
  BREAKPOINT: 5,
} as const;

/** Software event configs (`perf_sw_ids`). */
export const PerfSwConfig = {
  CPU_CLOCK: 0,
  TASK_CLOCK: 1,
  PAGE_FAULTS: 2,
  CONTEXT_SWITCHES: 3,
  CPU_MIGRATIONS: 4,
  PAGE_FAULTS_MIN: 5,
  PAGE_FAULTS_MAJ: 6,
  ALIGNMENT_FAULTS: 7,
  EMULATION_FAULTS: 8,
  DUMMY: 9,
  BPF_OUTPUT: 10,
} as const;

/** `perf_event_attr.sample_type` bits. */
export const PerfSample = { RAW: 1 << 10 } as const;

/** Bits of the flags word of `perf_event_attr`. */
export const PerfFlag = {
  disabled: 1n << 0n,
  inherit: 1n << 1n,
  pinned: 1n << 2n,
  exclusive: 1n << 3n,
  excludeUser: 1n << 4n,
  excludeKernel: 1n << 5n,
  excludeHv: 1n << 6n,
  excludeIdle: 1n << 7n,
  freq: 1n << 10n,
  watermark: 1n << 14n,
  writeBackward: 1n << 27n,
} as const;

/** The fields of `struct perf_event_attr` denobpf sets. */
export interface PerfEventAttr {
  /** `type`: the event kind, a {@linkcode PerfType} value or a PMU's dynamic type. */
  type: number;
  /** `config`: which event of the kind (e.g. a tracepoint id, a {@linkcode PerfSwConfig}). */
  config?: bigint | number;
  /** `sample_period` (or `sample_freq` with the freq flag). */
  samplePeriod?: bigint | number;
  /** `sample_type`: {@linkcode PerfSample} bits. */
  sampleType?: bigint | number;
  /** `read_format`: `PERF_FORMAT_*` bits. */
  readFormat?: bigint | number;
  /** Flag names from {@linkcode PerfFlag}. */
  flags?: readonly (keyof typeof PerfFlag)[];
  /** `wakeup_events`, or `wakeup_watermark` when the watermark flag is set. */
  wakeup?: number;
  /** `config1`: kprobe function name / uprobe path address. */
  config1?: bigint | number;
  /** `config2`: probe offset. */
  config2?: bigint | number;
  /** `config3`: extension of `config` (6.3+; e.g. uprobe reference counter offset). */
  config3?: bigint | number;
}

/** Size of `struct perf_event_attr` (PERF_ATTR_SIZE_VER8). */
export const PERF_ATTR_SIZE = 136;

/** Encodes a perf_event_attr. */
export function encodePerfEventAttr(attr: PerfEventAttr): Uint8Array {
  const b = new Uint8Array(PERF_ATTR_SIZE);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, attr.type, true);
  dv.setUint32(4, PERF_ATTR_SIZE, true);
  dv.setBigUint64(8, BigInt(attr.config ?? 0), true);
  dv.setBigUint64(16, BigInt(attr.samplePeriod ?? 0), true);
  dv.setBigUint64(24, BigInt(attr.sampleType ?? 0), true);
  dv.setBigUint64(32, BigInt(attr.readFormat ?? 0), true);
  let flags = 0n;
  for (const f of attr.flags ?? []) flags |= PerfFlag[f];
  dv.setBigUint64(40, flags, true);
  dv.setUint32(48, attr.wakeup ?? 0, true);
  dv.setBigUint64(56, BigInt(attr.config1 ?? 0), true);
  dv.setBigUint64(64, BigInt(attr.config2 ?? 0), true);
  dv.setBigUint64(128, BigInt(attr.config3 ?? 0), true);
  return b;
}

/** The perf_event_open(2) syscall number on this architecture. */
export const SYS_PERF_EVENT_OPEN: number = Deno.build.arch === "aarch64" ? 241 : 298;
const PERF_FLAG_FD_CLOEXEC = 8n;

/** Options for {@linkcode perfEventOpen}. */
export interface PerfEventOpenOptions {
  /** Process to watch; -1 for all (the default). */
  pid?: number;
  /** CPU to watch; -1 for any (default 0 when pid is -1). */
  cpu?: number;
  /** Group leader descriptor, -1 for none. */
  groupFd?: number;
  /** What the event is for, for error messages. */
  label?: string;
}

/**
 * Opens a perf event. Throws {@linkcode SyscallError} (PermissionError for
 * EPERM/EACCES, naming CAP_PERFMON) on failure.
 */
export function perfEventOpen(attr: PerfEventAttr, options: PerfEventOpenOptions = {}): FD {
  const buf = encodePerfEventAttr(attr);
  const pid = options.pid ?? -1;
  const cpu = options.cpu ?? (pid === -1 ? 0 : -1);
  const r = Number(
    libc().syscallPerf(
      BigInt(SYS_PERF_EVENT_OPEN),
      buf,
      BigInt(pid),
      BigInt(cpu),
      BigInt(options.groupFd ?? -1),
      PERF_FLAG_FD_CLOEXEC,
    ),
  );
  if (r < 0) {
    const e = errno();
    if (isPermissionErrno(e)) {
      throw new PermissionError("perf_event_open", e, ["CAP_PERFMON"], { command: options.label });
    }
    throw new SyscallError("perf_event_open", e, { command: options.label });
  }
  return new FD(r, options.label ?? "perf event");
}

/** perf ioctl requests. */
export const PerfIoctl = {
  ENABLE: 0x2400n,
  DISABLE: 0x2401n,
  SET_BPF: 0x40042408n,
  PAUSE_OUTPUT: 0x40042409n,
} as const;

/** Runs an ioctl with an integer argument; throws {@linkcode SyscallError} on failure. */
export function ioctl(
  fd: number,
  request: bigint,
  arg: number | bigint = 0,
  name?: string,
): number {
  const r = libc().ioctl(fd, request, BigInt(arg));
  if (r < 0) {
    throw new SyscallError("ioctl", errno(), { command: name ?? `0x${request.toString(16)}` });
  }
  return r;
}
