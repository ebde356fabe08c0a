// runScript passes every point through expandPoints, not only globs, as
// bpftrace does: a USDT `path:name` gets its provider, a library name
// becomes its path (and the `probe` builtin spells them so).

import assert from "node:assert/strict";
import { runScript } from "../src/probe/run_script.ts";
import type { IrExpr, IrStmt, ScriptIr } from "../src/probe/ir.ts";
import { buildProbeTarget, cleanProbeTarget, runProbeTarget } from "./probe_fixtures.ts";

Deno.test("runScript: usdt:PATH:NAME (no provider) attaches as bpftrace attaches it, keyed by its full name", async () => {
  const bin = await buildProbeTarget();
  try {
    const probeName: IrExpr = { op: "builtin", name: "probe" };
    const ir: ScriptIr = {
      probes: [{
        points: [{ kind: "usdt", target: `${bin}:tick` }],
        body: [
          { op: "aggregate", map: "@calls", key: probeName, fn: "count", args: [] },
          { op: "aggregate", map: "@sum", fn: "sum", args: [{ op: "arg", index: 0 }] },
        ],
      }],
    };
    await using h = await runScript(ir, { printMaps: false });
    await runProbeTarget(37);
    await h.stop();
    assert.deepEqual(h.maps["@calls"], new Map([[`usdt:${bin}:denobpf_probe:tick`, 37]]));
    assert.deepEqual(h.maps["@sum"], new Map([[null, (36 * 37) / 2]]));
  } finally {
    await cleanProbeTarget();
  }
});

Deno.test("runScript: a map keyed by probe holds every point's full name, the longest too, whichever point fixed the key", async () => {
  const libc = Deno.dlopen(
    "libc.so.6",
    {
      getpid: { parameters: [], result: "i32" },
      getpriority: { parameters: ["i32", "u32"], result: "i32" },
    } as const,
  );
  try {
    const probeName: IrExpr = { op: "builtin", name: "probe" };
    const mine: IrExpr = {
      op: "binary",
      operator: "==",
      left: { op: "builtin", name: "pid" },
      right: { op: "int", value: BigInt(Deno.pid) },
    };
    const count: IrStmt[] = [{
      op: "aggregate",
      map: "@calls",
      key: probeName,
      fn: "count",
      args: [],
    }];
    // The shorter name first: its program fixes the key's type.
    const ir: ScriptIr = {
      probes: [
        {
          points: [{ kind: "tracepoint", target: "syscalls:sys_enter_getpid" }],
          filter: mine,
          body: [...count],
        },
        {
          points: [{ kind: "tracepoint", target: "syscalls:sys_enter_getpriority" }],
          filter: mine,
          body: [...count],
        },
      ],
    };
    await using h = await runScript(ir, { printMaps: false });
    for (let i = 0; i < 5; i++) libc.symbols.getpid();
    for (let i = 0; i < 3; i++) libc.symbols.getpriority(0, 0);
    await h.stop();
    assert.deepEqual(
      h.maps["@calls"],
      new Map([
        ["tracepoint:syscalls:sys_enter_getpid", 5],
        ["tracepoint:syscalls:sys_enter_getpriority", 3],
      ]),
    );
  } finally {
    libc.close();
  }
});
