// loadCollection on this kernel: maps of every style created and filled,
// global data and variables before and after load, subprograms, tail calls,
// map-in-map, pinning by name on a private bpffs, map replacement, assign,
// closing everything, and the errors a load can end with.

import assert from "node:assert/strict";
import {
  Collection,
  copyCollectionSpec,
  CoreRelocationError,
  loadCollection,
  loadCollectionSpec,
} from "../src/collection/mod.ts";
import { createMap, loadPinnedMap } from "../src/map/mod.ts";
import { ProgramRefusedError, VerifierError } from "../src/program/errors.ts";
import { loadProgram } from "../src/program/load.ts";
import { loadedBtfInfo, loadedBtfSpec } from "../src/btf/loaded.ts";
import { objFromId } from "../src/sys/obj.ts";
import { openFdCount } from "../src/sys/fd.ts";
import { parseBtf } from "../src/btf/spec.ts";
import { InvalidArgumentError, NotFoundError } from "../src/errors.ts";
import { haveFeature, haveProgramType } from "../src/features/mod.ts";
import { mountBpffs } from "./_helpers.ts";

const dir = new URL("../testdata/bpf/", import.meta.url);
const obj = (name: string, arch = "bpfel") => new URL(`${name}_${arch}.o`, dir);
const packet = new Uint8Array(64);

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);
const readU32 = (b: Uint8Array | undefined) =>
  b && new DataView(b.buffer, b.byteOffset).getUint32(0, true);
const readU64 = (b: Uint8Array | undefined, off = 0) =>
  b && new DataView(b.buffer, b.byteOffset).getBigUint64(off, true);

Deno.test("basic.o loads; programs run with maps, global data and subprograms", async () => {
  await using fs = await mountBpffs("denobpf-coll-bpffs-");
  using coll = await loadCollection(obj("basic"), { pinPath: fs.path });
  assert(coll instanceof Collection);
  assert.deepEqual(Object.keys(coll.programs).sort(), [
    "raw_events",
    "sock_count",
    "sock_tail",
    "tail_target",
    "tc_mark",
    "xdp_sum",
  ]);
  assert.equal(Object.keys(coll.maps).length, 22);
  assert.equal(coll.maps.counts.typeName, "hash");
  assert.equal(coll.maps[".rodata"].valueSize, 16);
  assert.deepEqual(coll.warnings, []);
  assert(coll.btfFd && !coll.btfFd.closed);

  // sock_count: skb->len is 50 (64 bytes less the Ethernet header) > rodata_limit 42
  // → add_twice(50, data_counter 7) = 64.
  const r = coll.programs.sock_count.testRunSync({ data: packet });
  assert.equal(r.retval, 64);
  assert.equal(readU64(coll.maps.counts.lookup(u32(0))), 1n);
  assert.equal(coll.variables.bss_total.get(), 50n);
  assert.equal(coll.variables.static_counter.get(), 1);

  // A tail call through the program array the object initialised.
  assert.equal(coll.programs.sock_tail.testRunSync({ data: packet }).retval, 99);

  // xdp_sum: an mmapable array, a per-CPU array, bpf_loop with a callback,
  // a map-in-map lookup, and .rodata/.rodata.custom reads.
  assert.equal(coll.programs.xdp_sum.testRunSync({ data: packet }).retval, 2);
  const pair = coll.maps.pairs.lookup(u32(0))!;
  assert.deepEqual([readU64(pair, 0), readU64(pair, 8)], [1n, 64n]);
  const percpu = coll.maps.percpu.lookupPerCpu(u32(0))!;
  assert.equal(percpu.map((v) => readU64(v)!).reduce((a, b) => a + b, 0n), 10n); // 0+1+2+3+4
  assert.equal(readU32(coll.maps.inner_a.lookup(u32(0))), 1);
  const bssPair = coll.variables.bss_pair.get() as Uint8Array;
  assert.equal(readU64(bssPair, 0), BigInt("h".charCodeAt(0)));
  assert.equal(readU64(bssPair, 8), 0x1122334455667788n);

  // tc_mark pushes into the queue and bloom filter.
  assert.equal(coll.programs.tc_mark.testRunSync({ data: packet }).retval, 0);
  assert.equal(readU32(coll.maps.queue.peek()), 64);
  assert(coll.maps.bloom.contains(u32(64)));

  // raw_events writes the ring buffer and bumps .data through the mmap.
  coll.programs.raw_events.testRunSync({ context: new Uint8Array(16) });
  assert.equal(coll.variables.data_counter.get(), 8);

  // The pinned map is where it should be.
  using pinned = loadPinnedMap(`${fs.path}/denobpf_pinned`);
  assert.equal(pinned.info().id, coll.maps.denobpf_pinned.info().id);
});

