import assert from "node:assert/strict";
import { InvalidArgumentError, NotSupportedError } from "../src/errors.ts";
import {
  BpfMap,
  createMap,
  loadPinnedMap,
  MapCreateFlag,
  mapFromFd,
  mapFromId,
  MapFullError,
  MapIterationError,
  MapKeyExistsError,
  MapKeyNotFoundError,
  MapReadOnlyError,
  type MapSpec,
  MapType,
  type MapTypeName,
  mapTypeName,
  mapTypeNumber,
  resolveMapSpec,
} from "../src/map/mod.ts";
import { buildMapBtf } from "../src/map/_btf.ts";
import { loadBtfObject } from "../src/btf/_load.ts";
import { mapCreateError } from "../src/map/_errors.ts";
import { possibleCpuCount } from "../src/sys/cpu.ts";
import { EBUSY, EEXIST, EINVAL, ENOENT, ENOMEM, EPERM } from "../src/sys/errno.ts";
import { PermissionError, SyscallError } from "../src/sys/error.ts";
import { FD, openFdCount } from "../src/sys/fd.ts";
import { bpf, cString } from "../src/sys/bpf.ts";
import { libc } from "../src/sys/_libc.ts";
import { haveMapType } from "../src/features/mod.ts";
import { mountBpffs } from "./_helpers.ts";
import { findVmlinuxStruct } from "./map_helpers.ts";

function u32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, n, true);
  return b;
}
function u64(n: number | bigint): Uint8Array {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, BigInt(n), true);
  return b;
}
function readU32(b: Uint8Array): number {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getUint32(0, true);
}
function readU64(b: Uint8Array): bigint {
  return new DataView(b.buffer, b.byteOffset, b.byteLength).getBigUint64(0, true);
}

// ---------------------------------------------------------------- types

Deno.test("MapType: names and numbers round-trip; unknown names are typed errors", () => {
  assert.equal(MapType.hash, 1);
  assert.equal(MapType.ringbuf, 27);
  assert.equal(MapType.arena, 33);
  for (const [name, n] of Object.entries(MapType)) {
    assert.equal(mapTypeName(n), name);
    if (n !== 0) assert.equal(mapTypeNumber(name as MapTypeName), n);
  }
  assert.equal(mapTypeName(999), "type 999");
  assert.throws(() => mapTypeNumber("nope" as MapTypeName), InvalidArgumentError);
});

// ---------------------------------------------------------------- every type

const struct_ops = findVmlinuxStruct("bpf_struct_ops_tcp_congestion_ops") ??
  findVmlinuxStruct("bpf_struct_ops_bpf_dummy_ops");

/** A spec that the kernel accepts, for each map type. */
const TYPE_SPECS: Record<MapTypeName, MapSpec | undefined> = {
  hash: { type: "hash", keySize: 4, valueSize: 8, maxEntries: 16 },
  array: { type: "array", keySize: 4, valueSize: 8, maxEntries: 16 },
  prog_array: { type: "prog_array", maxEntries: 4 },
  perf_event_array: { type: "perf_event_array" },
  percpu_hash: { type: "percpu_hash", keySize: 4, valueSize: 8, maxEntries: 16 },
  percpu_array: { type: "percpu_array", valueSize: 8, maxEntries: 16 },
  stack_trace: { type: "stack_trace", maxEntries: 16 },
  cgroup_array: { type: "cgroup_array", maxEntries: 4 },
  lru_hash: { type: "lru_hash", keySize: 4, valueSize: 8, maxEntries: 16 },
  lru_percpu_hash: { type: "lru_percpu_hash", keySize: 4, valueSize: 8, maxEntries: 16 },
  lpm_trie: { type: "lpm_trie", keySize: 8, valueSize: 8, maxEntries: 16 },
  array_of_maps: {
    type: "array_of_maps",
    maxEntries: 4,
    innerMap: { type: "array", valueSize: 4, maxEntries: 1 },
  },
  hash_of_maps: {
    type: "hash_of_maps",
    keySize: 4,
    maxEntries: 4,
    innerMap: { type: "hash", keySize: 4, valueSize: 4, maxEntries: 1 },
  },
  devmap: { type: "devmap", maxEntries: 4 },
  sockmap: { type: "sockmap", maxEntries: 4 },
  cpumap: { type: "cpumap" },
  xskmap: { type: "xskmap", maxEntries: 4 },
  sockhash: { type: "sockhash", keySize: 4, maxEntries: 4 },
  cgroup_storage: { type: "cgroup_storage", valueSize: 8 },
  reuseport_sockarray: { type: "reuseport_sockarray", maxEntries: 4 },
  percpu_cgroup_storage: { type: "percpu_cgroup_storage", valueSize: 8 },
  queue: { type: "queue", valueSize: 8, maxEntries: 4 },
  stack: { type: "stack", valueSize: 8, maxEntries: 4 },
  sk_storage: { type: "sk_storage", valueSize: 8 },
  devmap_hash: { type: "devmap_hash", maxEntries: 4 },
  struct_ops: struct_ops && {
    type: "struct_ops",
    valueSize: struct_ops.size,
    btf: { vmlinuxValueTypeId: struct_ops.id },
  },
  ringbuf: { type: "ringbuf", maxEntries: 4096 * 4 },
  inode_storage: { type: "inode_storage", valueSize: 8 },
  task_storage: { type: "task_storage", valueSize: 8 },
  bloom_filter: { type: "bloom_filter", valueSize: 8, maxEntries: 64, mapExtra: 3 },
  user_ringbuf: { type: "user_ringbuf", maxEntries: 4096 * 4 },
  cgrp_storage: { type: "cgrp_storage", valueSize: 8 },
  arena: { type: "arena", maxEntries: 4 },
};

