// cilium/ebpf's loader test objects (Debian's golang-github-cilium-ebpf-dev:
// testdata/*.elf in both byte orders, built by several clang versions) read
// and loaded here with the expectations cilium's own Go tests state for
// them (elf_reader_test.go, map_test.go, prog_test.go, link/tracing_test.go).
// Where denobpf deliberately differs, the test says so.

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  Collection,
  type CollectionProgramSpec,
  type CollectionSpec,
  copyCollectionSpec,
  loadCollection,
  loadCollectionSpec,
} from "../src/collection/mod.ts";
import { NotFoundError, ParseError } from "../src/errors.ts";
import { parseElf } from "../src/elf/mod.ts";
import { ProgramRefusedError, VerifierError } from "../src/program/errors.ts";
import { mountBpffs } from "./_helpers.ts";

const CILIUM = "/usr/share/gocode/src/github.com/cilium/ebpf/";
const TESTDATA = `${CILIUM}testdata/`;
const HOST_ORDER = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? "el" : "eb";

/** The objects in cilium's testdata whose names match `re`, sorted (none: the test fails). */
function objects(re: RegExp): string[] {
  const names = [...Deno.readDirSync(TESTDATA)]
    .map((e) => e.name)
    .filter((n) => re.test(n))
    .sort();
  assert(names.length > 0, `no ${re} in ${TESTDATA} (install golang-github-cilium-ebpf-dev)`);
  return names.map((n) => TESTDATA + n);
}