Deno.test("variables: set before load (constants reach the verifier), read and write after", async () => {
  await using fs = await mountBpffs("denobpf-coll-bpffs-");
  const spec = loadCollectionSpec(obj("basic"));
  spec.variables.rodata_limit.set(100);
  spec.variables.data_counter.set(1000);
  using coll = await loadCollection(spec, { pinPath: fs.path });
  // 50 ≤ 100 now: the program returns len.
  assert.equal(coll.programs.sock_count.testRunSync({ data: packet }).retval, 50);
  assert.equal(coll.variables.rodata_limit.get(), 100);
  assert.equal(coll.variables.rodata_limit.readOnly, true);
  assert.throws(() => coll.variables.rodata_limit.set(5), InvalidArgumentError);
  assert.equal(coll.variables.data_counter.get(), 1000);
  // Write through the mapping; the program sees it.
  coll.variables.rodata_limit; // (frozen: read-only mapping)
  coll.variables.data_counter.set(3);
  coll.variables.custom_data.set(0);
  assert.equal(coll.variables.greeting.get(), "hello");
  spec.variables.rodata_limit.set(1);
  assert.equal(coll.variables.rodata_limit.get(), 100, "the loaded copy does not follow the spec");
  // The .rodata map is frozen: no updates from user space.
  assert.throws(() => coll.maps[".rodata"].update(u32(0), new Uint8Array(16)));
});

Deno.test("pinning by name reuses a compatible pinned map and rejects an incompatible one", async () => {
  await using fs = await mountBpffs("denobpf-coll-bpffs-");
  {
    using a = await loadCollection(obj("basic"), { pinPath: fs.path });
    a.maps.denobpf_pinned.update(u32(1), u32(11));
    using b = await loadCollection(obj("basic"), { pinPath: fs.path });
    assert.equal(b.maps.denobpf_pinned.info().id, a.maps.denobpf_pinned.info().id);
    assert.equal(readU32(b.maps.denobpf_pinned.lookup(u32(1))), 11);
    assert.notEqual(b.maps.counts.info().id, a.maps.counts.info().id);
  }
  // Still pinned after both collections closed.
  using survivor = loadPinnedMap(`${fs.path}/denobpf_pinned`);
  assert.equal(readU32(survivor.lookup(u32(1))), 11);
  survivor.unpin();
  // A pinned map of another shape under the same name is an error.
  using other = createMap({
    type: "hash",
    keySize: 4,
    valueSize: 8,
    maxEntries: 4,
    name: "denobpf_pinned",
  });
  other.pin(`${fs.path}/denobpf_pinned`);
  await assert.rejects(
    () => loadCollection(obj("basic"), { pinPath: fs.path }),
    (e: Error) => /does not match/.test(e.message),
  );
  other.unpin();
  // A failed load removes the pins it made.
  const spec = loadCollectionSpec(obj("basic"));
  spec.programs.sock_count.instructions = new Uint8Array(8); // not a valid program
  await assert.rejects(() => loadCollection(spec, { pinPath: fs.path }));
  assert.throws(() => Deno.statSync(`${fs.path}/denobpf_pinned`), Deno.errors.NotFound);
});

Deno.test("replaceMaps: the program uses the given map, which the collection does not close", async () => {
  await using fs = await mountBpffs("denobpf-coll-bpffs-");
  using mine = createMap({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 128, name: "mine" });
  {
    using coll = await loadCollection(obj("basic"), {
      pinPath: fs.path,
      replaceMaps: { counts: mine },
    });
    assert.equal(coll.maps.counts, mine);
    coll.programs.sock_count.testRunSync({ data: packet });
  }
  assert.equal(mine.closed, false);
  assert.equal(readU64(mine.lookup(u32(0))), 1n);
  using wrong = createMap({ type: "array", keySize: 4, valueSize: 8, maxEntries: 128 });
  await assert.rejects(
    () => loadCollection(obj("basic"), { pinPath: fs.path, replaceMaps: { counts: wrong } }),
    (e: Error) => e instanceof InvalidArgumentError && /replacement for map counts/.test(e.message),
  );
});

