// Import cost of the package's entry points, whole process: `deno run` of a
// script that only imports one entry (the root, ./probe, ./map, …) against
// an empty script, interleaved in the same run, medians over N rounds. The
// figure that matters is the delta over the empty script: what a user's
// script pays at start-up for `import … from "@denobpf/ebpf"` before doing
// anything.
//
//   deno run -A bench/import_cost.ts [rounds] [entry…]
//
// Entries are named as in deno.json's `exports` (".", "./probe", "./map", …);
// by default the root, ./probe and ./map. The scripts import the entry files
// by absolute path, with no deno.json, so both sides pay the same start-up.
// Beside the timings (noisy on a loaded machine: compare within one run),
// the machine-independent sizes: modules run on import and their bytes, and
// modules Deno reads at start-up (a statically analysable `import()` makes
// it read and analyse the target's graph too, though it runs only on call).

import { median } from "./_util.ts";

const root = new URL("../", import.meta.url);
const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))) as {
  exports: Record<string, string>;
};
const rounds = Number(Deno.args[0] ?? 21);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`rounds must be a positive integer, got ${Deno.args[0]}`);
  Deno.exit(2);
}
const chosen = Deno.args.length > 1 ? Deno.args.slice(1) : [".", "./probe", "./map"];
for (const name of chosen) {
  if (!(name in config.exports)) {
    console.error(
      `unknown entry ${name}; choose from ${Object.keys(config.exports).join(", ")}`,
    );
    Deno.exit(2);
  }
}

/** Whole-process time of `deno run` of `script`, started in `cwd`. */
async function timed(script: string, cwd: string): Promise<number> {
  const t0 = performance.now();
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "--no-prompt", "-A", script],
    cwd,
    stdout: "null",
    stderr: "piped",
  }).output();
  const ms = performance.now() - t0;
  if (!r.success) {
    throw new Error(`deno run ${script} failed: ${new TextDecoder().decode(r.stderr)}`);
  }
  return ms;
}

/** Modules and bytes of an entry's graph, from `deno info --json`. */
interface GraphSize {
  /** Modules evaluated on import (static, non-type edges). */
  run: number;
  /** Their source bytes. */
  runBytes: number;
  /**
   * Modules Deno reads and analyses at start-up: also the targets of
   * statically analysable dynamic `import()`s and their graphs (fetched, not
   * compiled nor evaluated, until called).
   */
  read: number;
}

/** The sizes of `file`'s module graph: machine-independent measures beside the timings. */
async function graphSize(file: string): Promise<GraphSize> {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["info", "--json", file],
    cwd: root.pathname,
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(`deno info ${file}: ${new TextDecoder().decode(out.stderr)}`);
  const info = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    roots: string[];
    modules: {
      specifier: string;
      size?: number;
      dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
    }[];
  };
  const bySpec = new Map(info.modules.map((m) => [m.specifier, m]));
  const walk = (dynamic: boolean): Set<string> => {
    const seen = new Set<string>();
    const todo = [...info.roots];
    while (todo.length) {
      const s = todo.pop()!;
      if (seen.has(s)) continue;
      seen.add(s);
      for (const d of bySpec.get(s)?.dependencies ?? []) {
        if (d.code && (dynamic || !d.isDynamic)) todo.push(d.code.specifier);
      }
    }
    return seen;
  };
  const run = walk(false);
  const runBytes = [...run].reduce((n, s) => n + (bySpec.get(s)?.size ?? 0), 0);
  return { run: run.size, runBytes, read: walk(true).size };
}

const dir = await Deno.makeTempDir({ prefix: "denobpf-bench-import-" });
const scripts: Record<string, string> = {};
try {
  const empty = `${dir}/empty.ts`;
  await Deno.writeTextFile(empty, "// nothing\n");
  scripts["(empty script)"] = empty;
  for (const name of chosen) {
    const file = `${dir}/import_${name === "." ? "root" : name.slice(2).replaceAll("/", "_")}.ts`;
    const url = new URL(config.exports[name], root).href;
    // `import * as` keeps every export live, as a user's named imports would.
    await Deno.writeTextFile(file, `import * as m from "${url}";\nif (!m) throw 0;\n`);
    scripts[name === "." ? "@denobpf/ebpf" : `@denobpf/ebpf/${name.slice(2)}`] = file;
  }
  const sizes: Record<string, GraphSize> = {};
  for (const name of chosen) {
    sizes[name === "." ? "@denobpf/ebpf" : `@denobpf/ebpf/${name.slice(2)}`] = await graphSize(
      config.exports[name],
    );
  }

  const times: Record<string, number[]> = Object.fromEntries(
    Object.keys(scripts).map((k) => [k, []]),
  );
  // Warm: the first run of each script transpiles and caches its modules.
  for (const s of Object.values(scripts)) await timed(s, dir);
  for (let i = 0; i < rounds; i++) {
    for (const [name, s] of Object.entries(scripts)) times[name].push(await timed(s, dir));
  }
  const base = median(times["(empty script)"]);
  console.log(
    `| script (whole process, ${rounds} rounds) | median | vs empty script | modules run (KB) | modules read |`,
  );
  console.log("|---|---|---|---|---|");
  for (const [name, xs] of Object.entries(times)) {
    const m = median(xs);
    const d = m - base;
    const delta = name === "(empty script)" ? "—" : `${d < 0 ? "" : "+"}${d.toFixed(1)} ms`;
    const g = sizes[name];
    const graph = g ? `${g.run} (${Math.round(g.runBytes / 1024)}) | ${g.read}` : "— | —";
    console.log(
      `| ${name === "(empty script)" ? name : `import ${name}`} | ${
        m.toFixed(1)
      } ms | ${delta} | ${graph} |`,
    );
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
