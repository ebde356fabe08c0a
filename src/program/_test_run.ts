// BPF_PROG_TEST_RUN for Program.testRun / testRunSync: buffers, retries on
// ENOSPC, and the worker-thread variant.

import { InvalidArgumentError } from "../errors.ts";
import { bpf, BpfCmd, encodeAttr, LAYOUTS, type TestRunAttr } from "../sys/bpf.ts";
import { bpfRawAsync } from "../sys/bpf_async.ts";
import { ENOSPC } from "../sys/errno.ts";
import type { TestRunOptions, TestRunResult } from "./test_run.ts";

// Program types whose test run copies the context back out (bpf_ctx_finish):
// socket_filter, sched_cls, sched_act, xdp, cgroup_skb, lwt_*, sk_lookup.
const CONTEXT_OUT_TYPES: ReadonlySet<number> = new Set([1, 3, 4, 6, 8, 10, 11, 12, 19, 30]);
const SYSCALL = 31;
const RAW_TRACEPOINT = 17;

interface Run {
  attr: TestRunAttr;
  dataOut: Uint8Array;
  ctxOut?: Uint8Array;
  /** Syscall programs: the context the program may have written to. */
  ctxIn?: Uint8Array;
}

function prepare(
  fd: number,
  type: number,
  o: TestRunOptions,
  dataOutSize?: number,
  ctxOutSize?: number,
): Run {
  const data = o.data ?? new Uint8Array(0);
  const outSize = dataOutSize ?? o.dataOutSize ?? (o.data ? data.length + 256 : 0);
  if (!Number.isInteger(outSize) || outSize < 0) {
    throw new InvalidArgumentError(`dataOutSize must be a non-negative integer (got ${outSize})`);
  }
  const ctxSize = ctxOutSize ?? o.contextOutSize ??
    (CONTEXT_OUT_TYPES.has(type) ? o.context?.length ?? 0 : 0);
  if (!Number.isInteger(ctxSize) || ctxSize < 0) {
    throw new InvalidArgumentError(
      `contextOutSize must be a non-negative integer (got ${ctxSize})`,
    );
  }
  const dataOut = new Uint8Array(outSize);
  const ctxOut = ctxSize > 0 ? new Uint8Array(ctxSize) : undefined;
  // A copy: syscall programs write their context back into ctx_in.
  const ctxIn = o.context && o.context.length > 0 ? o.context.slice() : undefined;
  const attr: TestRunAttr = {
    progFd: fd,
    dataSizeIn: data.length,
    dataIn: data.length > 0 ? data : undefined,
    dataSizeOut: outSize,
    dataOut: outSize > 0 ? dataOut : undefined,
    repeat: o.repeat ?? 0,
    ctxSizeIn: o.context?.length ?? 0,
    ctxIn,
    ctxSizeOut: ctxSize,
    ctxOut,
    flags: o.flags ?? 0,
    cpu: o.cpu ?? 0,
    batchSize: o.batchSize ?? 0,
  };
  return { attr, dataOut, ctxOut, ctxIn: type === SYSCALL ? ctxIn : undefined };
}

function finish(run: Run): TestRunResult {
  const a = run.attr;
  const result: TestRunResult = {
    retval: (a.retval ?? 0) >>> 0,
    duration: a.duration ?? 0,
    data: run.dataOut.slice(0, Math.min(run.dataOut.length, a.dataSizeOut ?? 0)),
  };
  if (run.ctxOut) {
    result.context = run.ctxOut.slice(0, Math.min(run.ctxOut.length, a.ctxSizeOut ?? 0));
  } else if (run.ctxIn) {
    result.context = run.ctxIn;
  }
  return result;
}

// The kernel writes back how much room data and context needed; if either
// buffer was too small (ENOSPC), the caller repeats the run with these sizes.
function grownSizes(run: Run): [number, number] | undefined {
  const a = run.attr;
  const needData = a.dataSizeOut ?? 0;
  const needCtx = a.ctxSizeOut ?? 0;
  const haveCtx = run.ctxOut?.length ?? 0;
  if (needData > run.dataOut.length || needCtx > haveCtx) {
    return [Math.max(needData, run.dataOut.length), Math.max(needCtx, haveCtx)];
  }
  return undefined;
}

const MAX_RETRIES = 3;
const FIELDS = LAYOUTS.PROG_TEST_RUN.fields;
const OUT_FIELDS = ["retval", "duration", "dataSizeOut", "ctxSizeOut"] as const;

/** BPF_PROG_TEST_RUN of the program behind `fd` (of type `type`) on the calling thread. */
export function testRunSync(fd: number, type: number, options: TestRunOptions): TestRunResult {
  let run = prepare(fd, type, options);
  for (let i = 0;; i++) {
    try {
      bpf("PROG_TEST_RUN", run.attr, { hint: testRunHint(type, options) });
      return finish(run);
    } catch (e) {
      const sizes = (e as { errno?: number }).errno === ENOSPC ? grownSizes(run) : undefined;
      if (!sizes || i >= MAX_RETRIES) throw e;
      run = prepare(fd, type, options, sizes[0], sizes[1]);
    }
  }
}

/**
 * Runs BPF_PROG_TEST_RUN on a worker thread, so a long run (a large
 * `repeat`) does not block the event loop. If it fails, the run is repeated
 * synchronously to learn the errno and throw the typed error.
 */
export async function testRunAsync(
  fd: number,
  type: number,
  options: TestRunOptions,
): Promise<TestRunResult> {
  let run = prepare(fd, type, options);
  for (let i = 0; i < MAX_RETRIES; i++) {
    const { buf, size, keep } = encodeAttr("PROG_TEST_RUN", run.attr);
    const r = await bpfRawAsync(BpfCmd.PROG_TEST_RUN, buf, size);
    keep.length = 0;
    const dv = new DataView(buf.buffer);
    for (const f of OUT_FIELDS) run.attr[f] = dv.getUint32(FIELDS[f][0], true);
    if (r >= 0) return finish(run);
    const sizes = grownSizes(run);
    if (!sizes) break;
    run = prepare(fd, type, options, sizes[0], sizes[1]);
  }
  return testRunSync(fd, type, options);
}

function testRunHint(type: number, o: TestRunOptions): string {
  if (type === RAW_TRACEPOINT) {
    return "raw_tracepoint test runs take only a context (the tracepoint's arguments, up to " +
      "12 × 8 bytes): no data, repeat, batchSize or contextOutSize";
  }
  return "BPF_PROG_TEST_RUN rejected the run: check that the program type supports test " +
    `runs and that data (${o.data?.length ?? 0} bytes) and context ` +
    `(${o.context?.length ?? 0} bytes) have the sizes the type expects ` +
    "(e.g. XDP and skb programs need at least an Ethernet header, 14 bytes)";
}