Deno.test("assign hands programs and maps over; close releases every descriptor", async () => {
  await using fs = await mountBpffs("denobpf-coll-bpffs-");
  const before = openFdCount();
  const coll = await loadCollection(obj("basic"), { pinPath: fs.path });
  assert(openFdCount() > before + 20);
  const objs = coll.assign({ programs: ["sock_count"], maps: ["counts"] });
  assert.equal(coll.programs.sock_count, undefined);
  assert.throws(() => coll.assign({ programs: ["nope"] }), NotFoundError);
  coll.close();
  coll.close();
  assert.equal(coll.closed, true);
  // Still usable: the program keeps its maps alive in the kernel.
  assert.equal(objs.programs.sock_count.testRunSync({ data: packet }).retval, 64);
  assert.equal(readU64(objs.maps.counts.lookup(u32(0))), 1n);
  objs.close();
  assert.equal(openFdCount(), before);
  // `using` closes too.
  {
    using c2 = await loadCollection(obj("many"));
    assert.equal(Object.keys(c2.programs).length, 24);
  }
  assert.equal(openFdCount(), before);
});

Deno.test("autoload false leaves a program out; legacy maps load", async () => {
  const spec = loadCollectionSpec(obj("core"));
  spec.programs.core_btf.autoload = false;
  using coll = await loadCollection(spec);
  assert.deepEqual(Object.keys(coll.programs).sort(), ["core_skb", "core_task"]);
  using legacy = await loadCollection(obj("legacy"));
  assert.equal(legacy.maps.legacy_hash.typeName, "hash");
  legacy.maps.legacy_array.update(u32(0), u32(5));
  assert.equal(legacy.programs.legacy_prog.testRunSync({ data: packet }).retval, 5);
  assert.equal(readU64(legacy.maps.legacy_hash.lookup(u32(0))), 1n);
});

Deno.test("verifier logs show source lines from the object's line info", async () => {
  using coll = await loadCollection(obj("core"), { logLevel: 2 });
  const log = coll.programs.core_task.verifierLog!;
  assert.match(log, /; results\.pid = BPF_CORE_READ\(task, pid\);/);
  assert.match(log, /processed \d+ insns/);
});

