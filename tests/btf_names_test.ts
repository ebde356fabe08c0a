// parseBtf's findNames: name lookups made during the parse's walk over the
// type records must find exactly what a lookup on a plainly parsed spec finds.

import assert from "node:assert/strict";
import { ParseError } from "../src/errors.ts";
import { encodeBtf, parseBtf, readBtfFile } from "../src/btf/mod.ts";
import { readBtfBytes } from "../src/btf/file.ts";
import type { Spec } from "../src/btf/spec.ts";
import { allKinds, haveVmlinux, NO_VMLINUX, rawBlob, VMLINUX } from "./btf_helpers.ts";

/** Parses with `findNames` and returns the ids of each name (as typeIdsByName). */
function parseFindingNames(
  bytes: Uint8Array,
  names: string[],
  options: { base?: Spec } = {},
): { spec: Spec; ids: Map<string, number[]> } {
  const spec = parseBtf(bytes, { ...options, findNames: names });
  return { spec, ids: new Map(names.map((n) => [n, spec.typeIdsByName(n)])) };
}

function sameAsLookup(bytes: Uint8Array, names: string[]): void {
  const spec = parseBtf(bytes, { findNames: names });
  const plain = parseBtf(bytes);
  assert.equal(spec.typeCount, plain.typeCount);
  for (const n of names) {
    assert.deepEqual(spec.typeIdsByName(n), plain.typeIdsByName(n), n);
    assert.deepEqual(spec.ownFlavouredTypeIds(n), plain.ownFlavouredTypeIds(n), n);
  }
}

Deno.test("names found while parsing match typeIdsByName (every kind, odd names)", () => {
  const bytes = encodeBtf(allKinds());
  const plain = parseBtf(bytes);
  const present = [...new Set([...plain.types()].map((t) => t.name).filter((n) => n !== ""))];
  assert.ok(present.length > 5);
  // Present names, one-letter and prefix/suffix near-misses, absent ones, the empty name.
  const names = [
    ...present,
    ...present.map((n) => n.slice(0, 1)),
    ...present.map((n) => `${n}_`),
    ...present.map((n) => n.slice(0, -1)),
    "no_such_type",
    "",
    "é",
  ];
  sameAsLookup(bytes, names);
});

Deno.test("names found while parsing: duplicates and shared first bytes", () => {
  const bytes = encodeBtf([
    { kind: "int", name: "ab", size: 4, encoding: "signed", bitOffset: 0, bits: 32 },
    { kind: "typedef", name: "abc", type: 1 },
    { kind: "typedef", name: "a", type: 1 },
    { kind: "typedef", name: "ab", type: 2 },
    { kind: "struct", name: "abc", size: 0, members: [] },
  ]);
  sameAsLookup(bytes, ["a", "ab", "abc", "abcd", "ab", "b"]);
  const { ids } = parseFindingNames(bytes, ["ab", "abc"]);
  assert.deepEqual(ids.get("ab"), [1, 4]);
  assert.deepEqual(ids.get("abc"), [2, 5]);
});

Deno.test("names found while parsing: malformed blobs fail as parseBtf does", () => {
  // A struct whose vlen overruns the section, and a record cut short.
  const overrun = rawBlob({ words: [0, (4 << 24) | 5, 8], strings: "\0x\0" });
  const short = rawBlob({ words: [0, 1 << 24], strings: "\0x\0" });
  for (const bytes of [overrun, short]) {
    let want: ParseError | undefined;
    try {
      parseBtf(bytes);
    } catch (e) {
      want = e as ParseError;
    }
    assert.ok(want instanceof ParseError);
    assert.throws(() => parseBtf(bytes, { findNames: ["x"] }), (e: unknown) => {
      assert.ok(e instanceof ParseError);
      assert.equal(e.message, want!.message);
      assert.equal(e.offset, want!.offset);
      return true;
    });
  }
});

Deno.test("names found while parsing: split BTF falls back to a lookup", () => {
  const base = parseBtf(encodeBtf(allKinds()));
  const split = encodeBtf(
    [{ kind: "typedef", name: "split_t", type: 1 }, { kind: "ptr", name: "", type: 1 }],
    { base },
  );
  const { spec, ids } = parseFindingNames(split, ["split_t", "int"], { base });
  assert.deepEqual(ids.get("split_t"), spec.typeIdsByName("split_t"));
  assert.deepEqual(ids.get("int"), spec.typeIdsByName("int"));
});

Deno.test({
  name: "names found while parsing vmlinux match typeIdsByName" + NO_VMLINUX,
  ignore: !haveVmlinux,
  fn() {
    const names = [
      "task_struct",
      "long int",
      "btf_trace_sys_enter",
      "bpf_iter_task",
      "pt_regs",
      "sched_switch",
      "int",
      "x",
      "no_such_type_anywhere",
    ];
    sameAsLookup(readBtfBytes(VMLINUX), names);
    const spec = readBtfFile(VMLINUX, { findNames: names });
    const plain = parseBtf(readBtfBytes(VMLINUX));
    for (const n of names) assert.deepEqual(spec.typeIdsByName(n), plain.typeIdsByName(n), n);
  },
});
