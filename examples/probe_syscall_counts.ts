/**
 * System calls per process name, as a scripted probe — the library form of
 *
 *     bpftrace -e 'tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }'
 *
 * (compare examples/syscall_counts.ts, which writes the same program by hand).
 *
 *     deno run -A examples/probe_syscall_counts.ts [seconds=2] [top=10]
 *
 * @module
 */

import { probe, tracepoint } from "@denobpf/ebpf/probe";

/** Counts system calls by process name for `seconds`; returns the counts. */
export async function syscallCounts(seconds = 2, top = 10): Promise<Map<string, number>> {
  await using calls = await probe(tracepoint("raw_syscalls:sys_enter"))
    .count({ by: "comm" });
  const counts = await calls.runFor(seconds);
  calls.print({ top });
  return counts;
}

if (import.meta.main) {
  const seconds = Number(Deno.args[0] ?? 2);
  console.log(`Attaching 1 probe... counting system calls for ${seconds}s`);
  await syscallCounts(seconds, Number(Deno.args[1] ?? 10));
}
