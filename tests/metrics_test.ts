// @denobpf/ebpf/metrics: scripted probes and maps served as Prometheus
// metrics. The end-to-end test runs a workload, serves the probes' values
// on a loopback port, has a real Prometheus server (Debian's `prometheus`)
// scrape them, and reads them back through Prometheus's HTTP API; the
// others check the exposition text itself (and `promtool check metrics`).

import assert from "node:assert/strict";
import fc from "fast-check";
import { createMap } from "@denobpf/ebpf/map";
import { probe, uprobe } from "@denobpf/ebpf/probe";
import { bpftrace } from "@denobpf/ebpf/bpftrace";
import {
  type ExpositionFormat,
  type HistogramLike,
  mapMetric,
  metricsHandler,
  MetricsRenderer,
  negotiateFormat,
  OPENMETRICS_CONTENT_TYPE,
  parseExporterConfig,
  probeMetric,
  PROMETHEUS_CONTENT_TYPE,
  scriptMetric,
} from "@denobpf/ebpf/metrics";
import { InvalidArgumentError } from "@denobpf/ebpf";
import { buildProbeTarget, runProbeTarget } from "./probe_fixtures.ts";
import { promtoolCheck } from "./exporter_fixtures.ts";

const enc = new TextEncoder();

/** A hash map of struct { u32 pid; char comm[16]; } → u64 with the given rows. */
function callsMap(
  rows: [pid: number, comm: string, value: number][],
  type: "hash" | "percpu_hash" = "hash",
) {
  const m = createMap({ type, keySize: 20, valueSize: 8, maxEntries: 64, name: "calls" });
  for (const [pid, comm, value] of rows) {
    const k = new Uint8Array(20);
    new DataView(k.buffer).setUint32(0, pid, true);
    k.set(enc.encode(comm).subarray(0, 16), 4);
    const v = new Uint8Array(8);
    new DataView(v.buffer).setBigUint64(0, BigInt(value), true);
    if (m.perCpu) {
      m.updatePerCpu(k, Array.from({ length: m.cpus }, () => v));
    } else {
      m.update(k, v);
    }
  }
  return m;
}

const CALL_LABELS = [
  { name: "pid", type: "u32" },
  { name: "comm", type: "string", size: 16 },
] as const;

async function scrape(
  handler: (r: Request) => Response,
  accept?: string,
): Promise<{ type: string | null; text: string }> {
  const r = handler(
    new Request("http://127.0.0.1/metrics", { headers: accept ? { accept } : {} }),
  );
  assert.equal(r.status, 200, await r.clone().text());
  return { type: r.headers.get("content-type"), text: await r.text() };
}

/** The sample lines (not comments) of an exposition, sorted. */
function samples(text: string): string[] {
  return text.split("\n").filter((l) => l && !l.startsWith("#")).sort();
}