for (const [name, spec] of Object.entries(TYPE_SPECS) as [MapTypeName, MapSpec | undefined][]) {
  // The feature probe decides, never the kernel version: a kernel may lack a
  // type its version brings (a config option off, a policy refusing it).
  const supported = haveMapType(name);
  const reason = !supported
    ? ` (skipped: map type ${name} not supported by this kernel)`
    : spec === undefined
    ? " (skipped: vmlinux BTF has no struct_ops value type)"
    : "";
  Deno.test({
    name: `createMap: ${name}${reason}`,
    ignore: !supported || spec === undefined,
    fn() {
      const r = resolveMapSpec(spec!);
      using m = createMap(spec!);
      const info = m.info();
      assert.equal(info.type, MapType[name]);
      assert.equal(info.typeName, name);
      assert.equal(m.typeName, name);
      assert.equal(info.keySize, r.keySize);
      assert.equal(info.valueSize, r.valueSize);
      assert.equal(info.maxEntries, r.maxEntries);
      assert.ok(info.id > 0);
      if (name.endsWith("storage") && name !== "cgroup_storage" && !name.startsWith("percpu")) {
        // Local storage maps carry the generated BTF.
        assert.ok(info.btfId > 0);
        assert.ok(info.btfKeyTypeId > 0 && info.btfValueTypeId > 0);
        assert.ok((info.flags & MapCreateFlag.NO_PREALLOC) !== 0);
      }
      if (name === "struct_ops") assert.equal(info.btfVmlinuxValueTypeId, struct_ops!.id);
      if (name === "bloom_filter") assert.equal(info.mapExtra, 3n);
    },
  });
}

// ---------------------------------------------------------------- spec checks

Deno.test("createMap: bad specs are InvalidArgumentErrors before any syscall", () => {
  const before = openFdCount();
  const bad: MapSpec[] = [
    { type: "hash", valueSize: 8, maxEntries: 4 }, // no keySize
    { type: "hash", keySize: 0, valueSize: 8, maxEntries: 4 },
    { type: "hash", keySize: 4, valueSize: 8, maxEntries: 0 },
    { type: "hash", keySize: 4, valueSize: 8, maxEntries: 4, name: "bad name!" },
    { type: "hash", keySize: 4, valueSize: 8, maxEntries: 4, name: "a_very_long_name_" },
    { type: "hash", keySize: -1, valueSize: 8, maxEntries: 4 },
    { type: "array", keySize: 8, valueSize: 8, maxEntries: 4 },
    { type: "queue", keySize: 4, valueSize: 8, maxEntries: 4 },
    { type: "ringbuf", maxEntries: 1000 },
    { type: "ringbuf", maxEntries: 4096 * 3 },
    { type: "ringbuf", keySize: 4, maxEntries: 4096 },
    { type: "lpm_trie", keySize: 4, valueSize: 8, maxEntries: 4 },
    { type: "array_of_maps", maxEntries: 4 }, // no innerMap
    { type: "task_storage", valueSize: 8, maxEntries: 5 },
    { type: "struct_ops", valueSize: 8 }, // no vmlinux type id
    { type: "bloom_filter", valueSize: 8, maxEntries: 4, mapExtra: 16 },
    { type: "hash", keySize: 4, valueSize: 8, maxEntries: 4, pinning: "by_name" },
    { type: "nope" as MapTypeName, keySize: 4, valueSize: 8, maxEntries: 4 },
  ];
  for (const spec of bad) {
    assert.throws(() => createMap(spec), InvalidArgumentError, JSON.stringify(spec));
  }
  assert.equal(openFdCount(), before);
});

Deno.test("resolveMapSpec: per-type defaults", () => {
  const pea = resolveMapSpec({ type: "perf_event_array" });
  assert.deepEqual([pea.keySize, pea.valueSize, pea.maxEntries], [4, 4, possibleCpuCount()]);
  const q = resolveMapSpec({ type: "queue", valueSize: 8, maxEntries: 4 });
  assert.equal(q.keySize, 0);
  const ts = resolveMapSpec({ type: "task_storage", valueSize: 16 });
  assert.deepEqual([ts.keySize, ts.maxEntries], [4, 0]);
  assert.equal(ts.flags & MapCreateFlag.NO_PREALLOC, MapCreateFlag.NO_PREALLOC);
  const lpm = resolveMapSpec({ type: "lpm_trie", keySize: 8, valueSize: 4, maxEntries: 4 });
  assert.equal(lpm.flags & MapCreateFlag.NO_PREALLOC, MapCreateFlag.NO_PREALLOC);
  const arena = resolveMapSpec({ type: "arena", maxEntries: 2 });
  assert.equal(arena.flags & MapCreateFlag.MMAPABLE, MapCreateFlag.MMAPABLE);
});

