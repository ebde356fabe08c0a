// `prog dump xlated|jited` (cli.ts) against bpftool 7.1 on the same
// programs: ones assembled here to cover every instruction class (ALU and
// JMP in 64 and 32 bits, immediates and registers, endianness, ISA v4
// forms, loads, stores, atomics, 64-bit immediates, map pointers and map
// values, helper calls, tail calls, bpf-to-bpf calls, packet loads),
// basic.c loaded by this library's loader (BTF func_info and line_info:
// prototypes and source lines; subprograms, a bpf_loop callback), externs.c
// (kfunc calls, __ksym addresses) and libbpf-tools objects; text, opcodes,
// linum, visual (the DOT control-flow graph), -j and -p. Nothing is
// normalised: the instruction dumps do not change while loaded.

import assert from "node:assert/strict";
import fc from "fast-check";
import { loadCollection, loadCollectionSpec } from "../src/collection/mod.ts";
import { haveFeature } from "../src/features/mod.ts";
import { createMap } from "../src/map/mod.ts";
import { loadProgram } from "../src/program/load.ts";
import type { Program } from "../src/program/program.ts";
import * as asm from "../src/asm/builders.ts";
import { assemble } from "../src/asm/assemble.ts";
import { R0, R1, R10, R2, R3, R4, R6, R7 } from "../src/asm/register.ts";
import { loadBpftoolKsyms } from "../src/cli/bpftool_ksyms.ts";
import { btfTypeOnly, xlatedPlain } from "../src/cli/bpftool_xlated.ts";
import { xlatedCfg } from "../src/cli/bpftool_cfg.ts";
import { parseBtf } from "../src/btf/spec.ts";
import { bpftool, cli, embeddedObject, run, runCli } from "./_cli_helpers.ts";

const BASIC = new URL("../testdata/bpf/basic_bpfel.o", import.meta.url);

/** Every form bpftool 7.1 takes (one keyword at most) in text, -j and -p, compared byte for byte. */
async function compareDumps(prog: Program | { info(): { id: number } }, forms = FORMS) {
  const id = String(prog.info().id);
  for (const form of forms) {
    const args = ["prog", "dump", "xlated", "id", id, ...form];
    const visual = form.includes("visual");
    const [ours, theirs] = await Promise.all([
      cli(args),
      visual ? bpftoolVisual(args) : bpftool(args),
    ]);
    assert.equal(ours, theirs, `prog dump xlated id ${id} ${form.join(" ")}`);
  }
}

/**
 * {@linkcode bpftool} for a `visual` dump. bpftool 7.1 reads /proc/kallsyms
 * again for every basic block it draws (29 times for basic.c's xdp_sum: the
 * kernel writes its 120,000 lines each time, 40% of bpftool's CPU and most of
 * this file's, minutes under the VM stage's TCG); here it reads a copy made
 * just before, bind-mounted over /proc/kallsyms in a mount namespace of its
 * own (`unshare -m`): the kernel's bytes of that moment, written out once.
 */
