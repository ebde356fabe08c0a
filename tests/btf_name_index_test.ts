// The spec's one name index (src/btf/_name_index.ts): exact names, CO-RE
// flavoured names (name___x by essential name), kinds, split BTF whose
// names point into the base's strings, and every way the index gets
// filled (the parse walk's findNames, one scan per lookup, one batch scan,
// the hash index built after a few scans) answer as a brute-force search
// over the decoded types does.

import assert from "node:assert/strict";
import fc from "fast-check";
import { btfBlob } from "../src/btf/blob.ts";
import { essentialName } from "../src/btf/core.ts";
import { parseBtf, type Spec } from "../src/btf/spec.ts";
import type { Kind } from "../src/btf/types.ts";

const utf8 = new TextEncoder();

/** A type of the generated blobs: struct (complete or not), fwd or typedef. */
interface Rec {
  /** Index into the blob's own names, or (split BTF) ~index into the base's. */
  name: number;
  kind: "struct" | "fwd" | "typedef";
  size: number;
}

const KIND_NUM = { struct: 4, fwd: 7, typedef: 8 } as const;

/** Strings "\0" + names; the offset of each name. */
function strings(names: readonly string[], leadingNul: boolean): [Uint8Array, number[]] {
  const parts: number[] = leadingNul ? [0] : [];
  const offs: number[] = [];
  for (const n of names) {
    offs.push(parts.length);
    parts.push(...utf8.encode(n), 0);
  }
  return [new Uint8Array(parts), offs];
}

function blob(
  recs: readonly Rec[],
  own: number[],
  base: number[],
  strBase: number,
  strs: Uint8Array,
) {
  const words: number[] = [];
  for (const r of recs) {
    words.push(r.name >= 0 ? strBase + own[r.name] : base[~r.name]);
    words.push((KIND_NUM[r.kind] << 24) >>> 0, r.kind === "struct" ? r.size : 0);
  }
  return btfBlob(words, strs);
}

/** What a lookup must return, from the decoded types. */
function brute(spec: Spec) {
  const all = [...spec.types({ includeBase: true })];
  const own = all.filter((t) => t.id >= spec.firstTypeId);
  const complete = (id: number) => {
    const t = spec.typeById(id);
    return t.kind !== "fwd" && !(t.kind === "struct" && t.size === 0 && t.members.length === 0);
  };
  return {
    ids: (n: string, kind?: Kind) =>
      n === ""
        ? []
        : all.filter((t) => t.name === n && (!kind || t.kind === kind)).map((t) => t.id),
    own: (n: string, kind?: Kind) =>
      n === ""
        ? []
        : own.filter((t) => t.name === n && (!kind || t.kind === kind)).map((t) => t.id),
    flavoured: (n: string) =>
      n === ""
        ? []
        : own.filter((t) => t.name !== n && essentialName(t.name) === n).map((t) => t.id),
    first: (n: string, kind?: Kind) => {
      const ids = n === "" ? [] : all.filter((t) => t.name === n && (!kind || t.kind === kind))
        .map((t) => t.id);
      return ids.find(complete) ?? ids[0];
    },
  };
}

const nameArb = fc.array(fc.constantFrom("a", "b", "_", "é"), { minLength: 1, maxLength: 7 })
  .map((cs) => cs.join(""));
const kindArb = fc.constantFrom<Rec["kind"]>("struct", "fwd", "typedef");

function check(spec: Spec, queries: readonly string[]): void {
  const want = brute(spec);
  for (const n of queries) {
    assert.deepEqual(spec.typeIdsByName(n), want.ids(n), `typeIdsByName(${n})`);
    assert.deepEqual(spec.ownTypeIdsByName(n), want.own(n), `ownTypeIdsByName(${n})`);
    assert.deepEqual(spec.ownFlavouredTypeIds(n), want.flavoured(n), `ownFlavouredTypeIds(${n})`);
    for (const k of ["struct", "fwd", "typedef", "int"] as const) {
      assert.deepEqual(spec.typeIdsByName(n, k), want.ids(n, k), `typeIdsByName(${n}, ${k})`);
      assert.deepEqual(spec.ownTypeIdsByName(n, k), want.own(n, k));
      assert.equal(spec.typeIdByName(n, k), want.first(n, k), `typeIdByName(${n}, ${k})`);
    }
    assert.equal(spec.typeIdByName(n), want.first(n), `typeIdByName(${n})`);
  }
}