Deno.test("wrong key/value sizes are InvalidArgumentErrors without a syscall", () => {
  // A BpfMap over a descriptor that is not a map: any syscall on it fails
  // with a SyscallError, so an InvalidArgumentError proves none was made.
  const fd = loadBtfObject(buildMapBtf({ valueSize: 8 }).blob, "map btf");
  using fake = new BpfMap(fd, {
    type: MapType.hash,
    keySize: 4,
    valueSize: 8,
    maxEntries: 4,
    flags: 0,
    name: "",
  });
  assert.throws(() => fake.lookup(new Uint8Array(4)), SyscallError);
  const bad: [string, () => unknown][] = [
    ["lookup", () => fake.lookup(new Uint8Array(3))],
    ["lookupInto", () => fake.lookupInto(u32(1), new Uint8Array(4))],
    ["update key", () => fake.update(new Uint8Array(5), u64(1))],
    ["update value", () => fake.update(u32(1), new Uint8Array(7))],
    ["delete", () => fake.delete(new Uint8Array(8))],
    ["lookupAndDelete", () => fake.lookupAndDelete(new Uint8Array(2))],
    ["nextKey", () => fake.nextKey(new Uint8Array(1))],
    ["has", () => fake.has(new Uint8Array(0))],
    ["pop", () => fake.pop()],
    ["lookupPerCpu", () => fake.lookupPerCpu(u32(1))],
    ["entriesPerCpu", () => fake.entriesPerCpu()],
    ["updateBatch", () => fake.updateBatch(new Uint8Array(6), new Uint8Array(8))],
    ["updateBatch values", () => fake.updateBatch(new Uint8Array(8), new Uint8Array(8))],
    ["deleteBatch", () => fake.deleteBatch(new Uint8Array(3))],
    ["update flags", () => fake.update(u32(1), u64(1), "sometimes" as "any")],
    ["mmap", () => fake.mmap()],
  ];
  for (const [what, fn] of bad) assert.throws(fn, InvalidArgumentError, what);
});

// ---------------------------------------------------------------- operations

Deno.test("hash: update, lookup, has, delete, lookupAndDelete, nextKey", () => {
  using m = createMap({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 8, name: "ops" });
  assert.equal(m.lookup(u32(1)), undefined);
  assert.equal(m.has(u32(1)), false);
  m.update(u32(1), u64(100));
  m.update(u32(2), u64(200), "any");
  assert.equal(readU64(m.lookup(u32(1))!), 100n);
  assert.equal(m.has(u32(2)), true);
  // Fresh copies: changing a result does not change the next one.
  const a = m.lookup(u32(1))!;
  a.fill(0xff);
  assert.equal(readU64(m.lookup(u32(1))!), 100n);
  const out = new Uint8Array(8);
  assert.equal(m.lookupInto(u32(2), out), true);
  assert.equal(readU64(out), 200n);
  assert.equal(m.lookupInto(u32(3), out), false);
  assert.equal(readU64(out), 200n, "a miss leaves the output alone");

  const first = m.nextKey()!;
  const second = m.nextKey(first)!;
  assert.equal(m.nextKey(second), undefined);
  assert.deepEqual(new Set([readU32(first), readU32(second)]), new Set([1, 2]));

  assert.equal(m.delete(u32(1)), true);
  assert.equal(m.delete(u32(1)), false);
  assert.equal(m.lookup(u32(1)), undefined);
  assert.equal(readU64(m.lookupAndDelete(u32(2))!), 200n);
  assert.equal(m.lookupAndDelete(u32(2)), undefined);
  assert.equal(m.nextKey(), undefined);
  // Values that are views into a larger buffer are accepted.
  const big = new Uint8Array(32);
  big.set(u64(7), 8);
  m.update(u32(9), big.subarray(8, 16));
  assert.equal(readU64(m.lookup(big.subarray(0, 4).fill(0).map((_, i) => u32(9)[i]))!), 7n);
});

Deno.test("update flags: noexist on an existing key is EEXIST, exist on a missing key ENOENT", () => {
  using m = createMap({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 8 });
  m.update(u32(1), u64(1), "noexist");
  assert.throws(() => m.update(u32(1), u64(2), "noexist"), (e: unknown) => {
    assert.ok(e instanceof MapKeyExistsError);
    assert.ok(e instanceof SyscallError);
    assert.equal(e.errno, EEXIST);
    assert.equal(e.code, "EEXIST");
    assert.match(e.message, /noexist/);
    return true;
  });
  assert.throws(() => m.update(u32(1), u64(2), 1), MapKeyExistsError, "numeric BPF_NOEXIST");
  assert.equal(readU64(m.lookup(u32(1))!), 1n);
  m.update(u32(1), u64(3), "exist");
  assert.equal(readU64(m.lookup(u32(1))!), 3n);
  assert.throws(() => m.update(u32(2), u64(2), "exist"), (e: unknown) => {
    assert.ok(e instanceof MapKeyNotFoundError);
    assert.equal((e as SyscallError).errno, ENOENT);
    return true;
  });
  m.update(u32(2), u64(4), 0);
  assert.equal(readU64(m.lookup(u32(2))!), 4n);
  // BPF_F_LOCK needs a value with a bpf_spin_lock.
  assert.throws(() => m.update(u32(2), u64(5), "lock"), (e: unknown) => {
    assert.ok(e instanceof SyscallError);
    assert.equal(e.errno, EINVAL);
    assert.match(e.message, /spin_lock/);
    return true;
  });
});

Deno.test('update flags: "lock" on a value with a struct bpf_spin_lock (BTF)', () => {
  const made = buildMapBtf({ valueSize: 16, spinLockOffset: 0 });
  using btf = loadBtfObject(made.blob, "map btf");
  using m = createMap({
    type: "hash",
    keySize: 4,
    valueSize: 16,
    maxEntries: 4,
    btf: { btfFd: btf, keyTypeId: made.keyTypeId, valueTypeId: made.valueTypeId },
  });
  const v = new Uint8Array(16);
  v.set(u64(42), 8);
  m.update(u32(1), v, "lock");
  m.update(u32(1), v, UpdateFlagExistLock());
  const got = m.lookup(u32(1), { flags: "lock" })!;
  assert.equal(readU64(got.subarray(8)), 42n);
});

function UpdateFlagExistLock(): number {
  return 2 | 4; // BPF_EXIST | BPF_F_LOCK
}

