// Per-event cost of a two-probe latency script with a shared map, in the
// kernel: a C loop calls getpid() for a second with no tracer, with the
// script run by runScript (the probe IR's back end), and with the same
// script run by bpftrace; the cost of one getpid call's two probe firings
// is the difference of the loop's ns per call. Interleaved rounds, medians.
//
//   sys_enter_getpid { @start[tid] = nsecs; }
//   sys_exit_getpid /@start[tid]/ { @ns = hist(nsecs - @start[tid]); delete(@start[tid]); }
//
//   deno run -A bench/script_overhead.ts [rounds]

import { runScript } from "../src/probe/run_script.ts";
import type { IrExpr, ScriptIr } from "../src/probe/ir.ts";
import { compileC, median, ratio } from "./_util.ts";

const rounds = Number(Deno.args[0] ?? 5);
const here = new URL(".", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "denobpf-bench-script-" });
const loop = await compileC([`${here}getpid_loop.c`], `${dir}/getpid_loop`);

const BPFTRACE = 'BEGIN { printf("ready\\n"); } ' +
  "tracepoint:syscalls:sys_enter_getpid { @start[tid] = nsecs; } " +
  "tracepoint:syscalls:sys_exit_getpid /@start[tid]/ { @ns = hist(nsecs - @start[tid]); " +
  "delete(@start[tid]); }";

const tid: IrExpr = { op: "builtin", name: "tid" };
const nsecs: IrExpr = { op: "builtin", name: "nsecs" };
const start: IrExpr = { op: "map_get", map: "@start", key: tid };
const IR: ScriptIr = {
  probes: [
    {
      points: [{ kind: "tracepoint", target: "syscalls:sys_enter_getpid" }],
      body: [{ op: "map_set", map: "@start", key: tid, value: nsecs }],
    },
    {
      points: [{ kind: "tracepoint", target: "syscalls:sys_exit_getpid" }],
      filter: start,
      body: [
        {
          op: "aggregate",
          map: "@ns",
          fn: "hist",
          args: [{ op: "binary", operator: "-", left: nsecs, right: start }],
        },
        { op: "map_delete", map: "@start", key: tid },
      ],
    },
  ],
};

/** ns per getpid call of the C loop over one second. */
async function nsPerCall(): Promise<number> {
  const child = new Deno.Command(loop, { args: ["1"], stdin: "piped", stdout: "piped" }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new Uint8Array([1]));
  await w.close();
  const out = await child.output();
  return 1e9 / Number(new TextDecoder().decode(out.stdout).trim());
}

async function withBpftrace(): Promise<number> {
  const child = new Deno.Command("bpftrace", {
    args: ["-e", BPFTRACE],
    stdout: "piped",
    stderr: "null",
  }).spawn();
  const reader = child.stdout.getReader();
  let text = "";
  while (!text.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) throw new Error(`bpftrace ended: ${text}`);
    text += new TextDecoder().decode(value);
  }
  try {
    return await nsPerCall();
  } finally {
    child.kill("SIGINT");
    for (;;) if ((await reader.read()).done) break;
    await child.status;
  }
}

async function withRunScript(): Promise<number> {
  const h = await runScript(IR, { printMaps: false });
  try {
    return await nsPerCall();
  } finally {
    await h.stop();
  }
}

const times: Record<string, number[]> = { none: [], runScript: [], bpftrace: [] };
try {
  await nsPerCall(); // warm up
  for (let i = 0; i < rounds; i++) {
    times.none.push(await nsPerCall());
    times.runScript.push(await withRunScript());
    times.bpftrace.push(await withBpftrace());
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
const base = median(times.none);
const ours = median(times.runScript) - base;
const theirs = median(times.bpftrace) - base;
console.log(`| getpid with the latency script (${rounds} rounds, medians) | ns per call |`);
console.log("|---|---|");
console.log(`| no tracer | ${base.toFixed(0)} |`);
console.log(`| runScript: added per call (two probes) | ${ours.toFixed(0)} |`);
console.log(`| bpftrace: added per call (two probes) | ${theirs.toFixed(0)} |`);
console.log(`| ratio runScript / bpftrace | ${ratio(ours, theirs)} |`);
