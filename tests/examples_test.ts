// Every example runs to the end on this kernel, the way its header says a
// user runs it: `deno run --allow-ffi --no-prompt examples/<name>.ts [args]`
// from the package root, with no other permission (no -A, no --allow-read,
// --allow-run or --allow-sys), importing `@denobpf/ebpf` by name through
// deno.json. Examples that take a duration get 1 second. They are
// documentation, and documentation that no longer runs is worse than none.

import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);
const dir = new URL("examples/", root);
const examples = [...Deno.readDirSync(dir)]
  .filter((e) => e.isFile && e.name.endsWith(".ts"))
  .map((e) => e.name)
  .sort();

/** Arguments per example: a duration of 1 s for those that take one. */
const ARGS: Record<string, string[]> = {
  "probe_opens.ts": ["1"],
  "probe_read_sizes.ts": ["1"],
  "probe_syscall_counts.ts": ["1"],
  "syscall_counts.ts": ["1"],
};

/**
 * How much longer than on the host a run may take: in the VM stage's guest
 * (DENOBPF_VM=1, QEMU/TCG) Deno runs 10-50x slower and an example took up
 * to 59 s, so the time limits there are four times the host's.
 */
export const TIME_SCALE: number = Deno.env.get("DENOBPF_VM") === "1" ? 4 : 1;

/** Runs `deno run --allow-ffi --no-prompt examples/<name> ...args` from the package root. */
export async function runExample(
  name: string,
  args: string[] = ARGS[name] ?? [],
): Promise<{ success: boolean; code: number; stdout: string; stderr: string }> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", "--no-prompt", `examples/${name}`, ...args],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000 * TIME_SCALE),
  }).output();
  const dec = new TextDecoder();
  return {
    success: out.success,
    code: out.code,
    stdout: dec.decode(out.stdout),
    stderr: dec.decode(out.stderr),
  };
}

Deno.test("examples: every example has a header saying to run it with --allow-ffi", () => {
  for (const name of examples) {
    const text = Deno.readTextFileSync(new URL(name, dir));
    assert.match(text, new RegExp(`deno run --allow-ffi examples/${name}`), name);
  }
});

for (const name of examples) {
  Deno.test(`examples/${name} runs with deno run --allow-ffi alone`, async () => {
    const out = await runExample(name);
    assert.ok(out.success, `exit ${out.code}: ${out.stderr.slice(-2000)}`);
    assert.doesNotMatch(out.stderr, /NotCapable|--allow-/, "asked for another permission");
    assert.ok(out.stdout.length > 0, "printed nothing");
  });
}

Deno.test("deno task demo: every step runs with --allow-ffi alone and it ends with what to try next", async () => {
  const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", root)));
  const command: string = config.tasks.demo.command;
  const runs = [...command.matchAll(/deno run ((?:--?[\w-]+(?:=\S+)? )*)/g)].map((m) =>
    m[1].trim()
  );
  assert.ok(runs.length > 0, command);
  for (const flags of runs) assert.equal(flags, "--allow-ffi", `demo step flags: ${flags}`);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["task", "demo"],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(120_000 * TIME_SCALE),
  }).output();
  const stdout = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, `exit ${out.code}: ${new TextDecoder().decode(out.stderr).slice(-2000)}`);
  const last = stdout.trimEnd().split("\n").at(-1) ?? "";
  assert.match(last, /^Next: sudo deno run --allow-ffi examples\//);
});
