import assert from "node:assert/strict";
import { InvalidArgumentError, NotFoundError, ParseError } from "../src/errors.ts";
import {
  BTF_KIND_NAMES,
  BTF_KIND_NUMBERS,
  BtfBuilder,
  type BtfSpec,
  type BtfType,
  dumpRaw,
  dumpRawBytes,
  encodeBtf,
  parseBtf,
  readBtfFile,
  reencodeSpec,
  type StructType,
  type TypeDesc,
} from "../src/btf/mod.ts";
import { readBtfBytes } from "../src/btf/file.ts";
import {
  allKinds,
  haveVmlinux,
  info,
  NO_VMLINUX,
  rawBlob,
  VMLINUX,
  withIds,
} from "./btf_helpers.ts";

const K = BTF_KIND_NUMBERS;

function parseError(offset?: number, re?: RegExp): (e: unknown) => boolean {
  return (e) => {
    assert.ok(e instanceof ParseError, `expected ParseError, got ${e}`);
    assert.equal(e.format, "btf");
    if (offset !== undefined) assert.equal(e.offset, offset, e.message);
    if (re !== undefined) assert.match(e.message, re);
    return true;
  };
}

function json(v: unknown): string {
  return JSON.stringify(v, (_k, x) => typeof x === "bigint" ? `${x}n` : x);
}

// ---- vmlinux ------------------------------------------------------------

let vmlinuxSpec: BtfSpec | undefined;
function vmlinux(): BtfSpec {
  return vmlinuxSpec ??= readBtfFile(VMLINUX, { mmap: false });
}

Deno.test({
  name: "btf: vmlinux task_struct has pid of type pid_t -> int" + NO_VMLINUX,
  ignore: !haveVmlinux,
  fn() {
    const spec = vmlinux();
    assert.equal(spec.firstTypeId, 1);
    assert.ok(spec.typeCount > 1000);
    assert.equal(spec.lastTypeId, spec.typeCount);
    const task = spec.typeByName("task_struct", "struct");
    assert.ok(task !== undefined && task.kind === "struct");
    assert.equal(task.name, "task_struct");
    assert.equal(spec.typeById(task.id), task, "decoded types are memoised");
    const pid = task.members.find((m) => m.name === "pid");
    assert.ok(pid, "task_struct.pid");
    assert.equal(pid.bitfieldSize, 0);
    assert.equal(pid.bitOffset % 32, 0);
    const pidT = spec.typeOf(pid);
    assert.equal(pidT.kind, "typedef");
    assert.equal(pidT.name, "pid_t");
    const int = spec.resolve(pid.type);
    assert.equal(int.kind, "int");
    assert.equal(int.name, "int");
    assert.ok(int.kind === "int" && int.encoding === "signed" && int.size === 4 && int.bits === 32);
    assert.equal(spec.sizeOf(pid.type), 4);
    assert.equal(spec.sizeOf(task.id), task.size);
    assert.equal(spec.kindOf(task.id), "struct");
    assert.equal(spec.pointerSize, 8);
  },
});

Deno.test({
  name: "btf: vmlinux name lookups and kind filter" + NO_VMLINUX,
  ignore: !haveVmlinux,
  fn() {
    const spec = vmlinux();
    const all = spec.typesByName("task_struct");
    assert.ok(all.length >= 1);
    assert.ok(all.every((t) => t.name === "task_struct"));
    assert.ok(all.some((t) => t.kind === "struct"));
    assert.deepEqual(all.map((t) => t.id), [...all.map((t) => t.id)].sort((a, b) => a - b));
    assert.equal(spec.typeByName("task_struct", "union"), undefined);
    assert.equal(spec.typeByName("no_such_type_anywhere_42"), undefined);
    assert.deepEqual(spec.typesByName(""), []);
    const pidT = spec.typeByName("pid_t", "typedef");
    assert.ok(pidT?.kind === "typedef");
    const fn = spec.typeByName("schedule", "func");
    assert.ok(fn?.kind === "func");
    assert.equal(spec.typeOf(fn).kind, "func_proto");
    // Enough lookups to switch to the hash index: answers must not change.
    const names = ["task_struct", "pid_t", "int", "list_head", "sk_buff", "file", "inode"];
    const before = names.map((n) => spec.typeIdsByName(n));
    for (let i = 0; i < 3; i++) {
      assert.deepEqual(names.map((n) => spec.typeIdsByName(n)), before);
    }
    assert.deepEqual(spec.typeIdsByName("task_struct", "struct"), [
      spec.typeByName("task_struct", "struct")!.id,
    ]);
  },
});

