// Symbols as bpftrace prints them: user stacks, usym() and kernel stacks of
// the same events, from a PIE test binary calling into a shared library
// (both built here with cc), compared byte for byte with bpftrace's output
// while the process is still alive (bpftrace symbolizes at exit, through
// the process's /proc/PID/maps); and resolveKsym/resolveUsym on addresses
// nothing holds.

import assert from "node:assert/strict";
import fc from "fast-check";
import type { IrType } from "../src/probe/ir.ts";
import { formatMaps, type MapContents, type MapEntry } from "../src/probe/output.ts";
import { probe } from "../src/probe/builder.ts";
import { tracepoint, uprobe } from "../src/probe/points.ts";
import {
  kstackFrames,
  parsePerfMap,
  parseProcMaps,
  resolveKsym,
  resolveUsym,
  unknownAddress,
  ustackFrames,
} from "../src/probe/symbols.ts";
import { loadKallsyms } from "../src/kallsyms/mod.ts";
import { readElfFile } from "../src/elf/mod.ts";
import type { BpfMap } from "../src/map/mod.ts";
import { decoderOf, stackDecoder } from "../src/probe/_decode.ts";
import { runScript } from "../src/probe/run_script.ts";
import { startBpftrace } from "./_bpftrace_begin.ts";
import { stdSort } from "../src/probe/_std_sort.ts";

const LIB_SOURCE = `
#include <unistd.h>
#include <sys/syscall.h>
__attribute__((noinline)) long lib_leaf(long n) { long r = syscall(SYS_getpid); __asm__ __volatile__("" ::: "memory"); return r + n; }
__attribute__((noinline)) long lib_mid(long n) { long r = lib_leaf(n); __asm__ __volatile__("" ::: "memory"); return r; }
`;
const MAIN_SOURCE = `
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>
#include <sys/syscall.h>
long lib_mid(long n);
__attribute__((noinline)) long leaf(long n) { long r = lib_mid(n); __asm__ __volatile__("" ::: "memory"); return r; }
__attribute__((noinline)) long mid(long n) { long r = leaf(n); __asm__ __volatile__("" ::: "memory"); return r; }
int main(int argc, char **argv) {
  long n = argc > 1 ? atol(argv[1]) : 1, s = 0;
  for (long i = 0; i < n; i++) s += mid(i);
  syscall(SYS_getppid); /* bpftrace's exit() */
  printf("%ld\\n", s); fflush(stdout);
  char c; (void)!read(0, &c, 1); /* alive until the test has symbolized */
  return 0;
}
`;
const COMM = "dnbpf_sym";

async function cc(args: string[]): Promise<void> {
  const r = await new Deno.Command("cc", { args, stderr: "piped" }).output();
  if (!r.success) throw new Error(`cc ${args.join(" ")}: ${new TextDecoder().decode(r.stderr)}`);
}

/** The PIE executable and its shared library, in a fresh directory. */
async function build(): Promise<{ dir: string; exe: string; lib: string }> {
  const dir = await Deno.makeTempDir({ prefix: "denobpf_symbols_" });
  await Deno.writeTextFile(`${dir}/lib.c`, LIB_SOURCE);
  await Deno.writeTextFile(`${dir}/main.c`, MAIN_SOURCE);
  const lib = `${dir}/libdnbpfsym.so`;
  const exe = `${dir}/${COMM}`;
  await cc(["-O1", "-fno-omit-frame-pointer", "-fPIC", "-shared", "-o", lib, `${dir}/lib.c`]);
  await cc([
    "-O1",
    "-fno-omit-frame-pointer",
    "-fPIE",
    "-pie",
    "-o",
    exe,
    `${dir}/main.c`,
    `-L${dir}`,
    "-ldnbpfsym",
    `-Wl,-rpath,${dir}`,
  ]);
  return { dir, exe, lib };
}

const ustackType: IrType = { kind: "stack", user: true };
const kstackType: IrType = { kind: "stack", user: false };

