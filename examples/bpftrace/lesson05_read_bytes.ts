/**
 * bpftrace's one-liner tutorial, lesson 5 (distribution of read() sizes of one process):
 *
 *     bpftrace -e 'tracepoint:syscalls:sys_exit_read /pid == PID/ { @bytes = hist(args.ret); }'
 *
 *     deno run --allow-ffi examples/bpftrace/lesson05_read_bytes.ts PID
 *
 * @module
 */
import { hist, pid, script, tracepoint } from "@denobpf/ebpf/probe";

const target = Number(Deno.args[0] ?? Deno.pid);
const exit = tracepoint("syscalls:sys_exit_read");
await using _ = await script(({ on }) =>
  on(exit, { where: pid.eq(target) }, ({ args }) => hist("@bytes", args.ret))
).run();
