// The assembler against the kernel: a socket filter built with the `asm`
// builders exercises ISA v1–v4 instructions (sdiv/smod, movsx, ldsx, bswap,
// gotol, BPF_ST, atomics with fetch, load-acquire/store-release, JMP32,
// bpf-to-bpf calls, bpf_loop with a function pointer, may_goto, legacy
// packet loads, helpers by name and maps by name), is loaded with
// BPF_PROG_LOAD and run with BPF_PROG_TEST_RUN, and every result it stores
// in an array map is compared with the ISA's definition.

import assert from "node:assert/strict";
import { bpf, FD, SyscallError } from "../src/sys/mod.ts";
import { MapType } from "../src/map/mod.ts";
import { haveFeature, haveHelper } from "../src/features/mod.ts";
import {
  asm,
  Assembler,
  disassemble,
  encode,
  formatInstructions,
  ProgramType,
  R0,
  R1,
  R10,
  R2,
  R3,
  R4,
  R6,
  R7,
} from "../src/asm/mod.ts";

const SCRATCH = 8 * 64; // byte offset of the scratch area in the map value
const VALUE_SIZE = SCRATCH + 64;
const u64 = (v: bigint) => BigInt.asUintN(64, v);

/** What a case needs beyond the v1–v3 ISA, atomics and bpf-to-bpf calls: a feature probe. */
type Need = "v4_isa" | "load_acquire" | "may_goto" | "bpf_loop";

interface Case {
  name: string;
  build: (a: Assembler) => void;
  expected: bigint;
  /** The feature the case needs (probed before the test runs); none for the base ISA. */
  needs?: Need;
  /** Subprograms the case calls (emitted after main only when a case calls them). */
  calls?: ("triple" | "loop_cb")[];
}

const PACKET = new Uint8Array(64).map((_, i) => (i * 37 + 11) & 0xff);
const be = new DataView(PACKET.buffer);
// Socket filters see the packet from the network header: the test run pulls
// the Ethernet header off the frame, so ld_abs offset 0 is frame byte 14.
const ETH_HLEN = 14;