Deno.test({
  name: "btf: vmlinux iterates every type once, in id order" + NO_VMLINUX,
  ignore: !haveVmlinux,
  fn() {
    const spec = vmlinux();
    let n = 0;
    let last = 0;
    for (const t of spec) {
      assert.equal(t.id, last + 1);
      last = t.id;
      n++;
    }
    assert.equal(n, spec.typeCount);
    const kinds = new Set([...spec].map((t) => t.kind));
    for (const k of ["int", "ptr", "array", "struct", "union", "enum", "func", "func_proto"]) {
      assert.ok(kinds.has(k as BtfType["kind"]), k);
    }
  },
});

Deno.test({
  name: "btf: vmlinux parse -> encode -> parse reproduces every type and the dump" + NO_VMLINUX,
  ignore: !haveVmlinux,
  fn() {
    const spec = vmlinux();
    const again = parseBtf(reencodeSpec(spec));
    assert.equal(again.typeCount, spec.typeCount);
    for (const t of spec) {
      const u = again.typeById(t.id);
      if (json(u) !== json(t)) assert.deepEqual(u, t);
    }
    const a = dumpRawBytes(spec);
    const b = dumpRawBytes(again);
    assert.equal(b.length, a.length);
    assert.ok(a.every((x, i) => x === b[i]), "raw dumps differ");
  },
});

Deno.test({
  name: "btf: readBtfFile reads or maps vmlinux to the same spec" + NO_VMLINUX,
  ignore: !haveVmlinux,
  fn() {
    const read = readBtfFile(VMLINUX, { mmap: false });
    const mapped = readBtfFile(VMLINUX);
    assert.equal(mapped.typeCount, read.typeCount);
    assert.equal(
      mapped.typeByName("task_struct", "struct")?.id,
      read.typeByName("task_struct", "struct")?.id,
    );
    assert.deepEqual(mapped.typeById(read.typeCount), read.typeById(read.typeCount));
  },
});

Deno.test("btf: readBtfFile reads and parses a regular file (readBtfBytes its bytes)", () => {
  const bytes = encodeBtf(allKinds());
  const path = Deno.makeTempFileSync({ suffix: ".btf" });
  try {
    Deno.writeFileSync(path, bytes);
    assert.deepEqual(readBtfBytes(path), bytes);
    assert.deepEqual([...readBtfFile(path)], withIds(allKinds()));
    Deno.writeFileSync(path, bytes.subarray(0, 30));
    assert.throws(() => readBtfFile(path), ParseError);
  } finally {
    Deno.removeSync(path);
  }
  assert.throws(() => readBtfFile("/nonexistent/btf"), NotFoundError);
  assert.throws(() => readBtfFile("/nonexistent/btf"), /nonexistent\/btf does not exist/);
});

// ---- round trips and byte orders ------------------------------------------

Deno.test("btf: parse(encode(types)) equals the types, every kind", () => {
  const types = allKinds();
  const spec = parseBtf(encodeBtf(types));
  assert.equal(spec.typeCount, types.length);
  assert.deepEqual([...spec], withIds(types));
  for (const k of BTF_KIND_NAMES.slice(1)) {
    assert.ok([...spec].some((t) => t.kind === k), `fixture covers ${k}`);
  }
  assert.deepEqual(spec.typeById(0), { kind: "void", id: 0, name: "" });
});

