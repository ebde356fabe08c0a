// Scripts as metrics (issue 16): an exporter configuration's `scripts:` (a
// bpftrace program, or the probe IR) whose maps become metrics through
// scriptMetric; the shipped run-queue latency configuration
// (examples/exporter/runqlat.yaml) on a workload of pipe wakeups, its
// histogram checked against the script's own.

import assert from "node:assert/strict";
import {
  type HistogramLike,
  metricsHandler,
  parseExporterConfig,
  scriptMetric,
  startExporter,
} from "@denobpf/ebpf/metrics";
import { InvalidArgumentError } from "@denobpf/ebpf";
import { haveFeature } from "../src/features/mod.ts";
import { promtoolCheck, startExport } from "./exporter_fixtures.ts";

const RUNQLAT = "examples/exporter/runqlat.yaml";
const root = new URL("../", import.meta.url);

function scrape(handler: (r: Request) => Response): Promise<string> {
  const r = handler(new Request("http://127.0.0.1/metrics"));
  assert.equal(r.status, 200);
  return r.text();
}

/** `name_bucket` samples of an exposition by `le` (+Inf as Infinity), in order. */
function buckets(text: string, name: string): [number, number][] {
  const re = new RegExp(`^${name}_bucket\\{le="([^"]+)"\\} (\\d+)$`, "gm");
  return [...text.matchAll(re)].map((m) => [m[1] === "+Inf" ? Infinity : Number(m[1]), +m[2]]);
}

function sample(text: string, name: string): number {
  const m = new RegExp(`^${name} (\\d+)$`, "m").exec(text);
  assert.ok(m, `no ${name} in\n${text}`);
  return Number(m[1]);
}

/** A histogram's count of values ≤ `le` (its buckets hold integers: [low, high)). */
function atMost(h: HistogramLike | undefined, le: number): number {
  let n = 0;
  for (const b of h?.buckets ?? []) if (b.high - 1 <= le) n += b.count;
  return le === Infinity ? h?.total ?? 0 : n;
}

/** Two processes passing bytes through a pipe: each write wakes the reader. */
async function pipeWorkload(): Promise<void> {
  const out = await new Deno.Command("sh", {
    args: ["-c", "i=0; while [ $i -lt 300 ]; do echo $i; i=$((i+1)); done | cat >/dev/null"],
  }).output();
  assert.ok(out.success);
}

Deno.test("scripts in a config: checked field by field, IR int literals made bigints, errors naming the script", () => {
  const c = parseExporterConfig(
    [
      "scripts:",
      "  - name: w",
      "    bpftrace: |",
      "      #include <linux/sched.h>",
      "      tracepoint:sched:sched_wakeup { @n[args->comm] = count(); }",
      "    metrics:",
      '      - map: "@n"',
      "        name: wakeups_total",
      "        labels: [comm]",
      "",
    ].join("\n"),
  );
  assert.deepEqual(c.metrics, []);
  assert.deepEqual(c.scripts, [{
    name: "w",
    bpftrace: "#include <linux/sched.h>\n" +
      "tracepoint:sched:sched_wakeup { @n[args->comm] = count(); }\n",
    metrics: [{ map: "@n", name: "wakeups_total", labels: ["comm"] }],
  }]);
  const json = parseExporterConfig(JSON.stringify({
    metrics: [],
    scripts: [{
      ir: {
        probes: [{
          points: [{ kind: "begin", target: "" }],
          body: [{ op: "map_set", map: "@x", value: { op: "int", value: 42 } }],
        }],
      },
      metrics: [{ map: "@x", name: "x" }],
    }],
  }));
  // deno-lint-ignore no-explicit-any
  assert.equal((json.scripts![0].ir as any).probes[0].body[0].value.value, 42n);
  const refuses = (doc: unknown, re: RegExp) =>
    assert.throws(
      () => parseExporterConfig(JSON.stringify(doc), "s.json"),
      (e: unknown) => e instanceof InvalidArgumentError && re.test(e.message),
      JSON.stringify(doc),
    );
  const m = [{ map: "@x", name: "x" }];
  refuses({ scripts: [{ metrics: m }] }, /s\.json: scripts\[0\]: give either a bpftrace/);
  refuses({ scripts: [{ bpftrace: "x", ir: { probes: [] }, metrics: m }] }, /give either/);
  refuses({ scripts: [{ name: "a", bpftrace: "x", metrics: [] }] }, /scripts\[0\] \(a\): needs a/);
  refuses({ scripts: [{ bpftrace: "x", metrics: [{ map: "x", name: "x" }] }] }, /map: "@usecs"/);
  refuses({ scripts: [{ bpftrace: "x", metrics: [{ ...m[0], le: 1 }] }] }, /unknown field "le"/);
  refuses({ scripts: [{ ir: { probes: 1 }, metrics: m }] }, /ir must be a probe IR script/);
  refuses(
    { scripts: [{ ir: { probes: [{ op: "int", value: 1.5 }] }, metrics: m }] },
    /an int literal's value must be an integer, got 1.5/,
  );
  refuses({ scripts: {} }, /scripts must be a list/);
  refuses({ metrics: [] }, /needs a non-empty metrics list \(or scripts\)/);
});

