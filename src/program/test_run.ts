/**
 * BPF_PROG_TEST_RUN: running a loaded program on data and context the
 * caller supplies, without attaching it.
 *
 * @module
 */

/** `flags` bits of BPF_PROG_TEST_RUN. */
export const TestRunFlags = {
  /** BPF_F_TEST_RUN_ON_CPU: run on `cpu` (raw_tracepoint programs). */
  RUN_ON_CPU: 1 << 0,
  /** BPF_F_TEST_XDP_LIVE_FRAMES: send XDP frames for real (XDP_TX/REDIRECT act). */
  XDP_LIVE_FRAMES: 1 << 1,
  /** BPF_F_TEST_SKB_CHECKSUM_COMPLETE: compute CHECKSUM_COMPLETE for the skb. */
  SKB_CHECKSUM_COMPLETE: 1 << 2,
} as const;

/** Options for `Program.testRun`. */
export interface TestRunOptions {
  /** The packet (or other input data) the program sees. */
  data?: Uint8Array;
  /**
   * Size of the output data buffer. Default: `data.length + 256` (room for
   * programs that grow the packet); it is enlarged and the run repeated if
   * the kernel reports ENOSPC.
   */
  dataOutSize?: number;
  /** The context (e.g. `struct __sk_buff`, `struct xdp_md`, raw tracepoint args). */
  context?: Uint8Array;
  /**
   * Size of the output context buffer. Default: `context.length` for the program
   * types whose test run writes the context back (skb types, XDP, sk_lookup), 0
   * for the others (raw_tracepoint rejects an output context). Syscall programs
   * get their context back in `context` whatever this says.
   */
  contextOutSize?: number;
  /** How many times to run; `duration` is the mean. Default 1. */
  repeat?: number;
  /** A combination of {@linkcode TestRunFlags}. */
  flags?: number;
  /** The CPU to run on (with `TestRunFlags.RUN_ON_CPU`). */
  cpu?: number;
  /** Frames per batch for XDP live-frame mode. */
  batchSize?: number;
}

/** The outcome of a test run. */
export interface TestRunResult {
  /** The program's return value (`r0`), as an unsigned 32-bit number. */
  retval: number;
  /** The mean run time in nanoseconds. */
  duration: number;
  /** The data after the run (the packet as the program left it). */
  data: Uint8Array;
  /** The context after the run, if the program type returns one (see `contextOutSize`). */
  context?: Uint8Array;
}