Deno.test("btf: both byte orders parse to the same types", () => {
  const types = allKinds();
  const le = encodeBtf(types, { littleEndian: true });
  const be = encodeBtf(types, { littleEndian: false });
  assert.deepEqual([...be.subarray(0, 2)], [0xeb, 0x9f]);
  assert.deepEqual([...le.subarray(0, 2)], [0x9f, 0xeb]);
  const a = parseBtf(le);
  const b = parseBtf(be);
  assert.equal(a.littleEndian, true);
  assert.equal(b.littleEndian, false);
  assert.deepEqual([...b], [...a]);
  assert.deepEqual(dumpRawBytes(b), dumpRawBytes(a));
  assert.deepEqual(reencodeSpec(b, { littleEndian: false }), be);
  assert.deepEqual(reencodeSpec(a, { littleEndian: true }), le);
  // An unaligned copy parses too (the type section is copied).
  const shifted = new Uint8Array(be.length + 1).subarray(1);
  shifted.set(le);
  assert.deepEqual([...parseBtf(shifted)], [...a]);
});

Deno.test("btf: builder assigns ids, dedups strings and survives bad input", () => {
  const b = new BtfBuilder();
  assert.equal(b.nextTypeId, 1);
  const int = b.add({
    kind: "int",
    name: "int",
    size: 4,
    encoding: "signed",
    bitOffset: 0,
    bits: 32,
  });
  assert.equal(int, 1);
  assert.equal(b.addString("int"), 1);
  assert.equal(b.addString(""), 0);
  assert.throws(
    () => b.add({ kind: "int", name: "x", size: 4, encoding: "signed", bitOffset: 0, bits: 300 }),
    InvalidArgumentError,
  );
  assert.equal(b.nextTypeId, 2);
  assert.equal(b.add({ kind: "ptr", name: "", type: int, id: 2 }), 2);
  const spec = parseBtf(b.encode());
  assert.equal(spec.typeCount, 2);
  assert.deepEqual(spec.typeById(2), { kind: "ptr", id: 2, name: "", type: 1 });
});

Deno.test("btf: encoder rejects invalid descriptions", () => {
  const bad: unknown[] = [
    { kind: "nope", name: "" },
    { kind: "int", name: "a\0b", size: 4, encoding: "none", bitOffset: 0, bits: 32 },
    { kind: "int", name: "i", size: 4, encoding: "weird", bitOffset: 0, bits: 32 },
    { kind: "int", name: "i", size: -1, encoding: "none", bitOffset: 0, bits: 32 },
    { kind: "ptr", name: "", type: 1.5 },
    { kind: "ptr", name: "", type: 2 ** 32 },
    { kind: "enum", name: "e", size: 4, signed: false, values: [{ name: "A", value: -1 }] },
    { kind: "enum", name: "e", size: 4, signed: true, values: [{ name: "A", value: 2 ** 31 }] },
    { kind: "enum64", name: "e", size: 8, signed: false, values: [{ name: "A", value: -1n }] },
    { kind: "enum64", name: "e", size: 8, signed: true, values: [{ name: "A", value: 2n ** 63n }] },
    { kind: "enum64", name: "e", size: 8, signed: true, values: [{ name: "A", value: 1 }] },
    {
      kind: "struct",
      name: "s",
      size: 4,
      members: [{ name: "b", type: 1, bitOffset: 0x1000000, bitfieldSize: 1 }],
    },
    {
      kind: "struct",
      name: "s",
      size: 4,
      members: [{ name: "b", type: 1, bitOffset: 0, bitfieldSize: 256 }],
    },
    {
      kind: "struct",
      name: "s",
      size: 4,
      members: Array.from({ length: 65536 }, () => ({
        name: "",
        type: 1,
        bitOffset: 0,
        bitfieldSize: 0,
      })),
    },
    { kind: "fwd", name: "f", fwdKind: "enum" },
    { kind: "func", name: "f", type: 1, linkage: "weak" },
    { kind: "var", name: "v", type: 1, linkage: "local" },
    { kind: "decl_tag", name: "t", type: 1, componentIdx: -2 },
    { kind: "int", name: "i", size: 4, encoding: "none", bitOffset: 0, bits: 32, id: 7 },
  ];
  for (const t of bad) {
    const b = new BtfBuilder();
    assert.throws(() => b.add(t as TypeDesc), InvalidArgumentError, json(t).slice(0, 80));
    assert.equal(b.typeCount, 0);
    assert.equal(parseBtf(b.encode()).typeCount, 0);
  }
});

