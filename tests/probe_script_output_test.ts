// The output layer through the back end: a BEGIN-only script run by
// runScript (printf, print(@m, top), print(value), exit and the maps
// printed at exit, ksym of addresses no symbol holds) writes what bpftrace
// prints for the same program, byte for byte.

import assert from "node:assert/strict";
import type { IrExpr, IrStmt } from "../src/probe/ir.ts";
import { runScript } from "../src/probe/run_script.ts";
import { bpftraceBegin } from "./_bpftrace_begin.ts";

const int = (value: bigint): IrExpr => ({ op: "int", value });
const str = (value: string): IrExpr => ({ op: "str", value });

const PROGRAM = `BEGIN { @k = ksym(0); @k1 = ksym(1); @x = stats(5); @x = stats(10); @a = avg(7);
  @h = hist(5); @l = lhist(2048, 0, 8192, 1024); @s["abc"] = count(); @s["b"] = count();
  @s["b"] = count(); @t = (1, "abc"); @y[1, "a"] = 3; @z = sum(-5);
  printf("%s|%5d|%-4x|%c|%d 5%%\\n", "hi", 42, 255, 65, 0xffffffff); print(@s, 1); print((1, "a"));
  exit(); }`;

const BAR = "@".repeat(52);
// Captured from bpftrace v0.17.0 (used only where bpftrace is not installed).
const CAPTURED = "hi|   42|ff  |A|-1 5%%\n@s[b]: 2\n(1, a)\n\n\n@a: 7\n\n" +
  `@h: \n[4, 8)                 1 |${BAR}|\n\n@k: 0\n@k1: 0x1\n` +
  `@l: \n[2K, 3K)               1 |${BAR}|\n\n@s[abc]: 1\n@s[b]: 2\n@t: (1, abc)\n` +
  "@x: count 2, average 7, total 15\n\n@y[1, a]: 3\n@z: -5\n";

Deno.test("a BEGIN script run by runScript prints what bpftrace prints for it: printf, print(@m, top), print(value), the maps at exit", async () => {
  const body: IrStmt[] = [
    { op: "map_set", map: "@k", value: { op: "call", fn: "ksym", args: [int(0n)] } },
    { op: "map_set", map: "@k1", value: { op: "call", fn: "ksym", args: [int(1n)] } },
    { op: "aggregate", map: "@x", fn: "stats", args: [int(5n)] },
    { op: "aggregate", map: "@x", fn: "stats", args: [int(10n)] },
    { op: "aggregate", map: "@a", fn: "avg", args: [int(7n)] },
    { op: "aggregate", map: "@h", fn: "hist", args: [int(5n)] },
    {
      op: "aggregate",
      map: "@l",
      fn: "lhist",
      args: [int(2048n), int(0n), int(8192n), int(1024n)],
    },
    { op: "aggregate", map: "@s", key: str("abc"), fn: "count", args: [] },
    { op: "aggregate", map: "@s", key: str("b"), fn: "count", args: [] },
    { op: "aggregate", map: "@s", key: str("b"), fn: "count", args: [] },
    { op: "map_set", map: "@t", value: { op: "tuple", elems: [int(1n), str("abc")] } },
    { op: "map_set", map: "@y", key: { op: "tuple", elems: [int(1n), str("a")] }, value: int(3n) },
    { op: "aggregate", map: "@z", fn: "sum", args: [int(-5n)] },
    {
      op: "printf",
      format: "%s|%5d|%-4x|%c|%d 5%%\n",
      args: [str("hi"), int(42n), int(255n), int(65n), int(0xffffffffn)],
    },
    { op: "print", map: "@s", top: 1 },
    { op: "print_value", value: { op: "tuple", elems: [int(1n), str("a")] } },
    { op: "exit" },
  ];
  const out: string[] = [];
  {
    await using h = await runScript(
      { probes: [{ points: [{ kind: "begin", target: "" }], body }] },
      { output: (s: string) => void out.push(s) },
    );
    await h.run();
  }
  const { text } = await bpftraceBegin(PROGRAM, CAPTURED);
  assert.equal(out.join(""), text);
});

Deno.test("maps never written print as bpftrace prints them at exit: a keyless count() as @c: 0, a keyless sum() and a keyed count() as their line break", async () => {
  const never: IrExpr = {
    op: "binary",
    operator: "==",
    left: { op: "builtin", name: "pid" },
    right: int(1n),
  };
  const out: string[] = [];
  {
    await using h = await runScript({
      probes: [
        {
          points: [{ kind: "tracepoint", target: "syscalls:sys_enter_getppid" }],
          filter: never,
          body: [
            { op: "aggregate", map: "@c", fn: "count", args: [] },
            { op: "aggregate", map: "@s", fn: "sum", args: [{ op: "builtin", name: "pid" }] },
            {
              op: "aggregate",
              map: "@k",
              key: { op: "builtin", name: "pid" },
              fn: "count",
              args: [],
            },
          ],
        },
        { points: [{ kind: "begin", target: "" }], body: [{ op: "exit" }] },
      ],
    }, { output: (s: string) => void out.push(s) });
    await h.run();
  }
  const { text } = await bpftraceBegin(
    "tracepoint:syscalls:sys_enter_getppid /pid == 1/ { @c = count(); @s = sum(pid); @k[pid] = count(); } " +
      "BEGIN { exit(); }",
    "\n\n@c: 0\n\n\n",
  );
  assert.equal(out.join(""), text);
});

Deno.test("lhist with a range that is not a whole number of steps buckets as bpftrace does: the last partial step counts as [max, ...)", async () => {
  const lhist = (v: bigint): IrStmt => ({
    op: "aggregate",
    map: "@l",
    fn: "lhist",
    args: [int(v), int(0n), int(10n), int(3n)],
  });
  const out: string[] = [];
  {
    await using h = await runScript({
      probes: [{
        points: [{ kind: "begin", target: "" }],
        body: [lhist(9n), lhist(6n), lhist(10n), lhist(-1n), lhist(2n), lhist(9n), { op: "exit" }],
      }],
    }, { output: (s: string) => void out.push(s) });
    await h.run();
  }
  const { text } = await bpftraceBegin(
    "BEGIN { @l = lhist(9, 0, 10, 3); @l = lhist(6, 0, 10, 3); @l = lhist(10, 0, 10, 3); " +
      "@l = lhist(-1, 0, 10, 3); @l = lhist(2, 0, 10, 3); @l = lhist(9, 0, 10, 3); exit(); }",
    "\n\n@l: \n" +
      `(..., 0)               1 |${"@".repeat(17)}${" ".repeat(35)}|\n` +
      `[0, 3)                 1 |${"@".repeat(17)}${" ".repeat(35)}|\n` +
      `[3, 6)                 0 |${" ".repeat(52)}|\n` +
      `[6, 9)                 1 |${"@".repeat(17)}${" ".repeat(35)}|\n` +
      `[10, ...)              3 |${BAR}|\n\n`,
  );
  assert.equal(out.join(""), text);
});
