/**
 * A histogram of read(2) sizes — the library form of
 *
 *     bpftrace -e 'tracepoint:syscalls:sys_exit_read /args.ret >= 0/ { @bytes = hist(args.ret); }'
 *
 * plus the failed reads by process (`args.ret < 0`).
 *
 *     deno run --allow-ffi examples/probe_read_sizes.ts [seconds=2]
 *
 * Ctrl-C (or SIGTERM) stops it early and prints the histograms so far.
 *
 * @module
 */

import { type Histogram, interrupted, probe, tracepoint } from "@denobpf/ebpf/probe";
// Reads files through Deno, or through the C library when --allow-read is not given.
import { readFile } from "@denobpf/ebpf/unstable-sys";

/** Reads' sizes for `seconds` (or until `signal` aborts): the histogram of successful reads. */
export async function readSizes(
  seconds = 2,
  signal?: AbortSignal,
): Promise<Histogram | undefined> {
  const exit = tracepoint<{ ret: number }>("syscalls:sys_exit_read");
  await using sizes = await probe(exit, { where: "args.ret >= 0" })
    .hist("args.ret", { name: "@bytes" });
  await using failures = await probe(exit, { where: "args.ret < 0" })
    .count({ by: ["comm", "args.ret"], name: "@errors" });
  // Some reads of our own, of known sizes.
  const timer = setInterval(() => readFile("/etc/os-release"), 100);
  console.log("Tracing... Hit Ctrl-C to end.");
  await sizes.runFor(seconds, { signal });
  clearInterval(timer);
  await failures.stop();
  sizes.print();
  failures.print({ top: 5 });
  return sizes.get();
}

if (import.meta.main) {
  const seconds = Number(Deno.args[0] ?? 2);
  using stop = interrupted();
  console.log(`Attaching 2 probes... read sizes for ${seconds}s`);
  await readSizes(seconds, stop);
}