const base = (path: string) => path.replace(/^.*\//, "");
const isNative = (path: string) => path.endsWith(`-${HOST_ORDER}.elf`);

/** The program of `spec` in section `section` (exactly one). */
function programIn(spec: CollectionSpec, section: string): CollectionProgramSpec {
  const found = Object.values(spec.programs).filter((p) => p.sectionName === section);
  assert.equal(found.length, 1, `one program in section ${section}`);
  return found[0];
}

const OP_LDDW = 0x18;
const OP_CALL = 0x85;

/** Writes `value` into the 64-bit immediate of the lddw at instruction `i`. */
function setImm64(insns: Uint8Array, i: number, value: number): void {
  const dv = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  dv.setInt32(i * 8 + 4, value, true);
  dv.setInt32(i * 8 + 12, 0, true);
}

/** Sets the variables `arg` and `arg2` as cilium's TestLoadCollectionSpec rewrites them. */
function setArgs(spec: CollectionSpec): void {
  spec.variables.arg.set(1);
  spec.variables.arg2.set(2);
}

/** Prepares loader-*.elf as cilium's TestLoadCollectionSpec does before loading it. */
function prepareLoader(spec: CollectionSpec): void {
  // cilium: have.Maps["array_of_hash_map"].InnerMap = have.Maps["hash_map"]
  spec.maps.array_of_hash_map.innerMap = { ...spec.maps.hash_map };
  // Sections "static" and "other" name no program type (cilium skips them).
  for (const p of Object.values(spec.programs)) {
    if (p.sectionName === "static" || p.sectionName === "other") p.autoload = false;
  }
}

Deno.test("unresolved symbols: loader-*.elf and fwd_decl-*.elf parse; the instruction keeps its reference; only that program fails at load, naming the symbol", async () => {
  for (const path of objects(/^loader-.*\.elf$/)) {
    const spec = loadCollectionSpec(path);
    // cilium's TestInlineASMConstant: the first instruction refers to MY_CONST.
    const asm = programIn(spec, "socket/2");
    assert.deepEqual(
      asm.references,
      [{ kind: "symbol", insn: 0, symbol: "MY_CONST" }],
      base(path),
    );
    assert.equal(asm.instructions[0], OP_LDDW, base(path));
  }
  for (const path of objects(/^fwd_decl-.*\.elf$/)) {
    const spec = loadCollectionSpec(path);
    assert.deepEqual(Object.keys(spec.programs), ["call_fwd"], base(path));
    const p = spec.programs.call_fwd;
    assert.deepEqual(p.references, [{ kind: "symbol", insn: 0, symbol: "fwd" }], base(path));
    assert.equal(p.instructions[0], OP_CALL, base(path));
    if (!isNative(path)) continue;
    await assert.rejects(
      () => loadCollection(spec),
      (e: unknown) =>
        e instanceof NotFoundError && e.what === "symbol fwd" &&
        /program call_fwd: instruction 0 calls fwd/.test(e.message),
    );
  }

  // btf_pin is pinned by name: on a private bpffs (cilium: testutils.TempBPFFS).
  await using fs = await mountBpffs("denobpf-cilium-");
  const pinPath = fs.path;
  const path = `${TESTDATA}loader-${HOST_ORDER}.elf`;
  const spec = loadCollectionSpec(path);
  prepareLoader(spec);
  setArgs(spec);
  // The program with the unresolved symbol fails, naming it and the program.
  await assert.rejects(
    () => loadCollection(spec, { pinPath }),
    (e: unknown) =>
      e instanceof NotFoundError && e.what === "symbol MY_CONST" &&
      /program asm_relocation: instruction 0 refers to MY_CONST/.test(e.message),
  );
  // Left out, the other programs load and run (cilium's TestLoadCollectionSpec: 7).
  spec.programs.asm_relocation.autoload = false;
  {
    using coll = await loadCollection(spec, { pinPath });
    assert.equal(coll.programs.asm_relocation, undefined);
    assert.equal(coll.programs.xdp_prog.testRunSync({ data: new Uint8Array(14) }).retval, 7);
  }
  // Resolved by the user (the value written, the reference dropped), it loads too.
  const asm = spec.programs.asm_relocation;
  asm.autoload = true;
  setImm64(asm.instructions, 0, 42);
  asm.references = asm.references.filter((r) => r.kind !== "symbol");
  using coll = await loadCollection(spec, { pinPath });
  assert.equal(coll.programs.asm_relocation.testRunSync({ data: new Uint8Array(64) }).retval, 42);
});

/** The fields of a map spec cilium's TestLoadCollectionSpec compares. */
interface MapExpectation {
  type: string;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  flags?: number;
  pinning?: "by_name";
  inner?: { type: string; keySize: number; valueSize: number; maxEntries: number };
}

// elf_reader_test.go TestLoadCollectionSpec. Maps named btf_* exist only in
// objects with BTF (clang >= 9). cilium clamps perf_event_array's
// max_entries (4096 in the object) to the possible CPUs; denobpf keeps the
// object's value, as libbpf does (the kernel takes it).
const LOADER_MAPS: Record<string, MapExpectation> = {
  hash_map: { type: "hash", keySize: 4, valueSize: 8, maxEntries: 1, flags: 1 /* NO_PREALLOC */ },
  hash_map2: { type: "hash", keySize: 4, valueSize: 8, maxEntries: 2, flags: 0 },
  array_of_hash_map: { type: "array_of_maps", keySize: 4, valueSize: 0, maxEntries: 2 },
  perf_event_array: { type: "perf_event_array", keySize: 0, valueSize: 0, maxEntries: 4096 },
  btf_pin: { type: "hash", keySize: 4, valueSize: 8, maxEntries: 1, pinning: "by_name" },
  btf_outer_map: {
    type: "array_of_maps",
    keySize: 4,
    valueSize: 4,
    maxEntries: 1,
    inner: { type: "hash", keySize: 4, valueSize: 4, maxEntries: 1 },
  },
  btf_outer_map_anon: {
    type: "array_of_maps",
    keySize: 4,
    valueSize: 4,
    maxEntries: 1,
    inner: { type: "hash", keySize: 4, valueSize: 4, maxEntries: 1 },
  },
};

const LOADER_PROGRAMS: Record<string, { type: string; sectionName: string }> = {
  xdp_prog: { type: "xdp", sectionName: "xdp" },
  no_relocation: { type: "socket_filter", sectionName: "socket" },
  asm_relocation: { type: "socket_filter", sectionName: "socket/2" },
  data_sections: { type: "socket_filter", sectionName: "socket/3" },
  global_fn3: { type: "unspec", sectionName: "other" },
  static_fn: { type: "unspec", sectionName: "static" },
  anon_const: { type: "socket_filter", sectionName: "socket/4" },
};

/** What `spec` has of the fields in LOADER_MAPS, for its maps other than global data. */
function mapsOf(spec: CollectionSpec): Record<string, MapExpectation> {
  const out: Record<string, MapExpectation> = {};
  for (const [name, m] of Object.entries(spec.maps)) {
    if (m.origin === "data") continue;
    const e: MapExpectation = {
      type: String(m.type),
      keySize: m.keySize,
      valueSize: m.valueSize,
      maxEntries: m.maxEntries,
    };
    if (LOADER_MAPS[name]?.flags !== undefined) e.flags = m.flags;
    if (m.pinning === "by_name") e.pinning = m.pinning;
    if (m.innerMap) {
      const i = m.innerMap;
      e.inner = {
        type: String(i.type),
        keySize: i.keySize,
        valueSize: i.valueSize,
        maxEntries: i.maxEntries,
      };
    }
    out[name] = e;
  }
  return out;
}

Deno.test("loader-*.elf (TestLoadCollectionSpec): maps and programs of every clang version and byte order; native ones load, xdp_prog returns 7", async () => {
  await using fs = await mountBpffs("denobpf-cilium-");
  for (const path of objects(/^loader-.*\.elf$/)) {
    const name = base(path);
    const spec = loadCollectionSpec(path);
    assert.equal(spec.byteOrder, path.endsWith("-eb.elf") ? "big" : "little", name);
    const want = Object.fromEntries(
      Object.entries(LOADER_MAPS).filter(([k]) =>
        spec.types !== undefined || !k.startsWith("btf_")
      ),
    );
    assert.deepEqual(mapsOf(spec), want, name);
    assert.deepEqual(
      Object.fromEntries(
        Object.entries(spec.programs).map((
          [k, p],
        ) => [k, { type: String(p.type), sectionName: p.sectionName }]),
      ),
      LOADER_PROGRAMS,
      name,
    );
    for (const p of Object.values(spec.programs)) assert.equal(p.license, "MIT", name);
    // The global data's variables: clang 9's BTF leaves the global ones (key3,
    // uneg, neg) out, so they come from the symbol table; compiler labels
    // (.Lconstinit.1, the anonymous constant of anon_const) are no variables.
    assert.deepEqual(
      Object.keys(spec.variables).sort(),
      spec.types
        ? ["arg", "arg2", "key1", "key2", "key3", "neg", "static_neg", "static_uneg", "uneg"]
        : [],
      name,
    );
    if (spec.types) {
      assert.deepEqual(spec.variables.uneg.bytes(), new Uint8Array([255, 255, 255, 255]), name);
      // cilium rewrites the constants arg and arg2; a bogus name is no variable.
      setArgs(spec);
      assert.equal(spec.variables.arg.get(), 1, name);
      assert.equal(Object.hasOwn(spec.variables, "totallyBogus"), false, name);
    }
    if (!isNative(path)) continue;
    prepareLoader(spec);
    // MY_CONST resolved as the Go test does (a constant in the instruction).
    const asm = spec.programs.asm_relocation;
    setImm64(asm.instructions, 0, -1);
    asm.references = asm.references.filter((r) => r.kind !== "symbol");
    using coll = await loadCollection(spec, { pinPath: fs.path, logLevel: 1 });
    const run = (p: string, size: number) =>
      coll.programs[p].testRunSync({ data: new Uint8Array(size) }).retval;
    assert.equal(run("xdp_prog", 14), 7, name);
    // TestDataSections: 0 unless a .rodata assertion failed (then its line).
    assert.equal(run("data_sections", 14), 0, name);
    assert.equal(run("no_relocation", 14), 0, name);
    assert.equal(run("anon_const", 14), 0, name);
    assert.equal(run("asm_relocation", 14), 0xffffffff, name);
    if (spec.types) assert.ok(Deno.statSync(`${fs.path}/btf_pin`), name);
  }
});

Deno.test("loader-*.elf copied (TestCollectionSpecLoadCopy): the original and its copy load independently", async () => {
  await using fs = await mountBpffs("denobpf-cilium-");
  const spec = loadCollectionSpec(`${TESTDATA}loader-${HOST_ORDER}.elf`);
  prepareLoader(spec);
  spec.programs.asm_relocation.autoload = false;
  const copy = copyCollectionSpec(spec);
  setArgs(spec); // the copy keeps arg = 0, arg2 = 0: xdp_prog returns -1 + 2 + 0 = 1
  using a = await loadCollection(spec, { pinPath: fs.path });
  using b = await loadCollection(copy, { pinPath: fs.path });
  assert.equal(a.programs.xdp_prog.testRunSync({ data: new Uint8Array(14) }).retval, 7);
  assert.equal(b.programs.xdp_prog.testRunSync({ data: new Uint8Array(14) }).retval, 1);
});

Deno.test("clang < 8 objects (loader-clang-7-*.elf): functions marked STT_NOTYPE are programs and subprograms by name", () => {
  for (const path of objects(/^loader-clang-7-.*\.elf$/)) {
    const spec = loadCollectionSpec(path);
    assert.equal(spec.types, undefined, "clang 7 emitted no BTF");
    assert.deepEqual(Object.keys(spec.programs).sort(), Object.keys(LOADER_PROGRAMS).sort());
    // xdp_prog calls static_fn and global_fn, which calls global_fn2 and global_fn3.
    assert.deepEqual(
      spec.programs.xdp_prog.functions.map((f) => f.name).sort(),
      ["global_fn", "global_fn2", "global_fn3", "static_fn", "xdp_prog"],
    );
    // No sizes in the symbols: a function ends where the next one starts.
    const fn = (n: string) => spec.programs.xdp_prog.functions.find((f) => f.name === n)!;
    assert.equal(fn("global_fn2").section, ".text");
    assert.equal(fn("global_fn2").length, 3, "global_fn2: up to global_fn");
    assert.equal(fn("global_fn").length, 12, "global_fn: up to the end of .text");
  }
});

Deno.test("bad map definitions (invalid_btf_map_init-*.elf, invalid_map-*.elf) are a ParseError naming the map", () => {
  // TestLoadInvalidInitializedBTFMap: a .maps entry that initialises .key.
  for (const path of objects(/^invalid_btf_map_init-.*\.elf$/)) {
    assert.throws(
      () => loadCollectionSpec(path),
      (e: unknown) =>
        e instanceof ParseError && /map hash_map: .*non-zero data .*\(field key\)/.test(e.message),
      base(path),
    );
  }
  // TestLoadInvalidMap: a legacy definition with a non-zero word after map_flags
  // (cilium refuses it when the map is created; denobpf when the object is read).
  for (const path of objects(/^invalid_map-.*\.elf$/)) {
    assert.throws(
      () => loadCollectionSpec(path),
      (e: unknown) =>
        e instanceof ParseError &&
        /legacy map invalid_map: its 24-byte definition has 1 at byte 20/.test(e.message),
      base(path),
    );
  }
});

const u32 = (...ns: number[]) => new Uint8Array(new Uint32Array(ns).buffer);

Deno.test("btf_map_init-*.elf (TestLoadInitializedBTFMap, TestTailCall): a program array and a map of maps with initial values; the tail call is taken", async () => {
  for (const path of objects(/^btf_map_init-.*\.elf$/)) {
    const spec = loadCollectionSpec(path);
    assert.deepEqual(spec.maps.prog_array_init.contents, [{ key: 1, value: "tail_1" }], base(path));
    assert.deepEqual(
      spec.maps.outer_map_init.contents,
      [{ key: 1, value: "inner_map" }],
      base(path),
    );
    if (!isNative(path)) continue;
    using coll = await loadCollection(spec);
    assert.equal(coll.programs.tail_main.testRunSync({ data: new Uint8Array(14) }).retval, 42);
    const inner = coll.maps.outer_map_init.lookupInnerMap(u32(1));
    assert.ok(inner, "slot 1 holds inner_map");
    assert.equal(inner.type, coll.maps.inner_map.type);
    inner.close();
    assert.equal(coll.maps.outer_map_init.lookupInnerMap(u32(0)), undefined, "slot 0 is empty");
  }
});

Deno.test("subprog_reloc-*.elf (TestSubprogRelocation): a static callback passed to bpf_for_each_map_elem; fp_relocation returns 42", async () => {
  for (const path of objects(/^subprog_reloc-.*\.elf$/)) {
    const spec = loadCollectionSpec(path);
    assert.deepEqual(
      spec.programs.fp_relocation.functions.map((f) => f.name),
      ["fp_relocation", "sub_prog"],
      base(path),
    );
    if (!isNative(path)) continue;
    using coll = await loadCollection(spec);
    assert.equal(coll.programs.fp_relocation.testRunSync({ data: new Uint8Array(14) }).retval, 42);
  }
});

Deno.test("raw_tracepoint-*.elf (TestLoadRawTracepoint) loads", async () => {
  for (const path of objects(/^raw_tracepoint-.*\.elf$/)) {
    const spec = loadCollectionSpec(path);
    const p = spec.programs.sched_process_exec;
    assert.equal(p.type, "raw_tracepoint", base(path));
    assert.equal(p.attachTo, "sched_process_exec", base(path));
    if (!isNative(path)) continue;
    using coll = await loadCollection(spec, { logLevel: 1 });
    assert.equal(coll.programs.sched_process_exec.info().name, "sched_process_e");
  }
});

Deno.test("iproute2_map_compat-*.elf (TestIPRoute2Compat): struct bpf_elf_map with PIN_GLOBAL_NS pins by name", async () => {
  await using fs = await mountBpffs("denobpf-cilium-");
  for (const path of objects(/^iproute2_map_compat-.*\.elf$/)) {
    const spec = loadCollectionSpec(path);
    const m = spec.maps.hash_map;
    assert.deepEqual(
      [m.type, m.keySize, m.valueSize, m.maxEntries, m.pinning],
      ["hash", 4, 8, 2, "by_name"],
      base(path),
    );
    if (!isNative(path)) continue;
    using coll = await loadCollection(spec, { pinPath: fs.path });
    assert.equal(coll.maps.hash_map.maxEntries, 2);
    assert.ok(Deno.statSync(`${fs.path}/hash_map`));
  }
});

Deno.test("map_spin_lock-*.elf (TestMapWithLock, TestBatchMapWithLock): values with a bpf_spin_lock, read and written under it", async () => {
  for (const path of objects(/^map_spin_lock-.*\.elf$/)) {
    const spec = loadCollectionSpec(path);
    const ms = spec.maps.spin_lock_map;
    assert.deepEqual([ms.type, ms.keySize, ms.valueSize, ms.maxEntries], ["hash", 4, 8, 2]);
    assert.ok(ms.btf?.valueTypeId, "the value's BTF (struct hash_elem) goes with the map");
    if (!isNative(path)) continue;
    using coll = await loadCollection(spec);
    const m = coll.maps.spin_lock_map;
    m.update(u32(1), u32(5, 0), "lock");
    assert.deepEqual(m.lookup(u32(1), { flags: "lock" }), u32(5, 0));
    assert.deepEqual(m.lookupAndDelete(u32(1), { flags: "lock" }), u32(5, 0));
    assert.equal(m.lookup(u32(1), { flags: "lock" }), undefined);
    // Batches (5.13+ with BPF_F_LOCK).
    assert.equal(m.updateBatch(u32(0, 1), u32(42, 0, 4242, 0), { flags: "lock" }), 2);
    const all = m.batchLookupAll({ flags: "lock" })
      .map(([k, v]) => [new Uint32Array(k.slice().buffer)[0], new Uint32Array(v.slice().buffer)[0]])
      .sort((a, b) => a[0] - b[0]);
    assert.deepEqual(all, [[0, 42], [1, 4242]]);
  }
});

Deno.test("strings-*.elf (TestStringSection): string literals in .rodata.str1.1 are global data, as libbpf reads them", async () => {
  // cilium 0.9.1 refuses this object (ErrNotSupported); libbpf and later cilium
  // versions read the string section as a read-only array map, and so does denobpf.
  for (const path of objects(/^strings-.*\.elf$/)) {
    const spec = loadCollectionSpec(path);
    const m = spec.maps[".rodata.str1.1"];
    assert.ok(m, base(path));
    const text = new TextDecoder().decode(m.contents![0].value as Uint8Array);
    assert.match(text, /This string is allocated in the string section\n\0This one too\n\0/);
    assert.deepEqual(
      spec.programs.filter.references.map((r) => r.kind === "map_value" && r.map),
      [".rodata.str1.1", ".rodata.str1.1"],
    );
    if (!isNative(path)) continue;
    // The object says MIT, and bpf_trace_printk is for GPL programs only.
    await assert.rejects(
      () => loadCollection(spec),
      (e: unknown) => e instanceof VerifierError && /GPL/.test(e.message),
    );
    spec.programs.filter.license = "GPL";
    using coll = await loadCollection(spec);
    assert.equal(coll.programs.filter.info().name, "filter");
  }
});

Deno.test("invalid_map_static-*.elf (TestLoadInvalidMapMissingSymbol): the static map has a symbol in these objects and is not taken for another", async () => {
  // cilium 0.9.1 refuses references to a static (local) map; the objects as built
  // here carry a local symbol for it, which libbpf and denobpf read.
  for (const path of objects(/^invalid_map_static-.*\.elf$/)) {
    const spec = loadCollectionSpec(path);
    assert.deepEqual(Object.keys(spec.maps).sort(), ["dummy", "hash_map"], base(path));
    assert.deepEqual(
      spec.programs.xdp_prog.references.map((r) => r.kind === "map" && r.map),
      ["hash_map"],
      base(path),
    );
    if (!isNative(path)) continue;
    using coll = await loadCollection(spec);
    assert.equal(coll.programs.xdp_prog.testRunSync({ data: new Uint8Array(14) }).retval, 0);
  }
});

Deno.test("freplace-*.elf (link TestFreplace): the target loads; the replacement finds subprog in its BTF and is then refused by this kernel's policy or loads", async () => {
  for (const path of objects(/^freplace-.*\.elf$/)) {
    const spec = loadCollectionSpec(path);
    const r = spec.programs.replacement;
    assert.deepEqual([r.type, r.btfAttach, r.attachTo], ["ext", "ext", "subprog"], base(path));
    assert.deepEqual(
      spec.programs.sched_process_exec.functions.map((f) => f.name),
      ["sched_process_exec", "subprog"],
    );
    if (!isNative(path)) continue;
    r.autoload = false;
    using target = await loadCollection(spec);
    const ext = loadCollectionSpec(path);
    ext.programs.sched_process_exec.autoload = false;
    ext.programs.replacement.attachProgFd = target.programs.sched_process_exec;
    const out: unknown = await loadCollection(ext).then((c) => c, (e: unknown) => e);
    if (out instanceof ProgramRefusedError) assert.match(out.message, /ext program/);
    else {
      assert.ok(out instanceof Collection, String(out));
      out.close();
    }
  }
});

/** The file offset of section `name`'s contents in the ELF file `bytes`. */
function sectionOffset(bytes: Uint8Array, name: string): number {
  const sec = parseElf(bytes).sectionHeader(name);
  assert.ok(sec, `no section ${name}`);
  return sec.offset;
}

Deno.test("map definitions (property): any non-zero byte in a .maps definition, or in a legacy word after map_flags that is not read, is a ParseError naming the map; zeros parse", () => {
  const le = (b: Uint8Array) => parseElf(b).littleEndian;
  // invalid_btf_map_init: hash_map's 32-byte definition (type, key, value, max_entries).
  const btfObjects = objects(/^invalid_btf_map_init-.*\.elf$/).map((p) => Deno.readFileSync(p));
  const fields = ["type", "key", "value", "max_entries"];
  fc.assert(
    fc.property(
      fc.nat(btfObjects.length - 1),
      fc.nat(31),
      fc.integer({ min: 0, max: 255 }),
      (which, at, value) => {
        const bytes = btfObjects[which].slice();
        const off = sectionOffset(bytes, ".maps");
        bytes.fill(0, off, off + 32);
        bytes[off + at] = value;
        if (value === 0) {
          assert.equal(loadCollectionSpec(bytes).maps.hash_map.maxEntries, 1);
          return;
        }
        assert.throws(
          () => loadCollectionSpec(bytes),
          (e: unknown) =>
            e instanceof ParseError &&
            e.message.includes(
              `map hash_map: its .maps definition has non-zero data at byte ${at} `,
            ) &&
            e.message.includes(`(field ${fields[at >> 3]})`),
        );
      },
    ),
    { numRuns: 200 },
  );
  // invalid_map: a 24-byte legacy definition; word 5 is inner_map_idx (maps of maps only).
  const legacy = objects(/^invalid_map-.*\.elf$/).map((p) => Deno.readFileSync(p));
  fc.assert(
    fc.property(
      fc.nat(legacy.length - 1),
      fc.constantFrom(1, 2, 12, 13), // hash, array, array_of_maps, hash_of_maps
      fc.oneof(fc.constant(0), fc.integer({ min: 1, max: 0xffffffff })),
      (which, type, word) => {
        const bytes = legacy[which].slice();
        const off = sectionOffset(bytes, "maps");
        const dv = new DataView(bytes.buffer);
        dv.setUint32(off, type, le(bytes));
        dv.setUint32(off + 20, word, le(bytes));
        const mapInMap = type === 12 || type === 13;
        if (mapInMap) {
          // The only map of the section: inner_map_idx names itself (0) or no map.
          assert.throws(
            () => loadCollectionSpec(bytes),
            (e: unknown) =>
              e instanceof ParseError && /legacy map invalid_map: inner_map_idx/.test(e.message),
          );
        } else if (word === 0) {
          assert.equal(loadCollectionSpec(bytes).maps.invalid_map.innerMap, undefined);
        } else {
          assert.throws(
            () => loadCollectionSpec(bytes),
            (e: unknown) =>
              e instanceof ParseError &&
              e.message.includes(
                `legacy map invalid_map: its 24-byte definition has ${word} at byte 20`,
              ),
          );
        }
      },
    ),
    { numRuns: 200 },
  );
});
