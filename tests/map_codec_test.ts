import assert from "node:assert/strict";
import fc from "fast-check";
import { InvalidArgumentError } from "../src/errors.ts";
import {
  arrayOf,
  bool,
  bytes,
  type Codec,
  createMap,
  cstring,
  decodeValue,
  empty,
  encodeValue,
  f32,
  f64,
  i16,
  i32,
  i64,
  i8,
  struct,
  u16,
  u32,
  u64,
  u8,
} from "../src/map/mod.ts";
import { possibleCpuCount } from "../src/sys/cpu.ts";
import { openFdCount } from "../src/sys/fd.ts";

function roundTrip<T>(
  codec: Codec<T>,
  arb: fc.Arbitrary<T>,
  eq: (a: unknown, b: unknown) => void = (a, b) => assert.deepEqual(a, b),
) {
  fc.assert(
    fc.property(arb, (v) => {
      const b = encodeValue(codec, v);
      assert.equal(b.length, codec.size);
      eq(decodeValue(codec, b), v);
      // Also at an offset inside a larger buffer.
      const big = new Uint8Array(codec.size + 11);
      codec.write(new DataView(big.buffer), 5, v);
      eq(codec.read(new DataView(big.buffer), 5), v);
    }),
    { numRuns: 300 },
  );
}

Deno.test("codecs: integers round-trip over their whole range", () => {
  roundTrip(u8, fc.integer({ min: 0, max: 0xff }));
  roundTrip(i8, fc.integer({ min: -0x80, max: 0x7f }));
  roundTrip(u16, fc.integer({ min: 0, max: 0xffff }));
  roundTrip(i16, fc.integer({ min: -0x8000, max: 0x7fff }));
  roundTrip(u32, fc.integer({ min: 0, max: 0xffffffff }));
  roundTrip(i32, fc.integer({ min: -0x80000000, max: 0x7fffffff }));
  roundTrip(u64, fc.bigUintN(64));
  roundTrip(i64, fc.bigIntN(64));
  roundTrip(bool, fc.boolean());
});

Deno.test("codecs: floats round-trip bit-exactly (NaN, -0, infinities)", () => {
  const same = (a: unknown, b: unknown) => assert.ok(Object.is(a, b), `${a} vs ${b}`);
  roundTrip(f64, fc.double(), same);
  roundTrip(f32, fc.float(), same);
});

Deno.test("codecs: bytes, cstring and arrays round-trip", () => {
  roundTrip(bytes(13), fc.uint8Array({ minLength: 13, maxLength: 13 }));
  roundTrip(bytes(0), fc.constant(new Uint8Array(0)));
  const text = fc.string({ unit: "grapheme", maxLength: 10 }).filter((s) =>
    !s.includes("\0") && new TextEncoder().encode(s).length <= 31
  );
  roundTrip(cstring(32), text);
  roundTrip(
    arrayOf(u16, 5),
    fc.array(fc.integer({ min: 0, max: 0xffff }), {
      minLength: 5,
      maxLength: 5,
    }),
  );
  roundTrip(arrayOf(i64, 3), fc.array(fc.bigIntN(64), { minLength: 3, maxLength: 3 }));
});

Deno.test("codecs: cstring is NUL-padded and reads up to the first NUL", () => {
  const c = cstring(8);
  assert.deepEqual(encodeValue(c, "abc"), new Uint8Array([97, 98, 99, 0, 0, 0, 0, 0]));
  assert.equal(decodeValue(c, new Uint8Array([104, 105, 0, 120, 120, 0, 0, 0])), "hi");
  assert.equal(decodeValue(c, new TextEncoder().encode("12345678")), "12345678");
  assert.throws(() => encodeValue(c, "12345678"), InvalidArgumentError, "no room for the NUL");
  assert.throws(() => encodeValue(c, "a\0b"), InvalidArgumentError);
  assert.throws(() => cstring(0), InvalidArgumentError);
});

