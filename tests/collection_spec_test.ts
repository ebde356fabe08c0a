// loadCollectionSpec: ELF objects built by clang (testdata/bpf, both byte
// orders) read into specs without touching the kernel — section names,
// maps of every style, global data and variables, externs, subprogram
// linking, .BTF.ext records — and the BTF marshalling for BPF_BTF_LOAD.

import assert from "node:assert/strict";
import {
  type CollectionSpec,
  loadCollectionSpec,
  sectionInfo,
  VariableSpec,
} from "../src/collection/mod.ts";
import { parseBtf } from "../src/btf/spec.ts";
import { marshalProgramBtf } from "../src/btf/marshal.ts";
import { marshalFuncInfos, marshalLineInfos, parseBtfExt } from "../src/btf/ext.ts";
import { parseElf } from "../src/elf/mod.ts";
import { bpfTry } from "../src/sys/bpf.ts";
import { closeRawFd } from "../src/sys/fd.ts";
import { InvalidArgumentError, ParseError } from "../src/errors.ts";
import { MapCreateFlag } from "../src/map/types.ts";

const dir = new URL("../testdata/bpf/", import.meta.url);
const obj = (name: string, arch = "bpfel") => new URL(`${name}_${arch}.o`, dir);
const OBJECTS = [
  "basic",
  "core",
  "core_missing",
  "externs",
  "ksyms_typed",
  "legacy",
  "legacy_in_map",
  "many",
  "module_target",
  "sections",
  "sections_new",
  "struct_ops",
  "tracing",
];

