import assert from "node:assert/strict";
import { FileError, FileNotFoundError, NotFoundError } from "../src/errors.ts";
import { fileInfo, readFile, readTextFile } from "../src/sys/file.ts";
import { loadCollectionSpec } from "../src/collection/reader.ts";
import { readElfFile } from "../src/elf/mod.ts";
import { resolveBinaryPath, symbolOffset } from "../src/uprobe/resolve.ts";

/** A fixture directory: a small file, a FIFO, a 4 GiB sparse file, a symlink, a subdirectory. */
async function fixture(): Promise<{ dir: string } & AsyncDisposable> {
  const dir = await Deno.makeTempDir({ prefix: "denobpf_file_" });
  await Deno.writeTextFile(`${dir}/small`, "hello");
  const mk = await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output();
  assert.ok(mk.success, "mkfifo");
  const tr = await new Deno.Command("truncate", { args: ["-s", "4G", `${dir}/sparse`] }).output();
  assert.ok(tr.success, "truncate");
  await Deno.symlink(`${dir}/small`, `${dir}/link`);
  await Deno.mkdir(`${dir}/sub`);
  return { dir, [Symbol.asyncDispose]: () => Deno.remove(dir, { recursive: true }) };
}

/** One case's result as tests/_file_cases.ts prints it. */
interface Outcome {
  ok?: unknown;
  error?: string;
  code?: string;
  path?: string;
  message: string;
}

async function runCases(flags: string[], dir: string): Promise<Record<string, Outcome>> {
  const script = new URL("./_file_cases.ts", import.meta.url).pathname;
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, "--no-prompt", script, dir],
    stdout: "piped",
    stderr: "piped",
  }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  return JSON.parse(text);
}

function checkCases(r: Record<string, Outcome>, dir: string, mode: string) {
  const m = `(${mode})`;
  for (const k of ["devZero", "devUrandom"]) {
    assert.equal(r[k].error, "FileError", `${k} ${m}`);
    assert.equal(r[k].code, "ENOTREGULAR", `${k} ${m}`);
    assert.match(r[k].message, /\/dev\/(zero|urandom) is a character device, not a regular file/);
  }
  assert.match(r.devUrandom.message, /^BTF file \/dev\/urandom/);
  for (const k of ["fifo", "fifoHead", "writeFifo"]) {
    assert.equal(r[k].code, "ENOTREGULAR", `${k} ${m}`);
    assert.match(r[k].message, /FIFO/, `${k} ${m}`);
    assert.equal(r[k].path, `${dir}/fifo`);
  }
  assert.equal(r.sparse.code, "ETOOLARGE", m);
  assert.match(r.sparse.message, /sparse is 4\.0 GiB, over the 256\.0 MiB/);
  assert.equal(r.directory.code, "EISDIR", m);
  assert.match(r.directory.message, /is a directory/);
  assert.equal(r.missing.error, "FileNotFoundError", m);
  assert.equal(r.missing.path, `${dir}/missing`);
  assert.match(r.missing.message, /missing does not exist/);
  assert.equal(r.underFile.code, "ENOTDIR", m);
  assert.deepEqual(r.small, { ok: "hello" }, m);
  assert.deepEqual(r.head, { ok: [104, 101, 108] }, m);
  assert.deepEqual(r.procStatus, { ok: true }, m);
  assert.deepEqual(r.kallsyms, { ok: true }, m);
  assert.equal(r.procCap.code, "ETOOLARGE", m);
  assert.match(r.procCap.message, /\/proc\/self\/maps is larger than the 16 bytes/);
  assert.deepEqual(r.sysfs, { ok: true }, m);
  assert.deepEqual(r.btfSize, { ok: true }, m);
  assert.deepEqual(r.exact, { ok: true }, `${m}: buffers are exactly as long as the file`);
  assert.deepEqual(r.info, { ok: { kind: "file", size: 5, mode: 0o644, inoOk: true } }, m);
  assert.deepEqual(r.infoKinds, { ok: ["directory", "fifo", "char-device", "file"] }, m);
  assert.deepEqual(r.infoLink, { ok: "symlink" }, m);
  assert.deepEqual(r.exists, { ok: [true, false] }, m);
  assert.deepEqual(r.readDir, { ok: ["fifo", "link", "small", "sparse", "sub"] }, m);
  assert.equal(r.readDirMissing.error, "FileNotFoundError", m);
  assert.equal(r.readDirFile.code, "ENOTDIR", m);
  assert.deepEqual(r.readLink, { ok: `${dir}/small` }, m);
  assert.deepEqual(r.realPath, { ok: true }, m);
  assert.deepEqual(r.write, { ok: ["one\ntwo\n", "three\n"] }, m);
  assert.equal(r.writeMissing.error, "FileNotFoundError", m);
  assert.deepEqual(r.remove, { ok: false }, m);
  assert.equal(r.removeMissing.error, "FileNotFoundError", m);
  assert.equal(r.removeDir.code, "EISDIR", m);
  assert.deepEqual(r.async, { ok: 5 }, m);
  assert.equal(r.asyncDevZero.code, "ENOTREGULAR", m);
}