const CASES: Case[] = [
  { name: "mov64 imm sign-extends", build: (a) => a.mov64(R2, -1), expected: u64(-1n) },
  { name: "mov32 imm zero-extends", build: (a) => a.mov32(R2, -1), expected: 0xffffffffn },
  {
    name: "bswap16",
    needs: "v4_isa",
    build: (a) => a.lddw(R2, 0x0102030405060708n).bswap16(R2),
    expected: 0x0807n,
  },
  {
    name: "bswap32",
    needs: "v4_isa",
    build: (a) => a.lddw(R2, 0x0102030405060708n).bswap32(R2),
    expected: 0x08070605n,
  },
  {
    name: "bswap64",
    needs: "v4_isa",
    build: (a) => a.lddw(R2, 0x0102030405060708n).bswap64(R2),
    expected: 0x0807060504030201n,
  },
  {
    name: "be16 (host LE)",
    build: (a) => a.lddw(R2, 0x0102030405060708n).be16(R2),
    expected: 0x0807n,
  },
  {
    name: "le32 (host LE) truncates",
    build: (a) => a.lddw(R2, 0x0102030405060708n).le32(R2),
    expected: 0x05060708n,
  },
  {
    name: "sdiv64 imm",
    needs: "v4_isa",
    build: (a) => a.mov64(R2, -7).sdiv64(R2, 2),
    expected: u64(-3n),
  },
  {
    name: "smod64 imm",
    needs: "v4_isa",
    build: (a) => a.mov64(R2, -7).smod64(R2, 2),
    expected: u64(-1n),
  },
  {
    name: "sdiv32 imm",
    needs: "v4_isa",
    build: (a) => a.mov32(R2, -7).sdiv32(R2, 2),
    expected: 0xfffffffdn,
  },
  {
    name: "smod64 reg",
    needs: "v4_isa",
    build: (a) => a.mov64(R2, -7).mov64(R3, 2).smod64(R2, R3),
    expected: u64(-1n),
  },
  {
    name: "div64 by zero register gives 0",
    build: (a) => a.mov64(R2, 7).mov64(R3, 0).div64(R2, R3),
    expected: 0n,
  },
  {
    name: "mod64 by zero register keeps dst",
    build: (a) => a.mov64(R2, 7).mov64(R3, 0).mod64(R2, R3),
    expected: 7n,
  },
  { name: "mod32 imm", build: (a) => a.mov32(R2, 17).mod32(R2, 5), expected: 2n },
  {
    name: "movsx64 8",
    needs: "v4_isa",
    build: (a) => a.mov64(R3, 0x80).movsx64(R2, R3, 8),
    expected: u64(-128n),
  },
  {
    name: "movsx64 16",
    needs: "v4_isa",
    build: (a) => a.mov64(R3, 0x8000).movsx64(R2, R3, 16),
    expected: u64(-32768n),
  },
  {
    name: "movsx64 32",
    needs: "v4_isa",
    build: (a) => a.mov32(R3, 0x80000000).movsx64(R2, R3, 32),
    expected: 0xffffffff80000000n,
  },
  {
    name: "movsx32 8 zero-extends the 32-bit result",
    needs: "v4_isa",
    build: (a) => a.mov64(R3, 0x80).movsx32(R2, R3, 8),
    expected: 0xffffff80n,
  },
  { name: "arsh64", build: (a) => a.mov64(R2, -16).arsh64(R2, 2), expected: u64(-4n) },
  { name: "arsh32", build: (a) => a.mov32(R2, -16).arsh32(R2, 2), expected: 0xfffffffcn },
  { name: "neg64", build: (a) => a.mov64(R2, 5).neg64(R2), expected: u64(-5n) },
  { name: "neg32", build: (a) => a.mov64(R2, 5).neg32(R2), expected: 0xfffffffbn },
  { name: "add32 zero-extends", build: (a) => a.lddw(R2, -1n).add32(R2, 0), expected: 0xffffffffn },
  { name: "lsh/rsh", build: (a) => a.mov64(R2, 1).lsh64(R2, 63).rsh64(R2, 60), expected: 8n },
  {
    name: "or/and/xor",
    build: (a) => a.mov64(R2, 0xf0).or64(R2, 0x0f).and64(R2, 0x3c).xor32(R2, 0xff),
    expected: 0xc3n,
  },
  {
    name: "BPF_ST byte + ldxsb",
    needs: "v4_isa",
    build: (a) => a.stb(R10, -1, 0xff).ldxsb(R2, R10, -1),
    expected: u64(-1n),
  },
  {
    name: "BPF_ST half + ldxsh",
    needs: "v4_isa",
    build: (a) => a.sth(R10, -4, 0x8001).ldxsh(R2, R10, -4),
    expected: u64(-32767n),
  },
  {
    name: "BPF_ST word + ldxsw",
    needs: "v4_isa",
    build: (a) => a.stw(R10, -8, -2).ldxsw(R2, R10, -8),
    expected: u64(-2n),
  },
  {
    name: "BPF_ST word + ldxw",
    build: (a) => a.stw(R10, -8, 0x12345678).ldxw(R2, R10, -8),
    expected: 0x12345678n,
  },
  {
    name: "atomic fetch_add64 returns the old value",
    build: (a) => a.stdw(R7, SCRATCH, 10).mov64(R2, 5).atomicFetchAdd64(R7, SCRATCH, R2),
    expected: 10n,
  },
  { name: "… and adds", build: (a) => a.ldxdw(R2, R7, SCRATCH), expected: 15n },
  {
    name: "xchg64",
    build: (a) => a.mov64(R2, 3).atomicXchg64(R7, SCRATCH, R2),
    expected: 15n,
  },
  {
    name: "cmpxchg64 returns the old value in r0",
    build: (a) => a.mov64(R0, 3).mov64(R3, 99).atomicCmpxchg64(R7, SCRATCH, R3).mov64(R2, R0),
    expected: 3n,
  },
  { name: "… and swaps when equal", build: (a) => a.ldxdw(R2, R7, SCRATCH), expected: 99n },
  {
    name: "atomic add64 without fetch",
    build: (a) => a.mov64(R2, 1).atomicAdd64(R7, SCRATCH, R2).ldxdw(R2, R7, SCRATCH),
    expected: 100n,
  },
  {
    name: "fetch_or32",
    build: (a) => a.stw(R7, SCRATCH + 8, 0xf0).mov32(R2, 0x0f).atomicFetchOr32(R7, SCRATCH + 8, R2),
    expected: 0xf0n,
  },
  { name: "… or-ed", build: (a) => a.ldxw(R2, R7, SCRATCH + 8), expected: 0xffn },
  {
    name: "and32 + xor32 without fetch",
    build: (a) =>
      a.mov32(R2, 0x3c).atomicAnd32(R7, SCRATCH + 8, R2).mov32(R2, 0xff)
        .atomicXor32(R7, SCRATCH + 8, R2).ldxw(R2, R7, SCRATCH + 8),
    expected: 0xc3n,
  },
  {
    name: "cmpxchg32 not equal keeps memory",
    build: (a) =>
      a.mov32(R0, 1).mov32(R3, 7).atomicCmpxchg32(R7, SCRATCH + 8, R3).ldxw(R2, R7, SCRATCH + 8),
    expected: 0xc3n,
  },
  {
    name: "store-release + load-acquire 64",
    needs: "load_acquire",
    build: (a) =>
      a.mov64(R3, 0x1234).storeRelease64(R7, SCRATCH + 16, R3).loadAcquire64(R2, R7, SCRATCH + 16),
    expected: 0x1234n,
  },
  {
    name: "load-acquire 8",
    needs: "load_acquire",
    build: (a) => a.loadAcquire8(R2, R7, SCRATCH + 16),
    expected: 0x34n,
  },
  {
    name: "store-release 16 + load-acquire 32",
    needs: "load_acquire",
    build: (a) =>
      a.mov32(R3, 0xabcd).storeRelease16(R7, SCRATCH + 24, R3).loadAcquire32(R2, R7, SCRATCH + 24),
    expected: 0xabcdn,
  },
  {
    name: "gotol forward and backward",
    needs: "v4_isa",
    build: (a) =>
      a.mov64(R2, 1).ja32("g1").label("g2").add64(R2, 100).ja32("gdone").label("g1").add64(R2, 10)
        .ja32("g2").label("gdone").add64(R2, 0),
    expected: 111n,
  },
  {
    name: "jset taken",
    build: (a) =>
      a.mov64(R2, 0).mov64(R3, 6).jset(R3, 2, "jset_done").mov64(R2, 9).label("jset_done").add64(
        R2,
        1,
      ),
    expected: 1n,
  },
  {
    name: "jslt32 sees the low half only",
    build: (a) =>
      a.lddw(R3, 0x1fffffffen).mov64(R2, 0).jslt32(R3, 0, "j32_done").mov64(R2, 5).label("j32_done")
        .add64(R2, 1),
    expected: 1n,
  },
  {
    name: "jslt (64-bit) not taken for the same value",
    build: (a) =>
      a.lddw(R3, 0x1fffffffen).mov64(R2, 0).jslt(R3, 0, "j64_done").mov64(R2, 5).label("j64_done")
        .add64(R2, 1),
    expected: 6n,
  },
  {
    name: "jgt32 register",
    build: (a) =>
      a.mov64(R3, 2).mov64(R4, 1).mov64(R2, 0).jgt32(R3, R4, "jgt_done").mov64(R2, 5).label(
        "jgt_done",
      )
        .add64(R2, 1),
    expected: 1n,
  },
  {
    name: "bpf-to-bpf call",
    calls: ["triple"],
    build: (a) => a.mov64(R1, 7).callLabel("triple").mov64(R2, R0),
    expected: 21n,
  },
  {
    name: "bpf_loop with a function pointer (BPF_PSEUDO_FUNC)",
    needs: "bpf_loop",
    calls: ["loop_cb"],
    build: (a) =>
      a.stdw(R10, -16, 0).mov64(R1, 5).loadFunc(R2, "loop_cb").mov64(R3, R10).add64(R3, -16)
        .mov64(R4, 0).call("loop").ldxdw(R2, R10, -16).lsh64(R2, 8).or64(R2, R0),
    expected: (10n << 8n) | 5n,
  },
  {
    name: "map_lookup_elem on a map given by name",
    build: (a) =>
      a.loadMapPtr(R1, "out").stw(R10, -4, 0).mov64(R2, R10).add64(R2, -4)
        .call("map_lookup_elem").mov64(R2, 0).jeq(R0, 0, "lookup_done").ldxdw(R2, R0, 0)
        .label("lookup_done").add64(R2, 0),
    expected: u64(-1n), // case 0's slot
  },
  { name: "ld_abs b", build: (a) => a.ldabsb(0).mov64(R2, R0), expected: BigInt(PACKET[ETH_HLEN]) },
  {
    name: "ld_abs h",
    build: (a) => a.ldabsh(2).mov64(R2, R0),
    expected: BigInt(be.getUint16(ETH_HLEN + 2)),
  },
  {
    name: "ld_ind w",
    build: (a) => a.mov64(R3, 4).ldindw(R3, 4).mov64(R2, R0),
    expected: BigInt(be.getUint32(ETH_HLEN + 8)),
  },
  {
    name: "may_goto loop",
    needs: "may_goto",
    build: (a) =>
      a.mov64(R2, 0).label("mg_top").add64(R2, 1).jge(R2, 10, "mg_done").mayGoto("mg_done")
        .ja("mg_top").label("mg_done").add64(R2, 0),
    expected: 10n,
  },
];

