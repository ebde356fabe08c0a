// Link.closeAsync: the kernel's part of closing a bpf_link on a worker
// thread (detaching a tracepoint waits for RCU grace periods), so that a
// script's links close at once. Closed that way, every link is detached:
// its program no longer runs, and its descriptors are gone.

import assert from "node:assert/strict";
import { Assembler } from "../src/asm/assembler.ts";
import { R0, R1, R10, R2, R3, R4 } from "../src/asm/register.ts";
import { attachTracepoint } from "../src/link/tracepoint.ts";
import { createMap } from "../src/map/map.ts";
import { loadProgram } from "../src/program/load.ts";
import { openFdCount } from "../src/sys/fd.ts";

const libc = Deno.dlopen("libc.so.6", { getppid: { parameters: [], result: "i32" } });

Deno.test("link: closeAsync of several tracepoint links at once detaches them all", async () => {
  const before = openFdCount();
  using seen = createMap({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 1, name: "seen" });
  // seen[0] = ktime_get_ns() on every hit
  using prog = loadProgram({
    type: "tracepoint",
    name: "close_async",
    maps: { seen },
    instructions: new Assembler()
      .call("ktime_get_ns").stxdw(R10, -16, R0).stw(R10, -4, 0)
      .loadMapPtr(R1, "seen").mov64(R2, R10).add64(R2, -4).mov64(R3, R10).add64(R3, -16)
      .mov64(R4, 0).call("map_update_elem").mov64(R0, 0).exit(),
  });
  const key = new Uint8Array(4);
  const links = ["sys_enter_getppid", "sys_exit_getppid"].map((name) =>
    attachTracepoint(prog, { group: "syscalls", name })
  );
  libc.symbols.getppid();
  assert.ok(seen.lookup(key), "the attached program ran");

  await Promise.all(links.map((l) => l.closeAsync()));
  assert.deepEqual(links.map((l) => l.closed), [true, true]);
  await links[0].closeAsync(); // idempotent
  seen.delete(key);
  for (let i = 0; i < 100; i++) libc.symbols.getppid();
  assert.equal(seen.lookup(key), undefined, "a closed link's program no longer runs");
  prog.close();
  seen.close();
  assert.equal(openFdCount(), before, "every descriptor is closed");
});