Deno.test("scriptMetric: each kind as probeMetric writes it, one read of the maps per scrape", async () => {
  let reads = 0;
  const maps: Record<string, Map<unknown, unknown>> = {
    "@c": new Map<unknown, unknown>([[["a", 1], 3], [["b", 2], 2n ** 60n]]),
    "@v": new Map([[7, -5]]),
    "@s": new Map([[null, "text"]]),
  };
  const script = {
    get maps() {
      reads++;
      return maps;
    },
  };
  const handler = metricsHandler([
    scriptMetric(script, { map: "@c", kind: "count", name: "c_total", labels: ["comm", "pid"] }),
    scriptMetric(script, { map: "@v", kind: "value", name: "v" }),
    scriptMetric(script, { map: "@none", kind: "hist", name: "h" }),
  ]);
  const text = await scrape(handler);
  assert.equal(reads, 1);
  assert.match(text, /# TYPE c_total counter\n/);
  assert.match(text, /\nc_total\{comm="a",pid="1"\} 3\n/);
  assert.match(text, /\nc_total\{comm="b",pid="2"\} 1152921504606847000\n/);
  assert.match(text, /# HELP v values of the script's map @v\n# TYPE v gauge\nv\{key="7"\} -5\n/);
  assert.match(text, /# TYPE h histogram\n/);
  assert.equal(await promtoolCheck(text), "");
  await scrape(handler);
  assert.equal(reads, 2);
  // Past maxSeries the smallest series are left out, whatever the map's order.
  const capped = await scrape(metricsHandler([
    scriptMetric(script, { map: "@c", kind: "count", name: "c_total", maxSeries: 1 }),
  ]));
  assert.deepEqual(capped.split("\n").filter((l) => l.startsWith("c_total")), [
    'c_total{key1="b",key2="2"} 1152921504606847000',
  ]);
  assert.match(capped, /dropped_series_total\{metric="c_total"\} 1\n/);
  maps["@c"] = new Map([...maps["@c"]].reverse());
  const reversed = await scrape(metricsHandler([
    scriptMetric(script, { map: "@c", kind: "count", name: "c_total", maxSeries: 1 }),
  ]));
  assert.equal(reversed, capped);
  // A map of strings is no metric: the scrape fails naming it.
  const r = metricsHandler([scriptMetric(script, { map: "@s", kind: "value", name: "s" })])(
    new Request("http://127.0.0.1/metrics"),
  );
  assert.equal(r.status, 500);
  assert.match(await r.text(), /metric s: a value of the script's map @s is a string/);
  assert.throws(
    () => scriptMetric(script, { map: "@c", kind: "stats" as "count", name: "st" }),
    (e: unknown) =>
      e instanceof InvalidArgumentError && /stats\(\) map is three values/.test(e.message),
  );
});

Deno.test("exporter scripts: an unknown map, a stats map and a bpftrace error are refused naming the script", async () => {
  const start = (program: string, map: string) =>
    startExporter(parseExporterConfig(JSON.stringify({
      scripts: [{ name: "t", bpftrace: program, metrics: [{ map, name: "m" }] }],
    })));
  const refused = async (p: Promise<unknown>, re: RegExp) =>
    await assert.rejects(
      p,
      (e: unknown) => e instanceof InvalidArgumentError && re.test(e.message),
    );
  await refused(
    start("BEGIN { @a = count(); }", "@b"),
    /script t: metric m: the script writes no map @b \(its maps: @a\)/,
  );
  await refused(start("BEGIN { @a = stats(1); }", "@a"), /script t: metric m: @a is a stats\(\)/);
  await refused(
    start("BEGIN { @a = nope(); }", "@a"),
    /script t: the bpftrace program does not compile:\nt:1:/,
  );
});

const TESTRUN = haveFeature("raw_tp_test_run");

Deno.test({
  name:
    'exporter scripts: the probe IR from JSON runs (BEGIN sets @x["a", 7] = 42 and @c = count())' +
    (TESTRUN ? "" : " (skipped: no raw_tp_test_run on this kernel)"),
  ignore: !TESTRUN,
  fn: async () => {
    const key = { op: "tuple", elems: [{ op: "str", value: "a" }, { op: "int", value: 7 }] };
    await using exporter = await startExporter(parseExporterConfig(JSON.stringify({
      scripts: [{
        ir: {
          probes: [{
            points: [{ kind: "begin", target: "" }],
            body: [
              { op: "map_set", map: "@x", key, value: { op: "int", value: "42" } },
              { op: "aggregate", map: "@c", fn: "count", args: [] },
            ],
          }],
        },
        metrics: [
          { map: "@x", name: "x", labels: ["s", "n"] },
          { map: "@c", name: "begins_total" },
        ],
      }],
    })));
    const text = await scrape(exporter.handler);
    assert.match(text, /# TYPE x gauge\nx\{s="a",n="7"\} 42\n/);
    assert.match(text, /# TYPE begins_total counter\nbegins_total 1\n/);
    assert.equal(await promtoolCheck(text), "");
  },
});

Deno.test("runqlat.yaml: the run-queue latency histogram equals the script's own, read around each scrape", async () => {
  const config = parseExporterConfig(await Deno.readTextFile(new URL(RUNQLAT, root)), RUNQLAT);
  const exporter = await startExporter(config);
  const own = () => exporter.scripts[0].maps["@usecs"]?.get(null) as HistogramLike | undefined;
  const name = "runqueue_latency_seconds";
  let stopped = false;
  try {
    await pipeWorkload();
    for (let round = 0; round < 3; round++) {
      // The machine keeps switching tasks: a scrape lies between the reads
      // before and after it, bucket by bucket.
      const before = own();
      const response = exporter.handler(new Request("http://127.0.0.1/metrics"));
      const after = own();
      const text = await response.text();
      assert.equal(await promtoolCheck(text), "");
      const got = buckets(text, name);
      assert.ok(got.length > 1 && got.at(-1)![0] === Infinity, text);
      for (let i = 1; i < got.length; i++) {
        assert.ok(
          got[i][0] > got[i - 1][0] && got[i][1] >= got[i - 1][1],
          `not cumulative: ${text}`,
        );
      }
      for (const [le, n] of got) {
        const us = Math.round(le * 1e6); // the script's microseconds
        assert.ok(atMost(before, us) <= n && n <= atMost(after, us), `le=${le}: ${n}`);
      }
      assert.equal(sample(text, `${name}_count`), got.at(-1)![1]);
      assert.ok(sample(text, `${name}_count`) > 0);
      await pipeWorkload();
    }
    // Stopped, the script's maps hold still: the scrape equals them exactly.
    await exporter.close();
    stopped = true;
    const final = own()!;
    const text = await scrape(exporter.handler);
    let cumulative = 0;
    const want: [number, number][] = final.buckets.map((b) => [
      (b.high - 1) / 1e6,
      cumulative += b.count,
    ]);
    assert.deepEqual(buckets(text, name), [...want, [Infinity, final.total]]);
    assert.equal(sample(text, `${name}_count`), final.total);
  } finally {
    if (!stopped) await exporter.close();
  }
});

Deno.test("cli export: runqlat.yaml serves the run-queue latency histogram, SIGTERM stops it", async () => {
  const run = await startExport(RUNQLAT);
  let text = "";
  try {
    for (let i = 0; i < 20 && !/\nrunqueue_latency_seconds_count [1-9]/.test(text); i++) {
      await pipeWorkload();
      text = await (await fetch(run.url)).text();
    }
  } finally {
    const end = await run.terminate();
    assert.equal(end.code, 0, end.stderr);
    assert.match(end.stdout, /serving 1 metrics at .*\n(.|\n)*stopped\n$/);
  }
  assert.match(text, /# TYPE runqueue_latency_seconds histogram\n/);
  assert.match(text, /\nrunqueue_latency_seconds_bucket\{le="\+Inf"\} [1-9]/);
  assert.equal(await promtoolCheck(text), "");
});
