// Property tests: random and mutated blobs either parse — and then every
// type decodes, resolves, sizes and dumps with nothing worse than a
// ParseError — or fail to parse with a ParseError. Never another error.

import assert from "node:assert/strict";
import fc from "fast-check";
import { ParseError } from "../src/errors.ts";
import {
  BtfBuilder,
  type BtfSpec as Spec,
  encodeBtf,
  parseBtf,
  readBtfFile,
} from "../src/btf/mod.ts";
import { allKinds, exercise, haveVmlinux, splitOnAllKinds, VMLINUX } from "./btf_helpers.ts";
import { pureRuns } from "./_helpers.ts";

/** Parses and exercises `bytes`; returns whether it parsed. Throws on any non-ParseError. */
function parseAndExercise(bytes: Uint8Array, base?: Spec): boolean {
  let spec: Spec;
  try {
    spec = parseBtf(bytes, base ? { base } : undefined);
  } catch (e) {
    if (e instanceof ParseError) {
      assert.equal(e.format, "btf");
      assert.ok(e.offset === undefined || (e.offset >= 0 && e.offset <= bytes.length), e.message);
      return false;
    }
    throw e;
  }
  exercise(spec);
  return true;
}

// ---- seeds ------------------------------------------------------------------

const SMALL = encodeBtf(allKinds());
const SMALL_BE = encodeBtf(allKinds(), { littleEndian: false });
const SMALL_BASE = parseBtf(SMALL);
const SPLIT = splitOnAllKinds(SMALL_BASE);

/** The first types of vmlinux re-encoded on their own (references past the slice dangle). */
function vmlinuxSlice(count: number): Uint8Array {
  const spec = readBtfFile(VMLINUX, { mmap: false });
  const b = new BtfBuilder();
  for (let id = 1; id <= count; id++) b.add(spec.typeById(id));
  return b.encode();
}
const SLICE = haveVmlinux ? vmlinuxSlice(400) : SMALL;

/** Per property: the parser is pure code, so the VM guest runs fewer (tests/_helpers.ts pureRuns). */
const RUNS = pureRuns(3000);

// ---- mutations ----------------------------------------------------------------

type Mutation =
  | { op: "flip"; at: number; bit: number }
  | { op: "word"; at: number; value: number }
  | { op: "truncate"; at: number }
  | { op: "splice"; at: number; del: number; ins: Uint8Array }
  | { op: "dup"; from: number; len: number; at: number };

const interesting = fc.constantFrom(
  0,
  1,
  2,
  3,
  4,
  12,
  24,
  0x7f,
  0xff,
  0xffff,
  0x10000,
  0x7fffffff,
  0x80000000,
  0xfffffffe,
  0xffffffff,
  0x01000000,
  0x04000001,
  0x0400ffff,
  0x13000002,
  0x8d000001,
  0x14000000,
);

const mutation: fc.Arbitrary<Mutation> = fc.oneof(
  fc.record({ op: fc.constant("flip" as const), at: fc.nat(), bit: fc.nat(7) }),
  fc.record({
    op: fc.constant("word" as const),
    at: fc.nat(),
    value: fc.oneof(interesting, fc.nat(0xffffffff)),
  }),
  fc.record({ op: fc.constant("truncate" as const), at: fc.nat() }),
  fc.record({
    op: fc.constant("splice" as const),
    at: fc.nat(),
    del: fc.nat(64),
    ins: fc.uint8Array({ maxLength: 64 }),
  }),
  fc.record({ op: fc.constant("dup" as const), from: fc.nat(), len: fc.nat(256), at: fc.nat() }),
);

function mutate(seed: Uint8Array, ms: Mutation[]): Uint8Array {
  let b = seed.slice();
  for (const m of ms) {
    if (b.length === 0) break;
    switch (m.op) {
      case "flip":
        b[m.at % b.length] ^= 1 << m.bit;
        break;
      case "word": {
        // Aligned: hits header fields, info words, vlens, offsets and name offsets.
        const at = (m.at % Math.max(1, b.length >> 2)) << 2;
        if (at + 4 <= b.length) new DataView(b.buffer).setUint32(at, m.value, true);
        break;
      }
      case "truncate":
        b = b.slice(0, m.at % (b.length + 1));
        break;
      case "splice": {
        const at = m.at % (b.length + 1);
        const out = new Uint8Array(b.length - Math.min(m.del, b.length - at) + m.ins.length);
        out.set(b.subarray(0, at));
        out.set(m.ins, at);
        out.set(b.subarray(at + m.del), at + m.ins.length);
        b = out;
        break;
      }
      case "dup": {
        const from = m.from % b.length;
        const piece = b.slice(from, from + m.len);
        const at = m.at % (b.length + 1);
        const out = new Uint8Array(b.length + piece.length);
        out.set(b.subarray(0, at));
        out.set(piece, at);
        out.set(b.subarray(at), at + piece.length);
        b = out;
        break;
      }
    }
  }
  return b;
}

