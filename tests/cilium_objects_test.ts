// cilium/ebpf's loader test objects (Debian's golang-github-cilium-ebpf-dev:
// testdata/*.elf in both byte orders, built by several clang versions) read
// and loaded here with the expectations cilium's own Go tests state for
// them (elf_reader_test.go, map_test.go, prog_test.go, link/tracing_test.go).
// Where denobpf deliberately differs, the test says so.

import assert from "node:assert/strict";
import {
  type CollectionProgramSpec,
  type CollectionSpec,
  loadCollection,
  loadCollectionSpec,
} from "../src/collection/mod.ts";
import { NotFoundError } from "../src/errors.ts";
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
