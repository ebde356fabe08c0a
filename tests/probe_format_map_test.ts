// bpftrace's map output, byte for byte: formatMap / formatMaps / formatValue
// given the entries bpftrace's own BEGIN blocks make, compared with what
// bpftrace prints for them (at exit, after clear() and zero(), and for
// print(@m, top, div) and print(value)). Captured copies from bpftrace
// v0.17.0 stand in only where bpftrace is not installed.

import assert from "node:assert/strict";
import fc from "fast-check";
import type { IrType } from "../src/probe/ir.ts";
import {
  formatMap,
  formatMaps,
  formatValue,
  type MapContents,
  type MapEntry,
  type MapLayout,
} from "../src/probe/output.ts";
import { bpftraceBegin } from "./_bpftrace_begin.ts";

const i64: IrType = { kind: "int", size: 8, signed: true };
const u64: IrType = { kind: "int", size: 8, signed: false };
const str: IrType = { kind: "str", len: 64 };

function map(layout: MapLayout, ...entries: MapEntry[]): MapContents {
  return { layout, entries };
}

/** hist bucket index of v (bpftrace's: 0 negative, 1 zero, 2 + log2). */
function log2Index(v: bigint): number {
  if (v < 0n) return 0;
  if (v === 0n) return 1;
  return 2 + v.toString(2).length - 1;
}

function histOf(...values: bigint[]): number[] {
  const counts: number[] = [];
  for (const v of values) counts[log2Index(v)] = (counts[log2Index(v)] ?? 0) + 1;
  return counts;
}

const EXIT_PROGRAM = `BEGIN { @x = stats(5); @x = stats(10); @y[1, "a"] = 3; @z = sum(-5);
  @a = avg(7); @a = avg(8); @mn = min(3); @mx = max(9); @s["abc"] = count(); @s["b"] = count();
  @s["b"] = count(); @t = (1, "abc"); @str = "hello"; @neg = -3; @k = ksym(0); @h = hist(5);
  @l = lhist(5, 0, 10, 1); exit(); }`;

const EXIT_CAPTURED = "\n\n@a: 7\n\n@h: \n" +
  "[4, 8)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\n" +
  "@k: 0\n@l: \n" +
  "[5, 6)                 1 |@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@|\n\n" +
  "@mn: 3\n@mx: 9\n@neg: -3\n@s[abc]: 1\n@s[b]: 2\n@str: hello\n@t: (1, abc)\n" +
  "@x: count 2, average 7, total 15\n\n@y[1, a]: 3\n@z: -5\n";

Deno.test("formatMaps: every kind of map at exit as bpftrace prints it (sorted by name; stats, avg, hist, lhist, sum, min, max, count, ints, strings, tuples, ksym)", async () => {
  const maps = [
    map({ name: "@x", kind: "stats" }, [undefined, { count: 2n, total: 15n }]),
    map({ name: "@y", kind: "value", keys: [i64, str], value: i64 }, [[1n, "a"], 3n]),
    map({ name: "@z", kind: "sum" }, [undefined, -5n]),
    map({ name: "@a", kind: "avg" }, [undefined, { count: 2, total: 15 }]),
    map({ name: "@mn", kind: "min" }, [undefined, 3n]),
    map({ name: "@mx", kind: "max" }, [undefined, 9n]),
    map({ name: "@s", kind: "count", keys: [str] }, [["b"], 2n], [["abc"], 1n]),
    map({ name: "@t", kind: "value", value: { kind: "tuple", elems: [i64, str] } }, [undefined, [
      1n,
      "abc",
    ]]),
    map({ name: "@str", kind: "value", value: str }, [undefined, "hello"]),
    map({ name: "@neg", kind: "value", value: i64 }, [undefined, -3n]),
    map({ name: "@k", kind: "value", value: { kind: "ksym" } }, [undefined, "0"]),
    map({ name: "@h", kind: "hist" }, [undefined, histOf(5n)]),
    map({ name: "@l", kind: "lhist", lhist: { min: 0, max: 10, step: 1 } }, [
      undefined,
      new Map([[6, 1]]),
    ]),
  ];
  const { text } = await bpftraceBegin(EXIT_PROGRAM, EXIT_CAPTURED);
  assert.equal("\n\n" + formatMaps(maps), text);
});

