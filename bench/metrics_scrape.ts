// One scrape of 10,000 series: @denobpf/ebpf/metrics' map metric against
// the model of cloudflare's ebpf_exporter, side by side in one run.
//
//   deno run -A bench/metrics_scrape.ts [--series N] [--rounds R]
//
// The map is a hash of struct { u32 pid; char comm[16]; } → u64 with N
// entries. denobpf: `MetricsRenderer.render()` of a `mapMetric` (batch
// lookups into buffers made once, labels and values written straight into a
// reused output buffer). The ebpf_exporter model, written here in
// TypeScript: one batch read of the whole map per scrape (BPF_MAP_LOOKUP_BATCH
// sized to the map), each key decoded into label strings and a metric object
// per series (what `prometheus.MustNewConstMetric` does), then the text
// format written from those. Figures: median time per scrape, and bytes
// allocated by one scrape (V8 heap plus ArrayBuffers, measured after a full
// GC; the response body, which both must produce, is counted too).

import { createMap } from "../src/map/mod.ts";
import { mapMetric, MetricsRenderer } from "../src/metrics/mod.ts";
import { median, ratio } from "./_util.ts";

if (typeof (globalThis as { gc?: unknown }).gc !== "function") {
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--v8-flags=--expose-gc", new URL(import.meta.url).pathname, ...Deno.args],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  Deno.exit(r.code);
}
const gc = (globalThis as unknown as { gc: () => void }).gc;

function arg(name: string, def: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : def;
}
const SERIES = arg("series", 10_000);
const ROUNDS = arg("rounds", 21);

using map = createMap({
  type: "hash",
  keySize: 20,
  valueSize: 8,
  maxEntries: SERIES,
  name: "calls",
});
{
  const keys = new Uint8Array(20 * SERIES);
  const values = new Uint8Array(8 * SERIES);
  const kv = new DataView(keys.buffer);
  const vv = new DataView(values.buffer);
  const enc = new TextEncoder();
  for (let i = 0; i < SERIES; i++) {
    kv.setUint32(i * 20, 1000 + i, true);
    keys.set(enc.encode(`worker-${i % 97}`), i * 20 + 4);
    vv.setBigUint64(i * 8, BigInt(i * 7919), true);
  }
  map.updateBatch(keys, values);
}

const renderer = new MetricsRenderer([
  mapMetric(map, {
    name: "calls_total",
    help: "Calls by process",
    labels: [{ name: "pid", type: "u32" }, { name: "comm", type: "string", size: 16 }],
  }),
]);

// ---- the ebpf_exporter model ----

interface ConstMetric {
  labels: string[];
  value: number;
}
const dec = new TextDecoder();
const enc = new TextEncoder();
const escape = (s: string) =>
  s.replaceAll("\\", "\\\\").replaceAll('"', '\\"').replaceAll("\n", "\\n");

function exporterModel(): Uint8Array {
  // One batch read per map.
  const entries = map.batchLookupAll({ batchSize: map.maxEntries });
  const metrics: ConstMetric[] = [];
  for (const [k, v] of entries) {
    const kv = new DataView(k.buffer, k.byteOffset, k.byteLength);
    const comm = k.subarray(4, 20);
    const end = comm.indexOf(0);
    metrics.push({
      labels: [String(kv.getUint32(0, true)), dec.decode(end < 0 ? comm : comm.subarray(0, end))],
      value: Number(new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true)),
    });
  }
  const lines = ["# HELP calls_total Calls by process", "# TYPE calls_total counter"];
  for (const m of metrics) {
    lines.push(
      `calls_total{pid="${escape(m.labels[0])}",comm="${escape(m.labels[1])}"} ${m.value}`,
    );
  }
  return enc.encode(lines.join("\n") + "\n");
}

// The kernel's share: the batch walk alone, into buffers made once.
const cursor = map.batchCursor({ batchSize: 4096 });
function walkOnly(): Uint8Array {
  cursor.reset();
  while (!cursor.done) map.lookupBatch(cursor);
  return cursor.keys;
}

function denobpf(): Uint8Array {
  return renderer.render("prometheus");
}

/** Bytes allocated by one call of `f` (heap and ArrayBuffers), after a full GC. */
async function allocated(f: () => Uint8Array): Promise<{ bytes: number; size: number }> {
  // Let the previous round's ArrayBuffers be freed before the baseline.
  gc();
  await new Promise((r) => setTimeout(r, 0));
  gc();
  const before = Deno.memoryUsage();
  const out = f();
  const after = Deno.memoryUsage();
  return {
    bytes: after.heapUsed - before.heapUsed + after.external - before.external,
    size: out.length,
  };
}

// Both produce the same series.
const sampleLines = (b: Uint8Array) =>
  dec.decode(b).split("\n").filter((l) => l.startsWith("calls_total{")).sort();
const same =
  JSON.stringify(sampleLines(denobpf())) === JSON.stringify(sampleLines(exporterModel()));
if (!same) throw new Error("denobpf and the model disagree on the series");

for (let i = 0; i < 5; i++) {
  denobpf();
  exporterModel();
}
const times = { denobpf: [] as number[], model: [] as number[], walk: [] as number[] };
const bytes = { denobpf: [] as number[], model: [] as number[], walk: [] as number[] };
let size = 0;
for (let r = 0; r < ROUNDS; r++) {
  const sides = [["denobpf", denobpf], ["model", exporterModel], ["walk", walkOnly]] as const;
  for (const [name, f] of sides) {
    const t0 = performance.now();
    f();
    times[name].push(performance.now() - t0);
    const a = await allocated(f);
    bytes[name].push(a.bytes);
    if (name === "denobpf") size = a.size;
  }
}
const t = { d: median(times.denobpf), m: median(times.model) };
const b = { d: median(bytes.denobpf), m: median(bytes.model) };
const kb = (x: number) => `${(x / 1024).toFixed(0)} KiB`;
console.log(`one scrape of ${SERIES} series (${kb(size)} of text), medians of ${ROUNDS} rounds`);
console.log(`| | time | allocated | allocated per series |`);
console.log(`|---|---|---|---|`);
console.log(
  `| denobpf mapMetric | ${t.d.toFixed(2)} ms | ${kb(b.d)} | ${(b.d / SERIES).toFixed(0)} B |`,
);
console.log(
  `| ebpf_exporter model (one batch read, a metric per series) | ${t.m.toFixed(2)} ms | ${
    kb(b.m)
  } | ${(b.m / SERIES).toFixed(0)} B |`,
);
console.log(
  `| (the batch walk alone, in the kernel) | ${median(times.walk).toFixed(2)} ms | ${
    kb(median(bytes.walk))
  } | |`,
);
console.log(`| ratio denobpf / model | ${ratio(t.d, t.m)} | ${ratio(b.d, b.m)} | |`);
