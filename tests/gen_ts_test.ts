// `gen ts` and generateBindings: a module for every object in testdata/
// (and cilium's testdata) that the type checker accepts together with a
// program using every program, map and variable name of the object (and
// rejecting a name the object lacks); two objects' bindings run on this
// kernel — basic.o (typed map lookups and updates, variables before and
// after load) and gen_events.o (a raw tracepoint's ring buffer records
// decoded, struct keys and values, bitfields written by clang's layout);
// the CLI's --path and --record; the checked-in example bindings are what
// the generator writes; the runtime codecs' properties and mutated objects.

import assert from "node:assert/strict";
import fc from "fast-check";
import { generateBindings } from "../src/gen/mod.ts";
import { bitfield, bitfield64, decodeRecord, record, u32, u64 } from "../src/map/mod.ts";
import { loadCollectionSpec } from "../src/collection/mod.ts";
import { EbpfError, NotFoundError, ParseError } from "../src/errors.ts";
import { haveMapType, haveProgramType } from "../src/features/mod.ts";
import { parseElf } from "../src/elf/mod.ts";
import { runCli } from "./_cli_helpers.ts";
import { pureRuns } from "./_helpers.ts";
import { attachRawTracepoint } from "../src/link/mod.ts";
import { ringBufReader } from "../src/ringbuf/mod.ts";
import { perfReader } from "../src/perf/mod.ts";
import {
  type Addr,
  decodeEvent,
  type Event,
  EventKind,
  load as loadGenEvents,
  loadSpec as loadGenEventsSpec,
} from "../examples/gen/gen_events_bpf.ts";

const root = new URL("../", import.meta.url);
const config = new URL("deno.json", root).pathname;
const CILIUM_TESTDATA = "/usr/share/gocode/src/github.com/cilium/ebpf/testdata/";
const dec = new TextDecoder();

/** Every `.o` under testdata/, sorted. */
function testdataObjects(): string[] {
  const out: string[] = [];
  const walk = (dir: string) => {
    for (const e of Deno.readDirSync(dir)) {
      const p = `${dir}/${e.name}`;
      if (e.isDirectory) walk(p);
      else if (e.isFile && e.name.endsWith(".o")) out.push(p);
    }
  };
  walk(new URL("testdata", root).pathname);
  return out.sort();
}

/** cilium/ebpf's little-endian test objects, when the Debian package is installed. */
function ciliumObjects(): string[] {
  try {
    return [...Deno.readDirSync(CILIUM_TESTDATA)].map((e) => e.name)
      .filter((n) => n.endsWith("-el.elf")).sort().map((n) => CILIUM_TESTDATA + n);
  } catch {
    return [];
  }
}

/**
 * The BPF objects libbpf-tools' binaries embed (their skeletons carry the
 * object's bytes), written to `dir`; none when libbpf-tools is missing.
 */
function libbpfToolsObjects(dir: string): string[] {
  const out: string[] = [];
  for (const tool of ["execsnoop", "opensnoop", "biolatency", "runqlat", "tcpconnect"]) {
    let bin: Uint8Array;
    try {
      bin = Deno.readFileSync(`/usr/sbin/${tool}`);
    } catch {
      continue;
    }
    const dv = new DataView(bin.buffer, bin.byteOffset, bin.byteLength);
    for (let i = 1; i + 64 <= bin.length; i++) {
      // "\x7fELF", 64-bit, little endian, EM_BPF.
      if (dv.getUint32(i, false) !== 0x7f454c46 || bin[i + 4] !== 2 || bin[i + 5] !== 1) continue;
      if (dv.getUint16(i + 18, true) !== 247) continue;
      const end = i + Number(dv.getBigUint64(i + 40, true)) +
        dv.getUint16(i + 58, true) * dv.getUint16(i + 60, true);
      if (end > bin.length) continue;
      Deno.writeFileSync(`${dir}/${tool}.bpf.o`, bin.subarray(i, end));
      out.push(`${dir}/${tool}.bpf.o`);
      break;
    }
  }
  return out;
}

const ident = (s: string) => /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(s);
const prop = (s: string) => (ident(s) ? `.${s}` : `[${JSON.stringify(s)}]`);

/**
 * A program using every program, map and variable of `path`'s object
 * through the module `module`, and a name the object lacks (which the type
 * checker must reject).
 */