const CLEARED_PROGRAM = (fn: string) =>
  `BEGIN { @c = count(); @s = sum(5); @mn = min(3); @mx = max(4); @a = avg(3); @st = stats(3);
  @h = hist(3); @l = lhist(3, 0, 10, 1); @i = 5; @str = "x"; @kc[1] = count(); @ki[2] = 7;
  ${
    ["@c", "@s", "@mn", "@mx", "@a", "@st", "@h", "@l", "@i", "@str", "@kc", "@ki"].map((m) =>
      `${fn}(${m});`
    ).join(" ")
  } exit(); }`;

// A keyless count() is an array in bpftrace: clear() zeroes it (@c: 0); every other map empties.
const CLEARED_CAPTURED = "\n\n\n\n@c: 0\n" + "\n".repeat(11);
const ZEROED_CAPTURED = "\n\n@a: 0\n\n@c: 0\n@h: \n\n@i: 0\n@kc[1]: 0\n@ki[2]: 0\n@l: \n\n" +
  "@mn: 0\n@mx: 0\n@s: 0\n@st: count 0, average 0, total 0\n\n@str: \n";

function twelveMaps(entry: (layout: MapLayout) => MapEntry[]): MapContents[] {
  const layouts: MapLayout[] = [
    { name: "@c", kind: "count" },
    { name: "@s", kind: "sum" },
    { name: "@mn", kind: "min" },
    { name: "@mx", kind: "max" },
    { name: "@a", kind: "avg" },
    { name: "@st", kind: "stats" },
    { name: "@h", kind: "hist" },
    { name: "@l", kind: "lhist", lhist: { min: 0, max: 10, step: 1 } },
    { name: "@i", kind: "value", value: i64 },
    { name: "@str", kind: "value", value: str },
    { name: "@kc", kind: "count", keys: [i64] },
    { name: "@ki", kind: "value", keys: [i64], value: i64 },
  ];
  return layouts.map((layout) => ({ layout, entries: entry(layout) }));
}

Deno.test("formatMap: cleared maps print their line break alone (a keyless count, bpftrace's array, prints @c: 0); zeroed maps print zeros, empty histograms and strings", async () => {
  const cleared = twelveMaps((l) => l.name === "@c" ? [[undefined, 0n]] : []);
  assert.equal(
    "\n\n" + formatMaps(cleared),
    (await bpftraceBegin(CLEARED_PROGRAM("clear"), CLEARED_CAPTURED)).text,
  );
  const zeroed = twelveMaps((l) => {
    const key = l.keys ? [l.name === "@kc" ? 1n : 2n] : undefined;
    if (l.kind === "avg" || l.kind === "stats") return [[key, { count: 0n, total: 0n }]];
    if (l.kind === "hist" || l.kind === "lhist") return [[key, [0, 0, 0, 0]]];
    if (l.value?.kind === "str") return [[key, ""]];
    return [[key, 0n]];
  });
  assert.equal(
    "\n\n" + formatMaps(zeroed),
    (await bpftraceBegin(CLEARED_PROGRAM("zero"), ZEROED_CAPTURED)).text,
  );
});

const PRINT_PROGRAM = `BEGIN {
  @ks[1] = ksym(0); @ks[2] = ksym(1);
  @l = lhist(2048, 0, 8192, 1024); @l = lhist(9000, 0, 8192, 1024); @l = lhist(-1, 0, 8192, 1024);
  @l3 = lhist(9, 0, 10, 3);
  @k[-1] = 5; @k[3] = 7; @k[2] = 1;
  @v[-1] = "x"; @v[3] = "y"; @v[2] = "z";
  @s["b", 2] = "q"; @s["a", 9] = "w"; @s["b", 1] = "e"; @s["ab", 1] = "r";
  @u[(uint64)0x8000000000000000] = "big";
  @t[1] = (1, "a", (2, "b"));
  @a[1] = avg(10); @a[2] = avg(4); @a[3] = avg(6);
  @st[1] = stats(10); @st[2] = stats(4); @st[3] = stats(6);
  @hh[1] = hist(3); @hh[2] = hist(3); @hh[2] = hist(100);
  @c = count();
  print(5); print("abc"); print((1, "a"));
  print(@k, 2); print(@k, 0, 2); print(@a, 2, 2); print(@st, 1, 2); print(@hh, 1, 2); print(@c, 1, 1);
  clear(@hh); clear(@a); clear(@st); clear(@c);
  exit();
}`;

