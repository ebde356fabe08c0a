// Tracing attachments on the real kernel: tracepoint (link and legacy
// ioctl), raw tracepoint, tp_btf, task iterator, perf event, pinning,
// link info/update/detach, the kprobe / kprobe_multi / fentry error paths,
// and a clean detach checked with bpftool.

import assert from "node:assert/strict";
import {
  attachIter,
  attachKprobe,
  attachKprobeMulti,
  attachPerfEvent,
  attachRawTracepoint,
  attachTracepoint,
  attachTracing,
  BpfLink,
  IterLink,
  LegacyLink,
  linkFromId,
  linkIds,
  loadPinnedLink,
  matchKernelFunctions,
  readIter,
} from "../src/link/mod.ts";
import { NotSupportedError } from "../src/errors.ts";
import { haveFeature, probeProgramType } from "../src/features/mod.ts";
import { loadProgram } from "../src/program/mod.ts";
import { loadKernelSpec } from "../src/btf/kernel.ts";
import { libc } from "../src/sys/_libc.ts";
import { PerfSwConfig, PerfType } from "../src/sys/perf_event.ts";
import * as asm from "../src/asm/builders.ts";
import { R0, R1, R10, R2, R3, R4, R5, R6, R7 } from "../src/asm/register.ts";
import { bpftoolIds, Counter, countingProgram, ensureTracefs } from "./link_fixtures.ts";
import { mountBpffs } from "./_helpers.ts";
import { program } from "./program_fixtures.ts";

await ensureTracefs();
/** Counts are of this thread's getpid calls: Deno's other threads make some too. */
const TID = libc().gettid();
/**
 * Whether the kernel fills in a perf-event link's details (6.6); before, its
 * info has the link type and program only, and those assertions are skipped.
 */
const PERF_LINK_INFO = haveFeature("perf_link_info");

function getpids(n: number): void {
  for (let i = 0; i < n; i++) libc().getpid();
}

Deno.test("attachTracepoint: sys_enter_getpid counts our getpid calls (BPF_LINK_CREATE)", () => {
  using counter = new Counter();
  using prog = countingProgram(counter, { type: "tracepoint", name: "tp_getpid" }, { tid: TID });
  using link = attachTracepoint(prog, { group: "syscalls", name: "sys_enter_getpid" });
  assert.ok(link instanceof BpfLink);
  getpids(25);
  assert.equal(counter.value, 25n);
  const info = link.info();
  assert.equal(info.typeName, "perf_event");
  assert.equal(info.progId, prog.id);
  if (PERF_LINK_INFO) {
    assert.equal(info.perfEvent?.type, "tracepoint");
    assert.equal(info.perfEvent?.name, "sys_enter_getpid");
  }
  link.close();
  getpids(10);
  assert.equal(counter.value, 25n, "no counting after close");
});

Deno.test("attachTracepoint: cookie shows in link info", () => {
  using counter = new Counter();
  using prog = countingProgram(counter, { type: "tracepoint" }, { tid: TID });
  using link = attachTracepoint(prog, {
    group: "syscalls",
    name: "sys_enter_getpid",
    cookie: 0x1234n,
  });
  if (PERF_LINK_INFO) assert.equal(link.info().perfEvent?.cookie, 0x1234n);
  else assert.equal(link.info().typeName, "perf_event");
  getpids(3);
  assert.equal(counter.value, 3n);
});

Deno.test("attachTracepoint: legacy PERF_EVENT_IOC_SET_BPF path", () => {
  using counter = new Counter();
  using prog = countingProgram(counter, { type: "tracepoint" }, { tid: TID });
  const link = attachTracepoint(prog, {
    group: "syscalls",
    name: "sys_enter_getpid",
    legacy: true,
  });
  assert.ok(link instanceof LegacyLink);
  assert.equal(link.isBpfLink, false);
  getpids(7);
  assert.equal(counter.value, 7n);
  assert.throws(() => link.pin("/sys/fs/bpf/x"), NotSupportedError);
  assert.throws(() => link.info(), NotSupportedError);
  assert.throws(
    () =>
      attachTracepoint(prog, {
        group: "syscalls",
        name: "sys_enter_getpid",
        legacy: true,
        cookie: 1,
      }),
    NotSupportedError,
  );
  link.close();
  getpids(5);
  assert.equal(counter.value, 7n);
  link.close(); // idempotent
});