/** The program for `cases` and the subprograms it has, in order. */
function program(cases: Case[]): { a: Assembler; subprogs: string[] } {
  const a = new Assembler();
  a.mov64(R6, R1); // ctx for ld_abs/ld_ind
  a.loadMapValue(R7, "out", 0); // &value of the single array element
  cases.forEach((c, i) => {
    c.build(a);
    a.stxdw(R7, i * 8, R2);
  });
  a.mov64(R0, 42).exit();
  const subprogs = (["triple", "loop_cb"] as const).filter((f) =>
    cases.some((c) => c.calls?.includes(f))
  );
  for (const f of subprogs) {
    if (f === "triple") a.label("triple").mov64(R0, R1).mul64(R0, 3).exit();
    else a.label("loop_cb").ldxdw(R3, R2, 0).add64(R3, R1).stxdw(R2, 0, R3).mov64(R0, 0).exit();
  }
  return { a, subprogs };
}

/**
 * A minimal BTF blob for func_info: `int` and one FUNC (`int (void)`, static)
 * per name. The verifier wants func_info once a program takes a function's
 * address (BPF_PSEUDO_FUNC, here for bpf_loop's callback).
 */
function funcBtf(names: string[]): Uint8Array {
  const strings = ["", "int", ...names];
  const strOff: number[] = [];
  let n = 0;
  for (const str of strings) (strOff.push(n), n += str.length + 1);
  const words: number[] = [
    strOff[1],
    1 << 24,
    4,
    (1 << 24) | 32, // [1] INT int, signed 32 bits
    0,
    13 << 24,
    1, // [2] FUNC_PROTO int (void)
  ];
  names.forEach((_, i) => words.push(strOff[2 + i], 12 << 24, 2)); // [3…] FUNC name, static
  const typeLen = words.length * 4;
  const str = new TextEncoder().encode(strings.join("\0") + "\0");
  const out = new Uint8Array(24 + typeLen + str.length);
  const v = new DataView(out.buffer);
  v.setUint16(0, 0xeb9f, true);
  v.setUint8(2, 1);
  v.setUint32(4, 24, true);
  v.setUint32(8, 0, true);
  v.setUint32(12, typeLen, true);
  v.setUint32(16, typeLen, true);
  v.setUint32(20, str.length, true);
  words.forEach((w, i) => v.setUint32(24 + i * 4, w >>> 0, true));
  out.set(str, 24 + typeLen);
  return out;
}

