// The denobpf side of bench/attach_tracepoint.ts, one whole process: create
// the counter map, load the tracepoint program, attach it to
// syscalls/sys_enter_getpid, call getpid until the first event shows, detach.

import { attachTracepoint } from "../src/link/tracepoint.ts";
import { loadProgram } from "../src/program/load.ts";
import { bpf } from "../src/sys/bpf.ts";
import { FD } from "../src/sys/fd.ts";
import { libc } from "../src/sys/_libc.ts";

function insn(code: number, dst: number, src: number, off: number, imm: number): number[] {
  return [
    code,
    (src << 4) | dst,
    off & 0xff,
    (off >> 8) & 0xff,
    ...new Uint8Array(new Int32Array([imm]).buffer),
  ];
}

using map = new FD(
  bpf("MAP_CREATE", { mapType: 2, keySize: 4, valueSize: 8, maxEntries: 1, mapName: "counter" }),
  "counter",
);
// *(u32 *)(r10 - 4) = 0; r2 = r10 - 4; r1 = map; r0 = lookup(); if r0 { *r0 += 1 }; return 0
const code = new Uint8Array([
  ...insn(0x62, 10, 0, -4, 0),
  ...insn(0xbf, 2, 10, 0, 0),
  ...insn(0x07, 2, 0, 0, -4),
  ...insn(0x18, 1, 1, 0, map.value),
  ...insn(0x00, 0, 0, 0, 0),
  ...insn(0x85, 0, 0, 0, 1),
  ...insn(0x15, 0, 0, 2, 0),
  ...insn(0xb7, 1, 0, 0, 1),
  ...insn(0xdb, 0, 1, 0, 0),
  ...insn(0xb7, 0, 0, 0, 0),
  ...insn(0x95, 0, 0, 0, 0),
]);
using prog = loadProgram({ type: "tracepoint", instructions: code, name: "count_getpid" });
const link = attachTracepoint(prog, { group: "syscalls", name: "sys_enter_getpid" });
const key = new Uint8Array(4);
const value = new BigUint64Array(1);
const valueBytes = new Uint8Array(value.buffer);
while (value[0] === 0n) {
  libc().getpid();
  bpf("MAP_LOOKUP_ELEM", { mapFd: map.value, key, value: valueBytes });
}
link.close();
