// Issue 13's time to first output: a latency histogram with state shared by
// two probes (bench/_latency_hist.ts, written with @denobpf/ebpf/probe and
// run as a user runs it, `deno run --allow-ffi`), against the same script in
// bpftrace, whole process from spawn to the histogram's first line. Both end
// at the first getpid timed (exit()) and print the histogram at stop. A
// ticker process calls getpid every 200 µs throughout, so each sees a call as
// soon as it is attached. Interleaved rounds, medians. The script runs
// twice: importing the package as JSR gets it (tools/build_package.ts: the
// entries as bundled JavaScript), and importing this repository's
// TypeScript (its deno.json import map). The floor row is an empty script
// under `deno run --allow-ffi`.
//
//   deno run -A bench/script_first_output.ts [rounds]
//
// RESULTS, 2026-12-07, idle 2-core dev VM, same run, 15 rounds, at 75882df
// (the package's names minified, errors naming themselves):
//
//   script(), the package as JSR gets it    142 ms   0.28x
//   script(), this repository's TypeScript  194 ms   0.38x
//   bpftrace 0.17                           504 ms   1.00x
//   floor: an empty deno run --allow-ffi     62 ms   0.12x
//
// Two changes got the package there. ScriptHandle.stop() prints before the
// probes have detached: it sets a stop flag that every attached program
// checks first, then prints END's output and the maps while the links close
// (each close of a tracepoint link waits for RCU grace periods, ~30 ms;
// bench/bpftrace_start.ts's two-probe one-liner went from 210 to 156 ms,
// 0.39x to 0.31x of bpftrace's, in the runs either side). And the package
// ships its entries as JavaScript (tools/build_package.ts): importing the
// probe entry costs +57 ms over an empty script from the TypeScript, +20 ms
// from the package (bench/import_cost.ts, same run), and its back end,
// loaded on the first start(), shrinks the same way.
// The first run after the build (11 rounds, 2026-12-07) gave 174 ms, 0.34x;
// the runs after it 146 and 142 ms.

import { firstLine, getpidTicker, interleaved, printVs, tempDir } from "./_util.ts";
import { buildPackage, importMap } from "../tools/build_package.ts";

const BPFTRACE = "tracepoint:syscalls:sys_enter_getpid { @start[tid] = nsecs; } " +
  "tracepoint:syscalls:sys_exit_getpid /@start[tid]/ { @ns = hist(nsecs - @start[tid]); " +
  "delete(@start[tid]); exit(); }";

const rounds = Number(Deno.args[0] ?? 11);
const here = new URL(".", import.meta.url).pathname;
await using tmp = await tempDir("denobpf-bench-first-output-");
const dir = tmp.path;
await using _ticker = await getpidTicker(dir);
const floor = `${dir}/floor.ts`;
await Deno.writeTextFile(floor, 'console.log("first line");\n');
const deno = Deno.execPath();
// A user's folder: the script, and an import map naming the built package's entries.
const pkg = await buildPackage(
  new URL("..", import.meta.url).pathname.replace(/\/$/, ""),
  `${dir}/pkg`,
);
const user = `${dir}/user`;
await Deno.mkdir(user);
await Deno.copyFile(`${here}_latency_hist.ts`, `${user}/latency_hist.ts`);
await Deno.writeTextFile(`${user}/deno.json`, JSON.stringify({ imports: importMap(pkg) }));

const runs: Record<string, () => Promise<number>> = {
  "script(), the package as JSR gets it (deno run --allow-ffi)": () =>
    firstLine(deno, ["run", "--allow-ffi", "latency_hist.ts"], { cwd: user }),
  "script(), this repository's TypeScript (deno run --allow-ffi)": () =>
    firstLine(deno, ["run", "--allow-ffi", `${here}_latency_hist.ts`], { cwd: here }),
  "bpftrace": () => firstLine("bpftrace", ["-e", BPFTRACE]),
  "floor: an empty script (deno run --allow-ffi)": () =>
    firstLine(deno, ["run", "--allow-ffi", floor]),
};
const times = await interleaved(runs, rounds);
printVs(`latency histogram, spawn to first output (${rounds} rounds)`, times, "bpftrace");
