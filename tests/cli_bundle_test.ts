// src/cli/cli_bundle.js, the CLI in one module that cli.ts runs while it
// matches the sources: the committed bundle is the committed sources' (a
// rebuild from git HEAD gives the same bytes), and the check cli.ts makes
// tells a changed source from an unchanged one.

import assert from "node:assert/strict";
import { type BundleInput, fnv1a32, staleBundleInput } from "../src/cli/cli_bundle_check.ts";

const root = new URL("../", import.meta.url);
const utf8 = new TextEncoder();

Deno.test("cli bundle: src/cli/cli_bundle.js is what deno task bundle builds from HEAD's sources", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "tools/bundle_cli.ts", "--check"],
    cwd: root.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  assert.ok(
    out.success,
    `${d.decode(out.stderr)}(a source of the CLI was committed without its bundle: cli.ts ` +
      "runs the sources then, ~60 ms of CPU slower to start)",
  );
});

Deno.test("cli bundle: fnv1a32 gives the FNV-1a test vectors", () => {
  assert.equal(fnv1a32(new Uint8Array()), 0x811c9dc5);
  assert.equal(fnv1a32(utf8.encode("a")), 0xe40c292c);
  assert.equal(fnv1a32(utf8.encode("foobar")), 0xbf9cf968);
});

Deno.test("cli bundle: a source edited after the bundle makes it stale; touched, unchanged does not", async () => {
  const dir = await Deno.makeTempDir({ prefix: "denobpf-bundle-check-" });
  try {
    const base = new URL(`file://${dir}/cli/`);
    await Deno.mkdir(base, { recursive: true });
    const files: Record<string, string> = { "mod.ts": "export const a = 1;\n", "../x.ts": "x\n" };
    for (const [p, text] of Object.entries(files)) await Deno.writeTextFile(new URL(p, base), text);
    const inputs: BundleInput[] = Object.entries(files).map((
      [p, text],
    ) => [p, utf8.encode(text).length, fnv1a32(utf8.encode(text))]);
    const bundle = new URL("cli_bundle.js", base);
    await Deno.writeTextFile(bundle, "// bundle\n");
    const later = new Date(Date.now() + 60_000);
    const check = () => staleBundleInput(inputs, { base });

    assert.equal(check(), undefined, "as built");
    // newer than the bundle, same bytes (a fresh checkout): read and hashed, still fresh
    for (const p of Object.keys(files)) await Deno.utime(new URL(p, base), later, later);
    assert.equal(check(), undefined, "touched");
    // same size, other bytes, newer: stale
    await Deno.writeTextFile(new URL("mod.ts", base), "export const a = 2;\n");
    await Deno.utime(new URL("mod.ts", base), later, later);
    assert.equal(check(), "mod.ts");
    // another size: stale whatever its time
    await Deno.writeTextFile(new URL("mod.ts", base), "export const a = 10;\n");
    await Deno.utime(new URL("mod.ts", base), 0, 0);
    assert.equal(check(), "mod.ts");
    // gone: stale
    await Deno.remove(new URL("../x.ts", base));
    assert.equal(staleBundleInput(inputs.slice(1), { base }), "../x.ts");
    // no bundle file: stale
    await Deno.remove(bundle);
    assert.equal(staleBundleInput([], { base }), "cli_bundle.js");
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli bundle: cli.ts --help runs with -A (the bundle, or the sources when they changed) and with only --allow-ffi (the bundle)", async () => {
  for (const flags of [["-A"], ["--allow-ffi"]]) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", ...flags, "--no-prompt", "cli.ts", "--help"],
      cwd: root.pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stderr) + new TextDecoder().decode(out.stdout);
    assert.equal(out.code, 0, text);
    assert.match(text, /^usage: denobpf <command>/m);
    assert.match(text, /trace -e 'PROGRAM'/);
  }
});