const BAR = "@".repeat(52);
const PRINT_CAPTURED = "5\nabc\n(1, a)\n" +
  "@k[-1]: 5\n@k[3]: 7\n" +
  "@k[2]: 0\n@k[-1]: 2\n@k[3]: 3\n" +
  "@a[3]: 3\n@a[1]: 5\n\n" +
  "@st[2]: count 1, average 4, total 4\n@st[3]: count 1, average 6, total 6\n" +
  "@st[1]: count 1, average 10, total 10\n\n" +
  `@hh[2]: \n[2, 4)                 0 |${BAR}|\n` +
  ["[4, 8)", "[8, 16)", "[16, 32)", "[32, 64)"].map((l) =>
    `${l.padEnd(16)}       0 |${" ".repeat(52)}|\n`
  )
    .join("") +
  `[64, 128)              0 |${BAR}|\n\n` +
  "@c: 1\n" +
  "\n\n" +
  "@c: 0\n" +
  "@k[2]: 1\n@k[-1]: 5\n@k[3]: 7\n" +
  "@ks[1]: 0@ks[2]: 0x1\n" +
  `@l: \n(..., 0)               1 |${BAR}|\n[0, 1K)                0 |${" ".repeat(52)}|\n` +
  `[1K, 2K)               0 |${" ".repeat(52)}|\n[2K, 3K)               1 |${BAR}|\n` +
  ["[3K, 4K)", "[4K, 5K)", "[5K, 6K)", "[6K, 7K)", "[7K, 8K)"].map((l) =>
    `${l.padEnd(16)}       0 |${" ".repeat(52)}|\n`
  ).join("") +
  `[8K, ...)              1 |${BAR}|\n\n` +
  `@l3: \n[10, ...)              1 |${BAR}|\n\n` +
  "@s[a, 9]: w\n@s[ab, 1]: r\n@s[b, 1]: e\n@s[b, 2]: q\n" +
  "@t[1]: (1, a, (2, b))\n" +
  "@u[-9223372036854775808]: big\n" +
  "@v[2]: z\n@v[3]: y\n@v[-1]: x\n";

Deno.test("formatMap with top and div, formatValue (print(value)), key sorting (integers unsigned, strings by bytes, last part first), lhist K labels, ksym values run together", async () => {
  const k = map({ name: "@k", kind: "value", keys: [i64], value: i64 }, [[-1n], 5n], [[3n], 7n], [[
    2n,
  ], 1n]);
  const avg = map(
    { name: "@a", kind: "avg", keys: [i64] },
    [[1n], { count: 1n, total: 10n }],
    [[2n], { count: 1n, total: 4n }],
    [[3n], { count: 1n, total: 6n }],
  );
  const stats = map(
    { name: "@st", kind: "stats", keys: [i64] },
    [[3n], { count: 1n, total: 6n }],
    [[1n], { count: 1n, total: 10n }],
    [[2n], { count: 1n, total: 4n }],
  );
  const hh = map({ name: "@hh", kind: "hist", keys: [i64] }, [[1n], histOf(3n)], [
    [2n],
    histOf(3n, 100n),
  ]);
  const c = map({ name: "@c", kind: "count" }, [undefined, 1n]);
  const printed = formatValue(5n, i64) + "\n" + formatValue("abc", str) + "\n" +
    formatValue([1n, "a"], { kind: "tuple", elems: [i64, str] }) + "\n" +
    formatMap(k.layout, k.entries, { top: 2 }) + formatMap(k.layout, k.entries, { div: 2 }) +
    formatMap(avg.layout, avg.entries, { top: 2, div: 2 }) +
    formatMap(stats.layout, stats.entries, { top: 1, div: 2 }) +
    formatMap(hh.layout, hh.entries, { top: 1, div: 2 }) +
    formatMap(c.layout, c.entries, { top: 1, div: 1 });
  const lhist = (n: number, ...idx: number[]) => new Map(idx.map((i) => [i, n]));
  const exit = formatMaps([
    map({ name: "@hh", kind: "hist", keys: [i64] }),
    map({ name: "@a", kind: "avg", keys: [i64] }),
    map({ name: "@st", kind: "stats", keys: [i64] }),
    map({ name: "@c", kind: "count" }, [undefined, 0n]),
    k,
    map({ name: "@ks", kind: "value", keys: [i64], value: { kind: "ksym" } }, [[2n], "0x1"], [
      [1n],
      "0",
    ]),
    map({ name: "@l", kind: "lhist", lhist: { min: 0, max: 8192, step: 1024 } }, [
      undefined,
      lhist(1, 0, 3, 9),
    ]),
    map({ name: "@l3", kind: "lhist", lhist: { min: 0, max: 10, step: 3 } }, [
      undefined,
      lhist(1, 4),
    ]),
    map(
      { name: "@s", kind: "value", keys: [str, i64], value: str },
      [["b", 2n], "q"],
      [["a", 9n], "w"],
      [["b", 1n], "e"],
      [["ab", 1n], "r"],
    ),
    map({
      name: "@t",
      kind: "value",
      keys: [i64],
      value: { kind: "tuple", elems: [i64, str, { kind: "tuple", elems: [i64, str] }] },
    }, [[1n], [1n, "a", [2n, "b"]]]),
    map({ name: "@u", kind: "value", keys: [u64], value: str }, [[0x8000000000000000n], "big"]),
    map({ name: "@v", kind: "value", keys: [i64], value: str }, [[-1n], "x"], [[3n], "y"], [
      [2n],
      "z",
    ]),
  ]);
  const { text } = await bpftraceBegin(PRINT_PROGRAM, PRINT_CAPTURED);
  assert.equal(printed + "\n\n" + exit, text);
});

