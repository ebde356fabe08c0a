/**
 * A scripted probe: count system calls per process name for a few seconds,
 * the way `bpftrace -e 'tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }'`
 * does — a raw tracepoint program assembled in TypeScript, a hash map keyed
 * by `comm`, live counts printed every second, then a clean detach.
 *
 *     deno run --allow-ffi examples/syscall_counts.ts [seconds=3]
 *
 * Ctrl-C (or SIGTERM) stops it early: it prints the final counts, detaches
 * and exits normally.
 *
 * @module
 */

import { Assembler, R0, R1, R10, R2, R3, R4 } from "@denobpf/ebpf/asm";
import { attachRawTracepoint } from "@denobpf/ebpf/link";
import { createMap } from "@denobpf/ebpf/map";
import { interrupted } from "@denobpf/ebpf/probe";
import { loadProgram } from "@denobpf/ebpf/program";

/** Waits `ms`, or less if `signal` aborts first. */
function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    };
    const timer = setTimeout(done, ms);
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Runs the probe for `seconds` (or until `signal` aborts), printing the top
 * `top` process names each second and once more at the end if stopped early.
 */
export async function countSyscalls(
  seconds = 3,
  top = 8,
  signal?: AbortSignal,
): Promise<Map<string, bigint>> {
  using counts = createMap({
    type: "hash",
    keySize: 16,
    valueSize: 8,
    maxEntries: 4096,
    name: "counts",
  });
  const code = new Assembler()
    .mov64(R1, R10).add64(R1, -16) //         char comm[16] on the stack
    .mov64(R2, 16)
    .call("get_current_comm")
    .loadMapPtr(R1, "counts")
    .mov64(R2, R10).add64(R2, -16)
    .call("map_lookup_elem")
    .jeq(R0, 0, "first")
    .mov64(R1, 1)
    .atomicAdd64(R0, 0, R1) //                 counts[comm] += 1
    .ja("out")
    .label("first")
    .stdw(R10, -24, 1) //                      counts[comm] = 1
    .loadMapPtr(R1, "counts")
    .mov64(R2, R10).add64(R2, -16)
    .mov64(R3, R10).add64(R3, -24)
    .mov64(R4, 1) //                           BPF_NOEXIST (another CPU may race us)
    .call("map_update_elem")
    .label("out")
    .mov64(R0, 0)
    .exit();
  using prog = loadProgram({
    type: "raw_tracepoint",
    name: "count_syscalls",
    instructions: code,
    maps: { counts },
  });
  using _link = attachRawTracepoint(prog, { name: "sys_enter" });
  const dec = new TextDecoder();
  const snapshot = () => {
    const m = new Map<string, bigint>();
    for (const [k, v] of counts.entries()) {
      const end = k.indexOf(0);
      const name = dec.decode(k.subarray(0, end < 0 ? 16 : end));
      m.set(name, new DataView(v.buffer, v.byteOffset).getBigUint64(0, true));
    }
    return m;
  };
  const print = (when: string) => {
    const rows = [...snapshot()].sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : 0));
    console.log(`${when}: ${rows.length} processes made system calls; the busiest:`);
    for (const [name, n] of rows.slice(0, top)) console.log(`  ${name.padEnd(16)} ${n}`);
  };
  console.log("attached; Ctrl-C to stop early");
  const start = performance.now();
  for (let s = 1; s <= seconds; s++) {
    await sleep(1000, signal);
    if (signal?.aborted) {
      print(`stopped after ${((performance.now() - start) / 1000).toFixed(1)}s`);
      break;
    }
    print(`after ${s}s`);
  }
  return snapshot();
}

if (import.meta.main) {
  const seconds = Number(Deno.args[0] ?? 3);
  using stop = interrupted();
  console.log(`counting system calls per process for ${seconds}s (raw tracepoint sys_enter)…`);
  await countSyscalls(seconds, 8, stop);
  console.log("detached: program, link and map closed.");
}
