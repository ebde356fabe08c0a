// The package's API conventions (README "## API conventions"), checked as a
// user meets them: every attach function returns a disposable Link, one
// descriptor type and resolver, file readers are synchronous, scripted-probe
// actions load off the JS thread, one answer per question.

import assert from "node:assert/strict";
import { attachUsdt, Link, LinkGroup, UsdtLink } from "../src/link/mod.ts";
import { Counter, countingProgram, ensureTracefs } from "./link_fixtures.ts";
import { createMap, fdOf, type FdSource, InvalidArgumentError, ringBufReader } from "../mod.ts";
import { buildTarget, runTarget } from "./uprobe_fixtures.ts";
import { dupRawFd } from "../src/sys/fd_dup.ts";
import { probe, tracepoint } from "../src/probe/mod.ts";
import * as kallsyms from "../src/kallsyms/mod.ts";
import { kernelModuleOf } from "../src/btf/kernel.ts";
import { ElfFile, readElfFile } from "../src/elf/mod.ts";
import { BtfSpec } from "../src/btf/mod.ts";
import * as features from "../src/features/mod.ts";
import { docSymbols } from "./_deno_doc.ts";

await ensureTracefs();

Deno.test(
  `attachUsdt returns one Link: using closes every location, probes and links say what${
    features.haveFeature("uprobe_multi_link")
      ? ""
      : " (uprobe_multi path skipped: no uprobe_multi_link on this kernel)"
  }`,
  async () => {
    // Per-location uprobes always; one uprobe_multi link where the kernel has them.
    const paths = features.haveFeature("uprobe_multi_link")
      ? [undefined, "trace_uprobe_multi"] as const
      : [undefined] as const;
    for (const attachType of paths) {
      const path = await buildTarget("pie");
      using counter = new Counter();
      using prog = countingProgram(counter, { type: "kprobe", attachType });
      let usdt: UsdtLink | undefined;
      {
        using link = attachUsdt(prog, { path, provider: "denobpf", name: "tick" });
        usdt = link;
        assert.ok(link instanceof Link, "a Link, like every attach function returns");
        assert.ok(link instanceof LinkGroup && link instanceof UsdtLink);
        assert.equal(link.kind, "usdt");
        assert.equal(link.probes.length, 1);
        assert.equal(link.probes[0].provider, "denobpf");
        assert.equal(link.links.length, 1);
        const r = await runTarget(path, 4);
        assert.equal(counter.value, 4n);
        assert.equal(r.enabled, 4, "the semaphore is on while attached");
        assert.equal(link.closed, false);
      }
      assert.equal(usdt.closed, true, "leaving the using block closed the USDT link");
      const after = await runTarget(path, 3);
      assert.equal(after.enabled, 0, "the semaphore is off once closed");
      assert.equal(counter.value, 4n, "no counts once closed");
    }
  },
);

Deno.test("one descriptor type: fdOf resolves a map, its FD, a number and { fd }; anything else is an InvalidArgumentError", () => {
  using map = createMap({ type: "ringbuf", maxEntries: 4096, name: "conv_fd" });
  const n = map.fd;
  using copy = dupRawFd(n, "conv_fd copy");
  const sources: FdSource[] = [map, n, { fd: n }];
  for (const s of sources) assert.equal(fdOf(s), n);
  // An object given for a program may carry what it knows about itself.
  const hinted: FdSource = { fd: n, type: 1, attachType: 2, name: "conv" };
  assert.equal(fdOf(hinted), n);
  for (const s of [copy, { fd: copy }]) assert.equal(fdOf(s), copy.value);
  // The readers, the attach functions and the specs take the same type.
  for (const s of [...sources, copy]) {
    using r = ringBufReader(s);
    assert.equal(r.size, 4096);
  }
  for (const bad of [-1, 1.5, NaN, "3", null, {}, { fd: "3" }] as unknown[]) {
    assert.throws(() => fdOf(bad as FdSource), InvalidArgumentError, String(bad));
    assert.throws(() => ringBufReader(bad as FdSource), /expected a map/, String(bad));
  }
  const gone = dupRawFd(n, "a closed copy");
  gone.close();
  assert.throws(() => fdOf(gone), /a closed copy is closed/);
});

Deno.test("probe actions verify their program off the JS thread: BPF_PROG_LOAD comes from another thread than BPF_MAP_CREATE", async () => {
  // bpf(2) commands 0 (BPF_MAP_CREATE, synchronous on the JS thread) and 5 (BPF_PROG_LOAD).
  await using calls = await probe(tracepoint("syscalls:sys_enter_bpf"), {
    pid: Deno.pid,
    where: "args.cmd == 0 || args.cmd == 5",
  }).count({ by: ["args.cmd", "tid"] });
  {
    await using counted = await probe(tracepoint("syscalls:sys_enter_getppid")).count();
    await using emitted = await probe(tracepoint("syscalls:sys_enter_getppid")).emit({
      fields: ["pid"],
    });
    assert.equal(counted.stopped || emitted.stopped, false);
  }
  const seen = [...calls.read().keys()];
  const tids = (cmd: number) => new Set(seen.filter(([c]) => c === cmd).map(([, tid]) => tid));
  const jsThread = tids(0);
  const loaders = tids(5);
  const where = JSON.stringify(seen);
  assert.ok(jsThread.size >= 1 && loaders.size >= 1, `maps and programs were seen: ${where}`);
  for (const tid of loaders) {
    assert.ok(!jsThread.has(tid), `no program load on the JS thread (${tid}): ${where}`);
  }
});

