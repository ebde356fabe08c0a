/**
 * bpftrace's one-liner tutorial, lesson 12 (kernel struct tracing). The lesson
 * casts `kprobe:vfs_open`'s arg0 to `struct path *`; with no kprobes here,
 * this follows pointers from the current task instead, read through kernel
 * BTF:
 *
 *     tracepoint:sched:sched_process_exec
 *     {
 *       $task = (struct task_struct *)curtask;
 *       printf("exec %s by %s (%d)\n", comm, $task->real_parent->comm, $task->real_parent->pid);
 *     }
 *
 *     deno run --allow-ffi examples/bpftrace/lesson12_struct_tracing.ts
 *
 * @module
 */
import { cast, comm, curtask, printf, script, tracepoint } from "@denobpf/ebpf/probe";

interface Task {
  real_parent: { comm: string; pid: number };
}

await using _ = await script(({ on }) =>
  on(tracepoint("sched:sched_process_exec"), () => {
    const task = cast<Task>(curtask, "struct task_struct *");
    printf("exec %s by %s (%d)\n", comm, task.real_parent.comm, task.real_parent.pid);
  })
).run();
