/**
 * A tracepoint variant of Debian's bpftrace tool oomkill.bt (which uses
 * `kprobe:oom_kill_process`, absent here): OOM kills, from `oom:mark_victim`,
 * which fires in the task that triggered the kill. The tracepoint has no
 * `struct oom_control`, so the victim's total VM (kB) stands for the
 * kprobe's `totalpages`; the victim's pid and comm are the tracepoint's.
 *
 *     tracepoint:oom:mark_victim {
 *       time("%H:%M:%S ");
 *       printf("Triggered by PID %d (\"%s\"), ", pid, comm);
 *       printf("OOM kill of PID %d (\"%s\"), %d kB total-vm, loadavg: ",
 *           args->pid, str(args->comm), args->total_vm);
 *       cat("/proc/loadavg"); }
 *
 *     deno run --allow-ffi examples/bpftrace/oomkill.ts
 *
 * @module
 */
import { cat, comm, pid, printf, script, str, time, tracepoint } from "@denobpf/ebpf/probe";

await using _ = await script(({ begin, on }) => {
  begin(() => printf("Tracing oom_kill_process()... Hit Ctrl-C to end.\n"));
  on(tracepoint("oom:mark_victim"), ({ args }) => {
    time("%H:%M:%S ");
    printf('Triggered by PID %d ("%s"), ', pid, comm);
    printf(
      'OOM kill of PID %d ("%s"), %d kB total-vm, loadavg: ',
      args.pid,
      str(args.comm),
      args.total_vm,
    );
    cat("/proc/loadavg");
  });
}).run();
