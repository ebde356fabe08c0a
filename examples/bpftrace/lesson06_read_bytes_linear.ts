/**
 * bpftrace's one-liner tutorial, lesson 6 (read() sizes, linear buckets). The
 * lesson uses `kretprobe:vfs_read`; this kernel has no kprobes, so the read
 * system call's exit tracepoint gives the same sizes:
 *
 *     bpftrace -e 'tracepoint:syscalls:sys_exit_read { @bytes = lhist(args.ret, 0, 2000, 200); }'
 *
 *     deno run --allow-ffi examples/bpftrace/lesson06_read_bytes_linear.ts
 *
 * @module
 */
import { lhist, script, tracepoint } from "@denobpf/ebpf/probe";

await using _ = await script(({ on }) =>
  on(tracepoint<{ ret: number }>("syscalls:sys_exit_read"), ({ args }) => {
    lhist("@bytes", args.ret, { min: 0, max: 2000, step: 200 });
  })
).run();
