// Builders, label resolution and the readable/LLVM text of every instruction
// form, including the ISA v4 ones clang 14 cannot emit (checked against the
// syntax newer LLVM releases print, written out by hand here).

import assert from "node:assert/strict";
import { InvalidArgumentError, NotFoundError } from "../src/errors.ts";
import {
  asm,
  assemble,
  Assembler,
  disassemble,
  DuplicateLabelError,
  encode,
  formatInstructions,
  Helper,
  Instruction,
  JumpOutOfRangeError,
  llvmText,
  R0,
  R1,
  R10,
  R2,
  R3,
  R4,
  R5,
  R6,
  slotCount,
  slotOffsets,
  symbolOffsets,
  UnknownLabelError,
} from "../src/asm/mod.ts";

/** Disassembles with llvm-objdump's layout minus address and raw bytes. */
function texts(
  insns: Instruction[],
  options: { llvm14?: boolean; alu32?: boolean } = {},
): string[] {
  return disassemble(insns, { ...options, showRawInsn: false, headers: false, symbols: [] })
    .map((l) => l.replace(/^ *\d+:\t/, ""));
}

Deno.test("builders: ALU and ALU64, register and immediate forms", () => {
  const insns = [
    asm.add64(R1, R2),
    asm.add32(R1, 5),
    asm.sub64(R1, -3),
    asm.mul32(R3, R4),
    asm.div64(R1, R2),
    asm.div32(R1, 7),
    asm.or64(R1, 0x100),
    asm.and32(R1, R2),
    asm.lsh64(R1, 3),
    asm.rsh32(R1, R2),
    asm.mod64(R1, R2),
    asm.mod32(R1, 10),
    asm.xor64(R1, R2),
    asm.mov64(R0, 0),
    asm.mov32(R0, R1),
    asm.arsh64(R1, 5),
    asm.arsh32(R1, R2),
    asm.neg64(R1),
    asm.neg32(R2),
    asm.le16(R1),
    asm.le32(R1),
    asm.le64(R1),
    asm.be16(R2),
    asm.be32(R2),
    asm.be64(R2),
  ];
  assert.deepEqual(texts(insns), [
    "r1 += r2",
    "w1 += 5",
    "r1 -= -3",
    "w3 *= w4",
    "r1 /= r2",
    "w1 /= 7",
    "r1 |= 256",
    "w1 &= w2",
    "r1 <<= 3",
    "w1 >>= w2",
    "r1 %= r2",
    "w1 %= 10",
    "r1 ^= r2",
    "r0 = 0",
    "w0 = w1",
    "r1 s>>= 5",
    "w1 s>>= w2",
    "r1 = -r1",
    "w2 = -w2",
    "r1 = le16 r1",
    "r1 = le32 r1",
    "r1 = le64 r1",
    "r2 = be16 r2",
    "r2 = be32 r2",
    "r2 = be64 r2",
  ]);
  // LLVM 14 has no mod instruction.
  assert.deepEqual(texts([asm.mod64(R1, R2)], { llvm14: true }), ["<unknown>"]);
});

Deno.test("builders: ISA v4 ALU (sdiv, smod, movsx, bswap) in newer LLVM syntax", () => {
  const insns = [
    asm.sdiv64(R1, R2),
    asm.sdiv32(R1, -3),
    asm.smod64(R1, 7),
    asm.smod32(R1, R2),
    asm.movsx64(R1, R2, 8),
    asm.movsx64(R1, R2, 16),
    asm.movsx64(R1, R2, 32),
    asm.movsx32(R1, R2, 8),
    asm.movsx32(R1, R2, 16),
    asm.bswap16(R3),
    asm.bswap32(R3),
    asm.bswap64(R3),
    asm.addrSpaceCast(R1, R2, { to: 0, from: 1 }),
  ];
  assert.deepEqual(texts(insns), [
    "r1 s/= r2",
    "w1 s/= -3",
    "r1 s%= 7",
    "w1 s%= w2",
    "r1 = (s8)r2",
    "r1 = (s16)r2",
    "r1 = (s32)r2",
    "w1 = (s8)w2",
    "w1 = (s16)w2",
    "r3 = bswap16 r3",
    "r3 = bswap32 r3",
    "r3 = bswap64 r3",
    "r1 = addr_space_cast(r2, 0, 1)",
  ]);
  const hex = [...encode(insns.slice(0, 1)), ...encode([asm.movsx64(R1, R2, 16)])];
  assert.deepEqual(hex, [0x3f, 0x21, 1, 0, 0, 0, 0, 0, 0xbf, 0x21, 16, 0, 0, 0, 0, 0]);
  assert.deepEqual([...encode([asm.bswap32(R3)])], [0xd7, 0x03, 0, 0, 32, 0, 0, 0]);
  // LLVM 14 ignores the offset field: sdiv reads as div, movsx as mov; bswap is unknown.
  assert.deepEqual(texts(insns.slice(0, 5), { llvm14: true }), [
    "r1 /= r2",
    "w1 /= -3",
    "<unknown>",
    "<unknown>",
    "r1 = r2",
  ]);
  assert.deepEqual(texts([asm.bswap16(R3)], { llvm14: true }), ["<unknown>"]);
  assert.throws(() => asm.movsx32(R1, R2, 32 as 8), InvalidArgumentError);
});

