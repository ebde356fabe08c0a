// Runs the whole test suite with `deno test` and ends with the plain summary
// line CI reads: `N passed, N failed` (Deno's own summary is printed above it).
// Extra arguments are passed to `deno test` (e.g. a file or --filter).
// It first installs what the tests need, if missing (tools/setup.ts).

import { setup } from "./setup.ts";

if (Deno.env.get("DENOBPF_SKIP_SETUP") !== "1" && !(await setup())) {
  console.error("setup: something the tests need is missing; some tests will fail (see above)");
}

const args = Deno.args.length ? Deno.args : ["--ignore=tests/vm", "tests/"];
const cmd = new Deno.Command(Deno.execPath(), {
  args: ["test", "-A", "--no-prompt", ...args],
  stdout: "piped",
  stderr: "inherit",
  env: { NO_COLOR: "1" },
});
const child = cmd.spawn();
let tail = "";
const dec = new TextDecoder();
for await (const chunk of child.stdout) {
  await Deno.stdout.write(chunk);
  tail = (tail + dec.decode(chunk, { stream: true })).slice(-4096);
}
const status = await child.status;
// Deno's summary: "ok | 12 passed (3 steps) | 0 failed | 2 ignored (…)"
const m =
  /(?:ok|FAILED) \| (\d+) passed(?: \((\d+) steps?\))? \| (\d+) failed(?: \((\d+) steps?\))?(?: \| (\d+) ignored)?/
    .exec(tail);
if (m) {
  const passed = Number(m[1]);
  const failed = Number(m[3]);
  const ignored = Number(m[5] ?? 0);
  console.log(`\n${passed} passed, ${failed} failed${ignored ? `, ${ignored} skipped` : ""}`);
} else {
  console.log(`\n0 passed, 1 failed`);
}
Deno.exit(status.code);