Deno.test("hash: a full map throws MapFullError", () => {
  using m = createMap({ type: "hash", keySize: 4, valueSize: 4, maxEntries: 2 });
  m.update(u32(1), u32(1));
  m.update(u32(2), u32(2));
  assert.throws(() => m.update(u32(3), u32(3)), MapFullError);
  m.update(u32(2), u32(5)); // replacing still works
});

Deno.test("array: every index exists; deleting is refused by the kernel", () => {
  using m = createMap({ type: "array", keySize: 4, valueSize: 8, maxEntries: 4 });
  assert.deepEqual(m.lookup(u32(3)), new Uint8Array(8));
  assert.equal(m.lookup(u32(4)), undefined);
  m.update(u32(2), u64(9));
  assert.equal(readU64(m.lookup(u32(2))!), 9n);
  assert.throws(() => m.update(u32(2), u64(1), "noexist"), MapKeyExistsError);
  assert.throws(() => m.delete(u32(1)), (e: unknown) => e instanceof SyscallError);
  assert.deepEqual([...m.keys()].map(readU32), [0, 1, 2, 3]);
});

Deno.test("closed maps refuse operations with a typed error", () => {
  const m = createMap({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 8 });
  m.close();
  m.close(); // idempotent
  assert.equal(m.closed, true);
  assert.throws(() => m.lookup(u32(1)), InvalidArgumentError);
  assert.throws(() => m.update(u32(1), u64(1)), InvalidArgumentError);
  assert.throws(() => m.nextKey(), InvalidArgumentError);
  assert.throws(() => m.info(), InvalidArgumentError);
  assert.throws(() => m.fd, InvalidArgumentError);
});

// ---------------------------------------------------------------- iteration

Deno.test("iteration over a hash with 1000 entries yields exactly them", () => {
  using m = createMap({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 1000 });
  for (let i = 0; i < 1000; i++) m.update(u32(i), u64(i * 3));
  const keys = [...m.keys()].map(readU32);
  assert.equal(keys.length, 1000);
  assert.deepEqual(new Set(keys), new Set(Array.from({ length: 1000 }, (_, i) => i)));
  let n = 0;
  for (const [k, v] of m.entries()) {
    assert.equal(readU64(v), BigInt(readU32(k) * 3));
    n++;
  }
  assert.equal(n, 1000);
  let sum = 0n;
  for (const v of m.values()) sum += readU64(v);
  assert.equal(sum, 3n * 999n * 1000n / 2n);
  assert.equal([...m].length, 1000);
});

Deno.test("iteration restarts when its key is deleted, and gives up on endless churn", () => {
  using m = createMap({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 64 });
  for (let i = 0; i < 50; i++) m.update(u32(i), u64(i));
  // Deleting each key as it is visited: every step restarts at the first
  // remaining key, and every key is seen once.
  const seen: number[] = [];
  for (const k of m.keys()) {
    seen.push(readU32(k));
    m.delete(k);
  }
  assert.equal(seen.length, 50);
  assert.equal(new Set(seen).size, 50);
  assert.equal(m.nextKey(), undefined);

  // Replacing every visited key with a new one never lets the walk end.
  for (let i = 0; i < 8; i++) m.update(u32(i), u64(i));
  let next = 1000;
  assert.throws(() => {
    for (const k of m.keys()) {
      m.delete(k);
      m.update(u32(next++), u64(0));
    }
  }, (e: unknown) => {
    assert.ok(e instanceof MapIterationError);
    assert.ok(e.visited <= 64);
    return true;
  });
});

// ---------------------------------------------------------------- batch

for (const type of ["array", "hash"] as const) {
  Deno.test(`batch: ${type} update, lookup with a cursor, lookupAll, delete`, () => {
    const N = 1000;
    using m = createMap({ type, keySize: 4, valueSize: 8, maxEntries: N });
    const keys = new Uint8Array(4 * N);
    const values = new Uint8Array(8 * N);
    const kv = new DataView(keys.buffer);
    const vv = new DataView(values.buffer);
    for (let i = 0; i < N; i++) {
      kv.setUint32(i * 4, i, true);
      vv.setBigUint64(i * 8, BigInt(i) * 7n, true);
    }
    assert.equal(m.updateBatch(keys, values), N);
    assert.equal(readU64(m.lookup(u32(500))!), 3500n);

    const cursor = m.batchCursor({ batchSize: 64 });
    const seen = new Map<number, bigint>();
    let calls = 0;
    while (!cursor.done) {
      const n = m.lookupBatch(cursor);
      calls++;
      assert.equal(n, cursor.count);
      for (let i = 0; i < n; i++) seen.set(readU32(cursor.key(i)), readU64(cursor.value(i)));
    }
    assert.equal(m.lookupBatch(cursor), 0, "a finished cursor returns 0");
    using other = createMap({ type, keySize: 4, valueSize: 16, maxEntries: 4 });
    assert.throws(() => other.lookupBatch(cursor), InvalidArgumentError, "cursor of another shape");
    assert.ok(calls >= Math.ceil(N / 64));
    assert.equal(seen.size, N);
    for (const [k, v] of seen) assert.equal(v, BigInt(k) * 7n);

    // Caller-supplied buffers.
    cursor.reset();
    const ko = new Uint8Array(4 * 100);
    const vo = new Uint8Array(8 * 100);
    const n = m.lookupBatch(cursor, { keys: ko, values: vo });
    assert.ok(n > 0 && n <= 100);
    const k0 = new DataView(ko.buffer).getUint32(0, true);
    assert.equal(new DataView(vo.buffer).getBigUint64(0, true), BigInt(k0) * 7n);

    const all = m.batchLookupAll();
    assert.equal(all.length, N);
    assert.deepEqual(new Set(all.map(([k]) => readU32(k))), new Set(seen.keys()));

    if (type === "hash") {
      assert.equal(m.deleteBatch(keys.subarray(0, 4 * 10)), 10);
      assert.equal(m.lookup(u32(5)), undefined);
      // Stops at the first absent key: keys 0..9 are gone, so nothing is deleted.
      assert.equal(m.deleteBatch(keys.subarray(0, 4 * 20)), 0);
      const cur = m.batchCursor({ batchSize: 128 });
      let removed = 0;
      while (!cur.done) removed += m.lookupAndDeleteBatch(cur);
      assert.equal(removed, N - 10);
      assert.equal(m.nextKey(), undefined);
      // The kernel has no per-element noexist/exist for batches.
      assert.throws(
        () => m.updateBatch(keys.subarray(0, 8), values.subarray(0, 16), { flags: "exist" }),
        InvalidArgumentError,
      );
    } else {
      assert.throws(() => m.lookupAndDeleteBatch(m.batchCursor()), (e: unknown) => {
        assert.ok(e instanceof NotSupportedError);
        assert.match(e.message, /5\.6/);
        return true;
      });
    }
  });
}

