/**
 * bpftrace's one-liner tutorial, lesson 7 (timing read()s: state shared by two
 * probes). `kprobe:vfs_read`/`kretprobe:vfs_read` become the read system
 * call's tracepoints (no kprobes here):
 *
 *     bpftrace -e 'tracepoint:syscalls:sys_enter_read { @start[tid] = nsecs; }
 *       tracepoint:syscalls:sys_exit_read /@start[tid]/ {
 *         @ns[comm] = hist(nsecs - @start[tid]); delete(@start[tid]); }'
 *
 *     deno run --allow-ffi examples/bpftrace/lesson07_read_timing.ts
 *
 * @module
 */
import { comm, hist, nsecs, script, tid, tracepoint } from "@denobpf/ebpf/probe";

await using _ = await script(({ on, map }) => {
  const start = map<number, number>("@start");
  on(tracepoint("syscalls:sys_enter_read"), () => start.set(tid, nsecs));
  on(tracepoint("syscalls:sys_exit_read"), { where: start.get(tid) }, () => {
    hist("@ns", nsecs.sub(start.get(tid)), { by: comm });
    start.delete(tid);
  });
}).run();