Deno.test("builders: jumps, JMP32, calls and exit", () => {
  const insns = [
    asm.ja(2),
    asm.jeq(R1, 0, 1),
    asm.jgt(R1, R2, -1),
    asm.jge(R1, 5, 0),
    asm.jset(R1, 8, 0),
    asm.jne(R1, R2, 0),
    asm.jsgt(R1, -1, 0),
    asm.jsge(R1, R2, 0),
    asm.jlt(R1, 3, 0),
    asm.jle(R1, R2, 0),
    asm.jslt(R1, 0, 0),
    asm.jsle(R1, R2, 0),
    asm.jeq32(R1, R2, 0),
    asm.jgt32(R1, 4, 0),
    asm.jsle32(R1, -4, 0),
    asm.jset32(R1, R2, 0),
    asm.call("map_lookup_elem"),
    asm.call("bpf_ktime_get_ns"),
    asm.call(Helper.trace_printk),
    asm.callLabel(3),
    asm.callKfunc(1234),
    asm.exit(),
  ];
  const t = texts(insns);
  assert.deepEqual(t.map((l) => l.replace(/ <[^ ]*>$/, "")), [
    "goto +2",
    "if r1 == 0 goto +1",
    "if r1 > r2 goto -1",
    "if r1 >= 5 goto +0",
    "if r1 & 8 goto +0",
    "if r1 != r2 goto +0",
    "if r1 s> -1 goto +0",
    "if r1 s>= r2 goto +0",
    "if r1 < 3 goto +0",
    "if r1 <= r2 goto +0",
    "if r1 s< 0 goto +0",
    "if r1 s<= r2 goto +0",
    "if w1 == w2 goto +0",
    "if w1 > 4 goto +0",
    "if w1 s<= -4 goto +0",
    "if w1 & w2 goto +0",
    "call 1",
    "call 5",
    "call 6",
    "call 3",
    "call 1234",
    "exit",
  ]);
  // Branch targets are symbolized like llvm-objdump does (no symbols: the section name).
  assert.equal(t[0], "goto +2 <.text+0x18>");
  // LLVM never had jset.
  assert.deepEqual(texts([asm.jset(R1, 8, 0)], { llvm14: true }), ["<unknown>"]);
  assert.throws(() => asm.call("no_such_helper"), NotFoundError);
  assert.throws(() => asm.jeq(1 as unknown as typeof R1, 0, 0), /must be a register/);
});

Deno.test("builders: ISA v4 and newer jumps (gotol, may_goto, gotox)", () => {
  const insns = [asm.ja32(100000), asm.gotol(-2), asm.mayGoto(4), asm.gotox(R3)];
  assert.deepEqual(texts(insns).map((l) => l.replace(/ <[^ ]*>$/, "")), [
    "gotol +100000",
    "gotol -2",
    "may_goto +4",
    "gotox r3",
  ]);
  assert.deepEqual([...encode([asm.ja32(-2)])], [0x06, 0, 0, 0, 0xfe, 0xff, 0xff, 0xff]);
  assert.deepEqual(texts(insns, { llvm14: true }), [
    "<unknown>",
    "<unknown>",
    "<unknown>",
    "<unknown>",
  ]);
});

