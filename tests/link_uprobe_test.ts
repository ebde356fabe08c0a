// uprobes, uretprobes, uprobe_multi and USDT on a small C program built
// from testdata/uprobe/target.c, on the real kernel.

import assert from "node:assert/strict";
import {
  attachUprobe,
  attachUprobeMulti,
  attachUsdt,
  BpfLink,
  LegacyLink,
  LinkGroup,
} from "../src/link/mod.ts";
import { NotFoundError } from "../src/errors.ts";
import { haveFeature } from "../src/features/mod.ts";
import { Counter, countingProgram, ensureTracefs } from "./link_fixtures.ts";
import { buildTarget, cleanTargets, runTarget, WaitingTarget } from "./uprobe_fixtures.ts";

const NO_UPROBE_MULTI = haveFeature("uprobe_multi_link")
  ? ""
  : " (skipped: uprobe_multi links not supported by this kernel)";

/**
 * Whether the kernel fills in a perf-event link's details (6.6); before, its
 * info has the link type and program only, and those assertions are skipped.
 */
const PERF_LINK_INFO = haveFeature("perf_link_info");

await ensureTracefs();

Deno.test("attachUprobe: entry of a function in a PIE, counted per call", async () => {
  const path = await buildTarget("pie");
  using counter = new Counter();
  using prog = countingProgram(counter, { type: "kprobe" });
  using link = attachUprobe(prog, { path, symbol: "denobpf_target_add" });
  assert.ok(link instanceof BpfLink);
  await runTarget(path, 30);
  assert.equal(counter.value, 30n);
  const info = link.info();
  assert.equal(info.typeName, "perf_event");
  if (PERF_LINK_INFO) {
    assert.equal(info.perfEvent?.type, "uprobe");
    assert.equal(info.perfEvent?.name, path);
  }
  link.close();
  await runTarget(path, 5);
  assert.equal(counter.value, 30n, "nothing after close");
});

Deno.test("attachUprobe: uretprobe on a fixed-address executable, with a cookie", async () => {
  const path = await buildTarget("nopie");
  using counter = new Counter();
  using prog = countingProgram(counter, { type: "kprobe" });
  using link = attachUprobe(prog, {
    path,
    symbol: "denobpf_target_other",
    retprobe: true,
    cookie: 99n,
  });
  await runTarget(path, 12);
  assert.equal(counter.value, 12n);
  const info = link.info();
  assert.equal(info.typeName, "perf_event");
  if (PERF_LINK_INFO) {
    assert.equal(info.perfEvent?.type, "uretprobe");
    assert.equal(info.perfEvent?.cookie, 99n);
  }
});

Deno.test("attachUprobe: pid filter only counts that process", async () => {
  const path = await buildTarget("pie");
  using counter = new Counter();
  using prog = countingProgram(counter, { type: "kprobe" });
  const waiting = await WaitingTarget.start(path, 8);
  using _link = attachUprobe(prog, { path, symbol: "denobpf_target_add", pid: waiting.pid });
  await runTarget(path, 50); // another process: not counted
  assert.equal(counter.value, 0n);
  await waiting.go();
  assert.equal(counter.value, 8n);
});

Deno.test("attachUprobe: tracefs uprobe_events (link and legacy ioctl), removed on close", async () => {
  const path = await buildTarget("pie");
  using counter = new Counter();
  using prog = countingProgram(counter, { type: "kprobe" });
  const events = () => Deno.readTextFileSync("/sys/kernel/tracing/uprobe_events");
  for (const legacy of [false, true]) {
    counter.reset();
    const link = attachUprobe(prog, {
      path,
      symbol: "denobpf_target_add",
      tracefsOnly: true,
      legacy,
    });
    assert.equal(link instanceof LegacyLink, legacy);
    assert.match(events(), new RegExp(`denobpf/uprobe_target_pie_[0-9a-f]+_${Deno.pid}_`));
    await runTarget(path, 6);
    assert.equal(counter.value, 6n);
    link.close();
    assert.doesNotMatch(events(), new RegExp(`_${Deno.pid}_\\d+ `), "event removed");
    await runTarget(path, 6);
    assert.equal(counter.value, 6n);
  }
});