Deno.test("section names give program type, attach type, flags and target", () => {
  const cases: [string, string, string | undefined, string | undefined, number][] = [
    ["socket", "socket_filter", undefined, undefined, 0],
    ["kprobe/do_sys_open", "kprobe", undefined, "do_sys_open", 0],
    ["kretprobe/vfs_read+0x10", "kprobe", undefined, "vfs_read+0x10", 0],
    ["uprobe//bin/bash:readline", "kprobe", undefined, "/bin/bash:readline", 0],
    ["uretprobe.s//bin/sh:main", "kprobe", undefined, "/bin/sh:main", 1 << 4],
    ["usdt/libc.so.6:libc:setjmp", "kprobe", undefined, "libc.so.6:libc:setjmp", 0],
    ["kprobe.multi/vfs_*", "kprobe", "trace_kprobe_multi", "vfs_*", 0],
    ["uprobe.multi//bin/true:ma*", "kprobe", "trace_uprobe_multi", "/bin/true:ma*", 0],
    [
      "tracepoint/syscalls/sys_enter_getpid",
      "tracepoint",
      undefined,
      "syscalls/sys_enter_getpid",
      0,
    ],
    ["tp/sched/sched_switch", "tracepoint", undefined, "sched/sched_switch", 0],
    ["raw_tp/sys_enter", "raw_tracepoint", undefined, "sys_enter", 0],
    ["raw_tracepoint.w/sys_enter", "raw_tracepoint_writable", undefined, "sys_enter", 0],
    ["tp_btf/sched_switch", "tracing", "trace_raw_tp", "sched_switch", 0],
    ["fentry/do_unlinkat", "tracing", "trace_fentry", "do_unlinkat", 0],
    ["fexit/do_unlinkat", "tracing", "trace_fexit", "do_unlinkat", 0],
    ["fmod_ret/security_file_open", "tracing", "modify_return", "security_file_open", 0],
    ["fentry.s/do_unlinkat", "tracing", "trace_fentry", "do_unlinkat", 1 << 4],
    ["lsm/file_open", "lsm", "lsm_mac", "file_open", 0],
    ["lsm.s/bpf", "lsm", "lsm_mac", "bpf", 1 << 4],
    ["iter/task", "tracing", "trace_iter", "task", 0],
    ["iter.s/task", "tracing", "trace_iter", "task", 1 << 4],
    ["xdp", "xdp", "xdp", undefined, 0],
    ["xdp.frags", "xdp", "xdp", undefined, 1 << 5],
    ["xdp/devmap", "xdp", "xdp_devmap", undefined, 0],
    ["xdp.frags/cpumap", "xdp", "xdp_cpumap", undefined, 1 << 5],
    ["tc", "sched_cls", undefined, undefined, 0],
    ["tcx/ingress", "sched_cls", "tcx_ingress", undefined, 0],
    ["tcx/egress", "sched_cls", "tcx_egress", undefined, 0],
    ["classifier", "sched_cls", undefined, undefined, 0],
    ["action", "sched_act", undefined, undefined, 0],
    ["cgroup/skb", "cgroup_skb", undefined, undefined, 0],
    ["cgroup_skb/ingress", "cgroup_skb", "cgroup_inet_ingress", undefined, 0],
    ["cgroup_skb/egress", "cgroup_skb", "cgroup_inet_egress", undefined, 0],
    ["cgroup/sock_create", "cgroup_sock", "cgroup_inet_sock_create", undefined, 0],
    ["cgroup/sock", "cgroup_sock", "cgroup_inet_sock_create", undefined, 0],
    ["cgroup/connect4", "cgroup_sock_addr", "cgroup_inet4_connect", undefined, 0],
    ["cgroup/connect6", "cgroup_sock_addr", "cgroup_inet6_connect", undefined, 0],
    ["cgroup/sendmsg_unix", "cgroup_sock_addr", "cgroup_unix_sendmsg", undefined, 0],
    ["cgroup/sysctl", "cgroup_sysctl", "cgroup_sysctl", undefined, 0],
    ["cgroup/getsockopt", "cgroup_sockopt", "cgroup_getsockopt", undefined, 0],
    ["cgroup/dev", "cgroup_device", "cgroup_device", undefined, 0],
    ["sockops", "sock_ops", "cgroup_sock_ops", undefined, 0],
    ["socket", "socket_filter", undefined, undefined, 0],
    ["sk_lookup", "sk_lookup", "sk_lookup", undefined, 0],
    ["sk_skb", "sk_skb", undefined, undefined, 0],
    ["sk_skb/stream_parser", "sk_skb", "sk_skb_stream_parser", undefined, 0],
    ["sk_msg", "sk_msg", "sk_msg_verdict", undefined, 0],
    ["flow_dissector", "flow_dissector", "flow_dissector", undefined, 0],
    ["struct_ops/tcp_init", "struct_ops", undefined, "tcp_init", 0],
    ["struct_ops.s/x", "struct_ops", undefined, "x", 1 << 4],
    ["syscall", "syscall", undefined, undefined, 1 << 4],
    ["perf_event", "perf_event", undefined, undefined, 0],
    ["netfilter", "netfilter", "netfilter", undefined, 0],
    ["sk_reuseport/migrate", "sk_reuseport", "sk_reuseport_select_or_migrate", undefined, 0],
  ];
  for (const [name, type, attach, target, flags] of cases) {
    const s = sectionInfo(name);
    assert(s, name);
    assert.equal(s.programType, type, name);
    assert.equal(s.attachType, attach, name);
    assert.equal(s.attachTo, target, name);
    assert.equal(s.flags, flags, name);
  }
  assert.equal(sectionInfo("kretprobe/x")?.retprobe, true);
  assert.equal(sectionInfo("uretprobe.multi//x:y")?.retprobe, true);
  assert.equal(sectionInfo("tp_btf/x")?.btfAttach, "raw_tp");
  assert.equal(sectionInfo("lsm/x")?.btfAttach, "lsm");
  assert.equal(sectionInfo("iter/x")?.btfAttach, "iter");
  assert.equal(sectionInfo("fexit/x")?.btfAttach, "func");
  assert.equal(sectionInfo("freplace/x")?.btfAttach, "ext");
  // Older, lenient forms: anything after the kind's slash.
  assert.equal(sectionInfo("xdp/anything")?.programType, "xdp");
  assert.equal(sectionInfo("socket/1")?.programType, "socket_filter");
  // Unknown kinds.
  assert.equal(sectionInfo("nonsense"), undefined);
  assert.equal(sectionInfo("kprobes/x"), undefined);
  assert.equal(sectionInfo("xdpfoo"), undefined);
});