Deno.test("codecs: out-of-range values and wrong sizes are InvalidArgumentErrors", () => {
  assert.throws(() => encodeValue(u8, 256), InvalidArgumentError);
  assert.throws(() => encodeValue(u8, -1), InvalidArgumentError);
  assert.throws(() => encodeValue(u32, 2 ** 32), InvalidArgumentError);
  assert.throws(() => encodeValue(u32, 1.5), InvalidArgumentError);
  assert.throws(() => encodeValue(i32, 2 ** 31), InvalidArgumentError);
  assert.throws(() => encodeValue(u64, -1n), InvalidArgumentError);
  assert.throws(() => encodeValue(u64, 1n << 64n), InvalidArgumentError);
  assert.throws(() => encodeValue(i64, 1n << 63n), InvalidArgumentError);
  assert.throws(() => encodeValue(bytes(4), new Uint8Array(3)), InvalidArgumentError);
  assert.throws(() => encodeValue(arrayOf(u8, 2), [1]), InvalidArgumentError);
  assert.throws(() => decodeValue(u32, new Uint8Array(3)), InvalidArgumentError);
  // u64 accepts numbers too.
  assert.equal(decodeValue(u64, encodeValue(u64, 5 as unknown as bigint)), 5n);
});

Deno.test("struct: C layout with natural alignment, padding and explicit offsets", () => {
  const a = struct({ c: u8, n: u32 });
  assert.equal(a.size, 8);
  assert.equal(a.align, 4);
  assert.deepEqual(a.offsets, { c: 0, n: 4 });

  const b = struct({ c: u8, big: u64, s: u16 });
  assert.equal(b.size, 24);
  assert.deepEqual(b.offsets, { c: 0, big: 8, s: 16 });

  const packed = struct({ c: u8, big: u64, s: u16 }, { packed: true });
  assert.equal(packed.size, 11);
  assert.deepEqual(packed.offsets, { c: 0, big: 1, s: 9 });

  // Nested structs and arrays align to their members.
  const inner = struct({ x: u16, y: u16 });
  const outer = struct({ tag: u8, p: inner, arr: arrayOf(u32, 2), name: cstring(5) });
  assert.deepEqual(outer.offsets, { tag: 0, p: 2, arr: 8, name: 16 });
  assert.equal(outer.size, 24);

  const explicit = struct({ a: u32, b: { codec: u16, offset: 12 } }, { size: 16 });
  assert.deepEqual(explicit.offsets, { a: 0, b: 12 });
  assert.equal(explicit.size, 16);
  const aligned = struct({ a: u8 }, { align: 8 });
  assert.equal(aligned.size, 8);

  assert.throws(() => struct({ a: u32, b: { codec: u32, offset: 2 } }), InvalidArgumentError);
  assert.throws(() => struct({ a: u64 }, { size: 4 }), InvalidArgumentError);
  assert.throws(() => encodeValue(a, { c: 1 } as never), InvalidArgumentError);

  // Padding is written as zeros even over dirty buffers.
  const buf = new Uint8Array(8).fill(0xee);
  a.write(new DataView(buf.buffer), 0, { c: 1, n: 2 });
  assert.deepEqual(buf, new Uint8Array([1, 0, 0, 0, 2, 0, 0, 0]));
});

Deno.test("struct: random values round-trip", () => {
  const flow = struct({
    saddr: u32,
    daddr: u32,
    sport: u16,
    dport: u16,
    proto: u8,
    bytes: u64,
    label: cstring(6),
    ok: bool,
  });
  assert.equal(flow.size, 32);
  assert.deepEqual(Object.values(flow.offsets), [0, 4, 8, 10, 12, 16, 24, 30]);
  roundTrip(
    flow,
    fc.record({
      saddr: fc.integer({ min: 0, max: 0xffffffff }),
      daddr: fc.integer({ min: 0, max: 0xffffffff }),
      sport: fc.integer({ min: 0, max: 0xffff }),
      dport: fc.integer({ min: 0, max: 0xffff }),
      proto: fc.integer({ min: 0, max: 0xff }),
      bytes: fc.bigUintN(64),
      label: fc.string({ unit: "binary-ascii", maxLength: 5 }).filter((s) => !s.includes("\0")),
      ok: fc.boolean(),
    }),
  );
});

// ---------------------------------------------------------------- typed views

