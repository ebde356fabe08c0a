// Runs tests inside a second kernel (Debian's 6.1, with loadable modules,
// module BTF and kprobes) under QEMU/TCG, like a kernel-matrix CI stage.
//
//   deno run -A tools/vm/run.ts [options] [test files or dirs...]
//
// Without test files it runs, in one boot, the whole host suite (`deno test
// tests/ --ignore=tests/vm`, as tools/test.ts does), which must be green on
// this older kernel too (tests of features 6.1 lacks are skipped through the
// package's feature probes), and then, with nf_conntrack_netlink loaded,
// the focused tests/vm/.
//
// The host's `/` is shared read-only over 9p and the guest chroots into it, so
// it runs the host's Deno (Deno.execPath()) with the host's glibc; the project
// tree is shared read-only at its own path and `.vm/cache/deno` is the
// DENO_DIR, filled here by `deno check` before booting (the guest has no
// network). The guest runs `deno test -A --no-check --cached-only` with
// DENOBPF_VM=1 (and DENOBPF_VM_KCONFIG naming the guest kernel's build
// config, which it also finds at /boot/config-<release> on a tmpfs, as an
// installed Debian kernel has it) and powers off.
//
// With --jobs=N (the default for the host suite: 2 on a host with 2 cores
// or more) N guests boot side by side, each its own kernel, and the suite's
// test files are dealt out among them by their cost in
// tools/vm/file_costs.json, tests/vm/ last in one of them.
//
// Each run's summary is printed (`vm: <run>: N passed, N failed, K skipped
// in S s`, then the skipped tests' names, the files left out with --ignore
// and the costliest files in QEMU CPU seconds), and the last line is the sum
// over the runs, `N passed, N failed[, K skipped]`; the exit code is 0
// when every run's `deno test` exited 0. When QEMU cannot run here at all
// (no qemu installable, no kernel package) it prints `skipped: <reason>` and
// `0 passed, 0 failed` and exits 0. Only `.vm/cache/` is kept between runs.
//
// Environment: DENOBPF_VM_KERNEL picks the kernel package
// (linux-image-6.1.0-N-amd64-unsigned), DENOBPF_VM_QEMU the QEMU binary.

import { exec, exists } from "./_exec.ts";
import { ConsoleLines } from "./console.ts";
import { CpuByFile, cpuSeconds, type FileCpu } from "./cpu.ts";
import { renderInit, type Share } from "./guest_init.ts";
import { ensureKernel, ensurePackages, type Kernel, VmUnavailable } from "./host.ts";
import { buildInitramfs } from "./initramfs.ts";
import { boot } from "./qemu.ts";
import { listTestFiles, type ShardRun, shardRuns } from "./shard.ts";
import {
  addCounts,
  fileSeconds,
  ignoredTests,
  parseDenoSummary,
  summaryLine,
  type TestCounts,
} from "./summary.ts";

const PROJECT = decodeURIComponent(new URL("../..", import.meta.url).pathname).replace(/\/$/, "");
const VM_DIR = `${PROJECT}/.vm`;
const CACHE = `${VM_DIR}/cache`;
const DENO_DIR = `${CACHE}/deno`;
const QEMU = Deno.env.get("DENOBPF_VM_QEMU") ?? "qemu-system-x86_64";
/** Loaded before the 9p shares are mounted. */
const BOOT_MODULES = ["virtio_pci", "9pnet_virtio", "9p"];
/** The scenario's module: its functions, kallsyms entries and split BTF. */
const TEST_MODULES = ["nf_conntrack_netlink"];
/**
 * What the host suite uses that Debian builds as modules: for its network tests,
 * veth pairs, the clsact and htb qdiscs (cli_bpftool_net_test's `net list`
 * of an htb class filter) and tc's bpf classifier and action, dummy
 * interfaces, and loop devices and XFS (tests/bpftrace_examples_test.ts's block
 * I/O workload: the guest's / is 9p and its /tmp tmpfs).
 */
const SUITE_MODULES = [
  ...["veth", "sch_ingress", "sch_htb", "cls_bpf", "act_bpf", "dummy"],
  ...["loop", "xfs"],
];
/**
 * What tests/vm/bpftrace_kprobe_test.ts's workloads need: loop devices (block
 * I/O), an XFS filesystem (xfsdist), an md raid1 array (mdflush) and a zram
 * swap device (swapin).
 */