Deno.test("batch: map types without batch support throw NotSupportedError naming 5.6", () => {
  using st = createMap({ type: "stack_trace", maxEntries: 4 });
  assert.throws(() => st.lookupBatch(st.batchCursor()), (e: unknown) => {
    assert.ok(e instanceof NotSupportedError);
    assert.match(e.message, /Linux 5\.6/);
    assert.match(e.message, /stack_trace/);
    return true;
  });
  // LPM tries do have batch lookups.
  using lpm = createMap({ type: "lpm_trie", keySize: 8, valueSize: 4, maxEntries: 4 });
  assert.deepEqual(lpm.batchLookupAll(), []);
});

Deno.test("batch: a hash bucket larger than the batch grows batchLookupAll's buffer", () => {
  using m = createMap({ type: "hash", keySize: 4, valueSize: 4, maxEntries: 256 });
  for (let i = 0; i < 256; i++) m.update(u32(i), u32(i));
  const all = m.batchLookupAll({ batchSize: 1 });
  assert.equal(all.length, 256);
});

// ---------------------------------------------------------------- per-CPU

for (const type of ["percpu_array", "percpu_hash", "lru_percpu_hash"] as const) {
  Deno.test(`per-CPU: ${type} values, one 8-byte-aligned slot per possible CPU`, () => {
    const cpus = possibleCpuCount();
    using m = createMap({ type, keySize: 4, valueSize: 4, maxEntries: 8 });
    assert.equal(m.perCpu, true);
    assert.equal(m.cpus, cpus);
    assert.equal(m.valueBufferSize, 8 * cpus);
    const vals = Array.from({ length: cpus }, (_, c) => u32(100 + c));
    m.updatePerCpu(u32(1), vals);
    const got = m.lookupPerCpu(u32(1))!;
    assert.equal(got.length, cpus);
    assert.deepEqual(got.map(readU32), vals.map(readU32));
    const raw = m.lookup(u32(1))!;
    assert.equal(raw.length, 8 * cpus);
    assert.equal(readU32(raw.subarray(8)), cpus > 1 ? 101 : readU32(raw.subarray(8)));
    // Fewer values than CPUs: the rest are zero.
    m.updatePerCpu(u32(2), [u32(5)]);
    assert.deepEqual(m.lookupPerCpu(u32(2))!.map(readU32), [5, ...new Array(cpus - 1).fill(0)]);
    assert.throws(() => m.update(u32(1), u32(1)), (e: unknown) => {
      assert.ok(e instanceof InvalidArgumentError);
      assert.match(e.message, /per-CPU/);
      return true;
    });
    assert.throws(() => m.updatePerCpu(u32(1), [new Uint8Array(8)]), InvalidArgumentError);
    assert.throws(
      () => m.updatePerCpu(u32(1), new Array(cpus + 1).fill(u32(0))),
      InvalidArgumentError,
    );
    if (type !== "percpu_array") assert.equal(m.lookupPerCpu(u32(7)), undefined);
    // Iteration with every CPU's value.
    const walked = new Map(
      [...m.entriesPerCpu()].map(([k, v]) => [readU32(k), v.map(readU32)] as const),
    );
    assert.deepEqual(walked.get(1), vals.map(readU32));
    assert.deepEqual(walked.get(2), [5, ...new Array(cpus - 1).fill(0)]);
    if (type !== "percpu_array") assert.equal(walked.size, 2);
    // Batch with per-CPU values.
    const all = m.batchLookupAll();
    const one = all.find(([k]) => readU32(k) === 1)!;
    assert.equal(one[1].length, 8 * cpus);
    assert.equal(readU32(one[1]), 100);
  });
}

Deno.test("per-CPU operations on a plain map are InvalidArgumentErrors", () => {
  using m = createMap({ type: "hash", keySize: 4, valueSize: 4, maxEntries: 2 });
  assert.throws(() => m.lookupPerCpu(u32(1)), InvalidArgumentError);
  assert.throws(() => m.updatePerCpu(u32(1), [u32(1)]), InvalidArgumentError);
});

// ---------------------------------------------------------------- freeze, mmap

Deno.test("freeze: later updates throw MapReadOnlyError; lookups still work", () => {
  using m = createMap({ type: "array", keySize: 4, valueSize: 8, maxEntries: 4 });
  m.update(u32(1), u64(11));
  m.freeze();
  assert.throws(() => m.update(u32(1), u64(12)), (e: unknown) => {
    assert.ok(e instanceof MapReadOnlyError);
    assert.ok(e instanceof PermissionError);
    assert.equal(e.errno, EPERM);
    assert.match(e.message, /frozen/);
    return true;
  });
  assert.equal(readU64(m.lookup(u32(1))!), 11n);
  assert.throws(() => m.freeze(), MapReadOnlyError, "already frozen");
});

