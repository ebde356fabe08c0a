// Externs on this kernel: .kconfig values from /proc/config.gz (or
// /boot/config-<release>, or overrides, under a fixture root), untyped
// .ksyms from kallsyms, typed .ksyms by BTF id, kfunc calls, and weak
// externs that are missing.

import assert from "node:assert/strict";
import { gzipSync } from "node:zlib";
import {
  loadCollection,
  loadCollectionSpec,
  parseKernelConfig,
  readKernelConfig,
  relocateProgram,
} from "../src/collection/mod.ts";
import { loadKallsyms } from "../src/kallsyms/mod.ts";
import { haveFeature } from "../src/features/mod.ts";
import { kernelVersionCode } from "../src/sys/uname.ts";
import { parseBtf } from "../src/btf/spec.ts";
import { NotFoundError, ParseError } from "../src/errors.ts";

const dir = new URL("../testdata/bpf/", import.meta.url);
const obj = (name: string) => new URL(`${name}_bpfel.o`, dir);
// The kernel's build config, as the loader reads it (/proc/config.gz, else
// /boot/config-<release>).
const KCONFIG = readKernelConfig();
const config = KCONFIG?.values ?? new Map<string, string>();
const NO_KCONFIG = KCONFIG
  ? ""
  : " (skipped: the kernel's build config is not readable: no /proc/config.gz" +
    " (CONFIG_IKCONFIG_PROC) nor /boot/config-<release>)";
const ksyms = loadKallsyms({ strict: false });
const vmlinux = parseBtf(Deno.readFileSync("/sys/kernel/btf/vmlinux"));

// externs.o's kfunc_lookup calls the kfunc bpf_task_from_pid (Linux 6.2),
// which the loader looks up in the kernel's BTF, as here.
const HAVE_TASK_KFUNC = vmlinux.typeIdsByName("bpf_task_from_pid", "func").length > 0;
/** externs.o, leaving kfunc_lookup out where the kernel lacks its kfunc. */
function externs() {
  const spec = loadCollectionSpec(obj("externs"));
  if (!HAVE_TASK_KFUNC) spec.programs.kfunc_lookup.autoload = false;
  return spec;
}

Deno.test("kernel config parsing", () => {
  const c = parseKernelConfig(
    'CONFIG_A=y\n# CONFIG_B is not set\nCONFIG_C="x y"\nCONFIG_D=0x10\n#x\n',
  );
  assert.deepEqual([...c], [["CONFIG_A", "y"], ["CONFIG_B", "n"], ["CONFIG_C", '"x y"'], [
    "CONFIG_D",
    "0x10",
  ]]);
});

Deno.test({
  name: "kconfig externs carry this kernel's values" + NO_KCONFIG,
  ignore: KCONFIG === undefined,
  fn: kconfigExterns,
});

async function kconfigExterns() {
  assert.equal(config.get("CONFIG_BPF_SYSCALL"), "y");
  using coll = await loadCollection(externs());
  coll.programs.kconfig_values.testRunSync({ context: new Uint8Array(16) });
  const v = coll.variables;
  assert.equal(v.LINUX_KERNEL_VERSION.get(), kernelVersionCode());
  assert.equal(v.CONFIG_BPF_SYSCALL.get(), true);
  assert.equal(v.CONFIG_HZ.get(), Number(config.get("CONFIG_HZ")));
  const tri = config.get("CONFIG_NF_CONNTRACK");
  assert.equal(v.CONFIG_NF_CONNTRACK.get(), tri === "y" ? 1 : tri === "m" ? 2 : 0);
  assert.equal(
    v.CONFIG_DEFAULT_HOSTNAME.get(),
    config.get("CONFIG_DEFAULT_HOSTNAME")!.slice(1, -1),
  );
  assert.equal(v.CONFIG_DENOBPF_NO_SUCH_OPTION.get(), false);
  assert.equal(v.CONFIG_HZ.readOnly, true);
  // The program copied them into .bss: struct extern_results.
  const ext = v.ext.bytes();
  const dv = new DataView(ext.buffer);
  assert.equal(dv.getUint32(0, true), kernelVersionCode());
  assert.equal(dv.getUint32(4, true), 1);
  assert.equal(dv.getInt32(8, true), Number(config.get("CONFIG_HZ")));
  // Untyped ksyms: kallsyms addresses; the weak missing one is 0.
  assert.equal(dv.getBigUint64(40, true), ksyms.address("_text"));
  assert.equal(dv.getBigUint64(48, true), 0n);
}

Deno.test({
  name: `kfunc calls: bpf_task_from_pid / bpf_task_release; a weak missing kfunc is poisoned${
    HAVE_TASK_KFUNC ? "" : " (skipped: kfunc bpf_task_from_pid not supported by this kernel)"
  }`,
  ignore: !HAVE_TASK_KFUNC,
  fn: kfuncCalls,
});