// ---- lookups, ranking, resolve, sizes ---------------------------------------

Deno.test("btf: typeByName ranks complete types before forward declarations", () => {
  const int: TypeDesc = {
    kind: "int",
    name: "int",
    size: 4,
    encoding: "signed",
    bitOffset: 0,
    bits: 32,
  };
  const member = [{ name: "x", type: 1, bitOffset: 0, bitfieldSize: 0 }];
  const spec = parseBtf(encodeBtf([
    int, // 1
    { kind: "fwd", name: "foo", fwdKind: "struct" }, // 2
    { kind: "struct", name: "foo", size: 0, members: [] }, // 3
    { kind: "struct", name: "foo", size: 4, members: member }, // 4
    { kind: "struct", name: "foo", size: 4, members: member }, // 5
    { kind: "fwd", name: "bar", fwdKind: "union" }, // 6
    { kind: "union", name: "bar", size: 0, members: [] }, // 7
    { kind: "enum", name: "e", size: 4, signed: false, values: [] }, // 8
    { kind: "enum", name: "e", size: 4, signed: false, values: [{ name: "A", value: 1 }] }, // 9
    { kind: "typedef", name: "foo", type: 4 }, // 10
  ]));
  assert.deepEqual(spec.typesByName("foo").map((t) => t.id), [2, 3, 4, 5, 10]);
  assert.deepEqual(spec.typeIdsByName("foo", "struct"), [3, 4, 5]);
  assert.equal(spec.typeByName("foo")?.id, 4);
  assert.equal(spec.typeByName("foo", "struct")?.id, 4);
  assert.equal(spec.typeByName("foo", "fwd")?.id, 2);
  assert.equal(spec.typeByName("foo", "typedef")?.id, 10);
  assert.equal(spec.typeByName("foo", "union"), undefined);
  assert.equal(spec.typeByName("bar")?.id, 6, "only declarations: the first");
  assert.equal(spec.typeByName("bar", "union")?.id, 7);
  assert.equal(spec.typeByName("e")?.id, 9);
  assert.equal(spec.typeByName("nope"), undefined);
  assert.equal(spec.typeByName(""), undefined);
});

Deno.test("btf: name lookups agree before and after the hash index is built", () => {
  const types = allKinds();
  const spec = parseBtf(encodeBtf(types));
  const names = [...new Set(types.map((t) => t.name))].filter((n) => n !== "");
  const brute = (n: string) => withIds(types).filter((t) => t.name === n).map((t) => t.id);
  for (let round = 0; round < 3; round++) {
    for (const n of names) assert.deepEqual(spec.typeIdsByName(n), brute(n), n);
    assert.deepEqual(spec.typeIdsByName("nope"), []);
  }
  assert.deepEqual(spec.typeIdsByName("int", "int"), [1]);
  assert.deepEqual(spec.typeIdsByName("int", "struct"), []);
  assert.throws(() => spec.typeIdsByName("int", "bogus" as "int"), InvalidArgumentError);
});

