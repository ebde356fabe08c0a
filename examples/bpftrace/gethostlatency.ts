/**
 * Debian's bpftrace tool gethostlatency.bt: name lookups through libc
 * (getaddrinfo, gethostbyname, gethostbyname2) with their latency; the start
 * time and the name's pointer are kept per thread from entry to return.
 *
 *     deno run --allow-ffi examples/bpftrace/gethostlatency.ts
 *
 * @module
 */
import {
  arg,
  comm,
  local,
  nsecs,
  pid,
  printf,
  script,
  str,
  time,
  uprobe,
  uretprobe,
} from "@denobpf/ebpf/probe";

const FUNCS = ["getaddrinfo", "gethostbyname", "gethostbyname2"];
await using _ = await script(({ begin, on, perThread }) => {
  const [start, name] = [perThread("@start"), perThread("@name")];
  begin(() => {
    printf("Tracing getaddr/gethost calls... Hit Ctrl-C to end.\n");
    printf("%-9s %-6s %-16s %6s %s\n", "TIME", "PID", "COMM", "LATms", "HOST");
  });
  on(FUNCS.map((f) => uprobe("c", f)), () => {
    start.set(nsecs);
    name.set(arg(0));
  });
  on(FUNCS.map((f) => uretprobe("c", f)), { where: start.get() }, () => {
    const latms = local(nsecs.sub(start.get()).div(1e6), "latms");
    time("%H:%M:%S  ");
    printf("%-6d %-16s %6d %s\n", pid, comm, latms, str(name.get()));
    start.delete();
    name.delete();
  });
}).run();