const TOOL_MODULES = ["loop", "xfs", "raid1", "zram"];
/** Every module the initramfs carries. */
const ALL_MODULES = [...BOOT_MODULES, ...SUITE_MODULES, ...TEST_MODULES, ...TOOL_MODULES];

/**
 * Default QEMU timeout, 45 minutes (.ci/run gives its VM stage 40 of its 60).
 * Under TCG a Deno start costs 5-20 s of CPU and JIT-heavy tests run 3-30x
 * slower than on the host; the run's summary lists the costliest files in
 * QEMU CPU seconds.
 */
const DEFAULT_TIMEOUT_S = 2700;
/**
 * Guests booted side by side for the host suite: under TCG one guest running
 * `deno test` keeps about one host core busy.
 */
const DEFAULT_JOBS = Math.max(1, Math.min(2, navigator.hardwareConcurrency));
/** Seconds each test file took in the guest, by which --jobs deals them out. */
const COSTS = `${PROJECT}/tools/vm/file_costs.json`;
/** The cost of a file the table does not know yet. */
const UNKNOWN_COST_S = 20;

const USAGE = `usage: deno run -A tools/vm/run.ts [options] [test files or dirs...]
Runs the tests with deno test inside Debian's 6.1 kernel under QEMU; without files,
the host suite (tests/ without tests/vm/), then tests/vm/.
  --focused          only tests/vm/ (no host suite)
  --suite            only the host suite (no tests/vm/)
  --timeout=SECONDS  kill QEMU after this long (default ${DEFAULT_TIMEOUT_S})
  --ignore=PATHS     leave these test files or dirs out (comma-separated), as deno test --ignore
  --filter=PATTERN   only the tests whose names match (a string or /regex/), as deno test --filter
  --no-check         do not type-check the tests on the host (dependencies are still cached)
  --jobs=N           boot N guests side by side, the test files dealt out among them by
                     their cost in tools/vm/file_costs.json (default: 2 on 2+ cores
                     for the host suite, else 1)
  --write-costs      write the files' measured times to tools/vm/file_costs.json
  --keep             keep the run's work directory under .vm/
  --exec=COMMAND     run a shell command in the guest instead of deno test (debugging)`;

const log = (s: string) => console.log(s);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** One `deno test` run in the guest (or its share of one, with `--jobs`). */
interface TestRun extends ShardRun {
  /** Modules the guest loads before this run (and keeps for the runs after it). */
  modules: string[];
  /** The files to type-check and cache on the host. */
  files: string[];
  /** Test files or dirs left out with --ignore (named in the summary). */
  leftOut?: string[];
}

interface Options {
  timeoutMs: number;
  keep: boolean;
  typeCheck: boolean;
  shell?: string;
  /** deno test's --filter for every run. */
  filter?: string;
  /** Guests booted side by side, the runs' files dealt out among them. */
  jobs: number;
  /** Write the files' measured times to tools/vm/file_costs.json. */
  writeCosts: boolean;
  runs: TestRun[];
}

const FOCUSED: TestRun = {
  name: "focused",
  modules: [...TEST_MODULES, ...TOOL_MODULES],
  fixed: [`${PROJECT}/tests/vm/`],
  parts: [],
  files: [`${PROJECT}/tests/vm/`],
};
// The host suite runs first, before the scenario's module is loaded: it
// expects a kernel like the host's, where nf_conntrack_netlink is not loaded.
const SUITE_DIR = `${PROJECT}/tests/`;
const SUITE_IGNORED = `${PROJECT}/tests/vm`;
const SUITE: TestRun = {
  name: "suite",
  modules: SUITE_MODULES,
  fixed: [],
  parts: [], // the test files under SUITE_DIR, listed in main()
  files: [SUITE_DIR],
};