Deno.test("builders: loads, stores, sign-extending loads, legacy packet loads", () => {
  const insns = [
    asm.ldxb(R0, R1, 0),
    asm.ldxh(R0, R1, 2),
    asm.ldxw(R1, R1, 0),
    asm.ldxdw(R2, R10, -8),
    asm.ldxsb(R0, R1, 1),
    asm.ldxsh(R0, R1, -2),
    asm.ldxsw(R0, R1, 4),
    asm.stb(R10, -1, 7),
    asm.sth(R10, -2, -1),
    asm.stw(R10, -4, 0x12345678),
    asm.stdw(R10, -8, 0),
    asm.stxb(R10, -1, R1),
    asm.stxh(R10, -2, R1),
    asm.stxw(R10, -4, R1),
    asm.stxdw(R10, -8, R1),
    asm.ldabsb(14),
    asm.ldabsh(12),
    asm.ldabsw(-1),
    asm.ldindb(R2, 0),
    asm.ldindh(R3, 0),
    asm.ldindw(R4, 0),
  ];
  assert.deepEqual(texts(insns), [
    "r0 = *(u8 *)(r1 + 0)",
    "r0 = *(u16 *)(r1 + 2)",
    "r1 = *(u32 *)(r1 + 0)",
    "r2 = *(u64 *)(r10 - 8)",
    "r0 = *(s8 *)(r1 + 1)",
    "r0 = *(s16 *)(r1 - 2)",
    "r0 = *(s32 *)(r1 + 4)",
    "*(u8 *)(r10 - 1) = 7",
    "*(u16 *)(r10 - 2) = -1",
    "*(u32 *)(r10 - 4) = 305419896",
    "*(u64 *)(r10 - 8) = 0",
    "*(u8 *)(r10 - 1) = r1",
    "*(u16 *)(r10 - 2) = r1",
    "*(u32 *)(r10 - 4) = r1",
    "*(u64 *)(r10 - 8) = r1",
    "r0 = *(u8 *)skb[14]",
    "r0 = *(u16 *)skb[12]",
    "r0 = *(u32 *)skb[-1]",
    "r0 = *(u8 *)skb[r2]",
    "r0 = *(u16 *)skb[r3]",
    "r0 = *(u32 *)skb[r4]",
  ]);
  assert.deepEqual(texts(insns.slice(0, 3), { alu32: true }), [
    "w0 = *(u8 *)(r1 + 0)",
    "w0 = *(u16 *)(r1 + 2)",
    "w1 = *(u32 *)(r1 + 0)",
  ]);
  assert.deepEqual([...encode([asm.ldxsb(R0, R1, 1)])], [0x91, 0x10, 1, 0, 0, 0, 0, 0]);
  assert.deepEqual([...encode([asm.stw(R10, -4, 1)])], [0x62, 0x0a, 0xfc, 0xff, 1, 0, 0, 0]);
  // LLVM 14 knows neither ldsx nor BPF_ST.
  assert.deepEqual(texts([asm.ldxsb(R0, R1, 1), asm.stw(R10, -4, 1)], { llvm14: true }), [
    "<unknown>",
    "<unknown>",
  ]);
});

