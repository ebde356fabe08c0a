// The feature probes are one mechanism with one cache: the collection
// loader's BTF kind probes go through it too (src/features/btf_kinds.ts).

import assert from "node:assert/strict";
import { probeBtfFeatures } from "../src/features/btf_kinds.ts";
import { _forget, _injectOutcome } from "../src/features/_cache.ts";
import { probeSyscallCount } from "../src/features/_raw.ts";
import { ALL_BTF_FEATURES } from "../src/btf/marshal.ts";

Deno.test("BTF kind probes: run once, counted, cached and injectable like every feature probe", () => {
  _forget("btf:kinds");
  const before = probeSyscallCount();
  const kinds = probeBtfFeatures();
  // Linux 6.0+ accepts every kind the probes try.
  assert.deepEqual(kinds, { ...ALL_BTF_FEATURES });
  assert.equal(probeSyscallCount() - before, Object.keys(ALL_BTF_FEATURES).length);
  // Cached: no more syscalls.
  assert.equal(probeBtfFeatures(), kinds);
  assert.equal(probeSyscallCount() - before, Object.keys(ALL_BTF_FEATURES).length);
  // An injected outcome answers, as for the other probes.
  _injectOutcome("btf:kinds", { ...kinds, float: false });
  assert.equal(probeBtfFeatures().float, false);
  _forget("btf:kinds");
  assert.equal(probeBtfFeatures().float, true);
});
