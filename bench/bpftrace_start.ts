// Time to the first output line of a bpftrace one-liner, whole process
// (spawn → the first line the script prints after "Attaching N probes..."),
// `deno run -A cli.ts trace -e` against `bpftrace -e`, interleaved rounds,
// medians. A ticker process calls getpid every 200 µs throughout, so the
// tracepoint one-liners see an event as soon as they are attached. The last
// row is the floor: the first line of an empty script under the same
// `deno run -A`, against bpftrace's BEGIN one-liner.
//
//   deno run -A bench/bpftrace_start.ts [rounds]
//
// Issue 14 asks for ≤ 1/4 of bpftrace's time; Deno's own floor is above that.
// 2026-12-06, load average 7 on 2 cores, same run (7 rounds): BEGIN printf
// 584 vs 740 ms (0.79×), tracepoint printf 671 vs 549 ms (1.22×), two probes
// 876 vs 998 ms (0.88×); load average 6, 5 rounds, with the floor row: 363 vs
// 369 ms (0.98×), 305 vs 301 ms (1.01×), 442 vs 609 ms (0.73×), floor 112 vs
// 369 ms (0.30×). No change to src/ moved these ratios beyond the noise (the
// load swings medians by ±30%). Where the time goes (spawn → mark, medians of 9
// rounds, performance marks in a copy of src/cli/trace.ts, same load):
//
//   empty script's first line (Deno's floor)      201 ms   0.38× bpftrace's BEGIN (527 ms)
//   cli.ts evaluated                              243 ms   +42  module graph: Deno reads and
//                                                                hashes all 172 modules reachable
//                                                                from cli.ts, dynamic imports too
//   traceCommand runs                             304 ms   +61  trace.ts and its 36 static modules
//   script compiled (parse + lower)               326 ms   +22  mostly first-call (lazy) compiles
//   back end loaded (run_script.ts)               450 ms  +124  113 more modules, ~1 MB of TS
//                                                                (V8 sees ~3× that: inline maps)
//   first output (runScript → BEGIN's printf)     528 ms   +78  dlopen per libc symbol, the
//                                                                raw_tp_test_run probe, check,
//                                                                codegen, maps, prog load, ring
//                                                                buffer
//
// CPU (process.cpuUsage, quiet runs): Deno start to our first line of code
// ~135 ms, front end ~27 ms, back-end modules ~45 ms, runScript ~32 ms.
// Profiles show no top-level module code over ~3 ms: the module phases are
// V8 compile, code-cache reads, module graph bookkeeping and GC (20-50 ms
// per run). Same run, `deno bundle` of cli.ts: 360-477 ms (minified:
// 305-491 ms) against 441-717 ms unbundled, bpftrace 579-803 ms. Lazy
// `import()` with a computed specifier would drop modules from the graph but
// needs --allow-read (cli.ts btf dump is tested with --allow-ffi only).
// Even an empty script is 0.30-0.38× bpftrace, so ≤ 1/4 is out of reach for any
// `deno run` start-up; what is left to win is the back end's module count and
// runScript's work before the first event.

import { compileC, median, ratio } from "./_util.ts";

const ONE_LINERS: Record<string, string> = {
  "BEGIN printf": 'BEGIN { printf("hello\\n"); exit(); }',
  "tracepoint printf":
    'tracepoint:syscalls:sys_enter_getpid { printf("%d %s\\n", pid, comm); exit(); }',
  "two probes, shared map, hist": "tracepoint:syscalls:sys_enter_getpid { @start[tid] = nsecs; } " +
    "tracepoint:syscalls:sys_exit_getpid /@start[tid]/ { @ns = hist(nsecs - @start[tid]); delete(@start[tid]); exit(); }",
};

const rounds = Number(Deno.args[0] ?? 7);
const here = new URL(".", import.meta.url).pathname;
const root = new URL("../", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "denobpf-bench-bpftrace-" });
const ticker = await compileC([`${here}attach_tracepoint_ticker.c`], `${dir}/ticker`);
const tick = new Deno.Command(ticker, { stdout: "null" }).spawn();

/** Milliseconds from spawn to the first non-empty stdout line after "Attaching…". */
async function firstLine(cmd: string, args: string[]): Promise<number> {
  const t0 = performance.now();
  const child = new Deno.Command(cmd, { args, cwd: root, stdout: "piped", stderr: "null" }).spawn();
  const dec = new TextDecoder();
  let text = "";
  let ms = NaN;
  for await (const chunk of child.stdout) {
    text += dec.decode(chunk, { stream: true });
    const lines = text.split("\n").slice(0, -1);
    if (lines.some((l) => l !== "" && !l.startsWith("Attaching "))) {
      ms = performance.now() - t0;
      break;
    }
  }
  try {
    child.kill("SIGINT");
  } catch {
    // already ended
  }
  await child.status;
  if (Number.isNaN(ms)) throw new Error(`${cmd} ${args.join(" ")} printed no line: ${text}`);
  return ms;
}

const floorScript = `${dir}/floor.ts`;
await Deno.writeTextFile(floorScript, 'console.log("first line");\n');
/** Deno's floor: the first line of an empty script. */
const floor = () => firstLine(Deno.execPath(), ["run", "-A", floorScript]);

const tools: Record<string, (p: string) => Promise<number>> = {
  "denobpf trace": (p) => firstLine(Deno.execPath(), ["run", "-A", "cli.ts", "trace", "-e", p]),
  "bpftrace": (p) => firstLine("bpftrace", ["-e", p]),
};
const times: Record<string, number[]> = {};
try {
  for (const p of Object.values(ONE_LINERS)) {
    for (const run of Object.values(tools)) await run(p); // warm caches
  }
  await floor();
  for (let i = 0; i < rounds; i++) {
    (times.floor ??= []).push(await floor());
    for (const [name, p] of Object.entries(ONE_LINERS)) {
      for (const [tool, run] of Object.entries(tools)) {
        (times[`${name}|${tool}`] ??= []).push(await run(p));
      }
    }
  }
} finally {
  tick.kill();
  await tick.status;
  await Deno.remove(dir, { recursive: true });
}
console.log(
  `| one-liner (whole process to first line, ${rounds} rounds) | denobpf trace | bpftrace | ratio |`,
);
console.log("|---|---|---|---|");
for (const name of Object.keys(ONE_LINERS)) {
  const ours = median(times[`${name}|denobpf trace`]);
  const theirs = median(times[`${name}|bpftrace`]);
  console.log(
    `| ${name} | ${ours.toFixed(0)} ms | ${theirs.toFixed(0)} ms | ${ratio(ours, theirs)} |`,
  );
}
const floorMs = median(times.floor);
const beginMs = median(times[`${Object.keys(ONE_LINERS)[0]}|bpftrace`]);
console.log(
  `| floor: an empty script's line (deno run -A) vs BEGIN | ${floorMs.toFixed(0)} ms | ` +
    `${beginMs.toFixed(0)} ms | ${ratio(floorMs, beginMs)} |`,
);
