// Hardening of maps and of the argument checks around them: BPF_F_LOCK on
// lookupAndDelete and batch lookups, keys checked like values, numeric
// options of readers, createMap and attachUprobe, and the pinned-map race.
import assert from "node:assert/strict";
import { InvalidArgumentError } from "../src/errors.ts";
import {
  type BpfMap,
  createMap,
  cstring,
  loadPinnedMap,
  type MapSpec,
  struct,
  u32,
  u64,
} from "../src/map/mod.ts";
import { buildMapBtf } from "../src/map/_btf.ts";
import { loadBtfObject } from "../src/btf/_load.ts";
import { EINVAL } from "../src/sys/errno.ts";
import { SyscallError } from "../src/sys/error.ts";
import { mountBpffs } from "./_helpers.ts";
import { perfReader, type PerfReaderOptions } from "../src/perf/mod.ts";
import { ringBufReader, type RingBufReaderOptions } from "../src/ringbuf/mod.ts";
import { attachUprobe, attachUprobeMulti, attachUsdt } from "../src/link/mod.ts";
import { openFdCount } from "../src/sys/mod.ts";
import { Counter, countingProgram } from "./link_fixtures.ts";

function le32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}
function readU64(b: Uint8Array): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(0, true);
}

/** A hash map whose 16-byte value starts with a struct bpf_spin_lock (BTF), 8 bytes of data at 8. */
function spinLockHash(maxEntries = 8): BpfMap {
  const made = buildMapBtf({ valueSize: 16, spinLockOffset: 0 });
  using btf = loadBtfObject(made.blob, "map btf");
  return createMap({
    type: "hash",
    keySize: 4,
    valueSize: 16,
    maxEntries,
    name: "locked",
    btf: { btfFd: btf, keyTypeId: made.keyTypeId, valueTypeId: made.valueTypeId },
  });
}
function lockedValue(n: number): Uint8Array {
  const v = new Uint8Array(16);
  new DataView(v.buffer).setBigUint64(8, BigInt(n), true);
  return v;
}

/** The error the kernel gives for BPF_F_LOCK on a value without a spin lock, as we report it. */
function isLockRefusal(e: unknown): boolean {
  assert.ok(e instanceof SyscallError, `expected a SyscallError, got ${e}`);
  assert.equal(e.errno, EINVAL);
  assert.match(e.message, /spin_lock/);
  assert.match(e.message, /hash map plain/);
  return true;
}

// ------------------------------------------------- 9. BPF_F_LOCK everywhere

Deno.test('lookupAndDelete({ flags: "lock" }) takes the spin lock: value returned and removed', () => {
  using m = spinLockHash();
  m.update(le32(1), lockedValue(42), "lock");
  const got = m.lookupAndDelete(le32(1), { flags: "lock" });
  assert.ok(got !== undefined);
  assert.equal(readU64(got.subarray(8)), 42n);
  assert.equal(m.lookup(le32(1)), undefined, "the element is gone");
  assert.equal(m.lookupAndDelete(le32(1), { flags: "lock" }), undefined, "absent: undefined");
});

Deno.test('lookupAndDelete passes "lock" to the kernel: refused on a value without a spin lock', () => {
  using m = createMap({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 4, name: "plain" });
  m.update(le32(1), new Uint8Array(8));
  assert.throws(() => m.lookupAndDelete(le32(1), { flags: "lock" }), isLockRefusal);
  assert.ok(m.lookup(le32(1)) !== undefined, "a refused lookupAndDelete deletes nothing");
  // Update-only flags are refused before any syscall, for every lookup.
  for (const flags of ["exist", "noexist", 1] as const) {
    assert.throws(() => m.lookupAndDelete(le32(1), { flags }), (e: unknown) => {
      assert.ok(e instanceof InvalidArgumentError);
      assert.match(e.message, /hash map plain: lookups take only "lock"/);
      return true;
    });
    assert.throws(() => m.lookup(le32(1), { flags }), InvalidArgumentError);
  }
  assert.ok(m.lookup(le32(1)) !== undefined);
});

