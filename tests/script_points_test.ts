// runScript passes every point through expandPoints, not only globs, as
// bpftrace does: a USDT `path:name` gets its provider, a library name
// becomes its path (and the `probe` builtin spells them so).

import assert from "node:assert/strict";
import { runScript } from "../src/probe/run_script.ts";
import type { IrExpr, ScriptIr } from "../src/probe/ir.ts";
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
