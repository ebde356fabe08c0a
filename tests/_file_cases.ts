// Run by tests/file_test.ts in a subprocess (with -A, and with only --allow-ffi):
// every case of src/sys/file.ts on the paths of a fixture directory, printed
// as one JSON line, so that both permission modes can be compared.
import { FileError, FileNotFoundError } from "../src/errors.ts";
import {
  exists,
  fileInfo,
  FilePermissionError,
  readDirNames,
  readFile,
  readFileAsync,
  readFileHead,
  readLink,
  readTextFile,
  realPath,
  removeFile,
  writeTextFile,
} from "../src/sys/file.ts";

const dir = Deno.args[0];
const out: Record<string, unknown> = {};

function outcome(fn: () => unknown): unknown {
  try {
    return { ok: fn() };
  } catch (e) {
    return describe(e);
  }
}

function describe(e: unknown): unknown {
  if (e instanceof FileNotFoundError) {
    return { error: "FileNotFoundError", path: e.path, message: e.message };
  }
  if (e instanceof FilePermissionError) {
    return { error: "FilePermissionError", path: e.path, message: e.message };
  }
  if (e instanceof FileError) {
    return { error: "FileError", code: e.code, path: e.path, message: e.message };
  }
  return { error: String(e) };
}

const size = (b: Uint8Array) => b.length;
out.devZero = outcome(() => size(readFile("/dev/zero")));
out.devUrandom = outcome(() => size(readFile("/dev/urandom", { what: "BTF file" })));
out.fifo = outcome(() => size(readFile(`${dir}/fifo`)));
out.fifoHead = outcome(() => size(readFileHead(`${dir}/fifo`, 4)));
out.sparse = outcome(() => size(readFile(`${dir}/sparse`)));
out.directory = outcome(() => size(readFile(dir)));
out.missing = outcome(() => size(readFile(`${dir}/missing`)));
out.underFile = outcome(() => size(readFile(`${dir}/small/x`)));
out.small = outcome(() => readTextFile(`${dir}/small`));
out.head = outcome(() => [...readFileHead(`${dir}/small`, 3)]);
out.procStatus = outcome(() => /^Name:/m.test(readTextFile("/proc/self/status")));
out.kallsyms = outcome(() => readFile("/proc/kallsyms").length > 100_000);
out.procCap = outcome(() => size(readFile("/proc/self/maps", { maxBytes: 16 })));
out.sysfs = outcome(() => /^\d+(-\d+)?/.test(readTextFile("/sys/devices/system/cpu/possible")));
out.btfSize = outcome(() =>
  readFile("/sys/kernel/btf/vmlinux").length === fileInfo("/sys/kernel/btf/vmlinux").size
);
out.exact = outcome(() =>
  ["/proc/self/status", `${dir}/small`, "/sys/kernel/btf/vmlinux", "/proc/kallsyms"]
    .map((p) => readFile(p))
    .every((b) => b.byteOffset === 0 && b.buffer.byteLength === b.length)
);
out.info = outcome(() => {
  const i = fileInfo(`${dir}/small`);
  return { kind: i.kind, size: i.size, mode: i.mode, inoOk: i.ino > 0 };
});
out.infoKinds = outcome(() =>
  [dir, `${dir}/fifo`, "/dev/zero", `${dir}/link`].map((p) => fileInfo(p).kind)
);
out.infoLink = outcome(() => fileInfo(`${dir}/link`, { followSymlinks: false }).kind);
out.exists = outcome(() => [exists(`${dir}/small`), exists(`${dir}/missing`)]);
out.readDir = outcome(() => readDirNames(dir).sort());
out.readDirMissing = outcome(() => readDirNames(`${dir}/missing`));
out.readDirFile = outcome(() => readDirNames(`${dir}/small`));
out.readLink = outcome(() => readLink(`${dir}/link`));
out.realPath = outcome(() => realPath(`${dir}/link`) === realPath(`${dir}/small`));
out.write = outcome(() => {
  writeTextFile(`${dir}/w`, "one\n", { create: true });
  writeTextFile(`${dir}/w`, "two\n", { append: true });
  const appended = readTextFile(`${dir}/w`);
  writeTextFile(`${dir}/w`, "three\n");
  return [appended, readTextFile(`${dir}/w`)];
});
out.writeMissing = outcome(() => writeTextFile(`${dir}/nodir/w`, "x"));
out.writeFifo = outcome(() => writeTextFile(`${dir}/fifo`, "x"));
out.remove = outcome(() => {
  removeFile(`${dir}/w`);
  return exists(`${dir}/w`);
});
out.removeMissing = outcome(() => removeFile(`${dir}/w`));
out.removeDir = outcome(() => removeFile(`${dir}/sub`));
try {
  out.async = { ok: (await readFileAsync(`${dir}/small`)).length };
} catch (e) {
  out.async = describe(e);
}
try {
  out.asyncDevZero = { ok: (await readFileAsync("/dev/zero")).length };
} catch (e) {
  out.asyncDevZero = describe(e);
}
console.log(JSON.stringify(out));
