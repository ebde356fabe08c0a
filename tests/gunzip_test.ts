// The synchronous gzip reader (src/sys/gunzip.ts) that readKernelConfig uses
// for /proc/config.gz: node:zlib's output at every level comes back
// unchanged, and random or mutated input is a typed ParseError or some
// output within the bound, never another exception, a hang or an
// unbounded allocation.

import assert from "node:assert/strict";
import fc from "fast-check";
import { deflateRawSync, gunzipSync, gzipSync } from "node:zlib";
import { gunzip, inflateRaw, MAX_GUNZIP_BYTES } from "../src/sys/gunzip.ts";
import { InvalidArgumentError, ParseError } from "../src/errors.ts";

const LEVELS = [0, 1, 6, 9] as const;

/** Inputs worth compressing: random bytes, text-like runs from a small alphabet, long repeats. */
const payload = fc.oneof(
  fc.uint8Array({ maxLength: 4096 }),
  fc.array(fc.constantFrom(...new TextEncoder().encode("CONFIG_=yn\n# is not set")), {
    maxLength: 8192,
  }).map((a) => new Uint8Array(a)),
  fc.tuple(fc.uint8Array({ minLength: 1, maxLength: 64 }), fc.integer({ min: 1, max: 2000 }))
    .map(([unit, n]) => {
      const out = new Uint8Array(unit.length * n);
      for (let i = 0; i < n; i++) out.set(unit, i * unit.length);
      return out;
    }),
);

/** Decodes `bytes`: the output, or the ParseError; any other exception fails the property. */
function attempt(f: () => Uint8Array): Uint8Array | ParseError {
  try {
    return f();
  } catch (e) {
    if (e instanceof ParseError) {
      assert.equal(e.format, "gzip");
      assert.equal(typeof e.offset, "number");
      return e;
    }
    throw e;
  }
}

Deno.test("gunzip: node:zlib's gzipSync at levels 0, 1, 6 and 9 round-trips (property)", () => {
  fc.assert(
    fc.property(payload, fc.constantFrom(...LEVELS), (data, level) => {
      const z = new Uint8Array(gzipSync(data, { level }));
      assert.deepEqual(gunzip(z), data);
      const raw = new Uint8Array(deflateRawSync(data, { level }));
      const { output, end } = inflateRaw(raw);
      assert.deepEqual(output, data);
      assert.equal(end, raw.length, "the stream ends where zlib's did");
    }),
    { numRuns: 300 },
  );
});

