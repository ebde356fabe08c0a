/**
 * Files opened, streamed as typed events — the library form of
 *
 *     bpftrace -e 'tracepoint:syscalls:sys_enter_openat { printf("%d %s %s\n", pid, comm, str(args.filename)); }'
 *
 * The script opens a few files itself, so there is something to see.
 *
 *     deno run --allow-ffi examples/probe_opens.ts [seconds=1]
 *
 * Ctrl-C (or SIGTERM) stops it early; it then prints how many opens it saw.
 *
 * @module
 */

import { interrupted, probe, tracepoint } from "@denobpf/ebpf/probe";
// Reads files through Deno, or through the C library when --allow-read is not given.
import { readTextFile } from "@denobpf/ebpf/unstable-sys";

/** The fields of `sys_enter_openat` this script reads. */
type OpenatArgs = { filename: string; flags: number };

/** Prints every openat(2) for `seconds` (or until `stop` aborts); returns the events seen. */
export async function watchOpens(
  seconds = 1,
  stop?: AbortSignal,
): Promise<{ pid: number; comm: string; filename: string; flags: number }[]> {
  await using opens = await probe(tracepoint<OpenatArgs>("syscalls:sys_enter_openat"))
    .emit({ fields: ["pid", "comm", "args.filename", "args.flags"] });
  const seen = [];
  const timeout = AbortSignal.timeout(seconds * 1000);
  const signal = stop ? AbortSignal.any([timeout, stop]) : timeout;
  const touch = setTimeout(() => {
    for (const f of ["/etc/hostname", "/etc/os-release"]) readTextFile(f);
  }, 50);
  console.log("Tracing... Hit Ctrl-C to end.");
  console.log(`${"PID".padEnd(8)}${"COMM".padEnd(16)}FLAGS     FILE`);
  for await (const ev of opens.events({ signal })) {
    seen.push(ev);
    console.log(
      `${String(ev.pid).padEnd(8)}${ev.comm.padEnd(16)}${ev.flags.toString(16).padEnd(10)}` +
        ev.filename,
    );
  }
  clearTimeout(touch);
  if (opens.dropped()) console.log(`(${opens.dropped()} events lost: the ring buffer was full)`);
  console.log(`${seen.length} opens seen`);
  return seen;
}

if (import.meta.main) {
  using stop = interrupted();
  await watchOpens(Number(Deno.args[0] ?? 1), stop);
}