Deno.test("btf: resolve, sizeOf, typeOf and their failures", () => {
  const spec = parseBtf(encodeBtf(allKinds()));
  assert.equal(spec.resolve(16).id, 1, "const volatile int");
  assert.equal(spec.resolve(14).id, 1, "typedef");
  assert.equal(spec.resolve(31).kind, "ptr");
  assert.equal(spec.resolve(0).kind, "void");
  assert.equal(spec.sizeOf(41), 120, "int[3][10]");
  assert.equal(spec.sizeOf(8), 16);
  assert.equal(spec.sizeOf(6), 8, "pointer");
  assert.equal(spec.sizeOf(23), 4, "var of typedef");
  assert.equal(spec.sizeOf(40), 8, "a dangling pointer still has a size");
  assert.equal(spec.sizeOf(37), 0x20000000);
  assert.throws(() => spec.sizeOf(19), InvalidArgumentError);
  assert.throws(() => spec.sizeOf(12), InvalidArgumentError);
  assert.throws(() => spec.sizeOf(0), InvalidArgumentError);
  assert.throws(() => spec.resolve(38), parseError(undefined, /too deep or cyclic/));
  assert.throws(() => spec.sizeOf(39), parseError(undefined, /too deep or cyclic/));
  assert.throws(() => spec.typeOf(spec.typeById(40) as { type: number }), ParseError);
  assert.throws(() => spec.typeById(42), NotFoundError);
  assert.throws(() => spec.typeById(-1), NotFoundError);
  assert.throws(() => spec.typeById(1.5), NotFoundError);
  assert.throws(() => spec.resolve(1000), NotFoundError);
  assert.throws(() => spec.kindOf(1000), NotFoundError);
  assert.equal(spec.kindOf(0), "void");
  assert.equal(spec.kindOf(32), "enum64");
  assert.equal(spec.stringAt(0), "");
  assert.equal(spec.stringAt(1), "int");
  assert.throws(() => spec.stringAt(spec.stringsLength), InvalidArgumentError);
  const s = spec.typeById(8) as StructType;
  assert.deepEqual(s.members.map((m) => spec.typeOf(m).id), [1, 1, 9]);
  // A size beyond 32 bits is an error, not a wrong number.
  const huge = parseBtf(encodeBtf([
    { kind: "int", name: "int", size: 4, encoding: "none", bitOffset: 0, bits: 32 },
    { kind: "array", name: "", type: 1, indexType: 1, nelems: 0x80000000 },
  ]));
  assert.throws(() => huge.sizeOf(2), parseError(undefined, /overflows/));
});

// ---- split BTF --------------------------------------------------------------

Deno.test("btf: split BTF continues ids and strings after its base", () => {
  const base = parseBtf(encodeBtf(allKinds()));
  const b = new BtfBuilder({ base });
  assert.equal(b.firstTypeId, 42);
  const child = b.add({
    kind: "struct",
    name: "child",
    size: 24,
    members: [
      { name: "parent", type: 8, bitOffset: 0, bitfieldSize: 0 },
      { name: "self", type: 43, bitOffset: 128, bitfieldSize: 0 },
    ],
  });
  b.add({ kind: "ptr", name: "", type: child });
  b.add({ kind: "typedef", name: "int", type: 14 }); // same name as a base type
  b.add({ kind: "fwd", name: "s", fwdKind: "struct" });
  const bytes = b.encode();
  const split = parseBtf(bytes, { base });
  assert.equal(split.base, base);
  assert.equal(split.firstTypeId, 42);
  assert.equal(split.typeCount, 4);
  assert.equal(split.lastTypeId, 45);
  assert.deepEqual([...split].map((t) => t.id), [42, 43, 44, 45]);
  assert.equal([...split.types({ includeBase: true })].length, 45);
  assert.equal(split.typeById(1), base.typeById(1));
  assert.equal(split.typeById(42).name, "child");
  assert.equal(split.stringAt(base.stringsLength), "child", "own strings follow the base's");
  assert.equal(split.stringAt(1), "int", "low offsets are the base's");
  assert.deepEqual(split.typesByName("int").map((t) => t.id), [1, 44]);
  assert.equal(split.typeByName("s")?.id, 8, "the base's definition beats the split's fwd");
  assert.equal(split.resolve(44).id, 1);
  assert.equal(split.sizeOf(43), 8);
  assert.equal(split.typeOf((split.typeById(42) as StructType).members[0]).name, "s");
  // Re-encoding a split spec gives split BTF on the same base.
  assert.deepEqual([...parseBtf(reencodeSpec(split), { base })], [...split]);
  // Split strings do not start with NUL: without the base this is not valid BTF.
  assert.throws(() => parseBtf(bytes), parseError(undefined, /start with NUL/));
  // Two levels of split.
  const b2 = new BtfBuilder({ base: split });
  b2.add({ kind: "ptr", name: "", type: 42 });
  b2.add({ kind: "typedef", name: "child_t", type: 42 });
  const split2 = parseBtf(b2.encode(), { base: split });
  assert.equal(split2.firstTypeId, 46);
  assert.equal(split2.resolve(47).name, "child");
  assert.equal(split2.typeByName("child")?.id, 42);
  assert.deepEqual(split2.typesByName("int").map((t) => t.id), [1, 44]);
});