async function kfuncCalls() {
  using coll = await loadCollection(obj("externs"));
  const ctx = new Uint8Array(4);
  new DataView(ctx.buffer).setInt32(0, Deno.pid, true);
  const r = coll.programs.kfunc_lookup.testRunSync({ context: ctx });
  assert.equal(r.retval, 1);
  const ext = new DataView(coll.variables.ext.bytes().buffer);
  assert.equal(ext.getInt32(60, true), Deno.pid); // found_pid
  assert.equal(ext.getUint32(56, true), 1); // kfunc_present: &bpf_task_release != 0
  // Not found: the program returns 0.
  new DataView(ctx.buffer).setInt32(0, 0x7ffffff0, true);
  assert.equal(coll.programs.kfunc_lookup.testRunSync({ context: ctx }).retval, 0);
  // The relocated calls carry the kernel's BTF ids; the weak one is poisoned.
  const spec = loadCollectionSpec(obj("externs"));
  const rel = relocateProgram(spec, "kfunc_lookup");
  const ins = rel.instructions;
  const calls: [number, number][] = [];
  for (let i = 0; i < ins.length / 8; i++) {
    if (ins[i * 8] === 0x85) {
      calls.push([ins[i * 8 + 1] >> 4, new DataView(ins.buffer).getInt32(i * 8 + 4, true)]);
    }
  }
  assert.deepEqual(calls, [
    [2, vmlinux.typeIdsByName("bpf_task_from_pid", "func")[0]],
    [2, vmlinux.typeIdsByName("bpf_task_release", "func")[0]],
    [0, 2002000000 + Object.keys(spec.externs).indexOf("denobpf_no_such_kfunc")],
  ]);
  assert.deepEqual([...rel.poisonedKfuncs.values()], ["denobpf_no_such_kfunc"]);
}

Deno.test("typed ksyms resolve to the kernel's BTF ids", () => {
  const spec = loadCollectionSpec(obj("ksyms_typed"));
  const rel = relocateProgram(spec, "ksym_typed");
  const dv = new DataView(rel.instructions.buffer);
  const loads: [number, number, number][] = [];
  for (let i = 0; i < rel.instructions.length / 8; i++) {
    if (rel.instructions[i * 8] === 0x18) {
      loads.push([
        rel.instructions[i * 8 + 1] >> 4,
        dv.getInt32(i * 8 + 4, true),
        dv.getInt32(i * 8 + 12, true),
      ]);
      i++;
    }
  }
  const id = (n: string) => vmlinux.typeIdsByName(n, "var")[0];
  assert.deepEqual(loads.filter((l) => l[0] === 3), [[3, id("runqueues"), 0], [
    3,
    id("bpf_prog_active"),
    0,
  ]]);
  // The weak missing variable is a plain 0.
  assert(loads.some((l) => l[0] === 0 && l[1] === 0 && l[2] === 0));
});

Deno.test({
  name: `typed ksyms load${
    haveFeature("kallsyms_all")
      ? ""
      : " (skipped: no kallsyms_all: kallsyms lists no variables, CONFIG_KALLSYMS_ALL off)"
  }`,
  ignore: !haveFeature("kallsyms_all"),
  fn: async () => {
    using coll = await loadCollection(obj("ksyms_typed"));
    coll.programs.ksym_typed.testRunSync({ context: new Uint8Array(16) });
  },
});

Deno.test({
  name:
    "readKernelConfig is synchronous: it returns the kernel's config, /proc/config.gz gunzipped" +
    NO_KCONFIG,
  ignore: KCONFIG === undefined,
  fn() {
    const read = readKernelConfig();
    assert.ok(!(read instanceof Promise), "a value, not a Promise");
    assert.ok(read && read.values.size > 100, "the config's options");
    assert.equal(read.values.get("CONFIG_BPF_SYSCALL"), "y");
    if (read.path.endsWith("config.gz")) {
      const text = new TextDecoder().decode(Deno.readFileSync(read.path));
      assert.ok(!text.includes("CONFIG_BPF_SYSCALL"), "the file itself is compressed");
    }
  },
});

