/**
 * BPF_ENABLE_STATS: kernel-wide counting of program run time and runs.
 *
 * @module
 */

import { NotSupportedError } from "../errors.ts";
import { bpf, isErrno } from "../sys/bpf.ts";
import { EINVAL } from "../sys/errno.ts";
import { FD } from "../sys/fd.ts";

/** Kinds of statistics BPF_ENABLE_STATS can switch on. */
export const StatsType = {
  /** BPF_STATS_RUN_TIME: `run_time_ns` and `run_cnt` in program info. */
  RUN_TIME: 0,
} as const;

/**
 * While open, the kernel counts program run time and runs. Closing it (or
 * `using`) switches the counting off again once no other holder remains.
 */
export class StatsHandle implements Disposable {
  /** The descriptor that keeps statistics on. */
  readonly fd: FD;
  /** Wraps the descriptor BPF_ENABLE_STATS returned. */
  constructor(fd: FD) {
    this.fd = fd;
  }
  /** Stops holding statistics on (idempotent). */
  close(): void {
    this.fd.close();
  }
  /** Same as {@linkcode StatsHandle.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * Switches on run-time statistics for every program (BPF_ENABLE_STATS, 5.8+,
 * needs CAP_SYS_ADMIN) until the returned handle is closed: `info().runTimeNs`
 * and `info().runCnt` then count. Throws `NotSupportedError` on older kernels
 * (or for an unknown `type`).
 *
 * @example
 * ```ts ignore
 * using _stats = enableStats();
 * await prog.testRun({ data });
 * console.log(prog.info().runCnt);
 * ```
 */
export function enableStats(type: number = StatsType.RUN_TIME): StatsHandle {
  try {
    const fd = bpf("ENABLE_STATS", { type }, { capabilities: ["CAP_SYS_ADMIN"] });
    return new StatsHandle(new FD(fd, "bpf stats"));
  } catch (e) {
    if (isErrno(e, EINVAL)) {
      throw new NotSupportedError(`BPF_ENABLE_STATS type ${type}`, "Linux 5.8", { cause: e });
    }
    throw e;
  }
}
