/**
 * Debian's bpftrace tool killsnoop.bt: kill() calls with their result; the
 * target and signal are kept per thread from entry to exit.
 *
 *     deno run --allow-ffi examples/bpftrace/killsnoop.ts
 *
 * @module
 */
import { comm, pid, printf, script, time, tracepoint } from "@denobpf/ebpf/probe";

await using _ = await script(({ begin, on, perThread }) => {
  const [tpid, tsig] = [perThread("@tpid"), perThread("@tsig")];
  begin(() => {
    printf("Tracing kill() signals... Hit Ctrl-C to end.\n");
    printf("%-9s %-6s %-16s %-4s %-6s %s\n", "TIME", "PID", "COMM", "SIG", "TPID", "RESULT");
  });
  on(tracepoint("syscalls:sys_enter_kill"), ({ args }) => {
    tpid.set(args.pid);
    tsig.set(args.sig);
  });
  on(tracepoint("syscalls:sys_exit_kill"), { where: tpid.get() }, ({ args }) => {
    time("%H:%M:%S  ");
    printf("%-6d %-16s %-4d %-6d %d\n", pid, comm, tsig.get(), tpid.get(), args.ret);
    tpid.delete();
    tsig.delete();
  });
}).run();
