// Guest tests for the module-function scenario: a program targets
// ctnetlink_fill_info, a function of the nf_conntrack_netlink module, whose
// types live in the module's split BTF (/sys/kernel/btf/nf_conntrack_netlink).
//
// They run inside the VM runner's guest (`deno run -A tools/vm/run.ts`), a
// Debian 6.1 kernel with loadable modules, module BTF and kprobes, whose /init
// has loaded nf_conntrack_netlink and sets DENOBPF_VM=1. The host kernel has no
// modules, no module BTF and no kprobes, so outside the guest every test here
// is ignored (the host suite does not include tests/vm/).

import assert from "node:assert/strict";
import {
  bpf,
  BtfCache,
  FD,
  ioctl,
  kernelModuleOf,
  kernelModuleSpecs,
  loadKernelModuleSpec,
  loadKernelSpec,
  loadProgram,
  MissingModuleBtfError,
  MODULE_BTF_CONFIG,
  objFromId,
  objIds,
  objInfo,
  perfEventOpen,
  PerfIoctl,
  type Program,
  type ProgramSpec,
  resolveKernelTypes,
  symbolModule,
  SyscallError,
} from "../../mod.ts";

/** Set by the guest's /init; the guest kernel has the features these tests need. */
const IN_VM = Deno.env.get("DENOBPF_VM") === "1";
if (!IN_VM) {
  console.log(
    "tests/vm: ignored: this kernel lacks loadable modules, module BTF and kprobes; " +
      "run them in the guest kernel with `deno run -A tools/vm/run.ts`",
  );
}

const MODULE = "nf_conntrack_netlink";
const TARGET = "ctnetlink_fill_info";
const BTF_DIR = "/sys/kernel/btf";
const MODULE_BTF = `${BTF_DIR}/${MODULE}`;
/** A struct defined in net/netfilter/nf_conntrack_netlink.c: only the module's BTF has it. */
const MODULE_ONLY_STRUCT = "ctnetlink_filter";
const TRACEFS = "/sys/kernel/tracing";

/** `r0 = 0; exit`. */
const RETURN_ZERO = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);

