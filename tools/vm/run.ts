// Runs tests inside a second kernel (Debian's 6.1, with loadable modules,
// module BTF and kprobes) under QEMU/TCG, like a kernel-matrix CI stage.
//
//   deno run -A tools/vm/run.ts [options] [test files or dirs...]   (default: tests/vm/)
//
// The host's `/` is shared read-only over 9p and the guest chroots into it, so
// it runs the host's Deno (Deno.execPath()) with the host's glibc; the project
// tree is shared read-only at its own path and `.vm/cache/deno` is the
// DENO_DIR, filled here by `deno check` before booting (the guest has no
// network). The guest loads nf_conntrack_netlink, runs
// `deno test -A --no-check --cached-only` with DENOBPF_VM=1 (and
// DENOBPF_VM_KCONFIG naming the guest kernel's build config, which the
// guest's chroot has no /boot copy of) and powers off.
//
// The last line printed is `N passed, N failed` for the tests run in the
// guest, and the exit code is the guest `deno test`'s. When QEMU cannot run
// here at all (no qemu installable, no kernel package) it prints
// `skipped: <reason>` and `0 passed, 0 failed` and exits 0. Only `.vm/cache/`
// is kept between runs.
//
// Environment: DENOBPF_VM_KERNEL picks the kernel package
// (linux-image-6.1.0-N-amd64-unsigned), DENOBPF_VM_QEMU the QEMU binary.

import { exec, exists } from "./_exec.ts";
import { ConsoleLines } from "./console.ts";
import { renderInit, type Share } from "./guest_init.ts";
import { ensureKernel, ensurePackages, type Kernel, VmUnavailable } from "./host.ts";
import { buildInitramfs } from "./initramfs.ts";
import { boot } from "./qemu.ts";
import { parseDenoSummary, summaryLine } from "./summary.ts";

const PROJECT = decodeURIComponent(new URL("../..", import.meta.url).pathname).replace(/\/$/, "");
const VM_DIR = `${PROJECT}/.vm`;
const CACHE = `${VM_DIR}/cache`;
const DENO_DIR = `${CACHE}/deno`;
const QEMU = Deno.env.get("DENOBPF_VM_QEMU") ?? "qemu-system-x86_64";
/** Loaded before the 9p shares are mounted. */
const BOOT_MODULES = ["virtio_pci", "9pnet_virtio", "9p"];
/** The scenario's module: its functions, kallsyms entries and split BTF. */
const TEST_MODULES = ["nf_conntrack_netlink"];

const USAGE = `usage: deno run -A tools/vm/run.ts [options] [test files or dirs...]
Runs the tests (default: tests/vm/) with deno test inside Debian's 6.1 kernel under QEMU.
  --timeout=SECONDS  kill QEMU after this long (default 600)
  --no-check         do not type-check the tests on the host (dependencies are still cached)
  --keep             keep the run's work directory under .vm/
  --exec=COMMAND     run a shell command in the guest instead of deno test (debugging)`;

const log = (s: string) => console.log(s);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

