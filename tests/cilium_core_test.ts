// cilium/ebpf's CO-RE test objects (btf/testdata/relocs*.elf, both byte
// orders, installed by tools/setup.ts from golang-github-cilium-ebpf-dev)
// with the expectations of the Go tests next to them:
//
// - TestCORERelocation (btf/core_test.go): every program of relocs-*.elf
//   relocated against the object's own BTF gives the value the compiler
//   assumed; err_ambiguous and err_ambiguous_flavour fail as ambiguous.
// - TestCORERelocationLoad (btf/core_reloc_test.go): the same, loaded with
//   the object's BTF as kernel types, each program returns 0 from a test
//   run (a non-zero return is the line of the failed assertion in
//   relocs.c); err_* programs fail to load.
// - TestCORERelocationRead: relocs_read-*.elf relocated against the BTF of
//   relocs_read_tgt-*.elf (members reordered, bitfields moved and resized)
//   loads and returns 0.
//
// Big-endian objects cannot be loaded on x86; they are parsed and relocated.

import assert from "node:assert/strict";
import {
  type CollectionSpec,
  copyCollectionSpec,
  CoreRelocationError,
  loadCollection,
  loadCollectionSpec,
  relocateProgram,
} from "@denobpf/ebpf/collection";
import { InvalidArgumentError } from "@denobpf/ebpf";

const DIR = "/usr/share/gocode/src/github.com/cilium/ebpf/btf/testdata";
const ORDERS = ["el", "eb"] as const;
const nativeOrder = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? "el" : "eb";
const ERR_PROGRAMS = ["err_ambiguous", "err_ambiguous_flavour"];

const relocs = (order: string) => loadCollectionSpec(`${DIR}/relocs-${order}.elf`);
const relocsRead = (order: string) => loadCollectionSpec(`${DIR}/relocs_read-${order}.elf`);
/** The BTF of relocs_read_tgt (an object with no programs, only types). */
const readTarget = (order: string) => {
  const types = loadCollectionSpec(`${DIR}/relocs_read_tgt-${order}.elf`).types;
  assert(types, `relocs_read_tgt-${order}.elf has BTF`);
  return types;
};

/** Loads only program `name` of `spec` and returns its test-run result on 14 zero bytes. */
async function runOne(spec: CollectionSpec, name: string, kernelTypes = spec.types) {
  const one = copyCollectionSpec(spec);
  for (const [n, p] of Object.entries(one.programs)) {
    p.autoload = n === name;
    // cilium reads "socket_filter/…" as a socket filter; libbpf (and so
    // denobpf) knows only "socket", and asks for the type to be set.
    if (p.sectionName.startsWith("socket_filter/")) p.type = "socket_filter";
  }
  await using coll = await loadCollection(one, { kernelTypes });
  return coll.programs[name].testRunSync({ data: new Uint8Array(14) }).retval;
}

/** The error relocating an err_* program must fail with: ambiguity, naming both candidates. */
function isAmbiguity(program: string) {
  return (e: unknown) => {
    assert(e instanceof CoreRelocationError, `${program}: ${e}`);
    assert.match(e.message, /relocation decision ambiguity/);
    assert.equal(e.kind, "target_type_id");
    // The local type and its access string.
    assert.match(e.access, /struct ambiguous(___flavour)? \(0\)/);
    // Both candidates, by id and name.
    assert.match(e.message, /\[\d+\] struct ambiguous\b[^_]/);
    assert.match(e.message, /\[\d+\] struct ambiguous___flavour/);
    assert.equal(e.candidates?.length, 2);
    return true;
  };
}

for (const order of ORDERS) {
  Deno.test(`cilium relocs-${order}.elf: every program relocates against its own BTF to the compiler's values`, () => {
    const spec = relocs(order);
    assert.deepEqual(Object.keys(spec.programs).sort(), [
      "enums",
      "err_ambiguous",
      "err_ambiguous_flavour",
      "fields",
      "type_ids",
      "types",
    ]);
    for (const name of Object.keys(spec.programs)) {
      if (ERR_PROGRAMS.includes(name)) continue;
      const r = relocateProgram(spec, name, { kernelTypes: spec.types });
      assert(r.core.length > 0, `${name} has CO-RE relocations`);
      for (const c of r.core) {
        assert.equal(c.poisoned, false, `${name}: ${c.kindLabel} ${c.local} poisoned`);
        assert.equal(c.newValue, c.oldValue, `${name}: ${c.kindLabel} ${c.local} → ${c.target}`);
      }
    }
  });

  Deno.test(`cilium relocs-${order}.elf: err_ambiguous and err_ambiguous_flavour are ambiguous`, () => {
    const spec = relocs(order);
    for (const name of ERR_PROGRAMS) {
      assert.throws(
        () => relocateProgram(spec, name, { kernelTypes: spec.types }),
        isAmbiguity(name),
      );
    }
  });

  Deno.test(`cilium relocs_read-${order}.elf: relocates against its own BTF to the compiler's values`, () => {
    // TestCORERelocation runs every object of btf/testdata against itself.
    const spec = relocsRead(order);
    const r = relocateProgram(spec, "reads", { kernelTypes: spec.types });
    assert(r.core.length > 0);
    for (const c of r.core) {
      assert.equal(c.poisoned, false, `${c.kindLabel} ${c.local} poisoned`);
      assert.equal(c.newValue, c.oldValue, `${c.kindLabel} ${c.local} → ${c.target}`);
    }
  });

  Deno.test(`cilium relocs-${order}.elf: a plain name finds only itself (TestAnyTypesByName, TestTypeByNameAmbiguous)`, () => {
    const types = relocs(order).types!;
    assert.deepEqual(types.typesByName("ambiguous").map((t) => t.name), ["ambiguous"]);
    assert.deepEqual(types.typesByName("ambiguous___flavour").map((t) => t.name), [
      "ambiguous___flavour",
    ]);
    assert.equal(types.typeByName("ambiguous", "struct")?.name, "ambiguous");
    assert.equal(types.typeByName("ambiguous___flavour", "struct")?.name, "ambiguous___flavour");
  });

  Deno.test(`cilium relocs_read-${order}.elf: relocates against relocs_read_tgt's BTF`, () => {
    const spec = relocsRead(order);
    assert.deepEqual(Object.keys(spec.programs), ["reads"]);
    const r = relocateProgram(spec, "reads", { kernelTypes: readTarget(order) });
    // The struct nonexist / enum nonexist_enum checks resolve to "absent",
    // nothing is poisoned, and the reordered members moved.
    assert(r.core.length > 0);
    assert.deepEqual(r.core.filter((c) => c.poisoned), []);
    const absent = r.core.filter((c) => /exists/.test(c.kindLabel) && c.newValue === 0n);
    assert.deepEqual(absent.map((c) => c.localTypeName).sort(), [
      "nonexist",
      "nonexist",
      "nonexist_enum",
    ]);
    const moved = r.core.filter((c) =>
      c.kindLabel === "byte_off" && c.localTypeName === "s" && c.newValue !== c.oldValue
    );
    assert.equal(moved.length, 2, "s.a and s.b swap places");
  });
}

