/**
 * bpftrace's one-liner tutorial, lesson 10 (stacks that led to a context switch):
 *
 *     bpftrace -e 'tracepoint:sched:sched_switch { @[kstack] = count(); }'
 *
 *     deno run --allow-ffi examples/bpftrace/lesson10_sched_stacks.ts
 *
 * @module
 */
import { count, kstack, script, tracepoint } from "@denobpf/ebpf/probe";

await using _ = await script(({ on }) =>
  on(tracepoint("sched:sched_switch"), () => count("@", { by: kstack }))
).run();
