// The raw syscalls the probes make, counted, and the few instructions they
// need, encoded by hand. Probes deliberately sit on the syscall layer (no
// map/program objects, no validation) the way bpftool's and libbpf's probes
// do, so that a probe tests the kernel and nothing else.

import { AluOp, Class, JmpOp, OP_CALL, OP_EXIT, Source } from "../sys/abi.ts";
import {
  BpfCmd,
  bpfRaw,
  bpfTry,
  encodeAttr,
  type LinkCreateAttr,
  type MapCreateAttr,
  type ProgLoadAttr,
} from "../sys/bpf.ts";
import { closeRawFd } from "../sys/fd.ts";
import { retryOnEagain } from "../sys/eagain.ts";

let syscalls = 0;

/**
 * Runs a BPF_PROG_LOAD (`load` returns the fd or -errno) again while it fails
 * with EAGAIN (src/sys/eagain.ts): a pending signal says nothing about the
 * kernel, and a probe's "no" is cached for the whole process.
 */
function progLoadRetrying(load: () => number): number {
  return retryOnEagain(() => {
    syscalls++;
    return load();
  });
}

/** How many bpf(2) calls the probes have made in this process. */
export function probeSyscallCount(): number {
  return syscalls;
}

/** BPF_MAP_CREATE; returns the fd (closed by the caller) or -errno. */
export function mapCreate(attr: MapCreateAttr): number {
  syscalls++;
  return bpfTry("MAP_CREATE", attr);
}

/** The outcome of a probe program load. */
export interface LoadOutcome {
  /** 0 if the program loaded (its fd is already closed), else the errno. */
  errno: number;
  /** The verifier log (empty unless a log was asked for). */
  log: string;
}

const GPL = new TextEncoder().encode("GPL\0");
const decoder = new TextDecoder();

/**
 * BPF_PROG_LOAD of `insns` with license GPL. With `logSize` > 0 the
 * verifier log (level 1) is captured. The program is closed at once.
 */
export function progLoad(
  insns: Uint8Array,
  attr: Omit<ProgLoadAttr, "insns" | "insnCnt" | "license">,
  logSize = 0,
): LoadOutcome {
  const log = logSize > 0 ? new Uint8Array(logSize) : undefined;
  const full: ProgLoadAttr = {
    ...attr,
    insns,
    insnCnt: insns.byteLength / 8,
    license: GPL,
  };
  if (log) {
    full.logBuf = log;
    full.logSize = logSize;
    full.logLevel = 1;
  }
  const r = progLoadRetrying(() => bpfTry("PROG_LOAD", full));
  if (r >= 0) closeRawFd(r);
  let text = "";
  if (log) {
    const end = log.indexOf(0);
    text = decoder.decode(end < 0 ? log : log.subarray(0, end));
  }
  return { errno: r >= 0 ? 0 : -r, log: text };
}

/**
 * A load that is repeated with small changes to `insns` (the helper probes:
 * thousands of loads that differ in one immediate). The attributes are
 * encoded once; `insns` and the log buffer are reused, so the caller may
 * patch `insns` between calls.
 */
export function reusableLoad(
  insns: Uint8Array,
  attr: Omit<ProgLoadAttr, "insns" | "insnCnt" | "license">,
  logSize: number,
): () => LoadOutcome {
  const log = new Uint8Array(logSize);
  const { buf, size, keep } = encodeAttr("PROG_LOAD", {
    ...attr,
    insns,
    insnCnt: insns.byteLength / 8,
    license: GPL,
    logBuf: log,
    logSize,
    logLevel: 1,
  });
  return () => {
    void keep; // holds the buffers whose addresses `buf` carries, as long as this closure lives
    log[0] = 0;
    const r = progLoadRetrying(() => bpfRaw(BpfCmd.PROG_LOAD, buf, size));
    if (r >= 0) {
      closeRawFd(r);
      return { errno: 0, log: "" };
    }
    const end = log.indexOf(0);
    return { errno: -r, log: decoder.decode(log.subarray(0, end < 0 ? logSize : end)) };
  };
}