Deno.test("attachTracepoint: bad names and wrong program types are refused", () => {
  using counter = new Counter();
  using prog = countingProgram(counter, { type: "tracepoint" });
  assert.throws(
    () => attachTracepoint(prog, { group: "../syscalls", name: "x" }),
    /must not contain '\/', '\.\.'/,
  );
  assert.throws(
    () => attachTracepoint(prog, { group: "syscalls", name: "a/b" }),
    /must not contain/,
  );
  assert.throws(
    () => attachTracepoint(prog, { group: "syscalls", name: "sys_enter_nonexistent_zz" }),
    /does not exist/,
  );
  using xdp = countingProgram(counter, { type: "xdp" }, { ret: 2 });
  assert.throws(
    () => attachTracepoint(xdp, { group: "syscalls", name: "sys_enter_getpid" }),
    /needs a program of type tracepoint; this one is xdp/,
  );
});

Deno.test("attachRawTracepoint: sys_enter counts our getpid calls", () => {
  using counter = new Counter();
  using prog = countingProgram(counter, { type: "raw_tracepoint" }, { tid: TID });
  using link = attachRawTracepoint(prog, { name: "sys_enter" });
  getpids(20);
  assert.ok(counter.value >= 20n, `count ${counter.value}`);
  const info = link.info();
  assert.equal(info.typeName, "raw_tracepoint");
  assert.equal(info.rawTracepoint?.name, "sys_enter");
  link.close();
  const after = counter.value;
  getpids(10);
  assert.equal(counter.value, after);
  assert.throws(() => attachRawTracepoint(prog, { name: "no_such_tp_zz" }), NotSupportedError);
});

Deno.test("attachTracing: tp_btf sys_enter, by link and by raw_tracepoint_open", () => {
  const spec = loadKernelSpec();
  const btfId = spec.typeIdByName("btf_trace_sys_enter", "typedef");
  assert.ok(btfId);
  using counter = new Counter();
  using prog = countingProgram(counter, {
    type: "tracing",
    attachType: "trace_raw_tp",
    attachBtfId: btfId,
  }, { tid: TID });
  // The program knows its attach type: a tracing link (BPF_LINK_CREATE).
  assert.equal(prog.attachTypeName, "trace_raw_tp");
  using link = attachTracing(prog);
  getpids(15);
  assert.ok(counter.value >= 15n);
  assert.equal(link.kind, "tp_btf");
  const info = link.info();
  assert.equal(info.typeName, "raw_tracepoint");
  assert.equal(info.rawTracepoint?.name, "sys_enter");
  link.close();
  counter.reset();
  // Without an attach type: BPF_RAW_TRACEPOINT_OPEN with no name.
  using link2 = attachTracing({ fd: prog.fd, type: prog.type });
  getpids(5);
  assert.ok(counter.value >= 5n);
  link2.close();
});

// This kernel's policy refuses fentry (EPERM at load); where fentry loads,
// tests/vm/link_test.ts attaches it.
const FENTRY_LOADS = probeProgramType("tracing").supported;
Deno.test({
  name: `attachTracing / fentry: this kernel refuses fentry at load (EPERM), before attach${
    FENTRY_LOADS ? " (skipped: this kernel loads tracing programs; no refusal to check)" : ""
  }`,
  ignore: FENTRY_LOADS,
  fn: fentryRefused,
});

function fentryRefused() {
  const spec = loadKernelSpec();
  const btfId = spec.typeIdByName("__do_sys_getpid", "func");
  assert.ok(btfId);
  assert.throws(
    () =>
      loadProgram({
        type: "tracing",
        attachType: "trace_fentry",
        attachBtfId: btfId,
        instructions: program(asm.mov64(R0, 0), asm.exit()),
      }),
    (e: Error) => /EPERM|not permitted|refused/i.test(e.message),
  );
  assert.equal(typeof attachTracing, "function");
}