function usageProgram(path: string, module: string, prefix: string): string {
  const spec = loadCollectionSpec(path);
  const lines = [
    `import { load, loadSpec, objectBytes, type ${prefix}Objects } from "./${module}";`,
    `export async function use(): Promise<number> {`,
    `  const spec = loadSpec();`,
    `  let n = objectBytes().length + Object.keys(spec.collection.maps).length;`,
  ];
  for (const v of Object.keys(spec.variables)) {
    lines.push(`  n += spec.variables${prop(v)}.size; spec.variables${prop(v)}.get();`);
  }
  lines.push(`  using objs: ${prefix}Objects = await load({ spec });`);
  for (const p of Object.keys(spec.programs)) lines.push(`  void objs.programs${prop(p)}.fd;`);
  for (const m of Object.keys(spec.maps)) lines.push(`  void objs.maps${prop(m)};`);
  for (const v of Object.keys(spec.variables)) lines.push(`  void objs.variables${prop(v)}.get();`);
  lines.push(
    `  // @ts-expect-error: the object has no such map`,
    `  void objs.maps.denobpf_no_such_map;`,
    `  // @ts-expect-error: nor such a program`,
    `  void objs.programs.denobpf_no_such_program;`,
    `  return n;`,
    `}`,
  );
  return lines.join("\n") + "\n";
}

/** A program using basic.o's bindings (`./basic_bpf.ts`) the way a user would. */
const BASIC_MAIN = `import { load, loadSpec, type LpmKey, type Pair } from "./basic_bpf.ts";
const spec = loadSpec();
spec.collection.maps.denobpf_pinned.pinning = "none"; // adapt the spec: no bpffs needed
const before: number = spec.variables.rodata_limit.get();
spec.variables.rodata_limit.set(10);
using objs = await load({ spec });
const { retval } = objs.programs.sock_count.testRunSync({ data: new Uint8Array(64) });
const calls: bigint | undefined = objs.maps.counts.get(0);
objs.maps.pairs.set(1, { packets: 2n, bytes: 3n });
const pair: Pair | undefined = objs.maps.pairs.get(1);
const key: LpmKey = { prefixlen: 24, addr: new Uint8Array([10, 0, 0, 0]) };
objs.maps.routes.set(key, 7);
const route: number | undefined = objs.maps.routes.get(key);
objs.variables.bss_pair.set({ packets: 5n, bytes: 6n });
let refused = "";
try {
  objs.variables.rodata_limit.set(1);
} catch (e) {
  refused = (e as Error).constructor.name;
}
console.log(JSON.stringify({
  before,
  retval,
  calls: String(calls),
  pair: pair && [String(pair.packets), String(pair.bytes)],
  route,
  total: String(objs.variables.bss_total.get()),
  limit: objs.variables.rodata_limit.get(),
  greeting: objs.variables.greeting.get(),
  bssPair: String(objs.variables.bss_pair.get().bytes),
  refused,
}));
`;

const GEN_EVENTS = new URL("testdata/bpf/gen_events_bpfel.o", root).pathname;
/** Where {@linkcode checked} has the CLI write the `--path` module of its copy of gen_events.o. */
const CLI_MODULE = (dir: string) => `${dir}/cli/gen/sub/events_bpf.ts`;

/** What {@linkcode checked} wrote and what its one `deno check` said. */
interface Checked {
  /** The temporary folder (removed when the test process exits). */
  dir: string;
  /** The objects of the first test, the modules generated and the libbpf-tools objects. */
  objects: string[];
  generated: number;
  tools: string[];
  /** `deno check`'s verdict on every file written, and its stderr. */
  ok: boolean;
  stderr: string;
}

let checkedOnce: Promise<Checked> | undefined;

/**
 * One `deno check` for every program this file type-checks (each costs a
 * check of the whole library: 7 s here, about two minutes under the VM
 * stage's TCG): the modules of every object in testdata/ with their usage
 * programs, basic.o's module with `basic/main.ts`, and the CLI's `--path`
 * module written two folders down with `cli/gen/sub/main.ts`. Built the first
 * time a test asks, in that test; the folder lives until the process exits so
 * that the tests run the programs that were checked.
 */
