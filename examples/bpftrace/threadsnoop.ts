/**
 * Debian's bpftrace tool threadsnoop.bt: new threads (pthread_create) with the
 * thread's start function as a symbol. glibc 2.34 moved pthread_create into
 * libc, so this probes libc (the tool names libpthread, which no longer has it).
 *
 *     deno run --allow-ffi examples/bpftrace/threadsnoop.ts
 *
 * @module
 */
import { arg, comm, elapsed, pid, printf, script, uprobe, usym } from "@denobpf/ebpf/probe";

await using _ = await script(({ begin, on }) => {
  begin(() => printf("%-10s %-6s %-16s %s\n", "TIME(ms)", "PID", "COMM", "FUNC"));
  on(uprobe("c", "pthread_create"), () => {
    printf("%-10u %-6d %-16s %s\n", elapsed.div(1e6), pid, comm, usym(arg(2)));
  });
}).run();
