// The scripted-probe entry's layout: the handles, the decoding, the attach
// dispatch and the builder are separate modules that import one another in
// one direction only (builder -> handles -> decoding), with no cycle.

import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);

interface ModuleInfo {
  specifier: string;
  dependencies?: { code?: { specifier: string }; type?: { specifier: string } }[];
}

async function moduleGraph(entry: string): Promise<Map<string, string[]>> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: root.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as { modules: ModuleInfo[] };
  const rel = (s: string) => s.replace(root.href, "");
  return new Map(info.modules.map((m) => [
    rel(m.specifier),
    (m.dependencies ?? []).flatMap((d) =>
      [d.code?.specifier, d.type?.specifier].filter((s): s is string => !!s).map(rel)
    ),
  ]));
}

/** Every module that `from` reaches through imports, `from` excluded unless in a cycle. */
function reach(graph: Map<string, string[]>, from: string): Set<string> {
  const seen = new Set<string>();
  const todo = [...graph.get(from) ?? []];
  while (todo.length) {
    const s = todo.pop()!;
    if (seen.has(s)) continue;
    seen.add(s);
    todo.push(...graph.get(s) ?? []);
  }
  return seen;
}

Deno.test("probe entry: handles, decoding, attach dispatch and builder are separate modules without import cycles", async () => {
  const graph = await moduleGraph("src/probe/mod.ts");
  const probeModules = [...graph.keys()].filter((s) => s.startsWith("src/probe/"));
  for (const m of probeModules) {
    assert.ok(!reach(graph, m).has(m), `${m} imports itself through a cycle`);
  }
  for (const m of ["builder.ts", "handles.ts", "_decode.ts", "_attach.ts"]) {
    assert.ok(graph.has(`src/probe/${m}`), `src/probe/mod.ts does not load src/probe/${m}`);
  }
  const fromHandles = reach(graph, "src/probe/handles.ts");
  assert.ok(!fromHandles.has("src/probe/builder.ts"), "handles.ts imports the builder");
  assert.ok(!fromHandles.has("src/probe/_attach.ts"), "handles.ts imports the attach dispatch");
  for (const m of ["_decode.ts", "_attach.ts"]) {
    const from = reach(graph, `src/probe/${m}`);
    for (const up of ["builder.ts", "handles.ts"]) {
      assert.ok(!from.has(`src/probe/${up}`), `${m} imports ${up}`);
    }
  }
});
