// Whole-process time of a raw dump of vmlinux BTF: `deno run` of this
// script (child mode) against `bpftool btf dump file F format raw`, both
// writing to /dev/null, interleaved in the same run; output checked equal.
//
//   deno run -A bench/btf_dump.ts [--runs N] [--file PATH]
//   deno run -A bench/btf_dump.ts --child [--file PATH] > out.txt   # the dump itself

import { dumpRawChunks, readBtfFile } from "../src/btf/mod.ts";

const args = Deno.args;
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const FILE = opt("--file", "/sys/kernel/btf/vmlinux");

if (args[0] === "--child") {
  const spec = readBtfFile(FILE);
  for (const chunk of dumpRawChunks(spec, { chunkSize: 4 << 20 })) {
    let off = 0;
    while (off < chunk.length) off += Deno.stdout.writeSync(chunk.subarray(off));
  }
  Deno.exit(0);
}

const RUNS = Number(opt("--runs", "15"));
const deno = Deno.execPath();
const self = new URL(import.meta.url).pathname;
const ours = [deno, "run", "-A", self, "--child", "--file", FILE];
const theirs = ["bpftool", "btf", "dump", "file", FILE, "format", "raw"];

function wall(cmd: string[], stdout: "null" | "piped" = "null"): [number, Uint8Array] {
  const t0 = performance.now();
  const out = new Deno.Command(cmd[0], { args: cmd.slice(1), stdout, stderr: "inherit" })
    .outputSync();
  const t = performance.now() - t0;
  if (!out.success) throw new Error(`${cmd.join(" ")} failed`);
  return [t, stdout === "piped" ? out.stdout : new Uint8Array()];
}

// Check the outputs once (and warm the page and transpile caches).
const [, a] = wall(ours, "piped");
const [, b] = wall(theirs, "piped");
const same = a.length === b.length && a.every((x, i) => x === b[i]);
if (!same) console.error("WARNING: outputs differ!");

const t = { denobpf: [] as number[], bpftool: [] as number[] };
for (let i = 0; i < RUNS; i++) {
  t.bpftool.push(wall(theirs)[0]);
  t.denobpf.push(wall(ours)[0]);
}
const median = (xs: number[]) => {
  const s = [...xs].sort((x, y) => x - y);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const base = median(t.bpftool);
console.log(
  `raw dump of ${FILE} to /dev/null: ${RUNS} runs each, whole-process wall time ` +
    `(output ${a.length} bytes, ${same ? "identical" : "DIFFERENT"})\n`,
);
console.log("| impl                  | median ms | min ms | ratio |");
console.log("|-----------------------|-----------|--------|-------|");
for (const [name, xs] of [["bpftool", t.bpftool], ["denobpf (deno run)", t.denobpf]] as const) {
  console.log(
    `| ${name.padEnd(21)} | ${median(xs).toFixed(1).padStart(9)} | ${
      Math.min(...xs).toFixed(1).padStart(6)
    } | ${(median(xs) / base).toFixed(2).padStart(5)} |`,
  );
}