/** Loads a program and returns its fd (the caller closes it), or -errno. */
export function progLoadFd(
  insns: Uint8Array,
  attr: Omit<ProgLoadAttr, "insns" | "insnCnt" | "license">,
): number {
  const full = { ...attr, insns, insnCnt: insns.byteLength / 8, license: GPL };
  return progLoadRetrying(() => bpfTry("PROG_LOAD", full));
}

/** BPF_LINK_CREATE; a link that got created is closed at once. Returns 0 or the errno. */
export function linkCreate(attr: LinkCreateAttr): number {
  syscalls++;
  const r = bpfTry("LINK_CREATE", attr);
  if (r >= 0) {
    closeRawFd(r);
    return 0;
  }
  return -r;
}

/** Any other bpf(2) command through the counter; returns the result or -errno. */
export function counted(run: () => number): number {
  syscalls++;
  return run();
}

// ---- instructions -------------------------------------------------------

/** One instruction: opcode, registers, offset, immediate. */
export function insn(op: number, dst: number, src: number, off: number, imm: number): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  b[0] = op;
  b[1] = ((src & 0xf) << 4) | (dst & 0xf);
  dv.setInt16(2, off, true);
  dv.setInt32(4, imm, true);
  return b;
}

/** Concatenates instructions into one buffer. */
export function program(...insns: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(insns.length * 8);
  insns.forEach((x, i) => out.set(x, i * 8));
  return out;
}

// Opcodes: class | op | source, from the BPF instruction set document.
/** `rD = imm` (BPF_ALU64 | BPF_MOV | BPF_K). */
export const movImm = (dst: number, imm: number): Uint8Array =>
  insn(Class.ALU64 | AluOp.MOV | Source.K, dst, 0, 0, imm);
/** `rD -= imm` (BPF_ALU64 | BPF_SUB | BPF_K). */
export const subImm = (dst: number, imm: number): Uint8Array =>
  insn(Class.ALU64 | AluOp.SUB | Source.K, dst, 0, 0, imm);
/** `if rD != imm goto +off` (BPF_JMP | BPF_JNE | BPF_K). */
export const jneImm = (dst: number, imm: number, off: number): Uint8Array =>
  insn(Class.JMP | JmpOp.JNE | Source.K, dst, 0, off, imm);
/** `if rD == imm goto +off` (BPF_JMP | BPF_JEQ | BPF_K). */
export const jeqImm = (dst: number, imm: number, off: number): Uint8Array =>
  insn(Class.JMP | JmpOp.JEQ | Source.K, dst, 0, off, imm);
/** `if rD < imm goto +off`, unsigned (BPF_JMP | BPF_JLT | BPF_K; ISA v2). */
export const jltImm = (dst: number, imm: number, off: number): Uint8Array =>
  insn(Class.JMP | JmpOp.JLT | Source.K, dst, 0, off, imm);
/** `if wD < imm goto +off` (BPF_JMP32 | BPF_JLT | BPF_K; ISA v3). */
export const jlt32Imm = (dst: number, imm: number, off: number): Uint8Array =>
  insn(Class.JMP32 | JmpOp.JLT | Source.K, dst, 0, off, imm);
/** `gotol +imm` (BPF_JMP32 | BPF_JA, 32-bit offset in imm; ISA v4). */
export const gotol = (imm: number): Uint8Array => insn(Class.JMP32 | JmpOp.JA, 0, 0, 0, imm);
/** `call helper#id` (BPF_JMP | BPF_CALL). */
export const call = (id: number): Uint8Array => insn(OP_CALL, 0, 0, 0, id);
/** `exit` (BPF_JMP | BPF_EXIT). */
export const exit = (): Uint8Array => insn(OP_EXIT, 0, 0, 0, 0);

/** `r0 = 0; exit`: the program every type probe loads. */
export const RETURN_ZERO: Uint8Array = program(movImm(0, 0), exit());
