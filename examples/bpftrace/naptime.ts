/**
 * Debian's bpftrace tool naptime.bt: nanosleep() calls, with the parent read
 * through the current task (kernel BTF) and the duration through the user
 * pointer in the tracepoint's arguments (`args.rqtp.tv_sec` follows it).
 *
 *     deno run --allow-ffi examples/bpftrace/naptime.ts
 *
 * @module
 */
import { cast, comm, curtask, pid, printf, script, time, tracepoint } from "@denobpf/ebpf/probe";

interface Args {
  rqtp: { tv_sec: number; tv_nsec: number };
}
interface Task {
  real_parent: { pid: number; comm: string };
}

await using _ = await script(({ begin, on }) => {
  begin(() => {
    printf("Tracing sleeps. Hit Ctrl-C to end.\n");
    printf("%-8s %-6s %-16s %-6s %-16s %s\n", "TIME", "PPID", "PCOMM", "PID", "COMM", "SECONDS");
  });
  const nanosleep = tracepoint<Args>("syscalls:sys_enter_nanosleep");
  on(nanosleep, { where: ({ args }) => args.rqtp.tv_sec.add(args.rqtp.tv_nsec) }, ({ args }) => {
    const task = cast<Task>(curtask, "struct task_struct *");
    time("%H:%M:%S ");
    printf(
      "%-6d %-16s %-6d %-16s %d.%03d\n",
      task.real_parent.pid,
      task.real_parent.comm,
      pid,
      comm,
      args.rqtp.tv_sec,
      cast(args.rqtp.tv_nsec, "uint64").div(1e6),
    );
  });
}).run();