Deno.test("every test object parses in both byte orders to the same spec", () => {
  for (const name of OBJECTS) {
    const el = loadCollectionSpec(obj(name, "bpfel"));
    const eb = loadCollectionSpec(obj(name, "bpfeb"));
    assert.equal(el.byteOrder, "little");
    assert.equal(eb.byteOrder, "big");
    assert.equal(el.license, "GPL");
    assert.deepEqual(Object.keys(el.programs), Object.keys(eb.programs), name);
    const shape = (s: CollectionSpec) =>
      Object.values(s.maps).map((m) => ({ ...m, contents: m.contents?.map((c) => c.key) }));
    assert.deepEqual(shape(el), shape(eb), name);
    assert.deepEqual(Object.keys(el.variables), Object.keys(eb.variables), name);
    for (const [k, v] of Object.entries(el.variables)) {
      assert.deepEqual(v.get(), eb.variables[k].get(), `${name} variable ${k}`);
    }
    assert.deepEqual(el.externs, eb.externs, name);
    for (const [p, ps] of Object.entries(el.programs)) {
      const qs = eb.programs[p];
      assert.equal(ps.sectionName, qs.sectionName);
      // Code can differ (clang may pick other instructions for the other
      // byte order): compare what it is made of.
      assert.deepEqual(ps.functions.map((f) => f.name), qs.functions.map((f) => f.name));
      assert.equal(ps.funcInfos.length, qs.funcInfos.length, `${name}/${p}`);
    }
  }
  // Where clang generated the same code for both orders, the instructions
  // (converted to the host layout) are byte-identical.
  for (const name of ["many", "module_target", "legacy", "sections", "tracing"]) {
    const el = loadCollectionSpec(obj(name, "bpfel"));
    const eb = loadCollectionSpec(obj(name, "bpfeb"));
    for (const [p, ps] of Object.entries(el.programs)) {
      assert.deepEqual(ps.functions, eb.programs[p].functions, `${name}/${p}`);
      assert.deepEqual(ps.funcInfos, eb.programs[p].funcInfos, `${name}/${p}`);
      assert.deepEqual(ps.instructions, eb.programs[p].instructions, `${name}/${p}`);
      assert.deepEqual(ps.references, eb.programs[p].references, `${name}/${p}`);
      assert.deepEqual(ps.coreRelos, eb.programs[p].coreRelos, `${name}/${p}`);
    }
  }
});

Deno.test("sections.o: one program per section kind, typed from its name", () => {
  const spec = loadCollectionSpec(obj("sections"));
  assert.equal(Object.keys(spec.programs).length, 52);
  for (const p of Object.values(spec.programs)) {
    assert.notEqual(p.type, "unspec", p.sectionName);
    assert.equal(p.type, sectionInfo(p.sectionName)!.programType);
  }
  assert.equal(spec.programs.s_kprobe.attachTo, "vfs_read");
  assert.equal(spec.programs.s_kretprobe.retprobe, true);
  assert.equal(spec.programs.s_uprobe.attachTo, "/bin/true:main");
  assert.equal(spec.programs.s_connect4.attachType, "cgroup_inet4_connect");
  assert.equal(spec.programs.s_xdp_frags.flags, 1 << 5);
  assert.equal(spec.programs.s_syscall.flags, 1 << 4);
  const tracing = loadCollectionSpec(obj("tracing"));
  assert.equal(tracing.programs.t_lsm_s.btfAttach, "lsm");
  assert.equal(tracing.programs.t_lsm_s.flags, 1 << 4);
  assert.equal(tracing.programs.t_fmod_ret.attachType, "modify_return");
});