Deno.test("mmap: an MMAPABLE array's memory and lookups see the same values", () => {
  using m = createMap({
    type: "array",
    keySize: 4,
    valueSize: 12,
    maxEntries: 1000,
    flags: MapCreateFlag.MMAPABLE,
  });
  {
    using mem = m.mmap();
    assert.equal(mem.stride, 16);
    assert.equal(mem.length, 16384);
    mem.value(3).set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    assert.deepEqual(m.lookup(u32(3)), new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]));
    m.update(u32(999), new Uint8Array(12).fill(0xab));
    assert.deepEqual(mem.value(999), new Uint8Array(12).fill(0xab));
    mem.view().setUint32(16 * 500, 0xdeadbeef, true);
    assert.equal(readU32(m.lookup(u32(500))!), 0xdeadbeef);
    assert.throws(() => mem.value(1000), InvalidArgumentError);
    // A writable mapping keeps the map from being frozen.
    assert.throws(() => m.freeze(), (e: unknown) => e instanceof SyscallError && e.errno === EBUSY);
  }
  m.freeze();
  assert.throws(() => m.mmap(), SyscallError, "a frozen map cannot be mapped writable");
  using ro = m.mmap({ readOnly: true });
  assert.equal(ro.value(3)[0], 1);
  ro.close();
  assert.equal(ro.closed, true);
  assert.throws(() => ro.bytes, InvalidArgumentError);
});

Deno.test("mmap: refused for maps without BPF_F_MMAPABLE", () => {
  using m = createMap({ type: "array", keySize: 4, valueSize: 8, maxEntries: 4 });
  assert.throws(() => m.mmap(), InvalidArgumentError);
});

// ---------------------------------------------------------------- info, ids, pins

Deno.test("info: fields of struct bpf_map_info", () => {
  using m = createMap({
    type: "lru_hash",
    keySize: 8,
    valueSize: 16,
    maxEntries: 32,
    name: "infotest.1",
    flags: MapCreateFlag.NO_COMMON_LRU,
  });
  const info = m.info();
  assert.equal(info.type, MapType.lru_hash);
  assert.equal(info.typeName, "lru_hash");
  assert.equal(info.keySize, 8);
  assert.equal(info.valueSize, 16);
  assert.equal(info.maxEntries, 32);
  assert.equal(info.flags, MapCreateFlag.NO_COMMON_LRU);
  assert.equal(info.name, "infotest.1");
  assert.equal(info.btfId, 0);
  assert.equal(m.label, "lru_hash map infotest.1");
});

Deno.test("mapFromId, mapFromFd and clone open the same map", () => {
  using m = createMap({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 4, name: "shared" });
  m.update(u32(1), u64(5));
  const id = m.info().id;
  using byId = mapFromId(id);
  assert.equal(byId.info().id, id);
  assert.equal(byId.name, "shared");
  assert.equal(byId.keySize, 4);
  assert.equal(readU64(byId.lookup(u32(1))!), 5n);
  byId.update(u32(2), u64(6));
  assert.equal(readU64(m.lookup(u32(2))!), 6n);

  // mapFromFd takes ownership: hand it a descriptor of its own.
  const raw = bpf("MAP_GET_FD_BY_ID", { id });
  const byFd = mapFromFd(raw);
  assert.equal(byFd.fd, raw);
  assert.equal(byFd.info().id, id);
  byFd.close();
  assert.equal(readU64(m.lookup(u32(1))!), 5n, "closing the wrapper leaves the original open");

  const c = m.clone();
  assert.equal(c.info().id, id);
  c.close();
  assert.equal(m.closed, false);

  using ro = mapFromId(id, { readOnly: true });
  assert.equal(readU64(ro.lookup(u32(1))!), 5n);
  assert.throws(() => ro.update(u32(1), u64(1)), MapReadOnlyError);
  // Descriptors of other objects are refused.
  using btf = loadBtfObject(buildMapBtf({ valueSize: 4 }).blob, "map btf");
  assert.throws(() => mapFromFd(btf.value), InvalidArgumentError);
  assert.throws(() => mapFromId(0x7ffffff0), (e: unknown) => {
    return e instanceof SyscallError && e.errno === ENOENT;
  });
});