Deno.test("ustack, usym and kstack of a PIE calling a shared library print as bpftrace prints them, byte for byte", async () => {
  const { dir, exe, lib } = await build();
  try {
    const bpftrace = await startBpftrace(
      `uprobe:${exe}:leaf { @[ustack] = count(); @u[usym(reg("ip"))] = count(); @up[ustack(perf)] = count(); } ` +
        `uprobe:${lib}:lib_leaf { @l[ustack] = count(); } ` +
        `tracepoint:syscalls:sys_enter_getpid /comm == "${COMM}"/ { @k[kstack] = count(); @ku[ustack] = count(); @kp[kstack(perf)] = count(); } ` +
        `tracepoint:syscalls:sys_enter_getppid /comm == "${COMM}"/ { exit(); }`,
    );
    await using atLeaf = await probe(uprobe(exe, "leaf")).count({ by: ["ustack", "pid"] });
    await using atLib = await probe(uprobe(lib, "lib_leaf")).count({ by: ["ustack", "pid"] });
    await using atSyscall = await probe(tracepoint("syscalls:sys_enter_getpid"), { comm: COMM })
      .count({ by: ["kstack", "ustack", "pid"] });
    const target = new Deno.Command(exe, { args: ["3"], stdin: "piped", stdout: "piped" }).spawn();
    try {
      const out = target.stdout.getReader();
      await out.read(); // past getppid: bpftrace is printing, the target waits
      out.releaseLock();
      const printed = await bpftrace.output();

      // A stack key is its frames joined by "\n"; no frames (6.1 gives a syscall
      // tracepoint no kernel stack) is "", printed `@k[]` as bpftrace prints it.
      const split = (frames: string) => frames === "" ? [] : frames.split("\n");
      // The probes' user stacks are addresses: symbolize them in the live process.
      const ips = (frames: string) => split(frames).map((f) => BigInt(f));
      const user = (h: typeof atLeaf): MapEntry[] =>
        [...h.read()].map((
          [[stack, pid], n],
        ) => [[ustackFrames(ips(stack as string), pid as number)], n]);
      const leaf = [...atLeaf.read()];
      assert.equal(leaf.length, 1);
      const [[leafStack, pid]] = leaf[0];
      const syscalls = [...atSyscall.read()];
      const maps: MapContents[] = [
        { layout: { name: "@", kind: "count", keys: [ustackType] }, entries: user(atLeaf) },
        {
          layout: { name: "@u", kind: "count", keys: [{ kind: "usym" }] },
          entries: [[[resolveUsym(ips(leafStack as string)[0], pid as number)], 3n]],
        },
        { layout: { name: "@l", kind: "count", keys: [ustackType] }, entries: user(atLib) },
        {
          layout: { name: "@k", kind: "count", keys: [kstackType] },
          entries: syscalls.map(([[k], n]) => [[split(k as string)], n]),
        },
        {
          layout: { name: "@ku", kind: "count", keys: [ustackType] },
          entries: syscalls.map((
            [[, u, p], n],
          ) => [[ustackFrames(ips(u as string), p as number)], n]),
        },
      ];
      // Perf mode: "\t<hex> sym+off", user frames with their object. The kernel
      // frames' addresses come back from their names through kallsyms; a frame
      // no symbol holds is its address already ("0x…", as bpftrace prints it).
      // A name listed at several addresses: the one whose name+off prints as f.
      const ks = loadKallsyms();
      const kips = (frames: string) =>
        split(frames).map((f) => {
          if (/^0x[0-9a-f]+$/.test(f)) return BigInt(f);
          const m = /^(.+)\+(\d+)$/.exec(f);
          assert.ok(m, `kernel frame ${JSON.stringify(f)} is neither name+off nor an address`);
          const at = ks.lookupAll(m[1]).map((s) => s.address + BigInt(m[2]));
          const ip = at.find((a) => resolveKsym(a, { offset: true }) === f);
          assert.ok(ip !== undefined, `kernel frame ${f}: no kallsyms entry gives it back`);
          return ip;
        });
      maps.push(
        {
          layout: { name: "@up", kind: "count", keys: [{ ...ustackType, mode: "perf" }] },
          entries: [...atLeaf.read()].map(([[stack, p], n]) => [
            [ustackFrames(ips(stack as string), p as number, { perf: true })],
            n,
          ]),
        },
        {
          layout: { name: "@kp", kind: "count", keys: [{ ...kstackType, mode: "perf" }] },
          entries: syscalls.map((
            [[k], n],
          ) => [[kstackFrames(kips(k as string), { perf: true })], n]),
        },
      );
      const mine = "\n\n" + formatMaps(maps);
      assert.match(mine, /@up\[\n\t[0-9a-f]+ leaf\+0 \(\/.*\/dnbpf_sym\)\n/);
      assert.match(mine, /@\[\n {4}leaf\+0\n {4}mid\+\d+\n {4}main\+\d+\n/);
      assert.match(mine, /@l\[\n {4}lib_leaf\+0\n {4}lib_mid\+\d+\n {4}leaf\+\d+\n/);
      assert.match(mine, /@u\[leaf\]: 3\n/);
      assert.equal(mine, printed);
    } finally {
      await target.stdin.close();
      await target.status;
      await target.stdout.cancel().catch(() => {});
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("resolveUsym/ustackFrames: an address no mapping holds, or of a process that is gone, prints as 0x…; resolveKsym of a user address too", async () => {
  assert.equal(resolveUsym(0x10n, Deno.pid), "0x10");
  assert.equal(resolveUsym(0x10n, Deno.pid, { module: true }), "0x10 ([unknown])");
  assert.deepEqual(ustackFrames([0x10n, 0x20n, 0n, 0x30n], Deno.pid), ["0x10", "0x20"]);
  // A pid that is not running: nothing resolves, as in bpftrace after the process exited.
  const gone = new Deno.Command("true").spawn();
  const pid = gone.pid;
  await gone.status;
  assert.equal(resolveUsym(0x7f0000001000n, pid), "0x7f0000001000");
  assert.equal(resolveKsym(0x7f0000001000n), "0x7f0000001000");
  assert.equal(resolveKsym(0n), "0");
  assert.equal(resolveKsym(1n), "0x1");
  assert.equal(unknownAddress(-1n), "0xffffffffffffffff");
});

Deno.test("resolveKsym (fast-check): any address inside a kernel text symbol gives that symbol and offset; data symbols are skipped as BCC skips them", () => {
  const all = [...loadKallsyms()].filter((s) => s.address >= 0x00ffffffffffffffn);
  const isText = (t: string) => !/^[bBdDrR]$/.test(t);
  const byAddress = new Map<bigint, string[]>();
  for (const s of all) {
    if (isText(s.type)) byAddress.set(s.address, [...(byAddress.get(s.address) ?? []), s.name]);
  }
  const cmp = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);
  const starts = [...byAddress.keys()].sort(cmp);
  const below = (a: bigint) => starts.findLast((s) => s <= a)!;
  fc.assert(
    fc.property(fc.nat(starts.length - 2), fc.nat(1 << 20), (i, off) => {
      const start = starts[i];
      const o = BigInt(off) % (starts[i + 1] - start);
      const frame = resolveKsym(start + o, { offset: true });
      const m = /^(.+)\+(\d+)$/.exec(frame);
      assert.ok(
        m && byAddress.get(start)!.includes(m[1]) && BigInt(m[2]) === o,
        `${frame} at ${start}+${o}`,
      );
      assert.equal(resolveKsym(start + o), m[1]);
      assert.deepEqual(kstackFrames([start + o, 0n, start]), [frame]);
    }),
    { numRuns: 300 },
  );
  // Data symbols (b, d, r) in the kernel's range resolve to the text symbol before them.
  const data = all.filter((s) => !isText(s.type) && s.address > starts[0]).slice(0, 50);
  assert.ok(data.length > 0, "no data symbols in kallsyms");
  for (const d of data) {
    const name = resolveKsym(d.address);
    assert.ok(byAddress.get(below(d.address))!.includes(name), `${d.name} (${d.type}) → ${name}`);
  }
});

Deno.test("stack keys laid out as bpftrace lays them out (stack id | pid << 32) decode to frames symbolized in that process; without a pid, addresses", async () => {
  const { dir, exe } = await build();
  const target = new Deno.Command(exe, { args: ["1"], stdin: "piped", stdout: "piped" }).spawn();
  try {
    const out = target.stdout.getReader();
    await out.read(); // running, waiting on stdin
    out.releaseLock();
    const maps = await Deno.readTextFile(`/proc/${target.pid}/maps`);
    const base = maps.split("\n").find((l) => l.endsWith(exe) && / 00000000 /.test(l))!;
    const start = BigInt(`0x${base.split("-")[0]}`);
    const leaf = readElfFile(exe).symbols().find((s) => s.name === "leaf")!;
    const ips = [start + leaf.value + 4n, 0n];
    const frames = new Uint8Array(8 * 4);
    ips.forEach((ip, i) => new DataView(frames.buffer).setBigUint64(8 * i, ip, true));
    const stacks = { lookup: () => frames } as unknown as BpfMap;
    const decode = decoderOf(
      { type: "stack", user: true } as Parameters<typeof decoderOf>[0],
      8,
      stacks,
    );
    const key = new DataView(new ArrayBuffer(8));
    key.setBigUint64(0, (BigInt(target.pid) << 32n) | 7n, true);
    assert.equal(decode(key, 0), "leaf+4");
    // bpftrace's perf mode: "<hex> sym+off (object)".
    const perf = stackDecoder(stacks, { user: true, perf: true });
    assert.equal(perf(key, 0), `${ips[0].toString(16)} leaf+4 (${exe})`);
    key.setBigUint64(0, 7n, true);
    assert.equal(decode(key, 0), `0x${ips[0].toString(16)}`);
    key.setBigInt64(0, -14n, true); // -EFAULT: no stack
    assert.equal(decode(key, 0), "");
  } finally {
    await target.stdin.close();
    await target.status;
    await target.stdout.cancel().catch(() => {});
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parseProcMaps (fast-check): generated lines parse back to their fields; this process's maps parse whole; random and mutated text never throws", async () => {
  const hex = (max: bigint) => fc.bigInt({ min: 0n, max }).map((n) => n.toString(16));
  const line = fc.record({
    start: fc.bigInt({ min: 0n, max: (1n << 48n) - 1n }),
    len: fc.bigInt({ min: 1n, max: 1n << 32n }),
    perms: fc.tuple(
      fc.constantFrom("r", "-"),
      fc.constantFrom("w", "-"),
      fc.constantFrom("x", "-"),
      fc.constantFrom("p", "s"),
    ).map((p) => p.join("")),
    offset: fc.bigInt({ min: 0n, max: (1n << 40n) - 1n }),
    dev: fc.tuple(hex(0xffn), hex(0xffn)).map(([a, b]) =>
      `${a.padStart(2, "0")}:${b.padStart(2, "0")}`
    ),
    inode: fc.nat(),
    path: fc.oneof(
      fc.constant(""),
      fc.constantFrom("[heap]", "[vdso]", "[stack]"),
      fc.string({ minLength: 1, maxLength: 30 }).filter((s) =>
        !/[\n]/.test(s) && !s.startsWith(" ")
      ).map((s) => `/${s}`),
    ),
  });
  fc.assert(
    fc.property(fc.array(line, { maxLength: 20 }), (lines) => {
      const text = lines.map((l) =>
        `${l.start.toString(16).padStart(8, "0")}-${
          (l.start + l.len).toString(16).padStart(8, "0")
        } ` +
        `${l.perms} ${l.offset.toString(16).padStart(8, "0")} ${l.dev} ${l.inode}` +
        (l.path ? `${" ".repeat(5)}${l.path}` : " ")
      ).join("\n") + "\n";
      const parsed = parseProcMaps(text);
      assert.deepEqual(
        parsed,
        lines.map((l) => ({
          start: l.start,
          end: l.start + l.len,
          perms: l.perms,
          offset: l.offset,
          dev: l.dev,
          inode: l.inode,
          path: l.path,
        })),
      );
    }),
    { numRuns: 300 },
  );
  const mine = await Deno.readTextFile("/proc/self/maps");
  assert.equal(parseProcMaps(mine).length, mine.trimEnd().split("\n").length);
  fc.assert(
    fc.property(
      fc.string({ maxLength: 200 }),
      fc.nat(mine.length),
      fc.string({ maxLength: 4 }),
      (junk, at, edit) => {
        parseProcMaps(junk);
        const mutated = mine.slice(0, at) + edit + mine.slice(at + edit.length);
        const parsed = parseProcMaps(mutated);
        assert.ok(parsed.every((m) => m.end >= 0n && m.perms.length === 4));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("a script's @[ustack] = count() and @k[kstack] = count() print symbolized as bpftrace prints them (the back end keeps the pid with a user stack)", async () => {
  const { dir, exe, lib } = await build();
  try {
    const bpftrace = await startBpftrace(
      `uprobe:${lib}:lib_leaf { @[ustack] = count(); } ` +
        `tracepoint:syscalls:sys_enter_getpid /comm == "${COMM}"/ { @k[kstack] = count(); } ` +
        `tracepoint:syscalls:sys_enter_getppid /comm == "${COMM}"/ { exit(); }`,
    );
    const out: string[] = [];
    await using h = await runScript({
      probes: [
        {
          points: [{ kind: "uprobe", target: `${lib}:lib_leaf` }],
          body: [{
            op: "aggregate",
            map: "@",
            key: { op: "builtin", name: "ustack" },
            fn: "count",
            args: [],
          }],
        },
        {
          points: [{ kind: "tracepoint", target: "syscalls:sys_enter_getpid" }],
          filter: {
            op: "binary",
            operator: "==",
            left: { op: "builtin", name: "comm" },
            right: { op: "str", value: COMM },
          },
          body: [{
            op: "aggregate",
            map: "@k",
            key: { op: "builtin", name: "kstack" },
            fn: "count",
            args: [],
          }],
        },
      ],
    }, { output: (s: string) => void out.push(s) });
    const target = new Deno.Command(exe, { args: ["4"], stdin: "piped", stdout: "piped" }).spawn();
    try {
      const reader = target.stdout.getReader();
      await reader.read(); // past getppid: bpftrace is printing, the target waits
      reader.releaseLock();
      const printed = await bpftrace.output();
      h.print();
      const mine = "\n\n" + out.join("");
      assert.match(
        mine,
        /@\[\n {4}lib_leaf\+0\n {4}lib_mid\+\d+\n {4}leaf\+\d+\n {4}mid\+\d+\n {4}main\+\d+\n/,
      );
      assert.equal(mine, printed);
    } finally {
      await target.stdin.close();
      await target.status;
      await target.stdout.cancel().catch(() => {});
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// ---------------------------------------------------------------- C++, JIT maps, vDSO

/** Builds `source` (C or C++) with frame pointers into a fresh directory; returns the executable. */
async function buildOne(
  name: string,
  source: string,
  lang: "c" | "c++",
): Promise<{ dir: string; exe: string }> {
  const dir = await Deno.makeTempDir({ prefix: "denobpf_symbols_" });
  const file = `${dir}/${name}.${lang === "c" ? "c" : "cc"}`;
  await Deno.writeTextFile(file, source);
  const exe = `${dir}/${name}`;
  const r = await new Deno.Command(lang === "c" ? "cc" : "g++", {
    args: ["-O1", "-fno-omit-frame-pointer", "-o", exe, file],
    stderr: "piped",
  }).output();
  if (!r.success) {
    throw new Error(
      `${lang === "c" ? "cc" : "g++"} ${file} (tools/setup.ts installs gcc and g++): ` +
        new TextDecoder().decode(r.stderr),
    );
  }
  return { dir, exe };
}

/**
 * Runs `exe` (which prints a line after its last traced call, then waits
 * on stdin), lets `whileAlive` symbolize in the live process, then ends it.
 */
async function whileRunning<T>(
  exe: string,
  whileAlive: (pid: number) => Promise<T>,
): Promise<T> {
  const target = new Deno.Command(exe, { stdin: "piped", stdout: "piped" }).spawn();
  try {
    const out = target.stdout.getReader();
    await out.read();
    out.releaseLock();
    return await whileAlive(target.pid);
  } finally {
    await target.stdin.close();
    await target.status;
    await target.stdout.cancel().catch(() => {});
  }
}

/** Frames (one address per line) of a stack key, as addresses. */
const addressesOf = (frames: string) => frames.split("\n").map((f) => BigInt(f));

/**
 * `@[ustack]` and `@p[ustack(perf)]` of `[[stack, pid], count]` entries,
 * symbolized in the live process, as formatMaps lays them out.
 */
function stackAndPerfMaps(entries: [unknown[], bigint | number][]): MapContents[] {
  const frames = (perf: boolean): MapEntry[] =>
    entries.map(([[s, p], n]) => [
      [ustackFrames(addressesOf(s as string), p as number, { perf })],
      n as bigint,
    ]);
  return [
    { layout: { name: "@", kind: "count", keys: [ustackType] }, entries: frames(false) },
    {
      layout: { name: "@p", kind: "count", keys: [{ kind: "stack", user: true, mode: "perf" }] },
      entries: frames(true),
    },
  ];
}

const CXX_SOURCE = `
#include <unistd.h>
#include <sys/syscall.h>
#include <string>
#include <vector>
#include <cstdio>
namespace ns { template <typename T> struct Box {
  __attribute__((noinline)) long get(const std::string &s, std::vector<T> &v) {
    long r = syscall(SYS_getpid); __asm__ __volatile__("" ::: "memory"); return r + s.size() + v.size(); }
}; }
__attribute__((noinline)) long outer(int n) {
  ns::Box<int> b; std::vector<int> v(n); std::string s("x"); long r = b.get(s, v); __asm__ __volatile__("" ::: "memory"); return r; }
int main(int argc, char **argv) {
  long s = 0; for (int i = 0; i < argc + 2; i++) s += outer(i); /* one call site: one stack */
  syscall(SYS_getppid); printf("%ld\\n", s); fflush(stdout);
  char c; (void)!read(0, &c, 1); return 0; }
`;
const CXX_GET =
  "_ZN2ns3BoxIiE3getERKNSt7__cxx1112basic_stringIcSt11char_traitsIcESaIcEEERSt6vectorIiSaIiEE";

Deno.test("a C++ program's ustack, ustack(perf) and usym print demangled, byte for byte as bpftrace prints them", async () => {
  const { dir, exe } = await buildOne("dnbpf_cxx", CXX_SOURCE, "c++");
  try {
    const bpftrace = await startBpftrace(
      `uprobe:${exe}:${CXX_GET} { @u[usym(reg("ip"))] = count(); @up[ustack(perf)] = count(); } ` +
        `tracepoint:syscalls:sys_enter_getpid /comm == "dnbpf_cxx"/ { @[ustack] = count(); } ` +
        `tracepoint:syscalls:sys_enter_getppid /comm == "dnbpf_cxx"/ { exit(); }`,
    );
    await using atGet = await probe(uprobe(exe, CXX_GET)).count({ by: ["ustack", "pid"] });
    await using atSyscall = await probe(tracepoint("syscalls:sys_enter_getpid"), {
      comm: "dnbpf_cxx",
    }).count({ by: ["ustack", "pid"] });
    const mine = await whileRunning(exe, async () => {
      const printed = await bpftrace.output();
      const ips = (frames: string) => frames.split("\n").map((f) => BigInt(f));
      const gets = [...atGet.read()];
      const maps: MapContents[] = [
        {
          layout: { name: "@", kind: "count", keys: [ustackType] },
          entries: [...atSyscall.read()].map((
            [[stack, pid], n],
          ) => [[ustackFrames(ips(stack as string), pid as number)], n]),
        },
        {
          layout: { name: "@u", kind: "count", keys: [{ kind: "usym" }] },
          entries: [[[
            resolveUsym(ips(gets[0][0][0] as string)[0], gets[0][0][1] as number),
          ], 3n]],
        },
        {
          layout: { name: "@up", kind: "count", keys: [{ ...ustackType, mode: "perf" }] },
          entries: gets.map(([[stack, pid], n]) => [
            [ustackFrames(ips(stack as string), pid as number, { perf: true })],
            n,
          ]),
        },
      ];
      return { text: "\n\n" + formatMaps(maps), printed };
    });
    assert.match(
      mine.text,
      /@u\[ns::Box<int>::get\(std::__cxx11::basic_string<char, std::char_traits<char>, std::allocator<char> > const&, std::vector<int, std::allocator<int> >&\)\]: 3\n/,
    );
    assert.match(mine.text, /\n {4}outer\(int\)\+\d+\n/);
    assert.equal(mine.text, mine.printed);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

// A "JIT": machine code copied into an anonymous executable page, named in
// /tmp/perf-PID.map as node --perf-basic-prof and the JVM's agents write it.
const JIT_SOURCE = `
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/syscall.h>
/* push rbp; mov rbp,rsp; mov eax,39 (getpid); syscall; pop rbp; ret */
static const unsigned char code[] = {0x55, 0x48, 0x89, 0xe5, 0xb8, 0x27, 0, 0, 0, 0x0f, 0x05, 0x5d, 0xc3};
int main(void) {
  unsigned char *page = mmap(NULL, 4096, PROT_READ | PROT_WRITE | PROT_EXEC, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  memset(page, 0xcc, 4096);
  memcpy(page + 0x40, code, sizeof code);
  char path[64]; snprintf(path, sizeof path, "/tmp/perf-%ld.map", (long)syscall(SYS_getpid));
  FILE *f = fopen(path, "w");
  fprintf(f, "%lx %lx jit_stub\\n%lx %zx LazyCompile:*fib /app/x.js:3\\n", (unsigned long)page, 0x40UL, (unsigned long)(page + 0x40), sizeof code);
  fclose(f);
  long (*fn)(void) = (long (*)(void))(page + 0x40);
  long s = 0; for (int i = 0; i < 3; i++) s += fn();
  syscall(SYS_gettid); printf("%ld\\n", s & 1); fflush(stdout);
  char c; (void)!read(0, &c, 1); unlink(path); return 0;
}
`;

Deno.test("JIT frames resolve through the process's /tmp/perf-PID.map, printed (with the map as module in perf mode) as bpftrace prints them", async () => {
  const { dir, exe } = await buildOne("dnbpf_jit", JIT_SOURCE, "c");
  try {
    const bpftrace = await startBpftrace(
      `tracepoint:syscalls:sys_enter_getpid /comm == "dnbpf_jit"/ { @[ustack] = count(); @p[ustack(perf)] = count(); } ` +
        `tracepoint:syscalls:sys_enter_gettid /comm == "dnbpf_jit"/ { exit(); }`,
    );
    await using h = await probe(tracepoint("syscalls:sys_enter_getpid"), { comm: "dnbpf_jit" })
      .count({ by: ["ustack", "pid"] });
    const mine = await whileRunning(exe, async (pid) => {
      const printed = await bpftrace.output();
      const entries = [...h.read()];
      const maps = stackAndPerfMaps(entries);
      return { text: "\n\n" + formatMaps(maps), printed, pid };
    });
    assert.match(mine.text, /\n {4}LazyCompile:\*fib \/app\/x\.js:3\+11\n {4}main\+\d+\n/);
    assert.ok(mine.text.includes(` LazyCompile:*fib /app/x.js:3+11 (/tmp/perf-${mine.pid}.map)\n`));
    assert.equal(mine.text, mine.printed);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const VDSO_SOURCE = `
#include <time.h>
#include <stdio.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(void) {
  long s = 0; struct timespec ts;
  /* The vDSO has no fast path for this clock: it makes the system call itself. */
  for (int i = 0; i < 3; i++) { clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts); s += ts.tv_nsec; }
  syscall(SYS_getppid); printf("%ld\\n", s & 1); fflush(stdout);
  char c; (void)!read(0, &c, 1); return 0;
}
`;

Deno.test("vDSO frames print as 0x… ([unknown]) as bpftrace 0.17 prints them; with vdso: true they resolve through the vDSO image", async () => {
  const { dir, exe } = await buildOne("dnbpf_vdso", VDSO_SOURCE, "c");
  try {
    const bpftrace = await startBpftrace(
      `tracepoint:syscalls:sys_enter_clock_gettime /comm == "dnbpf_vdso"/ { @[ustack] = count(); @p[ustack(perf)] = count(); } ` +
        `tracepoint:syscalls:sys_enter_getppid /comm == "dnbpf_vdso"/ { exit(); }`,
    );
    await using h = await probe(tracepoint("syscalls:sys_enter_clock_gettime"), {
      comm: "dnbpf_vdso",
    }).count({ by: ["ustack", "pid"] });
    const mine = await whileRunning(exe, async (pid) => {
      const printed = await bpftrace.output();
      const entries = [...h.read()];
      const maps = stackAndPerfMaps(entries);
      const maps2 = await Deno.readTextFile(`/proc/${pid}/maps`);
      const vdso = parseProcMaps(maps2).find((m) => m.path === "[vdso]")!;
      const top = addressesOf(entries[0][0][0] as string)[0];
      return {
        text: "\n\n" + formatMaps(maps),
        printed,
        inVdso: top >= vdso.start && top < vdso.end,
        resolved: ustackFrames([top], pid, { vdso: true })[0],
        usym: resolveUsym(top, pid, { vdso: true, module: true }),
      };
    });
    assert.ok(mine.inVdso, "the first frame is in the vDSO");
    assert.match(mine.text, /@\[\n {4}0x[0-9a-f]+\n {4}__clock_gettime\+\d+\n/);
    assert.equal(mine.text, mine.printed);
    // Opted in: a symbol of the vDSO's (its dynamic symbols name clock_gettime twice).
    assert.match(mine.resolved, /^(__vdso_)?clock_gettime\+\d+$/);
    assert.match(mine.usym, /^(__vdso_)?clock_gettime \(\[vdso\]\)$/);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("parsePerfMap (fast-check): generated lines parse back to their symbols; lines BCC skips are skipped; random and mutated text never throws", () => {
  const sym = fc.record({
    start: fc.bigInt({ min: 1n, max: (1n << 64n) - 1n }),
    size: fc.bigInt({ min: 0n, max: (1n << 32n) - 1n }),
    name: fc.string({ minLength: 1, maxLength: 40 }).filter((s) => !/[\n\r]|^\s/.test(s)),
  });
  fc.assert(
    fc.property(fc.array(sym, { maxLength: 20 }), fc.boolean(), (syms, prefix) => {
      const text = syms.map((s) =>
        `${prefix ? "0x" : ""}${s.start.toString(16)} ${s.size.toString(16)} ${s.name}`
      ).join("\n") + "\n";
      assert.deepEqual(parsePerfMap(text), syms);
    }),
    { numRuns: 300 },
  );
  assert.deepEqual(parsePerfMap("0 10 zero\nzz 10 bad\n10 bad\n7f00 20 ok\n"), [
    { start: 0x7f00n, size: 0x20n, name: "ok" },
  ]);
  const sample = "7f0012340000 1a0 LazyCompile:*fib /app/x.js:3\n55aa00 20 Interpreter\n";
  fc.assert(
    fc.property(
      fc.string({ maxLength: 200 }),
      fc.nat(sample.length),
      fc.string({ maxLength: 4 }),
      (junk, at, edit) => {
        parsePerfMap(junk);
        const parsed = parsePerfMap(sample.slice(0, at) + edit + sample.slice(at + edit.length));
        assert.ok(parsed.every((s) => s.start > 0n && s.size >= 0n && !s.name.includes("\n")));
      },
    ),
    { numRuns: 300 },
  );
});

Deno.test("a script's func of a uprobe on a C++ function prints demangled, as bpftrace prints it", async () => {
  const { dir, exe } = await buildOne("dnbpf_cxx", CXX_SOURCE, "c++");
  try {
    const bpftrace = await startBpftrace(
      `uprobe:${exe}:${CXX_GET} { @f[func] = count(); } ` +
        `tracepoint:syscalls:sys_enter_getppid /comm == "dnbpf_cxx"/ { exit(); }`,
    );
    const out: string[] = [];
    await using h = await runScript({
      probes: [{
        points: [{ kind: "uprobe", target: `${exe}:${CXX_GET}` }],
        body: [{
          op: "aggregate",
          map: "@f",
          key: { op: "builtin", name: "func" },
          fn: "count",
          args: [],
        }],
      }],
    }, { output: (s: string) => void out.push(s) });
    const printed = await whileRunning(exe, async () => {
      const text = await bpftrace.output();
      h.print();
      return text;
    });
    const mine = "\n\n" + out.join("");
    assert.match(mine, /@f\[ns::Box<int>::get\(std::__cxx11::basic_string<char, .*\]: 3\n/);
    assert.equal(mine, printed);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("stdSort orders equal keys exactly as libstdc++'s std::sort (fast-check, against a g++-built std::sort)", async () => {
  const { dir, exe } = await buildOne(
    "dnbpf_sort",
    `#include <algorithm>
#include <cstdio>
#include <utility>
#include <vector>
int main() {
  int n;
  while (scanf("%d", &n) == 1) {
    std::vector<std::pair<long, int>> v(n);
    for (int i = 0; i < n; i++) { scanf("%ld", &v[i].first); v[i].second = i; }
    std::sort(v.begin(), v.end(), [](const auto &a, const auto &b) { return a.first < b.first; });
    for (int i = 0; i < n; i++) printf("%d ", v[i].second);
    printf("\\n");
  }
}`,
    "c++",
  );
  try {
    // Few distinct keys (aliases), sizes around the 16-element runs, and some past the heapsort depth.
    const arrays = fc.sample(
      fc.oneof(
        fc.array(fc.nat(5), { maxLength: 40 }),
        fc.array(fc.nat(50), { minLength: 100, maxLength: 3000 }),
        fc.nat(2000).map((n) => Array.from({ length: n }, (_, i) => (i * 7919) % 13)),
      ),
      200,
    );
    const input = arrays.map((a) => `${a.length} ${a.join(" ")}`).join("\n") + "\n";
    const p = new Deno.Command(exe, { stdin: "piped", stdout: "piped" }).spawn();
    const output = p.output();
    const w = p.stdin.getWriter();
    await w.write(new TextEncoder().encode(input));
    await w.close();
    const want = new TextDecoder().decode((await output).stdout).split("\n");
    arrays.forEach((a, k) => {
      const items = a.map((key, i) => ({ key, i }));
      stdSort(items, (x) => x.key);
      assert.equal(items.map((x) => `${x.i} `).join(""), want[k], `keys ${a.join(",")}`);
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

const ALIAS_SOURCE = `
#include <sched.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>
#include <sys/syscall.h>
int main(int argc, char **argv) {
  /* libc exports these under two names at one address (getpid and __getpid, ...). */
  for (int i = 0; i < argc; i++) getpid();
  for (int i = 0; i < argc + 1; i++) sched_yield();
  struct timespec ts = {0, 1};
  for (int i = 0; i < argc + 2; i++) nanosleep(&ts, NULL);
  syscall(SYS_gettid); printf("ok\\n"); fflush(stdout);
  char c; (void)!read(0, &c, 1); return 0;
}
`;

Deno.test("of libc's aliases at one address (getpid and __getpid, sched_yield and __sched_yield, ...) ustack prints the one bpftrace prints", async () => {
  const { dir, exe } = await buildOne("dnbpf_alias", ALIAS_SOURCE, "c");
  try {
    const calls = ["getpid", "sched_yield", "clock_nanosleep"];
    const bpftrace = await startBpftrace(
      calls.map((c) => `tracepoint:syscalls:sys_enter_${c}`).join(",") +
        ` /comm == "dnbpf_alias"/ { @[ustack] = count(); } ` +
        `tracepoint:syscalls:sys_enter_gettid /comm == "dnbpf_alias"/ { exit(); }`,
    );
    const handles = await Promise.all(
      calls.map((c) =>
        probe(tracepoint(`syscalls:sys_enter_${c}`), { comm: "dnbpf_alias" })
          .count({ by: ["ustack", "pid"] })
      ),
    );
    try {
      const mine = await whileRunning(exe, async () => {
        const printed = await bpftrace.output();
        const entries = handles.flatMap((h) => [...h.read()]);
        return { text: "\n\n" + formatMaps([stackAndPerfMaps(entries)[0]]), printed };
      });
      assert.match(mine.text, /@\[\n {4}__getpid\+\d+\n/);
      assert.equal(mine.text, mine.printed);
    } finally {
      for (const h of handles) await h.close();
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
