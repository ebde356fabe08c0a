// BPF_PROG_LOAD fails with EAGAIN when the verifier sees a signal pending on
// the calling thread (a profiler's SIGPROF, a child's SIGCHLD): the answer
// says nothing about the program or the kernel. libbpf tries such a load 5
// times. Where signals keep coming faster than one load takes (a sampling
// profiler at 1 kHz on an emulated CPU, where a tiny load takes longer than
// a millisecond), every try fails alike; the last try here runs with the
// thread's signals blocked, so the kernel holds them until the load is done
// and then delivers them.

import { libc } from "./_libc.ts";
import { EAGAIN } from "./errno.ts";

/** Tries of a load that fails with EAGAIN before the one with signals blocked (libbpf's count). */
const EAGAIN_RETRIES = 5;
const SIG_BLOCK = 0;
const SIG_SETMASK = 2;
/** glibc's sigset_t: 1024 bits. */
const SIGSET_BYTES = 128;

/**
 * Runs `load` (a bpf(2) call returning a descriptor, 0 or -errno) again
 * while it returns -EAGAIN, up to libbpf's 5 retries, then once more with
 * every blockable signal blocked in this thread (delivered when the mask is
 * restored). Returns the last result.
 */
export function retryOnEagain(load: () => number): number {
  let r = load();
  for (let i = 0; i < EAGAIN_RETRIES && r === -EAGAIN; i++) r = load();
  return r === -EAGAIN ? withSignalsBlocked(load) : r;
}

function withSignalsBlocked(fn: () => number): number {
  const all = new Uint8Array(SIGSET_BYTES).fill(0xff);
  const old = new Uint8Array(SIGSET_BYTES);
  // pthread_sigmask returns the error number; glibc leaves its own internal signals out of the set.
  if (libc().pthread_sigmask(SIG_BLOCK, all, old) !== 0) return fn();
  try {
    return fn();
  } finally {
    libc().pthread_sigmask(SIG_SETMASK, old, null);
  }
}