Deno.test("builders: atomics, load-acquire and store-release", () => {
  const insns = [
    asm.atomicAdd64(R1, 0, R2),
    asm.atomicAdd32(R1, 4, R2),
    asm.atomicOr64(R1, 0, R2),
    asm.atomicAnd32(R1, 0, R2),
    asm.atomicXor64(R1, -8, R2),
    asm.atomicFetchAdd64(R1, 0, R2),
    asm.atomicFetchOr32(R1, 0, R2),
    asm.atomicFetchAnd64(R1, 0, R2),
    asm.atomicFetchXor32(R1, 0, R2),
    asm.atomicXchg64(R1, 0, R2),
    asm.atomicXchg32(R1, 0, R2),
    asm.atomicCmpxchg64(R1, 0, R2),
    asm.atomicCmpxchg32(R1, 0, R2),
    asm.loadAcquire8(R0, R1, 0),
    asm.loadAcquire16(R0, R1, 2),
    asm.loadAcquire32(R0, R1, 4),
    asm.loadAcquire64(R0, R1, 8),
    asm.storeRelease8(R1, 0, R2),
    asm.storeRelease16(R1, 2, R2),
    asm.storeRelease32(R1, 4, R2),
    asm.storeRelease64(R1, 8, R2),
  ];
  assert.deepEqual(texts(insns), [
    "lock *(u64 *)(r1 + 0) += r2",
    "lock *(u32 *)(r1 + 4) += r2",
    "lock *(u64 *)(r1 + 0) |= r2",
    "lock *(u32 *)(r1 + 0) &= w2",
    "lock *(u64 *)(r1 - 8) ^= r2",
    "r2 = atomic_fetch_add((u64 *)(r1 + 0), r2)",
    "w2 = atomic_fetch_or((u32 *)(r1 + 0), w2)",
    "r2 = atomic_fetch_and((u64 *)(r1 + 0), r2)",
    "w2 = atomic_fetch_xor((u32 *)(r1 + 0), w2)",
    "r2 = xchg_64(r1 + 0, r2)",
    "w2 = xchg32_32(r1 + 0, w2)",
    "r0 = cmpxchg_64(r1 + 0, r0, r2)",
    "w0 = cmpxchg32_32(r1 + 0, w0, w2)",
    "w0 = load_acquire((u8 *)(r1 + 0))",
    "w0 = load_acquire((u16 *)(r1 + 2))",
    "w0 = load_acquire((u32 *)(r1 + 4))",
    "r0 = load_acquire((u64 *)(r1 + 8))",
    "store_release((u8 *)(r1 + 0), w2)",
    "store_release((u16 *)(r1 + 2), w2)",
    "store_release((u32 *)(r1 + 4), w2)",
    "store_release((u64 *)(r1 + 8), r2)",
  ]);
  assert.deepEqual(
    [...encode([asm.atomicCmpxchg64(R1, 0, R2)])],
    [0xdb, 0x21, 0, 0, 0xf1, 0, 0, 0],
  );
  assert.deepEqual(
    [...encode([asm.loadAcquire8(R0, R1, 0)])],
    [0xd3, 0x10, 0, 0, 0, 1, 0, 0],
  );
  // LLVM 14 without alu32 knows only the 32-bit add, and reads load-acquire (u32) as it
  // (with the operands swapped: load-acquire's address is in src).
  assert.deepEqual(
    texts([
      asm.atomicFetchOr32(R1, 0, R2),
      asm.loadAcquire32(R0, R1, 0),
      asm.loadAcquire8(R0, R1, 0),
    ], {
      llvm14: true,
    }),
    ["<unknown>", "lock *(u32 *)(r0 + 0) += r1", "<unknown>"],
  );
});

Deno.test("builders: 64-bit immediates and pseudo loads", () => {
  const insns = [
    asm.lddw(R1, -1n),
    asm.lddw(R2, 0x123456789n),
    asm.loadMapPtr(R1, 7),
    asm.loadMapPtr(R1, "counts"),
    asm.loadMapValue(R1, 7, 16),
    asm.loadMapValue(R1, "data", 8),
    asm.loadBtfId(R1, 99),
    asm.loadBtfId(R1, "bpf_prog_active"),
    asm.loadMapIdx(R1, 2),
    asm.loadMapIdxValue(R1, 2, 4),
    asm.loadFunc(R2, 5),
  ];
  assert.deepEqual(texts(insns), [
    "r1 = -1 ll",
    "r2 = 4886718345 ll",
    "ld_pseudo\tr1, 1, 7",
    "ld_pseudo\tr1, 1, 0",
    "ld_pseudo\tr1, 2, 7",
    "ld_pseudo\tr1, 2, 0",
    "ld_pseudo\tr1, 3, 99",
    "ld_pseudo\tr1, 3, 0",
    "ld_pseudo\tr1, 5, 2",
    "ld_pseudo\tr1, 6, 2",
    "ld_pseudo\tr2, 4, 5",
  ]);
  assert.deepEqual(insns.map(String), [
    "r1 = -1 ll",
    "r2 = 4886718345 ll",
    "r1 = map[fd:7] ll",
    "r1 = map[counts] ll",
    "r1 = map_value[fd:7]+16 ll",
    "r1 = map_value[data]+8 ll",
    "r1 = btf_id[99] ll",
    "r1 = btf_id[bpf_prog_active] ll",
    "r1 = map_idx[2] ll",
    "r1 = map_idx_value[2]+4 ll",
    "r2 = func[pc+5] ll",
  ]);
  assert.equal(insns[4].constant, (16n << 32n) | 7n);
  assert.equal(slotCount(insns), 22);
  assert.deepEqual(slotOffsets(insns.slice(0, 3)), [0, 2, 4]);
});