/** Each feature beyond the base ISA: its probe and how a skipped test names it. */
const NEEDS: Record<Need, { have: () => boolean; what: string }> = {
  v4_isa: {
    have: () => haveFeature("v4_isa"),
    what: "ISA v4 (sdiv/smod, movsx, ldsx, bswap, gotol)",
  },
  load_acquire: { have: () => haveFeature("load_acquire"), what: "load-acquire and store-release" },
  may_goto: { have: () => haveFeature("may_goto"), what: "may_goto" },
  bpf_loop: {
    have: () => haveHelper("socket_filter", "bpf_loop"),
    what: "bpf_loop with a function pointer",
  },
};

Deno.test(
  "kernel: assembled ISA v1–v3 program (ALU, JMP32, atomics, calls, packet loads) loads, " +
    "runs and computes what the ISA says",
  () => runCases(CASES.filter((c) => c.needs === undefined)),
);

for (const [need, { have, what }] of Object.entries(NEEDS) as [Need, typeof NEEDS[Need]][]) {
  const supported = have();
  Deno.test({
    name: `kernel: assembled ${what} instructions load, run and compute what the ISA says${
      supported ? "" : ` (skipped: ${what} not supported by this kernel)`
    }`,
    ignore: !supported,
    fn: () => runCases(CASES.filter((c) => c.needs === need)),
  });
}

