// Oracle: libbpf (through bpftool 7.1) and denobpf load the same objects;
// the kernel-side instructions (BPF_OBJ_GET_INFO_BY_FD xlated_prog_insns)
// must be identical, map ids aside. bpftool runs in a private mount
// namespace with its own bpffs (also at /sys/fs/bpf, where libbpf pins
// LIBBPF_PIN_BY_NAME maps), and writes each program's xlated bytes to a
// file. For the program kinds this kernel refuses (fentry, lsm), the CO-RE
// patches libbpf reports in its debug output are compared instead.

import assert from "node:assert/strict";
import { loadCollection, loadCollectionSpec, relocateProgram } from "../src/collection/mod.ts";
import { parseBtf } from "../src/btf/mod.ts";
import { mountBpffs } from "./_helpers.ts";

const dir = new URL("../testdata/bpf/", import.meta.url);
const obj = (name: string) => new URL(`${name}_bpfel.o`, dir).pathname;
const decoder = new TextDecoder();

/** Map ids differ between the two loads: zero the first immediate of map loads. */
function normalize(x: Uint8Array): Uint8Array {
  const b = x.slice();
  for (let i = 0; i + 16 <= b.length; i += 8) {
    if (b[i] !== 0x18) continue;
    const src = b[i + 1] >> 4;
    if (src === 1 || src === 2 || src === 5 || src === 6) b.fill(0, i + 4, i + 8);
    i += 8;
  }
  return b;
}

function hex(b: Uint8Array, i: number): string {
  return Array.from(b.subarray(i * 8, i * 8 + 8), (v) => v.toString(16).padStart(2, "0")).join(" ");
}

/** Loads `object` with bpftool and returns each program's xlated bytes. */
async function libbpfXlated(object: string, programs: string[]): Promise<Map<string, Uint8Array>> {
  const work = await Deno.makeTempDir({ prefix: "denobpf-oracle-" });
  try {
    const script = [
      "set -e",
      "mount -t bpf bpf /sys/fs/bpf",
      `mkdir ${work}/fs`,
      `mount -t bpf bpf ${work}/fs`,
      `bpftool prog loadall ${object} ${work}/fs/p`,
      ...programs.map((p) =>
        `bpftool prog dump xlated pinned ${work}/fs/p/${p} file ${work}/${p}.bin`
      ),
    ].join("\n");
    const out = new Deno.Command("unshare", {
      args: ["--mount", "--propagation", "private", "sh", "-c", script],
      cwd: work,
      stderr: "piped",
      stdout: "piped",
    }).outputSync();
    assert(out.success, `bpftool failed: ${decoder.decode(out.stderr)}`);
    const result = new Map<string, Uint8Array>();
    for (const p of programs) result.set(p, await Deno.readFile(`${work}/${p}.bin`));
    return result;
  } finally {
    await Deno.remove(work, { recursive: true });
  }
}

// What keeps libbpf (the oracle) from loading an object on this kernel.
const vmlinux = parseBtf(Deno.readFileSync("/sys/kernel/btf/vmlinux"));
const dummyOps = vmlinux.typeByName("bpf_dummy_ops", "struct");
const ORACLE_MISSING: Record<string, string> = {
  // kfunc_lookup calls bpf_task_from_pid (Linux 6.2).
  externs: vmlinux.typeIdsByName("bpf_task_from_pid", "func").length
    ? ""
    : "kfunc bpf_task_from_pid not supported by this kernel",
  // libbpf wants every member of the object's bpf_dummy_ops in the kernel's.
  struct_ops: dummyOps?.kind === "struct" &&
      dummyOps.members.some((m) => m.name === "test_sleepable")
    ? ""
    : "the kernel's bpf_dummy_ops has no test_sleepable member, which libbpf requires",
};

for (const name of ["basic", "core", "externs", "many", "sections", "struct_ops"]) {
  const missing = ORACLE_MISSING[name];
  Deno.test({
    name: `oracle: ${name}.o loads to the same kernel instructions as with libbpf${
      missing ? ` (skipped: ${missing})` : ""
    }`,
    ignore: !!missing,
    fn: () => sameAsLibbpf(name),
  });
}

