// Perf buffer throughput: 16-byte samples from a BPF program on the
// syscalls/sys_enter_getpid tracepoint (bpf_perf_event_output), produced by a
// C process calling getpid() in a tight loop, consumed either by denobpf's
// PerfReader or by libbpf's perf_buffer (bench/perf_consumer.c, 64 pages per
// CPU, both) on the same pinned map, in the same run. Reports samples
// consumed per second and the ratio.
//
//   deno run -A bench/perfbuf.ts [seconds=1] [rounds=3]

import { Assembler, R0, R10, R2, R3, R4, R5 } from "../src/asm/mod.ts";
import { perfReader } from "../src/perf/mod.ts";
import { bpf, FD, possibleCpuCount } from "../src/sys/mod.ts";
import { type Consumer, eventBench, rate } from "./_events.ts";
import { median, ratio } from "./_util.ts";

const secs = Number(Deno.args[0] ?? 1);
const rounds = Number(Deno.args[1] ?? 3);

const denoConsumer: Consumer = async (path, start) => {
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

await using bench = await eventBench({
  seconds: secs,
  consumerSource: "perf_consumer.c",
  map: { type: "perf_event_array", keySize: 4, valueSize: 4, maxEntries: possibleCpuCount() },
  // bpf_perf_event_output(ctx, &events, BPF_F_CURRENT_CPU, &{0xabcdef, 0xabcdef}, 16)
  producer: (map) =>
    new Assembler()
      .mov64(R2, 0xabcdef).stxdw(R10, -8, R2).stxdw(R10, -16, R2)
      .loadMapPtr(R2, map)
      .mov32(R3, -1)
      .mov64(R4, R10).add64(R4, -16)
      .mov64(R5, 16)
      .call("perf_event_output")
      .mov64(R0, 0).exit(),
});

console.log(`perf buffer, 16-byte samples, ${secs}s per round, ${rounds} rounds (median)`);
const d: number[] = [];
const c: number[] = [];
for (let i = 0; i < rounds; i++) {
  d.push(rate(await bench.round(denoConsumer)));
  c.push(rate(await bench.round(bench.cConsumer())));
}
const md = median(d);
const mc = median(c);
console.log("| consumer | samples/s |");
console.log("|---|---|");
console.log(`| denobpf PerfReader.poll | ${(md / 1e3).toFixed(0)}k |`);
console.log(`| libbpf perf_buffer__poll | ${(mc / 1e3).toFixed(0)}k |`);
console.log(`denobpf / libbpf: ${ratio(md, mc)}`);