Deno.test("basic.o: BTF maps of every style", () => {
  const { maps } = loadCollectionSpec(obj("basic"));
  const pick = (n: string) => {
    const { name, type, keySize, valueSize, maxEntries, flags } = maps[n];
    return { name, type, keySize, valueSize, maxEntries, flags };
  };
  assert.deepEqual(pick("counts"), {
    name: "counts",
    type: "hash",
    keySize: 4,
    valueSize: 8,
    maxEntries: 128,
    flags: 0,
  });
  assert.deepEqual(pick("pairs"), {
    name: "pairs",
    type: "array",
    keySize: 4,
    valueSize: 16,
    maxEntries: 4,
    flags: MapCreateFlag.MMAPABLE,
  });
  assert.equal(maps.percpu.type, "percpu_array");
  assert.equal(maps.percpu.valueSize, 8);
  assert.equal(maps.percpu.btf, undefined); // sizes given with __uint: no BTF types
  assert.equal(maps.lru.flags, MapCreateFlag.NO_COMMON_LRU);
  assert.equal(maps.lru.keySize, 8);
  assert.deepEqual([maps.events.type, maps.events.maxEntries, maps.events.keySize], [
    "ringbuf",
    16384,
    0,
  ]);
  assert.deepEqual([maps.perf.type, maps.perf.maxEntries], ["perf_event_array", 0]);
  assert.deepEqual([maps.queue.type, maps.queue.keySize, maps.queue.valueSize], ["queue", 0, 4]);
  assert.deepEqual([maps.stack.type, maps.stack.valueSize], ["stack", 8]);
  assert.deepEqual([maps.bloom.type, maps.bloom.mapExtra], ["bloom_filter", 3]);
  assert.deepEqual([maps.routes.type, maps.routes.keySize, maps.routes.flags], [
    "lpm_trie",
    8,
    MapCreateFlag.NO_PREALLOC,
  ]);
  assert.equal(maps.denobpf_pinned.pinning, "by_name");
  assert.equal(maps.counts.pinning, undefined);
  assert.deepEqual([maps.numa.numaNode, maps.numa.flags], [0, MapCreateFlag.NUMA_NODE]);
  // Key and value BTF types point into the object's BTF.
  const spec = loadCollectionSpec(obj("basic"));
  const btf = spec.types!;
  assert.equal(btf.typeById(maps.pairs.btf!.valueTypeId!).name, "pair");
  assert.equal(btf.sizeOf(maps.counts.btf!.valueTypeId!), 8);
  // Map in map: inner template, initial values by name.
  assert.equal(maps.outer.type, "array_of_maps");
  assert.equal(maps.outer.valueSize, 4);
  assert.deepEqual(
    [maps.outer.innerMap?.type, maps.outer.innerMap?.keySize, maps.outer.innerMap?.valueSize],
    ["array", 4, 4],
  );
  assert.deepEqual(maps.outer.contents, [{ key: 0, value: "inner_a" }, {
    key: 2,
    value: "inner_b",
  }]);
  assert.equal(maps.outer_hash.type, "hash_of_maps");
  assert.deepEqual([maps.outer_hash.innerMap?.type, maps.outer_hash.innerMap?.maxEntries], [
    "hash",
    16,
  ]);
  assert.equal(maps.outer_hash.contents, undefined);
  // Program array initialised with a program of the object.
  assert.equal(maps.jumps.type, "prog_array");
  assert.equal(maps.jumps.valueSize, 4);
  assert.deepEqual(maps.jumps.contents, [{ key: 1, value: "tail_target" }]);
  for (const m of Object.values(maps)) assert(m.origin === "btf" || m.origin === "data");
});

Deno.test("basic.o: global data maps and variables", () => {
  const spec = loadCollectionSpec(obj("basic"));
  const { maps, variables } = spec;
  for (const s of [".data", ".rodata", ".bss", ".data.custom", ".rodata.custom"]) {
    assert.equal(maps[s].type, "array", s);
    assert.equal(maps[s].origin, "data");
    assert.equal(maps[s].maxEntries, 1);
    assert.equal(maps[s].keySize, 4);
    assert(maps[s].flags & MapCreateFlag.MMAPABLE);
    assert.equal(Boolean(maps[s].flags & MapCreateFlag.RDONLY_PROG), s.startsWith(".rodata"));
    assert.equal(maps[s].freeze, s.startsWith(".rodata"));
    assert.equal(spec.types!.typeById(maps[s].btf!.valueTypeId!).kind, "datasec");
  }
  assert.equal(maps[".rodata"].valueSize, 16);
  assert.equal(maps[".bss"].valueSize, 32);
  assert.deepEqual(maps[".bss"].contents![0].value, new Uint8Array(32));
  // Variables of every section, typed by BTF.
  assert.equal(variables.data_counter.get(), 7);
  assert.equal(variables.rodata_limit.get(), 42);
  assert.equal(variables.rodata_limit.constant, true);
  assert.equal(variables.data_counter.constant, false);
  assert.equal(variables.rodata_wide.get(), 0x1122334455667788n);
  assert.equal(variables.custom_data.get(), 3);
  assert.equal(variables.greeting.get(), "hello");
  assert.equal(variables.bss_total.get(), 0n);
  assert.equal(variables.static_counter.get(), 0);
  assert.deepEqual(variables.bss_pair.get(), new Uint8Array(16));
  assert.deepEqual(
    [variables.rodata_wide.mapName, variables.rodata_wide.offset, variables.rodata_wide.size],
    [".rodata", 8, 8],
  );
  // Setting changes the map's initial contents, checked against the type.
  variables.rodata_limit.set(-100);
  assert.equal(variables.rodata_limit.get(), -100);
  const ro = maps[".rodata"].contents![0].value as Uint8Array;
  assert.equal(new DataView(ro.buffer, ro.byteOffset).getInt32(0, true), -100);
  variables.greeting.set("bye");
  assert.equal(variables.greeting.get(), "bye");
  variables.bss_total.set(5);
  assert.equal(variables.bss_total.get(), 5n);
  variables.bss_pair.set(new Uint8Array(16).fill(1));
  assert.throws(() => variables.rodata_limit.set(2 ** 31), InvalidArgumentError);
  assert.throws(() => variables.rodata_limit.set(1.5), InvalidArgumentError);
  assert.throws(() => variables.rodata_limit.set("x"), InvalidArgumentError);
  assert.throws(() => variables.greeting.set("far too long"), InvalidArgumentError);
  assert.throws(() => variables.bss_pair.set(3), InvalidArgumentError);
  assert.throws(() => variables.data_counter.set(new Uint8Array(3)), InvalidArgumentError);
  assert(variables.data_counter instanceof VariableSpec);
});