Deno.test("cilium relocs_read: kernelTypes may name the ELF object itself, as cilium's btf.LoadSpec", () => {
  const spec = relocsRead("el");
  const tgt = `${DIR}/relocs_read_tgt-el.elf`;
  const viaSpec = relocateProgram(spec, "reads", { kernelTypes: readTarget("el") }).core;
  const viaPath = relocateProgram(spec, "reads", { kernelTypes: tgt }).core;
  const viaBytes = relocateProgram(spec, "reads", { kernelTypes: Deno.readFileSync(tgt) }).core;
  assert.deepEqual(viaPath.map((c) => c.newValue), viaSpec.map((c) => c.newValue));
  assert.deepEqual(viaBytes.map((c) => c.newValue), viaSpec.map((c) => c.newValue));
  // An ELF file without BTF is refused by name.
  assert.throws(
    () => relocateProgram(spec, "reads", { kernelTypes: "/usr/bin/true" }),
    (e) =>
      e instanceof InvalidArgumentError && e.message.includes("/usr/bin/true") &&
      /without a \.BTF section/.test(e.message),
  );
});

Deno.test("cilium relocs_read: both byte orders relocate alike but for the bitfield shifts", () => {
  const el = relocateProgram(relocsRead("el"), "reads", { kernelTypes: readTarget("el") }).core;
  const eb = relocateProgram(relocsRead("eb"), "reads", { kernelTypes: readTarget("eb") }).core;
  assert.equal(eb.length, el.length);
  for (let i = 0; i < el.length; i++) {
    assert.equal(eb[i].kindLabel, el[i].kindLabel);
    assert.equal(eb[i].local, el[i].local);
    if (el[i].kindLabel !== "lshift_u64") assert.equal(eb[i].newValue, el[i].newValue);
  }
  assert(el.some((c, i) => c.kindLabel === "lshift_u64" && eb[i].newValue !== c.newValue));
});

for (const order of ORDERS.filter((o) => o === nativeOrder)) {
  for (const name of Object.keys(relocs(order).programs)) {
    if (ERR_PROGRAMS.includes(name)) {
      Deno.test(`cilium relocs-${order}.elf: ${name} does not load`, async () => {
        const spec = relocs(order);
        await assert.rejects(() => runOne(spec, name), isAmbiguity(name));
      });
      continue;
    }
    Deno.test(`cilium relocs-${order}.elf: ${name} loads against its own BTF and returns 0`, async () => {
      const spec = relocs(order);
      assert.equal(await runOne(spec, name), 0, `assertion failed on line (retval) of relocs.c`);
    });
  }

  Deno.test(`cilium relocs_read-${order}.elf: reads loads against relocs_read_tgt and returns 0`, async () => {
    const spec = relocsRead(order);
    assert.equal(await runOne(spec, "reads", readTarget(order)), 0);
  });
}

// libbpf's narrowing, end to end (testdata/bpf/core_flavours.c; libbpf
// 1.x loading the same objects with btf_custom_path returns the same).
const flavours = (arch: string) =>
  new URL(`../testdata/bpf/core_flavours_${arch}.o`, import.meta.url);
const flavoursTarget = (arch: string) =>
  new URL(`../testdata/bpf/core_flavours_target_${arch}.o`, import.meta.url).pathname;

Deno.test("CO-RE: a relocation that matched one flavour narrows the type's later ones, as libbpf", async () => {
  const arch = nativeOrder === "el" ? "bpfel" : "bpfeb";
  await using coll = await loadCollection(flavours(arch), { kernelTypes: flavoursTarget(arch) });
  const run = (name: string) =>
    coll.programs[name].testRunSync({ data: new Uint8Array(64) }).retval;
  assert.equal(run("narrowed"), 16 * 4);
  assert.equal(run("after"), 4);
  // The other byte order relocates the same way.
  const other = arch === "bpfel" ? "bpfeb" : "bpfel";
  const spec = loadCollectionSpec(flavours(other));
  const r = relocateProgram(spec, "narrowed", { kernelTypes: flavoursTarget(other) });
  assert.deepEqual(r.core.map((c) => c.newValue), [1n, 4n]);
  assert.deepEqual(r.core.map((c) => c.target?.replace(/ \(.*/, "")), [
    "[6] struct s___v2.y",
    "[6] struct s___v2.x",
  ]);
});
