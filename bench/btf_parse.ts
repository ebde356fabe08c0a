// Parse /sys/kernel/btf/vmlinux and find `task_struct`: denobpf against
// libbpf's btf__parse + btf__find_by_name_kind (bench/btf_parse.c), each in
// fresh processes, interleaved, timed in-process; plus memory.
//
//   deno run -A bench/btf_parse.ts [--runs N] [--file PATH]
//
// Rows: libbpf (C, btf__parse reads the file), denobpf reading the file
// (readBtfFile with mmap: false), denobpf mapping it (readBtfFile's
// default where FFI is allowed and the kernel can mmap vmlinux BTF).
// Memory: C's peak RSS (VmHWM) and its growth over the RSS before parsing;
// for Deno, whose runtime alone is ~40 MB, the RSS growth across parse+find
// and the anonymous part of it (the data; the rest is Deno's own binary
// being paged in as new code paths run).

import { type BtfSpec as Spec, parseBtf, readBtfFile } from "../src/btf/mod.ts";
import { readBtfBytes } from "../src/btf/file.ts";

const args = Deno.args;
const opt = (name: string, dflt: string) => {
  const i = args.indexOf(name);
  return i >= 0 && i + 1 < args.length ? args[i + 1] : dflt;
};
const FILE = opt("--file", "/sys/kernel/btf/vmlinux");
const NAME = "task_struct";

function statusKb(key: string): number {
  const m = Deno.readTextFileSync("/proc/self/status").match(new RegExp(`^${key}:\\s+(\\d+)`, "m"));
  return m ? Number(m[1]) : -1;
}

interface Sample {
  total_ms: number;
  parse_ms: number;
  find_ms: number;
  decode_ms?: number;
  read_ms?: number;
  id: number;
  rss_before_kb: number;
  hwm_kb: number;
  rss_after_kb?: number;
  anon_growth_kb?: number;
}

if (args[0] === "--child") {
  // One measurement in this fresh process.
  const mmap = args[1] === "mmap";
  const rss0 = statusKb("VmRSS");
  const anon0 = statusKb("RssAnon");
  const t0 = performance.now();
  let tr = t0;
  let spec: Spec;
  if (mmap) spec = readBtfFile(FILE, { mmap: true });
  else {
    // readBtfFile(FILE, { mmap: false }) is exactly these two steps.
    const bytes = readBtfBytes(FILE);
    tr = performance.now();
    spec = parseBtf(bytes);
  }
  const t1 = performance.now();
  const id = spec.typeIdByName(NAME, "struct") ?? -1;
  const t2 = performance.now();
  const members = spec.typeById(id).kind === "struct" ? 1 : 0;
  const t3 = performance.now();
  const s: Sample = {
    total_ms: t2 - t0,
    parse_ms: t1 - t0,
    find_ms: t2 - t1,
    decode_ms: t3 - t2,
    read_ms: mmap ? undefined : tr - t0,
    id: members ? id : -1,
    rss_before_kb: rss0,
    rss_after_kb: statusKb("VmRSS"),
    anon_growth_kb: statusKb("RssAnon") - anon0,
    hwm_kb: statusKb("VmHWM"),
  };
  console.log(JSON.stringify(s));
  Deno.exit(0);
}

const RUNS = Number(opt("--runs", "15"));
const here = new URL(".", import.meta.url).pathname;
const tmp = Deno.makeTempDirSync({ prefix: "btf_bench_" });
const cbin = `${tmp}/btf_parse_c`;
const cc = new Deno.Command("cc", {
  args: ["-O2", "-o", cbin, `${here}btf_parse.c`, "-lbpf"],
  stderr: "piped",
}).outputSync();
const haveC = cc.success;
if (!haveC) {
  console.error(`cc failed; libbpf column skipped:\n${new TextDecoder().decode(cc.stderr)}`);
}

function run(cmd: string, cmdArgs: string[]): Sample {
  const out = new Deno.Command(cmd, { args: cmdArgs, stdout: "piped", stderr: "inherit" })
    .outputSync();
  if (!out.success) throw new Error(`${cmd} ${cmdArgs.join(" ")} failed`);
  return JSON.parse(new TextDecoder().decode(out.stdout).trim().split("\n").pop()!);
}