function parseArgs(argv: string[]): Options {
  const o: Options = {
    timeoutMs: DEFAULT_TIMEOUT_S * 1000,
    keep: false,
    typeCheck: true,
    jobs: 0,
    writeCosts: false,
    runs: [],
  };
  let focused = false;
  let suite = false;
  const files: string[] = [];
  const ignored: string[] = [];
  const abs = (f: string) => f.startsWith("/") ? f : `${Deno.cwd()}/${f}`;
  for (const a of argv) {
    if (a.startsWith("--timeout=")) {
      const s = Number(a.slice("--timeout=".length));
      if (!(s > 0)) throw new Error(`${a}: needs a positive number of seconds`);
      o.timeoutMs = s * 1000;
    } else if (a.startsWith("--exec=")) o.shell = a.slice("--exec=".length);
    else if (a.startsWith("--filter=")) {
      o.filter = a.slice("--filter=".length);
      if (!o.filter) throw new Error(`${a}: needs a test name or /regex/`);
    } else if (a.startsWith("--ignore=")) {
      ignored.push(...a.slice("--ignore=".length).split(",").filter((f) => f).map(abs));
    } else if (a.startsWith("--jobs=")) {
      o.jobs = Number(a.slice("--jobs=".length));
      if (!Number.isInteger(o.jobs) || o.jobs < 1) {
        throw new Error(`${a}: needs a positive integer`);
      }
    } else if (a === "--write-costs") o.writeCosts = true;
    else if (a === "--keep") o.keep = true;
    else if (a === "--focused") focused = true;
    else if (a === "--suite") suite = true;
    else if (a === "--no-check") o.typeCheck = false;
    else if (a === "-h" || a === "--help") {
      log(USAGE);
      Deno.exit(0);
    } else if (a.startsWith("-")) throw new Error(`unknown option ${a}\n${USAGE}`);
    else files.push(abs(a));
  }
  const suiteRun = { ...SUITE, leftOut: ignored };
  if (files.length) {
    o.runs.push({
      name: "files",
      modules: [...SUITE_MODULES, ...TEST_MODULES, ...TOOL_MODULES],
      fixed: ignored.length ? [`--ignore=${ignored.join(",")}`] : [],
      parts: files,
      files,
      leftOut: ignored,
    });
  } else if (focused && !suite) o.runs.push(FOCUSED);
  else if (suite && !focused) o.runs.push(suiteRun);
  else o.runs.push(suiteRun, FOCUSED);
  for (const f of files) {
    // The guest sees the host's / read-only, with its own tmpfs on /tmp.
    if (f === "/tmp" || f.startsWith("/tmp/")) {
      throw new Error(`${f}: the guest has its own /tmp; put test files in the project`);
    }
  }
  return o;
}

/** How the run ended: the summary line to print last and the exit code. */
interface Outcome {
  summary: string;
  code: number;
}

const FAILED: Outcome = { summary: "0 passed, 1 failed", code: 1 };

async function prepareHost(): Promise<Kernel> {
  await ensurePackages(log);
  if ((await exec(QEMU, ["--version"])).code !== 0) {
    throw new VmUnavailable(`${QEMU} does not run on this host`);
  }
  if (!(await exists("/bin/busybox"))) throw new VmUnavailable("/bin/busybox missing");
  return await ensureKernel(CACHE, ALL_MODULES, log);
}

