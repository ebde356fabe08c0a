/**
 * Debian's bpftrace tool pidpersec.bt: new processes per second, printed and
 * cleared every second.
 *
 *     deno run --allow-ffi examples/bpftrace/pidpersec.ts
 *
 * @module
 */
import { clear, count, print, printf, script, time, tracepoint } from "@denobpf/ebpf/probe";

await using _ = await script(({ begin, on, every, end }) => {
  begin(() => printf("Tracing new processes... Hit Ctrl-C to end.\n"));
  on(tracepoint("sched:sched_process_fork"), () => count("@"));
  every(1000, () => {
    time("%H:%M:%S PIDs/sec: ");
    print("@");
    clear("@");
  });
  end(() => clear("@"));
}).run();
