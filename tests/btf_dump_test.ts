// The raw dump against the oracle: `bpftool btf dump file F [--base-btf B] format raw`.
// With bpftool present every case runs against it; the crafted blobs also
// have bpftool's output recorded in testdata/btf/ so they are checked anywhere.

import assert from "node:assert/strict";
import {
  BtfBuilder,
  type BtfSpec,
  dumpRaw,
  dumpRawBytes,
  dumpRawChunks,
  encodeBtf,
  parseBtf,
  readBtfFile,
} from "../src/btf/mod.ts";
import {
  allKinds,
  bpftoolRaw,
  haveVmlinux,
  NO_VMLINUX,
  oddValuesBlob,
  splitOnAllKinds,
  VMLINUX,
} from "./btf_helpers.ts";
import { concat } from "./_helpers.ts";

const TESTDATA = new URL("../testdata/btf/", import.meta.url);

/** Asserts byte equality, reporting the first differing line. */
function assertSameDump(ours: Uint8Array, theirs: Uint8Array, label: string): void {
  if (ours.length === theirs.length && ours.every((b, i) => b === theirs[i])) return;
  const dec = new TextDecoder();
  const a = dec.decode(ours).split("\n");
  const b = dec.decode(theirs).split("\n");
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      assert.fail(
        `${label}: first difference at line ${i + 1} of ${b.length}\n` +
          `  ours:    ${JSON.stringify(a[i])}\n  bpftool: ${JSON.stringify(b[i])}`,
      );
    }
  }
  assert.fail(`${label}: outputs differ in bytes but not in lines`);
}

function tmpFile(bytes: Uint8Array): string {
  const path = Deno.makeTempFileSync({ prefix: "btf_dump_", suffix: ".btf" });
  Deno.writeFileSync(path, bytes);
  return path;
}

/** Compares our dump of `bytes` (on `base`) with bpftool's and with a golden file. */
function check(label: string, bytes: Uint8Array, golden?: string, base?: [BtfSpec, string]): void {
  const spec = parseBtf(bytes, base ? { base: base[0] } : undefined);
  const ours = dumpRawBytes(spec);
  assertSameDump(concat(...dumpRawChunks(spec, { chunkSize: 1024 })), ours, `${label} (chunks)`);
  assert.equal([...dumpRaw(spec)].join("\n") + "\n", new TextDecoder().decode(ours));
  if (golden !== undefined) {
    const want = Deno.readFileSync(new URL(golden, TESTDATA));
    assertSameDump(ours, want, `${label} vs testdata/btf/${golden}`);
  }
  // bpftool is installed by the test setup (tools/setup.ts): always compare.
  const file = tmpFile(bytes);
  try {
    assertSameDump(ours, bpftoolRaw(file, base?.[1]), `${label} vs bpftool`);
  } finally {
    Deno.removeSync(file);
  }
}

Deno.test({
  name: "btf dump: vmlinux, all types, byte-identical to bpftool" + NO_VMLINUX,
  ignore: !haveVmlinux,
  fn() {
    const spec = readBtfFile(VMLINUX, { mmap: false });
    assertSameDump(dumpRawBytes(spec), bpftoolRaw(VMLINUX), "vmlinux");
  },
});

Deno.test("btf dump: every kind, little-endian", () => {
  const bytes = encodeBtf(allKinds(), { littleEndian: true });
  assert.deepEqual(bytes, Deno.readFileSync(new URL("all_kinds.btf", TESTDATA)));
  check("all kinds LE", bytes, "all_kinds.raw.txt");
});

Deno.test("btf dump: every kind, big-endian", () => {
  check("all kinds BE", encodeBtf(allKinds(), { littleEndian: false }), "all_kinds.raw.txt");
});

Deno.test("btf dump: odd values bpftool prints its own way", () => {
  check("odd values", oddValuesBlob(), "odd_values.raw.txt");
});

Deno.test("btf dump: split BTF on a small base", () => {
  const baseBytes = encodeBtf(allKinds());
  const base = parseBtf(baseBytes);
  const baseFile = tmpFile(baseBytes);
  try {
    check("split on small base", splitOnAllKinds(base), "split_small.raw.txt", [base, baseFile]);
  } finally {
    Deno.removeSync(baseFile);
  }
});

Deno.test({
  name: "btf dump: split BTF on vmlinux, byte-identical to bpftool --base-btf" + NO_VMLINUX,
  ignore: !haveVmlinux,
  fn() {
    const base = readBtfFile(VMLINUX, { mmap: false });
    const task = base.typeByName("task_struct", "struct")!.id;
    const someVar = [...base.types()].find((t) => t.kind === "var")!.id;
    const b = new BtfBuilder({ base });
    b.add({ kind: "fwd", name: "task_struct", fwdKind: "struct" });
    const st = b.add({
      kind: "struct",
      name: "my_module_state",
      size: 16,
      members: [
        { name: "owner", type: b.nextTypeId + 1, bitOffset: 0, bitfieldSize: 0 },
        {
          name: "flags",
          type: base.typeByName("u64", "typedef")!.id,
          bitOffset: 64,
          bitfieldSize: 0,
        },
      ],
    });
    b.add({ kind: "ptr", name: "", type: task });
    const proto = b.add({
      kind: "func_proto",
      name: "",
      returnType: base.typeByName("int", "int")!.id,
      params: [{ name: "st", type: b.nextTypeId - 1 }, { name: "", type: 0 }],
    });
    b.add({ kind: "func", name: "my_module_fn", type: proto, linkage: "global" });
    const v = b.add({ kind: "var", name: "my_module_var", type: st, linkage: "static" });
    b.add({
      kind: "datasec",
      name: ".data..percpu",
      size: 64,
      vars: [{ type: v, offset: 0, size: 16 }, { type: someVar, offset: 16, size: 8 }],
    });
    b.add({
      kind: "enum64",
      name: "my_e64",
      size: 8,
      signed: true,
      values: [{ name: "X", value: -2n }],
    });
    const bytes = b.encode();
    const spec = parseBtf(bytes, { base });
    const ours = dumpRawBytes(spec);
    assert.match(new TextDecoder().decode(ours), new RegExp(`^\\[${base.typeCount + 1}\\] FWD`));
    {
      const file = tmpFile(bytes);
      try {
        assertSameDump(ours, bpftoolRaw(file, VMLINUX), "split on vmlinux vs bpftool");
      } finally {
        Deno.removeSync(file);
      }
    }
    // includeBase prints the base first, then the split's own types.
    const withBase = dumpRawBytes(spec, { includeBase: true });
    assert.equal(withBase.length, dumpRawBytes(base).length + ours.length);
  },
});