Deno.test("file readers are synchronous: loadKallsyms and its helpers return values; the module of a symbol is kernelModuleOf alone", () => {
  const table = kallsyms.loadKallsyms();
  assert.ok(table instanceof kallsyms.Kallsyms, "a table, not a promise");
  assert.equal(kallsyms.loadKallsyms(), table, "cached per root");
  const stext = kallsyms.symbolAddress("_stext");
  assert.equal(typeof stext, "bigint");
  assert.equal(stext, table.address("_stext"));
  assert.ok(Array.isArray(kallsyms.symbolsOf(undefined)));
  assert.deepEqual(kallsyms.symbolModules("vfs_read"), [undefined]);
  assert.equal(kernelModuleOf("vfs_read"), undefined);
  assert.equal("symbolModule" in kallsyms, false, "one answer: kernelModuleOf");
});

Deno.test("file readers are synchronous: readElfFile returns the ElfFile, its errors are thrown", () => {
  const self = readElfFile("/usr/bin/true");
  assert.ok(self instanceof ElfFile, "an ElfFile, not a promise");
  assert.ok(self.sections.length > 0);
  assert.throws(() => readElfFile("/nonexistent/denobpf.o"), /does not exist/);
});

Deno.test("read… reads a file: readBtfFile reads and parses a BTF file into a BtfSpec; the btf entry has no parseBtfFile", async () => {
  const btf = await import("../src/btf/mod.ts") as Record<string, unknown>;
  assert.equal("parseBtfFile" in btf, false, "parse… decodes bytes: parseBtf");
  const readBtfFile = btf.readBtfFile as (path: string) => unknown;
  const path = "/sys/kernel/btf/vmlinux";
  if (features.haveFeature("kernel_btf")) {
    const spec = readBtfFile(path);
    assert.ok(spec instanceof BtfSpec, "a BtfSpec, as readElfFile returns an ElfFile");
    assert.ok(spec.typeByName("task_struct", "struct"));
  }
  assert.throws(() => readBtfFile("/nonexistent/denobpf.btf"), /does not exist/);
});

Deno.test("feature probes: one question per verb; haveFeature(name) is the one feature question, with no haveX() shortcuts", async () => {
  const symbols = await docSymbols("./src/features/mod.ts");
  const general = new Set(["haveFeature", "haveMapType", "haveProgramType", "haveHelper"]);
  const haves = symbols.filter((s) => /^have[A-Z]/.test(s.name)).map((s) => s.name).sort();
  assert.deepEqual(haves, [...general].sort(), "have… answers for a named feature, type or helper");
  const mod = features as unknown as Record<string, unknown>;
  for (const g of general) assert.equal(typeof mod[g], "function", g);
  for (const name of features.MISC_FEATURES) {
    assert.equal(typeof features.haveFeature(name), "boolean", name);
  }
  assert.equal(features.haveFeature("v4_isa"), features.probeMisc("v4_isa").supported);
});

Deno.test("no deprecated aliases: no entry of deno.json exports a @deprecated name, nor one of the aliases removed for 1.0", async () => {
  const config = JSON.parse(
    Deno.readTextFileSync(new URL("../deno.json", import.meta.url)),
  ) as { exports: Record<string, string> };
  const removed = new Set([
    "MapRef",
    "FdLike",
    "ProgramLike",
    "FdRef",
    "MapFdHolder",
    "mapRefFd",
    "fdRefValue",
    "programFromPinned",
    "UsdtAttachment",
    "loadKallsymsSync",
    "readElfFileSync",
    "Spec",
    "haveV4Isa",
    "haveKprobes",
    "haveTcxLink",
  ]);
  const found: string[] = [];
  for (const [entry, file] of Object.entries(config.exports)) {
    for (const s of await docSymbols(file)) {
      const deprecated = s.declarations.some((d) =>
        (d.jsDoc?.tags ?? []).some((t) => t.kind === "deprecated") ||
        JSON.stringify(d.def ?? null).includes('"kind":"deprecated"')
      );
      if (deprecated || removed.has(s.name)) found.push(`${entry}: ${s.name}`);
    }
  }
  assert.deepEqual(found, [], "0.1.0 is unpublished: no deprecated aliases");
  const usdt = Object.getOwnPropertyNames(UsdtLink.prototype);
  assert.ok(!usdt.includes("link"), "UsdtLink is the link; its members are .links");
});

Deno.test("one verb per meaning: the root entry's functions read, parse, load, create, attach or open (…FromFd/…FromId)", async () => {
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["doc", "--json", new URL("../mod.ts", import.meta.url).pathname],
    stdout: "piped",
    stderr: "null",
  }).output();
  assert.ok(out.success, "deno doc runs");
  const doc = JSON.parse(new TextDecoder().decode(out.stdout)) as {
    nodes: Record<string, { symbols: { name: string; declarations: { kind: string }[] }[] }>;
  };
  const functions = Object.values(doc.nodes).flatMap((n) => n.symbols)
    .filter((s) => s.declarations.some((d) => d.kind === "function" || d.kind === "variable"))
    .map((s) => s.name)
    .filter((n) => /^[a-z]/.test(n));
  // Nouns for what they return, each the one answer to its question.
  const nouns = new Set([
    "codec",
    "fdOf",
    "kernelModuleOf",
    "kernelModuleSpecs",
    "resolveKernelTypes",
    "possibleCpuCount",
    "ringBufReader",
    "perfReader",
  ]);
  const odd = functions.filter((n) =>
    !/^(read|parse|load|create|attach)[A-Z]/.test(n) && !/(FromFd|FromId)$/.test(n) &&
    !nouns.has(n)
  );
  assert.deepEqual(odd, [], "every root function follows the verb convention");
});
