import assert from "node:assert/strict";
import {
  BtfCache,
  KernelFileError,
  kernelModuleOf,
  kernelModuleSpecs,
  loadKernelModuleSpec,
  loadKernelSpec,
  MissingModuleBtfError,
  resolveKernelTypes,
} from "../src/btf/kernel.ts";
import { BtfBuilder } from "../src/btf/encode.ts";
import { AmbiguousSymbolError } from "../src/kallsyms/mod.ts";
import type { Spec } from "../src/btf/spec.ts";
import {
  InvalidArgumentError,
  NotFoundError,
  NotSupportedError,
  ParseError,
} from "../src/errors.ts";

const VMLINUX = "/sys/kernel/btf/vmlinux";
const MODULE = "nf_conntrack_netlink";

/** A split BTF blob for a fake module: one struct only the module has. */
function moduleBtf(base: Spec): Uint8Array {
  const b = new BtfBuilder({ base });
  const int = base.typeByName("int", "int")!.id;
  b.add({
    kind: "struct",
    name: "denobpf_module_only",
    size: 8,
    members: [
      { name: "a", type: int, bitOffset: 0, bitfieldSize: 0 },
      { name: "b", type: int, bitOffset: 32, bitfieldSize: 0 },
    ],
  });
  return b.encode();
}

const KALLSYMS = [
  "ffffffff81000000 T _stext",
  "ffffffff81234560 T __do_sys_getpid",
  "ffffffff81234570 t dup_name",
  "ffffffff81234580 t dup_name",
  "ffffffffc0a01230 t ctnetlink_fill_info\t[nf_conntrack_netlink]",
  "ffffffffc0a01400 t ctnetlink_dump_table\t[nf_conntrack_netlink]",
  "ffffffffc0b00000 t nf_ct_only\t[nf_conntrack]",
  "ffffffffc0c00000 t bpf_prog_6deef7357e7b4530_x\t[bpf]",
  "ffffffffc0d00000 t in_two_modules\t[mod_a]",
  "ffffffffc0e00000 t in_two_modules\t[mod_b]",
  "ffffffffc0f00000 t in_module_and_bpf\t[bpf]",
  "ffffffffc0f00100 t in_module_and_bpf\t[mod_c]",
  "",
].join("\n");

interface Fixture {
  root: string;
  [Symbol.asyncDispose](): Promise<void>;
}

async function fixture(
  setup: (root: string, vmlinux: Uint8Array) => Promise<void> | void,
): Promise<Fixture> {
  const root = await Deno.makeTempDir({ prefix: "denobpf-kspec-" });
  await Deno.mkdir(`${root}/proc`, { recursive: true });
  await Deno.mkdir(`${root}/sys/kernel/btf`, { recursive: true });
  await Deno.writeTextFile(`${root}/proc/kallsyms`, KALLSYMS);
  const vmlinux = await Deno.readFile(VMLINUX);
  await Deno.writeFile(`${root}/sys/kernel/btf/vmlinux`, vmlinux);
  await setup(root, vmlinux);
  return {
    root,
    async [Symbol.asyncDispose]() {
      await Deno.remove(root, { recursive: true });
    },
  };
}

Deno.test("real kernel: vmlinux BTF has task_struct, and this kernel has no module BTF", () => {
  const spec = loadKernelSpec();
  const ts = spec.typeByName("task_struct", "struct");
  assert.ok(ts && ts.kind === "struct");
  assert.ok(ts.members.some((m) => m.name === "pid"));
  assert.equal(loadKernelSpec(), spec, "vmlinux is parsed once per process");
  assert.equal(kernelModuleOf("__do_sys_getpid"), undefined);
  const hasModuleBtf = [...Deno.readDirSync("/sys/kernel/btf")].some((e) => e.name === MODULE);
  assert.equal(loadKernelModuleSpec(MODULE) !== undefined, hasModuleBtf);
});