Deno.test("attachIter: task iterator output through bpf_seq_printf", async () => {
  const spec = loadKernelSpec();
  const btfId = spec.typeIdByName("bpf_iter_task", "func");
  assert.ok(btfId);
  // r6 = ctx->meta; r7 = ctx->task; if !task exit; seq_printf(meta->seq, "task\n")
  const fmt = new TextEncoder().encode("task\n\0\0\0");
  const fmtWord = new DataView(fmt.buffer).getBigUint64(0, true);
  const code = program(
    asm.ldxdw(R6, R1, 0), // r6 = ctx->meta
    asm.ldxdw(R7, R1, 8), // r7 = ctx->task
    asm.jeq(R7, 0, "out"), // no task
    asm.lddw(R1, fmtWord),
    asm.stxdw(R10, -8, R1), // *(u64 *)(r10 - 8) = "task\n\0\0\0"
    asm.ldxdw(R1, R6, 0), // r1 = meta->seq
    asm.mov64(R2, R10),
    asm.add64(R2, -8),
    asm.mov64(R3, 6),
    asm.mov64(R4, 0),
    asm.mov64(R5, 0),
    asm.call("seq_printf"),
    asm.mov64(R0, 0).withSymbol("out"),
    asm.exit(),
  );
  using prog = loadProgram({
    type: "tracing",
    attachType: "trace_iter",
    attachBtfId: btfId,
    instructions: code,
    name: "iter_task",
  });
  using link = attachIter(prog);
  assert.ok(link instanceof IterLink);
  const text = readIter(link);
  const lines = text.split("\n").filter(Boolean);
  assert.ok(lines.length > 5, `only ${lines.length} tasks`);
  assert.ok(lines.every((l) => l === "task"));
  assert.equal(link.info().iter?.targetName, "task");
  // A second pass, as a stream.
  using it = link.open();
  const reader = it.readable.getReader();
  let streamed = "";
  for (;;) {
    const { done, value } = (await reader.read()) as ReadableStreamReadResult<Uint8Array>;
    if (done) break;
    streamed += new TextDecoder().decode(value);
  }
  assert.ok(streamed.startsWith("task\n"));
});

Deno.test("attachPerfEvent: a perf_event program on a software clock event", async () => {
  using counter = new Counter();
  using prog = countingProgram(counter, { type: "perf_event" });
  using link = attachPerfEvent(prog, {
    attr: {
      type: PerfType.SOFTWARE,
      config: PerfSwConfig.CPU_CLOCK,
      samplePeriod: 100_000, // every 0.1 ms of CPU time
      flags: ["disabled"],
    },
    pid: 0,
    cpu: -1,
  });
  // Burn CPU until a sample is taken (a fixed 50 ms of wall time is less CPU
  // time the more loaded the machine). The deadline only ends a hang.
  const deadline = Date.now() + 60_000;
  while (counter.value === 0n && Date.now() < deadline) {
    const end = Date.now() + 5;
    while (Date.now() < end) { /* burn CPU */ }
  }
  await Promise.resolve();
  assert.ok(counter.value > 0n, "the sampling program ran");
  if (PERF_LINK_INFO) assert.equal(link.info().perfEvent?.type, "event");
  else assert.equal(link.info().typeName, "perf_event");
});

Deno.test("link pinning: a pinned tracepoint link survives closing its fd", async () => {
  await using fs = await mountBpffs();
  using counter = new Counter();
  using prog = countingProgram(counter, { type: "tracepoint" }, { tid: TID });
  const link = attachTracepoint(prog, { group: "syscalls", name: "sys_enter_getpid" });
  const id = link.info().id;
  link.pin(`${fs.path}/tp`);
  assert.equal(link.pinnedPath, `${fs.path}/tp`);
  link.close();
  getpids(4);
  assert.equal(counter.value, 4n, "still attached through the pin");
  using again = loadPinnedLink(`${fs.path}/tp`);
  assert.equal(again.info().id, id);
  assert.equal(again.kind, "perf_event");
  using byId = linkFromId(id);
  assert.equal(byId.info().progId, prog.id);
  assert.ok([...linkIds()].includes(id));
  again.unpin();
  again.close();
  byId.close();
  getpids(4);
  assert.equal(counter.value, 4n, "detached once the pin and fds are gone");
});

