/**
 * Debian's bpftrace tool runqlat.bt: CPU scheduler run queue latency as a
 * histogram, the wakeup time kept per pid in a map shared by three
 * tracepoints.
 *
 *     deno run --allow-ffi examples/bpftrace/runqlat.ts
 *
 * @module
 */
import { clear, hist, local, nsecs, printf, script, tracepoint, when } from "@denobpf/ebpf/probe";

const TASK_RUNNING = 0;
await using _ = await script(({ begin, on, end, map }) => {
  const qtime = map<number, number>("@qtime");
  begin(() => printf("Tracing CPU scheduler... Hit Ctrl-C to end.\n"));
  on([tracepoint("sched:sched_wakeup"), tracepoint("sched:sched_wakeup_new")], ({ args }) => {
    qtime.set(args.pid, nsecs);
  });
  on(tracepoint("sched:sched_switch"), ({ args }) => {
    when(args.prev_state.eq(TASK_RUNNING), () => qtime.set(args.prev_pid, nsecs));
    const ns = local(qtime.get(args.next_pid), "ns");
    when(ns, () => hist("@usecs", nsecs.sub(ns).div(1000)));
    qtime.delete(args.next_pid);
  });
  end(() => clear(qtime));
}).run();
