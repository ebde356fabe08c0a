// The scenario the project exists for: a program whose target function
// (ctnetlink_fill_info) lives in a kernel module, nf_conntrack_netlink,
// with and without that module's BTF, end to end through loadCollection.
//
// Fixture roots: <tmp>/proc/kallsyms places the function in the module,
// <tmp>/sys/kernel/btf/vmlinux is a copy of this kernel's, and
// <tmp>/sys/kernel/btf/nf_conntrack_netlink (when present) is split BTF
// with a module-only struct and the function, built with BtfBuilder.

import assert from "node:assert/strict";
import { BtfBuilder } from "../src/btf/encode.ts";
import { parseBtf, type Spec } from "../src/btf/spec.ts";
import { MissingModuleBtfError } from "../src/btf/kernel.ts";
import { loadCollection, loadCollectionSpec, relocateProgram } from "../src/collection/mod.ts";
import type { CollectionSpec } from "../src/collection/mod.ts";
import { NotFoundError } from "../src/errors.ts";
import { SyscallError } from "../src/sys/error.ts";
import { VerifierError } from "../src/program/errors.ts";
import { openKernelBtf } from "../src/collection/_btf.ts";

const OBJ = new URL("../testdata/bpf/module_target_bpfel.o", import.meta.url);
const MODULE = "nf_conntrack_netlink";
const VMLINUX = Deno.readFileSync("/sys/kernel/btf/vmlinux");
const vmlinuxSpec = parseBtf(VMLINUX);

/** Layout of the module's struct: not the local one (seq is at 4 locally). */
const MODULE_SEQ_OFFSET = 12;
const MODULE_EVENT_OFFSET = 16;

/** Split BTF of the fake module: `struct ctnl_fill_ctx` and `ctnetlink_fill_info`. */
function moduleBtf(base: Spec): { bytes: Uint8Array; structId: number; funcId: number } {
  const b = new BtfBuilder({ base });
  const u32 = base.typeByName("unsigned int", "int")!.id;
  const int = base.typeByName("int", "int")!.id;
  const u64 = base.typeByName("long long unsigned int", "int")!.id;
  const structId = b.add({
    kind: "struct",
    name: "ctnl_fill_ctx",
    size: 24,
    members: [
      { name: "flags", type: u64, bitOffset: 0, bitfieldSize: 0 },
      { name: "portid", type: u32, bitOffset: 64, bitfieldSize: 0 },
      { name: "seq", type: u32, bitOffset: MODULE_SEQ_OFFSET * 8, bitfieldSize: 0 },
      { name: "event", type: int, bitOffset: MODULE_EVENT_OFFSET * 8, bitfieldSize: 0 },
    ],
  });
  const ptr = b.add({ kind: "ptr", name: "", type: structId });
  const proto = b.add({
    kind: "func_proto",
    name: "",
    returnType: int,
    params: [{ name: "ctx", type: ptr }],
  });
  const funcId = b.add({
    kind: "func",
    name: "ctnetlink_fill_info",
    type: proto,
    linkage: "static",
  });
  return { bytes: b.encode(), structId, funcId };
}

interface Root extends AsyncDisposable {
  path: string;
  btfPath: string;
}

