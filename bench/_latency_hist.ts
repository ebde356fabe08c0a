// The script bench/script_first_output.ts times, as a user writes it: a
// latency histogram of getpid with its state in the kernel (two probes, one
// shared map), ended by exit() at the first call timed. Its first output is
// the histogram, printed at stop.
//
//   deno run --allow-ffi bench/_latency_hist.ts

import { exit, hist, nsecs, script, tid, tracepoint } from "@denobpf/ebpf/probe";

await using _ = await script(({ on, map }) => {
  const start = map<number, number>("@start");
  on(tracepoint("syscalls:sys_enter_getpid"), () => start.set(tid, nsecs));
  on(tracepoint("syscalls:sys_exit_getpid"), { where: start.get(tid) }, () => {
    hist("@ns", nsecs.sub(start.get(tid)));
    start.delete(tid);
    exit();
  });
}).run();
