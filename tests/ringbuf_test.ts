import assert from "node:assert/strict";
import { createMap } from "../src/map/mod.ts";
import { ringBufReader } from "../src/ringbuf/mod.ts";
import { InvalidArgumentError } from "../src/errors.ts";
import { openFdCount } from "../src/sys/mod.ts";
import { decodeRecord, MARK, ringbufWriter, runOnce } from "./_events_fixtures.ts";

Deno.test("ring buffer: a known sequence arrives in order, nothing lost (consume, zero copy)", () => {
  using map = createMap({ type: "ringbuf", keySize: 0, valueSize: 0, maxEntries: 1 << 16 });
  using prog = ringbufWriter(map.fd);
  using reader = ringBufReader(map);
  assert.equal(reader.size, 1 << 16);
  const lens: number[] = [];
  for (let i = 0; i < 1000; i++) {
    runOnce(prog, 14 + (i % 200));
    if (i % 100 === 99) {
      reader.consume((rec) => {
        const { len, mark } = decodeRecord(rec);
        assert.equal(mark, MARK);
        assert.equal(rec.length, 16);
        lens.push(len);
      });
    }
  }
  assert.equal(lens.length, 1000);
  lens.forEach((l, i) => assert.equal(l, i % 200, `record ${i}`));
  assert.equal(reader.available(), 0);
});

Deno.test("ring buffer: async iterator yields records as they come, and ends on abort", async () => {
  using map = createMap({ type: "ringbuf", keySize: 0, valueSize: 0, maxEntries: 4096 });
  using prog = ringbufWriter(map.fd);
  using reader = ringBufReader(map);
  const ac = new AbortController();
  const got: number[] = [];
  const done = (async () => {
    for await (const rec of reader.records({ signal: ac.signal })) {
      got.push(decodeRecord(rec).len);
      if (got.length === 50) ac.abort();
    }
  })();
  for (let i = 0; i < 50; i++) {
    runOnce(prog, 20 + i);
    if (i % 10 === 0) await new Promise((r) => setTimeout(r, 1));
  }
  await done;
  assert.deepEqual(got, Array.from({ length: 50 }, (_, i) => 6 + i));
});

Deno.test("ring buffer: read() waits for the next record; a timeout gives undefined", async () => {
  using map = createMap({ type: "ringbuf", keySize: 0, valueSize: 0, maxEntries: 4096 });
  using prog = ringbufWriter(map.fd);
  using reader = ringBufReader(map);
  assert.equal(await reader.read({ timeoutMs: 10 }), undefined);
  setTimeout(() => runOnce(prog, 77), 20);
  const rec = await reader.read();
  assert.equal(decodeRecord(rec!).len, 77 - 14);
});

Deno.test("ring buffer: a full ring drops (the producer fails), later records still arrive in order", () => {
  using map = createMap({ type: "ringbuf", keySize: 0, valueSize: 0, maxEntries: 4096 });
  using prog = ringbufWriter(map.fd);
  using reader = ringBufReader(map);
  // each record takes 8 (header) + 16 bytes = 24; 4096 / 24 = 170 fit
  for (let i = 0; i < 300; i++) runOnce(prog, 14 + i);
  const lens: number[] = [];
  reader.consume((r) => {
    lens.push(decodeRecord(r).len);
  });
  assert.equal(lens.length, Math.floor(4096 / 24));
  lens.forEach((l, i) => assert.equal(l, i));
  runOnce(prog, 999);
  assert.equal(reader.poll(100, (r) => assert.equal(decodeRecord(r).len, 999 - 14)), 1);
});

Deno.test("ring buffer: poll blocks until data and returns the count; consume can stop early", () => {
  using map = createMap({ type: "ringbuf", keySize: 0, valueSize: 0, maxEntries: 4096 });
  using prog = ringbufWriter(map.fd);
  using reader = ringBufReader(map);
  assert.equal(reader.poll(0, () => {}), 0);
  for (let i = 0; i < 5; i++) runOnce(prog, 30 + i);
  let seen = 0;
  assert.equal(reader.consume(() => ++seen < 2), 2);
  assert.equal(reader.consume(() => {}), 3);
});

Deno.test("ring buffer reader: wrong map type is a typed error; closing leaks no descriptor", () => {
  using arr = createMap({ type: "array", keySize: 4, valueSize: 4, maxEntries: 1 });
  assert.throws(() => ringBufReader(arr), InvalidArgumentError);
  using map = createMap({ type: "ringbuf", keySize: 0, valueSize: 0, maxEntries: 4096 });
  const before = openFdCount();
  for (let i = 0; i < 200; i++) {
    const r = ringBufReader(map);
    r.close();
    r.close();
  }
  assert.equal(openFdCount(), before);
  const r = ringBufReader(map);
  r.close();
  assert.throws(() => r.consume(() => {}), /closed/);
});
