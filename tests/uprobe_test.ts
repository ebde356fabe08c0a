// src/uprobe: binary and library paths, symbol → file offset (PIE and
// fixed-address executables, shared libraries), USDT notes and argument specs.

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  findUsdtProbes,
  parseUsdtArgument,
  parseUsdtArguments,
  readUsdtProbes,
  resolveBinaryPath,
  symbolOffset,
  x86Register,
} from "../src/uprobe/mod.ts";
import { NotFoundError, ParseError } from "../src/errors.ts";
import { readElfFile } from "../src/elf/mod.ts";
import { buildTarget, cleanTargets } from "./uprobe_fixtures.ts";

async function nmOffset(path: string, symbol: string): Promise<bigint> {
  // objdump -d --start-address prints the file-relative address; use readelf
  // program headers instead: vaddr - p_vaddr + p_offset of the covering PT_LOAD.
  const out = new TextDecoder().decode(
    (await new Deno.Command("nm", { args: [path], stdout: "piped" }).output()).stdout,
  );
  const line = out.split("\n").find((l) => l.endsWith(` ${symbol}`));
  assert.ok(line, `nm has no ${symbol}`);
  return BigInt(`0x${line.split(" ")[0]}`);
}

Deno.test("symbolOffset: PIE and fixed-address executables", async () => {
  for (const kind of ["pie", "nopie"] as const) {
    const path = await buildTarget(kind);
    const elf = readElfFile(path);
    const loc = symbolOffset(path, "denobpf_target_add");
    const vaddr = await nmOffset(path, "denobpf_target_add");
    assert.equal(loc.address, vaddr);
    // The offset is inside the executable segment and the bytes there are the function's.
    const load = elf.programHeaders.find((p) =>
      p.type === 1 && vaddr >= p.vaddr && vaddr < p.vaddr + BigInt(p.filesz)
    )!;
    assert.equal(loc.offset, BigInt(load.offset) + (vaddr - load.vaddr));
    if (kind === "nopie") assert.ok(loc.offset < loc.address, "fixed-address: offset ≠ address");
  }
  await assert.rejects(
    async () => symbolOffset(await buildTarget(), "no_such_function"),
    NotFoundError,
  );
});

Deno.test("resolveBinaryPath: libraries by name, executables on PATH, paths as given", async () => {
  const libc = resolveBinaryPath("libc.so.6");
  assert.match(libc, /\/libc\.so\.6$/);
  assert.equal(Deno.realPathSync(resolveBinaryPath("c")), Deno.realPathSync(libc));
  assert.match(resolveBinaryPath("sh"), /\/sh$/);
  assert.equal(resolveBinaryPath(libc), libc);
  // Through a running process's maps: our own libc.
  const ours = resolveBinaryPath("c", { pid: Deno.pid });
  assert.match(ours, /libc\.so\.6$/);
  assert.throws(() => resolveBinaryPath("no_such_library_zz"), NotFoundError);
  assert.throws(() => resolveBinaryPath("/no/such/file"), NotFoundError);
  // libc's getpid: a .dynsym-only symbol of a shared library.
  const loc = symbolOffset(libc, "getpid");
  assert.ok(loc.offset > 0n);
  await Promise.resolve();
});

Deno.test("readUsdtProbes: the target's denobpf:tick probe, from sys/sdt.h and a hand-written note", async () => {
  for (const kind of ["pie", "nopie", "handnote"] as const) {
    const path = await buildTarget(kind);
    const probes = readUsdtProbes(path);
    assert.equal(probes.length, 1, kind);
    const p = probes[0];
    assert.equal(p.provider, "denobpf");
    assert.equal(p.name, "tick");
    assert.ok(p.semaphore !== 0n);
    const sema = await nmOffset(path, "denobpf_tick_semaphore");
    assert.equal(p.semaphore, sema);
    assert.ok(p.semaphoreOffset > 0n);
    assert.equal(p.arguments.length, 2);
    assert.equal(p.arguments[0].size, 4);
    assert.equal(p.arguments[0].signed, true);
    assert.equal(p.arguments[1].size, 8);
    // The probe site is a nop (0x90) in the file.
    const bytes = Deno.readFileSync(path);
    assert.equal(bytes[Number(p.offset)], 0x90, `${kind}: nop at the probe offset`);
  }
  const path = await buildTarget();
  assert.equal(findUsdtProbes(path, { provider: "denobpf", name: "tick" }).length, 1);
  assert.throws(
    () => findUsdtProbes(path, { provider: "denobpf", name: "nope" }),
    /it has denobpf:tick/,
  );
});

Deno.test("parseUsdtArgument: x86-64 forms", () => {
  assert.deepEqual(parseUsdtArgument("-4@%eax"), {
    spec: "-4@%eax",
    size: 4,
    signed: true,
    kind: "register",
    register: "rax",
    registerOffset: 80,
  });
  const m = parseUsdtArgument("8@-8(%rbp)");
  assert.equal(m.kind, "memory");
  assert.equal(m.register, "rbp");
  assert.equal(m.registerOffset, 32);
  assert.equal(m.offset, -8n);
  assert.equal(parseUsdtArgument("4@$-17").value, -17n);
  assert.equal(parseUsdtArgument("2@$0x10").value, 16n);
  assert.equal(parseUsdtArgument("1@(%r12)").offset, 0n);
  const sib = parseUsdtArgument("8@16(%rax,%rbx,8)");
  assert.equal(sib.kind, "indexed");
  assert.equal(sib.indexRegister, "rbx");
  assert.equal(sib.scale, 8);
  assert.equal(parseUsdtArgument("-1@%sil").register, "rsi");
  assert.equal(parseUsdtArgument("4@%r9d").register, "r9");
  assert.equal(parseUsdtArguments("-4@%edx -8@%rcx").length, 2);
  assert.equal(parseUsdtArguments("").length, 0);
  assert.throws(() => parseUsdtArgument("3@%eax"), ParseError);
  assert.throws(() => parseUsdtArgument("4@%zz"), ParseError);
  assert.throws(() => parseUsdtArgument("4%eax"), ParseError);
  assert.equal(x86Register("rdi")?.offset, 112);
});

Deno.test("parseUsdtArgument: arm64 forms", () => {
  assert.equal(parseUsdtArgument("8@x0", "aarch64").register, "x0");
  const m = parseUsdtArgument("-4@[sp, 12]", "aarch64");
  assert.equal(m.kind, "memory");
  assert.equal(m.register, "sp");
  assert.equal(m.offset, 12n);
  assert.equal(parseUsdtArgument("4@5", "aarch64").value, 5n);
});

Deno.test("parseUsdtArgument: any size/register/offset combination round-trips", () => {
  const regs = ["rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r15"];
  fc.assert(
    fc.property(
      fc.constantFrom(1, 2, 4, 8, -1, -2, -4, -8),
      fc.constantFrom(...regs),
      fc.integer({ min: -4096, max: 4096 }),
      (size, reg, off) => {
        const a = parseUsdtArgument(`${size}@${off}(%${reg})`);
        return a.size === Math.abs(size) && a.signed === size < 0 && a.register === reg &&
          a.offset === BigInt(off) && a.kind === "memory";
      },
    ),
  );
});

Deno.test("cleanup: remove built targets", async () => {
  await cleanTargets();
});
