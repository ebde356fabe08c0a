/**
 * Debian's bpftrace tool execsnoop.bt: new processes with their arguments
 * (every `sys_enter_exec*` tracepoint; `join` prints argv).
 *
 *     deno run --allow-ffi examples/bpftrace/execsnoop.ts
 *
 * @module
 */
import { elapsed, join, pid, printf, script, tracepoint } from "@denobpf/ebpf/probe";

await using _ = await script(({ begin, on }) => {
  begin(() => printf("%-10s %-5s %s\n", "TIME(ms)", "PID", "ARGS"));
  on(tracepoint("syscalls:sys_enter_exec*"), ({ args }) => {
    printf("%-10u %-5d ", elapsed.div(1e6), pid);
    join(args.argv);
  });
}).run();
