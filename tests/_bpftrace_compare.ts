// Running `denobpf trace` next to the live bpftrace: the same arguments
// through both, and bpftrace's error report for a program it refuses.

import assert from "node:assert/strict";
import { haveProgramType } from "../src/features/mod.ts";
import { requireTool, runTimed as run, type TimedRun as Run } from "./_helpers.ts";
import { runCli } from "./_cli_helpers.ts";

/** Runs the same arguments through `bpftrace` and `deno run -A cli.ts trace` (bpftrace's RLIMIT warning dropped). */
export async function both(args: string[]): Promise<[Run, Run]> {
  requireTool("bpftrace");
  const theirs = await run("bpftrace", args);
  const ours = await run(Deno.execPath(), ["run", "-A", "cli.ts", "trace", ...args]);
  theirs.stderr = theirs.stderr.split("\n").filter((l) => !l.includes("RLIMIT_MEMLOCK")).join("\n");
  return [theirs, ours];
}

/**
 * {@linkcode both} for a program both refuse (its report, its exit code and
 * an empty stdout are what count): `trace` runs in this process (runCli), as
 * a `deno run` is a Deno start, 5-20 s under the VM stage's TCG.
 */
export async function bothRefuse(args: string[]): Promise<[Run, Run]> {
  requireTool("bpftrace");
  const theirs = await run("bpftrace", args);
  const o = await runCli(["trace", ...args]);
  theirs.stderr = theirs.stderr.split("\n").filter((l) => !l.includes("RLIMIT_MEMLOCK")).join("\n");
  return [theirs, { code: o.code, stdout: o.out, stderr: o.err }];
}

/**
 * How long a bpftrace refusing a program may take: a semantic error costs it
 * 0.4 s of CPU on the host but 19 s alone in the VM stage's TCG guest (its
 * LLVM and clang libraries, the kernel's BTF), more with other processes
 * sharing the vCPUs. The limit only stops a bpftrace that accepted the
 * program and runs it; that fails the test, naming the program.
 */
const REFUSAL_SECONDS = 180;

/** What bpftrace prints on stderr for a program it refuses (its RLIMIT warning dropped). */
async function bpftraceErrors(program: string): Promise<string> {
  const out = await new Deno.Command("timeout", {
    args: [String(REFUSAL_SECONDS), "bpftrace", "-e", program],
    stdout: "null",
    stderr: "piped",
  }).output();
  const stderr = new TextDecoder().decode(out.stderr);
  // timeout(1) exits 124 when the limit stopped bpftrace
  assert.notEqual(out.code, 124, `bpftrace ran ${program} for ${REFUSAL_SECONDS} s: ${stderr}`);
  return stderr.split("\n").filter((l) => !l.includes("RLIMIT_MEMLOCK")).join("\n");
}

/**
 * {@linkcode bpftraceErrors} of each program (programs bpftrace refuses
 * before loading anything), as many bpftrace processes at a time as there are
 * CPUs: each spends its time starting (its LLVM and clang libraries, seconds
 * under the VM stage's TCG), not in the kernel.
 */
export async function bpftraceErrorsAll(programs: readonly string[]): Promise<string[]> {
  const out: string[] = [];
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < programs.length; i = next++) {
      out[i] = await bpftraceErrors(programs[i]);
    }
  };
  const workers = Math.min(navigator.hardwareConcurrency, programs.length);
  await Promise.all(Array.from({ length: workers }, worker));
  return out;
}

/** Whether the kernel runs tracepoint programs (what the compared cases need). */
export const tracepoints: boolean = haveProgramType("tracepoint");
/** The suffix of a compared case's name when the kernel lacks tracepoint programs. */
export const SKIPPED: string = tracepoints
  ? ""
  : " (skipped: tracepoint programs not supported by this kernel)";

/**
 * One test per case: both tools exit 0 and print the same stdout (and,
 * with `stderr`, the same stderr).
 */
export function compareCases(
  cases: readonly { name: string; args: string[]; stderr?: boolean }[],
): void {
  for (const c of cases) {
    Deno.test({
      name: `trace matches bpftrace: ${c.name}${SKIPPED}`,
      ignore: !tracepoints,
      async fn() {
        const [theirs, ours] = await both(c.args);
        assert.equal(theirs.code, 0, theirs.stderr);
        assert.equal(ours.code, 0, ours.stderr);
        assert.equal(ours.stdout, theirs.stdout);
        if (c.stderr) assert.equal(ours.stderr, theirs.stderr);
      },
    });
  }
}
