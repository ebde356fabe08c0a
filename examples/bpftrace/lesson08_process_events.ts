/**
 * bpftrace's one-liner tutorial, lesson 8 (process-level events for 5 seconds;
 * a wildcard point, the probe name as key, an interval that exits):
 *
 *     bpftrace -e 'tracepoint:sched:sched* { @[probe] = count(); } interval:s:5 { exit(); }'
 *
 *     deno run --allow-ffi examples/bpftrace/lesson08_process_events.ts
 *
 * @module
 */
import { count, exit, probeName, script, tracepoint } from "@denobpf/ebpf/probe";

await using _ = await script(({ on, every }) => {
  on(tracepoint("sched:sched*"), () => count("@", { by: probeName }));
  every(5000, () => exit());
}).run();
