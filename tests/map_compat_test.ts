// One check of an existing map against its spec (src/map/compat.ts) serves
// every path that reuses a map: createMap's pinning "by_name", a collection's
// pinned maps (iproute2 PIN_GLOBAL_NS too) and replaceMaps. Each names the map
// and the field that differs.

import assert from "node:assert/strict";
import fc from "fast-check";
import { createMap, MapMismatchError } from "../src/map/mod.ts";
import { mapMismatches, type MapShape } from "../src/map/compat.ts";
import { MapType } from "../src/sys/abi.ts";
import { InvalidArgumentError } from "../src/errors.ts";
import { loadCollection } from "../src/collection/mod.ts";
import { mountBpffs } from "./_helpers.ts";

const IPROUTE2 = "/usr/share/gocode/src/github.com/cilium/ebpf/testdata/iproute2_map_compat-" +
  (new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? "el" : "eb") + ".elf";

Deno.test('createMap pinning "by_name": a pin of another shape names the map and each field', async () => {
  await using fs = await mountBpffs("denobpf-compat-");
  using other = createMap({ type: "hash", keySize: 8, valueSize: 4, maxEntries: 4, name: "shape" });
  other.pin(`${fs.path}/shape`);
  const spec = {
    type: "hash",
    keySize: 4,
    valueSize: 4,
    maxEntries: 4,
    name: "shape",
    pinning: "by_name",
  } as const;
  assert.throws(
    () => createMap(spec, { pinPath: fs.path }),
    (e: unknown) => {
      assert.ok(e instanceof MapMismatchError, String(e));
      assert.ok(e instanceof InvalidArgumentError);
      assert.equal(e.map, "shape");
      assert.deepEqual(e.mismatches, [{ field: "keySize", actual: 8, expected: 4 }]);
      assert.match(
        e.message,
        /^map shape pinned at \S+\/shape does not match its spec: keySize 8 ≠ 4;/,
      );
      return true;
    },
  );
  // Flags too (they were compared before, now named as the field).
  assert.throws(
    () => createMap({ ...spec, keySize: 8, flags: 1 /* no_prealloc */ }, { pinPath: fs.path }),
    (e: unknown) =>
      e instanceof MapMismatchError && /flags 0x0 ≠ 0x1/.test(e.message) &&
      e.mismatches[0].field === "flags",
  );
  // A matching pin is reused.
  using same = createMap({ ...spec, keySize: 8 }, { pinPath: fs.path });
  assert.equal(same.info().id, other.info().id);
});

Deno.test("iproute2 PIN_GLOBAL_NS map over a pin of another shape: the error names the map and field", async () => {
  await using fs = await mountBpffs("denobpf-compat-ip2-");
  using other = createMap({
    type: "hash",
    keySize: 4,
    valueSize: 8,
    maxEntries: 3,
    name: "hash_map",
  });
  other.pin(`${fs.path}/hash_map`);
  await assert.rejects(
    () => loadCollection(IPROUTE2, { pinPath: fs.path }),
    (e: unknown) => {
      assert.ok(e instanceof InvalidArgumentError, String(e));
      assert.match(e.message, /hash_map/);
      assert.match(e.message, /maxEntries 3 ≠ 2/);
      assert.ok(e instanceof MapMismatchError, String(e));
      assert.equal(e.map, "hash_map");
      assert.deepEqual(e.mismatches, [{ field: "maxEntries", actual: 3, expected: 2 }]);
      return true;
    },
  );
});

Deno.test("replaceMaps: a replacement of another shape names the map and each field", async () => {
  using wrong = createMap({ type: "hash", keySize: 8, valueSize: 4, maxEntries: 2 });
  await assert.rejects(
    () => loadCollection(IPROUTE2, { replaceMaps: { hash_map: wrong } }),
    (e: unknown) => {
      assert.ok(e instanceof MapMismatchError, String(e));
      assert.equal(e.map, "hash_map");
      assert.deepEqual(e.mismatches, [
        { field: "keySize", actual: 8, expected: 4 },
        { field: "valueSize", actual: 4, expected: 8 },
      ]);
      assert.match(
        e.message,
        /^replacement for map hash_map \(replaceMaps\.hash_map\) does not match its spec: keySize 8 ≠ 4, valueSize 4 ≠ 8; /,
      );
      return true;
    },
  );
});

const shape = fc.record({
  type: fc.constantFrom(MapType.hash, MapType.array, MapType.devmap),
  keySize: fc.integer({ min: 1, max: 64 }),
  valueSize: fc.integer({ min: 1, max: 64 }),
  maxEntries: fc.integer({ min: 1, max: 1 << 20 }),
  flags: fc.integer({ min: 0, max: 0xff }),
});

Deno.test("mapMismatches: none for the same shape; exactly the fields that differ otherwise", () => {
  fc.assert(fc.property(shape, (s) => mapMismatches(s, s).length === 0));
  fc.assert(fc.property(shape, shape, (a: MapShape, b: MapShape) => {
    const fields = mapMismatches(a, b).map((m) => m.field);
    const rdonlyProg = b.type === MapType.devmap ? 1 << 7 : 0;
    const expected = [
      a.type !== b.type && "type",
      a.keySize !== b.keySize && "keySize",
      a.valueSize !== b.valueSize && "valueSize",
      a.maxEntries !== b.maxEntries && "maxEntries",
      (a.flags! & ~rdonlyProg) !== (b.flags! & ~rdonlyProg) && "flags",
    ].filter(Boolean);
    assert.deepEqual(fields, expected);
  }));
  // Fields the spec leaves 0 or undefined match anything.
  assert.deepEqual(
    mapMismatches({ type: 1, keySize: 4, valueSize: 8, maxEntries: 9, flags: 1 }, { type: 1 }),
    [],
  );
});