function checked(): Promise<Checked> {
  checkedOnce ??= (async () => {
    const dir = Deno.makeTempDirSync({ prefix: "denobpf-gen-" });
    globalThis.addEventListener("unload", () => Deno.removeSync(dir, { recursive: true }));
    const files: string[] = [];
    const tools = libbpfToolsObjects(dir);
    const objects = [...testdataObjects(), ...ciliumObjects(), ...tools];
    let generated = 0;
    for (const path of objects) {
      let specError: unknown;
      try {
        loadCollectionSpec(path);
      } catch (e) {
        specError = e;
      }
      const base = path.replace(/^.*\//, "").replace(/\.(o|elf)$/, "").replace(
        /[^A-Za-z0-9]+/g,
        "_",
      );
      const name = `o${objects.indexOf(path)}_${base}`;
      if (specError !== undefined) {
        // Objects the reader refuses: the generator refuses them with the same typed error.
        assert.ok(specError instanceof EbpfError, `${path}: ${specError}`);
        assert.throws(() => generateBindings(path, { name }), (e: unknown) => {
          assert.ok(e instanceof EbpfError, `${path}: ${e}`);
          assert.equal((e as Error).message, (specError as Error).message);
          return true;
        });
        continue;
      }
      const module = `${name}_bpf.ts`;
      Deno.writeTextFileSync(`${dir}/${module}`, generateBindings(path, { name }));
      const prefix = name.split("_").filter(Boolean).map((p) => p[0].toUpperCase() + p.slice(1))
        .join("");
      Deno.writeTextFileSync(`${dir}/use_${name}.ts`, usageProgram(path, module, prefix));
      files.push(module, `use_${name}.ts`);
      generated++;
    }

    Deno.mkdirSync(`${dir}/basic`);
    Deno.writeTextFileSync(
      `${dir}/basic/basic_bpf.ts`,
      generateBindings(new URL("testdata/bpf/basic_bpfel.o", root)),
    );
    Deno.writeTextFileSync(`${dir}/basic/main.ts`, BASIC_MAIN);
    files.push("basic/main.ts");

    // A copy of the object in the temporary folder (the project may be
    // read-only, as in the VM stage's guest), with the module written two
    // folders down.
    Deno.mkdirSync(`${dir}/cli/bpf`, { recursive: true });
    Deno.mkdirSync(`${dir}/cli/gen/sub`, { recursive: true });
    const copy = `${dir}/cli/bpf/gen_events_bpfel.o`;
    Deno.copyFileSync(GEN_EVENTS, copy);
    const r = await cli(["gen", "ts", copy, "-o", CLI_MODULE(dir), "--path", "--name", "ev"]);
    assert.equal(r.code, 0, r.stderr);
    Deno.writeTextFileSync(
      `${dir}/cli/gen/sub/main.ts`,
      `import { loadSpec, objectUrl } from "./events_bpf.ts";\n` +
        `console.log(Object.keys(loadSpec().collection.programs).join(), objectUrl.protocol);\n`,
    );
    files.push("cli/gen/sub/main.ts");

    const out = await new Deno.Command(Deno.execPath(), {
      args: ["check", "--quiet", "--config", config, ...files],
      cwd: dir,
      env: { NO_COLOR: "1" },
    }).output();
    return {
      dir,
      objects,
      generated,
      tools,
      ok: out.success,
      stderr: dec.decode(out.stderr).slice(0, 4000),
    };
  })();
  return checkedOnce;
}

/** Fails unless {@linkcode checked}'s `deno check` accepted every file. */
function assertChecked(c: Checked): void {
  assert.ok(c.ok, `deno check failed:\n${c.stderr}`);
}

Deno.test("gen ts: every object in testdata/, cilium's testdata and libbpf-tools' binaries gives a module that type-checks with a program using all its names", async () => {
  const c = await checked();
  // All of testdata/bpf (both byte orders) and more.
  assert.ok(c.generated >= 40, `only ${c.generated} modules of ${c.objects.length} objects`);
  // execsnoop builds its record in a hash map, then sends it: a map value is a record too.
  const execsnoop = c.tools.findIndex((p) => p.endsWith("/execsnoop.bpf.o"));
  if (execsnoop >= 0) {
    const text = Deno.readTextFileSync(
      `${c.dir}/o${c.objects.indexOf(c.tools[execsnoop])}_execsnoop_bpf_bpf.ts`,
    );
    assert.match(text, /export function decodeEvent\(record: Uint8Array\): Event/);
    assert.match(text, /readonly execs: map\.TypedMap<number, Event, map\.BpfMap>/);
  }
  assertChecked(c);
});

