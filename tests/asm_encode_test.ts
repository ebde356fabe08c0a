// Binary encoding: known encodings in both byte orders, typed errors for
// truncated input, and fast-check properties (round trips; random bytes
// decode or throw ParseError and nothing else).

import assert from "node:assert/strict";
import fc from "fast-check";
import { ParseError } from "../src/errors.ts";
import { asm, decode, disassemble, encode, Instruction, R0, R1, R10, R2 } from "../src/asm/mod.ts";

const hex = (b: Uint8Array) => [...b].map((x) => x.toString(16).padStart(2, "0")).join(" ");

Deno.test("encode: little-endian layout (src<<4|dst, offset and imm LE)", () => {
  assert.equal(hex(encode([asm.mov64(R0, 0)])), "b7 00 00 00 00 00 00 00");
  assert.equal(hex(encode([asm.stxdw(R10, -8, R1)])), "7b 1a f8 ff 00 00 00 00");
  assert.equal(hex(encode([asm.add64(R1, -1)])), "07 01 00 00 ff ff ff ff");
  assert.equal(hex(encode([asm.jeq(R1, 0, 3)])), "15 01 03 00 00 00 00 00");
  assert.equal(
    hex(encode([asm.lddw(R1, 0x1122334455667788n)])),
    "18 01 00 00 88 77 66 55 00 00 00 00 44 33 22 11",
  );
  assert.equal(
    hex(encode([asm.loadMapPtr(R1, 5)])),
    "18 11 00 00 05 00 00 00 00 00 00 00 00 00 00 00",
  );
  assert.equal(hex(encode([asm.call("map_lookup_elem")])), "85 00 00 00 01 00 00 00");
  assert.equal(hex(encode([asm.exit()])), "95 00 00 00 00 00 00 00");
});

Deno.test("encode: big-endian layout (dst<<4|src, offset and imm BE)", () => {
  const be = { littleEndian: false };
  assert.equal(hex(encode([asm.stxdw(R10, -8, R1)], be)), "7b a1 ff f8 00 00 00 00");
  assert.equal(hex(encode([asm.add64(R1, -2)], be)), "07 10 00 00 ff ff ff fe");
  assert.equal(
    hex(encode([asm.lddw(R2, 0x1122334455667788n)], be)),
    "18 20 00 00 55 66 77 88 00 00 00 00 11 22 33 44",
  );
  const back = decode(encode([asm.stxdw(R10, -8, R1)], be), be);
  assert.equal(back[0].dst, 10);
  assert.equal(back[0].src, 1);
  assert.equal(back[0].offset, -8);
});

Deno.test("encode: unsigned 32-bit immediates are stored sign-extended", () => {
  const i = asm.mov32(R0, 0xffffffff);
  assert.equal(i.imm, -1);
  assert.equal(i.constant, -1n);
  assert.equal(hex(encode([i])), "b4 00 00 00 ff ff ff ff");
  assert.throws(() => asm.mov64(R0, 2 ** 32), /does not fit in 32 bits/);
  assert.throws(() => new Instruction({ opcode: 0x07, offset: 0x8000 }), /16-bit/);
});

Deno.test("decode: typed ParseError for truncated input", () => {
  const check = (bytes: Uint8Array, re: RegExp) =>
    assert.throws(() => decode(bytes), (e: unknown) => {
      assert.ok(e instanceof ParseError, String(e));
      assert.equal(e.format, "asm");
      assert.match(e.message, re);
      return true;
    });
  check(new Uint8Array(7), /not a multiple of 8/);
  check(new Uint8Array(12), /not a multiple of 8/);
  check(encode([asm.lddw(R1, 1)]).subarray(0, 8), /missing its second half/);
  const bad = encode([asm.lddw(R1, 1)]);
  bad[8] = 0x07;
  check(bad, /second slot/);
  assert.deepEqual(decode(new Uint8Array(0)), []);
});

