/**
 * Debian's bpftrace tool cpuwalk.bt: which CPUs processes run on, sampled at 99 Hz.
 *
 *     deno run --allow-ffi examples/bpftrace/cpuwalk.ts
 *
 * @module
 */
import { cpu, lhist, pid, printf, profile, script } from "@denobpf/ebpf/probe";

await using _ = await script(({ begin, on }) => {
  begin(() => printf("Sampling CPU at 99hz... Hit Ctrl-C to end.\n"));
  on(profile(99), { where: pid }, () => lhist("@cpu", cpu, { min: 0, max: 1000, step: 1 }));
}).run();
