/**
 * Debian's bpftrace tool runqlen.bt: CFS run queue length sampled at 99 Hz,
 * read by following the current task's scheduler entity (kernel BTF casts).
 * Linux 6.13 renamed `cfs_rq.nr_running` to `nr_queued`; this reads the new name.
 *
 *     deno run --allow-ffi examples/bpftrace/runqlen.ts
 *
 * @module
 */
import { cast, cond, curtask, lhist, local, printf, profile, script } from "@denobpf/ebpf/probe";

await using _ = await script(({ begin, on }) => {
  begin(() => printf("Sampling run queue length at 99 Hertz... Hit Ctrl-C to end.\n"));
  on(profile(99), () => {
    const task = cast<{ se: { cfs_rq: number } }>(curtask, "struct task_struct *");
    const myQ = cast<{ nr_queued: number }>(task.se.cfs_rq, "struct cfs_rq *");
    const len = local(myQ.nr_queued, "len"); // nr_running before Linux 6.13
    len.set(cond(len.gt(0), len.sub(1), 0)); // subtract currently running task
    lhist("@runqlen", len, { min: 0, max: 100, step: 1 });
  });
}).run();
