// The package's public surface: what each entry of deno.json `exports`
// offers, as a user sees it through `deno doc` and `import`. The root is
// curated (at most 200 names, no test hooks, nothing named like a global),
// every entry documents itself completely (`deno doc --lint` clean), the
// names the README and examples promise are where they are said to be, and
// importing the root does not load the collection loader or the probe
// compiler until they are used.

import assert from "node:assert/strict";
import { loadedModules } from "./_helpers.ts";
import { docLint, docSymbols } from "./_deno_doc.ts";

const root = new URL("../", import.meta.url);
const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", root))) as {
  exports: Record<string, string>;
  imports: Record<string, string>;
};
const entries = Object.entries(config.exports);

/** The names `deno doc` lists for an entry file (values and types). */
async function docNames(file: string): Promise<string[]> {
  return [...new Set((await docSymbols(file)).map((s) => s.name))].sort();
}

/** Imports an entry by its name in deno.json (".", "./map", …). */
function load(entry: string): Promise<Record<string, unknown>> {
  return import(new URL(config.exports[entry], root).href);
}

// FFI bindings and test hooks: never part of any entry.
const HOOKS = [
  "libc",
  "LIBC_SYMBOLS",
  "LibcSymbols",
  "setErrno",
  "errno",
  "LAYOUTS",
  "bpfRawAt",
  "probeSyscallCount",
];

Deno.test("the root entry exports at most 200 names, none of them a hook, a bare codec or Spec", async () => {
  const names = await docNames(config.exports["."]);
  assert.ok(names.length <= 200, `the root exports ${names.length} names (at most 200)`);
  const flat = ["Spec", "struct", "u8", "u32", "u64", "bool", "cstring", "ErrorOptions"];
  for (const bad of [...HOOKS, ...flat]) {
    assert.ok(!names.includes(bad), `the root exports ${bad}`);
  }
  // What a loader needs is there, with names that say what they are.
  for (const name of ["BtfSpec", "codec", "EbpfErrorOptions", "createMap", "loadProgram"]) {
    assert.ok(names.includes(name), `the root lacks ${name}`);
  }
});

Deno.test("no entry exports a test hook or a name that shadows a global", async () => {
  const globals = new Set([...Object.getOwnPropertyNames(globalThis), "ErrorOptions"]);
  for (const [entry, file] of entries) {
    const names = await docNames(file);
    for (const hook of HOOKS) assert.ok(!names.includes(hook), `${entry} exports ${hook}`);
    const shadows = names.filter((n) => globals.has(n));
    assert.deepEqual(shadows, [], `${entry} exports names of globals`);
  }
});

Deno.test("the syscall layer is the ./unstable-sys entry, and ./sys is gone", () => {
  assert.equal(config.exports["./unstable-sys"], "./src/sys/mod.ts");
  assert.equal(config.exports["./sys"], undefined);
  assert.equal(config.imports["@denobpf/ebpf/unstable-sys"], "./src/sys/mod.ts");
  assert.equal(config.imports["@denobpf/ebpf/sys"], undefined);
  // Every entry is also mapped by name for the examples.
  for (const [entry, file] of entries) {
    const name = entry === "." ? "@denobpf/ebpf" : `@denobpf/ebpf/${entry.slice(2)}`;
    assert.equal(config.imports[name], file, `deno.json imports lacks ${name}`);
  }
});

// One run over every entry, as JSR reads the package (.ci/run also lints each
// entry on its own).
Deno.test(`deno doc --lint is clean on every entry (${entries.length} entries)`, async () => {
  const { success, errors } = await docLint();
  assert.ok(success && errors.length === 0, `${errors.length} errors:\n${errors.join("\n")}`);
});

