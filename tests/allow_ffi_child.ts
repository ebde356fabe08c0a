// Run by tests/allow_ffi_test.ts as
//
//   deno run --allow-ffi --no-prompt tests/allow_ffi_child.ts <json>
//
// with no other Deno permission: it exercises each public function family
// the way a user's script would (importing `@denobpf/ebpf` by name) and
// prints one line per family: `ok <family>: <detail>`, `skip <family>:
// <feature probe that said no>` or `FAIL <family>: <error>`, then `done`.
// The JSON argument names what the parent prepared: a fake kernel root with
// module BTF, a bpffs directory, a cgroup v2 directory, a USDT target.
// For USDT the child prints `wait usdt` and reads one stdin line: the
// parent runs the target in between (running it needs --allow-run).

import {
  kernelModuleOf,
  kernelModuleSpecs,
  loadCollection,
  loadCollectionSpec,
  loadKernelSpec,
  resolveKernelTypes,
} from "@denobpf/ebpf";
import { BtfCache } from "@denobpf/ebpf/btf";
import { loadKallsyms, symbolAddress } from "@denobpf/ebpf/kallsyms";
import { createMap, loadPinnedMap } from "@denobpf/ebpf/map";
import { loadProgram } from "@denobpf/ebpf/program";
import {
  attachCgroup,
  attachIter,
  attachNetfilter,
  attachPerfEvent,
  attachRawTracepoint,
  attachSocketFilter,
  attachTc,
  attachTcx,
  attachTracepoint,
  attachTracing,
  attachUprobe,
  attachUprobeMulti,
  attachUsdt,
  attachXdp,
  readIter,
} from "@denobpf/ebpf/link";
import { ringBufReader } from "@denobpf/ebpf/ringbuf";
import { perfReader } from "@denobpf/ebpf/perf";
import { probe, tracepoint, uprobe } from "@denobpf/ebpf/probe";
import { resolveBinaryPath } from "@denobpf/ebpf/uprobe";
import { haveFeature, haveProgramType } from "@denobpf/ebpf/features";
import { PerfSwConfig, PerfType, possibleCpuCount } from "@denobpf/ebpf/unstable-sys";
import * as asm from "../src/asm/builders.ts";
import { R0, R1, R10, R2, R3, R4, R5, R6, R7 } from "../src/asm/register.ts";
import { Counter, countingInsns } from "./link_fixtures.ts";
import { program } from "./program_fixtures.ts";
import { decodeRecord, perfWriter, ringbufWriter, runOnce } from "./_events_fixtures.ts";

/** What the parent prepared. */
interface Setup {
  /** A fake kernel root: proc/kallsyms, sys/kernel/btf/{vmlinux,<module>}. */
  root: string;
  /** The module with BTF under `root`, and a function kallsyms puts in it. */
  module: string;
  moduleFunction: string;
  /** A directory on bpffs for pins. */
  bpffs: string;
  /** A cgroup v2 directory. */
  cgroup: string;
  /** An executable with a USDT probe denobpf:tick. */
  usdtTarget: string;
  /** A library only in LD_LIBRARY_PATH (a copy of libc), by name and path. */
  library: string;
  libraryPath: string;
  /** An executable only in PATH, by name and path. */
  tool: string;
  toolPath: string;
}

