/**
 * bpftrace's one-liner tutorial, lesson 9 (on-CPU kernel stacks at 99 Hz):
 *
 *     bpftrace -e 'profile:hz:99 { @[kstack] = count(); }'
 *
 *     deno run --allow-ffi examples/bpftrace/lesson09_profile_kstacks.ts
 *
 * @module
 */
import { count, kstack, profile, script } from "@denobpf/ebpf/probe";

await using _ = await script(({ on }) => on(profile(99), () => count("@", { by: kstack }))).run();
