/**
 * A uprobe on libc's getpid, counting calls by process — the library form of
 *
 *     bpftrace -e 'uprobe:libc:getpid { @[pid, comm] = count(); }'
 *
 * This script calls getpid 1000 times itself (through FFI), and, when
 * allowed to run programs (--allow-run), runs `ps` (which calls getpid too),
 * so both show up.
 *
 *     deno run --allow-ffi examples/probe_getpid_uprobe.ts
 *
 * @module
 */

import { probe, uprobe } from "@denobpf/ebpf/probe";

/** Counts libc getpid calls by process while calling it `n` times; returns our count. */
export async function countGetpid(n = 1000): Promise<number> {
  await using calls = await probe(uprobe("c", "getpid")).count({ by: ["pid", "comm"] });
  const libc = Deno.dlopen("libc.so.6", { getpid: { parameters: [], result: "i32" } });
  try {
    for (let i = 0; i < n; i++) libc.symbols.getpid();
  } finally {
    libc.close();
  }
  if (Deno.permissions.querySync({ name: "run", command: "ps" }).state === "granted") {
    await new Deno.Command("ps", { args: ["-o", "pid="], stdout: "null" }).output().catch(() => {});
  }
  const counts = await calls.runFor(0.1);
  calls.print({ top: 5 });
  let ours = 0;
  for (const [[pid], count] of counts) if (pid === Deno.pid) ours += count;
  console.log(`this process (pid ${Deno.pid}) called getpid ${ours} times`);
  return ours;
}

if (import.meta.main) {
  await countGetpid();
}