Deno.test("gen ts: basic.o's bindings run on this kernel: typed map lookups and updates, variables before and after load", async () => {
  const c = await checked();
  assertChecked(c);
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", "--no-prompt", "--config", config, "main.ts"],
    cwd: `${c.dir}/basic`,
    env: { NO_COLOR: "1" },
  }).output();
  assert.ok(out.success, dec.decode(out.stderr));
  assert.deepEqual(JSON.parse(dec.decode(out.stdout)), {
    before: 42,
    // skb->len 50 > rodata_limit 10 → add_twice(50, data_counter 7).
    retval: 64,
    calls: "1",
    pair: ["2", "3"],
    route: 7,
    total: "50",
    limit: 10,
    greeting: "hello",
    bssPair: "6",
    refused: "InvalidArgumentError",
  });
});

const needs = [
  haveMapType("ringbuf") ? "" : "map type ringbuf",
  haveMapType("perf_event_array") ? "" : "map type perf_event_array",
  haveProgramType("raw_tracepoint") ? "" : "program type raw_tracepoint",
].filter(Boolean);

Deno.test({
  name:
    `gen ts: gen_events.o's bindings on this kernel: ring buffer records decoded, struct keys and values, variables${
      needs.length ? ` (skipped: no ${needs.join(", ")})` : ""
    }`,
  ignore: needs.length > 0,
  async fn() {
    const spec = loadGenEventsSpec();
    assert.deepEqual(spec.variables.limits.get(), { max_events: 16, verbose: true });
    // The calls come from a single-threaded process (a shell waiting for a line, then
    // writing 8 lines), so that every event and count is one thread's: in this process,
    // Deno's other threads make system calls of their own, named after them.
    const shell = new Deno.Command("sh", {
      args: ["-c", "read x; for i in 1 2 3 4 5 6 7 8; do echo $i; done"],
      stdin: "piped",
      stdout: "null",
    }).spawn();
    spec.variables.target_pid.set(shell.pid);
    spec.variables.limits.set({ max_events: 4, verbose: false });
    using objs = await loadGenEvents({ spec });
    using reader = ringBufReader(objs.maps.events);
    using samples = perfReader(objs.maps.samples);
    {
      using _link = attachRawTracepoint(objs.programs.on_sys_enter, { name: "sys_enter" });
      // More calls than max_events, made before the shell exits: no wait on the kernel
      // needed (a raw tracepoint runs in the system call, before it returns).
      const w = shell.stdin.getWriter();
      await w.write(new TextEncoder().encode("go\n"));
      await w.close();
      assert.ok((await shell.status).success);
    }
    const events: Event[] = [];
    reader.consume((rec) => {
      events.push(decodeEvent(rec));
    });
    assert.equal(events.length, 4);
    // The same records as perf samples (padded by the kernel: decoders take the prefix).
    const sampled: Event[] = [];
    samples.consume((rec) => {
      if (rec.data) sampled.push(decodeEvent(rec.data));
    });
    assert.deepEqual(sampled.sort((a, b) => Number(a.args[2] - b.args[2])), events);
    events.forEach((e, i) => {
      assert.equal(e.pid, shell.pid);
      assert.equal(e.kind, i === 3 ? EventKind.EVENT_LIMIT : EventKind.EVENT_ENTER);
      // Bitfields as clang laid them out: cpu:8, flags:4 (5), truncated:1 (1).
      assert.equal(e.flags, 5);
      assert.equal(e.truncated, 1);
      assert.ok(e.cpu < 256);
      // The anonymous union: syscall_nr and its bytes.
      assert.deepEqual(e.raw, new Uint8Array(new BigUint64Array([e.syscall_nr]).buffer));
      assert.deepEqual(e.args, [-1n, e.syscall_nr, BigInt(i)]);
      assert.ok(e.comm.length > 0 && !e.comm.includes("\0"), e.comm);
    });
    const counts = [...objs.maps.counts];
    assert.ok(counts.length > 0);
    let total = 0n;
    for (const [k, v] of counts) {
      assert.equal(k.pid, shell.pid);
      assert.ok(v.calls >= 1n && v.seen.last_ns >= v.seen.first_ns);
      assert.equal(v.comm, events[0].comm);
      total += v.calls;
    }
    assert.ok(total >= 4n);
    const first = counts[0][0];
    assert.equal(objs.maps.counts.get(first)?.calls, counts[0][1].calls);
    assert.equal(objs.maps.counts.get({ pid: 0, syscall_nr: 99999 }), undefined);
    assert.equal(objs.variables.event_count.get(), 4n);
    assert.equal(objs.variables.dropped.get(), 0);
    assert.equal(objs.variables.last_comm.get(), events[0].comm);
    assert.equal(objs.variables.target_pid.get(), shell.pid);
    // A union map value: one member written, both read.
    objs.maps.addrs.set(1, { v4: 0x0100007f } as Addr);
    const addr = objs.maps.addrs.get(1)!;
    assert.equal(addr.v4, 0x0100007f);
    assert.deepEqual([...addr.v6.subarray(0, 5)], [0x7f, 0, 0, 1, 0]);
  },
});