Deno.test("pin/unpin on a private bpffs; loadPinnedMap sees the same contents", async () => {
  const fs = await mountBpffs("denobpf_map_bpffs_");
  try {
    const path = `${fs.path}/counts`;
    using m = createMap({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 16, name: "counts" });
    for (let i = 0; i < 10; i++) m.update(u32(i), u64(i * i));
    m.pin(path);
    assert.equal(m.pinnedPath, path);
    assert.ok(Deno.statSync(path).isFile);
    {
      using p = loadPinnedMap(path);
      assert.equal(p.info().id, m.info().id);
      assert.equal(p.pinnedPath, path);
      const entries = [...p.entries()].map(([k, v]) => [readU32(k), readU64(v)]);
      assert.equal(entries.length, 10);
      for (const [k, v] of entries) assert.equal(v, BigInt(Number(k) * Number(k)));
      p.update(u32(3), u64(1));
      assert.equal(readU64(m.lookup(u32(3))!), 1n);
    }
    {
      using ro = loadPinnedMap(path, { readOnly: true });
      assert.throws(() => ro.update(u32(3), u64(2)), MapReadOnlyError);
    }
    assert.throws(() => m.pin(path), (e: unknown) => e instanceof SyscallError);
    m.unpin();
    assert.equal(m.pinnedPath, undefined);
    assert.throws(() => Deno.statSync(path), Deno.errors.NotFound);
    assert.throws(() => loadPinnedMap(path), (e: unknown) => {
      return e instanceof SyscallError && e.errno === ENOENT;
    });

    // pinning "by_name": the second create reuses the pinned map.
    const spec: MapSpec = {
      type: "array",
      keySize: 4,
      valueSize: 8,
      maxEntries: 4,
      name: "byname",
      pinning: "by_name",
    };
    using a = createMap(spec, { pinPath: fs.path });
    a.update(u32(2), u64(77));
    using b = createMap(spec, { pinPath: fs.path });
    assert.equal(b.info().id, a.info().id);
    assert.equal(readU64(b.lookup(u32(2))!), 77n);
    assert.throws(
      () => createMap({ ...spec, maxEntries: 8 }, { pinPath: fs.path }),
      InvalidArgumentError,
    );
    assert.throws(() => createMap(spec), InvalidArgumentError, "by_name needs a pinPath");
    b.unpin();
  } finally {
    await fs.close();
  }
});

// ---------------------------------------------------------------- special types

Deno.test("map-in-map: array_of_maps and hash_of_maps hold inner maps", () => {
  const innerSpec: MapSpec = { type: "array", keySize: 4, valueSize: 8, maxEntries: 2 };
  using inner = createMap(innerSpec);
  inner.update(u32(1), u64(99));
  for (const type of ["array_of_maps", "hash_of_maps"] as const) {
    using outer = createMap({ type, keySize: 4, maxEntries: 4, innerMap: inner });
    outer.update(u32(0), inner);
    const id = readU32(outer.lookup(u32(0))!);
    assert.equal(id, inner.info().id);
    using got = outer.lookupInnerMap(u32(0))!;
    assert.equal(got.info().id, id);
    assert.equal(readU64(got.lookup(u32(1))!), 99n);
    if (type === "hash_of_maps") assert.equal(outer.lookupInnerMap(u32(3)), undefined);
    // An inner map of another shape is refused.
    using other = createMap({ type: "array", keySize: 4, valueSize: 4, maxEntries: 2 });
    assert.throws(() => outer.update(u32(1), other), SyscallError);
  }
  // innerMap given as a spec: a template is made and closed again.
  const before = openFdCount();
  using outer2 = createMap({ type: "array_of_maps", maxEntries: 2, innerMap: innerSpec });
  assert.equal(openFdCount(), before + 1);
  outer2.update(u32(1), inner);
});

Deno.test("prog_array: a value may be an object holding a program fd", () => {
  // r0 = 0; exit — the smallest socket filter.
  const insns = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
  using prog = new FD(
    bpf("PROG_LOAD", { progType: 1, insnCnt: 2, insns, license: cString("GPL") }),
    "prog",
  );
  using progs = createMap({ type: "prog_array", maxEntries: 2 });
  progs.update(u32(1), { fd: prog });
  assert.ok(readU32(progs.lookup(u32(1))!) > 0, "the kernel reports the program id");
  assert.equal(progs.delete(u32(1)), true);
  assert.equal(progs.lookup(u32(1)), undefined);
});

Deno.test("LPM trie: longest-prefix lookups", () => {
  using m = createMap({ type: "lpm_trie", keySize: 8, valueSize: 4, maxEntries: 16 });
  const key = (prefix: number, a: number, b: number, c: number, d: number) => {
    const k = new Uint8Array(8);
    new DataView(k.buffer).setUint32(0, prefix, true);
    k.set([a, b, c, d], 4);
    return k;
  };
  m.update(key(8, 10, 0, 0, 0), u32(1));
  m.update(key(16, 10, 1, 0, 0), u32(2));
  m.update(key(24, 10, 1, 2, 0), u32(3));
  const get = (a: number, b: number, c: number, d: number) => {
    const v = m.lookup(key(32, a, b, c, d));
    return v === undefined ? undefined : readU32(v);
  };
  assert.equal(get(10, 1, 2, 3), 3);
  assert.equal(get(10, 1, 9, 9), 2);
  assert.equal(get(10, 9, 9, 9), 1);
  assert.equal(get(11, 0, 0, 1), undefined);
  assert.equal(m.delete(key(16, 10, 1, 0, 0)), true);
  assert.equal(get(10, 1, 9, 9), 1);
  assert.equal([...m.keys()].length, 2);
});

Deno.test("queue (FIFO), stack (LIFO): push, pop, peek, full, overwrite", () => {
  using q = createMap({ type: "queue", valueSize: 8, maxEntries: 3 });
  assert.equal(q.pop(), undefined);
  assert.equal(q.peek(), undefined);
  q.push(u64(1));
  q.push(u64(2));
  q.push(u64(3));
  assert.throws(() => q.push(u64(4)), MapFullError);
  assert.equal(readU64(q.peek()!), 1n);
  assert.equal(readU64(q.pop()!), 1n);
  q.push(u64(4));
  q.push(u64(5), "exist"); // full: drops the oldest (2)
  assert.deepEqual([q.pop(), q.pop(), q.pop()].map((v) => readU64(v!)), [3n, 4n, 5n]);
  assert.equal(q.lookupAndDelete(), undefined);
  assert.throws(() => q.lookup(new Uint8Array(0)), InvalidArgumentError);
  assert.throws(() => q.push(u32(1)), InvalidArgumentError);

  using s = createMap({ type: "stack", valueSize: 8, maxEntries: 3 });
  s.push(u64(1));
  s.push(u64(2));
  assert.equal(readU64(s.peek()!), 2n);
  assert.equal(readU64(s.lookupAndDelete()!), 2n);
  assert.equal(readU64(s.pop()!), 1n);
  assert.equal(s.pop(), undefined);
});

