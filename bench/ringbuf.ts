// Ring buffer throughput: 16-byte records from a BPF program on the
// syscalls/sys_enter_getpid tracepoint, produced by a C process calling
// getpid() in a tight loop, consumed either by denobpf's RingBufReader or by
// libbpf's ring_buffer (bench/ringbuf_consumer.c) on the same pinned map, in
// the same run. Reports records consumed per second and the ratio.
//
//   deno run -A bench/ringbuf.ts [seconds=1] [rounds=3]

import { createMap } from "../src/map/mod.ts";
import { ringBufReader } from "../src/ringbuf/mod.ts";
import { bpf, FD, ioctl, objPin, perfEventOpen, PerfIoctl, PerfType } from "../src/sys/mod.ts";
import { compileC, median, privateBpffs, ratio } from "./_util.ts";

const secs = Number(Deno.args[0] ?? 1);
const rounds = Number(Deno.args[1] ?? 3);
const tmp = await Deno.makeTempDir({ prefix: "denobpf-bench-" });
const here = new URL(".", import.meta.url).pathname;
const consumerBin = await compileC([`${here}ringbuf_consumer.c`], `${tmp}/consumer`, ["-lbpf"]);
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

function loadProducer(mapFd: number, flags: number): FD {
  const insns = new Uint8Array([
    ...insn(0xb7, 1, 0, 0, 0xabcdef),
    ...insn(0x7b, 10, 1, -8, 0),
    ...insn(0x7b, 10, 1, -16, 0),
    ...insn(0x18, 1, 1, 0, mapFd),
    ...insn(0, 0, 0, 0, 0),
    ...insn(0xbf, 2, 10, 0, 0),
    ...insn(0x07, 2, 0, 0, -16),
    ...insn(0xb7, 3, 0, 0, 16),
    ...insn(0xb7, 4, 0, 0, flags),
    ...insn(0x85, 0, 0, 0, 130),
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
  flags: number,
  consume: (
    path: string,
    start: () => Promise<void>,
  ) => Promise<{ consumed: number; seconds: number }>,
): Promise<Round> {
  using map = createMap({ type: "ringbuf", keySize: 0, valueSize: 0, maxEntries: 1 << 22 });
  using prog = loadProducer(map.fd, flags);
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

function denoConsumer(mode: "consume" | "poll") {
  return async (path: string, start: () => Promise<void>) => {
    using reader = ringBufReader(
      { fd: new FD(bpf("OBJ_GET", { pathname: path })) } as never,
    );
    let n = 0;
    const cb = () => {
      n++;
    };
    await start();
    const t0 = performance.now();
    const end = t0 + secs * 1000;
    if (mode === "consume") {
      while (performance.now() < end) reader.consume(cb);
    } else {
      while (performance.now() < end) reader.poll(100, cb);
    }
    reader.consume(cb);
    return { consumed: n, seconds: (performance.now() - t0) / 1000 };
  };
}

function cConsumer(mode: "consume" | "poll") {
  return async (path: string, start: () => Promise<void>) => {
    const child = new Deno.Command(consumerBin, {
      args: [path, String(secs), mode === "poll" ? "1" : "0"],
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
console.log(`ring buffer, 16-byte records, ${secs}s per round, ${rounds} rounds (median)`);
console.log("| mode | denobpf rec/s | libbpf rec/s | denobpf / libbpf |");
console.log("|---|---|---|---|");
for (
  const [label, flags, mode] of [
    ["poll, default wakeups", 0, "poll"],
    ["busy consume, BPF_RB_NO_WAKEUP", 1, "consume"],
  ] as const
) {
  const d: number[] = [];
  const c: number[] = [];
  for (let i = 0; i < rounds; i++) {
    d.push(rate(await round(flags, denoConsumer(mode))));
    c.push(rate(await round(flags, cConsumer(mode))));
  }
  const md = median(d);
  const mc = median(c);
  console.log(
    `| ${label} | ${(md / 1e3).toFixed(0)}k | ${(mc / 1e3).toFixed(0)}k | ${ratio(md, mc)} |`,
  );
}
await Deno.remove(tmp, { recursive: true });