Deno.test("module BTF absent: undefined, vmlinux still used, and the error names module, file, option", async () => {
  await using f = await fixture(() => {});
  const cache = new BtfCache();
  assert.equal(loadKernelModuleSpec(MODULE, { root: f.root, cache }), undefined);
  assert.equal(kernelModuleOf("ctnetlink_fill_info", { root: f.root }), MODULE);
  const kt = resolveKernelTypes("ctnetlink_fill_info", { root: f.root, cache });
  assert.equal(kt.module, MODULE);
  assert.equal(kt.moduleSpec, undefined);
  assert.deepEqual(kt.missingModuleBtf, {
    module: MODULE,
    path: `${f.root}/sys/kernel/btf/${MODULE}`,
  });
  assert.equal(kt.specs.length, 1);
  assert.ok(kt.vmlinux.typeByName("task_struct", "struct"), "vmlinux types still resolve");
  assert.match(kt.describe(), /falling back to vmlinux BTF alone/);
  const err = kt.missingTypeError("nf_conn_only");
  assert.ok(err instanceof MissingModuleBtfError);
  assert.ok(err instanceof NotFoundError);
  assert.equal(
    err.message,
    `type nf_conn_only is only in module ${MODULE}, whose BTF (${f.root}/sys/kernel/btf/${MODULE}) ` +
      "is missing: the kernel is older than 5.11 or was built without CONFIG_DEBUG_INFO_BTF_MODULES",
  );
});

Deno.test("module BTF present: split BTF on top of vmlinux with the module's own types", async () => {
  const base = loadKernelSpec();
  await using f = await fixture((root) =>
    Deno.writeFile(`${root}/sys/kernel/btf/${MODULE}`, moduleBtf(base))
  );
  const cache = new BtfCache();
  const spec = loadKernelModuleSpec(MODULE, { root: f.root, cache })!;
  assert.ok(spec);
  const own = spec.typeByName("denobpf_module_only", "struct");
  assert.ok(own && own.kind === "struct" && own.members.length === 2);
  assert.ok(own.id > spec.base!.lastTypeId, "module types come after vmlinux's");
  assert.ok(
    spec.typeByName("task_struct", "struct"),
    "base types are visible through the split spec",
  );
  assert.equal(loadKernelModuleSpec(MODULE, { root: f.root, cache }), spec, "cached");
  const kt = resolveKernelTypes("ctnetlink_fill_info", { root: f.root, cache });
  assert.equal(kt.moduleSpec, spec);
  assert.equal(kt.missingModuleBtf, undefined);
  assert.equal(kt.missingTypeError("x"), undefined);
  assert.equal(kt.specs[0], spec);
  assert.deepEqual(kernelModuleSpecs({ root: f.root, cache }).names, [MODULE]);
  const found = kernelModuleSpecs({ root: f.root, cache }).findTypes("denobpf_module_only");
  assert.equal(found.length, 1);
  assert.equal(found[0].module, MODULE);
});

Deno.test("a directory in place of the module BTF file is reported, not swallowed", async () => {
  await using f = await fixture((root) => Deno.mkdir(`${root}/sys/kernel/btf/${MODULE}`));
  assert.throws(
    () => loadKernelModuleSpec(MODULE, { root: f.root, cache: new BtfCache() }),
    (e) =>
      e instanceof KernelFileError && /is a directory/.test(e.message) && e.path.endsWith(MODULE),
  );
  assert.throws(
    () => resolveKernelTypes("ctnetlink_fill_info", { root: f.root, cache: new BtfCache() }),
    KernelFileError,
  );
});

Deno.test("garbage and truncated module BTF give a ParseError naming the file", async () => {
  const base = loadKernelSpec();
  const good = moduleBtf(base);
  const cases: [string, Uint8Array][] = [
    ["garbage", new TextEncoder().encode("this is not BTF at all, just some text")],
    ["empty", new Uint8Array(0)],
    ["truncated header", good.subarray(0, 10)],
    ["truncated body", good.subarray(0, good.length - 9)],
  ];
  for (const [what, bytes] of cases) {
    await using f = await fixture((root) =>
      Deno.writeFile(`${root}/sys/kernel/btf/${MODULE}`, bytes)
    );
    assert.throws(
      () => loadKernelModuleSpec(MODULE, { root: f.root, cache: new BtfCache() }),
      (e) => e instanceof ParseError && e.message.includes(`${f.root}/sys/kernel/btf/${MODULE}`),
      what,
    );
  }
});

Deno.test("bad module names are rejected before any file is touched", () => {
  for (const name of ["", "a/b", "..", "../vmlinux", "x\0y", "/etc/passwd", "a".repeat(300)]) {
    assert.throws(
      () => loadKernelModuleSpec(name, { root: "/nonexistent" }),
      InvalidArgumentError,
      JSON.stringify(name),
    );
  }
});