Deno.test("gen ts: examples/gen/gen_events_bpf.ts is what the generator writes for testdata/bpf/gen_events_bpfel.o", () => {
  const want = generateBindings(new URL("testdata/bpf/gen_events_bpfel.o", root));
  const have = Deno.readTextFileSync(new URL("examples/gen/gen_events_bpf.ts", root));
  assert.ok(
    have === want,
    "examples/gen/gen_events_bpf.ts is stale: deno task cli gen ts testdata/bpf/gen_events_bpfel.o " +
      "-o examples/gen/gen_events_bpf.ts",
  );
});

/** cli.ts on `args`, run in this process. */
async function cli(args: string[]) {
  const r = await runCli(args);
  return { code: r.code, stdout: r.out, stderr: r.err };
}

Deno.test("cli gen ts: stdout is the library's module; --path reads the object relative to -o; --record picks records and names a missing one", async () => {
  const obj = new URL("testdata/bpf/gen_events_bpfel.o", root).pathname;
  const stdout = await cli(["gen", "ts", obj]);
  assert.equal(stdout.code, 0, stdout.stderr);
  assert.equal(stdout.stdout, generateBindings(new URL(obj, root)));

  // The module {@linkcode checked} had the CLI write from a copy of the object
  // (`gen ts COPY -o cli/gen/sub/events_bpf.ts --path --name ev`) and type-checked.
  const c = await checked();
  assertChecked(c);
  const text = Deno.readTextFileSync(CLI_MODULE(c.dir));
  assert.match(text, /new URL\("\.\.\/\.\.\/bpf\/gen_events_bpfel\.o", import\.meta\.url\)/);
  assert.match(text, /export type EvObjects = /);
  assert.doesNotMatch(text, /atob|objectBytes|Deno\.read/);
  // The module reads the object by path, with --allow-ffi alone: its spec has the programs.
  const run = await new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", "--no-prompt", "--config", config, "main.ts"],
    cwd: `${c.dir}/cli/gen/sub`,
    env: { NO_COLOR: "1" },
  }).output();
  assert.ok(run.success, dec.decode(run.stderr));
  assert.equal(dec.decode(run.stdout), "on_sys_enter file:\n");

  const picked = await cli(["gen", "ts", obj, "--record", "count_key,event"]);
  assert.equal(picked.code, 0, picked.stderr);
  assert.match(picked.stdout, /export function decodeCountKey\(/);
  assert.match(picked.stdout, /export function decodeEvent\(/);

  const missing = await cli(["gen", "ts", obj, "--record", "nope"]);
  assert.equal(missing.code, 1);
  assert.match(
    missing.stderr,
    /^denobpf: the object's BTF has no struct or union "nope" \(it has: .*event/,
  );
  assert.throws(() => generateBindings(new URL(obj, root), { records: ["nope"] }), NotFoundError);

  const usage = await cli(["gen", "ts"]);
  assert.equal(usage.code, 2);
  assert.match(usage.stderr, /^usage: gen ts OBJECT\.o/);
});

