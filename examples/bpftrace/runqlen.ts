/**
 * Debian's bpftrace tool runqlen.bt: CFS run queue length sampled at 99 Hz,
 * read by following the current task's scheduler entity (kernel BTF casts).
 * Linux 6.13 renamed `cfs_rq.nr_running` to `nr_queued`; this reads the name the
 * kernel's BTF has.
 *
 *     deno run --allow-ffi examples/bpftrace/runqlen.ts
 *
 * @module
 */
import { loadKernelSpec } from "@denobpf/ebpf/btf";
import { cast, cond, curtask, lhist, local, printf, profile, script } from "@denobpf/ebpf/probe";

const cfsRq = loadKernelSpec().typeByName("cfs_rq", "struct");
const nr = cfsRq?.kind === "struct" && cfsRq.members.some((m) => m.name === "nr_queued")
  ? "nr_queued"
  : "nr_running";

await using _ = await script(({ begin, on }) => {
  begin(() => printf("Sampling run queue length at 99 Hertz... Hit Ctrl-C to end.\n"));
  on(profile(99), () => {
    const task = cast<{ se: { cfs_rq: number } }>(curtask, "struct task_struct *");
    const myQ = cast<Record<typeof nr, number>>(task.se.cfs_rq, "struct cfs_rq *");
    const len = local(myQ[nr], "len");
    len.set(cond(len.gt(0), len.sub(1), 0)); // subtract currently running task
    lhist("@runqlen", len, { min: 0, max: 100, step: 1 });
  });
}).run();
