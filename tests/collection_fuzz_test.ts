// Property tests of the object reader (loadCollectionSpec) and of CO-RE
// relocation on what it reads: every test object in testdata/bpf, mutated
// (random bytes, extreme 16/32/64-bit values, aimed half of the time at the
// sections the reader interprets: maps, .maps, .BTF, .BTF.ext, relocations,
// symbols) and truncated, gives a CollectionSpec or a typed denobpf error —
// never a TypeError, RangeError or a hang.

import assert from "node:assert/strict";
import fc from "fast-check";
import { EbpfError } from "../src/errors.ts";
import { loadCollectionSpec, relocateProgram } from "../src/collection/mod.ts";
import { parseElf } from "../src/elf/mod.ts";

const dir = new URL("../testdata/bpf/", import.meta.url);
const seeds = [...Deno.readDirSync(dir)]
  .filter((e) => e.name.endsWith(".o"))
  .map((e) => e.name)
  .sort()
  .map((name) => ({ name, bytes: Deno.readFileSync(new URL(name, dir)) }));

/** Where the interesting sections of each seed lie: [start, end) byte ranges. */
const INTERESTING =
  /^(maps|\.maps|\.BTF|\.BTF\.ext|\.rel.*|\.symtab|\.strtab|\.data.*|\.rodata.*|\.kconfig|\.ksyms|license)$/;
const ranges = seeds.map(({ bytes }) =>
  parseElf(bytes).sections
    .filter((s) => INTERESTING.test(s.name) && s.size > 0)
    .map((s) => [s.offset, s.offset + s.size] as const)
);

/** Reads `b`; on success relocates its first program against this kernel. */
function exercise(b: Uint8Array, relocate: boolean): void {
  let spec;
  try {
    spec = loadCollectionSpec(b);
  } catch (e) {
    if (e instanceof EbpfError) return;
    throw e;
  }
  if (!relocate) return;
  const first = Object.keys(spec.programs)[0];
  if (first === undefined) return;
  try {
    relocateProgram(spec, first);
  } catch (e) {
    if (e instanceof EbpfError) return;
    throw e;
  }
}

Deno.test("collection reader: every seed object reads as it is", () => {
  assert.ok(seeds.length >= 20, `only ${seeds.length} objects`);
  for (const { name, bytes } of seeds) {
    const spec = loadCollectionSpec(bytes);
    // core_flavours_target_*.o only carries BTF for kernelTypes: no programs by design.
    if (name.startsWith("core_flavours_target_")) continue;
    assert.ok(Object.keys(spec.programs).length > 0, name);
  }
});

Deno.test("collection reader: property: mutated objects give a spec or a typed error", () => {
  const mutation = fc.tuple(
    fc.constantFrom(0, 1, 2, 3),
    fc.nat(),
    fc.constantFrom(0, 1, 3, 4, 7, 8, 12, 0x80, 0xff, 0xffff, 0x7fffffff, 0xffffffff, 24, 64),
    fc.integer({ min: 0, max: 255 }),
  );
  fc.assert(
    fc.property(
      fc.nat(seeds.length - 1),
      fc.array(mutation, { minLength: 1, maxLength: 8 }),
      fc.boolean(),
      fc.boolean(),
      (which, muts, aimed, relocate) => {
        const b = seeds[which].bytes.slice();
        const dv = new DataView(b.buffer);
        const rs = ranges[which];
        for (const [kind, at, val, byte] of muts) {
          let pos = at % b.length;
          if (aimed && rs.length > 0) {
            const [start, end] = rs[at % rs.length];
            pos = start + (Math.floor(at / rs.length) % (end - start));
          }
          const le = at % 3 !== 0;
          if (kind === 0) b[pos] = byte;
          else if (kind === 1 && pos + 2 <= b.length) dv.setUint16(pos, val & 0xffff, le);
          else if (kind === 2 && pos + 4 <= b.length) dv.setUint32(pos, val >>> 0, le);
          else if (kind === 3 && pos + 8 <= b.length) dv.setBigUint64(pos, BigInt(val) << 32n, le);
        }
        exercise(b, relocate);
      },
    ),
    { numRuns: 3000 },
  );
});

Deno.test("collection reader: property: truncated and random objects give a typed error", () => {
  fc.assert(
    fc.property(fc.nat(seeds.length - 1), fc.nat(), (which, cut) => {
      const seed = seeds[which].bytes;
      exercise(seed.subarray(0, cut % seed.length), false);
    }),
    { numRuns: 500 },
  );
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 2048 }), (b) => {
      // An ELF header in front of random bytes, and random bytes alone.
      const withHeader = new Uint8Array(64 + b.length);
      withHeader.set(seeds[0].bytes.subarray(0, 64));
      withHeader.set(b, 64);
      exercise(withHeader, false);
      exercise(b, false);
    }),
    { numRuns: 500 },
  );
});
