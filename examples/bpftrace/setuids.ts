/**
 * Debian's bpftrace tool setuids.bt: setuid(), setfsuid() and setresuid()
 * with their arguments and result; the caller's uid and the arguments are
 * kept per thread from entry to exit.
 *
 *     deno run --allow-ffi examples/bpftrace/setuids.ts
 *
 * @module
 */
import { comm, pid, printf, script, time, tracepoint, uid } from "@denobpf/ebpf/probe";

await using _ = await script(({ begin, on, perThread }) => {
  const [uids, setuid, seen] = [perThread("@uid"), perThread("@setuid"), perThread("@seen")];
  const [ruid, euid, suid] = [perThread("@ruid"), perThread("@euid"), perThread("@suid")];
  begin(() => {
    printf("Tracing setuid(2) family syscalls. Hit Ctrl-C to end.\n");
    printf("%-8s %-6s %-16s %-6s %-9s %s\n", "TIME", "PID", "COMM", "UID", "SYSCALL", "ARGS (RET)");
  });
  const sys = (name: string) => tracepoint(`syscalls:sys_${name}`);
  on([sys("enter_setuid"), sys("enter_setfsuid")], ({ args }) => {
    uids.set(uid);
    setuid.set(args.uid);
    seen.set(1);
  });
  on(sys("enter_setresuid"), ({ args }) => {
    uids.set(uid);
    ruid.set(args.ruid);
    euid.set(args.euid);
    suid.set(args.suid);
    seen.set(1);
  });
  const exit = (name: string, format: string) =>
    on(sys(`exit_${name}`), { where: seen.get() }, ({ args }) => {
      time("%H:%M:%S ");
      printf(format, pid, comm, uids.get(), setuid.get(), args.ret);
      for (const m of [seen, uids, setuid]) m.delete();
    });
  exit("setuid", "%-6d %-16s %-6d setuid    uid=%d (%d)\n");
  exit("setfsuid", "%-6d %-16s %-6d setfsuid  uid=%d (prevuid=%d)\n");
  on(sys("exit_setresuid"), { where: seen.get() }, ({ args }) => {
    time("%H:%M:%S ");
    printf("%-6d %-16s %-6d setresuid ", pid, comm, uids.get());
    printf("ruid=%d euid=%d suid=%d (%d)\n", ruid.get(), euid.get(), suid.get(), args.ret);
    for (const m of [seen, uids, ruid, euid, suid]) m.delete();
  });
}).run();
