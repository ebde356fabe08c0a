/**
 * A tracepoint variant of Debian's bpftrace tool vfsstat.bt (which counts
 * `kprobe:vfs_read*`, `vfs_write*`, `vfs_fsync`, `vfs_open` and `vfs_create`,
 * absent here): the system calls that lead to those functions, counted per
 * tracepoint (bpftrace's `probe`, where the kprobe tool keys `func`),
 * printed and cleared every second.
 *
 *     deno run --allow-ffi examples/bpftrace/vfsstat.ts
 *
 * @module
 */
import {
  clear,
  count,
  print,
  printf,
  probeName,
  script,
  time,
  tracepoint,
} from "@denobpf/ebpf/probe";

const CALLS = ["read", "readv", "pread64", "preadv", "write", "writev", "pwrite64", "pwritev"]
  .concat(["fsync", "open", "openat", "creat"]);
await using _ = await script(({ begin, on, every, end }) => {
  begin(() => printf("Tracing key VFS calls... Hit Ctrl-C to end.\n"));
  on(CALLS.map((c) => tracepoint(`syscalls:sys_enter_${c}`)), () => count("@", { by: probeName }));
  every(1000, () => {
    time();
    print("@");
    clear("@");
  });
  end(() => clear("@"));
}).run();
