// Fixtures for the link tests: an array map of one u64 counter made with
// raw BPF_MAP_CREATE, and programs (src/asm) that count their runs into it.

import * as asm from "../src/asm/builders.ts";
import { R0, R1, R10, R2 } from "../src/asm/register.ts";
import { bpf } from "../src/sys/bpf.ts";
import { FD } from "../src/sys/fd.ts";
import { loadProgram } from "../src/program/mod.ts";
import type { Program, ProgramSpec } from "../src/program/mod.ts";
import { program } from "./program_fixtures.ts";

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

/** Options of {@linkcode countingInsns}. */
export interface CountingOptions {
  /** The program's return value (default 0). */
  ret?: number;
  /** Count only in this process (bpf_get_current_pid_tgid() >> 32). */
  pid?: number;
  /**
   * Count only on this thread (the low 32 bits): exact counts of getpid
   * calls need it, as Deno's other threads call getpid now and then.
   */
  tid?: number;
}

/** `counter[0] += 1; return ret`, only in `pid` or on `tid` when given. */
export function countingInsns(mapFd: number, options: CountingOptions = {}): Uint8Array {
  const { ret = 0, pid, tid } = options;
  const filter = pid !== undefined
    ? [asm.call("get_current_pid_tgid"), asm.rsh64(R0, 32), asm.jne(R0, pid, "out")]
    : tid !== undefined
    ? [asm.call("get_current_pid_tgid"), asm.mov32(R0, R0), asm.jne(R0, tid, "out")]
    : [];
  return program(
    ...filter,
    asm.stw(R10, -4, 0),
    asm.mov64(R2, R10),
    asm.add64(R2, -4),
    asm.loadMapPtr(R1, mapFd),
    asm.call("map_lookup_elem"),
    asm.jeq(R0, 0, "out"),
    asm.mov64(R1, 1),
    asm.atomicAdd64(R0, 0, R1),
    asm.mov64(R0, ret).withSymbol("out"),
    asm.exit(),
  );
}

/** Loads a program that counts its runs into `counter`. */
export function countingProgram(
  counter: Counter,
  spec: Omit<ProgramSpec, "instructions">,
  options: CountingOptions = {},
): Program {
  return loadProgram({ ...spec, instructions: countingInsns(counter.fd.value, options) });
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