Deno.test({
  name: "btf: split BTF on vmlinux" + NO_VMLINUX,
  ignore: !haveVmlinux,
  fn() {
    const base = vmlinux();
    const task = base.typeByName("task_struct", "struct")!;
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
    b.add({ kind: "ptr", name: "", type: task.id });
    const split = parseBtf(b.encode(), { base });
    assert.equal(split.firstTypeId, base.typeCount + 1);
    assert.equal(split.typeByName("task_struct")?.id, task.id);
    assert.equal(split.typeByName("task_struct", "fwd")?.id, base.typeCount + 1);
    assert.equal(split.sizeOf(st), 16);
    const s = split.typeById(st) as StructType;
    assert.equal(split.resolve(s.members[1].type).kind, "int");
  },
});

// ---- malformed input ----------------------------------------------------------

Deno.test("btf: header errors carry offsets", () => {
  const good = encodeBtf(allKinds());
  assert.throws(() => parseBtf(new Uint8Array(0)), parseError(0, /truncated header/));
  assert.throws(() => parseBtf(new Uint8Array([0x9f])), parseError(1, /truncated header/));
  assert.throws(() => parseBtf(good.subarray(0, 10)), parseError(10, /truncated header/));
  assert.throws(() => parseBtf(rawBlob({ magic: 0x1234 })), parseError(0, /bad magic/));
  assert.throws(() => parseBtf(rawBlob({ version: 2 })), parseError(2, /version/));
  assert.throws(() => parseBtf(rawBlob({ hdrLen: 8 })), parseError(4, /hdr_len/));
  assert.throws(() => parseBtf(rawBlob({ hdrLen: 1000 })), parseError(4, /hdr_len/));
  assert.throws(() => parseBtf(rawBlob({ typeLen: 0xfffffff0 })), parseError(12, /type section/));
  assert.throws(() => parseBtf(rawBlob({ typeOff: 0xfffffff0 })), parseError(12, /type section/));
  assert.throws(() => parseBtf(rawBlob({ strLen: 1000 })), parseError(20, /string section/));
  assert.throws(() => parseBtf(rawBlob({ strOff: 0xffffffff })), parseError(20, /string section/));
  assert.throws(() => parseBtf(rawBlob({ typeOff: 2 })), parseError(8, /aligned/));
  assert.throws(
    () => parseBtf(rawBlob({ words: [0, info(K.int), 4, 32], strOff: 4 })),
    parseError(16, /overlap/),
  );
  assert.throws(
    () => parseBtf(rawBlob({ words: [0, info(K.int), 4, 32], typeLen: 6 })),
    parseError(12, /multiple of 4/),
  );
  assert.throws(() => parseBtf(rawBlob({ strings: "" })), parseError(20, /empty string/));
  assert.throws(() => parseBtf(rawBlob({ strings: "a\0" })), parseError(24, /start with NUL/));
  assert.throws(() => parseBtf(rawBlob({ strings: "\0abc" })), parseError(27, /NUL-terminated/));
  // A header longer than 24 bytes is fine.
  const long = new Uint8Array(good.length + 8);
  long.set(good.subarray(0, 24));
  long.set(good.subarray(24), 32);
  new DataView(long.buffer).setUint32(4, 32, true);
  assert.equal(parseBtf(long).typeCount, allKinds().length);
});