async function main(opts: Options): Promise<Outcome> {
  const t0 = performance.now();
  let kernel: Kernel;
  try {
    kernel = await prepareHost();
  } catch (e) {
    if (!(e instanceof VmUnavailable)) throw e;
    log(`skipped: ${e.message}`);
    return { summary: "0 passed, 0 failed", code: 0 };
  }
  const tKernel = performance.now();
  for (const r of opts.runs) {
    if (r.name === SUITE.name) {
      r.parts = (await listTestFiles(SUITE_DIR, [SUITE_IGNORED, ...r.leftOut ?? []]))
        .map((f) => f.replace(`${PROJECT}/`, ""));
    }
  }

  // Type-check on the host and fill DENO_DIR with every dependency: the guest
  // runs with --no-check --cached-only and has no network.
  await Deno.mkdir(DENO_DIR, { recursive: true });
  const prep = opts.typeCheck ? "check" : "cache";
  const check = await exec(
    Deno.execPath(),
    [prep, "--quiet", ...opts.runs.flatMap((r) => r.files)],
    {
      cwd: PROJECT,
      env: { DENO_DIR, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
      inherit: true,
    },
  );
  if (check.code !== 0) {
    log(`vm: deno ${prep} of the tests failed on the host; not booting`);
    return FAILED;
  }
  if (!(await cacheEsbuild())) {
    log("vm: deno bundle could not fetch esbuild on the host; not booting");
    return FAILED;
  }
  const tCheck = performance.now();
  log(`vm: host setup ${secs(tKernel - t0)}, deno ${prep} ${secs(tCheck - tKernel)}`);

  const costs = await readCosts();
  const jobs = opts.shell !== undefined
    ? 1
    : opts.jobs || (opts.runs.some((r) => r.name === SUITE.name) ? DEFAULT_JOBS : 1);
  const guests = shardRuns(opts.runs, jobs, (part) => costs[part] ?? UNKNOWN_COST_S)
    .map((pieces) =>
      pieces.map((p): TestRun => ({
        ...p.run,
        fixed: [...p.run.fixed, ...p.parts],
        parts: [],
      }))
    );
  if (guests.length > 1) {
    guests.forEach((runs, i) =>
      log(
        `vm: guest ${i + 1}: ${
          runs.map((r) =>
            r.fixed.length > 3 || r.name === FOCUSED.name
              ? `${r.name} (${
                r.fixed.filter((a) => !a.startsWith("--")).length
              } of its files or dirs)`
              : `${r.name} (${r.fixed.map((f) => f.replace(`${PROJECT}/`, "")).join(" ")})`
          ).join(", ")
        }`,
      )
    );
  }

  const abort = new AbortController();
  const onSignal = () => abort.abort();
  for (const s of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(s, onSignal);
  try {
    const results = await Promise.all(
      guests.map((runs, i) =>
        runGuest(kernel, runs, opts, {
          label: guests.length > 1 ? `g${i + 1}` : "",
          signal: abort.signal,
        })
      ),
    );
    log(
      `vm: total ${secs(performance.now() - t0)}${
        guests.length > 1 ? ` (${guests.length} guests side by side)` : ""
      }`,
    );
    if (abort.signal.aborted) {
      log("vm: interrupted; QEMU killed");
      return { summary: FAILED.summary, code: 130 };
    }
    if (opts.writeCosts) await writeCosts(costs, results.flatMap((r) => r.times));
    return {
      summary: summaryLine(addCounts(...results.map((r) => r.counts))),
      code: results.find((r) => r.code !== 0)?.code ?? 0,
    };
  } finally {
    for (const s of ["SIGINT", "SIGTERM"] as const) Deno.removeSignalListener(s, onSignal);
  }
}

/** What one guest's boot gave. */
interface GuestResult {
  counts: TestCounts;
  code: number;
  /** Each test file's own seconds, and each whole run's, for --write-costs. */
  times: { part: string; seconds: number }[];
}

/** Boots one guest that runs `runs` one after the other, and reads their results. */
async function runGuest(
  kernel: Kernel,
  runs: TestRun[],
  opts: Options,
  { label, signal }: { label: string; signal: AbortSignal },
): Promise<GuestResult> {
  const say = label ? (s: string) => log(`${label}| ${s}`) : log;
  const failed = (code = 1): GuestResult => ({
    counts: { passed: 0, failed: 1, ignored: 0 },
    code,
    times: [],
  });
  await Deno.mkdir(VM_DIR, { recursive: true });
  const work = await Deno.makeTempDir({ dir: VM_DIR, prefix: "run-" });
  try {
    const shareDir = `${work}/share`;
    await Deno.mkdir(shareDir);
    const shares: Share[] = [
      { tag: "project", path: PROJECT, writable: false },
      { tag: "denodir", path: DENO_DIR, writable: true, copy: true },
      { tag: "run", path: shareDir, writable: true },
    ];
    const init = renderInit({
      bootModules: BOOT_MODULES,
      testModules: opts.shell !== undefined ? [...TEST_MODULES, ...TOOL_MODULES] : [],
      rootTag: "hostroot",
      shares,
      runDir: shareDir,
      cwd: PROJECT,
      env: {
        PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
        HOME: "/tmp",
        DENO_DIR,
        DENOBPF_VM: "1",
        // The guest has no /boot: tests read the kernel's config from the cache.
        DENOBPF_VM_KCONFIG: `${kernel.root}/boot/config-${kernel.kver}`,
        NO_COLOR: "1",
        DENO_NO_UPDATE_CHECK: "1",
      },
      commands: opts.shell !== undefined
        ? [{ name: "exec", argv: ["/bin/sh", "-c", opts.shell] }]
        : runs.map((r) => ({
          name: r.name,
          modules: r.modules,
          argv: [
            Deno.execPath(),
            "test",
            "-A",
            "--no-prompt",
            "--no-check",
            "--cached-only",
            ...opts.filter !== undefined ? [`--filter=${opts.filter}`] : [],
            ...r.fixed,
          ],
        })),
      kernelConfig: `${kernel.root}/boot/config-${kernel.kver}`,
    });
    const tInitrd0 = performance.now();
    const initrd = `${work}/initramfs.cpio`;
    await buildInitramfs(kernel, initrd, {
      modules: ALL_MODULES,
      init,
      stageDir: `${work}/stage`,
    });
    const tInitrd = performance.now();

    say(`vm: booting ${kernel.kver} (${kernel.deb}) under QEMU/TCG`);
    let qemuPid = 0;
    const cpu = new CpuByFile(() => cpuSeconds(qemuPid));
    const lines = new ConsoleLines((line) => {
      say(line);
      cpu.line(line);
    });
    const res = await boot({
      qemu: QEMU,
      kernel: kernel.vmlinuz,
      initrd,
      timeoutMs: opts.timeoutMs,
      signal,
      shares: [
        { tag: "hostroot", path: "/", readonly: true },
        ...shares.map((s) => ({ tag: s.tag, path: s.path, readonly: !s.writable })),
      ],
      onOutput: (chunk) => lines.push(chunk),
      onSpawn: (pid) => qemuPid = pid,
    });
    lines.flush();
    say(
      `vm: times: initramfs ${secs(tInitrd - tInitrd0)}, QEMU (boot, tests, power-off) ${
        secs(res.ms)
      }`,
    );
    if (signal.aborted) return failed(130);
    if (res.timedOut) {
      say(`vm: timed out after ${secs(opts.timeoutMs)}; QEMU killed`);
      return failed();
    }
    if (opts.shell !== undefined) {
      const code = await readNumber(`${shareDir}/exec.code`);
      if (code === undefined) {
        say(`vm: the guest reported no exit code (QEMU exited with ${res.code}); see above`);
        return failed();
      }
      return { counts: { passed: 0, failed: 0, ignored: 0 }, code, times: [] };
    }
    return await collect(runs, shareDir, { qemuCode: res.code, cpu: cpu.files, say });
  } finally {
    if (!opts.keep) await Deno.remove(work, { recursive: true });
    else say(`vm: kept ${work}`);
  }
}

/** The cost table: seconds per test file (`tests/x_test.ts`) or whole run (`focused`). */
async function readCosts(): Promise<Record<string, number>> {
  const text = await Deno.readTextFile(COSTS).catch(() => "{}");
  const out: Record<string, number> = {};
  for (const [k, v] of Object.entries(JSON.parse(text))) if (typeof v === "number") out[k] = v;
  return out;
}

/** Merges measured times into the cost table (--write-costs). */
async function writeCosts(old: Record<string, number>, times: { part: string; seconds: number }[]) {
  const table: Record<string, unknown> = JSON.parse(
    await Deno.readTextFile(COSTS).catch(() => "{}"),
  );
  for (const t of times) table[t.part] = Math.max(1, Math.round(t.seconds));
  const { _comment, ...rest } = table;
  const sorted = Object.entries(rest).sort((a, b) => Number(b[1]) - Number(a[1]));
  await Deno.writeTextFile(
    COSTS,
    JSON.stringify({ _comment, ...Object.fromEntries(sorted) }, null, 2) + "\n",
  );
  log(
    `vm: wrote ${times.length} times to ${COSTS.replace(`${PROJECT}/`, "")} (${
      Object.keys(old).length
    } before)`,
  );
}

/**
 * `deno bundle` (tests/cli_bundle_test.ts builds the CLI's bundle) fetches
 * esbuild from npm on first use: bundle an empty module once with the
 * guest's DENO_DIR, as the guest has no network.
 */
async function cacheEsbuild(): Promise<boolean> {
  const dir = await Deno.makeTempDir({ prefix: "denobpf-vm-esbuild-" });
  try {
    await Deno.writeTextFile(`${dir}/entry.ts`, "export {};\n");
    const r = await exec(
      Deno.execPath(),
      [
        "bundle",
        "--quiet",
        "--no-config",
        "--platform",
        "deno",
        "-o",
        `${dir}/out.js`,
        `${dir}/entry.ts`,
      ],
      { cwd: dir, env: { DENO_DIR, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" }, inherit: true },
    );
    return r.code === 0;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function readNumber(path: string): Promise<number | undefined> {
  const text = await Deno.readTextFile(path).catch(() => undefined);
  const n = Number(text?.trim());
  return text === undefined || !Number.isFinite(n) ? undefined : n;
}

/**
 * Reads each run's output and exit code from the run directory, prints its
 * summary, the names of its skipped tests and its slowest files, and sums them up. A run with
 * no exit code or no summary (the guest died, QEMU timed out) counts as one
 * failure.
 */
async function collect(
  runs: TestRun[],
  dir: string,
  { qemuCode, cpu = [], say = log }: {
    qemuCode?: number;
    cpu?: FileCpu[];
    say?: (s: string) => void;
  },
): Promise<GuestResult> {
  const all: TestCounts[] = [];
  const times: GuestResult["times"] = [];
  let code = 0;
  for (const r of runs) {
    const exit = await readNumber(`${dir}/${r.name}.code`);
    const secs = await readNumber(`${dir}/${r.name}.secs`);
    const output = await Deno.readTextFile(`${dir}/${r.name}.out`).catch(() => "");
    const counts = parseDenoSummary(output);
    if (exit === undefined || counts === undefined) {
      say(
        `vm: ${r.name}: ${
          exit === undefined ? "no exit code" : `no deno test summary (exit code ${exit})`
        } (QEMU exited with ${qemuCode ?? "a signal"}); see the console above`,
      );
      all.push({ passed: 0, failed: 1, ignored: 0 });
      code ||= exit || 1;
      continue;
    }
    code ||= exit;
    all.push(counts);
    if (r.name === FOCUSED.name && secs !== undefined) times.push({ part: r.name, seconds: secs });
    else {
      for (const f of fileSeconds(output)) {
        times.push({ part: f.file.replace(/^\.\//, ""), seconds: f.seconds });
      }
    }
    say(`vm: ${r.name}: ${summaryLine(counts)}${secs !== undefined ? ` in ${secs} s` : ""}`);
    for (const name of ignoredTests(output)) say(`vm:   skipped: ${name}`);
    for (const f of r.leftOut ?? []) {
      say(`vm:   left out (--ignore): ${f.replace(`${PROJECT}/`, "")}`);
    }
    logSlowest(output, cpu.filter((c) => c.run === r.name), say);
  }
  return { counts: addCounts(...all), code, times };
}

/**
 * The run's 15 costliest test files: QEMU's CPU seconds while each ran (the
 * guest's work, whatever else loads the host) and the guest's own sum of
 * the file's test times.
 */
function logSlowest(output: string, cpu: FileCpu[], say: (s: string) => void): void {
  const wall = new Map(fileSeconds(output).map((f) => [f.file, f.seconds]));
  const rows = cpu.length
    ? cpu.map((c) => ({ file: c.file, cpu: c.cpu, wall: wall.get(c.file) }))
    : [...wall].map(([file, s]) => ({ file, cpu: undefined, wall: s }));
  rows.sort((a, b) => (b.cpu ?? b.wall ?? 0) - (a.cpu ?? a.wall ?? 0));
  if (!rows.length) return;
  const total = rows.reduce((t, r) => t + (r.cpu ?? 0), 0);
  say(
    `vm:   costliest files (QEMU CPU s, tests' own s)${
      cpu.length ? `; all: ${total.toFixed(0)} CPU s` : ""
    }:`,
  );
  const n = (x?: number) => (x === undefined ? "-" : x.toFixed(0)).padStart(6);
  for (const r of rows.slice(0, 15)) say(`vm:   ${n(r.cpu)} ${n(r.wall)}  ${r.file}`);
}

let outcome: Outcome;
try {
  outcome = await main(parseArgs(Deno.args));
} catch (e) {
  log(`vm: error: ${e instanceof Error ? e.message : e}`);
  outcome = FAILED;
}
log(outcome.summary);
Deno.exit(outcome.code);
