/**
 * Load time of a 1,000-instruction program: denobpf's `loadProgram` against
 * the same BPF_PROG_LOAD issued from C (bench/program_load.c, compiled here
 * with gcc), in the same run, alternating rounds. Prints the median per
 * load (load + close) of each and the ratio; then the same for a
 * 2-instruction program, where the library's own overhead shows.
 *
 *     deno run -A bench/program_load.ts [loads per round] [rounds]
 *
 * @module
 */

import { loadProgram } from "../src/program/mod.ts";

const LOADS = Number(Deno.args[0] ?? 300);
const ROUNDS = Number(Deno.args[1] ?? 7);

function compile(): string {
  const src = new URL("./program_load.c", import.meta.url).pathname;
  const out = `${Deno.makeTempDirSync({ prefix: "denobpf-bench-" })}/program_load`;
  const r = new Deno.Command("gcc", { args: ["-O2", "-o", out, src] }).outputSync();
  if (!r.success) throw new Error(`gcc failed:\n${new TextDecoder().decode(r.stderr)}`);
  return out;
}

// r0 = 0; (n − 2) × r0 += 1; exit
function instructions(n: number): Uint8Array {
  const b = new Uint8Array(n * 8);
  b[0] = 0xb7;
  for (let i = 1; i < n - 1; i++) {
    b[i * 8] = 0x07;
    b[i * 8 + 4] = 1;
  }
  b[(n - 1) * 8] = 0x95;
  return b;
}

function cRound(bin: string, n: number): number {
  const r = new Deno.Command(bin, { args: [String(LOADS), "1", String(n)] }).outputSync();
  if (!r.success) throw new Error(new TextDecoder().decode(r.stderr));
  return Number(new TextDecoder().decode(r.stdout).trim().split(/\s+/)[2]);
}

function tsRound(insns: Uint8Array): number {
  const t0 = performance.now();
  for (let i = 0; i < LOADS; i++) {
    loadProgram({ type: "socket_filter", instructions: insns }).close();
  }
  return ((performance.now() - t0) * 1e6) / LOADS;
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const fmt = (ns: number) => `${(ns / 1000).toFixed(1)} µs`;

function compare(bin: string, n: number): void {
  const insns = instructions(n);
  tsRound(insns); // warm up the JIT and the FFI binding
  cRound(bin, n);
  const c: number[] = [];
  const ts: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    c.push(cRound(bin, n));
    ts.push(tsRound(insns));
  }
  console.log(
    `BPF_PROG_LOAD + close, ${n}-instruction socket filter, ${LOADS} loads × ${ROUNDS} rounds`,
  );
  console.log(`  C (syscall)      median ${fmt(median(c))}  rounds ${c.map(fmt).join(", ")}`);
  console.log(`  denobpf          median ${fmt(median(ts))}  rounds ${ts.map(fmt).join(", ")}`);
  console.log(`  ratio denobpf/C  ${(median(ts) / median(c)).toFixed(2)}`);
}

const bin = compile();
try {
  compare(bin, 1000);
  compare(bin, 2);
} finally {
  Deno.removeSync(bin.replace(/\/[^/]+$/, ""), { recursive: true });
}
