// Time to first event of a scripted probe, whole process (spawn → first
// event printed → detached → exit), interleaved rounds, medians:
//   denobpf tracepoint     — probe(tracepoint("syscalls:sys_enter_getpid")).emit(...)
//   denobpf raw tracepoint — probe(rawTracepoint("sys_enter")).emit(...) (no tracefs, fast detach)
//   bpftrace               — bpftrace -e 'tracepoint:syscalls:sys_enter_getpid { printf(...); exit(); }'
// A ticker process calls getpid every 200 µs throughout, so every probe sees
// an event as soon as it is attached.
//
//   deno run -A bench/probe_first_event.ts [rounds]

import { probe, rawTracepoint, tracepoint } from "../src/probe/mod.ts";
import { getpidTicker, interleaved, printVs, tempDir } from "./_util.ts";

if (Deno.args[0] === "child") {
  // The scripted probe being measured: attach, wait for one event, detach.
  const point = Deno.args[1] === "raw"
    ? rawTracepoint("sys_enter")
    : tracepoint("syscalls:sys_enter_getpid");
  await using p = await probe(point).emit({ fields: ["pid", "comm"] });
  for await (const ev of p.events()) {
    console.log(ev.pid, ev.comm);
    break;
  }
  Deno.exit(0); // after `await using` has detached
}

const rounds = Number(Deno.args[0] ?? 11);
await using tmp = await tempDir("denobpf-bench-probe-");
const dir = tmp.path;
await using _ticker = await getpidTicker(dir);

async function timed(cmd: string, args: string[]): Promise<number> {
  const t0 = performance.now();
  const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const ms = performance.now() - t0;
  if (!r.success || r.stdout.length === 0) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(r.stderr)}`);
  }
  return ms;
}

const self = new URL(import.meta.url).pathname;
const runs: Record<string, () => Promise<number>> = {
  "denobpf tracepoint": () => timed(Deno.execPath(), ["run", "-A", self, "child", "tp"]),
  "denobpf raw tracepoint": () => timed(Deno.execPath(), ["run", "-A", self, "child", "raw"]),
  "bpftrace tracepoint": () =>
    timed("bpftrace", [
      "-e",
      'tracepoint:syscalls:sys_enter_getpid { printf("%d %s\\n", pid, comm); exit(); }',
    ]),
};
const times = await interleaved(runs, rounds);
printVs(`probe (whole process, ${rounds} rounds)`, times, "bpftrace tracepoint");