// ---- properties ---------------------------------------------------------------

Deno.test("btf fuzz: random bytes parse or throw ParseError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 600 }), (bytes) => {
      parseAndExercise(bytes);
    }),
    { numRuns: RUNS },
  );
});

/** Words of extra data per kind (as the kernel lays records out), by vlen. */
function extraWords(kind: number, vlen: number): number {
  if (kind === 1 || kind === 14 || kind === 17) return 1;
  if (kind === 3) return 3;
  if (kind === 4 || kind === 5 || kind === 15 || kind === 19) return 3 * vlen;
  if (kind === 6 || kind === 13) return 2 * vlen;
  return 0;
}

const smallWord = fc.oneof(fc.nat(40), interestingWord());

function interestingWord(): fc.Arbitrary<number> {
  return fc.constantFrom(0, 1, 2, 7, 8, 32, 64, 0x7fffffff, 0x80000000, 0xffffffff, 0x01000020);
}

/** A record that is usually well-formed: a plausible kind, vlen and extra words. */
const record = fc.record({
  name: smallWord,
  kind: fc.oneof(fc.integer({ min: 1, max: 19 }), fc.nat(31)),
  vlen: fc.oneof(fc.nat(3), fc.nat(0xffff)),
  kflag: fc.boolean(),
  sizeOrType: smallWord,
  extra: fc.array(smallWord, { maxLength: 12 }),
  exact: fc.boolean(),
}).map((r) => {
  const info = ((r.kflag ? 0x80000000 : 0) | (r.kind << 24) | r.vlen) >>> 0;
  const want = extraWords(r.kind, r.vlen);
  const extra = r.exact && want <= 64
    ? Array.from({ length: want }, (_, i) => r.extra[i % Math.max(1, r.extra.length)] ?? 0)
    : r.extra;
  return [r.name, info, r.sizeOrType, ...extra];
});

Deno.test("btf fuzz: random records behind a consistent header", () => {
  let parsed = 0;
  fc.assert(
    fc.property(
      fc.array(record, { maxLength: 12 }),
      fc.array(fc.stringMatching(/^[a-z_]{0,6}$/), { maxLength: 6 }),
      fc.boolean(),
      (records, names, le) => {
        const words = records.flat();
        const strs = new TextEncoder().encode("\0" + names.map((n) => n + "\0").join(""));
        const bytes = new Uint8Array(24 + words.length * 4 + strs.length);
        const dv = new DataView(bytes.buffer);
        dv.setUint16(0, 0xeb9f, le);
        bytes[2] = 1;
        dv.setUint32(4, 24, le);
        dv.setUint32(8, 0, le);
        dv.setUint32(12, words.length * 4, le);
        dv.setUint32(16, words.length * 4, le);
        dv.setUint32(20, strs.length, le);
        words.forEach((w, i) => dv.setUint32(24 + i * 4, w, le));
        bytes.set(strs, 24 + words.length * 4);
        if (parseAndExercise(bytes)) parsed++;
      },
    ),
    { numRuns: RUNS },
  );
  assert.ok(parsed > RUNS / 10, `only ${parsed} of ${RUNS} random blobs parsed`);
});

for (
  const [name, seed, base] of [
    ["small blob", SMALL, undefined],
    ["small big-endian blob", SMALL_BE, undefined],
    ["split blob on its base", SPLIT, SMALL_BASE],
    ["vmlinux slice", SLICE, undefined],
  ] as const
) {
  Deno.test(`btf fuzz: mutations of a ${name}`, () => {
    assert.ok(parseAndExercise(seed, base), "the seed itself parses");
    let parsed = 0;
    fc.assert(
      fc.property(fc.array(mutation, { minLength: 1, maxLength: 4 }), (ms) => {
        if (parseAndExercise(mutate(seed, ms), base)) parsed++;
      }),
      { numRuns: RUNS },
    );
    // The mutations must not all be rejected by the header checks alone.
    assert.ok(parsed > RUNS / 20, `only ${parsed} of ${RUNS} mutants parsed`);
  });
}

Deno.test("btf fuzz: exhaustive single-word corruption of the small blob", () => {
  // Every aligned word of the type section set to each interesting value.
  const values = [0, 1, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, 0x0400ffff, 0x14000000];
  for (let at = 24; at + 4 <= SMALL.length; at += 4) {
    for (const v of values) {
      const b = SMALL.slice();
      new DataView(b.buffer).setUint32(at, v, true);
      parseAndExercise(b);
    }
  }
});