Deno.test("file: with Deno's permissions (-A), devices, FIFOs, huge and missing files are refused by name", async () => {
  await using f = await fixture();
  checkCases(await runCases(["-A"], f.dir), f.dir, "-A");
});

Deno.test("file: with only --allow-ffi, the C library way gives the same results and errors", async () => {
  await using f = await fixture();
  const ffi = await runCases(["--allow-ffi"], f.dir);
  checkCases(ffi, f.dir, "--allow-ffi");
  assert.deepEqual(ffi, await runCases(["-A"], f.dir), "both ways agree, messages included");
});

Deno.test("file: a missing file is a FileNotFoundError, which is a NotFoundError", () => {
  assert.throws(() => readFile("/nonexistent/denobpf"), (e: unknown) => {
    assert.ok(e instanceof FileNotFoundError);
    assert.ok(e instanceof NotFoundError);
    assert.equal(e.path, "/nonexistent/denobpf");
    return true;
  });
});

Deno.test("file: without --allow-ffi nor --allow-read, the error names the flags", async () => {
  const lib = new URL("../src/sys/file.ts", import.meta.url).href;
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    await Deno.writeTextFile(
      script,
      `import { readFile } from "${lib}";
       try { readFile("/proc/self/status"); } catch (e) { console.log(e.name, e.code, e.message); }`,
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-prompt", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stdout) + new TextDecoder().decode(out.stderr);
    assert.match(text, /^FileError ENOTCAPABLE .*\/proc\/self\/status needs .*--allow-ffi/, text);
  } finally {
    await Deno.remove(script);
  }
});

Deno.test("file: a kernel pseudo-file of stat size 4096 or 0 is read to its end", () => {
  assert.equal(fileInfo("/proc/self/status").size, 0);
  assert.match(readTextFile("/proc/self/status"), /\nPid:\s+\d+/);
});

Deno.test("file: maxBytes refuses a regular file before reading it", async () => {
  const path = await Deno.makeTempFile();
  try {
    await Deno.writeFile(path, new Uint8Array(100));
    assert.equal(readFile(path, { maxBytes: 100 }).length, 100);
    assert.throws(() => readFile(path, { maxBytes: 99, what: "ELF object" }), (e: unknown) => {
      assert.ok(e instanceof FileError);
      assert.equal(e.code, "ETOOLARGE");
      assert.match(e.message, /^ELF object .* is 100 bytes, over the 99 bytes this reader accepts/);
      return true;
    });
  } finally {
    await Deno.remove(path);
  }
});

// ---- the readers built on it ------------------------------------------------

function fileError(code: string, re: RegExp): (e: unknown) => boolean {
  return (e: unknown) => {
    assert.ok(e instanceof FileError, `expected FileError, got ${e}`);
    assert.equal(e.code, code, e.message);
    assert.match(e.message, re);
    return true;
  };
}

Deno.test("loadCollectionSpec and readElfFile refuse /dev/zero, a FIFO, a 4 GiB file, a directory", async () => {
  await using f = await fixture();
  const load = (p: string | URL) => () => loadCollectionSpec(p);
  assert.throws(load("/dev/zero"), fileError("ENOTREGULAR", /^BPF object \/dev\/zero is a char/));
  assert.throws(load("/dev/urandom"), fileError("ENOTREGULAR", /\/dev\/urandom/));
  assert.throws(load(`${f.dir}/fifo`), fileError("ENOTREGULAR", /fifo is a FIFO/));
  assert.throws(load(new URL(`file://${f.dir}/fifo`)), fileError("ENOTREGULAR", /FIFO/));
  assert.throws(load(`${f.dir}/sparse`), fileError("ETOOLARGE", /4\.0 GiB, over the 1\.0 GiB/));
  assert.throws(load(f.dir), fileError("EISDIR", /is a directory/));
  assert.throws(load(`${f.dir}/missing`), (e: unknown) => {
    assert.ok(e instanceof FileNotFoundError);
    assert.equal(e.path, `${f.dir}/missing`);
    return true;
  });
  assert.throws(() => readElfFile(`${f.dir}/fifo`), fileError("ENOTREGULAR", /^ELF file/));
  assert.throws(() => readElfFile("/dev/zero"), fileError("ENOTREGULAR", /char/));
});

Deno.test("uprobe target resolution refuses a FIFO, a device and a directory by name", async () => {
  await using f = await fixture();
  assert.throws(
    () => resolveBinaryPath(`${f.dir}/fifo`),
    fileError("ENOTREGULAR", /^uprobe target .*fifo is a FIFO/),
  );
  assert.throws(() => resolveBinaryPath("/dev/zero"), fileError("ENOTREGULAR", /device/));
  assert.throws(() => resolveBinaryPath(`${f.dir}/sub`), fileError("EISDIR", /directory/));
  assert.throws(() => resolveBinaryPath(`${f.dir}/missing`), FileNotFoundError);
  assert.throws(() => symbolOffset(`${f.dir}/fifo`, "main"), fileError("ENOTREGULAR", /FIFO/));
  assert.equal(resolveBinaryPath(`${f.dir}/link`), `${f.dir}/link`);
});

