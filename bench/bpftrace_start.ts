// Time to the first output line of a bpftrace one-liner, whole process
// (spawn → the first line the script prints after "Attaching N probes..."),
// `deno run -A cli.ts trace -e` against `bpftrace -e`, interleaved rounds,
// medians. A ticker process calls getpid every 200 µs throughout, so the
// tracepoint one-liners see an event as soon as they are attached.
//
//   deno run -A bench/bpftrace_start.ts [rounds]

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

const tools: Record<string, (p: string) => Promise<number>> = {
  "denobpf trace": (p) => firstLine(Deno.execPath(), ["run", "-A", "cli.ts", "trace", "-e", p]),
  "bpftrace": (p) => firstLine("bpftrace", ["-e", p]),
};
const times: Record<string, number[]> = {};
try {
  for (const p of Object.values(ONE_LINERS)) {
    for (const run of Object.values(tools)) await run(p); // warm caches
  }
  for (let i = 0; i < rounds; i++) {
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
