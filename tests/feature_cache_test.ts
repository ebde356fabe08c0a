// The probes are one mechanism with one cache (src/sys/probe_cache.ts): the
// collection loader's BTF kind probes go through the feature probes
// (src/features/btf_kinds.ts), and the program loader's type check shares
// the cache.

import assert from "node:assert/strict";
import { probeBtfFeatures } from "../src/features/btf_kinds.ts";
import { _forget, _injectOutcome } from "../src/features/_cache.ts";
import { probeSyscallCount } from "../src/features/_raw.ts";
import { ALL_BTF_FEATURES } from "../src/btf/marshal.ts";
import { loadProgram } from "../src/program/load.ts";
import { ProgramType } from "../src/sys/abi.ts";
import { SyscallError } from "../src/sys/error.ts";
import { NotSupportedError } from "../src/errors.ts";

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

Deno.test("the program loader's 'unknown program type?' check shares the probes' cache", () => {
  // Attributes the kernel rejects before the verifier (an unknown prog_flags
  // bit): the loader asks whether the kernel knows socket_filter at all.
  const bad = {
    type: "socket_filter",
    instructions: new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]),
    license: "GPL",
    flags: 1 << 30,
  } as const;
  _forget();
  assert.throws(
    () => loadProgram(bad),
    (e: unknown) => e instanceof SyscallError && e.code === "EINVAL",
  );
  // Its answer lives in the one cache: injected there, it is what the loader sees.
  _injectOutcome(`prog-known:${ProgramType.socket_filter}:0`, false);
  try {
    assert.throws(() => loadProgram(bad), NotSupportedError);
  } finally {
    _forget();
  }
  assert.throws(
    () => loadProgram(bad),
    (e: unknown) => e instanceof SyscallError && e.code === "EINVAL",
  );
});
