// Every example runs to the end on this kernel (examples that take a
// duration get 1 second) and prints something: they are documentation,
// and documentation that no longer runs is worse than none.

import assert from "node:assert/strict";

const dir = new URL("../examples/", import.meta.url);
const examples = [...Deno.readDirSync(dir)]
  .filter((e) => e.isFile && e.name.endsWith(".ts"))
  .map((e) => e.name)
  .sort();

for (const name of examples) {
  Deno.test(`examples/${name} runs`, async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", new URL(name, dir).pathname, "1"],
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(60_000),
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.ok(out.success, `exit ${out.code}: ${err.slice(-2000)}`);
    assert.ok(out.stdout.length > 0, "printed nothing");
  });
}