const setup = JSON.parse(Deno.args[0]) as Setup;
const libc = Deno.dlopen("libc.so.6", {
  getpid: { parameters: [], result: "i32" },
  getppid: { parameters: [], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
});

async function family(name: string, fn: () => unknown | Promise<unknown>): Promise<void> {
  try {
    const detail = await fn();
    console.log(`ok ${name}: ${detail ?? ""}`);
  } catch (e) {
    const msg = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
    console.log(`FAIL ${name}: ${msg.replaceAll("\n", " ")}`);
  }
}

function skip(name: string, why: string): void {
  console.log(`skip ${name}: ${why}`);
}

function check(cond: boolean, what: string): void {
  if (!cond) throw new Error(what);
}

const pid = Deno.pid;
const counting = (counter: Counter, type: string, ret = 0, extra: object = {}, onlyUs = false) =>
  loadProgram(
    {
      type,
      ...extra,
      instructions: countingInsns(counter.fd.value, { ret, pid: onlyUs ? pid : undefined }),
    } as Parameters<typeof loadProgram>[0],
  );

async function stdinLine(): Promise<string> {
  const buf = new Uint8Array(64);
  const n = await Deno.stdin.read(buf);
  return new TextDecoder().decode(buf.subarray(0, n ?? 0));
}

// ---- kernel BTF and module BTF ----------------------------------------------

await family("kernel BTF", () => {
  const spec = loadKernelSpec();
  check(spec.typeByName("task_struct", "struct") !== undefined, "no task_struct");
  const kt = resolveKernelTypes("__do_sys_getpid");
  check(kt.module === undefined, `__do_sys_getpid in ${kt.module}`);
  return `${spec.typeCount} types, kernelModuleSpecs: ${kernelModuleSpecs().names.length}`;
});

await family("module BTF", () => {
  const cache = new BtfCache();
  const opts = { root: setup.root, cache };
  const vmlinux = loadKernelSpec(opts);
  check(vmlinux.typeCount > 1000, "vmlinux from the root");
  const mod = kernelModuleOf(setup.moduleFunction, opts);
  check(mod === setup.module, `kernelModuleOf said ${mod}`);
  const specs = kernelModuleSpecs(opts);
  check(specs.names.includes(setup.module), `kernelModuleSpecs: ${specs.names}`);
  const kt = resolveKernelTypes(setup.moduleFunction, opts);
  check(kt.moduleSpec !== undefined, "no module spec");
  check(
    kt.moduleSpec!.typeByName("denobpf_module_only", "struct") !== undefined,
    "module type missing",
  );
  return `${setup.moduleFunction} in ${mod}, ${kt.describe()}`;
});

// ---- kallsyms ---------------------------------------------------------------

await family("kallsyms", () => {
  const table = loadKallsyms();
  const addr = symbolAddress("__do_sys_getpid");
  check(addr !== undefined && addr !== 0n, "no address for __do_sys_getpid");
  return `${table.size ?? "?"} symbols; __do_sys_getpid at 0x${addr!.toString(16)}`;
});

// ---- maps -------------------------------------------------------------------

await family("maps", () => {
  const key = new Uint8Array(4);
  const value = new Uint8Array(8).fill(7);
  using hash = createMap({ type: "hash", keySize: 4, valueSize: 8, maxEntries: 4 });
  hash.update(key, value);
  check(hash.lookup(key)?.[0] === 7, "hash lookup");
  using array = createMap({ type: "array", keySize: 4, valueSize: 8, maxEntries: 4 });
  array.update(key, value);
  using percpu = createMap({ type: "percpu_array", keySize: 4, valueSize: 8, maxEntries: 4 });
  const cpus = possibleCpuCount();
  percpu.update(key, new Uint8Array(8 * cpus).fill(1));
  check(percpu.lookup(key)?.length === 8 * cpus, "per-CPU value size");
  const path = `${setup.bpffs}/ffi_array`;
  array.pin(path);
  {
    using again = loadPinnedMap(path);
    check(again.lookup(key)?.[0] === 7, "pinned map reads back");
    again.unpin();
  }
  return `hash, array, per-CPU array over ${cpus} CPUs; pinned and unpinned ${path}`;
});

// ---- programs ---------------------------------------------------------------

await family("programs", () => {
  using prog = loadProgram({
    type: "socket_filter",
    instructions: program(asm.mov64(R0, 42), asm.exit()),
  });
  const r = prog.testRunSync({ data: new Uint8Array(64) });
  check(r.retval === 42, `retval ${r.retval}`);
  return `loaded id ${prog.id}, test run returned 42`;
});

// ---- collections ------------------------------------------------------------

await family("collections", async () => {
  const spec = loadCollectionSpec(new URL("../testdata/bpf/many_bpfel.o", import.meta.url));
  await using coll = await loadCollection(spec, { parallel: 4 });
  const n = Object.keys(coll.programs).length;
  check(n > 1, "programs");
  await using core = await loadCollection(
    loadCollectionSpec(new URL("../testdata/bpf/core_bpfel.o", import.meta.url)),
  );
  const relocs = core.coreRelocations.core_task.length;
  check(relocs > 0, "no CO-RE relocations");
  return `many_bpfel.o: ${n} programs loaded in parallel; core_bpfel.o: ${relocs} CO-RE relocations`;
});

// ---- attach kinds -----------------------------------------------------------

await family("attach tracepoint", () => {
  using counter = new Counter();
  using prog = counting(counter, "tracepoint", 0, {}, true);
  {
    using _l = attachTracepoint(prog, { group: "syscalls", name: "sys_enter_getpid" });
    for (let i = 0; i < 5; i++) libc.symbols.getpid();
  }
  check(counter.value === 5n, `counted ${counter.value}`);
  return "syscalls:sys_enter_getpid counted 5";
});

await family("attach raw tracepoint", () => {
  using counter = new Counter();
  using prog = counting(counter, "raw_tracepoint", 0, {}, true);
  {
    using _l = attachRawTracepoint(prog, { name: "sys_enter" });
    for (let i = 0; i < 5; i++) libc.symbols.getpid();
  }
  check(counter.value >= 5n, `counted ${counter.value}`);
  return `sys_enter counted ${counter.value}`;
});

await family("attach tp_btf", () => {
  const btfId = loadKernelSpec().typeIdByName("btf_trace_sys_enter", "typedef");
  check(btfId !== undefined, "no btf_trace_sys_enter");
  using counter = new Counter();
  using prog = counting(counter, "tracing", 0, {
    attachType: "trace_raw_tp",
    attachBtfId: btfId,
  }, true);
  {
    using _l = attachTracing(prog);
    for (let i = 0; i < 5; i++) libc.symbols.getpid();
  }
  check(counter.value >= 5n, `counted ${counter.value}`);
  return `sys_enter (tp_btf) counted ${counter.value}`;
});

await family("attach uprobe", () => {
  using counter = new Counter();
  using prog = counting(counter, "kprobe", 0, {}, true);
  {
    using _l = attachUprobe(prog, { path: "c", symbol: "getpid" });
    for (let i = 0; i < 7; i++) libc.symbols.getpid();
  }
  check(counter.value === 7n, `counted ${counter.value}`);
  return 'library "c" getpid counted 7';
});

await family("uprobe targets from LD_LIBRARY_PATH and PATH", () => {
  const lib = resolveBinaryPath(setup.library);
  check(lib === setup.libraryPath, `library ${setup.library} resolved to ${lib}`);
  const tool = resolveBinaryPath(setup.tool);
  check(tool === setup.toolPath, `${setup.tool} resolved to ${tool}`);
  using counter = new Counter();
  using prog = counting(counter, "kprobe");
  using _l = attachUprobe(prog, { path: setup.library, symbol: "getpid" });
  return `${setup.library} → ${lib}, ${setup.tool} → ${tool}`;
});

if (haveFeature("uprobe_multi_link")) {
  await family("attach uprobe_multi", () => {
    using counter = new Counter();
    using prog = counting(counter, "kprobe", 0, { attachType: "trace_uprobe_multi" }, true);
    {
      using _l = attachUprobeMulti(prog, { path: "c", symbols: ["getpid", "getppid"] });
      for (let i = 0; i < 3; i++) libc.symbols.getpid();
      for (let i = 0; i < 4; i++) libc.symbols.getppid();
    }
    check(counter.value === 7n, `counted ${counter.value}`);
    return 'library "c" getpid + getppid counted 7';
  });
} else skip("attach uprobe_multi", `haveFeature("uprobe_multi_link") says no`);

await family("attach usdt", async () => {
  using counter = new Counter();
  using prog = counting(counter, "kprobe");
  {
    using link = attachUsdt(prog, { path: setup.usdtTarget, provider: "denobpf", name: "tick" });
    console.log("wait usdt");
    await stdinLine(); // the parent runs the target 3 times
    check(link.probes.length >= 1, "no probe locations");
  }
  check(counter.value === 3n, `counted ${counter.value}`);
  return "denobpf:tick counted 3";
});

await family("attach xdp", () => {
  using counter = new Counter();
  using prog = counting(counter, "xdp", 2);
  using link = attachXdp(prog, { interface: "lo", mode: "generic" });
  return `lo (generic), link id ${link.info().id}`;
});

await family("attach tc", () => {
  using counter = new Counter();
  using prog = counting(counter, "sched_cls", 0);
  using link = attachTc(prog, { interface: "lo", direction: "ingress" });
  return `lo ingress clsact filter, handle ${link.handle}`;
});

if (haveFeature("tcx_link")) {
  await family("attach tcx", () => {
    using counter = new Counter();
    using prog = counting(counter, "sched_cls", -1);
    using link = attachTcx(prog, { interface: "lo", direction: "ingress" });
    return `lo ingress, link id ${link.info().id}`;
  });
} else skip("attach tcx", `haveFeature("tcx_link") says no`);

await family("attach cgroup", () => {
  using counter = new Counter();
  using prog = counting(counter, "cgroup_skb", 1, { attachType: "cgroup_inet_egress" });
  using link = attachCgroup(prog, { cgroup: setup.cgroup });
  return `${setup.cgroup} egress, ${link.info().cgroup?.attachTypeName}`;
});

await family("attach socket filter", () => {
  const sock = libc.symbols.socket(17, 3, 0x0300); // AF_PACKET, SOCK_RAW, htons(ETH_P_ALL)
  check(sock >= 0, "socket");
  try {
    using counter = new Counter();
    using prog = counting(counter, "socket_filter", 0);
    using _link = attachSocketFilter(prog, sock);
    return "AF_PACKET socket";
  } finally {
    libc.symbols.close(sock);
  }
});

await family("attach iter", () => {
  const btfId = loadKernelSpec().typeIdByName("bpf_iter_task", "func");
  check(btfId !== undefined, "no bpf_iter_task");
  const fmt = new TextEncoder().encode("task\n\0\0\0");
  const fmtWord = new DataView(fmt.buffer).getBigUint64(0, true);
  using prog = loadProgram({
    type: "tracing",
    attachType: "trace_iter",
    attachBtfId: btfId,
    name: "ffi_iter",
    instructions: program(
      asm.ldxdw(R6, R1, 0),
      asm.ldxdw(R7, R1, 8),
      asm.jeq(R7, 0, "out"),
      asm.lddw(R1, fmtWord),
      asm.stxdw(R10, -8, R1),
      asm.ldxdw(R1, R6, 0),
      asm.mov64(R2, R10),
      asm.add64(R2, -8),
      asm.mov64(R3, 6),
      asm.mov64(R4, 0),
      asm.mov64(R5, 0),
      asm.call("seq_printf"),
      asm.mov64(R0, 0).withSymbol("out"),
      asm.exit(),
    ),
  });
  using link = attachIter(prog);
  const lines = readIter(link).split("\n").filter(Boolean);
  check(lines.length > 1, `${lines.length} tasks`);
  return `task iterator: ${lines.length} tasks`;
});

await family("attach perf event", async () => {
  using counter = new Counter();
  using prog = counting(counter, "perf_event");
  using _link = attachPerfEvent(prog, {
    attr: {
      type: PerfType.SOFTWARE,
      config: PerfSwConfig.CPU_CLOCK,
      samplePeriod: 100_000,
      flags: ["disabled"],
    },
    pid: 0,
    cpu: -1,
  });
  while (counter.value === 0n) { /* burn CPU until the first sample */ }
  await Promise.resolve();
  return "software CPU clock sampled";
});

if (haveProgramType("netfilter")) {
  await family("attach netfilter", () => {
    using counter = new Counter();
    using prog = counting(counter, "netfilter", 1);
    using link = attachNetfilter(prog, { family: "ipv4", hook: "output", priority: -127 });
    return `ipv4 output, link id ${link.info().id}`;
  });
} else skip("attach netfilter", 'haveProgramType("netfilter") says no');

if (haveProgramType("struct_ops")) {
  await family("struct_ops", async () => {
    await using coll = await loadCollection(
      new URL("../testdata/bpf/struct_ops_bpfel.o", import.meta.url).pathname,
    );
    const r = coll.programs.dummy_test_1.testRunSync({ context: new Uint8Array(8) });
    check(r.retval === 7, `retval ${r.retval}`);
    return `bpf_dummy_ops map ${coll.maps.dummy.info().typeName}, test_1 returned 7`;
  });
} else skip("struct_ops", 'haveProgramType("struct_ops") says no');

// ---- readers ----------------------------------------------------------------

await family("ring buffer reader", () => {
  using map = createMap({ type: "ringbuf", keySize: 0, valueSize: 0, maxEntries: 4096 });
  using prog = ringbufWriter(map.fd);
  using reader = ringBufReader(map);
  for (let i = 0; i < 3; i++) runOnce(prog, 20 + i);
  const lens: number[] = [];
  reader.consume((rec) => void lens.push(decodeRecord(rec).len));
  check(lens.join() === "6,7,8", `records ${lens}`);
  return "3 records";
});

await family("perf reader", () => {
  using map = createMap({
    type: "perf_event_array",
    keySize: 4,
    valueSize: 4,
    maxEntries: possibleCpuCount(),
  });
  using prog = perfWriter(map.fd);
  using reader = perfReader(map);
  for (let i = 0; i < 3; i++) runOnce(prog, 20 + i);
  let n = 0;
  reader.consume((r) => void (r.data ? n++ : 0));
  check(n === 3, `records ${n}`);
  return "3 samples";
});

// ---- scripted probes --------------------------------------------------------

await family("probe tracepoint count", async () => {
  await using calls = await probe(tracepoint("syscalls:sys_enter_getppid"), {
    where: `pid == ${pid}`,
  }).count();
  for (let i = 0; i < 4; i++) libc.symbols.getppid();
  await calls.runFor(0.01);
  const n = calls.get();
  check(n === 4, `counted ${n}`);
  return "sys_enter_getppid counted 4";
});

await family("probe uprobe", async () => {
  await using calls = await probe(uprobe("c", "getppid"), { where: `pid == ${pid}` }).count();
  for (let i = 0; i < 6; i++) libc.symbols.getppid();
  await calls.runFor(0.01);
  const n = calls.get();
  check(n === 6, `counted ${n}`);
  return "uprobe:c:getppid counted 6";
});

await family("probe hist", async () => {
  await using sizes = await probe(tracepoint<{ ret: number }>("syscalls:sys_exit_getppid"), {
    where: `pid == ${pid}`,
  }).hist("args.ret");
  for (let i = 0; i < 3; i++) libc.symbols.getppid();
  await sizes.runFor(0.01);
  const h = sizes.get();
  const total = h?.buckets.reduce((a, b) => a + b.count, 0) ?? 0;
  check(total === 3, `histogram holds ${total}`);
  return "sys_exit_getppid return values: 3 in the histogram";
});

libc.close();
console.log("done");
