// Guest tests of the collection loader with CO-RE against a module: the
// object testdata/vm/conntrack_core.bpf.o (built by testdata/vm/build.sh from
// conntrack_core.c with clang -target bpfel -O2 -g) has
//
// - ct_mark: kprobe on ctnetlink_fill_info, CO-RE against vmlinux types only;
// - ct_tstamp: the same kprobe, also reading struct nf_conn_tstamp, a type
//   that only module BTF describes;
// - ct_get_fentry: fentry on the module's ctnetlink_get_conntrack.
//
// With the module's BTF the three load, relocate against the module's
// types, attach and fire on a conntrack dump: what they read matches what
// ctnetlink reports. With the module's BTF hidden (a tmpfs over
// /sys/kernel/btf holding only vmlinux, or a `root` fixture directory made
// of the real /proc/kallsyms and vmlinux BTF), ct_mark still loads and
// fires, and the other two fail with MissingModuleBtfError naming the
// module, the missing file and CONFIG_DEBUG_INFO_BTF_MODULES.
//
// Every test is ignored outside the guest (see tests/vm/_fixtures.ts).

import assert from "node:assert/strict";
import {
  attachKprobe,
  attachTracing,
  type BpfMap,
  BtfCache,
  loadKernelModuleSpec,
  MissingModuleBtfError,
} from "../../mod.ts";
import { MODULE_BTF_CONFIG } from "../../src/btf/mod.ts";
import {
  type Collection,
  type CollectionSpec,
  loadCollection,
  loadCollectionSpec,
  relocateProgram,
} from "../../src/collection/mod.ts";
import { type ConntrackEntry, Ctnetlink, flows } from "./_ctnetlink.ts";
import {
  BTF_DIR,
  GET_TARGET,
  MODULE,
  MODULE_BTF,
  TARGET,
  vmTest,
  withModuleBtfHidden,
} from "./_fixtures.ts";

const OBJECT = new URL("../../testdata/vm/conntrack_core.bpf.o", import.meta.url);
/** The module-only type ct_tstamp reads. */
const MODULE_TYPE = "nf_conn_tstamp";
const TSTAMP_SYSCTL = "/proc/sys/net/netfilter/nf_conntrack_timestamp";

const FLOWS = flows(3, 42000);
const markOf = (i: number) => 0x5eed00 + i;

function spec(): CollectionSpec {
  return loadCollectionSpec(Deno.readFileSync(OBJECT));
}

/**
 * Replaces the conntrack table with three entries marked 0x5eed00.. and
 * timestamped (net.netfilter.nf_conntrack_timestamp = 1 while creating).
 */
function createMarkedEntries(): void {
  const old = Deno.readTextFileSync(TSTAMP_SYSCTL).trim();
  Deno.writeTextFileSync(TSTAMP_SYSCTL, "1");
  try {
    using ct = new Ctnetlink();
    ct.flush();
    FLOWS.forEach((f, i) => ct.create(f, { mark: markOf(i) }));
  } finally {
    Deno.writeTextFileSync(TSTAMP_SYSCTL, old);
  }
}

function dump(): ConntrackEntry[] {
  using ct = new Ctnetlink();
  return ct.dump();
}

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}

function u64At(map: BpfMap, key: number): bigint | undefined {
  const v = map.lookup(u32(key));
  return v && new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true);
}

/** Checks ct_mark's results after one dump of the marked entries. */
function assertMarksSeen(coll: Collection, entries: ConntrackEntry[]): void {
  assert.equal(u64At(coll.maps.hits, 0), BigInt(entries.length), "ct_mark: one run per entry");
  for (let i = 0; i < FLOWS.length; i++) {
    assert.equal(u64At(coll.maps.marks, markOf(i)), 1n, `ct_mark read mark ${markOf(i)}`);
  }
}

function assertMissingModuleBtf(e: unknown, path = MODULE_BTF): boolean {
  assert.ok(e instanceof MissingModuleBtfError, `expected MissingModuleBtfError, got ${e}`);
  assert.equal(e.module, MODULE);
  assert.equal(e.path, path);
  assert.ok(e.message.includes(MODULE), e.message);
  assert.ok(e.message.includes(path), e.message);
  assert.ok(e.message.includes(MODULE_BTF_CONFIG), e.message);
  return true;
}