Deno.test("basic.o: subprograms are linked into every program that calls them", () => {
  const { programs } = loadCollectionSpec(obj("basic"));
  assert.deepEqual(Object.keys(programs).sort(), [
    "raw_events",
    "sock_count",
    "sock_tail",
    "tail_target",
    "tc_mark",
    "xdp_sum",
  ]);
  const sock = programs.sock_count;
  assert.deepEqual(sock.functions.map((f) => f.name), ["sock_count", "global_len", "add_twice"]);
  assert.equal(sock.type, "socket_filter");
  assert.equal(sock.sectionName, "socket");
  // Each call's immediate points at its function.
  const dv = new DataView(sock.instructions.buffer);
  const starts = new Set(sock.functions.map((f) => f.insnOff));
  let calls = 0;
  for (let i = 0; i < sock.instructions.length / 8; i++) {
    if (sock.instructions[i * 8] === 0x85 && sock.instructions[i * 8 + 1] >> 4 === 1) {
      calls++;
      assert(starts.has(i + dv.getInt32(i * 8 + 4, true) + 1), `call at ${i}`);
    }
  }
  assert.equal(calls, 2);
  // One func_info per function, at its start; line info within the program.
  assert.deepEqual(sock.funcInfos.map((f) => f.insnOff), sock.functions.map((f) => f.insnOff));
  assert(sock.lineInfos.length > 0);
  assert(sock.lineInfos.every((l) => l.insnOff < sock.instructions.length / 8));
  // xdp_sum calls sum_to, which passes loop_step to bpf_loop (a function pointer).
  const xdp = programs.xdp_sum;
  assert.deepEqual(xdp.functions.map((f) => f.name), ["xdp_sum", "sum_to", "loop_step"]);
  const loopStart = xdp.functions[2].insnOff;
  const x = new DataView(xdp.instructions.buffer);
  let funcPtr = false;
  for (let i = 0; i < xdp.instructions.length / 8; i++) {
    if (xdp.instructions[i * 8] === 0x18 && xdp.instructions[i * 8 + 1] >> 4 === 4) {
      funcPtr = true;
      assert.equal(i + x.getInt32(i * 8 + 4, true) + 1, loopStart);
    }
  }
  assert(funcPtr);
  // Map and data references.
  assert.deepEqual(
    xdp.references.map((r) => r.kind === "map" ? r.map : `${r.kind === "map_value" ? r.map : ""}`),
    ["pairs", "percpu", ".data.custom", "outer", ".rodata.custom", ".rodata", ".bss"],
  );
  const bss = xdp.references.find((r) => r.kind === "map_value" && r.map === ".bss");
  assert.deepEqual(bss, { kind: "map_value", insn: bss!.insn, map: ".bss", offset: 16 });
  // Line info strings point into the object's BTF.
  const spec = loadCollectionSpec(obj("basic"));
  const li = spec.programs.sock_count.lineInfos[0];
  assert.match(spec.types!.stringAt(li.fileNameOff), /basic\.c$/);
  assert.match(spec.types!.stringAt(li.lineOff), /sock_count/);
});

