// `deno run --allow-ffi` is enough: tests/allow_ffi_child.ts, run with only
// `--allow-ffi --no-prompt` (no --allow-read/-write/-run/-sys/-env), uses
// every public function family (kernel and module BTF, kallsyms, maps with
// per-CPU values and bpffs pins, programs, collections loaded in parallel,
// each attach kind this kernel supports, ring and perf readers, scripted
// probes) and prints one line per family; every family must say ok, or skip
// where the package's own feature probe says the kernel lacks it.
//
// This test (run with -A) prepares what needs other permissions: a fake
// kernel root with module BTF, a bpffs directory, a cgroup v2 directory and
// a USDT target built with gcc, which it runs when the child asks.

import assert from "node:assert/strict";
import { BtfBuilder } from "../src/btf/encode.ts";
import { loadKernelSpec } from "../src/btf/kernel.ts";
import { haveFeature, haveProgramType } from "../src/features/mod.ts";
import { buildTarget, cleanTargets, runTarget } from "./uprobe_fixtures.ts";

const root = new URL("../", import.meta.url);
const MODULE = "denobpf_fake_mod";
const MODULE_FUNCTION = "denobpf_fake_mod_fn";

/** A fake kernel root: vmlinux BTF, kallsyms naming a module, and that module's split BTF. */
async function fakeKernelRoot(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "denobpf-ffi-root-" });
  await Deno.mkdir(`${dir}/proc`, { recursive: true });
  await Deno.mkdir(`${dir}/sys/kernel/btf`, { recursive: true });
  await Deno.copyFile("/sys/kernel/btf/vmlinux", `${dir}/sys/kernel/btf/vmlinux`);
  await Deno.writeTextFile(
    `${dir}/proc/kallsyms`,
    `ffffffff81000000 T _stext\nffffffffc0a01230 t ${MODULE_FUNCTION}\t[${MODULE}]\n`,
  );
  const base = loadKernelSpec();
  const b = new BtfBuilder({ base });
  const int = base.typeByName("int", "int")!.id;
  b.add({
    kind: "struct",
    name: "denobpf_module_only",
    size: 4,
    members: [{ name: "a", type: int, bitOffset: 0, bitfieldSize: 0 }],
  });
  await Deno.writeFile(`${dir}/sys/kernel/btf/${MODULE}`, b.encode());
  return dir;
}

/** A cgroup v2 directory (the unified hierarchy wherever it is mounted). */
async function cgroupDir(): Promise<string> {
  const mounts = await Deno.readTextFile("/proc/self/mountinfo");
  const line = mounts.split("\n").find((l) => / - cgroup2 /.test(l));
  assert.ok(line, "no cgroup2 mount");
  const dir = `${line.split(" ")[4]}/denobpf_ffi_${Deno.pid}`;
  await Deno.mkdir(dir);
  return dir;
}

/** The families the child must report ok; the value says when a probe may skip it. */
const FAMILIES: Record<string, (() => boolean) | null> = {
  "kernel BTF": null,
  "module BTF": null,
  "kallsyms": null,
  "maps": null,
  "programs": null,
  "collections": null,
  "attach tracepoint": null,
  "attach raw tracepoint": null,
  "attach tp_btf": null,
  "attach uprobe": null,
  "uprobe targets from LD_LIBRARY_PATH and PATH": null,
  "attach uprobe_multi": () => haveFeature("uprobe_multi_link"),
  "attach usdt": null,
  "attach xdp": null,
  "attach tc": null,
  "attach tcx": () => haveFeature("tcx_link"),
  "attach cgroup": null,
  "attach socket filter": null,
  "attach iter": null,
  "attach perf event": null,
  "attach netfilter": () => haveProgramType("netfilter"),
  "struct_ops": () => haveProgramType("struct_ops"),
  "ring buffer reader": null,
  "perf reader": null,
  "probe tracepoint count": null,
  "probe uprobe": null,
  "probe hist": null,
};

