// Collections on objects this project did not write: cilium/ebpf's
// btf_map_init (a program array initialised in the object, kept filled for
// an assigned program after the collection closes), libbpf-tools' cpudist
// (maps whose max_entries the tool sets at run time), an unknown section
// kind, and variables looked up by a name the object lacks.

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  copyCollectionSpec,
  loadCollection,
  loadCollectionSpec,
  VariableSpec,
} from "../src/collection/mod.ts";
import type { Program } from "../src/program/program.ts";
import { createMap } from "../src/map/map.ts";
import { InvalidArgumentError, NotFoundError } from "../src/errors.ts";
import { embeddedObject } from "./_cli_helpers.ts";

const CILIUM = "/usr/share/gocode/src/github.com/cilium/ebpf/testdata";
const dir = new URL("../testdata/bpf/", import.meta.url);
const obj = (name: string, arch = "bpfel") => new URL(`${name}_${arch}.o`, dir);
const PACKET = { data: new Uint8Array(64) };
/** Names any object is probed for (by await, JSON, inspectors): they read as undefined. */
const PROBES = [
  "then",
  "toJSON",
  "inspect",
  "asymmetricMatch",
  "$$typeof",
  "nodeType",
  "@@__IMMUTABLE_ITERABLE__@@",
  "@@__IMMUTABLE_RECORD__@@",
];

/**
 * Waits until `prog`'s tail call misses (it then returns 0, not 42): the
 * kernel empties a program array in deferred work once its last
 * user-space descriptor closes.
 */
async function untilTailCallMisses(prog: Program): Promise<void> {
  // A generous deadline (a loaded machine defers the work): only a real hang fails.
  const deadline = Date.now() + 60_000;
  while (prog.testRunSync(PACKET).retval !== 0) {
    if (Date.now() > deadline) {
      throw new Error("the kernel never emptied the control program array (waited 60 s)");
    }
    await new Promise((r) => setTimeout(r, 5));
  }
}

Deno.test("assign: btf_map_init's tail call still lands after the collection closes", async () => {
  const path = `${CILIUM}/btf_map_init-el.elf`;
  // The control keeps its program by clone, not assign: once it closes, the
  // kernel empties its program array and the tail call misses.
  const control = await loadCollection(path);
  const controlMain = control.programs.tail_main.clone();
  const coll = await loadCollection(path);
  assert.equal(coll.programs.tail_main.testRunSync(PACKET).retval, 42);
  using objs = coll.assign({ programs: ["tail_main"] });
  assert.deepEqual(Object.keys(objs.keptMaps), ["prog_array_init"]);
  assert.deepEqual(Object.keys(objs.maps), []);
  // Closed first: its array would be emptied before the control's.
  coll.close();
  control.close();
  try {
    await untilTailCallMisses(controlMain);
  } finally {
    controlMain.close();
  }
  assert.equal(objs.programs.tail_main.testRunSync(PACKET).retval, 42);
  objs.close();
  assert(objs.keptMaps.prog_array_init.closed);
  assert(objs.programs.tail_main.closed);
});

Deno.test("assign: a program array asked for is handed over, not kept twice", async () => {
  const coll = await loadCollection(`${CILIUM}/btf_map_init-el.elf`);
  using objs = coll.assign({ programs: ["tail_main"], maps: ["prog_array_init"] });
  coll.close();
  assert.deepEqual(objs.keptMaps, {});
  assert.equal(objs.programs.tail_main.testRunSync(PACKET).retval, 42);
  // Programs that tail-call nowhere keep nothing.
  const other = await loadCollection(`${CILIUM}/btf_map_init-el.elf`);
  using tail = other.assign({ programs: ["tail_1"] });
  other.close();
  assert.deepEqual(tail.keptMaps, {});
  assert.equal(tail.programs.tail_1.testRunSync(PACKET).retval, 42);
});

Deno.test("cpudist (libbpf-tools): a max_entries left 0 names the map and the field to set", async () => {
  const spec = loadCollectionSpec(embeddedObject("/usr/sbin/cpudist"));
  assert.equal(spec.maps.start.maxEntries, 0);
  await assert.rejects(
    () => loadCollection(spec),
    (e: Error) => {
      assert(e instanceof InvalidArgumentError, String(e));
      assert.equal(
        e.message,
        `map "start" (hash): maxEntries is 0; set spec.maps.start.maxEntries before loading`,
      );
      return true;
    },
  );
  spec.maps.start.maxEntries = 10240;
  await assert.rejects(
    () => loadCollection(spec),
    (e: Error) => e instanceof InvalidArgumentError && /^map "hists" \(hash\)/.test(e.message),
  );
  // Doing what the messages say loads it (as the tool does, with one program).
  spec.maps.hists.maxEntries = 10240;
  spec.programs.sched_switch_tp.autoload = false;
  using coll = await loadCollection(spec);
  assert.deepEqual(Object.keys(coll.programs), ["sched_switch_btf"]);
  assert.equal(coll.maps.start.maxEntries, 10240);
});

Deno.test("a map spec the kernel cannot take names the map and says what to fix", async () => {
  const spec = loadCollectionSpec(obj("basic"));
  const [name, ms] = Object.entries(spec.maps).find(([, m]) => m.type === "hash")!;
  ms.keySize = 0;
  await assert.rejects(
    () => loadCollection(spec),
    (e: Error) =>
      e instanceof InvalidArgumentError &&
      e.message === `map "${name}" (hash): keySize is 0; set spec.maps.${name}.keySize ` +
          `before loading`,
  );
});

