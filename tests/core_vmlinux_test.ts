// CO-RE against this kernel's vmlinux BTF, end to end: core.o's programs
// run (BPF_PROG_TEST_RUN) and report the relocated values they saw, which
// must equal what vmlinux BTF says; the same object relocated against
// user-supplied kernel types (BTFHub style); attach BTF ids of the tracing
// kinds this kernel refuses to load.

import assert from "node:assert/strict";
import { loadCollection, loadCollectionSpec, relocateProgram } from "../src/collection/mod.ts";
import { BtfBuilder } from "../src/btf/encode.ts";
import { parseBtf, type Spec } from "../src/btf/spec.ts";
import type { StructType, UnionType } from "../src/btf/types.ts";

const dir = new URL("../testdata/bpf/", import.meta.url);
const obj = (name: string) => new URL(`${name}_bpfel.o`, dir);
const vmlinux = parseBtf(Deno.readFileSync("/sys/kernel/btf/vmlinux"));

function struct(spec: Spec, name: string): StructType {
  const t = spec.typeByName(name, "struct");
  assert(t?.kind === "struct");
  return t;
}

/** Byte offset of a member, searching anonymous members; bit offset for bitfields. */
function memberOffset(
  spec: Spec,
  s: StructType | UnionType,
  name: string,
): { bits: number; size: number } | undefined {
  for (const m of s.members) {
    if (m.name === name) return { bits: m.bitOffset, size: m.bitfieldSize };
    if (m.name === "") {
      const inner = spec.resolve(m.type);
      if (inner.kind === "struct" || inner.kind === "union") {
        const r = memberOffset(spec, inner, name);
        if (r) return { bits: r.bits + m.bitOffset, size: r.size };
      }
    }
  }
  return undefined;
}

Deno.test("core.o: relocated values seen by the running program match vmlinux BTF", async () => {
  using coll = await loadCollection(obj("core"));
  assert.equal(coll.programs.core_task.testRunSync({ context: new Uint8Array(16) }).retval, 0);
  const b = coll.variables.results.bytes();
  const dv = new DataView(b.buffer);
  const i32 = (i: number) => dv.getInt32(i * 4, true);
  const task = struct(vmlinux, "task_struct");
  const skb = struct(vmlinux, "sk_buff");
  // Read through CO-RE: the test runs on this thread, in this process.
  assert.equal(i32(1), Deno.pid); // tgid
  assert(i32(0) > 0); // pid (this thread)
  assert(i32(2) > 0); // real_parent->tgid
  const comm = Deno.readTextFileSync("/proc/thread-self/comm").trim();
  const seen = b.subarray(120, 136);
  assert.equal(new TextDecoder().decode(seen.subarray(0, seen.indexOf(0))), comm);
  const expected = [
    16, // comm_size
    1, // pid_exists
    0, // old_state_exists: task_struct has no "state" since 5.14
    1, // new_state_exists
    0, // missing_exists
    1, // pid_signed
    0, // flags_signed
    1, // task_exists
    task.size, // task_size
  ];
  assert.deepEqual(expected.map((_, k) => i32(3 + k)), expected);
  assert.equal(i32(13), vmlinux.typeIdsByName("task_struct", "struct")[0]); // task_target_id
  assert.deepEqual([i32(14), i32(15), i32(16), i32(17)], [0, 0, 1, 0]);
  assert.equal(dv.getBigUint64(72, true), 1n); // PIDTYPE_TGID
  const len = memberOffset(vmlinux, skb, "len")!;
  const mark = memberOffset(vmlinux, skb, "mark")!;
  const fclone = memberOffset(vmlinux, skb, "fclone")!;
  const pkt = memberOffset(vmlinux, skb, "pkt_type")!;
  const u32 = (i: number) => dv.getUint32(80 + i * 4, true);
  assert.equal(u32(0), len.bits / 8);
  assert.equal(u32(1), mark.bits / 8);
  // Bitfields: a 1-byte unit holds them (u8 in vmlinux).
  assert.equal(u32(2), Math.floor(fclone.bits / 8));
  assert.equal(u32(3), 1);
  assert.equal(u32(4), 64 - (fclone.bits + fclone.size - Math.floor(fclone.bits / 8) * 8));
  assert.equal(u32(5), 64 - fclone.size);
  assert.equal(u32(6), Math.floor(pkt.bits / 8));
  assert.equal(u32(7), 64 - (pkt.bits + pkt.size - Math.floor(pkt.bits / 8) * 8));
  assert.equal(u32(8), 64 - pkt.size);
  assert.equal(u32(9), 1); // guarded: the missing field's read is dead code
  // The poisoned relocation is reported.
  const poisoned = coll.coreRelocations.core_task.filter((r) => r.poisoned);
  assert.equal(poisoned.length, 1);
  assert.match(poisoned[0].local, /task_struct___missing\.denobpf_no_such_field/);
});