Deno.test('batch lookups with "lock": lookupBatch, lookupAndDeleteBatch and batchLookupAll', () => {
  using m = spinLockHash(16);
  for (let i = 0; i < 10; i++) m.update(le32(i), lockedValue(i * 10), "lock");
  const all = m.batchLookupAll({ flags: "lock" });
  assert.equal(all.length, 10);
  for (const [k, v] of all) {
    assert.equal(
      readU64(v.subarray(8)),
      BigInt(new DataView(k.buffer, k.byteOffset).getUint32(0, true) * 10),
    );
  }
  const cursor = m.batchCursor({ batchSize: 16 });
  const n = m.lookupBatch(cursor, undefined, { flags: "lock" });
  assert.equal(n, 10);
  const del = m.batchCursor({ batchSize: 16 });
  let removed = 0;
  while (!del.done) removed += m.lookupAndDeleteBatch(del, undefined, { flags: "lock" });
  assert.equal(removed, 10);
  assert.equal(m.nextKey(), undefined, "lookupAndDeleteBatch emptied the map");
});

Deno.test('batch lookups pass "lock" to the kernel: refused on a value without a spin lock', () => {
  using m = createMap({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 8, name: "plain" });
  for (let i = 0; i < 4; i++) m.update(le32(i), new Uint8Array(8));
  assert.throws(() => m.lookupBatch(m.batchCursor(), undefined, { flags: "lock" }), isLockRefusal);
  assert.throws(() => m.batchLookupAll({ flags: "lock" }), isLockRefusal);
  assert.throws(
    () => m.lookupAndDeleteBatch(m.batchCursor(), undefined, { flags: "lock" }),
    isLockRefusal,
  );
  assert.equal(m.batchLookupAll().length, 4, "nothing was deleted");
  assert.throws(
    () => m.lookupBatch(m.batchCursor(), undefined, { flags: "exist" }),
    InvalidArgumentError,
  );
});

// ------------------------------------------- 12. keys are checked like values

/** Asserts `fn` throws an InvalidArgumentError whose message matches every pattern. */
function invalid(fn: () => unknown, ...patterns: RegExp[]): void {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof InvalidArgumentError, `expected InvalidArgumentError, got ${e}`);
    for (const p of patterns) assert.match(e.message, p);
    return true;
  });
}

// Keys that are not a Uint8Array of the key size, including ones whose
// `.length` is right ("abcd", a Uint32Array of 4 elements, an array).
const BAD_KEYS: unknown[] = ["abcd", null, undefined, 7, new Uint32Array(4), [1, 2, 3, 4], {}];

Deno.test("keys: a string, null, a number or another typed array is an InvalidArgumentError", () => {
  using m = createMap({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 8, name: "keyed" });
  m.update(le32(0), new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]));
  const v = new Uint8Array(8);
  const ops: [string, (k: Uint8Array) => unknown][] = [
    ["lookup", (k) => m.lookup(k)],
    ["lookupInto", (k) => m.lookupInto(k, new Uint8Array(8))],
    ["has", (k) => m.has(k)],
    ["update", (k) => m.update(k, v)],
    ["delete", (k) => m.delete(k)],
    ["lookupAndDelete", (k) => m.lookupAndDelete(k)],
    ["updateBatch", (k) => m.updateBatch(k, v)],
    ["deleteBatch", (k) => m.deleteBatch(k)],
  ];
  for (const [name, op] of ops) {
    for (const key of BAD_KEYS) {
      invalid(() => op(key as Uint8Array), /hash map keyed/, /4 bytes/);
    }
    // key 0 is untouched: "abcd" was not read as key 0
    assert.ok(m.has(le32(0)), `${name} left key 0 alone`);
  }
  invalid(() => m.lookup("abcd" as unknown as Uint8Array), /Uint8Array of 4 bytes/, /"abcd"/);
  invalid(() => m.lookup(new Uint32Array(4) as unknown as Uint8Array), /Uint32Array/);
  // nextKey(): undefined is "the first key", anything else is checked.
  for (const key of BAD_KEYS.filter((k) => k !== undefined)) {
    invalid(() => m.nextKey(key as Uint8Array), /hash map keyed/, /4 bytes/);
  }
  assert.equal(m.lookupAndDelete(le32(0))?.length, 8);
});

