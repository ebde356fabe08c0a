/**
 * Debian's bpftrace tool opensnoop.bt: open() and openat() with their result,
 * the file name kept per thread from entry to exit.
 *
 *     deno run --allow-ffi examples/bpftrace/opensnoop.ts
 *
 * @module
 */
import {
  clear,
  comm,
  cond,
  local,
  pid,
  printf,
  script,
  str,
  tracepoint,
} from "@denobpf/ebpf/probe";

await using _ = await script(({ begin, on, end, perThread }) => {
  const filename = perThread("@filename");
  begin(() => {
    printf("Tracing open syscalls... Hit Ctrl-C to end.\n");
    printf("%-6s %-16s %4s %3s %s\n", "PID", "COMM", "FD", "ERR", "PATH");
  });
  const points = (side: string) =>
    ["open", "openat"].map((s) => tracepoint(`syscalls:sys_${side}_${s}`));
  on(points("enter"), ({ args }) => filename.set(args.filename));
  on(points("exit"), { where: filename.get() }, ({ args }) => {
    const ret = local(args.ret, "ret");
    const fd = local(cond(ret.ge(0), ret, -1), "fd");
    const errno = local(cond(ret.ge(0), 0, ret.neg()), "errno");
    printf("%-6d %-16s %4d %3d %s\n", pid, comm, fd, errno, str(filename.get()));
    filename.delete();
  });
  end(() => clear(filename));
}).run();