Deno.test("map layout codecs: a bitfield reads what it wrote and keeps the neighbouring bits, in both byte orders", () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 7 }),
      fc.integer({ min: 1, max: 64 }),
      fc.boolean(),
      fc.boolean(),
      fc.uint8Array({ minLength: 9, maxLength: 9 }),
      fc.bigInt({ min: 0n, max: (1n << 64n) - 1n }),
      (bitOffset, bits, signed, littleEndian, background, raw) => {
        const c = bitfield64({ bitOffset, bits, signed, littleEndian });
        const value = signed ? BigInt.asIntN(bits, raw) : BigInt.asUintN(bits, raw);
        const buf = background.slice();
        c.write(new DataView(buf.buffer), 0, value);
        assert.equal(c.read(new DataView(buf.buffer), 0), value);
        // Only the field's bits changed: compare the bytes as one big integer.
        const whole = (b: Uint8Array) =>
          (littleEndian ? [...b.subarray(0, c.size)].reverse() : [...b.subarray(0, c.size)])
            .reduce((a, x) => (a << 8n) | BigInt(x), 0n);
        const shift = BigInt(littleEndian ? bitOffset : c.size * 8 - bitOffset - bits);
        const mask = ((1n << BigInt(bits)) - 1n) << shift;
        assert.equal(whole(buf) & ~mask, whole(background) & ~mask);
        assert.deepEqual(buf.subarray(c.size), background.subarray(c.size));
        if (bits <= 32) {
          const n = bitfield({ bitOffset, bits, signed, littleEndian });
          assert.equal(n.read(new DataView(buf.buffer), 0), Number(value));
        }
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("map layout codecs: a record with overlapping union members round-trips what it decodes; a short record is a ParseError", () => {
  const u = record({ name: "union u", size: 8, align: 8 }, {
    a: { offset: 0, codec: u32, optional: true },
    b: { offset: 0, codec: u64, optional: true },
    c: { offset: 4, codec: u32, optional: true },
  });
  const typed: { a: number; b: bigint; c: number } = decodeRecord(u, new Uint8Array(8));
  assert.deepEqual(typed, { a: 0, b: 0n, c: 0 });
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 8, maxLength: 16 }), (bytes) => {
      const v = decodeRecord(u, bytes);
      const out = new Uint8Array(8);
      u.write(new DataView(out.buffer), 0, v);
      assert.deepEqual(out, bytes.subarray(0, 8));
    }),
  );
  assert.throws(() => decodeRecord(u, new Uint8Array(7)), ParseError);
});

// The reader and the generator are pure code: the VM guest runs fewer cases
// (tests/_helpers.ts pureRuns), the host the full counts.
Deno.test("generateBindings on mutated objects: a typed error or a module, never anything else", () => {
  const original = Deno.readFileSync(new URL("testdata/bpf/gen_events_bpfel.o", root));
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat({ max: original.length - 1 }), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 8,
      }),
      fc.option(fc.nat({ max: original.length })),
      (edits, cut) => {
        const bytes = original.slice(0, cut ?? original.length);
        for (const [at, v] of edits) if (at < bytes.length) bytes[at] = v;
        try {
          const code = generateBindings(bytes, { name: "m" });
          assert.equal(typeof code, "string");
        } catch (e) {
          assert.ok(e instanceof EbpfError, `${e}`);
        }
      },
    ),
    { numRuns: pureRuns(200) },
  );
  // Mutations inside .BTF alone: the types the generator walks.
  const btf = parseElf(original).sections.find((sec) => sec.name === ".BTF")!;
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat({ max: btf.size - 1 }), fc.integer({ min: 0, max: 255 })), {
        minLength: 1,
        maxLength: 4,
      }),
      (edits) => {
        const bytes = original.slice();
        for (const [at, v] of edits) bytes[btf.offset + at] = v;
        try {
          assert.equal(typeof generateBindings(bytes, { name: "m" }), "string");
        } catch (e) {
          assert.ok(e instanceof EbpfError, `${e}`);
        }
      },
    ),
    { numRuns: pureRuns(300) },
  );
  // Random bytes: a ParseError.
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
      assert.throws(() => generateBindings(bytes), EbpfError);
    }),
    { numRuns: pureRuns(100) },
  );
});