Deno.test("values: a string or null of the right length is refused like a key", () => {
  using m = createMap({ type: "hash", keySize: 4, valueSize: 4, maxEntries: 8, name: "vals" });
  for (const value of ["abcd", null, undefined, new Uint32Array(4)] as unknown[]) {
    invalid(() => m.update(le32(1), value as Uint8Array), /hash map vals/, /4 bytes/);
    invalid(() => m.lookupInto(le32(1), value as Uint8Array), /hash map vals/);
    invalid(() => m.updateBatch(le32(1), value as Uint8Array), /hash map vals/);
  }
  assert.equal(m.has(le32(1)), false);
  using q = createMap({ type: "queue", valueSize: 4, maxEntries: 4, name: "q" });
  invalid(() => q.push("abcd" as unknown as Uint8Array), /queue map q/, /4 bytes/);
  assert.equal(q.pop(), undefined, "nothing was pushed");
  using bloom = createMap({ type: "bloom_filter", valueSize: 4, maxEntries: 4, name: "b" });
  invalid(() => bloom.contains(null as unknown as Uint8Array), /bloom_filter map b/);
});

Deno.test("keys: per-CPU lookups and updates check them too", () => {
  using m = createMap({ type: "percpu_hash", keySize: 4, valueSize: 8, maxEntries: 4, name: "pc" });
  for (const key of BAD_KEYS) {
    invalid(() => m.lookupPerCpu(key as Uint8Array), /percpu_hash map pc/, /4 bytes/);
    invalid(() => m.updatePerCpu(key as Uint8Array, []), /percpu_hash map pc/, /4 bytes/);
  }
  assert.equal(m.nextKey(), undefined, "nothing was written");
});

Deno.test("typed maps: a key or value of the wrong type names the map and the codec", () => {
  using m = createMap(
    { type: "hash", keySize: 4, valueSize: 8, maxEntries: 4, name: "typed" },
    { key: u32, value: u64 },
  );
  m.set(0, 5n);
  for (const key of ["abcd", null, undefined, 1.5, -1, {}]) {
    invalid(() => m.get(key as number), /hash map typed/, /key codec u32/);
    invalid(() => m.set(key as number, 1n), /hash map typed/, /key codec u32/);
    invalid(() => m.has(key as number), /hash map typed/, /key codec u32/);
    invalid(() => m.delete(key as number), /hash map typed/, /key codec u32/);
  }
  for (const value of ["1", null, undefined, 1.5, {}]) {
    invalid(() => m.set(1, value as bigint), /hash map typed/, /value codec u64/);
  }
  assert.deepEqual([...m], [[0, 5n]]);
  using s = createMap(
    { type: "hash", keySize: 16, valueSize: 4, maxEntries: 4, name: "named" },
    { key: struct({ name: cstring(12), id: u32 }), value: u32 },
  );
  invalid(() => s.get(null as unknown as { name: string; id: number }), /hash map named/);
  invalid(
    () => s.set({ name: 5 as unknown as string, id: 1 }, 1),
    /hash map named/,
    /cstring\(12\): expected a string/,
  );
  using pc = createMap(
    { type: "percpu_array", keySize: 4, valueSize: 8, maxEntries: 2, name: "pcarr" },
    { key: u32, value: u64 },
  );
  invalid(() => pc.getPerCpu("0" as unknown as number), /percpu_array map pcarr/, /key codec u32/);
  invalid(() => pc.setPerCpu(0, ["x" as unknown as bigint]), /percpu_array map pcarr/, /u64/);
});

// ------------------------------------------------ 15. the pinned-map race

const RACE_CHILD = `
import { createMap } from ${JSON.stringify(new URL("../src/map/mod.ts", import.meta.url).href)};
const [dir, work, me, procs, rounds] = Deno.args;
// Each round starts together: every process marks itself ready and waits
// for the others (a file barrier), then all create the same map at once.
function barrier(round) {
  Deno.writeTextFileSync(work + "/ready." + round + "." + me, "");
  for (let p = 0; p < Number(procs); p++) {
    for (;;) {
      try {
        Deno.statSync(work + "/ready." + round + "." + p);
        break;
      } catch { /* not yet */ }
    }
  }
}
const ids = [];
const errors = [];
for (let i = 0; i < Number(rounds); i++) {
  barrier(i);
  try {
    using m = createMap(
      { type: "hash", keySize: 4, valueSize: 4, maxEntries: 1, name: "race" + i, pinning: "by_name" },
      { pinPath: dir },
    );
    ids.push(m.info().id);
  } catch (e) {
    ids.push(null);
    errors.push(String(e));
  }
}
console.log(JSON.stringify({ ids, errors }));
`;

