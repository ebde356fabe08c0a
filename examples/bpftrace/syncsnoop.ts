/**
 * Debian's bpftrace tool syncsnoop.bt: sync-family system calls, each line
 * naming the probe that fired (a wildcard among the points).
 *
 *     deno run --allow-ffi examples/bpftrace/syncsnoop.ts
 *
 * @module
 */
import { comm, pid, printf, probeName, script, time, tracepoint } from "@denobpf/ebpf/probe";

const calls = ["sync", "syncfs", "fsync", "fdatasync", "sync_file_range*", "msync"];
await using _ = await script(({ begin, on }) => {
  begin(() => {
    printf("Tracing sync syscalls... Hit Ctrl-C to end.\n");
    printf("%-9s %-6s %-16s %s\n", "TIME", "PID", "COMM", "EVENT");
  });
  on(calls.map((c) => tracepoint(`syscalls:sys_enter_${c}`)), () => {
    time("%H:%M:%S  ");
    printf("%-6d %-16s %s\n", pid, comm, probeName);
  });
}).run();
