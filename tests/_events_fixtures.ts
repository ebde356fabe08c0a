// Programs that write known records into ring buffers and perf event
// arrays, driven by BPF_PROG_TEST_RUN (socket filters: skb->len is the
// length of the test packet less its 14-byte Ethernet header, so each run
// emits a record we can predict).

import { bpf, FD } from "../src/sys/mod.ts";
import { call, exit, ldMapFd, ldxW, movImm, movReg, program, stxDW } from "./program_fixtures.ts";

function raw(code: number, dst: number, src: number, off: number, imm: number): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  b[0] = code;
  b[1] = ((src & 0xf) << 4) | (dst & 0xf);
  dv.setInt16(2, off, true);
  dv.setInt32(4, imm, true);
  return b;
}

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

/** A socket filter that writes `{ u64 skb->len, u64 MARK }` to a ring buffer (bpf_ringbuf_output). */
export function ringbufWriter(mapFd: number, flags = 0): FD {
  return load(program(
    movReg(6, 1),
    ldxW(0, 6, 0),
    stxDW(10, -16, 0),
    movImm(1, MARK),
    stxDW(10, -8, 1),
    ldMapFd(1, mapFd),
    movReg(2, 10),
    raw(0x07, 2, 0, 0, -16),
    movImm(3, 16),
    movImm(4, flags),
    call(130), // bpf_ringbuf_output
    movImm(0, 0),
    exit(),
  ));
}

/** A socket filter that writes `{ u64 skb->len, u64 MARK }` with bpf_perf_event_output on the current CPU. */
export function perfWriter(mapFd: number): FD {
  return load(program(
    movReg(6, 1),
    ldxW(0, 6, 0),
    stxDW(10, -16, 0),
    movImm(1, MARK),
    stxDW(10, -8, 1),
    movReg(1, 6),
    ldMapFd(2, mapFd),
    raw(0xb4, 3, 0, 0, -1), // w3 = 0xffffffff: BPF_F_CURRENT_CPU
    movReg(4, 10),
    raw(0x07, 4, 0, 0, -16),
    movImm(5, 16),
    call(25), // bpf_perf_event_output
    movImm(0, 0),
    exit(),
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
