import assert from "node:assert/strict";
import { createMap } from "../src/map/mod.ts";
import { perfReader, type PerfRecord } from "../src/perf/mod.ts";
import { InvalidArgumentError } from "../src/errors.ts";
import { onlineCpus, openFdCount, possibleCpuCount } from "../src/sys/mod.ts";
import { decodeRecord, MARK, onOneCpu, perfWriter, runOnce } from "./_events_fixtures.ts";

function perfMap() {
  return createMap({
    type: "perf_event_array",
    keySize: 4,
    valueSize: 4,
    maxEntries: possibleCpuCount(),
  });
}

Deno.test("perf buffer: a known sequence arrives in order with nothing lost", () => {
  using map = perfMap();
  using prog = perfWriter(map.fd);
  using reader = perfReader(map, { perCpuBufferSize: 1 << 16 });
  assert.deepEqual(reader.cpus, onlineCpus());
  const got: PerfRecord[] = [];
  for (let i = 0; i < 500; i++) {
    runOnce(prog, 14 + (i % 100));
    if (i % 50 === 49) reader.consume((r) => void got.push({ ...r, data: r.data?.slice() }));
  }
  assert.equal(got.filter((r) => r.lost).length, 0);
  assert.equal(got.length, 500);
  // Samples from one CPU keep their order; test runs on one thread, which may migrate.
  const byCpu = new Map<number, number[]>();
  for (const r of got) {
    const { len, mark } = decodeRecord(r.data!);
    assert.equal(mark, MARK);
    byCpu.set(r.cpu, [...(byCpu.get(r.cpu) ?? []), len]);
  }
  const all = got.map((r) => decodeRecord(r.data!).len).sort((a, b) => a - b);
  assert.deepEqual(all, Array.from({ length: 500 }, (_, i) => i % 100).sort((a, b) => a - b));
});

Deno.test("perf buffer: overflow is reported as lost-sample records", () => {
  using map = perfMap();
  using prog = perfWriter(map.fd);
  using reader = perfReader(map, { perCpuBufferSize: 4096 });
  // On one CPU: the lost record is written to the ring of the CPU that lost,
  // with its next write, and the thread could otherwise migrate in between.
  onOneCpu(() => {
    // 4096-byte ring, each sample 8 header + 4 size + 20 padded data = 32 bytes
    for (let i = 0; i < 1000; i++) runOnce(prog, 14 + (i % 50));
    let samples = 0;
    let lost = 0;
    reader.consume((r) => {
      if (r.lost) lost += r.lost;
      else samples++;
    });
    // The lost record itself takes ring space, so it appears once the reader freed some.
    for (let i = 0; i < 3; i++) runOnce(prog, 14);
    reader.consume((r) => {
      if (r.lost) lost += r.lost;
      else samples++;
    });
    assert.ok(lost > 0, "some samples lost");
    assert.equal(samples + lost, 1003, `samples ${samples} + lost ${lost}`);
  });
});

Deno.test("perf buffer: async iterator and pause/resume", async () => {
  using map = perfMap();
  using prog = perfWriter(map.fd);
  using reader = perfReader(map);
  reader.pause();
  assert.ok(reader.paused);
  for (let i = 0; i < 5; i++) runOnce(prog, 40);
  assert.equal(reader.consume(() => {}), 0, "nothing written while paused");
  reader.resume();
  const ac = new AbortController();
  const lens: number[] = [];
  const done = (async () => {
    for await (const r of reader.records({ signal: ac.signal })) {
      if (r.data) lens.push(decodeRecord(r.data).len);
      if (lens.length === 10) ac.abort();
    }
  })();
  for (let i = 0; i < 10; i++) {
    runOnce(prog, 50 + i);
    await new Promise((r) => setTimeout(r, 1));
  }
  await done;
  assert.deepEqual(lens.sort((a, b) => a - b), Array.from({ length: 10 }, (_, i) => 36 + i));
});

Deno.test("perf buffer reader: wrong map type is typed; close removes rings and leaks nothing", () => {
  using arr = createMap({ type: "array", keySize: 4, valueSize: 4, maxEntries: 1 });
  assert.throws(() => perfReader(arr), InvalidArgumentError);
  using map = perfMap();
  const before = openFdCount();
  for (let i = 0; i < 50; i++) perfReader(map).close();
  assert.equal(openFdCount(), before);
});
