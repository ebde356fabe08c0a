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
// CPU is the child's user+system time (getrusage of the waited-for
// children): on a shared machine it moves far less than the wall clock.
//
// Measured 2026-12-06 on the 2-core dev VM under load average 11-15 (other
// engineers' tests and a QEMU guest): the empty script took 73 ms CPU (it
// takes 22 ms wall on the idle machine), so every figure here is ~3x an idle
// one; compare ratios to the empty script. Same run, 31 rounds, CPU deltas:
//
// | root entry variant                                          | modules | CPU vs empty |
// |-------------------------------------------------------------|---------|--------------|
// | before (a1bfdda)                                            | 93      | +63.2 ms     |
// | after: no area barrel (src/*/mod.ts) in the root's graph    | 89      | +61.9 ms     |
// | /tmp branch: root cut to maps, programs, errors, codecs     | 43      | +31.7 ms     |
// | /tmp branch: every entry bundled, code-split (deno bundle)  | 1 + 13  | +29.9 ms     |
// | /tmp branch: the same, minified (--minify --keep-names)     | 1 + 13  | +26.7 ms     |
// | /tmp branch: the root's graph as one bundled file           | 1       | +26.6 ms     |
// | ./map (after)                                               | 30      | +18.2 ms     |
//
// The other entries, same way (another run, empty script 99 ms CPU):
// importing the area files instead of area barrels took ./probe from 143 to
// 118 modules, +118.7 -> +106.4 ms CPU, and ./metrics from 141 to 104,
// +125.1 -> +92.3 ms; tests/import_cost_test.ts keeps every entry
// barrel-free.
//
// Where the root's time goes (same machine, experiments on copies in /tmp):
// not top-level evaluation (the tables, the libc binding and the signal
// wrappers are already made on first use; instrumented, the root's
// top-level code runs in ~3 ms here) and not module resolution (93 one-line
// modules cost +7 ms). It is bytes: Deno reads each module's TypeScript and
// its emitted JavaScript, whose inline source map carries the whole source
// again (the root's 720 KB of TypeScript are 2.1 MB emitted), V8 compiles
// each, and the heap fills twice on the way (two scavenges, none for the
// empty script). 93 modules of 10 KB of comments each cost +31 ms, of 8 KB of
// uncalled functions +44 ms; one 600 KB file of comments +13 ms. So the
// bar of +8 ms (idle), i.e. ~0.36x the empty script, needs the root to
// handle about half the bytes it does: either a smaller root (an API change:
// the issue wants attach, readers, kernel BTF in it, and no single group is
// large: without loadCollectionSpec 87 modules, without the readers 87,
// without kernel BTF 91, without every attach function 71; all four out: 43)
// or a build step that publishes bundled, code-split entries (no API change;
// classes stay shared between entries through the common chunks, but tests
// and src/ would then run other code than users do).

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

// getrusage(RUSAGE_CHILDREN): the CPU time of the children waited for, so
// that each run's CPU time is the difference around it (runs are one at a
// time). Less noisy than the wall clock when other processes share the CPUs.
const libc = Deno.dlopen("libc.so.6", {
  getrusage: { parameters: ["i32", "buffer"], result: "i32" },
});
const RUSAGE_CHILDREN = -1;
const rusage = new BigInt64Array(18); // struct rusage: ru_utime, ru_stime (timevals) first

/** User plus system CPU time of the waited-for children so far, in ms. */
function childrenCpuMs(): number {
  if (libc.symbols.getrusage(RUSAGE_CHILDREN, rusage) !== 0) throw new Error("getrusage failed");
  const [us, uu, ss, su] = rusage;
  return Number((us + ss) * 1_000_000n + uu + su) / 1000;
}

/** Whole-process wall and CPU time (ms) of `deno run` of `script`, started in `cwd`. */
async function timed(script: string, cwd: string): Promise<{ wall: number; cpu: number }> {
  const c0 = childrenCpuMs();
  const t0 = performance.now();
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-config", "--no-prompt", "-A", script],
    cwd,
    stdout: "null",
    stderr: "piped",
  }).output();
  const wall = performance.now() - t0;
  if (!r.success) {
    throw new Error(`deno run ${script} failed: ${new TextDecoder().decode(r.stderr)}`);
  }
  return { wall, cpu: childrenCpuMs() - c0 };
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

  const times: Record<string, { wall: number[]; cpu: number[] }> = Object.fromEntries(
    Object.keys(scripts).map((k) => [k, { wall: [], cpu: [] }]),
  );
  // Warm: the first run of each script transpiles and caches its modules.
  for (const s of Object.values(scripts)) await timed(s, dir);
  for (let i = 0; i < rounds; i++) {
    for (const [name, s] of Object.entries(scripts)) {
      const t = await timed(s, dir);
      times[name].wall.push(t.wall);
      times[name].cpu.push(t.cpu);
    }
  }
  const base = times["(empty script)"];
  const delta = (xs: number[], bs: number[]) => {
    const d = median(xs) - median(bs);
    return `${d < 0 ? "" : "+"}${d.toFixed(1)} ms`;
  };
  console.log(
    `| script (whole process, ${rounds} rounds) | median | vs empty script | CPU (user+sys) | vs empty script | modules run (KB) | modules read |`,
  );
  console.log("|---|---|---|---|---|---|---|");
  for (const [name, t] of Object.entries(times)) {
    const empty = name === "(empty script)";
    const g = sizes[name];
    const graph = g ? `${g.run} (${Math.round(g.runBytes / 1024)}) | ${g.read}` : "— | —";
    console.log(
      `| ${empty ? name : `import ${name}`} | ${median(t.wall).toFixed(1)} ms | ${
        empty ? "—" : delta(t.wall, base.wall)
      } | ${median(t.cpu).toFixed(1)} ms | ${empty ? "—" : delta(t.cpu, base.cpu)} | ${graph} |`,
    );
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