Deno.test("the names the README and examples promise are exported where they say", async () => {
  const promised: Record<string, string[]> = {
    ".": [
      "loadKernelSpec",
      "loadKernelModuleSpec",
      "kernelModuleOf",
      "kernelModuleSpecs",
      "resolveKernelTypes",
      "createMap",
      "loadProgram",
      "loadCollectionSpec",
      "loadCollection",
      "attachTracepoint",
      "attachRawTracepoint",
      "attachUprobe",
      "attachXdp",
      "attachKprobe",
      "attachTracing",
      "ringBufReader",
      "perfReader",
      "MissingModuleBtfError",
      "EbpfError",
      "NotSupportedError",
      "NotFoundError",
      "InvalidArgumentError",
      "ParseError",
      "SyscallError",
      "PermissionError",
    ],
    "./btf": [
      "loadKernelSpec",
      "loadKernelModuleSpec",
      "kernelModuleOf",
      "kernelModuleSpecs",
      "resolveKernelTypes",
      "parseBtf",
      "BtfSpec",
      "MissingModuleBtfError",
    ],
    "./map": [
      "createMap",
      "u32",
      "u64",
      "struct",
      "cstring",
      "possibleCpuCount",
      "record",
      "bitfield",
      "decodeRecord",
    ],
    "./program": ["loadProgram"],
    "./collection": [
      "loadCollectionSpec",
      "loadCollection",
      "MissingModuleBtfError",
      "bindCollection",
      "bindSpec",
    ],
    "./gen": ["generateBindings"],
    "./link": [
      "attachTracepoint",
      "attachRawTracepoint",
      "attachUprobe",
      "attachXdp",
      "attachKprobe",
      "attachKprobeMulti",
      "attachUprobeMulti",
      "attachUsdt",
      "attachTracing",
      "attachLsm",
      "attachFreplace",
      "attachIter",
      "attachPerfEvent",
      "attachTc",
      "attachTcx",
      "attachCgroup",
      "attachNetns",
      "attachNetfilter",
      "attachSocketFilter",
      "attachStructOps",
    ],
    "./ringbuf": ["ringBufReader"],
    "./perf": ["perfReader"],
    "./probe": [
      "probe",
      "tracepoint",
      "rawTracepoint",
      "tpBtf",
      "kprobe",
      "kretprobe",
      "uprobe",
      "uretprobe",
      "usdt",
      "profile",
      "interrupted",
      "expandPoints",
      "listProbes",
      "script",
      "formatPrintf",
      "formatMap",
      "formatMaps",
      "formatValue",
      "resolveKsym",
      "resolveUsym",
      "kstackFrames",
      "ustackFrames",
    ],
    "./bpftrace": ["bpftrace", "compileBpftrace", "parseBpftrace", "BpftraceError"],
    "./asm": ["asm", "assemble", "disassemble", "R0", "R10"],
    "./features": ["haveMapType", "haveProgramType", "haveHelper", "checkMapType", "probeAll"],
    "./kallsyms": ["symbolAddress", "loadKallsyms"],
    "./elf": ["readElfFile"],
    "./tracefs": ["tracepointId"],
    "./uprobe": ["symbolOffset", "readUsdtProbes"],
    "./unstable-sys": ["bpf", "FD", "uname", "possibleCpuCount"],
  };
  for (const [entry, names] of Object.entries(promised)) {
    const mod = await load(entry);
    for (const name of names) {
      assert.ok(mod[name] !== undefined, `${entry} does not export ${name}`);
    }
  }
  // The codecs are under a namespace at the root.
  const rootMod = await load(".");
  const codec = rootMod.codec as Record<string, unknown>;
  for (const name of ["u8", "u32", "u64", "bool", "struct", "cstring", "arrayOf"]) {
    assert.ok(codec[name] !== undefined, `codec.${name} is missing`);
  }
  // One class, one identity, whichever entry it comes from.
  const btf = await load("./btf");
  assert.equal(rootMod.MissingModuleBtfError, btf.MissingModuleBtfError);
  assert.equal((await load("./map")).createMap, rootMod.createMap);
});

Deno.test("the root's kernel BTF answers typeByName, typeById and typesByName, with { root }", async () => {
  const { loadKernelSpec, MissingModuleBtfError, loadKernelModuleSpec, NotFoundError } =
    await import("../mod.ts");
  const spec = loadKernelSpec({ root: "/" });
  const task = spec.typeByName("task_struct", "struct");
  assert.ok(task, "no task_struct in the kernel's BTF");
  assert.equal(task.name, "task_struct");
  assert.equal(spec.typeById(task.id).name, "task_struct");
  assert.ok(spec.typesByName("task_struct").length >= 1);
  // A module without BTF under another root: no spec, and the typed error
  // CO-RE throws for it is a NotFoundError from the same entry.
  const empty = await Deno.makeTempDir({ prefix: "denobpf-api-root-" });
  try {
    assert.equal(loadKernelModuleSpec("no_such_module", { root: empty }), undefined);
  } finally {
    await Deno.remove(empty, { recursive: true });
  }
  const err = new MissingModuleBtfError("struct foo", "foo_mod", "/sys/kernel/btf/foo_mod");
  assert.ok(err instanceof NotFoundError);
  assert.match(err.message, /foo_mod/);
});

Deno.test("the root's loadCollection loads an object (its loader imported on first call)", async () => {
  const { loadCollection } = await import("../mod.ts");
  using coll = await loadCollection(
    new URL("../testdata/bpf/basic_bpfel.o", import.meta.url).pathname,
  );
  assert.ok(Object.keys(coll.maps).length > 0, "no maps");
  assert.ok(Object.keys(coll.programs).length > 0, "no programs");
  const { Collection } = await load("./collection");
  assert.ok(coll instanceof (Collection as new (...a: never[]) => unknown));
});

Deno.test("importing the root does not load the collection loader, the probe compiler or the assembler", async () => {
  // The modules that run when the root is imported: static, non-type edges.
  const rel = await loadedModules("mod.ts");
  for (
    const heavy of ["src/collection/load.ts", "src/probe/", "src/asm/builders.ts", "src/features/"]
  ) {
    assert.deepEqual(rel.filter((s) => s.startsWith(heavy)), [], `the root loads ${heavy}`);
  }
  assert.ok(rel.length <= 100, `the root loads ${rel.length} modules`);
});

Deno.test("every error class an entry exports names itself (nameError), so minified builds keep the name", async () => {
  let n = 0;
  for (const [entry] of entries) {
    for (const [name, value] of Object.entries(await load(entry))) {
      if (typeof value !== "function" || !(value.prototype instanceof Error)) continue;
      assert.ok(Object.hasOwn(value.prototype, "name"), `${entry} ${name}: no nameError(this, …)`);
      assert.equal((value.prototype as Error).name, value.name, `${entry} ${name}`);
      n++;
    }
  }
  assert.ok(n >= 30, `${n} error classes`);
});
