// Whole-process time of `prog dump xlated id N` for basic.c's xdp_sum
// (loaded here by the library: BTF prototypes, source lines, a subprogram,
// map references, helper calls resolved through /proc/kallsyms): `deno run
// cli.ts` against `bpftool prog dump xlated`, interleaved in the same run,
// in text and in -j; outputs checked equal.
//
//   deno run -A bench/prog_dump.ts [--runs N]

import { loadCollection } from "../src/collection/mod.ts";
import { median, ratio } from "./_util.ts";

const args = Deno.args;
const i = args.indexOf("--runs");
const RUNS = i >= 0 ? Number(args[i + 1]) : 11;
const cli = new URL("../cli.ts", import.meta.url).pathname;

using coll = await loadCollection(new URL("../testdata/bpf/basic_bpfel.o", import.meta.url));
const id = String(coll.programs.xdp_sum.info().id);

function wall(cmd: string[]): [number, string] {
  const t0 = performance.now();
  const out = new Deno.Command(cmd[0], { args: cmd.slice(1), stdout: "piped", stderr: "inherit" })
    .outputSync();
  const t = performance.now() - t0;
  if (!out.success) throw new Error(`${cmd.join(" ")} failed`);
  return [t, new TextDecoder().decode(out.stdout)];
}

console.log(`prog dump xlated id ${id} (xdp_sum), ${RUNS} runs each, whole-process wall time\n`);
console.log("| form | bpftool median ms | denobpf median ms | ratio | output |");
console.log("|------|-------------------|-------------------|-------|--------|");
for (const form of [[], ["-j"], ["visual"]]) {
  const dump = ["prog", "dump", "xlated", "id", id, ...form];
  const ours = [Deno.execPath(), "run", "-A", cli, ...dump];
  const theirs = ["bpftool", ...dump];
  const same = wall(ours)[1] === wall(theirs)[1]; // also warms the caches
  const t = { ours: [] as number[], theirs: [] as number[] };
  for (let r = 0; r < RUNS; r++) {
    t.theirs.push(wall(theirs)[0]);
    t.ours.push(wall(ours)[0]);
  }
  const [b, o] = [median(t.theirs), median(t.ours)];
  console.log(
    `| ${(form.join(" ") || "text").padEnd(6)} | ${b.toFixed(1)} | ${o.toFixed(1)} | ${
      ratio(o, b)
    } | ${same ? "identical" : "DIFFERENT"} |`,
  );
}