// ---- stacks as keys and values (frames from the symbolizer) ----

Deno.test("formatMap: stack keys one frame a line indented by 4 (none: @k[]), stack values by 8 with nothing between entries", () => {
  const kstack: IrType = { kind: "stack", user: false };
  const frames = ["perf_syscall_enter+475", "syscall_trace_enter+384"];
  assert.equal(
    formatMap({ name: "@k", kind: "count", keys: [kstack] }, [[[frames], 67n], [[[]], 3n]]),
    "@k[]: 3\n@k[\n    perf_syscall_enter+475\n    syscall_trace_enter+384\n]: 67\n",
  );
  assert.equal(
    formatMap({ name: "@", kind: "count", keys: [str, kstack] }, [[
      ["gp", frames.slice(0, 1)],
      8n,
    ]]),
    "@[gp, \n    perf_syscall_enter+475\n]: 8\n",
  );
  assert.equal(
    formatMap({ name: "@s", kind: "value", keys: [i64], value: kstack }, [[[1n], frames], [
      [2n],
      frames,
    ]]),
    "@s[1]: \n        perf_syscall_enter+475\n        syscall_trace_enter+384\n" +
      "@s[2]: \n        perf_syscall_enter+475\n        syscall_trace_enter+384\n\n",
  );
});

Deno.test("formatMap / formatValue: perf-mode stacks (kstack(perf), ustack(perf)) print each frame after a tab, in keys and values", () => {
  const perf: IrType = { kind: "stack", user: true, mode: "perf" };
  const frames = [
    "7f253971f829 syscall+25 (/usr/lib/x86_64-linux-gnu/libc.so.6)",
    "7ffef4e41c48 0x7ffef4e41c48 ([unknown])",
  ];
  // bpftrace -e 'BEGIN { @up[ustack(perf, 2)] = count(); exit(); }'
  assert.equal(
    formatMap({ name: "@up", kind: "count", keys: [perf] }, [[[frames], 1n]]),
    "@up[\n\t7f253971f829 syscall+25 (/usr/lib/x86_64-linux-gnu/libc.so.6)\n" +
      "\t7ffef4e41c48 0x7ffef4e41c48 ([unknown])\n]: 1\n",
  );
  assert.equal(
    formatValue(frames.slice(0, 1), perf),
    "\n\t7f253971f829 syscall+25 (/usr/lib/x86_64-linux-gnu/libc.so.6)\n",
  );
});

// ---- properties ----