Deno.test('pinning "by_name": four processes creating the same maps at once all share one map', async () => {
  await using fs = await mountBpffs("denobpf_pinrace_");
  const work = await Deno.makeTempDir({ prefix: "denobpf_pinrace_work_" });
  try {
    const script = `${work}/child.ts`;
    await Deno.writeTextFile(script, RACE_CHILD);
    const procs = 4;
    const rounds = 30;
    const children = Array.from({ length: procs }, (_, me) =>
      new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--no-prompt", script, fs.path, work, `${me}`, `${procs}`, `${rounds}`],
        stdout: "piped",
        stderr: "piped",
      }).spawn());
    const results = await Promise.all(children.map((c) => c.output()));
    const reports = results.map((r) => {
      assert.ok(r.success, new TextDecoder().decode(r.stderr));
      return JSON.parse(new TextDecoder().decode(r.stdout)) as {
        ids: (number | null)[];
        errors: string[];
      };
    });
    for (const r of reports) assert.deepEqual(r.errors, [], "every creation succeeded");
    for (let i = 0; i < rounds; i++) {
      const ids = new Set(reports.map((r) => r.ids[i]));
      assert.equal(ids.size, 1, `race${i}: every process got the same map (${[...ids]})`);
      using pinned = loadPinnedMap(`${fs.path}/race${i}`);
      assert.equal(pinned.info().id, reports[0].ids[i], `race${i}: the pinned map is that map`);
      pinned.unpin();
    }
    const left = [...Deno.readDirSync(fs.path)].filter((e) => e.name.startsWith("race"));
    assert.deepEqual(left, [], "every pin was removed");
  } finally {
    await Deno.remove(work, { recursive: true });
  }
});

// ------------------------------------------ 13. numeric options are checked

const BAD_COUNTS: unknown[] = [NaN, -1, 0, 1.5, Infinity, 2 ** 32, "4096", null];

Deno.test("perfReader: NaN, negative, fractional or huge numeric options are InvalidArgumentErrors", () => {
  using map = createMap({ type: "perf_event_array", name: "events" });
  const fds = openFdCount();
  for (const v of BAD_COUNTS) {
    for (const name of ["perCpuBufferSize", "watermark", "wakeupEvents"]) {
      invalid(
        () => perfReader(map, { [name]: v } as PerfReaderOptions),
        new RegExp(`perfReader: ${name} must be an integer from 1`),
      );
    }
  }
  invalid(() => perfReader(map, { perCpuBufferSize: NaN }), /perCpuBufferSize/, /NaN/);
  invalid(() => perfReader(map, { perCpuBufferSize: -1 }), /perCpuBufferSize/, /-1/);
  for (const cpus of [[NaN], [-1], [0.5], ["0"], [0, 0], [], "0"]) {
    invalid(() => perfReader(map, { cpus } as PerfReaderOptions), /perfReader: (cpus|CPU)/);
  }
  invalid(() => perfReader(map, { cpus: [1 << 20] }), /CPU 1048576 is beyond/);
  assert.equal(openFdCount(), fds, "nothing was left open");
  using reader = perfReader(map, { perCpuBufferSize: 4096, cpus: [0] });
  for (const t of [NaN, -2, 1.5, 2 ** 31]) {
    invalid(() => reader.poll(t, () => {}), /perf reader poll: timeoutMs/);
  }
  for (const limit of [NaN, -1, 0.5]) {
    invalid(() => reader.consume(() => {}, limit), /perf reader consume: limit/);
  }
  assert.equal(reader.poll(0, () => {}), 0);
});