Deno.test("link update and detach: perf_event links refuse both with NotSupportedError", () => {
  using counter = new Counter();
  using prog = countingProgram(counter, { type: "tracepoint" });
  using prog2 = countingProgram(counter, { type: "tracepoint" });
  using link = attachTracepoint(prog, { group: "syscalls", name: "sys_enter_getpid" });
  assert.throws(() => link.update(prog2), NotSupportedError);
  assert.throws(() => link.detach(), NotSupportedError);
});

Deno.test({
  name: `attachKprobe: no kprobes here → NotSupportedError naming CONFIG_KPROBES${
    haveFeature("kprobes")
      ? " (skipped: this kernel has kprobes; tests/vm/link_test.ts attaches them)"
      : ""
  }`,
  ignore: haveFeature("kprobes"),
  fn: noKprobes,
});

function noKprobes() {
  using counter = new Counter();
  using prog = countingProgram(counter, { type: "kprobe" });
  for (const retprobe of [false, true]) {
    assert.throws(
      () => attachKprobe(prog, { symbol: "__do_sys_getpid", retprobe }),
      (e: unknown) => {
        assert.ok(e instanceof NotSupportedError, String(e));
        assert.equal(e.feature, "kprobes");
        assert.match(e.message, /CONFIG_KPROBES/);
        assert.match(e.message, /\/sys\/bus\/event_source\/devices\/kprobe\/type/);
        assert.match(e.message, /kprobe_events/);
        return true;
      },
    );
  }
}

Deno.test({
  name: `attachKprobeMulti: EOPNOTSUPP here → NotSupportedError naming CONFIG_FPROBE${
    haveFeature("kprobe_multi_link")
      ? " (skipped: this kernel has kprobe_multi links; no refusal to check)"
      : ""
  }`,
  ignore: haveFeature("kprobe_multi_link"),
  fn: noKprobeMulti,
});

function noKprobeMulti() {
  using counter = new Counter();
  using prog = countingProgram(counter, { type: "kprobe", attachType: "trace_kprobe_multi" });
  for (
    const opts of [
      { symbols: ["__do_sys_getpid"] },
      { pattern: "__do_sys_getpi?" },
      { symbols: ["__do_sys_getpid"], retprobe: true, cookies: [7n] },
    ]
  ) {
    assert.throws(
      () => attachKprobeMulti(prog, opts),
      (e: unknown) => {
        assert.ok(e instanceof NotSupportedError, String(e));
        assert.equal(e.feature, "kprobe_multi links");
        assert.match(e.message, /CONFIG_FPROBE/);
        assert.match(e.message, /5\.18/);
        return true;
      },
    );
  }
  assert.deepEqual(matchKernelFunctions("__do_sys_getpi?"), ["__do_sys_getpid"]);
  assert.throws(
    () => attachKprobeMulti(prog, { pattern: "zz_no_such_fn_*" }),
    /no kernel function/,
  );
  assert.throws(() => attachKprobeMulti(prog, {}), /exactly one/);
}

Deno.test("clean detach: bpftool lists none of our links or programs afterwards", async () => {
  const before = await bpftoolIds();
  const ours: { links: number[]; progs: number[] } = { links: [], progs: [] };
  {
    using counter = new Counter();
    using tp = countingProgram(counter, { type: "tracepoint" });
    using raw = countingProgram(counter, { type: "raw_tracepoint" });
    using l1 = attachTracepoint(tp, { group: "syscalls", name: "sys_enter_getpid" });
    using l2 = attachRawTracepoint(raw, { name: "sys_enter" });
    ours.links.push(l1.info().id, l2.info().id);
    ours.progs.push(tp.id, raw.id);
    const during = await bpftoolIds();
    for (const id of ours.links) {
      assert.ok(during.links.has(id), `link ${id} listed while attached`);
    }
  }
  const after = await bpftoolIds();
  for (const id of ours.links) assert.ok(!after.links.has(id), `link ${id} left behind`);
  for (const id of ours.progs) assert.ok(!after.progs.has(id), `program ${id} left behind`);
  for (const id of after.links) {
    assert.ok(before.links.has(id) || !ours.links.includes(id));
  }
});