// ---- as an unprivileged user -----------------------------------------------

/** Runs `code` (a module body) as nobody with `flags`; returns stdout + stderr. */
async function asNobody(code: string, flags: string[]): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "denobpf_nobody_" });
  try {
    await Deno.writeTextFile(`${dir}/probe.ts`, code);
    await Deno.chmod(`${dir}/probe.ts`, 0o644);
    await Deno.chmod(dir, 0o777);
    const out = await new Deno.Command("setpriv", {
      args: [
        "--reuid=65534",
        "--regid=65534",
        "--clear-groups",
        Deno.execPath(),
        "run",
        "--no-check",
        "--no-prompt",
        ...flags,
        `${dir}/probe.ts`,
      ],
      env: { DENO_DIR: `${dir}/.deno`, HOME: dir },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const d = new TextDecoder();
    return d.decode(out.stdout) + d.decode(out.stderr);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test("as an unprivileged user, tracepointId and probe(tracepoint(…)) say root is needed", async () => {
  const tracefs = new URL("../src/tracefs/mod.ts", import.meta.url).href;
  const probe = new URL("../src/probe/mod.ts", import.meta.url).href;
  const code = `import { tracepointId } from "${tracefs}";
    import { probe, tracepoint } from "${probe}";
    const show = (e) => console.log(e.name + " " + e.code + ": " + e.message);
    try { console.log("id", tracepointId("syscalls", "sys_enter_getpid")); } catch (e) { show(e); }
    try {
      await using p = await probe(tracepoint("syscalls:sys_enter_getpid")).count();
      console.log("probe started");
    } catch (e) { show(e); }`;
  for (const flags of [["--allow-ffi"], ["-A"]]) {
    const text = await asNobody(code, flags);
    const lines = text.trim().split("\n");
    assert.equal(lines.length, 2, text);
    for (const line of lines) {
      assert.match(
        line,
        /^FilePermissionError EACCES: .*\/sys\/kernel\/tracing\/events\/syscalls\/sys_enter_getpid\/(id|format).* run as root; this needs CAP_DAC_OVERRIDE \(or root\)$/,
        `${flags}: ${text}`,
      );
    }
  }
});

// ---- with only --allow-ffi, the rest of the package's file use --------------

Deno.test("with only --allow-ffi: map pin/unpin, mapFromFd's check, CPU lists, fd count, capabilities", async () => {
  const bpffs = await Deno.makeTempDir({ prefix: "denobpf_file_bpffs_" });
  const mount = await new Deno.Command("mount", { args: ["-t", "bpf", "bpf", bpffs] }).output();
  assert.ok(mount.success);
  const script = await Deno.makeTempFile({ suffix: ".ts" });
  try {
    const lib = (p: string) => new URL(`../src/${p}`, import.meta.url).href;
    await Deno.writeTextFile(
      script,
      `import { createMap, mapFromFd } from "${lib("map/mod.ts")}";
       import { openFdCount, possibleCpus, onlineCpus } from "${lib("sys/mod.ts")}";
       import { effectiveCapabilities } from "${lib("program/_caps.ts")}";
       const out = {};
       const m = createMap({ type: "array", keySize: 4, valueSize: 4, maxEntries: 1 });
       m.pin("${bpffs}/m");
       out.pinned = Deno.permissions.querySync({ name: "read" }).state;
       m.unpin();
       m.unpin();
       const fdsBefore = openFdCount();
       try { mapFromFd(0); } catch (e) { out.notMap = e.name + ": " + e.message; }
       out.fdsSame = openFdCount() === fdsBefore;
       out.cpus = possibleCpus().length > 0 && onlineCpus().length > 0;
       out.capBpf = effectiveCapabilities()?.has("CAP_BPF");
       m.close();
       console.log(JSON.stringify(out));`,
    );
    const run = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--allow-ffi", "--no-prompt", script],
      stdout: "piped",
      stderr: "piped",
    }).output();
    const d = new TextDecoder();
    assert.ok(run.success, d.decode(run.stderr));
    const r = JSON.parse(d.decode(run.stdout));
    assert.equal(r.pinned, "prompt", "no read permission: the C library way was used");
    assert.match(r.notMap, /^InvalidArgumentError: /);
    assert.deepEqual([r.fdsSame, r.cpus, r.capBpf], [true, true, true]);
    const names = [...Deno.readDirSync(bpffs)].map((e) => e.name);
    assert.ok(!names.includes("m"), `the pin was removed: ${names}`);
  } finally {
    await Deno.remove(script);
    await new Deno.Command("umount", { args: [bpffs] }).output();
    await Deno.remove(bpffs);
  }
});
