// Property tests for the small text parsers: CPU lists, mountinfo, USDT
// argument specs, perf-event attribute encoding. Random and mutated input
// gives a result or a typed ParseError, never another error or a hang.

import assert from "node:assert/strict";
import fc from "fast-check";
import { ParseError } from "../src/errors.ts";
import { parseCpuList } from "../src/sys/cpu.ts";
import { parseMountInfo } from "../src/tracefs/mod.ts";
import { parseUsdtArguments } from "../src/uprobe/mod.ts";

function resultOrParseError(fn: () => unknown): void {
  try {
    fn();
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
  }
}

Deno.test("parseCpuList: valid lists round-trip, anything else is a ParseError", () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 0, max: 4095 }), { maxLength: 64 }), (cpus) => {
      const sorted = [...cpus].sort((a, b) => a - b);
      // Build ranges the kernel way: runs of consecutive CPUs become a-b.
      const parts: string[] = [];
      for (let i = 0; i < sorted.length;) {
        let j = i;
        while (j + 1 < sorted.length && sorted[j + 1] === sorted[j] + 1) j++;
        parts.push(i === j ? `${sorted[i]}` : `${sorted[i]}-${sorted[j]}`);
        i = j + 1;
      }
      assert.deepEqual(parseCpuList(parts.join(",") + "\n"), sorted);
    }),
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 40 }), (s) => resultOrParseError(() => parseCpuList(s))),
  );
  // A huge range is refused rather than allocated.
  assert.throws(() => parseCpuList("0-4000000000"), ParseError);
});

const REAL_MOUNTINFO = Deno.readTextFileSync("/proc/self/mountinfo");

Deno.test("parseMountInfo: the real file parses; random and mutated text never throws", () => {
  const real = parseMountInfo(REAL_MOUNTINFO);
  assert.ok(real.length > 0);
  assert.ok(real.some((m) => m.mountPoint === "/"));
  fc.assert(fc.property(fc.string({ maxLength: 400 }), (s) => void parseMountInfo(s)));
  fc.assert(
    fc.property(
      fc.nat(REAL_MOUNTINFO.length),
      fc.nat(200),
      fc.string({ maxLength: 20 }),
      (at, cut, insert) => {
        const mutated = REAL_MOUNTINFO.slice(0, at) + insert + REAL_MOUNTINFO.slice(at + cut);
        for (const m of parseMountInfo(mutated)) assert.equal(typeof m.mountPoint, "string");
      },
    ),
  );
});

Deno.test("parseUsdtArguments: random and mutated specs give arguments or a ParseError", () => {
  const valid = "-4@%eax 8@-8(%rbp) 4@$5 8@%rdi -2@16(%rsp,%rax,2)";
  resultOrParseError(() => parseUsdtArguments(valid));
  fc.assert(
    fc.property(
      fc.string({ maxLength: 80 }),
      (s) => resultOrParseError(() => parseUsdtArguments(s)),
    ),
  );
  fc.assert(
    fc.property(fc.nat(valid.length), fc.nat(6), fc.string({ maxLength: 6 }), (at, cut, ins) => {
      const s = valid.slice(0, at) + ins + valid.slice(at + cut);
      resultOrParseError(() => parseUsdtArguments(s));
      resultOrParseError(() => parseUsdtArguments(s, "aarch64"));
    }),
  );
});
