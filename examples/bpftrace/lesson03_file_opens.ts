/**
 * bpftrace's one-liner tutorial, lesson 3 (file opens; openat, as x86-64 libcs use it):
 *
 *     bpftrace -e 'tracepoint:syscalls:sys_enter_openat { printf("%s %s\n", comm, str(args.filename)); }'
 *
 *     deno run --allow-ffi examples/bpftrace/lesson03_file_opens.ts
 *
 * @module
 */
import { comm, printf, script, str, tracepoint } from "@denobpf/ebpf/probe";

await using _ = await script(({ on }) =>
  on(tracepoint("syscalls:sys_enter_openat"), ({ args }) => {
    printf("%s %s\n", comm, str(args.filename));
  })
).run();