Deno.test("toString: readable names for helpers, labels and kfuncs", () => {
  assert.equal(asm.call("map_lookup_elem").toString(), "call bpf_map_lookup_elem#1");
  assert.equal(asm.callLabel("fn").toString(), "call <fn>");
  assert.equal(asm.callLabel(-3).toString(), "call pc-3");
  assert.equal(asm.callKfunc(77).toString(), "call kfunc#77");
  assert.equal(
    asm.callKfunc("bpf_obj_new_impl", { btfFdIndex: 1 }).toString(),
    "call <bpf_obj_new_impl> (fd_array[1])",
  );
  assert.equal(asm.jeq(R1, 0, "out").toString(), "if r1 == 0 goto <out>");
  assert.equal(asm.ja32("far").toString(), "gotol <far>");
  assert.equal(asm.loadFunc(R2, "cb").toString(), "r2 = func[<cb>] ll");
  assert.equal(asm.mov64(R0, 0).toString(), "r0 = 0");
  assert.equal(
    new Instruction({ opcode: 0xff, dst: 1, src: 2, offset: 3, constant: 4 }).toString(),
    ".insn opcode=0xff dst=1 src=2 off=3 imm=4",
  );
});

Deno.test("assemble: resolves jumps, JMP32, gotol, calls and function pointers by label", () => {
  const prog = [
    asm.mov64(R0, 0).withSymbol("main"),
    asm.lddw(R1, 1n), // two slots
    asm.jeq(R1, 0, "out"),
    asm.jne32(R1, 1, "out"),
    asm.callLabel("fn"),
    asm.loadFunc(R2, "fn"),
    asm.ja32("out"),
    asm.ja("main"),
    asm.exit().withSymbol("out"),
    asm.mov64(R0, 1).withSymbol("fn"),
    asm.exit(),
  ];
  const { instructions, bytes, references, symbols } = assemble(prog);
  // Slots: main 0, lddw 1–2, jeq 3, jne32 4, call 5, lddw 6–7, gotol 8, goto 9, out 10, fn 11.
  assert.deepEqual([...symbols], [["main", 0], ["out", 10], ["fn", 11]]);
  assert.deepEqual(references, []);
  const pick = (i: number) => instructions[i];
  assert.equal(pick(2).offset, 10 - 4);
  assert.equal(pick(3).offset, 10 - 5);
  assert.equal(pick(4).imm, 11 - 6);
  assert.equal(pick(5).constant, BigInt(11 - 7)); // like calls: target − (pc + 1)
  assert.equal(pick(6).imm, 10 - 9);
  assert.equal(pick(7).offset, 0 - 10);
  assert.equal(prog[2].offset, 0, "assemble works on copies");
  assert.equal(bytes.length, 13 * 8);
  assert.deepEqual(
    disassemble(bytes, { symbols: [...symbols].map(([name, s]) => ({ name, offset: s * 8 })) }),
    [
      "",
      "0000000000000000 <main>:",
      "       0:\tb7 00 00 00 00 00 00 00\tr0 = 0",
      "       1:\t18 01 00 00 01 00 00 00 00 00 00 00 00 00 00 00\tr1 = 1 ll",
      "       3:\t15 01 06 00 00 00 00 00\tif r1 == 0 goto +6 <out>",
      "       4:\t56 01 05 00 01 00 00 00\tif w1 != 1 goto +5 <out>",
      "       5:\t85 10 00 00 05 00 00 00\tcall 5",
      "       6:\t18 42 00 00 04 00 00 00 00 00 00 00 00 00 00 00\tld_pseudo\tr2, 4, 4",
      "       8:\t06 00 00 00 01 00 00 00\tgotol +1 <out>",
      "       9:\t05 00 f6 ff 00 00 00 00\tgoto -10 <main>",
      "",
      "0000000000000050 <out>:",
      "      10:\t95 00 00 00 00 00 00 00\texit",
      "",
      "0000000000000058 <fn>:",
      "      11:\tb7 00 00 00 01 00 00 00\tr0 = 1",
      "      12:\t95 00 00 00 00 00 00 00\texit",
    ],
  );
});

Deno.test("assemble: lists map, ksym and kfunc references for the loader", () => {
  const { references, instructions } = assemble([
    asm.loadMapPtr(R1, "counts"),
    asm.loadMapValue(R2, ".data", 4),
    asm.loadBtfId(R3, "bpf_prog_active"),
    asm.callKfunc("bpf_task_acquire"),
    asm.mov64(R0, 0),
    asm.exit(),
  ]);
  assert.deepEqual(references, [
    { name: "counts", kind: "map", index: 0, slot: 0 },
    { name: ".data", kind: "map_value", index: 1, slot: 2 },
    { name: "bpf_prog_active", kind: "ksym", index: 2, slot: 4 },
    { name: "bpf_task_acquire", kind: "kfunc", index: 3, slot: 6 },
  ]);
  // A loader patches the fd into the low half and keeps the value offset.
  const insn = instructions[1];
  insn.constant = (insn.constant & ~0xffffffffn) | 42n;
  assert.equal(insn.toString(), "r2 = map_value[.data]+4 ll");
  assert.equal(insn.constant, (4n << 32n) | 42n);
});