Deno.test("gunzip: random bytes are a ParseError or output, never another error (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), fc.boolean(), (bytes, asGzip) => {
      // With the gzip magic and method in front, the header and blocks get exercised.
      const input = asGzip ? new Uint8Array([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 0, 3, ...bytes]) : bytes;
      const r = attempt(() => gunzip(input, { maxBytes: 1 << 20 }));
      if (!(r instanceof ParseError)) assert.ok(r.length <= 1 << 20);
      const raw = attempt(() => inflateRaw(bytes, { maxBytes: 1 << 20 }).output);
      if (!(raw instanceof ParseError)) assert.ok(raw.length <= 1 << 20);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("gunzip: mutated gzip streams are a ParseError or output (property); node:zlib agrees on what decodes", () => {
  const mutation = fc.oneof(
    fc.record({
      kind: fc.constant("flip" as const),
      at: fc.nat(),
      bit: fc.integer({ min: 0, max: 7 }),
    }),
    fc.record({
      kind: fc.constant("set" as const),
      at: fc.nat(),
      value: fc.integer({ min: 0, max: 255 }),
    }),
    fc.record({ kind: fc.constant("cut" as const), at: fc.nat() }),
    fc.record({ kind: fc.constant("drop" as const), at: fc.nat() }),
  );
  fc.assert(
    fc.property(
      payload,
      fc.constantFrom(...LEVELS),
      fc.array(mutation, { minLength: 1, maxLength: 4 }),
      (data, level, mutations) => {
        let z = new Uint8Array(gzipSync(data, { level }));
        for (const m of mutations) {
          if (z.length === 0) break;
          const at = m.at % z.length;
          if (m.kind === "flip") z[at] ^= 1 << m.bit;
          else if (m.kind === "set") z[at] = m.value;
          else if (m.kind === "cut") z = z.slice(0, at);
          else z = new Uint8Array([...z.subarray(0, at), ...z.subarray(at + 1)]);
        }
        const ours = attempt(() => gunzip(z, { maxBytes: 1 << 22 }));
        let theirs: Uint8Array | undefined;
        try {
          theirs = new Uint8Array(gunzipSync(z));
        } catch {
          theirs = undefined;
        }
        if (!(ours instanceof ParseError)) {
          // What we accept (CRC-32 and length checked) zlib accepts, with the same bytes.
          assert.ok(ours.length <= 1 << 22);
          assert.deepEqual(theirs, ours);
        }
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("gunzip: output past maxBytes is a ParseError, before the whole output is allocated", () => {
  const zeros = new Uint8Array(gzipSync(new Uint8Array(8 << 20), { level: 9 }));
  assert.ok(zeros.length < 16 << 10, "8 MiB of zeros compress to a few KiB");
  assert.throws(
    () => gunzip(zeros, { maxBytes: 1 << 20, what: "bomb.gz" }),
    (e: unknown) =>
      e instanceof ParseError &&
      /bomb\.gz: decompresses to more than 1048576 bytes/.test(e.message),
  );
  assert.equal(gunzip(zeros, { maxBytes: 8 << 20 }).length, 8 << 20, "exactly the bound is fine");
  assert.equal(MAX_GUNZIP_BYTES, 64 << 20);
  for (const bad of [-1, 1.5, NaN]) {
    assert.throws(() => gunzip(zeros, { maxBytes: bad }), InvalidArgumentError);
  }
});

Deno.test("gunzip: header fields (FEXTRA, FNAME, FCOMMENT, FHCRC) and concatenated members", () => {
  const body = new Uint8Array(deflateRawSync("hello, ", { level: 6 }));
  const data = new TextEncoder().encode("hello, ");
  const z = new Uint8Array(gzipSync(data));
  const trailer = z.subarray(z.length - 8);
  // FEXTRA (2 bytes of extra), FNAME "a", FCOMMENT "b", FHCRC over the header.
  const header = [
    0x1f,
    0x8b,
    8,
    4 | 8 | 16 | 2,
    0,
    0,
    0,
    0,
    0,
    3,
    2,
    0,
    0xaa,
    0xbb,
    0x61,
    0,
    0x62,
    0,
  ];
  const crc = crc32(new Uint8Array(header)) & 0xffff;
  const member = new Uint8Array([...header, crc & 0xff, crc >> 8, ...body, ...trailer]);
  assert.deepEqual(gunzip(member), data);
  assert.deepEqual(new Uint8Array(gunzipSync(member)), data, "node:zlib reads it too");
  const world = new Uint8Array(gzipSync("world"));
  assert.equal(
    new TextDecoder().decode(gunzip(new Uint8Array([...member, ...world]))),
    "hello, world",
  );
  // A wrong header CRC, a reserved flag, trailing bytes, an empty input: typed errors.
  const wrong = member.slice();
  wrong[header.length] ^= 1;
  assert.throws(() => gunzip(wrong), /header CRC mismatch/);
  const reserved = z.slice();
  reserved[3] = 0x20;
  assert.throws(() => gunzip(reserved), /reserved header flags/);
  assert.throws(() => gunzip(new Uint8Array([...z, 0, 0])), /2 trailing bytes after the gzip data/);
  assert.throws(() => gunzip(new Uint8Array()), ParseError);
  assert.throws(() => gunzip(new TextEncoder().encode("CONFIG_X=y\n")), /not gzip/);
});

Deno.test("gunzip: stored, fixed and dynamic blocks as node:zlib writes them, and this kernel's /proc/config.gz", () => {
  const lines = Array.from({ length: 3000 }, (_, i) => `CONFIG_OPTION_${i * 7919 % 3001}=y\n`);
  const text = new TextEncoder().encode(lines.join(""));
  const types = new Set<number>();
  for (const level of LEVELS) {
    const raw = new Uint8Array(deflateRawSync(text, { level }));
    types.add((raw[0] >> 1) & 3);
    assert.deepEqual(inflateRaw(raw).output, text, `level ${level}`);
  }
  const short = new Uint8Array(deflateRawSync("a", { level: 6 }));
  types.add((short[0] >> 1) & 3);
  assert.deepEqual(inflateRaw(short).output, new TextEncoder().encode("a"));
  assert.deepEqual([...types].sort(), [0, 1, 2], "stored (0), fixed (1) and dynamic (2) blocks");
  let gz: Uint8Array | undefined;
  try {
    gz = Deno.readFileSync("/proc/config.gz");
  } catch {
    return; // no CONFIG_IKCONFIG_PROC here: the fixtures above cover the format
  }
  assert.deepEqual(gunzip(gz), new Uint8Array(gunzipSync(gz)));
});

/** CRC-32 (IEEE), for the hand-built header's FHCRC. */
function crc32(d: Uint8Array): number {
  let c = 0xffffffff;
  for (const b of d) {
    c ^= b;
    for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  }
  return (c ^ 0xffffffff) >>> 0;
}