Deno.test("typed map: get/set/delete/has/entries with native values", () => {
  using m = createMap(
    { type: "hash", keySize: 4, valueSize: 8, maxEntries: 64 },
    { key: u32, value: u64 },
  );
  assert.equal(m.get(1), undefined);
  m.set(1, 10n);
  m.set(2, 20n, "noexist");
  assert.equal(m.get(1), 10n);
  assert.equal(m.has(2), true);
  assert.equal(m.delete(2), true);
  assert.equal(m.delete(2), false);
  m.set(3, 30n);
  assert.deepEqual(new Map(m.entries()), new Map([[1, 10n], [3, 30n]]));
  assert.deepEqual(new Set(m.keys()), new Set([1, 3]));
  assert.deepEqual([...m.values()].sort(), [10n, 30n]);
  assert.deepEqual(new Map(m), new Map([[1, 10n], [3, 30n]]));
  assert.throws(() => m.set(-1, 1n), InvalidArgumentError);
});

Deno.test("typed map: a random sequence of sets and deletes matches a JS Map", () => {
  using m = createMap(
    { type: "hash", keySize: 4, valueSize: 8, maxEntries: 64 },
    { key: u32, value: i64 },
  );
  const op = fc.oneof(
    fc.tuple(fc.constant("set" as const), fc.integer({ min: 0, max: 40 }), fc.bigIntN(64)),
    fc.tuple(fc.constant("del" as const), fc.integer({ min: 0, max: 40 }), fc.constant(0n)),
  );
  fc.assert(
    fc.property(fc.array(op, { maxLength: 60 }), (ops) => {
      for (const k of [...m.keys()]) m.delete(k);
      const model = new Map<number, bigint>();
      for (const [kind, k, v] of ops) {
        if (kind === "set") {
          m.set(k, v);
          model.set(k, v);
        } else {
          assert.equal(m.delete(k), model.delete(k));
        }
      }
      assert.deepEqual(new Map(m.entries()), model);
      for (let k = 0; k <= 40; k++) assert.equal(m.get(k), model.get(k));
    }),
    { numRuns: 50 },
  );
});

Deno.test("typed map: struct values through map.typed()", () => {
  const point = struct({ x: i32, y: i32, name: cstring(8) });
  using raw = createMap({ type: "array", keySize: 4, valueSize: point.size, maxEntries: 4 });
  const m = raw.typed(u32, point);
  m.set(2, { x: -5, y: 7, name: "two" });
  assert.deepEqual(m.get(2), { x: -5, y: 7, name: "two" });
  assert.deepEqual(m.get(0), { x: 0, y: 0, name: "" });
  assert.equal(m.map, raw);
});

Deno.test("typed map: codec sizes must match the map (typed error, no syscall)", () => {
  const before = openFdCount();
  assert.throws(
    () =>
      createMap({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 4 }, {
        key: u64,
        value: u64,
      }),
    InvalidArgumentError,
  );
  assert.throws(
    () =>
      createMap({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 4 }, {
        key: u32,
        value: u32,
      }),
    InvalidArgumentError,
  );
  assert.equal(openFdCount(), before);
  using raw = createMap({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 4 });
  assert.throws(() => raw.typed(u16, u64), InvalidArgumentError);
  assert.throws(() => raw.typed(u32, struct({ a: u32 })), InvalidArgumentError);
});

Deno.test("typed map: per-CPU values, queues, and close through the view", () => {
  const cpus = possibleCpuCount();
  {
    using m = createMap(
      { type: "percpu_hash", keySize: 4, valueSize: 4, maxEntries: 4 },
      { key: u32, value: u32 },
    );
    m.setPerCpu(1, Array.from({ length: cpus }, (_, c) => c * 10));
    assert.deepEqual(m.getPerCpu(1), Array.from({ length: cpus }, (_, c) => c * 10));
    assert.equal(m.getPerCpu(2), undefined);
    assert.throws(() => m.get(1), InvalidArgumentError, "per-CPU maps need getPerCpu");
  }
  using q = createMap({ type: "queue", valueSize: 8, maxEntries: 4 }, { key: empty, value: f64 });
  q.push(1.5);
  q.push(-2.25);
  assert.equal(q.peek(), 1.5);
  assert.equal(q.pop(), 1.5);
  assert.equal(q.pop(), -2.25);
  assert.equal(q.pop(), undefined);

  const before = openFdCount();
  const t = createMap({ type: "hash", keySize: 4, valueSize: 4, maxEntries: 1 }, {
    key: u32,
    value: u32,
  });
  assert.equal(openFdCount(), before + 1);
  t.close();
  assert.equal(openFdCount(), before);
});
