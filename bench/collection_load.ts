/**
 * Loading a 24-program object with CO-RE against vmlinux (testdata/bpf/
 * many_bpfel.o): denobpf's `loadCollection` against libbpf's
 * `bpf_object__open_file` + `bpf_object__load` (bench/collection_load.c,
 * compiled here) and against `bpftool prog loadall`, in the same run,
 * interleaved, medians over fresh processes.
 *
 *     deno run -A bench/collection_load.ts [runs]
 *
 * Rows:
 * - cold, in-process: the first load in a fresh process (vmlinux BTF read
 *   and indexed, code not yet compiled), timed around the load call —
 *   libbpf's open+load against denobpf's `loadCollection(path)`.
 * - warm, in-process: later loads in the same process. libbpf parses
 *   vmlinux on every load; denobpf keeps the parsed vmlinux BTF and its
 *   name lookups.
 * - whole process: `bpftool prog loadall` against `deno run` of a script
 *   that loads the object (Deno's own start-up, ~20 ms, included).
 * - memory: peak RSS of the C process; for Deno, whose runtime alone is
 *   ~40 MB, the RSS growth across the first load.
 *
 * @module
 */

import { loadCollection } from "../src/collection/mod.ts";

const OBJ = new URL("../testdata/bpf/many_bpfel.o", import.meta.url).pathname;
const WARM = 5;

function statusKb(key: string): number {
  const m = Deno.readTextFileSync("/proc/self/status").match(new RegExp(`^${key}:\\s+(\\d+)`, "m"));
  return m ? Number(m[1]) : -1;
}

// The fresh processes end normally, not with Deno.exit: Deno writes its V8
// code cache for the modules when a process ends, so from the warm-up run on
// each one starts as a second run of any script does.

/** One fresh process: a cold load, then warm ones. */
async function child(): Promise<void> {
  const rss0 = statusKb("VmRSS");
  const out: { ms: number; rssGrowthKb?: number; hwmKb?: number }[] = [];
  for (let i = 0; i <= WARM; i++) {
    const t0 = performance.now();
    const coll = await loadCollection(OBJ);
    const ms = performance.now() - t0;
    if (i === 0) out.push({ ms, rssGrowthKb: statusKb("VmRSS") - rss0, hwmKb: statusKb("VmHWM") });
    else out.push({ ms });
    if (Object.keys(coll.programs).length !== 24) throw new Error("expected 24 programs");
    coll.close();
  }
  console.log(JSON.stringify(out));
}

const here = new URL(".", import.meta.url).pathname;
const dec = new TextDecoder();

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function run(cmd: string, args: string[]): { out: string; ms: number } {
  const t0 = performance.now();
  const r = new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).outputSync();
  const ms = performance.now() - t0;
  if (!r.success) throw new Error(`${cmd} failed: ${dec.decode(r.stderr)}`);
  return { out: dec.decode(r.stdout), ms };
}

/** The comparison: fresh processes of each kind, interleaved. */
function compare(RUNS: number): void {
  const work = Deno.makeTempDirSync({ prefix: "denobpf-bench-coll-" });
  const bin = `${work}/collection_load`;
  const cc = new Deno.Command("cc", {
    args: ["-O2", "-o", bin, `${here}collection_load.c`, "-lbpf"],
    stderr: "piped",
  }).outputSync();
  if (!cc.success) throw new Error(`cc failed: ${dec.decode(cc.stderr)}`);
  const fs = `${work}/bpffs`;
  Deno.mkdirSync(fs);
  if (!new Deno.Command("mount", { args: ["-t", "bpf", "bpf", fs] }).outputSync().success) {
    throw new Error("mount -t bpf failed");
  }

  const c = { cold: [] as number[], warm: [] as number[], hwm: [] as number[] };
  const d = {
    cold: [] as number[],
    warm: [] as number[],
    growth: [] as number[],
    hwm: [] as number[],
  };
  const proc = { bpftool: [] as number[], deno: [] as number[] };
  try {
    // Warm-up of the page cache and of Deno's module cache.
    run(bin, [OBJ, "1"]);
    run(Deno.execPath(), ["run", "-A", `${here}collection_load.ts`, "--child"]);
    for (let i = 0; i < RUNS; i++) {
      const cl = run(bin, [OBJ, String(WARM + 1)]).out.trim().split("\n").map((l) => JSON.parse(l));
      c.cold.push(cl[0].ms);
      c.warm.push(median(cl.slice(1).map((x: { ms: number }) => x.ms)));
      c.hwm.push(cl[0].hwm_kb);
      const dl = JSON.parse(
        run(Deno.execPath(), ["run", "-A", `${here}collection_load.ts`, "--child"]).out,
      );
      d.cold.push(dl[0].ms);
      d.warm.push(median(dl.slice(1).map((x: { ms: number }) => x.ms)));
      d.growth.push(dl[0].rssGrowthKb);
      d.hwm.push(dl[0].hwmKb);
      proc.bpftool.push(run("bpftool", ["prog", "loadall", OBJ, `${fs}/p${i}`]).ms);
      Deno.removeSync(`${fs}/p${i}`, { recursive: true });
      proc.deno.push(run(Deno.execPath(), ["run", "-A", `${here}collection_load.ts`, "--once"]).ms);
    }
  } finally {
    new Deno.Command("umount", { args: [fs] }).outputSync();
    Deno.removeSync(work, { recursive: true });
  }

  const ms = (x: number) => `${x.toFixed(1)} ms`;
  const mb = (kb: number) => `${(kb / 1024).toFixed(1)} MB`;
  const r = (a: number, b: number) => `${(a / b).toFixed(2)}×`;
  console.log(
    `loadCollection vs libbpf, ${OBJ.replace(/^.*\//, "")} (24 programs, CO-RE), ${RUNS} runs`,
  );
  console.log(
    `  cold, in-process    libbpf ${ms(median(c.cold))}   denobpf ${ms(median(d.cold))}   ratio ${
      r(median(d.cold), median(c.cold))
    }`,
  );
  console.log(
    `  warm, in-process    libbpf ${ms(median(c.warm))}   denobpf ${ms(median(d.warm))}   ratio ${
      r(median(d.warm), median(c.warm))
    }`,
  );
  console.log(
    `  whole process       bpftool ${ms(median(proc.bpftool))}   deno run ${
      ms(median(proc.deno))
    }   ratio ${r(median(proc.deno), median(proc.bpftool))}`,
  );
  console.log(
    `  memory              libbpf peak RSS ${mb(median(c.hwm))}   denobpf RSS growth ${
      mb(median(d.growth))
    } (peak RSS ${mb(median(d.hwm))})   ratio ${
      r(median(d.growth), median(c.hwm))
    } (growth vs C peak)`,
  );
}

if (Deno.args[0] === "--child") await child();
else if (Deno.args[0] === "--once") (await loadCollection(OBJ)).close();
else compare(Number(Deno.args[0] ?? 11));