Deno.test("kernelTypes: relocate against user-supplied BTF instead of the running kernel's", async () => {
  // A "kernel" whose task_struct is laid out differently.
  const b = new BtfBuilder();
  const int = b.add({
    kind: "int",
    name: "int",
    size: 4,
    encoding: "signed",
    bitOffset: 0,
    bits: 32,
  });
  const uint = b.add({
    kind: "int",
    name: "unsigned int",
    size: 4,
    encoding: "none",
    bitOffset: 0,
    bits: 32,
  });
  const task = b.add({
    kind: "struct",
    name: "task_struct",
    size: 64,
    members: [
      { name: "flags", type: uint, bitOffset: 0, bitfieldSize: 0 },
      { name: "tgid", type: int, bitOffset: 32 * 8, bitfieldSize: 0 },
      { name: "pid", type: int, bitOffset: 40 * 8, bitfieldSize: 0 },
    ],
  });
  const custom = parseBtf(b.encode());
  const spec = loadCollectionSpec(obj("core"));
  const byAccess = (
    core: { local: string; kindLabel: string; newValue: bigint; poisoned: boolean }[],
    field: string,
  ) =>
    core.find((c) =>
      c.kindLabel === "byte_off" && c.local.includes(`struct task_struct.${field} `)
    );
  for (const kt of [custom, b.encode()]) {
    const r = relocateProgram(spec, "core_task", { kernelTypes: kt });
    assert.equal(byAccess(r.core, "pid")?.newValue, 40n);
    assert.equal(byAccess(r.core, "tgid")?.newValue, 32n);
    assert.equal(byAccess(r.core, "comm")?.poisoned, true); // no comm in this "kernel"
    const size = r.core.find((c) => c.kindLabel === "type_size" && c.local.includes("task_struct"));
    assert.equal(size?.newValue, 64n);
    const id = r.core.find((c) => c.kindLabel === "target_type_id");
    assert.equal(id?.newValue, BigInt(task));
    assert(r.core.every((c) => c.targetSource === undefined || c.targetSource === "kernelTypes"));
  }
  // From a file, and loaded (it runs, reading at the wrong offsets — that is the user's choice).
  const path = await Deno.makeTempFile({ suffix: ".btf" });
  try {
    await Deno.writeFile(path, b.encode());
    const r = relocateProgram(spec, "core_task", { kernelTypes: path });
    assert.equal(byAccess(r.core, "pid")?.newValue, 40n);
  } finally {
    await Deno.remove(path);
  }
  // Relocated against the real vmlinux BTF as a file, it loads and runs.
  using coll = await loadCollection(spec, { kernelTypes: "/sys/kernel/btf/vmlinux" });
  assert.equal(coll.programs.core_task.testRunSync({ context: new Uint8Array(16) }).retval, 0);
  assert.equal(new DataView(coll.variables.results.bytes().buffer).getInt32(4, true), Deno.pid);
});

Deno.test("tracing kinds this kernel refuses: attach BTF ids and relocations before load", () => {
  const spec = loadCollectionSpec(obj("tracing"));
  const fn = (n: string) => vmlinux.typeIdsByName(n, "func")[0];
  const cases: [string, number][] = [
    ["t_fentry", fn("do_unlinkat")],
    ["t_fexit", fn("do_unlinkat")],
    ["t_fmod_ret", fn("security_file_open")],
    ["t_fentry_s", fn("do_unlinkat")],
    ["t_lsm", fn("bpf_lsm_file_open")],
    ["t_lsm_s", fn("bpf_lsm_bpf")],
    ["t_iter_s", fn("bpf_iter_task")],
  ];
  for (const [name, id] of cases) {
    assert(id > 0, name);
    const r = relocateProgram(spec, name);
    assert.equal(r.attachBtfId, id, name);
    assert.equal(r.attachBtfModule, undefined, name);
  }
  const sections = loadCollectionSpec(obj("sections"));
  assert.equal(
    relocateProgram(sections, "s_tp_btf").attachBtfId,
    vmlinux.typeIdsByName("btf_trace_sys_enter", "typedef")[0],
  );
  const bad = loadCollectionSpec(obj("tracing"));
  bad.programs.t_fentry.attachTo = "denobpf_no_such_function";
  assert.throws(() => relocateProgram(bad, "t_fentry"), /no func denobpf_no_such_function/);
});
