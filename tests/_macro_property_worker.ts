// The macro properties of bpftrace_lang_test.ts, run in a worker so that the
// test can stop an input that never finishes and name it. It posts each
// source before compiling it, then `{ done: true }` or `{ error }`.

import assert from "node:assert/strict";
import fc from "fast-check";
import { BpftraceError, compileBpftrace } from "../src/bpftrace/mod.ts";

const post = (m: unknown) => (self as unknown as Worker).postMessage(m);
const compile = (src: string, options?: Parameters<typeof compileBpftrace>[1]) => {
  post({ source: src });
  return compileBpftrace(src, options);
};

try {
  const strip = (ir: unknown) =>
    JSON.stringify(ir, (k, v) => k === "span" ? undefined : typeof v === "bigint" ? `${v}` : v);
  fc.assert(
    fc.property(
      fc.bigInt({ min: 0n, max: (1n << 63n) - 1n }),
      fc.constantFrom("+", "-", "*", "/", "==", "<<"),
      (v, op) => {
        const inline = compile(`BEGIN { @x = ${v} ${op} 3; }`);
        const macro = compile(`#define N_1 ${v}\nBEGIN { @x = N_1 ${op} 3; }`);
        assert.equal(strip(macro), strip(inline));
      },
    ),
  );
  const token = fc.constantFrom(
    "1",
    "+",
    "(",
    ")",
    "A",
    "B",
    "$y",
    '"s"',
    ",",
    "*",
    " ",
    "@m",
    "-",
  );
  fc.assert(
    fc.property(
      fc.array(token, { maxLength: 6 }),
      fc.array(token, { maxLength: 6 }),
      fc.array(token, { maxLength: 8 }),
      (a, b, use) => {
        const src = `#define A ${a.join("")}\n#define B ${b.join("")}\nBEGIN { @x = ${
          use.join("")
        }; }`;
        try {
          compile(src, { constant: () => undefined });
        } catch (e) {
          if (!(e instanceof BpftraceError)) throw e;
          assert.match(e.report, /ERROR: /);
        }
      },
    ),
  );
  post({ done: true });
} catch (e) {
  post({ error: e instanceof Error ? e.stack ?? e.message : String(e) });
}