Deno.test("map metric: labels decoded from the key, per-CPU values summed, both formats", async () => {
  using m = callsMap([[42, 'ba"s\\h\nx', 5], [7, "deno", 2]], "percpu_hash");
  const handler = metricsHandler([
    mapMetric(m, { name: "calls_total", help: "Calls\nby process", labels: [...CALL_LABELS] }),
  ]);
  const prom = await scrape(handler);
  assert.equal(prom.type, PROMETHEUS_CONTENT_TYPE);
  const cpus = m.cpus;
  assert.deepEqual(samples(prom.text), [
    `calls_total{pid="42",comm="ba\\"s\\\\h\\nx"} ${5 * cpus}`,
    `calls_total{pid="7",comm="deno"} ${2 * cpus}`,
    `denobpf_metrics_dropped_series_total{metric="calls_total"} 0`,
  ]);
  assert.match(prom.text, /^# HELP calls_total Calls\\nby process\n# TYPE calls_total counter\n/);
  assert.equal(await promtoolCheck(prom.text), "");

  const om = await scrape(handler, "application/openmetrics-text;version=1.0.0");
  assert.equal(om.type, OPENMETRICS_CONTENT_TYPE);
  assert.match(om.text, /^# HELP calls Calls\\nby process\n# TYPE calls counter\n/);
  assert.deepEqual(samples(om.text), samples(prom.text));
  assert.ok(om.text.endsWith("\n# EOF\n"), om.text.slice(-40));
});

Deno.test("map metric: past maxSeries the rest are left out and counted, scrape after scrape", async () => {
  using m = callsMap([[1, "a", 1], [2, "b", 2], [3, "c", 3], [4, "d", 4], [5, "e", 5]]);
  const handler = metricsHandler([
    mapMetric(m, { name: "calls_total", labels: [...CALL_LABELS], maxSeries: 2, batchSize: 2 }),
  ]);
  for (const dropped of [3, 6]) {
    const lines = samples((await scrape(handler)).text);
    assert.equal(lines.filter((l) => l.startsWith("calls_total{")).length, 2);
    assert.ok(
      lines.includes(`denobpf_metrics_dropped_series_total{metric="calls_total"} ${dropped}`),
      lines.join("\n"),
    );
  }
});

Deno.test("map metric: named values, gauges, a value inside a struct, and refusals that name the metric", async () => {
  using m = createMap({ type: "array", keySize: 4, valueSize: 16, maxEntries: 3, name: "state" });
  const v = new Uint8Array(16);
  new DataView(v.buffer).setBigUint64(8, 2n ** 40n + 3n, true);
  m.update(new Uint8Array([1, 0, 0, 0]), v);
  const metric = mapMetric(m, {
    name: "state_bytes",
    type: "gauge",
    labels: [{ name: "state", type: "u32", values: { 0: "idle", 1: "busy" } }],
    value: { type: "u64", offset: 8 },
  });
  const text = (await scrape(metricsHandler([metric]))).text;
  assert.match(text, /# TYPE state_bytes gauge\n/);
  assert.deepEqual(samples(text).filter((l) => l.startsWith("state_bytes")), [
    `state_bytes{state="2"} 0`,
    `state_bytes{state="busy"} ${2 ** 40 + 3}`,
    `state_bytes{state="idle"} 0`,
  ]);
  assert.throws(
    () => mapMetric(m, { name: "x", labels: [{ name: "pid", type: "u64" }] }),
    (e: unknown) =>
      e instanceof InvalidArgumentError &&
      /metric x: label "pid" reads bytes 0…8 .*4-byte keys/.test(e.message),
  );
  assert.throws(
    () => mapMetric(m, { name: "x", labels: [] }),
    (e: unknown) =>
      e instanceof InvalidArgumentError && /16-byte values.*value: \{ type/.test(e.message),
  );
  assert.throws(
    () => mapMetric(m, { name: "2x", labels: [], value: { type: "u64" } }),
    (e: unknown) =>
      e instanceof InvalidArgumentError && /"2x" is not a Prometheus metric name/.test(e.message),
  );
  assert.throws(
    () => metricsHandler([metric, metric]),
    (e: unknown) =>
      e instanceof InvalidArgumentError && /two metrics are named "state_bytes"/.test(e.message),
  );
});

Deno.test("map metric: a histogram held in the value as slots (libbpf-tools' struct hist), log2 and linear", async () => {
  using m = createMap({
    type: "percpu_hash",
    keySize: 4,
    valueSize: 16,
    maxEntries: 8,
    name: "hists",
  });
  const v = new Uint8Array(16);
  new Uint32Array(v.buffer).set([2, 0, 3, 1]); // slots 0..3 on every CPU
  m.updatePerCpu(new Uint8Array([9, 0, 0, 0]), Array.from({ length: m.cpus }, () => v));
  const n = m.cpus;
  const handler = metricsHandler([
    mapMetric(m, {
      name: "lat_log2",
      labels: [{ name: "pid", type: "u32" }],
      histogram: { slots: 4 },
    }),
    mapMetric(m, {
      name: "lat_linear",
      labels: [{ name: "pid", type: "u32" }],
      histogram: { slots: 4, buckets: { min: 0, step: 10 } },
    }),
  ]);
  const text = (await scrape(handler)).text;
  const family = (name: string) => samples(text).filter((l) => l.startsWith(`${name}_`));
  // log2: slot 0 holds 0 and 1, slot i 2^i … 2^(i+1) − 1; the last slot holds the rest.
  assert.deepEqual(family("lat_log2"), [
    `lat_log2_bucket{pid="9",le="+Inf"} ${6 * n}`,
    `lat_log2_bucket{pid="9",le="1"} ${2 * n}`,
    `lat_log2_bucket{pid="9",le="3"} ${2 * n}`,
    `lat_log2_bucket{pid="9",le="7"} ${5 * n}`,
    `lat_log2_count{pid="9"} ${6 * n}`,
    `lat_log2_sum{pid="9"} ${(2 * 1 + 3 * 7 + 1 * 8) * n}`,
  ]);
  assert.deepEqual(family("lat_linear"), [
    `lat_linear_bucket{pid="9",le="+Inf"} ${6 * n}`,
    `lat_linear_bucket{pid="9",le="19"} ${2 * n}`,
    `lat_linear_bucket{pid="9",le="29"} ${5 * n}`,
    `lat_linear_bucket{pid="9",le="9"} ${2 * n}`,
    `lat_linear_count{pid="9"} ${6 * n}`,
    `lat_linear_sum{pid="9"} ${(2 * 9 + 3 * 29 + 1 * 30) * n}`,
  ]);
  assert.match(text, /# TYPE lat_log2 histogram\n/);
  assert.equal(await promtoolCheck(text), "");
  assert.throws(
    () => mapMetric(m, { name: "x", labels: [], histogram: { slots: 5 } }),
    (e: unknown) =>
      e instanceof InvalidArgumentError &&
      /5 u32 slots at offset 0 do not fit .*16-byte values/.test(e.message),
  );
});

Deno.test("a map closed under a running handler: the scrape answers 500 naming the metric", async () => {
  const m = callsMap([[1, "a", 1]]);
  const handler = metricsHandler([mapMetric(m, { name: "calls_total", labels: [...CALL_LABELS] })]);
  m.close();
  const r = handler(new Request("http://127.0.0.1/metrics"));
  assert.equal(r.status, 500);
  assert.match(await r.text(), /metric calls_total: reading it for a scrape failed: .*closed/);
  const other = handler(new Request("http://127.0.0.1/other"));
  assert.equal(other.status, 404);
  assert.match(await other.text(), /metrics are at \/metrics/);
});

Deno.test("negotiation: OpenMetrics only when the Accept header asks for it", () => {
  assert.equal(negotiateFormat(null), "prometheus");
  assert.equal(negotiateFormat("text/plain;version=0.0.4;q=0.5,*/*;q=0.1"), "prometheus");
  assert.equal(
    negotiateFormat(
      "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;" +
        "q=0.75,text/plain;version=0.0.4;q=0.5,*/*;q=0.1",
    ),
    "openmetrics",
  );
  assert.equal(negotiateFormat("application/openmetrics-text; q=0, text/plain"), "prometheus");
});

Deno.test("label values: any string survives escaping (property)", () => {
  using m = callsMap([[1, "a", 9]]);
  let label = "";
  const renderer = new MetricsRenderer([
    mapMetric(m, {
      name: "calls_total",
      labels: [{ name: "who", size: 4, decode: () => label }],
    }),
  ]);
  const dec = new TextDecoder();
  const unescape = (s: string) => s.replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
  for (const format of ["prometheus", "openmetrics"] as ExpositionFormat[]) {
    fc.assert(
      fc.property(fc.fullUnicodeString(), (s) => {
        label = s;
        const text = dec.decode(renderer.render(format));
        const line = text.split("\n").find((l) => l.startsWith("calls_total{"))!;
        const m = /^calls_total\{who="((?:[^"\\\n]|\\[\\"n])*)"\} 9$/.exec(line);
        assert.ok(m, `not one well-formed line: ${JSON.stringify(line)}`);
        assert.equal(unescape(m[1]), s);
      }),
      { numRuns: 300 },
    );
  }
});

Deno.test("probe metrics: hist and lhist as Prometheus histograms, avg as a gauge, keys as labels", async () => {
  const bin = await buildProbeTarget();
  const at = uprobe(bin, "probe_target_value");
  await using log2 = await probe(at).hist("arg0");
  await using linear = await probe(at).lhist("arg0", { min: 0, max: 10, step: 3 });
  await using mean = await probe(at).avg("arg0", { by: "comm" });
  await using byTuple = await probe(at).count({ by: ["comm", "arg0"] });
  await runProbeTarget(0, [1, 2, 3, 12]);
  const handler = metricsHandler([
    probeMetric(log2, { name: "v_log2", help: "log2" }),
    probeMetric(linear, { name: "v_linear", help: "linear" }),
    probeMetric(mean, { name: "v_mean", labels: ["comm"] }),
    probeMetric(byTuple, { name: "v_calls", maxSeries: 3 }),
  ]);
  const text = (await scrape(handler)).text;
  const family = (name: string) => samples(text).filter((l) => l.startsWith(`${name}_`));
  // [1] [2, 4) [4, 8) [8, 16): le is each bucket's largest value.
  assert.deepEqual(family("v_log2"), [
    'v_log2_bucket{le="+Inf"} 4',
    'v_log2_bucket{le="1"} 1',
    'v_log2_bucket{le="15"} 4',
    'v_log2_bucket{le="3"} 3',
    'v_log2_bucket{le="7"} 3',
    "v_log2_count 4",
    "v_log2_sum 22", // 1 + 3 + 3 + 15: each value at its bucket's largest value
  ]);
  // [0, 3) [3, 6) [6, 9) [10, ...): bpftrace's buckets, one per whole step (the
  // partial step 9..10 has none).
  assert.deepEqual(family("v_linear"), [
    'v_linear_bucket{le="+Inf"} 4',
    'v_linear_bucket{le="2"} 2',
    'v_linear_bucket{le="5"} 3',
    'v_linear_bucket{le="8"} 3',
    "v_linear_count 4",
    "v_linear_sum 19", // 2 + 2 + 5 + 10 (the open-ended bucket counts at its lowest value)
  ]);
  assert.match(text, /# TYPE v_mean gauge\nv_mean\{comm="probe_target"\} 4.5\n/);
  // Tuple keys get key1, key2 by default; past maxSeries the smallest are left out.
  assert.equal(family("v_calls").length, 3);
  assert.ok(
    family("v_calls").every((l) => /^v_calls_total\{key1="probe_target",key2="\d+"\} 1$/.test(l)),
  );
  assert.ok(
    samples(text).includes('denobpf_metrics_dropped_series_total{metric="v_calls_total"} 1'),
  );
  assert.equal(await promtoolCheck(text), "");

  const wrong = metricsHandler([probeMetric(byTuple, { name: "v", labels: ["comm"] })]);
  const r = wrong(new Request("http://127.0.0.1/metrics"));
  assert.equal(r.status, 500);
  assert.match(
    await r.text(),
    /metric v_total: .*keys have 2 part\(s\) but labels names 1 \(\["comm"\]\)/,
  );
  assert.throws(
    () => probeMetric(mean, { name: "m", type: "counter" }),
    (e: unknown) =>
      e instanceof InvalidArgumentError && /avg aggregation is a gauge/.test(e.message),
  );
  assert.throws(
    () => probeMetric(log2, { name: "h", labels: ["le"] }),
    (e: unknown) => e instanceof InvalidArgumentError && /"le" is the bucket label/.test(e.message),
  );
});

// ---- the end-to-end test: a workload, the exporter, a real Prometheus server ----

/** A free loopback TCP port. */
function freePort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A Prometheus server scraping `target` every second; dispose kills it and removes its data. */
async function startPrometheus(target: string): Promise<
  { api: string; log: () => string } & AsyncDisposable
> {
  const dir = await Deno.makeTempDir({ prefix: "denobpf_prometheus_" });
  await Deno.writeTextFile(
    `${dir}/prometheus.yml`,
    [
      "global:",
      "  scrape_interval: 1s",
      "  scrape_timeout: 1s",
      "scrape_configs:",
      "  - job_name: denobpf",
      "    static_configs:",
      `      - targets: ["${target}"]`,
      "",
    ].join("\n"),
  );
  const port = freePort();
  const child = new Deno.Command("prometheus", {
    args: [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    stdout: "null",
    stderr: "piped",
  }).spawn();
  let log = "";
  const dec = new TextDecoder();
  const logged = child.stderr.pipeTo(
    new WritableStream({ write: (b) => void (log = (log + dec.decode(b)).slice(-4000)) }),
  ).catch(() => {});
  return {
    api: `http://127.0.0.1:${port}/api/v1`,
    log: () => log,
    async [Symbol.asyncDispose]() {
      try {
        child.kill("SIGTERM");
      } catch { /* already gone */ }
      await child.status;
      await logged;
      await Deno.remove(dir, { recursive: true });
    },
  };
}

interface Sample {
  metric: Record<string, string>;
  value: [number, string];
}

/** Polls (bounded: 60 tries, 0.5 s apart) until `query` has results; returns them. */
async function queryWhenThere(
  prom: { api: string; log: () => string },
  query: string,
): Promise<Sample[]> {
  for (let i = 0; i < 60; i++) {
    try {
      const r = await fetch(`${prom.api}/query?query=${encodeURIComponent(query)}`);
      const body = await r.json();
      if (body.status === "success" && body.data.result.length > 0) return body.data.result;
    } catch { /* not listening yet */ }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`Prometheus never had ${query}; its log:\n${prom.log()}`);
}

Deno.test("end to end: a real Prometheus scrapes the exporter; the counter and the histogram match the probes", async () => {
  const bin = await buildProbeTarget();
  await using calls = await probe(uprobe(bin, "probe_target_add")).count({ by: ["comm", "pid"] });
  await using values = await probe(uprobe(bin, "probe_target_value")).hist("arg0");
  // The shipped run-queue latency script (examples/exporter/runqlat.yaml), its @usecs in seconds.
  const runqlat = parseExporterConfig(
    await Deno.readTextFile(new URL("../examples/exporter/runqlat.yaml", import.meta.url)),
  ).scripts![0];
  await using rq = await bpftrace(runqlat.bpftrace!, { printMaps: false });
  const rqTotal = () => (rq.maps["@usecs"]?.get(null) as HistogramLike | undefined)?.total ?? 0;
  // The workload: two runs of the target, 37 and 5 calls, then values to histogram.
  const pidA = await runProbeTarget(37);
  const pidB = await runProbeTarget(5, [0, 1, 2, 3, 5, 7, 8, 100, 1000, 1000, 65536]);

  const handler = metricsHandler([
    probeMetric(calls, { name: "target_calls_total", labels: ["comm", "pid"] }),
    probeMetric(values, { name: "target_value", help: "Values passed to probe_target_value" }),
    scriptMetric(rq, { ...runqlat.metrics[0], kind: "hist" }),
  ]);
  const accepts: (string | null)[] = [];
  await using server = Deno.serve(
    { hostname: "127.0.0.1", port: 0, onListen: () => {} },
    (request) => {
      accepts.push(request.headers.get("accept"));
      return handler(request);
    },
  );
  const direct = await fetch(`http://127.0.0.1:${server.addr.port}/metrics`);
  assert.equal(await promtoolCheck(await direct.text()), "");

  await using prom = await startPrometheus(`127.0.0.1:${server.addr.port}`);
  const up = await queryWhenThere(prom, 'up{job="denobpf"} == 1');
  assert.equal(up.length, 1);

  const counted = await queryWhenThere(prom, "target_calls_total");
  const byPid = new Map(counted.map((s) => [Number(s.metric.pid), Number(s.value[1])]));
  assert.deepEqual(byPid, new Map([[pidA, 37], [pidB, 5]]));
  assert.ok(counted.every((s) => s.metric.comm === "probe_target"), JSON.stringify(counted));
  for (const [[comm, pid], n] of calls.read()) {
    assert.equal(byPid.get(pid), n, `${comm} ${pid}`);
  }

  // The probe's own histogram, cumulated: le is each bucket's largest value.
  const own = values.get()!;
  const want = new Map<number, number>();
  let cumulative = 0;
  for (const b of own.buckets) {
    cumulative += b.count;
    if (b.high !== Infinity) want.set(b.high - 1, cumulative);
  }
  want.set(Infinity, own.total);
  assert.equal(own.total, 11);
  const buckets = await queryWhenThere(prom, "target_value_bucket");
  const le = (s: string) => s === "+Inf" ? Infinity : Number(s);
  const got = new Map(buckets.map((s) => [le(s.metric.le), Number(s.value[1])]));
  assert.deepEqual(got, want);
  assert.equal(got.get(0), 1); // [0]
  assert.equal(got.get(7), 6); // up to [4, 8)
  assert.equal(got.get(1023), 10); // up to [512, 1K)
  const count = await queryWhenThere(prom, "target_value_count");
  assert.equal(Number(count[0].value[1]), 11);
  // Prometheus asked for (and so parsed) OpenMetrics.
  assert.ok(accepts.slice(1).some((a) => negotiateFormat(a) === "openmetrics"), String(accepts));
  // Run-queue latency: Prometheus's last scrape lies between the first read and now.
  const before = rqTotal();
  const rqCount = await queryWhenThere(prom, "runqueue_latency_seconds_count > 0");
  assert.ok(Number(rqCount[0].value[1]) <= rqTotal(), JSON.stringify(rqCount));
  const rqBuckets = await queryWhenThere(prom, 'runqueue_latency_seconds_bucket{le="+Inf"}');
  assert.ok(Number(rqBuckets[0].value[1]) > 0 && before > 0);
  const sum = await queryWhenThere(prom, "target_value_sum");
  assert.ok(Number(sum[0].value[1]) >= 0 + 1 + 2 + 3 + 5 + 7 + 8 + 100 + 2000 + 65536);
});
