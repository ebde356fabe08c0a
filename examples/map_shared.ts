/**
 * One map shared by two programs: `count` adds one to a counter in an array
 * map each time it runs, `report` reads the counter and returns it. Both run
 * with BPF_PROG_TEST_RUN; the script prints what `report` sees and what the
 * map holds.
 *
 *     deno run --allow-ffi examples/map_shared.ts
 *
 * @module
 */

import { Assembler } from "@denobpf/ebpf/asm";
import { R0, R1, R10, R2 } from "@denobpf/ebpf/asm";
import { createMap } from "@denobpf/ebpf/map";
import { loadProgram } from "@denobpf/ebpf/program";

using counters = createMap({
  type: "array",
  keySize: 4,
  valueSize: 8,
  maxEntries: 1,
  name: "counters",
});

// r0 = &counters[0] (or 0): the map is named here and patched in at load.
const lookupCounter = (a: Assembler) =>
  a.stw(R10, -4, 0) //                key = 0, on the stack
    .mov64(R2, R10)
    .add64(R2, -4) //                 r2 = &key
    .loadMapPtr(R1, "counters") //    r1 = the map
    .call("map_lookup_elem");

const count = lookupCounter(new Assembler())
  .jeq(R0, 0, "out")
  .mov64(R1, 1)
  .atomicAdd64(R0, 0, R1) //          lock *(u64 *)r0 += 1
  .label("out")
  .mov64(R0, 0)
  .exit();

const report = lookupCounter(new Assembler())
  .jeq(R0, 0, "none")
  .ldxdw(R0, R0, 0) //                return the counter
  .exit()
  .label("none")
  .mov64(R0, 0)
  .exit();

const maps = { counters };
using counter = loadProgram({ type: "socket_filter", name: "count", instructions: count, maps });
using reader = loadProgram({ type: "socket_filter", name: "report", instructions: report, maps });

const packet = new Uint8Array(64);
packet[12] = 0x08; // EtherType IPv4
packet[14] = 0x45;

for (let i = 0; i < 3; i++) await counter.testRun({ data: packet });
await counter.testRun({ data: packet, repeat: 1000 });
const { retval } = await reader.testRun({ data: packet });
console.log(`'report' returned ${retval} after 1,003 runs of 'count'`);

const value = counters.lookup(new Uint8Array(4))!;
console.log(
  `counters[0] read from user space: ${new DataView(value.buffer).getBigUint64(0, true)}`,
);
console.log(
  `map id ${counters.info().id}; ids used by 'count': ${counter.info().mapIds}, ` +
    `by 'report': ${reader.info().mapIds}`,
);
