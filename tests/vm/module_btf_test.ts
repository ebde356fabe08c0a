// Guest tests for the module-function scenario's environment and type
// resolution: ctnetlink_fill_info is a function of the nf_conntrack_netlink
// module, whose types live in the module's split BTF
// (/sys/kernel/btf/nf_conntrack_netlink).
//
// They run inside the VM runner's guest (`deno run -A tools/vm/run.ts`), a
// Debian 6.1 kernel with loadable modules, module BTF and kprobes, whose /init
// has loaded nf_conntrack_netlink and sets DENOBPF_VM=1. The host kernel has no
// modules, no module BTF and no kprobes, so outside the guest every test here
// is ignored (the host suite does not include tests/vm/). Attaching programs
// is tested in link_test.ts, CO-RE against the module in collection_core_test.ts.

import assert from "node:assert/strict";
import {
  BtfCache,
  kernelModuleOf,
  kernelModuleSpecs,
  loadKernelModuleSpec,
  loadKernelSpec,
  MissingModuleBtfError,
  resolveKernelTypes,
} from "../../mod.ts";
import { MODULE_BTF_CONFIG } from "../../src/btf/mod.ts";
import { loadKallsyms } from "../../src/kallsyms/mod.ts";
import {
  BTF_DIR,
  exists,
  MODULE,
  MODULE_BTF,
  TARGET,
  TRACEFS,
  vmTest,
  withModuleBtfHidden,
} from "./_fixtures.ts";

/** A struct defined in net/netfilter/nf_conntrack_netlink.c: only the module's BTF has it. */
const MODULE_ONLY_STRUCT = "ctnetlink_filter";

/** Appends one command to tracefs kprobe_events (never truncating the file). */
function kprobeEvents(line: string): void {
  Deno.writeTextFileSync(`${TRACEFS}/kprobe_events`, `${line}\n`, { append: true });
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

// --- the library against the real module ------------------------------------------------

vmTest(
  `kernelModuleOf("${TARGET}") and the kallsyms table name ${MODULE}; vmlinux symbols none`,
  () => {
    assert.equal(kernelModuleOf(TARGET), MODULE);
    assert.equal(kernelModuleOf("vfs_read"), undefined);
    assert.equal(loadKallsyms().module(TARGET), MODULE);
    assert.equal(loadKallsyms().module("vfs_read"), undefined);
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
