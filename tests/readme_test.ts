// README.md as a user meets it: every ```ts snippet type-checks when it
// imports `@denobpf/ebpf` and its subpaths the way a user's project does
// (a deno.json mapping the package's names, nothing else), every
// `examples/…`, `deploy/…`, `bench/…`, `tests/…` path it names exists, and every
// `deno task X` and `deno task cli CMD` it runs is in deno.json and the
// CLI's --help. A relative import in a
// snippet is an example's (`./gen/…`), resolved from `examples/`.

import assert from "node:assert/strict";
import { runCli } from "./_cli_helpers.ts";

const root = new URL("../", import.meta.url);
const readme = Deno.readTextFileSync(new URL("README.md", root));
const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", root))) as {
  exports: Record<string, string>;
};

/** The ```ts blocks of a Markdown text, with the line each starts on. */
function tsSnippets(markdown: string): { line: number; code: string }[] {
  const out: { line: number; code: string }[] = [];
  const lines = markdown.split("\n");
  for (let i = 0; i < lines.length; i++) {
    if (lines[i].trim() !== "```ts") continue;
    const start = i + 1;
    let end = start;
    while (end < lines.length && lines[end].trim() !== "```") end++;
    out.push({ line: start + 1, code: lines.slice(start, end).join("\n") });
    i = end;
  }
  return out;
}

Deno.test("every ts snippet of README.md type-checks against the package", async () => {
  const snippets = tsSnippets(readme);
  assert.ok(snippets.length >= 5, `only ${snippets.length} ts snippets found`);
  const dir = await Deno.makeTempDir({ prefix: "denobpf_readme_" });
  try {
    const imports: Record<string, string> = {};
    for (const [entry, file] of Object.entries(config.exports)) {
      imports[`@denobpf/ebpf${entry.slice(1)}`] = new URL(file, root).href;
    }
    await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify({ imports }));
    const examples = new URL("examples/", root).href;
    const files: string[] = [];
    for (const { line, code } of snippets) {
      const file = `${dir}/readme_line_${line}.ts`;
      const text = code.replace(/from "\.\/([^"]+)"/g, (_, p) => `from "${examples}${p}"`);
      await Deno.writeTextFile(file, `${text}\nexport {};\n`);
      files.push(file);
    }
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", "--no-lock", "--config", `${dir}/deno.json`, ...files],
      cwd: dir,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const err = new TextDecoder().decode(out.stderr);
    assert.ok(
      out.success,
      `deno check of README.md's ts snippets (file names give the line):\n${err}`,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("every examples/, deploy/, bench/, tests/, tools/, src/ and .ci/ path README.md names exists", () => {
  const named = new Set(
    [...readme.matchAll(
      /(?<![\w/.])((?:examples|deploy|bench|tools|testdata|tests|src|\.ci)\/[\w./-]*\w)/g,
    )].map((m) => m[1]),
  );
  // Bare file names in backquotes are the examples' (the list under "Every example"),
  // or the repository root's (cli.ts).
  for (const m of readme.matchAll(/`(\w+\.ts)`/g)) {
    named.add(m[1] === "cli.ts" ? m[1] : `examples/${m[1]}`);
  }
  const missing = [...named].filter((p) => {
    try {
      Deno.statSync(new URL(p, root));
      return false;
    } catch {
      return true;
    }
  });
  assert.deepEqual(missing, []);
});

Deno.test("every deno task and CLI command README.md runs is one the package has", async () => {
  const tasks = (JSON.parse(Deno.readTextFileSync(new URL("deno.json", root))) as {
    tasks: Record<string, unknown>;
  }).tasks;
  const runs = [...readme.matchAll(/deno(?:@2)? task ([\w:]+)((?: [a-z][\w-]*){0,2})/g)];
  assert.ok(runs.length > 10, `only ${runs.length} deno task commands found`);
  const unknownTasks = runs.map((m) => m[1]).filter((t) => !(t in tasks));
  assert.deepEqual([...new Set(unknownTasks)], []);
  const out = await runCli(["--help"]);
  const help = out.out + out.err;
  const commands = new Set(
    [...help.matchAll(/^ {2}([a-z]+)(?: ([a-z][\w|-]*))?/gm)].flatMap((m) =>
      (m[2] ?? "").split("|").map((sub) => `${m[1]} ${sub}`.trim())
    ),
  );
  const unknown = runs.filter((m) => m[1] === "cli").map((m) => m[2].trim()).filter((c) =>
    c !== "" && !commands.has(c) && !commands.has(c.split(" ")[0])
  );
  assert.deepEqual([...new Set(unknown)], [], `deno task cli --help lists:\n${help}`);
});

Deno.test("README.md names every entry of deno.json exports", () => {
  const missing = Object.keys(config.exports).filter((e) =>
    e !== "." && !readme.includes(`\`${e}\``) && !readme.includes(`@denobpf/ebpf${e.slice(1)}`)
  );
  assert.deepEqual(missing, []);
});