/** typeIdByName on names not looked up before (a scan that stops early, then the hash index). */
function checkFirst(spec: Spec, queries: readonly string[]): void {
  const want = brute(spec);
  for (const n of queries) {
    const k = (["struct", "fwd", "typedef", undefined] as const)[n.length % 4];
    assert.equal(spec.typeIdByName(n, k), want.first(n, k), `first typeIdByName(${n}, ${k})`);
  }
}

Deno.test("name index: exact, kind and flavoured lookups match a brute-force search, however filled (property)", () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(nameArb, { minLength: 1, maxLength: 12 }),
      fc.uniqueArray(nameArb, { minLength: 1, maxLength: 12 }),
      fc.array(fc.record({ name: fc.nat(), kind: kindArb, size: fc.constantFrom(0, 4) }), {
        maxLength: 30,
      }),
      fc.array(
        fc.record({
          name: fc.nat(),
          base: fc.boolean(),
          kind: kindArb,
          size: fc.constantFrom(0, 4),
        }),
        { maxLength: 30 },
      ),
      fc.array(nameArb, { maxLength: 6 }),
      (baseNames, splitNames, baseRecs, splitRecs, extra) => {
        const [bstrs, boffs] = strings(baseNames, true);
        const baseBytes = blob(
          baseRecs.map((r) => ({ ...r, name: r.name % baseNames.length })),
          boffs,
          boffs,
          0,
          bstrs,
        );
        const [sstrs, soffs] = strings(splitNames, false);
        const splitRecs_ = splitRecs.map((r) => ({
          kind: r.kind,
          size: r.size,
          name: r.base ? ~(r.name % baseNames.length) : r.name % splitNames.length,
        }));
        // Every name, its essential name, its prefixes and near misses.
        const queries = [
          ...new Set([...baseNames, ...splitNames, ...extra].flatMap((n) => [
            n,
            essentialName(n),
            n.slice(0, -1),
            `${n}___a`,
            "",
          ])),
        ];
        const split = (base: Spec) =>
          parseBtf(blob(splitRecs_, soffs, boffs, bstrs.length, sstrs), { base });

        // typeIdByName first, on fresh specs.
        checkFirst(parseBtf(baseBytes), queries);
        checkFirst(split(parseBtf(baseBytes)), queries);
        // One lookup at a time: scans, then the hash index (after 8 scans).
        const base1 = parseBtf(baseBytes);
        check(base1, queries);
        check(split(base1), queries);
        // The names found in the parse walk, then the others.
        const base2 = parseBtf(baseBytes, { findNames: queries.slice(0, queries.length >> 1) });
        check(base2, [...queries].reverse());
        const split2 = parseBtf(blob(splitRecs_, soffs, boffs, bstrs.length, sstrs), {
          base: parseBtf(baseBytes),
          findNames: queries,
        });
        check(split2, queries);
        // One batch scan for all.
        const base3 = parseBtf(baseBytes);
        base3.prefetchNames(queries);
        check(base3, queries);
      },
    ),
    { numRuns: 150 },
  );
});

Deno.test("name index: a name's flavours are types named name___x whose essential name it is", () => {
  const names = [
    "foo",
    "foo___v2",
    "foo___v2___x",
    "foo____x",
    "foox",
    "foo___",
    "fo",
    "q___1",
    "q",
  ];
  const [strs, offs] = strings(names, true);
  const recs: Rec[] = names.map((_, i) => ({ name: i, kind: "struct", size: 4 }));
  for (const findNames of [[], ["foo", "q", "foo___v2"]]) {
    const spec = parseBtf(blob(recs, offs, offs, 0, strs), { findNames });
    const named = (ids: number[]) => ids.map((id) => spec.typeById(id).name);
    assert.deepEqual(named(spec.ownFlavouredTypeIds("foo")), ["foo___v2"]);
    assert.deepEqual(named(spec.ownFlavouredTypeIds("foo___v2")), ["foo___v2___x"]);
    assert.deepEqual(named(spec.ownFlavouredTypeIds("q")), ["q___1"]);
    assert.deepEqual(named(spec.ownFlavouredTypeIds("fo")), []);
    assert.deepEqual(named(spec.ownTypeIdsByName("foo")), ["foo"]);
    assert.deepEqual(spec.ownFlavouredTypeIds(""), []);
  }
});