Deno.test("decode: lddw constant keeps all 64 bits", () => {
  for (const v of [0n, -1n, 1n << 63n, (1n << 63n) - 1n, 0xdeadbeefcafebaben]) {
    const [i] = decode(encode([asm.lddw(R1, v)]));
    assert.equal(i.constant, BigInt.asIntN(64, v));
    assert.equal(i.slots, 2);
  }
});

const arbInstruction = fc.oneof(
  fc.record({
    opcode: fc.integer({ min: 0, max: 255 }).filter((o) => o !== 0x18),
    dst: fc.integer({ min: 0, max: 15 }),
    src: fc.integer({ min: 0, max: 15 }),
    offset: fc.integer({ min: -0x8000, max: 0x7fff }),
    constant: fc.integer({ min: -(2 ** 31), max: 2 ** 31 - 1 }),
  }),
  fc.record({
    opcode: fc.constant(0x18),
    dst: fc.integer({ min: 0, max: 15 }),
    src: fc.integer({ min: 0, max: 15 }),
    offset: fc.integer({ min: -0x8000, max: 0x7fff }),
    constant: fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
  }),
).map((f) => new Instruction(f));

Deno.test("property: encode → decode → encode is the identity, both byte orders", () => {
  fc.assert(
    fc.property(fc.array(arbInstruction, { maxLength: 40 }), fc.boolean(), (insns, le) => {
      const opts = { littleEndian: le };
      const bytes = encode(insns, opts);
      const back = decode(bytes, opts);
      assert.equal(back.length, insns.length);
      for (let i = 0; i < insns.length; i++) assert.ok(back[i].equals(insns[i]), `insn ${i}`);
      assert.deepEqual(encode(back, opts), bytes);
    }),
    { numRuns: 2000 },
  );
});

Deno.test("property: random bytes decode, or throw ParseError — never another error", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), fc.boolean(), (bytes, le) => {
      let insns: Instruction[];
      try {
        insns = decode(bytes, { littleEndian: le });
      } catch (e) {
        assert.ok(e instanceof ParseError, `unexpected ${e}`);
        return;
      }
      assert.deepEqual(encode(insns, { littleEndian: le }), bytes);
      for (const i of insns) assert.equal(typeof i.toString(), "string");
    }),
    { numRuns: 3000 },
  );
});

Deno.test("property: random bytes of 8-byte words with lddw mixed in always decode", () => {
  const word = fc.oneof(
    fc.uint8Array({ minLength: 8, maxLength: 8 }).map((
      b,
    ) => (b[0] === 0x18 ? new Uint8Array(8) : b)),
    fc.tuple(
      fc.uint8Array({ minLength: 8, maxLength: 8 }),
      fc.uint8Array({ minLength: 4, maxLength: 4 }),
    )
      .map(([a, hi]) => {
        const b = new Uint8Array(16);
        b.set(a);
        b[0] = 0x18;
        b.set(hi, 12);
        return b;
      }),
  );
  fc.assert(
    fc.property(fc.array(word, { maxLength: 30 }), fc.boolean(), (words, le) => {
      const bytes = new Uint8Array(words.reduce((n, w) => n + w.length, 0));
      let at = 0;
      for (const w of words) (bytes.set(w, at), at += w.length);
      const insns = decode(bytes, { littleEndian: le });
      assert.equal(insns.length, words.length);
      assert.deepEqual(encode(insns, { littleEndian: le }), bytes);
    }),
    { numRuns: 1000 },
  );
});

Deno.test("property: the disassembler accepts any bytes and prints one line per slot or byte", () => {
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 120 }),
      fc.boolean(),
      fc.boolean(),
      (bytes, le, strict) => {
        const lines = disassemble(bytes, {
          littleEndian: le,
          llvm14: strict,
          disassembleZeroes: true,
        });
        if (bytes.length === 0) return assert.deepEqual(lines, []);
        assert.equal(lines[0], "");
        for (const l of lines.slice(2)) assert.match(l, /^ {0,7}\d+:\t[0-9a-f ]+\t.+$/);
      },
    ),
    { numRuns: 1000 },
  );
});