const deno = Deno.execPath();
const self = new URL(import.meta.url).pathname;
const rows: Record<string, Sample[]> = { libbpf: [], "denobpf read": [], "denobpf mmap": [] };
// One warm-up of each so that page cache and Deno's transpile cache are hot.
if (haveC) run(cbin, [FILE, NAME]);
run(deno, ["run", "-A", self, "--child", "read", "--file", FILE]);
for (let i = 0; i < RUNS; i++) {
  if (haveC) rows.libbpf.push(run(cbin, [FILE, NAME]));
  rows["denobpf read"].push(run(deno, ["run", "-A", self, "--child", "read", "--file", FILE]));
  rows["denobpf mmap"].push(run(deno, ["run", "-A", self, "--child", "mmap", "--file", FILE]));
}
Deno.removeSync(tmp, { recursive: true });

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const f = (x: number, d = 2) => x.toFixed(d);
const ids = new Set(Object.values(rows).flat().map((s) => s.id));
const base = haveC ? median(rows.libbpf.map((s) => s.total_ms)) : NaN;

console.log(`parse ${FILE} + find '${NAME}': ${RUNS} fresh processes each, in-process times`);
console.log(`(type id found: ${[...ids].join(", ")})\n`);
console.log(
  "| impl         | median ms | min ms | parse | find  | ratio | memory                          |",
);
console.log(
  "|--------------|-----------|--------|-------|-------|-------|---------------------------------|",
);
for (const [name, ss] of Object.entries(rows)) {
  if (ss.length === 0) continue;
  const tot = median(ss.map((s) => s.total_ms));
  const min = Math.min(...ss.map((s) => s.total_ms));
  const hwm = median(ss.map((s) => s.hwm_kb)) / 1024;
  let mem: string;
  if (name === "libbpf") {
    const growth = median(ss.map((s) => s.hwm_kb - s.rss_before_kb)) / 1024;
    mem = `peak RSS ${f(hwm, 1)} MB (+${f(growth, 1)} MB parse)`;
  } else {
    const growth = median(ss.map((s) => (s.rss_after_kb ?? 0) - s.rss_before_kb)) / 1024;
    mem = `+${f(growth, 1)} MB RSS (process peak ${f(hwm, 0)} MB)`;
  }
  console.log(
    `| ${name.padEnd(12)} | ${f(tot).padStart(9)} | ${f(min).padStart(6)} | ${
      f(median(ss.map((s) => s.parse_ms))).padStart(5)
    } | ${f(median(ss.map((s) => s.find_ms))).padStart(5)} | ${
      (name === "libbpf" ? "1.00" : f(tot / base)).padStart(5)
    } | ${mem.padEnd(31)} |`,
  );
}
const deco = rows["denobpf read"].map((s) => s.decode_ms ?? 0);
console.log(`\ndenobpf: decoding ${NAME} (all members) afterwards: median ${f(median(deco))} ms`);
const reads = rows["denobpf read"].map((s) => s.read_ms ?? 0);
console.log(
  `read path: reading the file alone takes ${f(median(reads))} ms in Deno` +
    (haveC
      ? ` vs ${f(median(rows.libbpf.map((s) => s.read_ms ?? 0)))} ms for a bare C read() loop`
      : "") +
    `; indexing ${f(median(rows["denobpf read"].map((s) => s.parse_ms - (s.read_ms ?? 0))))} ms`,
);
if (haveC) {
  const cGrowth = median(rows.libbpf.map((s) => s.hwm_kb - s.rss_before_kb)) / 1024;
  const cPeak = median(rows.libbpf.map((s) => s.hwm_kb)) / 1024;
  for (const name of ["denobpf read", "denobpf mmap"]) {
    const g = median(rows[name].map((s) => (s.rss_after_kb ?? 0) - s.rss_before_kb)) / 1024;
    const a = median(rows[name].map((s) => s.anon_growth_kb ?? 0)) / 1024;
    console.log(
      `${name}: RSS growth ${f(g, 1)} MB (${f(g / cPeak)}x libbpf's peak RSS, ` +
        `${f(g / cGrowth)}x its growth); anonymous (data) growth ${f(a, 1)} MB ` +
        `(${f(a / cPeak)}x libbpf's peak)`,
    );
  }
}