async function bpftoolVisual(args: string[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "denobpf_kallsyms_" });
  try {
    await Deno.writeFile(`${dir}/kallsyms`, await Deno.readFile("/proc/kallsyms"));
    const r = await run("unshare", [
      "-m",
      "sh",
      "-c",
      'mount --bind "$0" /proc/kallsyms && exec bpftool "$@"',
      `${dir}/kallsyms`,
      ...args,
    ]);
    assert.equal(r.code, 0, `bpftool ${args.join(" ")} (kallsyms copied): ${r.err}`);
    return r.out;
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

const FORMS = [[], ["opcodes"], ["visual"], ["-j"], ["-p", "linum"]];

/** ALU, endianness, 64-bit immediates, stores and loads, helper calls, jumps of every kind (ISA v1-v3). */
function aluAndJumps(): Uint8Array {
  const alu = [];
  const ops = ["add", "sub", "mul", "div", "or", "and", "lsh", "rsh", "mod", "xor", "mov", "arsh"];
  for (const op of ops) {
    for (const bits of ["64", "32"]) {
      const f =
        (asm as unknown as Record<string, (d: unknown, s: unknown) => asm.Operand>)[op + bits];
      alu.push(f(R1, op === "lsh" || op === "rsh" || op === "arsh" ? 3 : -7), f(R2, R3));
    }
  }
  const jumps = [];
  const conds = ["jeq", "jgt", "jge", "jset", "jne", "jsgt", "jsge", "jlt", "jle", "jslt", "jsle"];
  for (const j of conds) {
    for (const suffix of ["", "32"]) {
      const f =
        (asm as unknown as Record<string, (a: unknown, b: unknown, t: unknown) => asm.Operand>)[
          j + suffix
        ];
      jumps.push(f(R1, 0x7f, 0), f(R1, R2, 0));
    }
  }
  return assemble([
    asm.mov64(R1, 1),
    asm.mov64(R2, 2),
    asm.mov64(R3, 3),
    ...alu as never[],
    asm.neg64(R1),
    asm.neg32(R2),
    asm.le16(R1),
    asm.be32(R2),
    asm.be64(R3),
    asm.lddw(R4, 0x123456789abcdef0n),
    asm.lddw(R4, -1n),
    asm.stdw(R10, -8, -5),
    asm.stw(R10, -16, 0x7fffffff),
    asm.sth(R10, -18, 3),
    asm.stb(R10, -19, -1),
    asm.stxdw(R10, -32, R4),
    asm.ldxdw(R0, R10, -32),
    asm.ldxh(R0, R10, -18),
    asm.call("ktime_get_ns"),
    asm.call("get_prandom_u32"),
    asm.mov64(R1, R0),
    asm.mov64(R2, 2),
    ...jumps as never[],
    asm.ja(0),
    asm.mov64(R0, 0),
    asm.exit(),
  ]).bytes;
}

/** The ISA v4 forms (Linux 6.6): bswap, sdiv and smod, movsx, sign-extending loads, gotol. */
function isaV4(): Uint8Array {
  return assemble([
    asm.mov64(R1, 1),
    asm.mov64(R2, 2),
    asm.mov64(R3, 3),
    asm.bswap16(R1),
    asm.bswap64(R2),
    asm.sdiv64(R1, R3),
    asm.smod32(R2, 5),
    asm.movsx64(R3, R1, 8),
    asm.movsx32(R3, R2, 16),
    asm.stw(R10, -16, 0x7fffffff),
    asm.stb(R10, -19, -1),
    asm.ldxsb(R0, R10, -19),
    asm.ldxsw(R0, R10, -16),
    asm.ja32(0),
    asm.gotol(0),
    asm.mov64(R0, 0),
    asm.exit(),
  ]).bytes;
}

/** Map pointers, map values (ld_imm64 forms) and every atomic on a map value. */
function mapsAndAtomics(mapFd: number): Uint8Array {
  const atomics = [
    "atomicAdd64",
    "atomicFetchAdd64",
    "atomicAdd32",
    "atomicFetchAdd32",
    "atomicOr64",
    "atomicFetchOr64",
    "atomicOr32",
    "atomicFetchOr32",
    "atomicAnd64",
    "atomicFetchAnd64",
    "atomicAnd32",
    "atomicFetchAnd32",
    "atomicXor64",
    "atomicFetchXor64",
    "atomicXor32",
    "atomicFetchXor32",
    "atomicXchg64",
    "atomicCmpxchg64",
    "atomicXchg32",
    "atomicCmpxchg32",
  ].map((n) =>
    (asm as unknown as Record<string, (d: unknown, o: number, s: unknown) => asm.Operand>)[n](
      R6,
      n.endsWith("32") ? 8 : 0,
      R1,
    )
  );
  return assemble([
    asm.loadMapPtr(R1, mapFd),
    asm.mov64(R2, R10),
    asm.add64(R2, -8),
    asm.stdw(R10, -8, 0),
    asm.call("map_lookup_elem"),
    asm.jeq(R0, 0, "out"),
    asm.mov64(R6, R0),
    asm.mov64(R1, 1),
    asm.mov64(R0, 0),
    ...atomics as never[],
    asm.loadMapValue(R7, mapFd, 16),
    asm.ldxdw(R0, R7, 0),
    asm.mov64(R0, 0).withSymbol("out"),
    asm.exit(),
  ]).bytes;
}

/** A bpf-to-bpf call and a tail call (callbacks need BTF: basic.c's bpf_loop has one). */
function callsAndTail(progArrayFd: number): Uint8Array {
  return assemble([
    asm.mov64(R6, R1),
    asm.callLabel("sub"),
    asm.mov64(R1, R6),
    asm.loadMapPtr(R2, progArrayFd),
    asm.mov64(R3, 0),
    asm.call("tail_call"),
    asm.mov64(R0, 0),
    asm.exit(),
    asm.mov64(R0, 7).withSymbol("sub"),
    asm.exit(),
  ]).bytes;
}

/** Packet loads: BPF_ABS and BPF_IND in every size (R6 holds the context). */
function packetLoads(): Uint8Array {
  return assemble([
    asm.mov64(R6, R1),
    asm.ldabsb(0),
    asm.ldabsh(2),
    asm.ldabsw(4),
    asm.mov64(R7, 1),
    asm.ldindb(R7, 0),
    asm.ldindh(R7, 2),
    asm.ldindw(R7, 4),
    asm.mov64(R0, 0),
    asm.exit(),
  ]).bytes;
}

Deno.test("cli prog dump xlated: assembled programs of every instruction class, as bpftool prints them", async () => {
  using values = createMap({ type: "array", keySize: 4, valueSize: 32, maxEntries: 1 });
  using progs = createMap({ type: "prog_array", keySize: 4, valueSize: 4, maxEntries: 1 });
  using alu = loadProgram({
    type: "socket_filter",
    instructions: aluAndJumps(),
    name: "alu_jumps",
  });
  using atomics = loadProgram({
    type: "socket_filter",
    instructions: mapsAndAtomics(values.fd),
    name: "atomics",
  });
  using calls = loadProgram({
    type: "socket_filter",
    instructions: callsAndTail(progs.fd),
    name: "calls",
  });
  using ld = loadProgram({ type: "socket_filter", instructions: packetLoads(), name: "ld_abs" });
  for (const p of [alu, atomics, calls, ld]) await compareDumps(p);
  // The text has what the brief of these fixtures promises.
  const text = await cli(["prog", "dump", "xlated", "id", String(atomics.info().id)]);
  assert.match(text, /call bpf_map_lookup_elem#|call array_map_lookup_elem#|r1 = map\[id:\d+\]/);
  assert.match(text, /map\[id:\d+\]\[0\]\+16/);
  const callText = await cli(["prog", "dump", "xlated", "id", String(calls.info().id)]);
  assert.match(callText, /call pc\+\d+#bpf_prog_[0-9a-f]{16}_F/);
  assert.match(callText, /call bpf_tail_call#12/);
});

const V4 = haveFeature("v4_isa");

Deno.test({
  name: `cli prog dump xlated: the ISA v4 forms, as bpftool prints them${
    V4 ? "" : " (skipped: v4_isa (ISA extension v4) not supported by this kernel)"
  }`,
  ignore: !V4,
  fn: async () => {
    using v4 = loadProgram({ type: "socket_filter", instructions: isaV4(), name: "isa_v4" });
    await compareDumps(v4);
  },
});

Deno.test("cli prog dump xlated: basic.c from this library's loader (BTF prototypes, source lines, subprograms)", async () => {
  using coll = await loadCollection(BASIC);
  for (const p of Object.values(coll.programs)) await compareDumps(p);
  const one = coll.programs.xdp_sum;
  const text = await cli(["prog", "dump", "xlated", "id", String(one.info().id)]);
  assert.match(text, /^int xdp_sum\(struct xdp_md \* ctx\):\n; int xdp_sum/);
  // tag and name select programs as bpftool does (a header per program when several match).
  const tag = one.info().tag;
  for (const sel of [["tag", tag], ["name", "xdp_sum"]]) {
    for (const flags of [[], ["-j"]]) {
      const args = ["prog", "dump", "xlated", ...sel, ...flags];
      assert.equal(await cli(args), await bpftool(args), args.join(" "));
    }
  }
});

Deno.test("cli prog dump xlated: libbpf-tools objects (runqlat, execsnoop) loaded by this library", async () => {
  for (const tool of ["runqlat", "execsnoop"]) {
    const spec = loadCollectionSpec(embeddedObject(`/usr/sbin/${tool}`));
    for (const m of Object.values(spec.maps)) if (!m.maxEntries) m.maxEntries = 64;
    using coll = await loadCollection(spec);
    assert.ok(Object.keys(coll.programs).length, `${tool} has programs`);
    for (const p of Object.values(coll.programs)) await compareDumps(p, [[], ["-j"], ["visual"]]);
  }
});

// externs.c's kfunc_lookup calls the kfunc bpf_task_from_pid (Linux 6.2); no
// feature probe covers kfuncs, so the kernel's BTF is asked, as
// tests/collection_externs_test.ts does.
const HAVE_TASK_KFUNC = parseBtf(Deno.readFileSync("/sys/kernel/btf/vmlinux"))
  .typeIdsByName("bpf_task_from_pid", "func").length > 0;

Deno.test({
  name: `cli prog dump xlated: kfunc calls and __ksym addresses (externs.c)${
    HAVE_TASK_KFUNC ? "" : " (skipped: no kfunc bpf_task_from_pid in this kernel's BTF)"
  }`,
  ignore: !HAVE_TASK_KFUNC,
  fn: async () => {
    using coll = await loadCollection(new URL("../testdata/bpf/externs_bpfel.o", import.meta.url));
    for (const p of Object.values(coll.programs)) await compareDumps(p, [[], ["-j"], ["visual"]]);
    const text = await cli([
      "prog",
      "dump",
      "xlated",
      "id",
      String(coll.programs.kfunc_lookup.info().id),
    ]);
    assert.match(text, /call bpf_task_from_pid#-?\d+/);
  },
});

Deno.test("cli prog dump xlated file / jited file: the raw instructions, as bpftool writes them", async () => {
  using coll = await loadCollection(BASIC);
  const id = String(coll.programs.xdp_sum.info().id);
  const dir = await Deno.makeTempDir();
  try {
    await cli(["prog", "dump", "xlated", "id", id, "file", `${dir}/ours`]);
    await bpftool(["prog", "dump", "xlated", "id", id, "file", `${dir}/theirs`]);
    assert.deepEqual(await Deno.readFile(`${dir}/ours`), await Deno.readFile(`${dir}/theirs`));
    assert.equal(
      await cli(["prog", "dump", "xlated", "id", id, "file", `${dir}/ours`, "-j"]),
      "null\n",
    );
    // jited: bpftool here has no disassembler (no libbfd); the bytes are the kernel's.
    await cli(["prog", "dump", "jited", "id", id, "file", `${dir}/jited`]);
    const jited = await Deno.readFile(`${dir}/jited`);
    assert.equal(jited.length, coll.programs.xdp_sum.info().jitedSize);
    const text = await cli(["prog", "dump", "jited", "id", id]);
    assert.match(
      text,
      /^int xdp_sum\(struct xdp_md \* ctx\):\nbpf_prog_[0-9a-f]{16}_xdp_sum:\n {3}0:\t/,
    );
    const json = JSON.parse(await cli(["prog", "dump", "jited", "id", id, "-j"]));
    const bytes = json.flatMap((f: { insns: { opcodes: string[] }[] }) =>
      f.insns.flatMap((i) => i.opcodes.map(Number))
    );
    assert.deepEqual(new Uint8Array(bytes), jited);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli prog dump: bpftool 7.1 takes one keyword after PROG; visual has no JSON form", async () => {
  using coll = await loadCollection(BASIC);
  const id = String(coll.programs.tail_target.info().id);
  const dump = ["prog", "dump", "xlated", "id", id];
  const r = await runCli([...dump, "opcodes", "linum"]);
  assert.equal(r.code, 1);
  assert.match(r.err, /one keyword after PROG/);
  const v = await runCli([...dump, "visual", "-j"]);
  assert.equal(v.code, 1);
  assert.match(v.err, /'visual' is not compatible with JSON output/);
});

// ---- properties of the pieces (no kernel needed) ----------------------------

const KSYMS = loadBpftoolKsyms("ffffffff81000000 T __bpf_call_base\nffffffff81000100 T bpf_x\n");

Deno.test("xlatedPlain: any instruction bytes print one line per slot, 64-bit loads taking two (property)", () => {
  fc.assert(
    fc.property(fc.uint8Array({ minLength: 0, maxLength: 256 }), (raw) => {
      const insns = raw.subarray(0, raw.length - (raw.length % 8));
      const text = xlatedPlain({ insns, funcInfo: [], lineInfo: [], jitedKsyms: [], ksyms: KSYMS });
      const lines = text ? text.slice(0, -1).split("\n") : [];
      let expect = 0;
      for (let i = 0; i < insns.length / 8; i++, expect++) if (insns[i * 8] === 0x18) i++;
      assert.equal(lines.length, expect);
      for (const l of lines) assert.match(l, /^ {0,3}\d+: (\([0-9a-f]{2}\) |BUG_)/);
    }),
    { numRuns: 300 },
  );
});

Deno.test("xlatedPlain: mutated real programs print without throwing (property)", () => {
  const seed = aluAndJumps();
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(seed.length - 1), fc.integer({ min: 0, max: 255 }))),
      (muts) => {
        const insns = seed.slice();
        for (const [at, v] of muts) insns[at] = v;
        const text = xlatedPlain({
          insns,
          funcInfo: [],
          lineInfo: [],
          jitedKsyms: [],
          ksyms: KSYMS,
        });
        assert.ok(text.endsWith("\n"));
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("xlatedCfg: random and mutated instructions give one cluster per function, ENTRY and EXIT in each (property)", () => {
  const seed = aluAndJumps();
  const bytes = fc.oneof(
    fc.uint8Array({ minLength: 8, maxLength: 256 }).map((b) => b.subarray(0, b.length & ~7)),
    fc.array(fc.tuple(fc.nat(seed.length - 1), fc.integer({ min: 0, max: 255 }))).map((muts) => {
      const b = seed.slice();
      for (const [at, v] of muts) b[at] = v;
      return b;
    }),
  );
  fc.assert(
    fc.property(bytes, (insns) => {
      const dot = xlatedCfg(insns, KSYMS);
      const clusters = dot.match(/^subgraph "cluster_\d+" \{$/gm)?.length ?? 0;
      assert.ok(clusters >= 1);
      assert.equal(dot.match(/label="ENTRY"/g)?.length, clusters);
      assert.equal(dot.match(/label="EXIT"/g)?.length, clusters);
      assert.ok(
        dot.startsWith('digraph "DOT graph for eBPF program" {\n') && dot.endsWith("}\n}\n"),
      );
    }),
    { numRuns: 200 },
  );
});

Deno.test("loadBpftoolKsyms: finds what glibc's bsearch finds with bpftool's int comparator", () => {
  const k = loadBpftoolKsyms(
    "0000000000000000 A zero\nffffffff81000000 T __bpf_call_base\nffffffff81000010 t helper\n" +
      "ffffffffc0001000 t bpf_prog_0123456789abcdef_f\t[bpf]\n",
  );
  assert.equal(k.callBase, 0xffffffff81000000n);
  assert.equal(k.find(0xffffffff81000010n), "helper");
  assert.equal(k.find(0xffffffffc0001000n), "bpf_prog_0123456789abcdef_f");
  assert.equal(k.find(0xffffffff81000011n), undefined);
  assert.equal(k.find(0n), undefined); // address 0 is dropped, as bpftool drops it
});

Deno.test("loadBpftoolKsyms: random symbol tables and mutated kallsyms text (property)", () => {
  const sym = fc.record({
    // Kernel text and modules lie within 2 GiB: there bpftool's comparator is a total order.
    addr: fc.bigInt({ min: 0xffffffff80000000n, max: 0xfffffffffffffff0n }),
    type: fc.constantFrom("T", "t", "D", "b"),
    name: fc.stringMatching(/^[A-Za-z_][A-Za-z0-9_.]{0,30}$/),
  });
  fc.assert(
    fc.property(fc.array(sym, { minLength: 1, maxLength: 60 }), (syms) => {
      const text = syms.map((x) => `${x.addr.toString(16)} ${x.type} ${x.name}\n`).join("");
      const k = loadBpftoolKsyms(text);
      for (const x of syms) {
        const found = k.find(x.addr);
        assert.ok(found !== undefined, `${x.addr.toString(16)} found`);
        assert.ok(
          syms.some((y) => y.name === found && y.addr === x.addr),
          "a symbol at that address",
        );
      }
    }),
    { numRuns: 200 },
  );
  const real = Deno.readTextFileSync("/proc/kallsyms").slice(0, 20000);
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(real.length - 1), fc.string({ maxLength: 300 }))),
      (muts) => {
        let text = real;
        for (const [at, ins] of muts) text = text.slice(0, at) + ins + text.slice(at + 1);
        const k = loadBpftoolKsyms(text);
        k.find(0xffffffff81000000n);
      },
    ),
    { numRuns: 100 },
  );
});

Deno.test("btfTypeOnly: prototypes as bpftool's btf_dumper_type_only writes them", async () => {
  const btf = loadCollectionSpec(await Deno.readFile(BASIC)).types;
  const id = btf?.typeIdByName("xdp_sum", "func");
  assert.ok(btf && id);
  assert.equal(btfTypeOnly(btf, id), "int xdp_sum(struct xdp_md * ctx)");
});