Deno.test("formatMap (fast-check): count maps print every entry once, sorted by value, top keeps the largest, div divides", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(
        fc.tuple(
          fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }),
          fc.bigUint((1n << 64n) - 1n),
        ),
        {
          selector: ([k]) => k,
          maxLength: 20,
        },
      ),
      fc.nat(25),
      fc.integer({ min: 0, max: 1000 }),
      (rows, top, div) => {
        const text = formatMap(
          { name: "@m", kind: "count", keys: [i64] },
          rows.map(([k, v]) => [[k], v] as MapEntry),
          { top, div },
        );
        const lines = text.split("\n");
        assert.equal(lines.pop(), "");
        const shown = top > 0 ? Math.min(top, rows.length) : rows.length;
        if (rows.length === 0) {
          assert.equal(text, "\n");
          return;
        }
        assert.equal(lines.length, shown);
        const sorted = rows.toSorted((a, b) => (a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0)).slice(
          rows.length - shown,
        );
        const d = BigInt(Math.max(1, div));
        assert.deepEqual(lines, sorted.map(([k, v]) => `@m[${k}]: ${v / d}`));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("formatMap hist (fast-check): rows from the first to the last non-empty bucket, bars as bpftrace's float arithmetic draws them", () => {
  fc.assert(
    fc.property(fc.array(fc.nat(5000), { minLength: 1, maxLength: 66 }), (counts) => {
      const text = formatMap({ name: "@h", kind: "hist" }, [[undefined, counts]]);
      const nonzero = counts.flatMap((c, i) => (c > 0 ? [i] : []));
      if (nonzero.length === 0) {
        assert.equal(text, "@h: \n\n");
        return;
      }
      const rows = text.split("\n").slice(1, -2);
      assert.equal(rows.length, nonzero.at(-1)! - nonzero[0] + 1);
      const max = Math.max(...counts);
      rows.forEach((row, j) => {
        const c = counts[nonzero[0] + j];
        assert.match(row, /^.{16} *\d+ \|@* *\|$/);
        const bar = row.split("|")[1].trimEnd().length;
        const f = Math.fround;
        assert.equal(bar, Math.trunc(f(f(f(c) / f(max)) * 52)));
        assert.ok(Math.abs(bar - (c * 52) / max) < 1.0001);
      });
    }),
    { numRuns: 300 },
  );
});

// ---- random maps, bpftrace deciding ----

/** One random map: the bpftrace statements that fill it and the entries formatMap gets. */
interface RandomMap {
  statements: string[];
  contents: MapContents;
}

const lhistIndex = (v: number) => (v < 0 ? 0 : v >= 100 ? 11 : Math.floor(v / 10) + 1);

/** Distinct metrics (bpftrace's sort is not stable on ties), keys 0..n-1 shuffled. */
function randomMaps(seed: number): RandomMap[] {
  const rnd = fc.sample(fc.integer({ min: 0, max: 0x7fffffff }), { seed, numRuns: 4000 });
  let r = 0;
  const next = (n: number) => rnd[r++ % rnd.length] % n;
  const keys = () => {
    const n = 1 + next(5);
    const ks = Array.from({ length: n }, (_, i) => BigInt(i * 3 - 4));
    return ks.map((k) => ({ k, sort: next(1000) }));
  };
  const maps: RandomMap[] = [];
  // count: distinct counts 1..n
  {
    const ks = keys();
    const entries: MapEntry[] = ks.map(({ k }, i) => [[k], BigInt(i + 1)]);
    maps.push({
      statements: ks.flatMap(({ k }, i) => Array(i + 1).fill(`@c[${k}] = count();`)),
      contents: map({ name: "@c", kind: "count", keys: [i64] }, ...entries),
    });
  }
  // sum with (string, int) keys: distinct totals
  {
    const names = ["a", "ab", "b", "zz", ""];
    const ks = keys();
    const statements: string[] = [];
    const entries: MapEntry[] = ks.map(({ k }, i) => {
      const s = names[i % names.length];
      const parts = [next(2000) - 1000, next(2000) - 1000];
      const total = BigInt(parts[0] + parts[1]) * 10n + BigInt(i); // distinct
      statements.push(
        `@s["${s}", ${k}] = sum(${parts[0] * 10}); @s["${s}", ${k}] = sum(${parts[1] * 10 + i});`,
      );
      return [[s, k], total];
    });
    maps.push({
      statements,
      contents: map({ name: "@s", kind: "sum", keys: [str, i64] }, ...entries),
    });
  }
  // min and max: distinct results
  for (const kind of ["min", "max"] as const) {
    const ks = keys();
    const statements: string[] = [];
    const entries: MapEntry[] = ks.map(({ k }, i) => {
      const values = Array.from({ length: 1 + next(3) }, () => 1 + next(1000) * 10 + i);
      statements.push(...values.map((v) => `@${kind}[${k}] = ${kind}(${v});`));
      return [[k], BigInt(kind === "min" ? Math.min(...values) : Math.max(...values))];
    });
    const best = entries.map((e) => e[1]);
    if (new Set(best).size !== best.length) continue; // a tie: leave this one out
    maps.push({
      statements,
      contents: map({ name: `@${kind}`, kind, keys: [i64], signed: true }, ...entries),
    });
  }
  // avg and stats: distinct averages
  for (const kind of ["avg", "stats"] as const) {
    const ks = keys();
    const statements: string[] = [];
    const entries: MapEntry[] = ks.map(({ k }, i) => {
      const values = Array.from({ length: 1 + next(4) }, () => next(2000) - 1000);
      const n = values.length;
      // Make the (truncated) average i-distinct: shift every value by 3000 * i.
      const shifted = values.map((v) => v + 3000 * i);
      statements.push(...shifted.map((v) => `@${kind}[${k}] = ${kind}(${v});`));
      return [[k], { count: BigInt(n), total: BigInt(shifted.reduce((a, b) => a + b, 0)) }];
    });
    maps.push({ statements, contents: map({ name: `@${kind}`, kind, keys: [i64] }, ...entries) });
  }
  // hist and lhist: distinct totals
  {
    const ks = keys();
    const statements: string[] = [];
    const hists: MapEntry[] = [];
    const lhists: MapEntry[] = [];
    ks.forEach(({ k }, i) => {
      const values = Array.from(
        { length: i + 1 },
        () => next(6) === 0 ? next(5) - 2 : next(0x7fffffff),
      );
      statements.push(...values.map((v) => `@h[${k}] = hist(${v});`));
      hists.push([[k], histOf(...values.map(BigInt))]);
      const lv = Array.from({ length: i + 1 }, () => next(130) - 5);
      statements.push(...lv.map((v) => `@l[${k}] = lhist(${v}, 0, 100, 10);`));
      const counts = new Map<number, number>();
      for (const v of lv) counts.set(lhistIndex(v), (counts.get(lhistIndex(v)) ?? 0) + 1);
      lhists.push([[k], counts]);
    });
    maps.push(
      { statements: [], contents: map({ name: "@h", kind: "hist", keys: [i64] }, ...hists) },
      {
        statements,
        contents: map({
          name: "@l",
          kind: "lhist",
          keys: [i64],
          lhist: { min: 0, max: 100, step: 10 },
        }, ...lhists),
      },
    );
  }
  // plain values: ints (distinct), strings and tuples (sorted by key)
  {
    const ks = keys();
    const statements: string[] = [];
    const ints: MapEntry[] = [];
    const strs: MapEntry[] = [];
    const tuples: MapEntry[] = [];
    ks.forEach(({ k }, i) => {
      const v = BigInt(next(200000) - 100000) * 8n + BigInt(i);
      const s = ["x", "hello", "", "a b", "zz"][next(5)];
      statements.push(`@i[${k}] = ${v}; @str[${k}] = "${s}"; @tu[${k}] = (${v}, "${s}");`);
      ints.push([[k], v]);
      strs.push([[k], s]);
      tuples.push([[k], [v, s]]);
    });
    maps.push(
      {
        statements: [],
        contents: map({ name: "@i", kind: "value", keys: [i64], value: i64 }, ...ints),
      },
      {
        statements: [],
        contents: map({ name: "@str", kind: "value", keys: [i64], value: str }, ...strs),
      },
      {
        statements,
        contents: map(
          { name: "@tu", kind: "value", keys: [i64], value: { kind: "tuple", elems: [i64, str] } },
          ...tuples,
        ),
      },
    );
  }
  return maps;
}

Deno.test("formatMaps of random maps of every kind prints what bpftrace prints for the same BEGIN program (5 random programs)", async () => {
  for (const seed of [1, 2, 3, 4, 5].map((i) => i * 7919 + Date.now() % 1000)) {
    const maps = randomMaps(seed);
    const program = `BEGIN { ${maps.flatMap((m) => m.statements).join(" ")} exit(); }`;
    const mine = "\n\n" + formatMaps(maps.map((m) => m.contents));
    const { text } = await bpftraceBegin(program, mine);
    assert.equal(mine, text, `seed ${seed}: ${program}`);
  }
});