function vmTest(name: string, fn: () => void | Promise<void>): void {
  Deno.test({ name: `vm: ${name}`, ignore: !IN_VM, fn });
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}): ${err}`);
  }
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Runs `fn` while a tmpfs over /sys/kernel/btf holds only a copy of vmlinux,
 * as on a kernel older than 5.11 or built without module BTF; restores the
 * real directory afterwards.
 */
async function withModuleBtfHidden(fn: () => void | Promise<void>): Promise<void> {
  const vmlinux = Deno.readFileSync(`${BTF_DIR}/vmlinux`);
  await run("mount", ["-t", "tmpfs", "-o", "size=64m", "denobpf-btf", BTF_DIR]);
  try {
    Deno.writeFileSync(`${BTF_DIR}/vmlinux`, vmlinux);
    await fn();
  } finally {
    await run("umount", [BTF_DIR]);
  }
}

/** Appends one command to tracefs kprobe_events (never truncating the file). */
function kprobeEvents(line: string): void {
  Deno.writeTextFileSync(`${TRACEFS}/kprobe_events`, `${line}\n`, { append: true });
}

/** Loads a `return 0` program with the library's loader. */
function loadReturnZero(spec: Omit<ProgramSpec, "instructions">): Program {
  return loadProgram({ instructions: RETURN_ZERO, name: "denobpf_vm", ...spec });
}

/** Opens the kernel's BTF object of a module (struct bpf_btf_info: name at 16, kernel_btf at 28). */
function openModuleBtf(module: string): FD {
  const names: string[] = [];
  for (const id of objIds("btf")) {
    const fd = objFromId("btf", id);
    const name = new Uint8Array(64);
    const info = new Uint8Array(32);
    const dv = new DataView(info.buffer);
    dv.setBigUint64(16, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(name))), true);
    dv.setUint32(24, name.length, true);
    objInfo(fd.value, info);
    const n = new TextDecoder().decode(name.subarray(0, name.indexOf(0)));
    names.push(n);
    if (dv.getUint32(28, true) === 1 && n === module) return fd;
    fd.close();
  }
  throw new Error(`no kernel BTF object named ${module} among ${names.join(" ")}`);
}

// --- the environment the scenario needs -------------------------------------------------

vmTest(`${MODULE_BTF} exists after modprobe and holds BTF`, () => {
  const st = Deno.statSync(MODULE_BTF);
  assert.ok(st.isFile);
  const head = new Uint8Array(2);
  using f = Deno.openSync(MODULE_BTF);
  assert.equal(f.readSync(head), 2);
  assert.deepEqual([...head], [0x9f, 0xeb], "BTF magic (little endian)");
});

vmTest(`/proc/kallsyms lists ${TARGET} in [${MODULE}]`, () => {
  const text = Deno.readTextFileSync("/proc/kallsyms");
  const line = text.split("\n").find((l) => l.split(/\s+/)[2] === TARGET);
  assert.ok(line, `${TARGET} not in /proc/kallsyms`);
  assert.match(line, new RegExp(`^[0-9a-f]+ [tT] ${TARGET}\\s+\\[${MODULE}\\]$`));
});

vmTest("the kprobe PMU exists", () => {
  const type = Number(Deno.readTextFileSync("/sys/bus/event_source/devices/kprobe/type").trim());
  assert.ok(Number.isInteger(type) && type > 0, `kprobe PMU type ${type}`);
});

vmTest(`tracefs kprobe_events accepts kprobes on ${TARGET}, plain and module-qualified`, () => {
  const events = [
    ["denobpf_test", TARGET],
    ["denobpf_test_mod", `${MODULE}:${TARGET}`],
  ];
  try {
    for (const [name, where] of events) {
      kprobeEvents(`p:${name} ${where}`);
      const id = Number(Deno.readTextFileSync(`${TRACEFS}/events/kprobes/${name}/id`).trim());
      assert.ok(id > 0, `${name} has tracepoint id ${id}`);
    }
    const listed = Deno.readTextFileSync(`${TRACEFS}/kprobe_events`);
    assert.match(listed, new RegExp(`^p:kprobes/denobpf_test ${TARGET}$`, "m"));
    assert.match(listed, new RegExp(`^p:kprobes/denobpf_test_mod ${MODULE}:${TARGET}$`, "m"));
  } finally {
    for (const [name] of events) {
      if (exists(`${TRACEFS}/events/kprobes/${name}`)) kprobeEvents(`-:${name}`);
    }
  }
  assert.ok(!exists(`${TRACEFS}/events/kprobes/denobpf_test`), "kprobe removed");
});

vmTest(
  "a tmpfs over /sys/kernel/btf with only vmlinux hides module BTF; unmount restores it",
  async () => {
    const before = [...Deno.readDirSync(BTF_DIR)].map((e) => e.name);
    assert.ok(before.includes(MODULE) && before.length > 2, before.join(" "));
    await withModuleBtfHidden(() => {
      assert.deepEqual([...Deno.readDirSync(BTF_DIR)].map((e) => e.name), ["vmlinux"]);
      assert.throws(() => Deno.statSync(MODULE_BTF), Deno.errors.NotFound);
    });
    assert.ok(Deno.statSync(MODULE_BTF).isFile, "module BTF back after unmount");
    const after = [...Deno.readDirSync(BTF_DIR)].map((e) => e.name).sort();
    assert.deepEqual(after, before.sort());
  },
);

/** A function of the module with three arguments (fentry on 6.1 x86 takes at most six). */
const FENTRY_TARGET = "ctnetlink_get_conntrack";

/** Loads an fentry `return 0` program on a module function, by module BTF object fd + id. */
function loadModuleFentry(func: string): Program {
  const spec = loadKernelModuleSpec(MODULE, { cache: new BtfCache() });
  assert.ok(spec);
  const [funcId] = spec.typeIdsByName(func, "func");
  assert.ok(funcId >= spec.firstTypeId, `func ${func} is in the module's split id range`);
  using btf = openModuleBtf(MODULE);
  return loadReturnZero({
    type: "tracing",
    attachType: "trace_fentry",
    attachBtfId: funcId,
    attachBtfObjFd: btf,
  });
}

vmTest(
  `fentry on ${MODULE}'s ${FENTRY_TARGET}: loads against the module's BTF object, attaches`,
  () => {
    using prog = loadModuleFentry(FENTRY_TARGET);
    using link = new FD(bpf("RAW_TRACEPOINT_OPEN", { name: null, progFd: prog.fd.value }), "link");
    assert.ok(link.value > 0);
  },
);

vmTest(`fentry on ${TARGET} (8 arguments) loads but 6.1 refuses to attach: ENOTSUPP`, () => {
  // x86 BPF trampolines take at most 6 arguments before Linux 6.6: the scenario's
  // program on ctnetlink_fill_info has to be a kprobe on this kernel.
  using prog = loadModuleFentry(TARGET);
  assert.throws(
    () => bpf("RAW_TRACEPOINT_OPEN", { name: null, progFd: prog.fd.value }),
    (e: unknown) => e instanceof SyscallError && e.code === "ENOTSUPP",
  );
});

