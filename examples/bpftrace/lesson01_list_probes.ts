/**
 * bpftrace's one-liner tutorial, lesson 1 (listing probes):
 *
 *     bpftrace -l 'tracepoint:syscalls:sys_enter_*'
 *
 *     deno run --allow-ffi examples/bpftrace/lesson01_list_probes.ts ['PATTERN']
 *
 * @module
 */
import { listProbes } from "@denobpf/ebpf/probe";

for (const line of await listProbes(Deno.args[0] ?? "tracepoint:syscalls:sys_enter_*")) {
  console.log(line);
}