Deno.test("assemble: typed errors for unknown and duplicate labels and far jumps", () => {
  assert.throws(() => assemble([asm.ja("nowhere"), asm.exit().withSymbol("now")]), (e: unknown) => {
    assert.ok(e instanceof UnknownLabelError);
    assert.ok(e instanceof NotFoundError);
    assert.equal(e.label, "nowhere");
    assert.equal(e.index, 0);
    return true;
  });
  assert.throws(
    () => assemble([asm.mov64(R0, 0).withSymbol("a"), asm.exit().withSymbol("a")]),
    (e: unknown) => {
      assert.ok(e instanceof DuplicateLabelError);
      assert.deepEqual(e.indexes, [0, 1]);
      return true;
    },
  );
  assert.throws(
    () => symbolOffsets([asm.exit().withSymbol("x"), asm.exit().withSymbol("x")]),
    DuplicateLabelError,
  );
  const far = [
    asm.ja("end"),
    ...Array.from({ length: 40000 }, () => asm.mov64(R0, 0)),
    asm.exit().withSymbol("end"),
  ];
  assert.throws(() => assemble(far), (e: unknown) => {
    assert.ok(e instanceof JumpOutOfRangeError);
    assert.equal(e.distance, 40000);
    assert.match(e.message, /ja32/);
    return true;
  });
  far[0] = asm.ja32("end");
  assert.equal(assemble(far).instructions[0].imm, 40000);
  const back = [
    asm.mov64(R0, 0).withSymbol("top"),
    ...Array.from({ length: 32766 }, () => asm.mov64(R0, 0)),
    asm.ja("top"),
  ];
  assert.equal(assemble(back).instructions.at(-1)!.offset, -32768);
});

Deno.test("Assembler: chaining builders, labels, source info", () => {
  const a = new Assembler()
    .source({ line: 1, text: "r0 = 0" })
    .mov64(R0, 0)
    .source(undefined)
    .ldxw(R1, R1, 0)
    .jeq(R1, 0, "out")
    .mov64(R0, 1)
    .label("out")
    .exit();
  assert.equal(a.instructions.length, 5);
  assert.equal(a.instructions[4].symbol, "out");
  assert.equal(a.instructions[0].source?.line, 1);
  const { instructions } = a.assemble();
  assert.equal(instructions[2].offset, 1);
  assert.equal(
    a.toString(),
    [
      "0: r0 = 0\t; r0 = 0",
      "1: r1 = *(u32 *)(r1 + 0)",
      "2: if r1 == 0 goto <out>",
      "3: r0 = 1",
      "out:",
      "4: exit",
    ].join("\n"),
  );
  assert.deepEqual([...a.encode()].slice(0, 8), [0xb7, 0, 0, 0, 0, 0, 0, 0]);
  assert.throws(() => new Assembler().label("a").label("b"), InvalidArgumentError);
  assert.throws(() => new Assembler().exit().label("dangling").assemble(), /not followed/);
  assert.equal(
    formatInstructions(a.instructions, { offsets: false, source: false }).split("\n")[0],
    "\tr0 = 0",
  );
});

Deno.test("llvmText: r11 and bad registers, like LLVM", () => {
  assert.deepEqual(llvmText({ opcode: 0xbf, dst: 11, src: 1, offset: 0, imm: 0 }), {
    text: "r11 = r1",
  });
  assert.equal(llvmText({ opcode: 0xbf, dst: 12, src: 1, offset: 0, imm: 0 }), undefined);
  assert.deepEqual(llvmText({ opcode: 0x15, dst: 1, src: 0, offset: -3, imm: 7 }), {
    text: "if r1 == 7 goto -3",
    branch: -3,
  });
  const reg = [R0, R1, R2, R3, R4, R5, R6].map(String);
  assert.deepEqual(reg, ["r0", "r1", "r2", "r3", "r4", "r5", "r6"]);
});
