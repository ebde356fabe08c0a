// Perf buffer throughput: 16-byte samples from a BPF program on the
// syscalls/sys_enter_getpid tracepoint (bpf_perf_event_output), produced by a
// C process calling getpid() in a tight loop, consumed either by denobpf's
// PerfReader or by libbpf's perf_buffer (bench/perf_consumer.c, 64 pages per
// CPU, both) on the same pinned map, in the same run. Reports samples
// consumed per second and the ratio.
//
//   deno run -A bench/perfbuf.ts [seconds=1] [rounds=3]

import { createMap } from "../src/map/mod.ts";
import { perfReader } from "../src/perf/mod.ts";
import {
  bpf,
  FD,
  ioctl,
  objPin,
  perfEventOpen,
  PerfIoctl,
  PerfType,
  possibleCpuCount,
} from "../src/sys/mod.ts";
import { compileC, median, privateBpffs, ratio } from "./_util.ts";

const secs = Number(Deno.args[0] ?? 1);
const rounds = Number(Deno.args[1] ?? 3);
const tmp = await Deno.makeTempDir({ prefix: "denobpf-bench-" });
const here = new URL(".", import.meta.url).pathname;
const consumerBin = await compileC([`${here}perf_consumer.c`], `${tmp}/consumer`, ["-lbpf"]);
const producerBin = await compileC([`${here}getpid_loop.c`], `${tmp}/producer`);
await using fs = await privateBpffs();

const tracefs = "/sys/kernel/tracing";
try {
  Deno.statSync(`${tracefs}/events`);
} catch {
  await new Deno.Command("mount", { args: ["-t", "tracefs", "tracefs", tracefs] }).output();
}
const tpId = Number(Deno.readTextFileSync(`${tracefs}/events/syscalls/sys_enter_getpid/id`));

function insn(code: number, dst: number, src: number, off: number, imm: number): number[] {
  const b = new Uint8Array(8);
  const dv = new DataView(b.buffer);
  b[0] = code;
  b[1] = (src << 4) | dst;
  dv.setInt16(2, off, true);
  dv.setInt32(4, imm, true);
  return [...b];
}

function loadProducer(mapFd: number): FD {
  const insns = new Uint8Array([
    ...insn(0xb7, 2, 0, 0, 0xabcdef),
    ...insn(0x7b, 10, 2, -8, 0),
    ...insn(0x7b, 10, 2, -16, 0),
    ...insn(0x18, 2, 1, 0, mapFd),
    ...insn(0, 0, 0, 0, 0),
    ...insn(0xb4, 3, 0, 0, -1),
    ...insn(0xbf, 4, 10, 0, 0),
    ...insn(0x07, 4, 0, 0, -16),
    ...insn(0xb7, 5, 0, 0, 16),
    ...insn(0x85, 0, 0, 0, 25),
    ...insn(0xb7, 0, 0, 0, 0),
    ...insn(0x95, 0, 0, 0, 0),
  ]);
  return new FD(
    bpf("PROG_LOAD", {
      progType: 5,
      insnCnt: insns.length / 8,
      insns,
      license: new TextEncoder().encode("GPL\0"),
    }),
  );
}

interface Round {
  consumed: number;
  seconds: number;
  produced: number;
}

async function round(
  consume: (
    path: string,
    start: () => Promise<void>,
  ) => Promise<{ consumed: number; seconds: number }>,
): Promise<Round> {
  using map = createMap({
    type: "perf_event_array",
    keySize: 4,
    valueSize: 4,
    maxEntries: possibleCpuCount(),
  });
  using prog = loadProducer(map.fd);
  const pin = `${fs.path}/rb${Math.random().toString(36).slice(2)}`;
  objPin(map.fd, pin);
  const producer = new Deno.Command(producerBin, {
    args: [String(secs)],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  using ev = perfEventOpen(
    { type: PerfType.TRACEPOINT, config: tpId, samplePeriod: 1, wakeup: 1 },
    {
      pid: producer.pid,
      cpu: -1,
    },
  );
  ioctl(ev.value, PerfIoctl.SET_BPF, prog.value);
  ioctl(ev.value, PerfIoctl.ENABLE);
  const w = producer.stdin.getWriter();
  const r = await consume(pin, () => w.write(new Uint8Array([1])));
  await w.close();
  const out = await producer.output();
  Deno.removeSync(pin);
  return { ...r, produced: Number(new TextDecoder().decode(out.stdout).trim()) };
}

function denoConsumer() {
  return async (path: string, start: () => Promise<void>) => {
    using mapFd = new FD(bpf("OBJ_GET", { pathname: path }));
    using reader = perfReader(mapFd, { perCpuBufferSize: 64 * 4096 });
    let n = 0;
    const cb = (r: { lost: number }) => {
      if (!r.lost) n++;
    };
    await start();
    const t0 = performance.now();
    const end = t0 + secs * 1000;
    while (performance.now() < end) reader.poll(100, cb);
    reader.consume(cb);
    return { consumed: n, seconds: (performance.now() - t0) / 1000 };
  };
}

function cConsumer() {
  return async (path: string, start: () => Promise<void>) => {
    const child = new Deno.Command(consumerBin, {
      args: [path, String(secs)],
      stdout: "piped",
    }).spawn();
    const reader = child.stdout.getReader();
    let text = "";
    while (!text.includes("ready")) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await start();
    while (true) {
      const { value, done } = await reader.read();
      if (done) break;
      text += new TextDecoder().decode(value);
    }
    await child.status;
    const [n, s] = text.split("\n")[1].trim().split(" ").map(Number);
    return { consumed: n, seconds: s };
  };
}

const rate = (r: Round) => r.consumed / r.seconds;
console.log(`perf buffer, 16-byte samples, ${secs}s per round, ${rounds} rounds (median)`);
const d: number[] = [];
const c: number[] = [];
for (let i = 0; i < rounds; i++) {
  d.push(rate(await round(denoConsumer())));
  c.push(rate(await round(cConsumer())));
}
const md = median(d);
const mc = median(c);
console.log("| consumer | samples/s |");
console.log("|---|---|");
console.log(`| denobpf PerfReader.poll | ${(md / 1e3).toFixed(0)}k |`);
console.log(`| libbpf perf_buffer__poll | ${(mc / 1e3).toFixed(0)}k |`);
console.log(`denobpf / libbpf: ${ratio(md, mc)}`);
await Deno.remove(tmp, { recursive: true });