Deno.test("an unguarded access to a missing field fails with the CO-RE relocation named", async () => {
  const err = await loadCollection(obj("core_missing")).then(() => assert.fail("loaded"), (e) => e);
  assert(err instanceof CoreRelocationError, String(err));
  assert.equal(err.program, "core_missing");
  assert.equal(err.kind, "byte_off");
  assert.match(err.access, /struct task_struct___missing\.denobpf_no_such_field/);
  assert.match(
    err.reason,
    /not found in any of the 1 candidate type.*verifier reached the poisoned/,
  );
  assert(err.cause instanceof VerifierError);
  assert.match((err.cause as VerifierError).log, /invalid func unknown#195896080/);
});

Deno.test("load errors: foreign byte order, unknown section kind, a missing map", async () => {
  await assert.rejects(
    () => loadCollection(obj("basic", "bpfeb")),
    (e: Error) => e instanceof InvalidArgumentError && /big-endian.*-target bpfel/.test(e.message),
  );
  const spec = loadCollectionSpec(obj("many"));
  spec.programs.m_perf.type = "unspec";
  await assert.rejects(
    () => loadCollection(spec),
    (e: Error) =>
      e instanceof InvalidArgumentError && /names no known program type/.test(e.message),
  );
  const spec2 = loadCollectionSpec(obj("many"));
  delete spec2.maps.seen;
  await assert.rejects(() => loadCollection(spec2), NotFoundError);
  // The program's own verifier error passes through.
  const spec3 = loadCollectionSpec(obj("sections"));
  spec3.programs.s_socket.instructions = spec3.programs.s_socket.instructions.slice(0, 8);
  await assert.rejects(
    () => loadCollection(spec3),
    (e: Error) => e instanceof VerifierError && e.programName === "s_socket",
  );
  // References past the end of edited instructions are caught before the kernel.
  const spec4 = loadCollectionSpec(obj("legacy"));
  spec4.programs.legacy_prog.instructions = spec4.programs.legacy_prog.instructions.slice(0, 16);
  await assert.rejects(
    () => loadCollection(spec4),
    (e: Error) => e instanceof InvalidArgumentError && /past the end/.test(e.message),
  );
});

Deno.test("noBtf loads without BTF; sections.o loads every kind this kernel knows", async () => {
  using a = await loadCollection(obj("sections"), { noBtf: true });
  assert.equal(Object.keys(a.programs).length, 52);
  assert.equal(a.btfFd, undefined);
});

// sections_new.o: uprobe.multi (6.6), tcx/ingress and tcx/egress (6.6), netfilter (6.4).
const SECTIONS_NEW_MISSING = [
  haveFeature("uprobe_multi_link") ? "" : "uprobe_multi links",
  haveFeature("tcx_link") ? "" : "tcx links",
  haveProgramType("netfilter") ? "" : "program type netfilter",
].filter(Boolean);
Deno.test({
  name: `sections_new.o (uprobe.multi, tcx, netfilter sections) loads${
    SECTIONS_NEW_MISSING.length
      ? ` (skipped: ${SECTIONS_NEW_MISSING.join(", ")} not supported by this kernel)`
      : ""
  }`,
  ignore: SECTIONS_NEW_MISSING.length > 0,
  async fn() {
    using b = await loadCollection(obj("sections_new"));
    assert.deepEqual(
      Object.values(b.programs).map((p) => p.typeName).sort(),
      ["kprobe", "netfilter", "sched_cls", "sched_cls"],
    );
  },
});

Deno.test("copyCollectionSpec: independent copies load with their own settings", async () => {
  await using fs = await mountBpffs("denobpf-coll-bpffs-");
  const base = loadCollectionSpec(obj("basic"));
  const copy = copyCollectionSpec(base);
  copy.variables.rodata_limit.set(100);
  copy.programs.sock_count.instructions[0] ^= 0; // same code
  assert.equal(base.variables.rodata_limit.get(), 42);
  assert.equal(copy.variables.rodata_limit.get(), 100);
  assert.notEqual(copy.maps[".rodata"].contents![0].value, base.maps[".rodata"].contents![0].value);
  assert.equal(copy.types, base.types);
  using a = await loadCollection(base, { pinPath: fs.path });
  using b = await loadCollection(copy, { pinPath: fs.path });
  assert.equal(a.programs.sock_count.testRunSync({ data: packet }).retval, 64);
  assert.equal(b.programs.sock_count.testRunSync({ data: packet }).retval, 50);
});

Deno.test("struct_ops: programs load against the kernel struct; the map value is in its layout", async () => {
  const spec = loadCollectionSpec(obj("struct_ops"));
  const ms = spec.maps.dummy;
  assert.equal(ms.type, "struct_ops");
  assert.equal(ms.origin, "struct_ops");
  assert.deepEqual(ms.structOps?.programs, { test_1: "dummy_test_1", test_2: "dummy_test_2" });
  assert.equal(ms.structOps?.typeName, "bpf_dummy_ops");
  using coll = await loadCollection(spec);
  const vmlinux = coll.maps.dummy.info();
  assert.equal(vmlinux.typeName, "struct_ops");
  assert(vmlinux.btfVmlinuxValueTypeId > 0);
  // A test run of the test_1 member (bpf_dummy_ops supports BPF_PROG_TEST_RUN): no state → 7.
  assert.equal(coll.programs.dummy_test_1.testRunSync({ context: new Uint8Array(8) }).retval, 7);
  // The value: `struct bpf_struct_ops_bpf_dummy_ops { common; struct bpf_dummy_ops data; }`
  // with the programs' descriptors in test_1 and test_2.
  const value = coll.structOpsValue("dummy");
  assert.equal(value.length, coll.maps.dummy.valueSize);
  const vmlinuxBtf = parseBtf(Deno.readFileSync("/sys/kernel/btf/vmlinux"));
  const wrapper = vmlinuxBtf.typeByName("bpf_struct_ops_bpf_dummy_ops", "struct");
  assert(wrapper?.kind === "struct");
  assert.equal(wrapper.size, value.length);
  const dataOff = wrapper.members.find((m) => m.name === "data")!.bitOffset / 8;
  const dv = new DataView(value.buffer);
  const fds = [0, 8].map((o) => Number(dv.getBigUint64(dataOff + o, true)));
  assert.deepEqual(fds, [coll.programs.dummy_test_1.fd.value, coll.programs.dummy_test_2.fd.value]);
  assert(value.subarray(0, dataOff).every((b) => b === 0));
  assert.throws(() => coll.structOpsValue("nope"), NotFoundError);
});

Deno.test("legacy maps section: a map of maps made from inner_map_idx holds maps of that shape", async () => {
  using coll = await loadCollection(obj("legacy_in_map"));
  const { inner_tpl, inner_hash_tpl, outer_arr, outer_hash } = coll.maps;
  const run = () => coll.programs.legacy_in_map.testRunSync({ data: packet }).retval;
  assert.equal(run(), 0xff, "empty outer map");
  inner_tpl.update(u32(0), u32(41));
  outer_arr.update(u32(0), u32(inner_tpl.fd));
  assert.equal(run(), 41);
  outer_hash.update(u32(0), u32(inner_hash_tpl.fd));
  assert.equal(run(), 42);
  using inner = outer_arr.lookupInnerMap(u32(0))!;
  assert.equal(inner.info().id, inner_tpl.info().id);
  // The kernel checks each inner map against the template's shape.
  assert.throws(() => outer_arr.update(u32(1), u32(inner_hash_tpl.fd)));
  assert.throws(() => outer_hash.update(u32(1), u32(inner_tpl.fd)));
});

Deno.test("parallel loads: any parallelism gives the same programs in spec order; a failure releases all", async () => {
  const spec = loadCollectionSpec(obj("many"));
  const names = Object.keys(spec.programs);
  const before = openFdCount();
  for (const parallel of [1, 3, 24]) {
    using coll = await loadCollection(spec, { parallel });
    assert.deepEqual(Object.keys(coll.programs), names);
    for (const n of names) assert.equal(coll.programs[n].name, n.slice(0, 15));
  }
  assert.equal(openFdCount(), before);
  await assert.rejects(loadCollection(spec, { parallel: 0 }), InvalidArgumentError);
  // Two programs the verifier rejects (`exit` with r0 unset), among loads
  // in flight: the error is the first one's, and nothing is left open.
  const bad = copyCollectionSpec(spec);
  const exitOnly = new Uint8Array([0x95, 0, 0, 0, 0, 0, 0, 0]);
  for (const n of [names[5], names[9]]) {
    bad.programs[n].instructions = exitOnly;
    bad.programs[n].funcInfos = [];
    bad.programs[n].lineInfos = [];
    bad.programs[n].coreRelos = [];
    bad.programs[n].references = [];
  }
  for (const parallel of [1, 4]) {
    const err = await loadCollection(bad, { parallel }).then(() => assert.fail("loaded"), (e) => e);
    assert(err instanceof VerifierError, String(err));
    assert.equal(err.programName, names[5].slice(0, 15));
    assert.match(err.log, /R0 !read_ok/);
    assert.equal(openFdCount(), before);
  }
  // A later program that cannot even be relocated (a map the spec lacks):
  // the earlier verifier failure is still the one reported.
  const worse = copyCollectionSpec(bad);
  worse.programs[names[12]].references = [{ kind: "map", insn: 0, map: "no_such_map" }];
  for (const parallel of [1, 4]) {
    const err = await loadCollection(worse, { parallel }).then(
      () => assert.fail("loaded"),
      (e) => e,
    );
    assert(err instanceof VerifierError, String(err));
    assert.equal(err.programName, names[5].slice(0, 15));
    assert.equal(openFdCount(), before);
  }
  delete worse.programs[names[5]];
  delete worse.programs[names[9]];
  await assert.rejects(loadCollection(worse), /no_such_map/);
  assert.equal(openFdCount(), before);
});

Deno.test("freplace: the target function is found by its section name in the target program's BTF", async () => {
  const before = openFdCount();
  const spec = loadCollectionSpec(obj("freplace"));
  assert.equal(spec.programs.xdp_drop_all.btfAttach, "ext");
  assert.equal(spec.programs.xdp_drop_all.attachTo, "xdp_verdict");
  // The target first, alone.
  spec.programs.xdp_drop_all.autoload = false;
  using target = await loadCollection(spec);
  const xdp = target.programs.xdp_target;
  assert.equal(xdp.testRunSync({ data: packet }).retval, 2); // XDP_PASS from xdp_verdict
  // Its BTF, read back from the kernel, has the global function.
  const info = xdp.info();
  assert.ok(info.btfId > 0);
  const btf = loadedBtfSpec(info.btfId);
  assert.equal(btf.typeByName("xdp_verdict", "func")?.kind, "func");
  {
    using fd = objFromId("btf", info.btfId);
    const bi = loadedBtfInfo(fd);
    assert.equal(bi.id, info.btfId);
    assert.equal(bi.kernel, false);
  }
  assert.throws(() => loadedBtfSpec(0), InvalidArgumentError);
  // The replacement: no target set → says which field to set.
  const ext = copyCollectionSpec(loadCollectionSpec(obj("freplace")));
  ext.programs.xdp_target.autoload = false;
  await assert.rejects(loadCollection(ext), /set spec\.programs\.xdp_drop_all\.attachProgFd/);
  // With the target: resolved, then refused by this kernel's policy (as
  // fentry), a typed permission error; elsewhere it loads (tests/vm).
  ext.programs.xdp_drop_all.attachProgFd = xdp;
  const refused = await loadCollection(ext).then((c) => c, (e) => e);
  if (refused instanceof ProgramRefusedError) {
    assert.match(refused.message, /ext program/);
  } else {
    assert.ok(!(refused instanceof Error), String(refused));
    refused.close();
  }
  // A function the target does not have, and a target without BTF.
  const wrong = copyCollectionSpec(ext);
  wrong.programs.xdp_drop_all.attachTo = "nope";
  await assert.rejects(
    loadCollection(wrong),
    (e) =>
      e instanceof NotFoundError && /has no such function \(it has: .*xdp_verdict/.test(e.message),
  );
  {
    using bare = loadProgram({
      type: "xdp",
      instructions: new Uint8Array([0xb7, 0, 0, 0, 2, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]),
      name: "bare",
    });
    const noBtf = copyCollectionSpec(ext);
    noBtf.programs.xdp_drop_all.attachProgFd = bare;
    await assert.rejects(
      loadCollection(noBtf),
      (e) => e instanceof NotFoundError && /loaded without BTF/.test(e.message),
    );
  }
  target.close();
  assert.equal(openFdCount(), before);
});

Deno.test("iproute2 (tc) object: pinned maps reused by the next load, inner map put in its slot", async () => {
  await using fs = await mountBpffs("denobpf-coll-ip2-");
  const run = (c: Collection) => c.programs.tc_count.testRunSync({ data: packet }).retval;
  {
    using coll = await loadCollection(obj("iproute2"), { pinPath: fs.path });
    const { counters, map_inner, map_outer } = coll.maps;
    // map_inner sits at map_outer[0]: the program reads its value.
    using slot = map_outer.lookupInnerMap(u32(0))!;
    assert.equal(slot.info().id, map_inner.info().id);
    assert.equal(run(coll), 0);
    map_inner.update(u32(0), u32(7));
    assert.equal(run(coll), 7);
    assert.equal(readU64(counters.lookup(u32(0))), 2n);
    const pinned = [...Deno.readDirSync(fs.path)].map((e) => e.name);
    assert.ok(pinned.includes("counters") && pinned.includes("map_outer"), String(pinned));
    assert.ok(!pinned.includes("map_inner"));
  }
  // A second load (as a second tc filter would) shares the pinned maps.
  using again = await loadCollection(obj("iproute2"), { pinPath: fs.path });
  assert.equal(run(again), 7);
  assert.equal(readU64(again.maps.counters.lookup(u32(0))), 3n);
});
