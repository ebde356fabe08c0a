// Fixtures for the link tests: a few hand-encoded eBPF instructions
// (`struct bpf_insn` of linux/bpf.h), an array map of one u64 counter made
// with raw BPF_MAP_CREATE, and programs that count their runs into it.

import { bpf } from "../src/sys/bpf.ts";
import { FD } from "../src/sys/fd.ts";
import { loadProgram } from "../src/program/mod.ts";
import type { Program, ProgramSpec } from "../src/program/mod.ts";

function raw(code: number, dst: number, src: number, off: number, imm: number): Uint8Array {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  b[0] = code;
  b[1] = ((src & 0xf) << 4) | (dst & 0xf);
  dv.setInt16(2, off, true);
  dv.setInt32(4, imm, true);
  return b;
}

/** Concatenates instructions. */
export function insns(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

export const movImm = (d: number, imm: number) => raw(0xb7, d, 0, 0, imm);
export const movReg = (d: number, s: number) => raw(0xbf, d, s, 0, 0);
export const addImm = (d: number, imm: number) => raw(0x07, d, 0, 0, imm);
export const rshImm = (d: number, imm: number) => raw(0x77, d, 0, 0, imm);
export const stW = (d: number, off: number, imm: number) => raw(0x62, d, 0, off, imm);
export const stDW = (d: number, off: number, imm: number) => raw(0x7a, d, 0, off, imm);
export const ldxDW = (d: number, s: number, off: number) => raw(0x79, d, s, off, 0);
export const ldxW = (d: number, s: number, off: number) => raw(0x61, d, s, off, 0);
export const stxDW = (d: number, off: number, s: number) => raw(0x7b, d, s, off, 0);
export const atomicAddDW = (d: number, off: number, s: number) => raw(0xdb, d, s, off, 0);
export const jeqImm = (d: number, imm: number, off: number) => raw(0x15, d, 0, off, imm);
export const jneImm = (d: number, imm: number, off: number) => raw(0x55, d, 0, off, imm);
export const call = (id: number) => raw(0x85, 0, 0, 0, id);
export const exit = () => raw(0x95, 0, 0, 0, 0);
export const ldMapFd = (d: number, fd: number) => insns(raw(0x18, d, 1, 0, fd), raw(0, 0, 0, 0, 0));
/** dst = 64-bit immediate (lddw). */
export const ldImm64 = (d: number, v: bigint) =>
  insns(
    raw(0x18, d, 0, 0, Number(BigInt.asIntN(32, v))),
    raw(0, 0, 0, 0, Number(BigInt.asIntN(32, v >> 32n))),
  );

/** An array map with one u64 counter. */
export class Counter implements Disposable {
  readonly fd: FD;
  constructor(name = "counter") {
    this.fd = new FD(
      bpf("MAP_CREATE", { mapType: 2, keySize: 4, valueSize: 8, maxEntries: 1, mapName: name }),
      "counter map",
    );
  }
  /** The counter's value. */
  get value(): bigint {
    const key = new Uint8Array(4);
    const value = new BigUint64Array(1);
    bpf("MAP_LOOKUP_ELEM", { mapFd: this.fd.value, key, value: new Uint8Array(value.buffer) });
    return value[0];
  }
  /** Sets the counter to 0. */
  reset(): void {
    bpf("MAP_UPDATE_ELEM", {
      mapFd: this.fd.value,
      key: new Uint8Array(4),
      value: new Uint8Array(8),
    });
  }
  close(): void {
    this.fd.close();
  }
  [Symbol.dispose](): void {
    this.close();
  }
}

/**
 * `counter[0] += 1; return ret` — only when the current process is `pid`,
 * if given (bpf_get_current_pid_tgid() >> 32).
 */
export function countingInsns(mapFd: number, ret = 0, pid?: number): Uint8Array {
  const filter = pid === undefined ? [] : [
    call(14), // bpf_get_current_pid_tgid
    rshImm(0, 32),
    jneImm(0, pid, 9), // to the final "r0 = ret"
  ];
  return insns(
    ...filter,
    stW(10, -4, 0),
    movReg(2, 10),
    addImm(2, -4),
    ldMapFd(1, mapFd),
    call(1), // bpf_map_lookup_elem
    jeqImm(0, 0, 2),
    movImm(1, 1),
    atomicAddDW(0, 0, 1),
    movImm(0, ret),
    exit(),
  );
}

/** Loads a program that counts its runs into `counter`. */
export function countingProgram(
  counter: Counter,
  spec: Omit<ProgramSpec, "instructions">,
  options: { ret?: number; pid?: number } = {},
): Program {
  return loadProgram({
    ...spec,
    instructions: countingInsns(counter.fd.value, options.ret ?? 0, options.pid),
  });
}

/** Mounts tracefs at /sys/kernel/tracing unless some tracefs is mounted. */
export async function ensureTracefs(): Promise<void> {
  const text = await Deno.readTextFile("/proc/self/mountinfo");
  if (/ - tracefs /.test(text)) return;
  await run(["mount", "-t", "tracefs", "tracefs", "/sys/kernel/tracing"]);
}

/** Runs a command; throws with its output when it fails. */
export async function run(cmd: string[], options: { allowFail?: boolean } = {}): Promise<string> {
  const out = await new Deno.Command(cmd[0], {
    args: cmd.slice(1),
    stdout: "piped",
    stderr: "piped",
  })
    .output();
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  if (!out.success && !options.allowFail) {
    throw new Error(`${cmd.join(" ")} failed (${out.code}): ${text}`);
  }
  return text;
}

/** Ids of the links and programs bpftool lists. */
export async function bpftoolIds(): Promise<{ links: Set<number>; progs: Set<number> }> {
  const links = JSON.parse(await run(["bpftool", "link", "list", "-j"])) as { id: number }[];
  const progs = JSON.parse(await run(["bpftool", "prog", "list", "-j"])) as { id: number }[];
  return { links: new Set(links.map((l) => l.id)), progs: new Set(progs.map((p) => p.id)) };
}

/** Waits until `cond()` or `ms` pass. */
export async function waitFor(cond: () => boolean, ms = 2000): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}