async function sameAsLibbpf(name: string) {
  await using fs = await mountBpffs("denobpf-oracle-pins-");
  using coll = await loadCollection(obj(name), { pinPath: fs.path });
  const names = Object.keys(coll.programs);
  const theirs = await libbpfXlated(obj(name), names);
  const diffs: string[] = [];
  for (const p of names) {
    const a = normalize(coll.programs[p].xlated());
    const b = normalize(theirs.get(p)!);
    if (a.length !== b.length) {
      diffs.push(`${p}: ${a.length / 8} vs ${b.length / 8} instructions`);
    }
    for (let i = 0; i < Math.min(a.length, b.length) / 8; i++) {
      if (hex(a, i) !== hex(b, i)) diffs.push(`${p} #${i}: ${hex(a, i)} | libbpf ${hex(b, i)}`);
    }
  }
  assert.deepEqual(diffs, []);
  assert(names.length > 0);
}

/** libbpf's debug lines `prog 'X': relo #N: patched insn #I (KIND) off|imm A -> B` and poisonings. */
function libbpfPatches(object: string) {
  const out = new Deno.Command("bpftool", {
    args: ["-d", "prog", "loadall", object, "/nonexistent/denobpf"],
    stderr: "piped",
    stdout: "piped",
  }).outputSync();
  const text = decoder.decode(out.stderr);
  const patches = new Map<string, { insn: number; field: string; from: number; to: number }[]>();
  const poisoned = new Map<string, number[]>();
  for (
    const m of text.matchAll(
      /prog '(\w+)': relo #\d+: patched insn #(\d+) \([^)]*\) (off|imm) (-?\d+) -> (-?\d+)/g,
    )
  ) {
    const list = patches.get(m[1]) ?? [];
    list.push({ insn: +m[2], field: m[3], from: +m[4], to: +m[5] });
    patches.set(m[1], list);
  }
  for (
    const m of text.matchAll(/prog '(\w+)': relo #\d+: substituting insn #(\d+) w\/ invalid insn/g)
  ) {
    poisoned.set(m[1], [...(poisoned.get(m[1]) ?? []), +m[2]]);
  }
  return { patches, poisoned, text };
}

Deno.test("oracle: CO-RE patches of programs this kernel refuses (fentry, lsm) match libbpf's", () => {
  const spec = loadCollectionSpec(obj("tracing"));
  const { patches, text } = libbpfPatches(obj("tracing"));
  assert(patches.size > 0, text.slice(-2000));
  let compared = 0;
  for (const [name, list] of patches) {
    const r = relocateProgram(spec, name);
    const dv = new DataView(r.instructions.buffer);
    for (const p of list) {
      const got = p.field === "off"
        ? dv.getInt16(p.insn * 8 + 2, true)
        : dv.getInt32(p.insn * 8 + 4, true);
      assert.equal(got, p.to, `${name} insn #${p.insn}`);
      const c = r.core.find((x) => x.insn === p.insn);
      assert.equal(c?.oldValue, BigInt(p.from));
      compared++;
    }
  }
  assert(compared >= 1);
});

Deno.test("oracle: every CO-RE decision in core.o matches libbpf's, poisonings included", () => {
  const spec = loadCollectionSpec(obj("core"));
  const { patches, poisoned } = libbpfPatches(obj("core"));
  const total = [...patches.values()].reduce((n, l) => n + l.length, 0);
  assert(total >= 30, `only ${total} patches in libbpf's output`);
  let compared = 0;
  for (const name of Object.keys(spec.programs)) {
    const r = relocateProgram(spec, name);
    const dv = new DataView(r.instructions.buffer);
    for (const p of patches.get(name) ?? []) {
      const got = p.field === "off"
        ? dv.getInt16(p.insn * 8 + 2, true)
        : dv.getInt32(p.insn * 8 + 4, true);
      assert.equal(got, p.to, `${name} insn #${p.insn}`);
      compared++;
    }
    assert.deepEqual(
      r.core.filter((c) => c.poisoned).map((c) => c.insn),
      poisoned.get(name) ?? [],
      name,
    );
  }
  assert.equal(compared, total);
});
