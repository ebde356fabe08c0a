// Import cost of the package's entry points, whole process: `deno run` of a
// script that only imports one entry (the root, ./probe, ./map, …) against
// an empty script, interleaved in the same run, medians over N rounds. The
// figure that matters is the delta over the empty script: what a user's
// script pays at start-up for `import … from "@denobpf/ebpf"` before doing
// anything.
//
//   deno run -A bench/import_cost.ts [--instructions] [rounds] [entry…]
//
// --instructions adds a column of user-space instructions per script, from
// one run of each under valgrind's callgrind (about a minute a script): the
// same figure on an idle and on a loaded machine, for steps too small to see
// in the timings of a shared one.
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
//
// Later the same day (load 10-13, empty script 101.8 ms CPU; instructions
// are callgrind's user-space counts, the same under any load). Where the
// cost lies: a JS copy of the root's graph (tsc's output, the same code
// without types) costs +65 M instructions where the TypeScript costs +147 M
// (empty script 46 M): most of it is Deno's handling of each TypeScript
// module (its source and cached emit, read and hashed), not V8 compiling
// or running the code; comments are ~10% (the TypeScript without comments
// +131 M), non-ASCII text nothing. And why the lazy import() that helped
// loadCollection does not carry over: every other heavy name of the root is
// synchronous by the package's convention (README, API conventions: reading
// and parsing files, single bpf(2) commands), so its module must be
// evaluated on import. Copies of the root without a group of names (as if
// each became an async wrapper around import()), same run, 21 rounds:
//
// | root entry variant (copies in /tmp)                     | modules | CPU vs empty | instructions vs empty |
// |---------------------------------------------------------|---------|--------------|-----------------------|
// | as it is (71a607f)                                      | 89      | +92.9 ms     | +147 M                |
// | without loadCollectionSpec                              | 83      | +83.9 ms     | +132 M                |
// | also without the kernel BTF functions                   | 78      | +75.0 ms     | +118 M                |
// | also without attachKprobe, attachUprobe, attachUsdt     | 65      | +68.1 ms     | +93 M                 |
// | as it is, compiled to JS (tsc, no comments)             | 89      | +64.8 ms     | +63 M                 |
// | ./map, for scale                                        | 30      | +24.9 ms     | +44 M                 |
//
// The bar (+8 ms of 22, ~0.36x the empty script: +37 ms CPU in this run)
// holds for a graph the size of ./map; the root with all three groups made
// asynchronous would still pay ~2x that. Meeting it takes both an API change
// (async file loads and the attach functions that read ELF/kallsyms) and
// JavaScript shipped for the entry, or a smaller root.
//
// ./probe: its heavy half was the compiler, loader and attach code that
// only async calls use (the builder's actions, runScript, script().start()).
// 62ac571 loads it on first call (the handle class apart from the compiler,
// the record format and the aggregation layout in small modules of their
// own). Same run (ab of c66c280 and c66c280 plus that change, 21 rounds,
// empty script 92.3 ms CPU): 122 -> 63 modules run, +100.7 -> +86.5 ms CPU;
// instructions +226.6 M -> +139.1 M. The targets of the import()s are still
// read at start-up ("modules read" 126), which is why CPU falls less than
// instructions. This bench at 0b258eb, --instructions, 11 rounds, load ~12
// (the wall clock is meaningless at that load):
//
// | script                     | CPU    | vs empty | modules run (KB) | read | instructions vs empty |
// |----------------------------|--------|----------|------------------|------|-----------------------|
// | (empty script)             | 85.0   | —        | —                | —    | 46.1 M                |
// | import @denobpf/ebpf       | 168.7  | +83.7    | 89 (721)         | 112  | +147.8 M              |
// | import @denobpf/ebpf/probe | 167.5  | +82.5    | 64 (625)         | 126  | +141.5 M              |
// | import @denobpf/ebpf/map   | 113.0  | +28.0    | 30 (240)         | 30   | +44.4 M               |
//
// What ./probe still runs on import is its synchronous API: script()'s
// builders (script.ts, 48 KB), expandPoints/listProbes (kernel BTF, ELF,
// USDT notes), resolveKsym/resolveUsym (kallsyms, ELF), the formatters.

