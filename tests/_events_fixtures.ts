// Programs that write known records into ring buffers and perf event
// arrays, driven by BPF_PROG_TEST_RUN (socket filters: skb->len is the
// length of the test packet less its 14-byte Ethernet header, so each run
// emits a record we can predict).

import assert from "node:assert/strict";
import * as asm from "../src/asm/builders.ts";
import { R0, R1, R10, R2, R3, R4, R5, R6 } from "../src/asm/register.ts";
import { bpf, FD } from "../src/sys/mod.ts";
import { program } from "./program_fixtures.ts";

/** The constant in the second word of every record. */
export const MARK = 0xabcdef;

function load(insns: Uint8Array): FD {
  const log = new Uint8Array(65536);
  try {
    return new FD(
      bpf("PROG_LOAD", {
        progType: 1, // socket_filter
        insnCnt: insns.length / 8,
        insns,
        license: new TextEncoder().encode("GPL\0"),
      }),
      "events test program",
    );
  } catch (e) {
    bpf("PROG_LOAD", {
      progType: 1,
      insnCnt: insns.length / 8,
      insns,
      license: new TextEncoder().encode("GPL\0"),
      logLevel: 1,
      logSize: log.length,
      logBuf: log,
    });
    throw e;
  }
}

/** r6 = ctx; the record `{ u64 skb->len, u64 MARK }` at r10 - 16. */
const recordOnStack = [
  asm.mov64(R6, R1),
  asm.ldxw(R0, R6, 0),
  asm.stxdw(R10, -16, R0),
  asm.mov64(R1, MARK),
  asm.stxdw(R10, -8, R1),
];

/** A socket filter that writes `{ u64 skb->len, u64 MARK }` to a ring buffer (bpf_ringbuf_output). */
export function ringbufWriter(mapFd: number, flags = 0): FD {
  return load(program(
    ...recordOnStack,
    asm.loadMapPtr(R1, mapFd),
    asm.mov64(R2, R10),
    asm.add64(R2, -16),
    asm.mov64(R3, 16),
    asm.mov64(R4, flags),
    asm.call("ringbuf_output"),
    asm.mov64(R0, 0),
    asm.exit(),
  ));
}

/** A socket filter that writes `{ u64 skb->len, u64 MARK }` with bpf_perf_event_output on the current CPU. */
export function perfWriter(mapFd: number): FD {
  return load(program(
    ...recordOnStack,
    asm.mov64(R1, R6),
    asm.loadMapPtr(R2, mapFd),
    asm.mov32(R3, -1), // w3 = 0xffffffff: BPF_F_CURRENT_CPU
    asm.mov64(R4, R10),
    asm.add64(R4, -16),
    asm.mov64(R5, 16),
    asm.call("perf_event_output"),
    asm.mov64(R0, 0),
    asm.exit(),
  ));
}

/** Runs `prog` once on a packet of `len` bytes (≥ 14). */
export function runOnce(prog: FD, len: number, repeat = 1): number {
  const data = new Uint8Array(len);
  const attr = { progFd: prog.value, dataIn: data, dataSizeIn: len, repeat, retval: 0 };
  bpf("PROG_TEST_RUN", attr);
  return attr.retval;
}

/** Decodes a record written by the programs above. */
export function decodeRecord(rec: Uint8Array): { len: number; mark: number } {
  const dv = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
  return { len: Number(dv.getBigUint64(0, true)), mark: Number(dv.getBigUint64(8, true)) };
}

/**
 * Runs `fn` with this thread pinned to the CPU it is on (sched_setaffinity),
 * then restores its CPU mask: BPF_F_CURRENT_CPU output of a test run goes to
 * the CPU the thread runs on, and a lost-sample record reaches a CPU's ring
 * only with that CPU's next write.
 */
export function onOneCpu<T>(fn: () => T): T {
  const lib = Deno.dlopen(
    "libc.so.6",
    {
      sched_getcpu: { parameters: [], result: "i32" },
      sched_getaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
      sched_setaffinity: { parameters: ["i32", "usize", "buffer"], result: "i32" },
    } as const,
  );
  const old = new Uint8Array(128);
  const cpu = lib.symbols.sched_getcpu();
  const one = new Uint8Array(128);
  one[cpu >> 3] = 1 << (cpu & 7);
  try {
    assert.equal(lib.symbols.sched_getaffinity(0, 128n, old), 0, "sched_getaffinity");
    assert.equal(lib.symbols.sched_setaffinity(0, 128n, one), 0, `sched_setaffinity to CPU ${cpu}`);
    try {
      return fn();
    } finally {
      lib.symbols.sched_setaffinity(0, 128n, old);
    }
  } finally {
    lib.close();
  }
}
