// Ring buffer throughput: 16-byte records from a BPF program on the
// syscalls/sys_enter_getpid tracepoint, produced by a C process calling
// getpid() in a tight loop, consumed either by denobpf's RingBufReader or by
// libbpf's ring_buffer (bench/ringbuf_consumer.c) on the same pinned map, in
// the same run. Reports records consumed per second and the ratio.
//
//   deno run -A bench/ringbuf.ts [seconds=1] [rounds=3]

import { Assembler, R0, R1, R10, R2, R3, R4 } from "../src/asm/mod.ts";
import { ringBufReader } from "../src/ringbuf/mod.ts";
import { bpf, FD } from "../src/sys/mod.ts";
import { type Consumer, eventBench, rate } from "./_events.ts";
import { median, ratio } from "./_util.ts";

const secs = Number(Deno.args[0] ?? 1);
const rounds = Number(Deno.args[1] ?? 3);

function denoConsumer(mode: "consume" | "poll"): Consumer {
  return async (path, start) => {
    using mapFd = new FD(bpf("OBJ_GET", { pathname: path }));
    using reader = ringBufReader(mapFd);
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

console.log(`ring buffer, 16-byte records, ${secs}s per round, ${rounds} rounds (median)`);
console.log("| mode | denobpf rec/s | libbpf rec/s | denobpf / libbpf |");
console.log("|---|---|---|---|");
for (
  const [label, flags, mode] of [
    ["poll, default wakeups", 0, "poll"],
    ["busy consume, BPF_RB_NO_WAKEUP", 1, "consume"],
  ] as const
) {
  await using bench = await eventBench({
    seconds: secs,
    consumerSource: "ringbuf_consumer.c",
    map: { type: "ringbuf", keySize: 0, valueSize: 0, maxEntries: 1 << 22 },
    // bpf_ringbuf_output(&events, &{0xabcdef, 0xabcdef}, 16, flags)
    producer: (map) =>
      new Assembler()
        .mov64(R1, 0xabcdef).stxdw(R10, -8, R1).stxdw(R10, -16, R1)
        .loadMapPtr(R1, map)
        .mov64(R2, R10).add64(R2, -16)
        .mov64(R3, 16)
        .mov64(R4, flags)
        .call("ringbuf_output")
        .mov64(R0, 0).exit(),
  });
  const d: number[] = [];
  const c: number[] = [];
  for (let i = 0; i < rounds; i++) {
    d.push(rate(await bench.round(denoConsumer(mode))));
    c.push(rate(await bench.round(bench.cConsumer([mode === "poll" ? "1" : "0"]))));
  }
  const md = median(d);
  const mc = median(c);
  console.log(
    `| ${label} | ${(md / 1e3).toFixed(0)}k | ${(mc / 1e3).toFixed(0)}k | ${ratio(md, mc)} |`,
  );
}