Deno.test("kernelModuleOf: vmlinux, module, absent, and the [bpf] pseudo-module", async () => {
  await using f = await fixture(() => {});
  const o = { root: f.root };
  assert.equal(kernelModuleOf("_stext", o), undefined);
  assert.equal(kernelModuleOf("dup_name", o), undefined);
  assert.equal(kernelModuleOf("ctnetlink_fill_info", o), MODULE);
  assert.equal(kernelModuleOf("nf_ct_only", o), "nf_conntrack");
  assert.throws(() => kernelModuleOf("no_such_function", o), NotFoundError);
  assert.throws(() => kernelModuleOf("in_two_modules", o), AmbiguousSymbolError);
  assert.equal(kernelModuleOf("in_module_and_bpf", o), "mod_c", "[bpf] is not a module");
  assert.throws(() => kernelModuleOf("", o), InvalidArgumentError);
  const kt = resolveKernelTypes("bpf_prog_6deef7357e7b4530_x", { ...o, cache: new BtfCache() });
  assert.equal(kt.missingModuleBtf, undefined, "[bpf] is not a kernel module");
});

Deno.test("kernelModuleSpecs: a missing /sys/kernel/btf means no modules", async () => {
  await using f = await fixture((root) =>
    Deno.remove(`${root}/sys/kernel/btf`, { recursive: true })
  );
  assert.deepEqual(kernelModuleSpecs({ root: f.root }).names, []);
  assert.equal([...kernelModuleSpecs({ root: f.root })].length, 0);
  assert.equal(loadKernelModuleSpec(MODULE, { root: f.root, cache: new BtfCache() }), undefined);
});

Deno.test("loadKernelSpec: no BTF anywhere is NotSupported naming CONFIG_DEBUG_INFO_BTF", async () => {
  await using f = await fixture((root) => Deno.remove(`${root}/sys/kernel/btf/vmlinux`));
  assert.throws(
    () => loadKernelSpec({ root: f.root, cache: new BtfCache(), release: "6.0.0-test" }),
    (e) =>
      e instanceof NotSupportedError && /CONFIG_DEBUG_INFO_BTF/.test(e.message) &&
      e.message.includes("/boot/vmlinux-6.0.0-test"),
  );
});

Deno.test("loadKernelSpec: falls back to the .BTF section of /boot/vmlinux-<release>", async () => {
  await using f = await fixture(async (root) => {
    await Deno.remove(`${root}/sys/kernel/btf/vmlinux`);
    await Deno.mkdir(`${root}/boot`);
    const obj = `${root}/empty.o`;
    await Deno.writeTextFile(`${root}/empty.c`, "int denobpf_empty;\n");
    const cc = await new Deno.Command("cc", { args: ["-c", "-o", obj, `${root}/empty.c`] })
      .output();
    assert.ok(cc.success, new TextDecoder().decode(cc.stderr));
    const oc = await new Deno.Command("objcopy", {
      args: ["--add-section", `.BTF=${VMLINUX}`, obj, `${root}/boot/vmlinux-6.0.0-test`],
    }).output();
    assert.ok(oc.success, new TextDecoder().decode(oc.stderr));
  });
  const spec = loadKernelSpec({ root: f.root, cache: new BtfCache(), release: "6.0.0-test" });
  assert.ok(spec.typeByName("task_struct", "struct"));
});

Deno.test("a module BTF file that cannot be read for permission is reported (as non-root)", async () => {
  const base = loadKernelSpec();
  await using f = await fixture(async (root) => {
    await Deno.writeFile(`${root}/sys/kernel/btf/${MODULE}`, moduleBtf(base), { mode: 0o600 });
    await Deno.chmod(`${root}/sys/kernel/btf/${MODULE}`, 0o600);
    await Deno.chmod(root, 0o755);
  });
  const script = `${f.root}/probe.ts`;
  const lib = new URL("../src/btf/kernel.ts", import.meta.url).href;
  await Deno.writeTextFile(
    script,
    `import { loadKernelModuleSpec } from "${lib}";
     try { loadKernelModuleSpec("${MODULE}", { root: "${f.root}" }); console.log("loaded"); }
     catch (e) { console.log(e.name + ": " + e.message); }`,
  );
  await Deno.chmod(script, 0o644);
  const out = await new Deno.Command("setpriv", {
    args: [
      "--reuid=65534",
      "--regid=65534",
      "--clear-groups",
      Deno.execPath(),
      "run",
      "--no-check",
      "--allow-read",
      "--allow-env",
      "--allow-ffi",
      script,
    ],
    env: { DENO_DIR: `${f.root}/.deno`, HOME: f.root },
    stdout: "piped",
    stderr: "piped",
  }).output();
  await Deno.chmod(f.root, 0o777);
  const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
  assert.match(text, /KernelFileError: .*nf_conntrack_netlink: permission denied/, text);
});