Deno.test("legacy maps section", () => {
  const spec = loadCollectionSpec(obj("legacy"));
  assert.deepEqual(
    Object.values(spec.maps).map((
      m,
    ) => [m.name, m.type, m.keySize, m.valueSize, m.maxEntries, m.origin]),
    [
      ["legacy_hash", "hash", 4, 8, 16, "legacy"],
      ["legacy_array", "array", 4, 4, 2, "legacy"],
    ],
  );
  assert.deepEqual(
    spec.programs.legacy_prog.references.map((r) => r.kind === "map" && r.map),
    ["legacy_array", "legacy_hash"],
  );
});

Deno.test("legacy maps section: inner_map_idx gives a map of maps its inner shape", () => {
  for (const arch of ["bpfel", "bpfeb"]) {
    const { maps } = loadCollectionSpec(obj("legacy_in_map", arch));
    assert.deepEqual(Object.keys(maps), ["inner_tpl", "outer_arr", "inner_hash_tpl", "outer_hash"]);
    assert.deepEqual(maps.outer_arr.innerMap, {
      name: "outer_arr.inner",
      type: "array",
      keySize: 4,
      valueSize: 4,
      maxEntries: 1,
      flags: 0,
      origin: "legacy",
      section: "maps",
    }, arch);
    assert.deepEqual(
      [maps.outer_hash.type, maps.outer_hash.innerMap?.type, maps.outer_hash.innerMap?.valueSize],
      ["hash_of_maps", "hash", 8],
    );
    assert.equal(maps.inner_tpl.innerMap, undefined, "only maps of maps read inner_map_idx");
    assert.equal(maps.inner_hash_tpl.innerMap, undefined);
  }
  // A bad index is a ParseError naming the map and the field.
  const bytes = Deno.readFileSync(obj("legacy_in_map"));
  const sec = parseElf(bytes).sectionHeader("maps")!;
  const withIdx = (map: number, idx: number) => {
    const b = bytes.slice();
    new DataView(b.buffer).setUint32(sec.offset + map * 28 + 20, idx, true);
    return b;
  };
  for (
    const [map, idx, re] of [
      [1, 9, /outer_arr: inner_map_idx 9 is past the 4 maps/],
      [1, 1, /outer_arr: inner_map_idx 1 names the map itself/],
      [3, 1, /outer_hash: inner_map_idx 1 names outer_arr, itself a map of maps/],
    ] as const
  ) {
    assert.throws(() => loadCollectionSpec(withIdx(map, idx)), (e: unknown) => {
      assert.ok(e instanceof ParseError, String(e));
      assert.match(e.message, re);
      return true;
    });
  }
  assert.equal(loadCollectionSpec(withIdx(3, 0)).maps.outer_hash.innerMap?.type, "array");
});

Deno.test("iproute2 maps (struct bpf_elf_map): pinning, inner_id template, inner_idx slots", () => {
  for (const arch of ["bpfel", "bpfeb"]) {
    const { maps } = loadCollectionSpec(obj("iproute2", arch));
    assert.equal(maps.counters.pinning, "by_name", arch);
    assert.equal(maps.map_inner.pinning, undefined);
    assert.deepEqual(
      [maps.map_outer.type, maps.map_outer.innerMap?.type, maps.map_outer.innerMap?.valueSize],
      ["array_of_maps", "array", 4],
    );
    assert.deepEqual(maps.map_outer.contents, [{ key: 0, value: "map_inner" }]);
    assert.equal(maps.counters.contents, undefined);
  }
  // Field by field (36 bytes a map): pinning at 24, inner_id at 28.
  const bytes = Deno.readFileSync(obj("iproute2"));
  const sec = parseElf(bytes).sectionHeader("maps")!;
  const patched = (map: number, off: number, v: number) => {
    const b = bytes.slice();
    new DataView(b.buffer).setUint32(sec.offset + map * 36 + off, v, true);
    return b;
  };
  for (
    const [map, off, v, re] of [
      [0, 24, 3, /counters: pinning 3 is a custom pinning/],
      [2, 28, 7, /map_outer: no map has id 7/],
      [2, 28, 0, /map_outer: a map of maps needs inner_id/],
    ] as const
  ) {
    assert.throws(() => loadCollectionSpec(patched(map, off, v)), (e: unknown) => {
      assert.ok(e instanceof ParseError, String(e));
      assert.match(e.message, re);
      return true;
    });
  }
  // PIN_OBJECT_NS pins by name too; inner_idx -1 keeps a map out of the outer one.
  assert.equal(loadCollectionSpec(patched(1, 24, 1)).maps.map_inner.pinning, "by_name");
  assert.equal(loadCollectionSpec(patched(1, 32, 0xffffffff)).maps.map_outer.contents, undefined);
});