Deno.test("a map left out of the spec or replaced badly: the error names map, program and fix", async () => {
  const many = loadCollectionSpec(obj("many"));
  const user =
    Object.entries(many.programs).find(([, p]) =>
      p.references.some((r) => r.kind === "map" && r.map === "seen")
    )![0];
  delete many.maps.seen;
  await assert.rejects(
    () => loadCollection(many),
    (e: Error) =>
      e instanceof NotFoundError &&
      e.message.startsWith(`program "${user}" refers to map "seen", which is not in the spec`) &&
      e.message.includes(`delete spec.programs.${user}`),
  );
  const nested = loadCollectionSpec(`${CILIUM}/btf_map_init-el.elf`);
  delete nested.maps.inner_map;
  await assert.rejects(
    () => loadCollection(nested),
    (e: Error) =>
      e instanceof NotFoundError &&
      e.message.startsWith(`map "outer_map_init" holds map "inner_map" at key 1`) &&
      e.message.includes("spec.maps.outer_map_init.contents"),
  );
  using wrong = createMap({ type: "hash", keySize: 4, valueSize: 4, maxEntries: 1 });
  await assert.rejects(
    () => loadCollection(`${CILIUM}/btf_map_init-el.elf`, { replaceMaps: { inner_map: wrong } }),
    (e: Error) =>
      e instanceof InvalidArgumentError &&
      e.message.startsWith(`replacement for map inner_map (replaceMaps.inner_map)`) &&
      e.message.includes("type hash ≠ array"),
  );
});

Deno.test("an unknown section kind names the program and says it can be left out", async () => {
  const spec = loadCollectionSpec(obj("unknown_section"));
  assert.equal(spec.programs.odd_one.type, "unspec");
  await assert.rejects(
    () => loadCollection(spec),
    (e: Error) => {
      assert(e instanceof InvalidArgumentError, String(e));
      assert.match(e.message, /^program "odd_one" \(section "foo\/bar"\): unknown section type/);
      assert.match(e.message, /delete spec\.programs\.odd_one \(or set its autoload to false\)/);
      assert.match(e.message, /set spec\.programs\.odd_one\.type/);
      return true;
    },
  );
  // Left out, the other program loads; typed, it loads too.
  const without = copyCollectionSpec(spec);
  delete without.programs.odd_one;
  using a = await loadCollection(without);
  assert.equal(a.programs.plain.testRunSync(PACKET).retval, 7);
  const skipped = copyCollectionSpec(spec);
  skipped.programs.odd_one.autoload = false;
  using b = await loadCollection(skipped);
  assert.deepEqual(Object.keys(b.programs), ["plain"]);
  spec.programs.odd_one.type = "socket_filter";
  using c = await loadCollection(spec);
  assert.equal(c.programs.odd_one.testRunSync(PACKET).retval, 0);
});

Deno.test("spec.variables: an unknown name is a NotFoundError listing the variables", () => {
  const spec = loadCollectionSpec(obj("basic"));
  const names = Object.keys(spec.variables);
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => (spec.variables as any).nope.set(1),
    (e: Error) => {
      assert(e instanceof NotFoundError, String(e));
      assert.equal(e.what, "variable nope");
      assert.match(e.message, /spec\.variables has no variable "nope"/);
      for (const n of names) assert(e.message.includes(n), n);
      return true;
    },
  );
  // The record still looks like one.
  assert.equal("nope" in spec.variables, false);
  assert.equal("bss_total" in spec.variables, true);
  assert.deepEqual(Object.keys({ ...spec.variables }), names);
  assert.equal(typeof spec.variables.toString, "function");
  assert.equal(spec.variables[Symbol.iterator as unknown as string], undefined);
  assert.doesNotThrow(() => JSON.stringify(spec.variables));
  assert.match(Deno.inspect(spec.variables), /bss_total/);
  assert(spec.variables.bss_total instanceof VariableSpec);
  // A copy's variables are as strict.
  const copy = copyCollectionSpec(spec);
  assert.throws(() => copy.variables.nope, NotFoundError);
  copy.variables.bss_total.set(5n);
  assert.equal(copy.variables.bss_total.get(), 5n);
});

Deno.test("spec.variables: awaiting it does not throw (the `then` probe)", async () => {
  const spec = loadCollectionSpec(obj("basic"));
  const v = await Promise.resolve(spec.variables);
  assert.equal(v, spec.variables);
});

Deno.test("spec.variables: every name it lacks throws NotFoundError, every name it has reads", () => {
  const spec = loadCollectionSpec(obj("basic"));
  const names = new Set(Object.keys(spec.variables));
  fc.assert(
    fc.property(fc.string(), (name) => {
      if (names.has(name)) {
        assert(spec.variables[name] instanceof VariableSpec);
      } else if (!(name in Object.prototype) && !PROBES.includes(name)) {
        assert.throws(() => spec.variables[name], NotFoundError);
      }
    }),
  );
});

Deno.test("coll.variables: an unknown name is a NotFoundError listing the variables", async () => {
  using coll = await loadCollection(obj("basic"));
  assert.throws(
    // deno-lint-ignore no-explicit-any
    () => (coll.variables as any).nope.get(),
    (e: Error) =>
      e instanceof NotFoundError && /the collection has no variable "nope"/.test(e.message) &&
      e.message.includes("bss_total"),
  );
  assert.equal("nope" in coll.variables, false);
  coll.variables.bss_total.set(3n);
  assert.equal(coll.variables.bss_total.get(), 3n);
});