Deno.test("attachUprobe: errors name what is missing", async () => {
  using counter = new Counter();
  using prog = countingProgram(counter, { type: "kprobe" });
  const path = await buildTarget("pie");
  assert.throws(() => attachUprobe(prog, { path, symbol: "nope_zz" }), NotFoundError);
  assert.throws(() => attachUprobe(prog, { path: "/no/such/bin", symbol: "x" }), NotFoundError);
  assert.throws(() => attachUprobe(prog, { path }), /give symbol or offset/);
  using tp = countingProgram(counter, { type: "tracepoint" });
  assert.throws(() => attachUprobe(tp, { path, symbol: "main" }), /type kprobe/);
});

Deno.test({
  name: `attachUprobeMulti: two functions, entries then returns, in one link${NO_UPROBE_MULTI}`,
  ignore: !haveFeature("uprobe_multi_link"),
  fn: uprobeMultiTwoFunctions,
});

async function uprobeMultiTwoFunctions() {
  const path = await buildTarget("pie");
  using counter = new Counter();
  using prog = countingProgram(counter, { type: "kprobe", attachType: "trace_uprobe_multi" });
  {
    using link = attachUprobeMulti(prog, {
      path,
      symbols: ["denobpf_target_add", "denobpf_target_other"],
      cookies: [1n, 2n],
    });
    await runTarget(path, 10);
    assert.equal(counter.value, 20n);
    const info = link.info();
    assert.equal(info.typeName, "uprobe_multi");
    assert.equal(info.uprobeMulti?.count, 2);
    assert.equal(info.uprobeMulti?.path, path);
    assert.deepEqual(info.uprobeMulti?.cookies, [1n, 2n]);
  }
  counter.reset();
  {
    using _link = attachUprobeMulti(prog, {
      path,
      symbols: ["denobpf_target_add"],
      retprobe: true,
    });
    await runTarget(path, 4);
    assert.equal(counter.value, 4n);
  }
  assert.throws(
    () => attachUprobeMulti(prog, { path, symbols: ["a"], offsets: [1] }),
    /exactly one/,
  );
}

Deno.test("attachUsdt: uprobe per location with the semaphore as reference counter", async () => {
  for (const kind of ["pie", "handnote"] as const) {
    const path = await buildTarget(kind);
    using counter = new Counter();
    using prog = countingProgram(counter, { type: "kprobe" });
    const before = await runTarget(path, 3);
    assert.equal(before.enabled, 0, "semaphore off without a probe");
    const usdt = attachUsdt(prog, { path, provider: "denobpf", name: "tick" });
    const { links: [link], probes } = usdt;
    try {
      assert.equal(probes.length, 1);
      assert.equal(usdt.links.length, 1);
      assert.ok(!(link instanceof LinkGroup));
      const r = await runTarget(path, 9);
      assert.equal(counter.value, 9n, kind);
      assert.equal(r.enabled, 9, "the kernel set the semaphore while attached");
      if (PERF_LINK_INFO) {
        assert.equal(link.info().perfEvent?.refCtrOffset, probes[0].semaphoreOffset);
      }
    } finally {
      usdt.close();
    }
    assert.equal((await runTarget(path, 2)).enabled, 0);
  }
});

Deno.test({
  name: `attachUsdt: through uprobe_multi${NO_UPROBE_MULTI}`,
  ignore: !haveFeature("uprobe_multi_link"),
  fn: usdtThroughUprobeMulti,
});

async function usdtThroughUprobeMulti() {
  const path = await buildTarget("pie");
  using counter = new Counter();
  using prog = countingProgram(counter, { type: "kprobe", attachType: "trace_uprobe_multi" });
  // The program was loaded for uprobe_multi: attachUsdt picks it by itself.
  const usdt = attachUsdt(prog, { path, provider: "denobpf", name: "tick" });
  try {
    const r = await runTarget(path, 5);
    assert.equal(counter.value, 5n);
    assert.equal(r.enabled, 5);
    assert.equal(usdt.links[0].info().typeName, "uprobe_multi");
  } finally {
    usdt.close();
  }
  // An explicit method overrides the default: uprobe_multi for a program
  // given as a bare descriptor (no attach type to go by).
  counter.reset();
  const explicit = attachUsdt(prog.fd, {
    path,
    provider: "denobpf",
    name: "tick",
    method: "multi",
  });
  try {
    await runTarget(path, 2);
    assert.equal(counter.value, 2n);
    assert.equal(explicit.links[0].info().typeName, "uprobe_multi");
  } finally {
    explicit.close();
  }
}

Deno.test("cleanup: remove built targets", async () => {
  await cleanTargets();
});