Deno.test("externs: .kconfig layout and .ksyms kinds", () => {
  const spec = loadCollectionSpec(obj("externs"));
  const e = spec.externs;
  assert.deepEqual(
    Object.values(e).filter((x) => x.kind === "kconfig").map((
      x,
    ) => [x.name, x.offset, x.size, x.weak]),
    // libbpf's order: alignment descending, size ascending, then name.
    [
      ["CONFIG_HZ", 0, 4, false],
      ["CONFIG_NF_CONNTRACK", 4, 4, false],
      ["LINUX_KERNEL_VERSION", 8, 4, false],
      ["CONFIG_BPF_SYSCALL", 12, 1, false],
      ["CONFIG_DENOBPF_NO_SUCH_OPTION", 13, 1, true],
      ["CONFIG_DEFAULT_HOSTNAME", 14, 16, false],
    ],
  );
  assert.equal(spec.maps[".kconfig"].valueSize, 30);
  assert.equal(spec.maps[".kconfig"].freeze, true);
  assert.deepEqual([e.bpf_task_from_pid.kind, e.bpf_task_from_pid.weak], ["kfunc", false]);
  assert.deepEqual([e.denobpf_no_such_kfunc.kind, e.denobpf_no_such_kfunc.weak], ["kfunc", true]);
  assert.deepEqual([e._text.kind, e._text.typed, e._text.weak], ["ksym", false, false]);
  assert.deepEqual([e.denobpf_no_such_symbol.weak], [true]);
  const typed = loadCollectionSpec(obj("ksyms_typed")).externs;
  assert.deepEqual([typed.runqueues.kind, typed.runqueues.typed], ["ksym", true]);
  const refs = spec.programs.kconfig_values.references;
  assert(refs.some((r) => r.kind === "map_value" && r.map === ".kconfig" && r.offset === 0));
  assert(refs.some((r) => r.kind === "ksym" && r.extern === "_text"));
  assert(
    spec.programs.kfunc_lookup.references.some((r) =>
      r.kind === "ksym" && r.extern === "bpf_task_release"
    ),
  );
});

Deno.test("bad input: not ELF, not BPF, bytes instead of a path", () => {
  assert.throws(() => loadCollectionSpec(new Uint8Array(64)), ParseError);
  assert.throws(
    () => loadCollectionSpec(new URL("../testdata/elf/small_x86_64.o", import.meta.url)),
    (e) => e instanceof ParseError && /not a BPF object/.test(e.message),
  );
  const bytes = Deno.readFileSync(obj("many"));
  const spec = loadCollectionSpec(bytes);
  assert.equal(Object.keys(spec.programs).length, 24);
  // The spec keeps no view of the caller's buffer.
  bytes.fill(0);
  assert.equal(spec.variables.only_tgid.get(), 0);
  assert.equal(spec.types!.typeByName("task_struct", "struct")?.kind, "struct");
});

