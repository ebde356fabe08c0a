// Attach + first event + detach of a tracepoint program, whole process,
// three ways in the same run (interleaved rounds, medians):
//   denobpf  — deno run bench/attach_tracepoint_child.ts (load, attach, first event, detach)
//   libbpf   — a C program (gcc -lbpf) loading an object built by clang
//   bpftrace — bpftrace -e 'tracepoint:syscalls:sys_enter_getpid { exit(); }'
// A ticker process calls getpid every 200 µs throughout, so bpftrace (which
// does not call getpid itself) sees its first event at once.
//
//   deno run -A bench/attach_tracepoint.ts [rounds]

import { median, ratio } from "./_util.ts";

// The detach is mostly the kernel's wait for RCU grace periods when the
// tracepoint's last perf event goes (50–110 ms, the same for every loader,
// varying run to run): medians need many rounds to settle.
const rounds = Number(Deno.args[0] ?? 41);
const here = new URL(".", import.meta.url).pathname;
const dir = await Deno.makeTempDir({ prefix: "denobpf-bench-attach-" });

async function sh(cmd: string, args: string[]): Promise<void> {
  const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!r.success) {
    throw new Error(`${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(r.stderr)}`);
  }
}

async function has(cmd: string): Promise<boolean> {
  try {
    return (await new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null" })
      .output()).success;
  } catch {
    return false;
  }
}

if (!/ - tracefs /.test(await Deno.readTextFile("/proc/self/mountinfo"))) {
  await sh("mount", ["-t", "tracefs", "tracefs", "/sys/kernel/tracing"]);
}

const obj = `${dir}/attach_tracepoint.bpf.o`;
await sh("clang", [
  "-O2",
  "-g",
  "-target",
  "bpf",
  "-I/usr/include/x86_64-linux-gnu",
  "-c",
  `${here}attach_tracepoint.bpf.c`,
  "-o",
  obj,
]);
const loader = `${dir}/attach_tracepoint_libbpf`;
await sh("gcc", ["-O2", "-o", loader, `${here}attach_tracepoint_libbpf.c`, "-lbpf"]);
const tickerBin = `${dir}/ticker`;
await sh("gcc", ["-O2", "-o", tickerBin, `${here}attach_tracepoint_ticker.c`]);

const runners: Record<string, [string, string[]]> = {
  denobpf: [Deno.execPath(), ["run", "-A", "--no-check", `${here}attach_tracepoint_child.ts`]],
  libbpf: [loader, [obj]],
};
if (await has("bpftrace")) {
  runners.bpftrace = ["bpftrace", ["-e", "tracepoint:syscalls:sys_enter_getpid { exit(); }"]];
} else {
  console.log("bpftrace not installed (apt-get install bpftrace): skipping it");
}

const ticker = new Deno.Command(tickerBin, { stdout: "null", stderr: "null" }).spawn();
const times: Record<string, number[]> = Object.fromEntries(
  Object.keys(runners).map((k) => [k, []]),
);
try {
  // One warm-up each (page cache, deno's module cache), then interleaved rounds.
  for (const [cmd, args] of Object.values(runners)) await sh(cmd, args);
  for (let i = 0; i < rounds; i++) {
    for (const [name, [cmd, args]] of Object.entries(runners)) {
      const t0 = performance.now();
      await sh(cmd, args);
      times[name].push(performance.now() - t0);
    }
  }
} finally {
  ticker.kill("SIGKILL");
  await ticker.status;
  await Deno.remove(dir, { recursive: true });
}

console.log(`attach + first event + detach, tracepoint syscalls/sys_enter_getpid, whole process`);
console.log(`(${rounds} interleaved rounds, medians)`);
const med = Object.fromEntries(Object.entries(times).map(([k, v]) => [k, median(v)]));
for (const [name, ms] of Object.entries(med)) {
  console.log(
    `  ${name.padEnd(9)} ${ms.toFixed(1).padStart(7)} ms  (min ${
      Math.min(...times[name]).toFixed(1)
    })`,
  );
}
console.log(`  denobpf / libbpf   = ${ratio(med.denobpf, med.libbpf)}`);
if (med.bpftrace !== undefined) {
  console.log(`  denobpf / bpftrace = ${ratio(med.denobpf, med.bpftrace)}`);
  console.log(`  libbpf / bpftrace  = ${ratio(med.libbpf, med.bpftrace)}`);
}