async function makeRoot(withModuleBtf: boolean): Promise<Root> {
  const path = await Deno.makeTempDir({ prefix: "denobpf-modtarget-" });
  await Deno.mkdir(`${path}/proc`, { recursive: true });
  await Deno.mkdir(`${path}/sys/kernel/btf`, { recursive: true });
  await Deno.writeTextFile(
    `${path}/proc/kallsyms`,
    "ffffffff81000000 T _text\n" +
      "ffffffffc0a01230 t ctnetlink_fill_info\t[nf_conntrack_netlink]\n",
  );
  await Deno.writeFile(`${path}/sys/kernel/btf/vmlinux`, VMLINUX);
  const btfPath = `${path}/sys/kernel/btf/${MODULE}`;
  if (withModuleBtf) await Deno.writeFile(btfPath, moduleBtf(vmlinuxSpec).bytes);
  return {
    path,
    btfPath,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
}

/** The spec with only the named programs. */
function only(...names: string[]): CollectionSpec {
  const spec = loadCollectionSpec(OBJ);
  for (const n of Object.keys(spec.programs)) if (!names.includes(n)) delete spec.programs[n];
  return spec;
}

const vmlinuxTgid = (() => {
  const task = vmlinuxSpec.typeByName("task_struct", "struct");
  assert(task?.kind === "struct");
  return task.members.find((m) => m.name === "tgid")!.bitOffset / 8;
})();

Deno.test("module target, BTF absent: a kprobe with vmlinux-only CO-RE loads", async () => {
  await using root = await makeRoot(false);
  const spec = only("mod_kprobe_vmlinux");
  const r = relocateProgram(spec, "mod_kprobe_vmlinux", { root: root.path });
  assert.equal(r.target?.module, MODULE);
  assert.deepEqual(r.target?.missingModuleBtf, { module: MODULE, path: root.btfPath });
  assert.equal(r.core.length, 1);
  assert.equal(r.core[0].poisoned, false);
  assert.equal(r.core[0].targetSource, "vmlinux");
  assert.equal(r.core[0].newValue, BigInt(vmlinuxTgid));
  // Loaded for real: kprobe programs load on this kernel (attaching does not).
  using coll = await loadCollection(spec, { root: root.path });
  assert.equal(coll.programs.mod_kprobe_vmlinux.typeName, "kprobe");
  assert.equal(coll.coreRelocations.mod_kprobe_vmlinux[0].newValue, BigInt(vmlinuxTgid));
});

Deno.test("module target, BTF absent: a module-only type gives MissingModuleBtfError", async () => {
  await using root = await makeRoot(false);
  const spec = only("mod_kprobe_module");
  // Relocation alone poisons the access, as libbpf does…
  const r = relocateProgram(spec, "mod_kprobe_module", { root: root.path });
  assert.equal(r.core.length, 1);
  assert.equal(r.core[0].poisoned, true);
  // …and loading, which reaches it, says which module's BTF would have had the type.
  const err = await loadCollection(spec, { root: root.path }).then(
    () => assert.fail("the load should fail"),
    (e) => e,
  );
  assert(err instanceof MissingModuleBtfError, String(err));
  assert.equal(err.typeName, "ctnl_fill_ctx");
  assert.equal(err.module, MODULE);
  assert.equal(err.path, root.btfPath);
  assert.match(err.message, /ctnl_fill_ctx.*nf_conntrack_netlink.*CONFIG_DEBUG_INFO_BTF_MODULES/);
  assert(
    err.cause instanceof Error &&
      /unknown#195896080/.test((err.cause as { log?: string }).log ?? ""),
  );
});

Deno.test("module target, BTF absent: fentry's target is not in vmlinux BTF", async () => {
  await using root = await makeRoot(false);
  const spec = only("mod_fentry");
  const err = (() => {
    try {
      relocateProgram(spec, "mod_fentry", { root: root.path });
    } catch (e) {
      return e;
    }
  })();
  assert(err instanceof MissingModuleBtfError, String(err));
  assert.equal(err.module, MODULE);
  assert.equal(err.typeName, "ctnetlink_fill_info");
  assert.equal(err.path, root.btfPath);
});

Deno.test("module target, BTF present: relocations resolve against the module's types", async () => {
  await using root = await makeRoot(true);
  const { structId, funcId } = moduleBtf(vmlinuxSpec);
  const spec = only("mod_kprobe_module", "mod_fentry", "mod_kprobe_vmlinux");

  const k = relocateProgram(spec, "mod_kprobe_module", { root: root.path });
  assert.equal(k.target?.module, MODULE);
  assert.equal(k.target?.missingModuleBtf, undefined);
  assert.equal(k.core.length, 1);
  assert.equal(k.core[0].poisoned, false);
  assert.equal(k.core[0].targetSource, MODULE);
  assert.equal(k.core[0].oldValue, 4n);
  assert.equal(k.core[0].newValue, BigInt(MODULE_SEQ_OFFSET));
  assert.match(k.core[0].target!, new RegExp(`^\\[${structId}\\] struct ctnl_fill_ctx\\.seq`));

  // fentry: attach BTF id from the module's BTF, its CO-RE too.
  const f = relocateProgram(spec, "mod_fentry", { root: root.path });
  assert.equal(f.attachBtfId, funcId);
  assert.equal(f.attachBtfModule, MODULE);
  assert.equal(f.core.every((c) => c.targetSource === MODULE), true);
  const offsets = f.core.filter((c) => c.kindLabel === "byte_off").map((c) => c.newValue);
  assert.deepEqual(offsets.sort(), [BigInt(MODULE_SEQ_OFFSET), BigInt(MODULE_EVENT_OFFSET)].sort());

  // vmlinux types still come from vmlinux.
  const v = relocateProgram(spec, "mod_kprobe_vmlinux", { root: root.path });
  assert.equal(v.core[0].targetSource, "vmlinux");

  // The kprobe program with the module type loads for real.
  delete spec.programs.mod_fentry;
  using coll = await loadCollection(spec, { root: root.path });
  assert.deepEqual(Object.keys(coll.programs).sort(), ["mod_kprobe_module", "mod_kprobe_vmlinux"]);
  assert.equal(coll.coreRelocations.mod_kprobe_module[0].newValue, BigInt(MODULE_SEQ_OFFSET));
});

Deno.test("module target: fentry loading for real needs the module's kernel BTF object", async () => {
  // The fixture names nf_conntrack_netlink; whether this kernel has that module
  // loaded (the VM guest modprobes it, a host may not) decides what the load meets.
  const loaded = (() => {
    using fd = openKernelBtf(MODULE);
    return fd !== undefined;
  })();
  await using root = await makeRoot(true);
  const outcome = await loadCollection(only("mod_fentry"), { root: root.path }).then(
    (coll) => coll.close(),
    (e) => e,
  );
  if (!loaded) {
    // No BTF object to pass as attach_btf_obj_fd: the error says so before any load.
    assert(outcome instanceof NotFoundError, String(outcome));
    assert.match(outcome.message, /no loaded BTF object named nf_conntrack_netlink/);
    return;
  }
  // Loaded: the real module's BTF object is found by name and goes to the kernel
  // with the fixture's attach_btf_id, a number in the fake module's BTF: the
  // kernel looks it up in the real one (the 6.1 guest: "attach_btf_id 100814 is
  // not a function"), unless a function sits at that id there too.
  const { funcId } = moduleBtf(vmlinuxSpec);
  const real = parseBtf(Deno.readFileSync(`/sys/kernel/btf/${MODULE}`), { base: vmlinuxSpec });
  const realFunc = funcId <= real.lastTypeId && real.typeById(funcId).kind === "func";
  if (!realFunc) {
    assert(outcome instanceof VerifierError, String(outcome));
    assert.match(outcome.log, new RegExp(`attach_btf_id ${funcId} is (not a function|invalid)`));
  } else if (outcome !== undefined) {
    assert(outcome instanceof SyscallError, String(outcome));
  }
});

Deno.test("module target: no /sys/kernel/btf directory for modules is not an error", async () => {
  await using root = await makeRoot(false);
  // Only vmlinux exists; a kernel without module BTF at all behaves the same.
  const spec = only("mod_kprobe_vmlinux");
  using coll = await loadCollection(spec, { root: root.path });
  assert.equal(Object.keys(coll.programs).length, 1);
});

Deno.test("kernel BTF objects are found by name (how fentry gets a module's BTF fd)", () => {
  using fd = openKernelBtf("vmlinux");
  assert(fd && !fd.closed);
  assert.equal(openKernelBtf("denobpf_no_such_module"), undefined);
});