Deno.test(".BTF.ext: per-section records and their kernel encoding", () => {
  const bytes = Deno.readFileSync(obj("core"));
  const elf = parseElf(bytes);
  const btf = parseBtf(elf.section(".BTF")!.slice());
  const ext = parseBtfExt(elf.section(".BTF.ext")!, btf);
  assert.deepEqual([...ext.funcInfo.keys()].sort(), ["raw_tp/sys_enter", "tp_btf/sys_enter"]);
  const relos = ext.coreRelos.get("raw_tp/sys_enter")!;
  assert(relos.length >= 30);
  assert(relos.every((r) => /^\d+(:\d+)*$/.test(r.accessStr)));
  const fi = marshalFuncInfos([{ insnOff: 3, typeId: 7 }]);
  assert.deepEqual([...new Uint32Array(fi.buffer)], [3, 7]);
  const li = marshalLineInfos([{ insnOff: 1, fileNameOff: 2, lineOff: 3, line: 40, column: 5 }]);
  assert.deepEqual([...new Uint32Array(li.buffer)], [1, 2, 3, (40 << 10) | 5]);
  assert.throws(() => parseBtfExt(new Uint8Array(4), btf), ParseError);
  // Big-endian .BTF.ext too.
  const eb = parseElf(Deno.readFileSync(obj("core", "bpfeb")));
  const ebBtf = parseBtf(eb.section(".BTF")!.slice());
  const ebExt = parseBtfExt(eb.section(".BTF.ext")!, ebBtf);
  assert.equal(ebExt.littleEndian, false);
  // (Big-endian bitfield reads need one more relocation: the destination offset.)
  assert.equal(ebExt.coreRelos.get("raw_tp/sys_enter")!.length, relos.length + 1);
});

/** The fix-ups loadCollection gives the marshaller. */
function btfLayout(spec: CollectionSpec) {
  const kconfig = spec.maps[".kconfig"];
  const offsets = Object.fromEntries(
    Object.values(spec.externs).filter((e) => e.kind === "kconfig").map((e) => [e.name, e.offset!]),
  );
  return {
    sectionSizes: spec.layout.sectionSizes,
    symbolOffsets: spec.layout.symbolOffsets,
    kconfig: kconfig ? { size: kconfig.valueSize, offsets } : undefined,
  };
}

function kernelAccepts(blob: Uint8Array): boolean {
  const fd = bpfTry("BTF_LOAD", { btf: blob, btfSize: blob.byteLength });
  if (fd >= 0) closeRawFd(fd);
  return fd >= 0;
}

Deno.test("marshalled object BTF: DATASECs fixed up, externs allocated, kernel accepts it", () => {
  for (const name of ["basic", "externs", "many", "core", "ksyms_typed"]) {
    for (const arch of ["bpfel", "bpfeb"]) {
      const spec = loadCollectionSpec(obj(name, arch));
      const { bytes } = marshalProgramBtf(spec.btfBytes!, btfLayout(spec));
      assert(kernelAccepts(bytes), `${name} ${arch}`);
      const out = parseBtf(bytes);
      assert(out.typeCount >= spec.types!.typeCount);
      for (const [sec, m] of Object.entries(spec.maps)) {
        if (m.origin !== "data") continue;
        const ds = out.typeByName(sec, "datasec");
        assert(ds?.kind === "datasec");
        assert.equal(ds.size, m.valueSize, `${name} ${sec}`);
      }
    }
  }
  // basic.o: variable offsets come from the symbols.
  const spec = loadCollectionSpec(obj("basic"));
  const out = parseBtf(marshalProgramBtf(spec.btfBytes!, spec.layout).bytes);
  const ro = out.typeByName(".rodata", "datasec");
  assert(ro?.kind === "datasec");
  assert.deepEqual(ro.vars.map((v) => [out.typeById(v.type).name, v.offset, v.size]), [
    ["rodata_limit", 0, 4],
    ["rodata_wide", 8, 8],
  ]);
});

Deno.test("marshalled object BTF: old-kernel replacements still load", () => {
  const none = {
    func: false,
    funcGlobal: false,
    datasec: false,
    float: false,
    declTag: false,
    typeTag: false,
    enum64: false,
  };
  for (const name of ["basic", "externs", "core"]) {
    const spec = loadCollectionSpec(obj(name));
    const layout = btfLayout(spec);
    const { bytes } = marshalProgramBtf(spec.btfBytes!, { ...layout, features: none });
    assert(kernelAccepts(bytes), name);
    const out = parseBtf(bytes);
    for (const t of out) {
      assert(
        !["func", "func_proto", "var", "datasec", "float", "decl_tag", "type_tag", "enum64"]
          .includes(t.kind),
      );
    }
    // Ids do not move: every original id has a type.
    assert(out.lastTypeId >= spec.types!.lastTypeId);
    const { bytes: some } = marshalProgramBtf(spec.btfBytes!, {
      ...layout,
      features: { funcGlobal: false, typeTag: false },
    });
    assert(kernelAccepts(some), name);
  }
});