vmTest(`loadCollection with ${MODULE}'s BTF: CO-RE uses the module's ${MODULE_TYPE}`, async () => {
  createMarkedEntries();
  using coll = await loadCollection(spec());
  assert.deepEqual(Object.keys(coll.programs).sort(), ["ct_get_fentry", "ct_mark", "ct_tstamp"]);

  // ct_mark relocates against vmlinux alone.
  const markRelos = coll.coreRelocations.ct_mark;
  assert.ok(markRelos.length > 0);
  for (const r of markRelos) {
    assert.equal(r.poisoned, false, r.local);
    assert.equal(r.targetSource, "vmlinux", `${r.local} → ${r.target}`);
  }
  // ct_tstamp's nf_conn_tstamp.start resolves in module BTF, at the module's offset:
  // the local struct puts it at 8, the kernel at 0.
  const tstamp = coll.coreRelocations.ct_tstamp.filter((r) => r.localTypeName === MODULE_TYPE);
  assert.equal(tstamp.length, 1, Deno.inspect(coll.coreRelocations.ct_tstamp));
  assert.equal(tstamp[0].poisoned, false);
  assert.notEqual(tstamp[0].targetSource, "vmlinux");
  assert.ok(
    ["nf_conntrack", MODULE].includes(tstamp[0].targetSource!),
    `${MODULE_TYPE} from ${tstamp[0].targetSource}`,
  );
  assert.equal(tstamp[0].oldValue, 8n);
  const modSpec = loadKernelModuleSpec(MODULE, { cache: new BtfCache() });
  assert.ok(modSpec?.typeByName(MODULE_TYPE, "struct"), `${MODULE} BTF has ${MODULE_TYPE}`);
  assert.equal(tstamp[0].newValue, 0n, "start is the kernel's first field");

  using _kMark = attachKprobe(coll.programs.ct_mark, { symbol: TARGET });
  using _kTstamp = attachKprobe(coll.programs.ct_tstamp, { symbol: TARGET });
  using fentry = attachTracing(coll.programs.ct_get_fentry);
  assert.equal(fentry.kind, "fentry");

  const entries = dump();
  assert.equal(entries.length, FLOWS.length, "only our entries in the table");
  assertMarksSeen(coll, entries);
  assert.equal(u64At(coll.maps.hits, 1), BigInt(entries.length), "ct_tstamp: one run per entry");
  assert.equal(u64At(coll.maps.hits, 2), 1n, `ct_get_fentry: one ${GET_TARGET} call`);
  for (const e of entries) {
    assert.ok(e.mark !== undefined && e.start !== undefined && e.start > 0n, Deno.inspect(e));
    assert.equal(
      u64At(coll.maps.starts, e.mark),
      e.start,
      `ct_tstamp read the start time ctnetlink reports for mark ${e.mark}`,
    );
  }
});

/** `spec()` with only the named programs left to load. */
function only(...names: string[]): CollectionSpec {
  const s = spec();
  for (const [name, p] of Object.entries(s.programs)) p.autoload = names.includes(name);
  return s;
}

/**
 * With the module's BTF missing (at `missing`): what loads and what fails,
 * program by program, and the vmlinux-only program attached and firing.
 */
async function assertSplitWithoutModuleBtf(root: string | undefined, missing: string) {
  const opts = root === undefined ? {} : { root };
  // The whole object: rejected, naming the module, its BTF file and the config option.
  await assert.rejects(loadCollection(spec(), opts), (e) => assertMissingModuleBtf(e, missing));

  // ct_tstamp: its nf_conn_tstamp relocation finds no target (poisoned), and the
  // target function's module is known to lack BTF; loading it says so.
  const r = relocateProgram(spec(), "ct_tstamp", opts);
  const poisoned = r.core.filter((c) => c.poisoned).map((c) => c.localTypeName);
  assert.deepEqual(poisoned, [MODULE_TYPE]);
  assert.deepEqual(r.target?.missingModuleBtf, { module: MODULE, path: missing });
  await assert.rejects(
    loadCollection(only("ct_tstamp"), opts),
    (e) =>
      assertMissingModuleBtf(e, missing) && (e as MissingModuleBtfError).typeName === MODULE_TYPE,
  );

  // ct_get_fentry: its attach target's BTF is the module's.
  assert.throws(
    () => relocateProgram(spec(), "ct_get_fentry", opts),
    (e) =>
      assertMissingModuleBtf(e, missing) && (e as MissingModuleBtfError).typeName === GET_TARGET,
  );

  // ct_mark needs nothing from the module: it loads, attaches to the module's function and fires.
  const m = relocateProgram(spec(), "ct_mark", opts);
  assert.ok(m.core.length > 0 && m.core.every((c) => c.targetSource === "vmlinux" && !c.poisoned));
  using coll = await loadCollection(only("ct_mark"), opts);
  assert.deepEqual(Object.keys(coll.programs), ["ct_mark"]);
  using _link = attachKprobe(coll.programs.ct_mark, { symbol: TARGET });
  assertMarksSeen(coll, dump());
}

vmTest(
  "with module BTF hidden (tmpfs over /sys/kernel/btf): the vmlinux-only program " +
    "loads and fires, the module-type ones fail with MissingModuleBtfError",
  async () => {
    createMarkedEntries();
    await withModuleBtfHidden(async () => {
      assert.deepEqual([...Deno.readDirSync(BTF_DIR)].map((e) => e.name), ["vmlinux"]);
      await assertSplitWithoutModuleBtf(undefined, MODULE_BTF);
    });
  },
);

vmTest(
  "with the root option on a fixture of the real kallsyms and vmlinux BTF only: " +
    "the same split",
  async () => {
    createMarkedEntries();
    const root = await Deno.makeTempDir({ prefix: "denobpf-root-" });
    try {
      await Deno.mkdir(`${root}/proc`);
      await Deno.mkdir(`${root}/sys/kernel/btf`, { recursive: true });
      Deno.writeTextFileSync(`${root}/proc/kallsyms`, Deno.readTextFileSync("/proc/kallsyms"));
      Deno.copyFileSync(`${BTF_DIR}/vmlinux`, `${root}/sys/kernel/btf/vmlinux`);
      await assertSplitWithoutModuleBtf(root, `${root}${MODULE_BTF}`);
    } finally {
      await Deno.remove(root, { recursive: true });
    }
  },
);
