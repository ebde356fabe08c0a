/**
 * A histogram of read(2) sizes — the library form of
 *
 *     bpftrace -e 'tracepoint:syscalls:sys_exit_read /args.ret >= 0/ { @bytes = hist(args.ret); }'
 *
 * plus the failed reads by process (`args.ret < 0`).
 *
 *     deno run -A examples/probe_read_sizes.ts [seconds=2]
 *
 * @module
 */

import { type Histogram, probe, tracepoint } from "@denobpf/ebpf/probe";

/** Reads' sizes for `seconds`: the histogram of successful reads. */
export async function readSizes(seconds = 2): Promise<Histogram | undefined> {
  const exit = tracepoint<{ ret: number }>("syscalls:sys_exit_read");
  await using sizes = await probe(exit, { where: "args.ret >= 0" })
    .hist("args.ret", { name: "@bytes" });
  await using failures = await probe(exit, { where: "args.ret < 0" })
    .count({ by: ["comm", "args.ret"], name: "@errors" });
  // Some reads of our own, of known sizes.
  const timer = setInterval(() => Deno.readFileSync("/etc/os-release"), 100);
  await sizes.runFor(seconds);
  clearInterval(timer);
  await failures.stop();
  sizes.print();
  failures.print({ top: 5 });
  return sizes.get();
}

if (import.meta.main) {
  const seconds = Number(Deno.args[0] ?? 2);
  console.log(`Attaching 2 probes... read sizes for ${seconds}s`);
  await readSizes(seconds);
}
