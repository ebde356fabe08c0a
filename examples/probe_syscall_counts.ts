/**
 * System calls per process name, as a scripted probe — the library form of
 *
 *     bpftrace -e 'tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }'
 *
 * (compare examples/syscall_counts.ts, which writes the same program by hand).
 *
 *     deno run --allow-ffi examples/probe_syscall_counts.ts [seconds=2] [top=10]
 *
 * Ctrl-C (or SIGTERM) stops it early: the counts so far are printed, as
 * bpftrace prints its maps, and it exits normally.
 *
 * @module
 */

import { interrupted, probe, tracepoint } from "@denobpf/ebpf/probe";

/** Counts system calls by process name for `seconds` (or until `signal` aborts); returns the counts. */
export async function syscallCounts(
  seconds = 2,
  top = 10,
  signal?: AbortSignal,
): Promise<Map<string, number>> {
  await using calls = await probe(tracepoint("raw_syscalls:sys_enter"))
    .count({ by: "comm" });
  console.log("Tracing... Hit Ctrl-C to end.");
  const counts = await calls.runFor(seconds, { signal });
  calls.print({ top });
  return counts;
}

if (import.meta.main) {
  const seconds = Number(Deno.args[0] ?? 2);
  using stop = interrupted();
  console.log(`Attaching 1 probe... counting system calls for ${seconds}s`);
  await syscallCounts(seconds, Number(Deno.args[1] ?? 10), stop);
}