Deno.test("btf: type section errors carry offsets", () => {
  assert.throws(
    () => parseBtf(rawBlob({ words: [0, info(K.int)] })),
    parseError(24, /truncated type record/),
  );
  assert.throws(
    () => parseBtf(rawBlob({ words: [0, info(K.int), 4] })),
    parseError(24, /overruns/),
  );
  assert.throws(
    () => parseBtf(rawBlob({ words: [0, info(20), 0] })),
    parseError(28, /unknown kind/),
  );
  assert.throws(
    () => parseBtf(rawBlob({ words: [0, info(0), 0] })),
    parseError(28, /unknown kind/),
  );
  assert.throws(
    () => parseBtf(rawBlob({ words: [0, info(31), 0] })),
    parseError(28, /unknown kind/),
  );
  // vlen overruns: struct claims 5 members, has 1; enum64 claims 65535 values.
  assert.throws(
    () => parseBtf(rawBlob({ words: [0, info(K.int), 4, 32, 0, info(K.struct, 5), 4, 0, 1, 0] })),
    parseError(40, /struct record with vlen 5 overruns/),
  );
  assert.throws(
    () => parseBtf(rawBlob({ words: [0, info(K.enum64, 0xffff), 8] })),
    parseError(24, /overruns/),
  );
  assert.throws(
    () => parseBtf(rawBlob({ words: [0, info(K.func_proto, 3), 0, 0, 1] })),
    parseError(24, /overruns/),
  );
});

Deno.test("btf: malformed records fail on decode with a ParseError", () => {
  const strs = "\0int\0";
  const cases: [number[], RegExp, number][] = [
    [[100, info(K.int), 4, 32], /string offset 100 out of range/, 24],
    [[1, info(K.int), 4, 0x03000020], /bad int encoding 3/, 36],
    [[1, info(K.func, 3), 0], /bad func linkage 3/, 28],
    [[1, info(K.var), 0, 7], /bad var linkage 7/, 36],
    [[1, info(K.decl_tag), 0, 0xfffffffe], /component_idx -2/, 36],
    [[1, info(K.struct, 1), 4, 99, 0, 0], /string offset 99/, 36],
    [[1, info(K.enum, 1), 4, 99, 0], /string offset 99/, 36],
  ];
  for (const [words, re, offset] of cases) {
    const spec = parseBtf(rawBlob({ words, strings: strs }));
    assert.equal(spec.typeCount, 1);
    assert.throws(() => spec.typeById(1), parseError(offset, re));
    assert.throws(() => [...spec], ParseError);
    dumpRawBytes(spec); // the raw dump never throws
  }
});

Deno.test("btf: dumpRaw lines match dumpRawBytes", () => {
  const spec = parseBtf(encodeBtf(allKinds()));
  const text = new TextDecoder().decode(dumpRawBytes(spec));
  const lines = [...dumpRaw(spec)];
  assert.equal(lines.join("\n") + "\n", text);
  assert.equal(lines[0], "[1] INT 'int' size=4 bits_offset=0 nr_bits=32 encoding=SIGNED");
  assert.ok(lines.includes("\t'b' type_id=1 bits_offset=32 bitfield_size=3"));
});
