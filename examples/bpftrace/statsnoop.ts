/**
 * Debian's bpftrace tool statsnoop.bt: stat-family system calls with their
 * error, the path kept per thread from entry to exit.
 *
 *     deno run --allow-ffi examples/bpftrace/statsnoop.ts
 *
 * @module
 */
import { clear, comm, cond, pid, printf, script, str, tracepoint } from "@denobpf/ebpf/probe";

const sys = (side: string, calls: string[]) =>
  calls.map((c) => tracepoint(`syscalls:sys_${side}_${c}`));
await using _ = await script(({ begin, on, end, perThread }) => {
  const filename = perThread("@filename");
  begin(() => {
    printf("Tracing stat syscalls... Hit Ctrl-C to end.\n");
    printf("%-6s %-16s %3s %s\n", "PID", "COMM", "ERR", "PATH");
  });
  on(sys("enter", ["statfs"]), ({ args }) => filename.set(args.pathname));
  on(
    sys("enter", ["statx", "newstat", "newlstat"]),
    ({ args }) => filename.set(args.filename),
  );
  on(
    sys("exit", ["statfs", "statx", "newstat", "newlstat"]),
    { where: filename.get() },
    ({ args }) => {
      printf(
        "%-6d %-16s %3d %s\n",
        pid,
        comm,
        cond(args.ret.ge(0), 0, args.ret.neg()),
        str(filename.get()),
      );
      filename.delete();
    },
  );
  end(() => clear(filename));
}).run();