function runCases(cases: Case[]) {
  assert.ok(cases.length > 0 && cases.length * 8 <= SCRATCH);
  using map = new FD(
    bpf("MAP_CREATE", {
      mapType: MapType.array,
      keySize: 4,
      valueSize: VALUE_SIZE,
      maxEntries: 1,
    }),
  );
  const { a, subprogs } = program(cases);
  const { instructions, references, symbols } = a.assemble();
  // The map value pointer in main, and the map by name where a case looks it up.
  const byName = cases.some((c) => c.name.startsWith("map_lookup_elem"));
  assert.deepEqual(
    references.map((r) => `${r.kind}:${r.name}`),
    byName ? ["map_value:out", "map:out"] : ["map_value:out"],
  );
  for (const r of references) {
    const insn = instructions[r.index];
    insn.constant = (insn.constant & ~0xffffffffn) | BigInt(map.value);
  }
  const bytes = encode(instructions);
  // func_info: main and its subprograms, by slot offset.
  const funcs = ["main", ...subprogs];
  const btfBytes = funcBtf(funcs);
  using btf = new FD(bpf("BTF_LOAD", { btf: btfBytes, btfSize: btfBytes.length }));
  const starts = [0, ...subprogs.map((f) => symbols.get(f)!)];
  const funcInfo = new Uint32Array(starts.flatMap((slot, i) => [slot, 3 + i]));
  const log = new Uint8Array(1 << 20);
  let prog: FD;
  try {
    prog = new FD(
      bpf("PROG_LOAD", {
        progType: ProgramType.socket_filter,
        insnCnt: bytes.length / 8,
        insns: bytes,
        license: new TextEncoder().encode("GPL\0"),
        logLevel: 1,
        logSize: log.length,
        logBuf: log,
        progBtfFd: btf.value,
        funcInfoRecSize: 8,
        funcInfo: new Uint8Array(funcInfo.buffer),
        funcInfoCnt: funcs.length,
      }),
    );
  } catch (e) {
    if (e instanceof SyscallError) {
      const text = new TextDecoder().decode(log.subarray(0, log.indexOf(0)));
      console.error(formatInstructions(instructions));
      console.error(text.split("\n").slice(-30).join("\n"));
    }
    throw e;
  }
  using _prog = prog;
  const attr = {
    progFd: prog.value,
    dataIn: PACKET,
    dataSizeIn: PACKET.length,
    repeat: 1,
    retval: 0,
  };
  bpf("PROG_TEST_RUN", attr);
  assert.equal(attr.retval, 42);
  const value = new Uint8Array(VALUE_SIZE);
  bpf("MAP_LOOKUP_ELEM", { mapFd: map.value, key: new Uint8Array(4), value });
  const view = new DataView(value.buffer);
  const failures: string[] = [];
  cases.forEach((c, i) => {
    const got = view.getBigUint64(i * 8, true);
    if (got !== c.expected) {
      failures.push(`${c.name}: got 0x${got.toString(16)}, expected 0x${c.expected.toString(16)}`);
    }
  });
  assert.deepEqual(failures, []);
  // The same bytes disassemble without <unknown> in the default mode.
  assert.ok(!disassemble(bytes).some((l) => l.includes("<unknown>")));
}

Deno.test("kernel: the verifier rejects what the assembler does not (reserved fields)", () => {
  // An lddw whose second slot has a non-zero opcode is refused (EINVAL); decode refuses it too.
  const bytes = encode([asm.lddw(R0, 1n), asm.exit()]);
  bytes[8] = 0x07;
  assert.throws(
    () =>
      bpf("PROG_LOAD", {
        progType: ProgramType.socket_filter,
        insnCnt: bytes.length / 8,
        insns: bytes,
        license: new TextEncoder().encode("GPL\0"),
      }),
    (e: unknown) => e instanceof SyscallError && e.code === "EINVAL",
  );
});