/** Runs the child with `flags` and checks that every family says ok (or skip by a probe). */
async function everyFamily(flags: string[]): Promise<void> {
  const kernelRoot = await fakeKernelRoot();
  const bpffs = `/sys/fs/bpf/denobpf_ffi_${Deno.pid}`;
  await Deno.mkdir(bpffs);
  const cgroup = await cgroupDir();
  const usdtTarget = await buildTarget("pie");
  // A library and a program found only through LD_LIBRARY_PATH and PATH,
  // which the child cannot read with Deno.env (no --allow-env).
  const dirs = await Deno.makeTempDir({ prefix: "denobpf-ffi-dirs-" });
  await Deno.mkdir(`${dirs}/lib`);
  await Deno.mkdir(`${dirs}/bin`);
  const libraryPath = `${dirs}/lib/libdenobpfffi.so.1`;
  await Deno.copyFile(Deno.realPathSync("/lib/x86_64-linux-gnu/libc.so.6"), libraryPath);
  const toolPath = `${dirs}/bin/denobpf_ffi_tool`;
  await Deno.copyFile("/bin/true", toolPath);
  const setup = {
    root: kernelRoot,
    module: MODULE,
    moduleFunction: MODULE_FUNCTION,
    bpffs,
    cgroup,
    usdtTarget,
    library: "denobpfffi",
    libraryPath,
    tool: "denobpf_ffi_tool",
    toolPath,
  };
  const lines: string[] = [];
  let stderr = "";
  try {
    const child = new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        ...flags,
        "--no-prompt",
        "tests/allow_ffi_child.ts",
        JSON.stringify(setup),
      ],
      cwd: root,
      env: {
        NO_COLOR: "1",
        LD_LIBRARY_PATH: `${dirs}/lib`,
        PATH: `${dirs}/bin:${Deno.env.get("PATH")}`,
      },
      stdin: "piped",
      stdout: "piped",
      stderr: "piped",
      signal: AbortSignal.timeout(120_000),
    }).spawn();
    const errText = new Response(child.stderr).text();
    const stdin = child.stdin.getWriter();
    let pending = "";
    for await (const chunk of child.stdout.pipeThrough(new TextDecoderStream())) {
      pending += chunk;
      let nl;
      while ((nl = pending.indexOf("\n")) >= 0) {
        const line = pending.slice(0, nl);
        pending = pending.slice(nl + 1);
        lines.push(line);
        if (line === "wait usdt") {
          await runTarget(usdtTarget, 3);
          await stdin.write(new TextEncoder().encode("go\n"));
        }
      }
    }
    await stdin.close().catch(() => {});
    const status = await child.status;
    stderr = await errText;
    assert.ok(status.success, `child exit ${status.code}: ${stderr.slice(-2000)}`);
  } finally {
    await Deno.remove(kernelRoot, { recursive: true });
    await Deno.remove(dirs, { recursive: true });
    await Deno.remove(bpffs, { recursive: true }).catch(() => {});
    await Deno.remove(cgroup).catch(() => {});
    await cleanTargets();
  }
  const report = lines.join("\n");
  if (Deno.env.get("DENOBPF_SHOW")) console.log(report);
  assert.equal(lines.at(-1), "done", report);
  assert.doesNotMatch(stderr, /NotCapable|--allow-/, stderr);
  for (const [name, probe] of Object.entries(FAMILIES)) {
    const line = lines.find((l) => l.split(":")[0].replace(/^(ok|skip|FAIL) /, "") === name);
    assert.ok(line, `no line for ${name}:\n${report}`);
    if (probe && !probe()) assert.match(line, /^skip /, line);
    else assert.match(line, /^ok /, `${line}\n${report}`);
  }
}

Deno.test("deno run --allow-ffi alone runs every public function family", async () => {
  await everyFamily(["--allow-ffi"]);
});

Deno.test(
  "deno run --allow-ffi with every other permission denied (--deny-read, -write, -run, -env, -sys, -net) runs every family",
  async () => {
    await everyFamily([
      "--allow-ffi",
      "--deny-read",
      "--deny-write",
      "--deny-run",
      "--deny-env",
      "--deny-sys",
      "--deny-net",
    ]);
  },
);

Deno.test("without --allow-ffi, every family's error names the flag, never a missing mount, file or library", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--no-prompt", "tests/allow_ffi_none_child.ts"],
    cwd: root,
    env: { NO_COLOR: "1" },
    stdout: "piped",
    stderr: "piped",
    signal: AbortSignal.timeout(60_000),
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const lines = text.trimEnd().split("\n");
  assert.equal(lines.length, 6, text);
  for (const line of lines) {
    assert.match(line, /--allow-ffi/, line);
    assert.doesNotMatch(line, /not mounted|does not exist|cannot find|NotFound/, line);
    assert.doesNotMatch(line, /needs root|as root/, `${line}: we are root`);
    assert.doesNotMatch(line, /^[^:]+: Error:/, `${line}: a plain Error, not one of the package's`);
  }
});