// 2026-12-07, the package as JSR gets it (tools/build_package.ts: the
// entries as JavaScript, bundled with code splitting and minified) beside
// the TypeScript. Callgrind's instructions over an empty script (48.0 M),
// one run each, at 75882df:
//
// | entry  | TypeScript | package | package, names kept (--keep-names) |
// |--------|------------|---------|------------------------------------|
// | root   | +148.2 M   | +37.5 M | +44.0 M                            |
// | ./probe| +143.2 M   | +39.1 M |                                    |
// | ./map  | +45.0 M    | +15.8 M |                                    |
//
// The wall clock against the empty script in the same run moves with the
// empty script itself (63.7 to 78.5 ms medians from run to run, the root's
// package 82.6 to 87.8): 21 and 31 rounds on the idle VM gave the root
// +53.3 / +45.4 ms from the TypeScript and +19.0 / +9.3 ms from the package;
// ./probe +57.1 and +20.2; ./map +17.1 and +7.9. The bar of +8 ms is met by
// ./map's package, not by the root's: its 42 modules (241 KB minified) are
// mostly tables (section names, errno texts, BTF kinds) and the synchronous
// loaders the convention keeps on import.

import { median } from "./_util.ts";
import { buildPackage } from "../tools/build_package.ts";

const root = new URL("../", import.meta.url);
const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))) as {
  exports: Record<string, string>;
};
const instructions = Deno.args.includes("--instructions");
const args = Deno.args.filter((a) => a !== "--instructions");
const rounds = Number(args[0] ?? 21);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`rounds must be a positive integer, got ${args[0]}`);
  Deno.exit(2);
}
const chosen = args.length > 1 ? args.slice(1) : [".", "./probe", "./map"];
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

/**
 * User-space instructions of one `deno run` of `script` (every thread),
 * counted by callgrind: deterministic to within ~0.1%, whatever the load.
 */
async function instructionCount(script: string, cwd: string): Promise<number> {
  const out = `${cwd}/callgrind.out`;
  const r = await new Deno.Command("valgrind", {
    args: [
      "--tool=callgrind",
      `--callgrind-out-file=${out}`,
      Deno.execPath(),
      ...["run", "--no-config", "--no-prompt", "-A", script],
    ],
    cwd,
    stdout: "null",
    stderr: "piped",
  }).output();
  const log = new TextDecoder().decode(r.stderr);
  const m = /Collected : (\d+)/.exec(log);
  if (!r.success || !m) {
    throw new Error(`valgrind ${script} failed (is valgrind installed?):\n${log}`);
  }
  await Deno.remove(out);
  return Number(m[1]);
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
  // The same entries as JSR gets them: the package built by tools/build_package.ts
  // (JavaScript bundled with code splitting, typed by the TypeScript).
  const pkg = await buildPackage(root.pathname.replace(/\/$/, ""), `${dir}/pkg`);
  for (const name of chosen) {
    const entry = pkg.entries.find((e) => e.key === name)!;
    const label = `${name === "." ? "@denobpf/ebpf" : `@denobpf/ebpf/${name.slice(2)}`} (package)`;
    const file = `${dir}/package_${name === "." ? "root" : name.slice(2).replaceAll("/", "_")}.ts`;
    const url = `file://${pkg.dir}/${entry.js}`;
    await Deno.writeTextFile(file, `import * as m from "${url}";\nif (!m) throw 0;\n`);
    scripts[label] = file;
    sizes[label] = await graphSize(`${pkg.dir}/${entry.js}`);
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
  const counts: Record<string, number> = {};
  if (instructions) {
    for (const [name, s] of Object.entries(scripts)) counts[name] = await instructionCount(s, dir);
  }
  const base = times["(empty script)"];
  const delta = (xs: number[], bs: number[]) => {
    const d = median(xs) - median(bs);
    return `${d < 0 ? "" : "+"}${d.toFixed(1)} ms`;
  };
  const mi = (n: number, signed = false) =>
    `${signed && n >= 0 ? "+" : ""}${(n / 1e6).toFixed(1)} M`;
  console.log(
    `| script (whole process, ${rounds} rounds) | median | vs empty script | CPU (user+sys) | vs empty script | modules run (KB) | modules read |${
      instructions ? " instructions | vs empty script |" : ""
    }`,
  );
  console.log(`|---|---|---|---|---|---|---|${instructions ? "---|---|" : ""}`);
  for (const [name, t] of Object.entries(times)) {
    const empty = name === "(empty script)";
    const g = sizes[name];
    const graph = g ? `${g.run} (${Math.round(g.runBytes / 1024)}) | ${g.read}` : "— | —";
    console.log(
      `| ${empty ? name : `import ${name}`} | ${median(t.wall).toFixed(1)} ms | ${
        empty ? "—" : delta(t.wall, base.wall)
      } | ${median(t.cpu).toFixed(1)} ms | ${empty ? "—" : delta(t.cpu, base.cpu)} | ${graph} |${
        instructions
          ? ` ${mi(counts[name])} | ${
            empty ? "—" : mi(counts[name] - counts["(empty script)"], true)
          } |`
          : ""
      }`,
    );
  }
} finally {
  await Deno.remove(dir, { recursive: true });
}