Deno.test("ringBufReader: size, timeouts and limits are checked", async () => {
  using map = createMap({ type: "ringbuf", maxEntries: 1 << 16, name: "rb" });
  const fds = openFdCount();
  for (const size of [NaN, -1, 0, 1.5, 2 ** 33, 3 * 4096, "65536"]) {
    invalid(() => ringBufReader(map, { size } as RingBufReaderOptions), /ring buffer size|size/);
  }
  invalid(() => ringBufReader(map, { size: 2 ** 33 }), /ringBufReader: size/, /8589934592/);
  assert.equal(openFdCount(), fds, "nothing was left open");
  using reader = ringBufReader(map);
  for (const t of [NaN, -2, 1.5]) {
    invalid(() => reader.poll(t, () => {}), /ring buffer poll: timeoutMs/);
    await assert.rejects(reader.read({ timeoutMs: t }), InvalidArgumentError);
  }
  invalid(() => reader.consume(() => {}, NaN), /ring buffer consume: limit/);
  assert.equal(await reader.read({ timeoutMs: 0 }), undefined);
});

Deno.test("createMap: sizes and mapExtra that are NaN, negative, fractional or > u32 are refused", () => {
  const base = { type: "hash", keySize: 4, valueSize: 8, maxEntries: 4 } as const;
  for (const field of ["keySize", "valueSize", "maxEntries"]) {
    for (const v of [NaN, -1, 1.5, 2 ** 32, Infinity, "4"]) {
      invalid(
        () => createMap({ ...base, [field]: v } as MapSpec),
        new RegExp(`hash map: ${field} must be an integer from 0 to 4294967295`),
      );
    }
  }
  for (const mapExtra of [NaN, -1, 1.5, -1n, 2n ** 64n, "1"]) {
    invalid(
      () => createMap({ ...base, mapExtra } as MapSpec),
      /hash map: mapExtra must be an integer from 0 to 2\^64-1/,
    );
  }
  using ok = createMap({ ...base, mapExtra: 0n });
  assert.equal(ok.maxEntries, 4);
});

Deno.test("attachUprobe/attachUprobeMulti/attachUsdt: offsets, cookies, pids are checked", () => {
  using counter = new Counter();
  using prog = countingProgram(counter, { type: "kprobe" });
  const path = Deno.execPath();
  for (const v of [NaN, -1, 1.5, -1n, 2n ** 64n, Infinity, "16"]) {
    invalid(
      () => attachUprobe(prog, { path, offset: v as number }),
      /attachUprobe: offset must be a non-negative integer/,
    );
    invalid(
      () => attachUprobe(prog, { path, offset: 0x1000, refCtrOffset: v as number }),
      /attachUprobe: refCtrOffset must be/,
    );
    invalid(
      () => attachUprobe(prog, { path, offset: 0x1000, cookie: v as number }),
      /attachUprobe: cookie must be/,
    );
    invalid(
      () => attachUprobeMulti(prog, { path, offsets: [0x1000, v as number] }),
      /attachUprobeMulti: offsets\[1\] must be/,
    );
    invalid(
      () => attachUprobeMulti(prog, { path, offsets: [0x1000], cookies: [v as number] }),
      /attachUprobeMulti: cookies\[0\] must be/,
    );
    invalid(
      () => attachUprobeMulti(prog, { path, offsets: [0x1000], refCtrOffsets: [v as number] }),
      /attachUprobeMulti: refCtrOffsets\[0\] must be/,
    );
  }
  invalid(() => attachUprobe(prog, { path, offset: NaN }), /offset/, /NaN/);
  for (const pid of [NaN, 0, -1, 1.5, 2 ** 31, "1"]) {
    invalid(
      () => attachUprobe(prog, { path, offset: 0x1000, pid: pid as number }),
      /attachUprobe: pid must be a positive process id/,
    );
    invalid(
      () => attachUprobeMulti(prog, { path, offsets: [0x1000], pid: pid as number }),
      /attachUprobeMulti: pid must be/,
    );
    invalid(
      () => attachUsdt(prog, { path, provider: "p", name: "n", pid: pid as number }),
      /attachUsdt: pid must be/,
    );
  }
  invalid(
    () => attachUsdt(prog, { path, provider: "p", name: "n", cookie: NaN }),
    /attachUsdt: cookie must be/,
  );
});