Deno.test("the module BTF cache follows the file: a module unloaded or loaded later is seen", async () => {
  const base = loadKernelSpec();
  await using f = await fixture(() => {});
  const cache = new BtfCache();
  const o = { root: f.root, cache };
  assert.equal(loadKernelModuleSpec(MODULE, o), undefined);
  await Deno.writeFile(`${f.root}/sys/kernel/btf/${MODULE}`, moduleBtf(base));
  const spec = loadKernelModuleSpec(MODULE, o);
  assert.ok(spec, "module loaded: its BTF appears");
  assert.equal(loadKernelModuleSpec(MODULE, o), spec, "cached while the file stays");
  assert.equal(resolveKernelTypes("ctnetlink_fill_info", o).moduleSpec, spec);
  await Deno.remove(`${f.root}/sys/kernel/btf/${MODULE}`);
  assert.equal(loadKernelModuleSpec(MODULE, o), undefined, "module unloaded: BTF gone");
  const kt = resolveKernelTypes("ctnetlink_fill_info", o);
  assert.equal(kt.moduleSpec, undefined);
  assert.ok(kt.missingModuleBtf);
  assert.deepEqual(kernelModuleSpecs(o).names, []);
});

/** A module blob whose struct is named `name` (another module build). */
function moduleBtfNamed(base: Spec, name: string): Uint8Array {
  const b = new BtfBuilder({ base });
  const int = base.typeByName("int", "int")!.id;
  b.add({
    kind: "struct",
    name,
    size: 4,
    members: [{ name: "a", type: int, bitOffset: 0, bitfieldSize: 0 }],
  });
  return b.encode();
}

Deno.test("the module BTF cache follows the file's identity: a module reloaded with other BTF is seen", async () => {
  const base = loadKernelSpec();
  await using f = await fixture(() => {});
  const cache = new BtfCache();
  const o = { root: f.root, cache };
  const path = `${f.root}/sys/kernel/btf/${MODULE}`;
  await Deno.writeFile(path, moduleBtfNamed(base, "denobpf_build_one"));
  const first = loadKernelModuleSpec(MODULE, o)!;
  assert.ok(first.typeByName("denobpf_build_one", "struct"));
  // The module is reloaded: sysfs has a new file with the same name while
  // the cache never saw it missing.
  await Deno.writeFile(`${path}.new`, moduleBtfNamed(base, "denobpf_build_two_longer"));
  await Deno.rename(`${path}.new`, path);
  const second = loadKernelModuleSpec(MODULE, o);
  assert.notEqual(second, first, "the replaced file is parsed again");
  assert.ok(second?.typeByName("denobpf_build_two_longer", "struct"), "the new module's type");
  assert.equal(second?.typeByName("denobpf_build_one", "struct"), undefined);
  assert.equal(loadKernelModuleSpec(MODULE, o), second, "and cached while it stays");
});

Deno.test("module BTF: a FIFO or a device in place of the file is refused by name, without hanging", async () => {
  await using f = await fixture(() => {});
  const path = `${f.root}/sys/kernel/btf/${MODULE}`;
  const mk = await new Deno.Command("mkfifo", { args: [path] }).output();
  assert.ok(mk.success);
  assert.throws(
    () => loadKernelModuleSpec(MODULE, { root: f.root, cache: new BtfCache() }),
    (e: unknown) => {
      assert.ok(e instanceof KernelFileError, String(e));
      assert.equal(e.path, path);
      assert.match(e.message, /nf_conntrack_netlink: is a FIFO \(named pipe\), not a regular file/);
      return true;
    },
  );
  await Deno.remove(path);
  await Deno.symlink("/dev/zero", path);
  assert.throws(
    () => loadKernelModuleSpec(MODULE, { root: f.root, cache: new BtfCache() }),
    /nf_conntrack_netlink: is a character device/,
  );
});
