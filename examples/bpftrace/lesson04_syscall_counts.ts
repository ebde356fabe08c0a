/**
 * bpftrace's one-liner tutorial, lesson 4 (system calls by process):
 *
 *     bpftrace -e 'tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }'
 *
 *     deno run --allow-ffi examples/bpftrace/lesson04_syscall_counts.ts
 *
 * @module
 */
import { comm, count, script, tracepoint } from "@denobpf/ebpf/probe";

await using _ = await script(({ on }) =>
  on(tracepoint("raw_syscalls:sys_enter"), () => count("@", { by: comm }))
).run();