vmTest(`kprobe PMU: a kprobe program attaches to ${TARGET}, plain and module-qualified`, () => {
  const type = Number(Deno.readTextFileSync("/sys/bus/event_source/devices/kprobe/type").trim());
  using prog = loadReturnZero({ type: "kprobe" });
  for (const where of [TARGET, `${MODULE}:${TARGET}`]) {
    const name = new TextEncoder().encode(`${where}\0`);
    using ev = perfEventOpen({
      type,
      config1: BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(name))),
      config2: 0,
    }, { pid: -1, cpu: 0, label: `kprobe ${where}` });
    ioctl(ev.value, PerfIoctl.SET_BPF, prog.fd.value, "PERF_EVENT_IOC_SET_BPF");
    ioctl(ev.value, PerfIoctl.ENABLE, 0, "PERF_EVENT_IOC_ENABLE");
  }
});

// --- the library against the real module ------------------------------------------------

vmTest(
  `kernelModuleOf("${TARGET}") and symbolModule name ${MODULE}; vmlinux symbols none`,
  async () => {
    assert.equal(kernelModuleOf(TARGET), MODULE);
    assert.equal(kernelModuleOf("vfs_read"), undefined);
    assert.equal(await symbolModule(TARGET), MODULE);
    assert.equal(await symbolModule("vfs_read"), undefined);
  },
);

vmTest(`loadKernelModuleSpec("${MODULE}") holds the module's own types on top of vmlinux`, () => {
  const cache = new BtfCache();
  const vmlinux = loadKernelSpec({ cache });
  const spec = loadKernelModuleSpec(MODULE, { cache });
  assert.ok(spec, `${MODULE} BTF not loaded`);
  assert.equal(spec.base, vmlinux, "split BTF on top of vmlinux");
  assert.equal(spec.firstTypeId, vmlinux.lastTypeId + 1);
  assert.ok(spec.typeCount > 0);

  // A struct only the module defines: in the module's blob, not in vmlinux.
  const filter = spec.typeByName(MODULE_ONLY_STRUCT, "struct");
  assert.ok(filter, `struct ${MODULE_ONLY_STRUCT} missing from the module BTF`);
  assert.ok(spec.typeIdsByName(MODULE_ONLY_STRUCT, "struct")[0] >= spec.firstTypeId);
  assert.equal(vmlinux.typeByName(MODULE_ONLY_STRUCT, "struct"), undefined);
  // The target function's BTF func lives in the module too.
  const fn = spec.typeByName(TARGET, "func");
  assert.ok(fn, `func ${TARGET} missing from the module BTF`);
  assert.equal(vmlinux.typeByName(TARGET, "func"), undefined);
  // Types the module shares with the kernel resolve through the base.
  assert.ok(spec.typeByName("sk_buff", "struct"));

  const all = kernelModuleSpecs({ cache });
  assert.ok(all.names.includes(MODULE));
  assert.deepEqual(all.findTypes(MODULE_ONLY_STRUCT, "struct").map((t) => t.module), [MODULE]);
});

vmTest(`resolveKernelTypes("${TARGET}") uses the module BTF, then vmlinux`, () => {
  const kt = resolveKernelTypes(TARGET, { cache: new BtfCache() });
  assert.equal(kt.module, MODULE);
  assert.ok(kt.moduleSpec);
  assert.equal(kt.missingModuleBtf, undefined);
  assert.deepEqual(kt.specs, [kt.moduleSpec, kt.vmlinux]);
  assert.equal(kt.missingTypeError(MODULE_ONLY_STRUCT), undefined);
  assert.match(kt.describe(), new RegExp(`module ${MODULE}: using its BTF`));
});

vmTest("with module BTF hidden: no module spec, vmlinux alone, and a precise error", async () => {
  await withModuleBtfHidden(() => {
    const cache = new BtfCache();
    assert.equal(loadKernelModuleSpec(MODULE, { cache }), undefined);
    assert.ok(loadKernelSpec({ cache }).typeByName("sk_buff", "struct"), "vmlinux still loads");
    assert.deepEqual(kernelModuleSpecs({ cache }).names, []);

    const kt = resolveKernelTypes(TARGET, { cache });
    assert.equal(kt.module, MODULE, "kallsyms still names the module");
    assert.equal(kt.moduleSpec, undefined);
    assert.deepEqual(kt.missingModuleBtf, { module: MODULE, path: MODULE_BTF });
    assert.deepEqual(kt.specs, [kt.vmlinux]);
    assert.match(kt.describe(), /falling back to vmlinux BTF alone/);
    const err = kt.missingTypeError(MODULE_ONLY_STRUCT);
    assert.ok(err instanceof MissingModuleBtfError);
    assert.equal(err.module, MODULE);
    assert.equal(err.path, MODULE_BTF);
    assert.equal(err.typeName, MODULE_ONLY_STRUCT);
    assert.ok(err.message.includes(MODULE_BTF_CONFIG), err.message);
  });
  // Restored: a fresh cache sees the module again.
  assert.ok(loadKernelModuleSpec(MODULE, { cache: new BtfCache() }));
});
