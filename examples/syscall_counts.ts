/**
 * A scripted probe: count system calls per process name for a few seconds,
 * the way `bpftrace -e 'tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }'`
 * does — a raw tracepoint program assembled in TypeScript, a hash map keyed
 * by `comm`, live counts printed every second, then a clean detach.
 *
 *     deno run -A examples/syscall_counts.ts [seconds=3]
 *
 * @module
 */

import { Assembler, R0, R1, R10, R2, R3, R4 } from "@denobpf/ebpf/asm";
import { attachRawTracepoint } from "@denobpf/ebpf/link";
import { createMap } from "@denobpf/ebpf/map";
import { loadProgram } from "@denobpf/ebpf/program";

/** Runs the probe for `seconds`, printing the top `top` process names each second. */
export async function countSyscalls(seconds = 3, top = 8): Promise<Map<string, bigint>> {
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
  for (let s = 1; s <= seconds; s++) {
    await new Promise((r) => setTimeout(r, 1000));
    const rows = [...snapshot()].sort((a, b) => (b[1] > a[1] ? 1 : b[1] < a[1] ? -1 : 0));
    console.log(`after ${s}s: ${rows.length} processes made system calls; the busiest:`);
    for (const [name, n] of rows.slice(0, top)) console.log(`  ${name.padEnd(16)} ${n}`);
  }
  return snapshot();
}

if (import.meta.main) {
  const seconds = Number(Deno.args[0] ?? 3);
  console.log(`counting system calls per process for ${seconds}s (raw tracepoint sys_enter)…`);
  await countSyscalls(seconds);
  console.log("detached: program, link and map closed.");
}