Deno.test("bloom filter: pushed values are contained; most others are not", () => {
  using b = createMap({ type: "bloom_filter", valueSize: 8, maxEntries: 1000, mapExtra: 3 });
  for (let i = 0; i < 100; i++) b.push(u64(i));
  for (let i = 0; i < 100; i++) assert.equal(b.contains(u64(i)), true);
  let falsePositives = 0;
  for (let i = 1000; i < 1100; i++) if (b.contains(u64(i))) falsePositives++;
  assert.ok(falsePositives < 50, `${falsePositives} false positives of 100`);
  assert.throws(() => b.contains(u32(1)), InvalidArgumentError);
});

Deno.test({
  name: `task_storage: the generated BTF makes a working map (keyed by a pidfd)${
    haveMapType("task_storage")
      ? ""
      : " (skipped: map type task_storage not supported by this kernel)"
  }`,
  ignore: !haveMapType("task_storage"),
  fn() {
    const SYS_pidfd_open = 434n;
    const pidfd = Number(libc().syscall6(SYS_pidfd_open, BigInt(Deno.pid), 0n, 0n, 0n, 0n, 0n));
    assert.ok(pidfd >= 0, "pidfd_open");
    try {
      using m = createMap({ type: "task_storage", valueSize: 8 });
      assert.equal(m.lookup(u32(pidfd)), undefined);
      m.update(u32(pidfd), u64(1234));
      assert.equal(readU64(m.lookup(u32(pidfd))!), 1234n);
      assert.equal(m.delete(u32(pidfd)), true);
      assert.equal(m.lookup(u32(pidfd)), undefined);
    } finally {
      libc().close(pidfd);
    }
  },
});

Deno.test("ringbuf: created with a page-multiple power-of-two size; no element ops", () => {
  using rb = createMap({ type: "ringbuf", maxEntries: 4096 * 16 });
  assert.equal(rb.info().maxEntries, 4096 * 16);
  assert.throws(() => rb.lookup(new Uint8Array(0)), InvalidArgumentError);
});

// ---------------------------------------------------------------- fds, errors

Deno.test("fd leak: 10,000 create/close cycles leave the open-fd count unchanged", () => {
  // One cycle first, so lazily opened things (the C library) are open.
  createMap({ type: "array", keySize: 4, valueSize: 8, maxEntries: 1 }).close();
  const before = openFdCount();
  for (let i = 0; i < 10_000; i++) {
    const m = createMap({
      type: i % 2 ? "array" : "hash",
      keySize: 4,
      valueSize: 8,
      maxEntries: 1,
    });
    m.close();
  }
  assert.equal(openFdCount(), before);
  for (let i = 0; i < 100; i++) {
    // Storage maps load and close a BTF object each time.
    createMap({ type: "task_storage", valueSize: 8 }).close();
  }
  assert.equal(openFdCount(), before);
});

Deno.test("using closes the map", () => {
  const before = openFdCount();
  let leaked: BpfMap | undefined;
  {
    using m = createMap({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 1 });
    leaked = m;
    assert.equal(openFdCount(), before + 1);
  }
  assert.equal(leaked.closed, true);
  assert.equal(openFdCount(), before);
});

Deno.test("create errors: memlock is mentioned only before 5.11", () => {
  const v5_10 = (5 << 16) | (10 << 8);
  const v6_18 = (6 << 16) | (18 << 8);
  const oldNomem = mapCreateError(ENOMEM, {
    typeName: "hash",
    what: "hash map",
    kernelVersion: v5_10,
  });
  assert.match(oldNomem.message, /RLIMIT_MEMLOCK/);
  const newNomem = mapCreateError(ENOMEM, {
    typeName: "hash",
    what: "hash map",
    kernelVersion: v6_18,
  });
  assert.doesNotMatch(newNomem.message, /memlock/i);
  const oldPerm = mapCreateError(EPERM, {
    typeName: "hash",
    what: "hash map",
    kernelVersion: v5_10,
  });
  assert.ok(oldPerm instanceof PermissionError);
  assert.ok(oldPerm.capabilities.includes("CAP_BPF"));
  assert.match(oldPerm.message, /CAP_BPF/);
  assert.match(oldPerm.message, /RLIMIT_MEMLOCK/);
  const newPerm = mapCreateError(EPERM, {
    typeName: "hash",
    what: "hash map",
    kernelVersion: v6_18,
  });
  assert.ok(newPerm instanceof PermissionError);
  assert.match(newPerm.message, /CAP_BPF/);
  assert.doesNotMatch(newPerm.message, /memlock/i);
  const tooNew = mapCreateError(EINVAL, {
    typeName: "ringbuf",
    what: "ringbuf map",
    kernelVersion: (5 << 16) | (4 << 8),
  });
  assert.ok(tooNew instanceof NotSupportedError);
  assert.match(tooNew.message, /Linux 5\.8/);
});

Deno.test("create errors: the kernel's EINVAL becomes a SyscallError with a hint", () => {
  // A devmap value must be 4 or 8 bytes; the spec check leaves that to the kernel.
  assert.throws(() => createMap({ type: "devmap", valueSize: 3, maxEntries: 1 }), (e: unknown) => {
    assert.ok(e instanceof SyscallError);
    assert.equal(e.errno, EINVAL);
    assert.equal(e.command, "BPF_MAP_CREATE");
    assert.match(e.message, /devmap/);
    return true;
  });
});
