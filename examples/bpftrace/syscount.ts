/**
 * Debian's bpftrace tool syscount.bt (/usr/sbin/syscount.bt): system calls by
 * id and by process, the top 10 of each printed at Ctrl-C.
 *
 *     deno run --allow-ffi examples/bpftrace/syscount.ts
 *
 * @module
 */
import { clear, comm, count, print, printf, script, tracepoint } from "@denobpf/ebpf/probe";

await using _ = await script(({ begin, on, end }) => {
  begin(() => printf("Counting syscalls... Hit Ctrl-C to end.\n"));
  on(tracepoint("raw_syscalls:sys_enter"), ({ args }) => {
    count("@syscall", { by: args.id });
    count("@process", { by: comm });
  });
  end(() => {
    printf("\nTop 10 syscalls IDs:\n");
    print("@syscall", { top: 10 });
    clear("@syscall");
    printf("\nTop 10 processes:\n");
    print("@process", { top: 10 });
    clear("@process");
  });
}).run();