interface Options {
  timeoutMs: number;
  keep: boolean;
  typeCheck: boolean;
  shell?: string;
  files: string[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = { timeoutMs: 600_000, keep: false, typeCheck: true, files: [] };
  for (const a of argv) {
    if (a.startsWith("--timeout=")) {
      const s = Number(a.slice("--timeout=".length));
      if (!(s > 0)) throw new Error(`${a}: needs a positive number of seconds`);
      o.timeoutMs = s * 1000;
    } else if (a.startsWith("--exec=")) o.shell = a.slice("--exec=".length);
    else if (a === "--keep") o.keep = true;
    else if (a === "--no-check") o.typeCheck = false;
    else if (a === "-h" || a === "--help") {
      log(USAGE);
      Deno.exit(0);
    } else if (a.startsWith("-")) throw new Error(`unknown option ${a}\n${USAGE}`);
    else o.files.push(a.startsWith("/") ? a : `${Deno.cwd()}/${a}`);
  }
  if (o.files.length === 0) o.files.push(`${PROJECT}/tests/vm/`);
  for (const f of o.files) {
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
  return await ensureKernel(CACHE, [...BOOT_MODULES, ...TEST_MODULES], log);
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

  // Type-check on the host and fill DENO_DIR with every dependency: the guest
  // runs with --no-check --cached-only and has no network.
  await Deno.mkdir(DENO_DIR, { recursive: true });
  const prep = opts.typeCheck ? "check" : "cache";
  const check = await exec(Deno.execPath(), [prep, "--quiet", ...opts.files], {
    cwd: PROJECT,
    env: { DENO_DIR, NO_COLOR: "1", DENO_NO_UPDATE_CHECK: "1" },
    inherit: true,
  });
  if (check.code !== 0) {
    log(`vm: deno ${prep} of the tests failed on the host; not booting`);
    return FAILED;
  }
  const tCheck = performance.now();

  await Deno.mkdir(VM_DIR, { recursive: true });
  const work = await Deno.makeTempDir({ dir: VM_DIR, prefix: "run-" });
  const abort = new AbortController();
  const onSignal = () => abort.abort();
  for (const s of ["SIGINT", "SIGTERM"] as const) Deno.addSignalListener(s, onSignal);
  try {
    const shareDir = `${work}/share`;
    await Deno.mkdir(shareDir);
    const shares: Share[] = [
      { tag: "project", path: PROJECT, writable: false },
      { tag: "denodir", path: DENO_DIR, writable: true },
      { tag: "run", path: shareDir, writable: true },
    ];
    const init = renderInit({
      bootModules: BOOT_MODULES,
      testModules: TEST_MODULES,
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
      argv: opts.shell !== undefined ? ["/bin/sh", "-c", opts.shell] : [
        Deno.execPath(),
        "test",
        "-A",
        "--no-prompt",
        "--no-check",
        "--cached-only",
        ...opts.files,
      ],
    });
    const initrd = `${work}/initramfs.cpio`;
    await buildInitramfs(kernel, initrd, {
      modules: [...BOOT_MODULES, ...TEST_MODULES],
      init,
      stageDir: `${work}/stage`,
    });
    const tInitrd = performance.now();

    log(`vm: booting ${kernel.kver} (${kernel.deb}) under QEMU/TCG`);
    const lines = new ConsoleLines(log);
    const res = await boot({
      qemu: QEMU,
      kernel: kernel.vmlinuz,
      initrd,
      timeoutMs: opts.timeoutMs,
      signal: abort.signal,
      shares: [
        { tag: "hostroot", path: "/", readonly: true },
        ...shares.map((s) => ({ tag: s.tag, path: s.path, readonly: !s.writable })),
      ],
      onOutput: (chunk) => lines.push(chunk),
    });
    lines.flush();
    const tEnd = performance.now();
    log(
      `vm: times: host setup ${secs(tKernel - t0)}, deno ${prep} ${secs(tCheck - tKernel)}, ` +
        `initramfs ${secs(tInitrd - tCheck)}, QEMU (boot, tests, power-off) ${secs(res.ms)}, ` +
        `total ${secs(tEnd - t0)}`,
    );
    if (abort.signal.aborted) {
      log("vm: interrupted; QEMU killed");
      return { summary: FAILED.summary, code: 130 };
    }
    if (res.timedOut) {
      log(`vm: timed out after ${secs(opts.timeoutMs)}; QEMU killed`);
      return FAILED;
    }
    const codeText = await Deno.readTextFile(`${shareDir}/exit_code`).catch(() => undefined);
    if (codeText === undefined) {
      log(
        `vm: the guest reported no exit code (QEMU exited with ${res.code}); see its console above`,
      );
      return FAILED;
    }
    const code = Number(codeText.trim());
    if (opts.shell !== undefined) return { summary: `exit code ${code}`, code };
    const output = await Deno.readTextFile(`${shareDir}/output.txt`).catch(() => "");
    const counts = parseDenoSummary(output);
    if (!counts) {
      log(`vm: no deno test summary in the guest output (exit code ${code})`);
      return { summary: FAILED.summary, code: code || 1 };
    }
    return { summary: summaryLine(counts), code };
  } finally {
    for (const s of ["SIGINT", "SIGTERM"] as const) Deno.removeSignalListener(s, onSignal);
    if (!opts.keep) await Deno.remove(work, { recursive: true });
    else log(`vm: kept ${work}`);
  }
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