Deno.test("readKernelConfig: a corrupt /proc/config.gz is a ParseError naming the file", () => {
  const root = Deno.makeTempDirSync({ prefix: "denobpf-kconfig-gz-" });
  try {
    Deno.mkdirSync(`${root}/proc`);
    const path = `${root}/proc/config.gz`;
    const good = gzipSync("CONFIG_BPF_SYSCALL=y\nCONFIG_HZ=250\n");
    Deno.writeFileSync(path, good);
    assert.equal(readKernelConfig({ root })?.values.get("CONFIG_HZ"), "250");
    const bad = new Uint8Array(good);
    bad[bad.length - 6] ^= 0xff; // the CRC-32
    for (const bytes of [bad, good.subarray(0, good.length - 3), new Uint8Array([0x1f, 0x8b])]) {
      Deno.writeFileSync(path, bytes);
      assert.throws(
        () => readKernelConfig({ root }),
        (e: unknown) => e instanceof ParseError && e.message.includes(path),
      );
    }
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});

Deno.test("kconfig from a fixture root: /boot/config-<release>, overrides, missing values", async () => {
  const root = await Deno.makeTempDir({ prefix: "denobpf-kconfig-" });
  try {
    await Deno.mkdir(`${root}/boot`, { recursive: true });
    await Deno.mkdir(`${root}/proc/sys/kernel`, { recursive: true });
    await Deno.writeTextFile(`${root}/proc/sys/kernel/osrelease`, "5.15.7-fixture\n");
    await Deno.writeTextFile(`${root}/proc/kallsyms`, "ffffffff81000000 T _text\n");
    await Deno.mkdir(`${root}/sys/kernel/btf`, { recursive: true });
    await Deno.copyFile("/sys/kernel/btf/vmlinux", `${root}/sys/kernel/btf/vmlinux`);
    await Deno.writeTextFile(
      `${root}/boot/config-5.15.7-fixture`,
      'CONFIG_BPF_SYSCALL=y\nCONFIG_HZ=1000\nCONFIG_NF_CONNTRACK=m\nCONFIG_DEFAULT_HOSTNAME="fixture"\n',
    );
    const read = readKernelConfig({ root, release: "5.15.7-fixture" });
    assert.equal(read?.path, `${root}/boot/config-5.15.7-fixture`);
    using coll = await loadCollection(externs(), { root });
    const v = coll.variables;
    assert.equal(v.LINUX_KERNEL_VERSION.get(), (5 << 16) | (15 << 8) | 7);
    assert.equal(v.CONFIG_HZ.get(), 1000);
    assert.equal(v.CONFIG_NF_CONNTRACK.get(), 2);
    assert.equal(v.CONFIG_DEFAULT_HOSTNAME.get(), "fixture");
    // /proc/config.gz wins over /boot.
    await Deno.writeFile(
      `${root}/proc/config.gz`,
      gzipSync(
        'CONFIG_BPF_SYSCALL=y\nCONFIG_HZ=100\nCONFIG_NF_CONNTRACK=y\nCONFIG_DEFAULT_HOSTNAME="gz"\n',
      ),
    );
    using c2 = await loadCollection(externs(), { root, kconfig: { CONFIG_HZ: "300" } });
    assert.equal(c2.variables.CONFIG_HZ.get(), 300);
    assert.equal(c2.variables.CONFIG_DEFAULT_HOSTNAME.get(), "gz");
    // A non-weak option the config lacks.
    await Deno.writeFile(`${root}/proc/config.gz`, gzipSync("CONFIG_BPF_SYSCALL=y\n"));
    await assert.rejects(
      () => loadCollection(externs(), { root }),
      (e: Error) =>
        e instanceof NotFoundError && /CONFIG_HZ is not in .*config\.gz.*__weak/.test(e.message),
    );
    // No config at all.
    await Deno.remove(`${root}/proc/config.gz`);
    await Deno.remove(`${root}/boot`, { recursive: true });
    await assert.rejects(
      () => loadCollection(externs(), { root }),
      (e: Error) => e instanceof NotFoundError && /kernel config is not available/.test(e.message),
    );
    // Values that do not fit their type.
    await assert.rejects(
      () =>
        loadCollection(externs(), {
          root,
          kconfig: {
            CONFIG_BPF_SYSCALL: "m",
            CONFIG_HZ: "1",
            CONFIG_NF_CONNTRACK: "y",
            CONFIG_DEFAULT_HOSTNAME: '"x"',
          },
        }),
      /CONFIG_BPF_SYSCALL: value m is not y or n/,
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("a missing non-weak ksym is an error naming it", async () => {
  const spec = loadCollectionSpec(obj("externs"));
  const root = await Deno.makeTempDir({ prefix: "denobpf-ksym-" });
  try {
    await Deno.mkdir(`${root}/proc`, { recursive: true });
    await Deno.mkdir(`${root}/sys/kernel/btf`, { recursive: true });
    await Deno.writeTextFile(`${root}/proc/kallsyms`, "ffffffff81000010 T _stext\n");
    await Deno.copyFile("/sys/kernel/btf/vmlinux", `${root}/sys/kernel/btf/vmlinux`);
    assert.throws(
      () => relocateProgram(spec, "kconfig_values", { root }),
      (e: Error) =>
        e instanceof NotFoundError &&
        /kernel symbol _text is not in the running kernel/.test(e.message),
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("readKernelConfig: a config read again is the same, fresh map; a changed file is read anew", () => {
  const root = Deno.makeTempDirSync({ prefix: "denobpf-kconfig-again-" });
  try {
    Deno.mkdirSync(`${root}/proc`);
    const path = `${root}/proc/config.gz`;
    Deno.writeFileSync(path, gzipSync("CONFIG_BPF_SYSCALL=y\nCONFIG_HZ=250\n"));
    const first = readKernelConfig({ root })!;
    first.values.set("CONFIG_HZ", "mutated by the caller");
    assert.equal(readKernelConfig({ root })?.values.get("CONFIG_HZ"), "250");
    Deno.writeFileSync(path, gzipSync("CONFIG_BPF_SYSCALL=y\nCONFIG_HZ=1000\n"));
    assert.equal(readKernelConfig({ root })?.values.get("CONFIG_HZ"), "1000");
  } finally {
    Deno.removeSync(root, { recursive: true });
  }
});
