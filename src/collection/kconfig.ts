/**
 * `.kconfig` externs: the running kernel's build configuration
 * (`/proc/config.gz`, else `/boot/config-<release>`) and the values
 * libbpf defines (`LINUX_KERNEL_VERSION`, `LINUX_HAS_BPF_COOKIE`,
 * `LINUX_HAS_SYSCALL_WRAPPER`), written into the `.kconfig` map in the
 * layout the object's BTF types ask for.
 *
 * @module
 */

import { FileNotFoundError, InvalidArgumentError, NotFoundError } from "../errors.ts";
import { HOST_LITTLE_ENDIAN as LE, type Spec } from "../btf/spec.ts";
import { KernelVersion } from "../sys/kernel_version.ts";
import { kernelVersionCode, uname } from "../sys/uname.ts";
import { loadKallsyms } from "../kallsyms/load.ts";
import type { ExternSpec } from "./types.ts";
import { readFile, readTextFile } from "../sys/file.ts";
import { gunzip } from "../sys/gunzip.ts";

/** Options of {@linkcode readKernelConfig}. */
export interface KernelConfigOptions {
  /** File-system root for `/proc/config.gz` and `/boot`. Default `/`. */
  root?: string;
  /** Kernel release for `/boot/config-<release>`; default: uname(2). */
  release?: string;
}

function under(root: string | undefined, path: string): string {
  const r = (root ?? "/").replace(/\/+$/, "");
  return r === "" ? path : `${r}${path}`;
}

/** Parses kernel config text: `CONFIG_X=value` and `# CONFIG_X is not set` (as `n`). */
export function parseKernelConfig(text: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const line of text.split("\n")) {
    const m = /^(CONFIG_[A-Za-z0-9_]+)=(.*)$/.exec(line);
    if (m) {
      out.set(m[1], m[2]);
      continue;
    }
    const n = /^# (CONFIG_[A-Za-z0-9_]+) is not set$/.exec(line);
    if (n) out.set(n[1], "n");
  }
  return out;
}

let lastGz: { path: string; bytes: Uint8Array; values: Map<string, string> } | undefined;

function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * The kernel's build configuration: `<root>/proc/config.gz` (gunzipped
 * here, synchronously), else `<root>/boot/config-<release>`; `undefined`
 * when neither exists.
 *
 * @throws {ParseError} when `/proc/config.gz` is not valid gzip.
 * @throws {FileError} when a config file exists but cannot be read.
 */
export function readKernelConfig(
  options: KernelConfigOptions = {},
): { path: string; values: Map<string, string> } | undefined {
  const gz = under(options.root, "/proc/config.gz");
  let bytes: Uint8Array | undefined;
  try {
    bytes = readFile(gz, { what: "kernel config" });
  } catch (e) {
    if (!(e instanceof FileNotFoundError)) throw e;
  }
  if (bytes !== undefined) {
    // Inflating in TypeScript costs a cold process 0.1-0.2 s: the last
    // config read is kept, and reused while the compressed bytes are the same.
    if (lastGz === undefined || lastGz.path !== gz || !sameBytes(lastGz.bytes, bytes)) {
      const text = new TextDecoder().decode(gunzip(bytes, { what: `kernel config ${gz}` }));
      lastGz = { path: gz, bytes, values: parseKernelConfig(text) };
    }
    return { path: gz, values: new Map(lastGz.values) };
  }
  const release = options.release ?? uname().release;
  const plain = under(options.root, `/boot/config-${release}`);
  try {
    const text = readTextFile(plain, { what: "kernel config" });
    return { path: plain, values: parseKernelConfig(text) };
  } catch (e) {
    if (!(e instanceof FileNotFoundError)) throw e;
  }
  return undefined;
}

/** Options of {@linkcode fillKconfig}. */
export interface FillKconfigOptions extends KernelConfigOptions {
  /** Values that override (or stand in for) the kernel's config, e.g. `{ CONFIG_HZ: "1000" }`. */
  overrides?: Readonly<Record<string, string>>;
}

/**
 * Writes the values of the `.kconfig` externs into `data` (the `.kconfig`
 * map's value). `btf` is the object's BTF (for each extern's type).
 *
 * @throws {NotFoundError} for a non-weak extern the kernel config lacks.
 * @throws {InvalidArgumentError} for a value that does not fit its type.
 */
export function fillKconfig(
  data: Uint8Array,
  externs: readonly ExternSpec[],
  btf: Spec,
  options: FillKconfigOptions = {},
): void {
  const kc = externs.filter((e) => e.kind === "kconfig");
  if (kc.length === 0) return;
  const release = options.release ?? releaseOf(options.root);
  let config: { path: string; values: Map<string, string> } | undefined;
  if (kc.some((e) => e.name.startsWith("CONFIG_") && options.overrides?.[e.name] === undefined)) {
    config = readKernelConfig({ root: options.root, release });
  }
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  for (const e of kc) {
    let value: string | undefined = options.overrides?.[e.name];
    if (value === undefined) {
      if (e.name === "LINUX_KERNEL_VERSION") value = String(kernelVersionCode(release));
      else if (e.name === "LINUX_HAS_BPF_COOKIE") {
        value = kernelVersionCode(release) >= new KernelVersion(5, 15).code ? "y" : "n";
      } else if (e.name === "LINUX_HAS_SYSCALL_WRAPPER") value = hasSyscallWrapper(options.root);
      else if (e.name.startsWith("LINUX_")) {
        throw new NotFoundError(
          `kconfig extern ${e.name}`,
          `unknown libbpf-defined extern ${e.name} (known: LINUX_KERNEL_VERSION, ` +
            "LINUX_HAS_BPF_COOKIE, LINUX_HAS_SYSCALL_WRAPPER)",
        );
      } else value = config?.values.get(e.name);
    }
    if (value === undefined) {
      if (e.weak) continue; // zero
      throw new NotFoundError(
        `kconfig ${e.name}`,
        config
          ? `${e.name} is not in ${config.path}; declare the extern __weak to default it to zero`
          : `${e.name} is needed but the kernel config is not available (no ${
            under(options.root, "/proc/config.gz")
          } and no ${
            under(options.root, `/boot/config-${release}`)
          }); pass kconfig overrides or declare the extern __weak`,
      );
    }
    writeValue(dv, e, btf, value);
  }
}

function releaseOf(root: string | undefined): string {
  if (root && root !== "/") {
    try {
      return readTextFile(under(root, "/proc/sys/kernel/osrelease")).trim();
    } catch {
      // fall back to this kernel
    }
  }
  return uname().release;
}

function hasSyscallWrapper(root: string | undefined): string {
  try {
    const ks = loadKallsyms({ root, strict: false });
    for (const p of ["__x64_sys_bpf", "__arm64_sys_bpf", "__s390x_sys_bpf", "__riscv_sys_bpf"]) {
      if (ks.has(p)) return "y";
    }
  } catch {
    // no kallsyms: assume no wrapper
  }
  return "n";
}

function writeValue(dv: DataView, e: ExternSpec, btf: Spec, value: string): void {
  const v = btf.typeById(e.typeId);
  const t = btf.resolve(v.kind === "var" ? v.type : e.typeId);
  const off = e.offset!;
  const bad = (why: string): never => {
    throw new InvalidArgumentError(`kconfig extern ${e.name}: value ${value} ${why}`);
  };
  const tri = value === "y" || value === "n" || value === "m";
  if (t.kind === "int" && t.encoding === "bool") {
    if (!tri || value === "m") bad("is not y or n (a bool extern)");
    dv.setUint8(off, value === "y" ? 1 : 0);
    return;
  }
  if (t.kind === "int" && t.size === 1 && t.encoding === "char") {
    if (tri) dv.setUint8(off, value.charCodeAt(0));
    else bad("is not y, m or n (a char extern)");
    return;
  }
  if ((t.kind === "enum" || t.kind === "enum64") && t.name === "libbpf_tristate") {
    if (!tri) bad("is not y, m or n (a tristate extern)");
    const n = value === "y" ? 1 : value === "m" ? 2 : 0;
    if (t.size === 8) dv.setBigUint64(off, BigInt(n), LE);
    else dv.setUint32(off, n, LE);
    return;
  }
  if (t.kind === "array") {
    const m = /^"(.*)"$/.exec(value);
    if (!m) bad("is not a quoted string (a char array extern)");
    const s = new TextEncoder().encode(m![1].replace(/\\(.)/g, "$1"));
    const n = Math.min(s.length, t.nelems - 1);
    for (let i = 0; i < n; i++) dv.setUint8(off + i, s[i]);
    dv.setUint8(off + n, 0);
    return;
  }
  if (t.kind === "int" || t.kind === "enum" || t.kind === "enum64") {
    if (tri) {
      // libbpf accepts y/n for integers only as booleans of size 1.
      bad("is y/m/n but the extern is an integer");
    }
    let n: bigint;
    try {
      n = BigInt(value.trim());
    } catch {
      return bad("is not an integer");
    }
    const size = t.size;
    const signed = t.kind === "int" ? t.encoding === "signed" : t.signed;
    const bits = BigInt(size * 8);
    const min = signed ? -(1n << (bits - 1n)) : 0n;
    const max = signed ? (1n << (bits - 1n)) - 1n : (1n << bits) - 1n;
    if (n < min || n > max) bad(`does not fit in ${size} bytes`);
    const u = BigInt.asUintN(size * 8, n);
    if (size === 1) dv.setUint8(off, Number(u));
    else if (size === 2) dv.setUint16(off, Number(u), LE);
    else if (size === 4) dv.setUint32(off, Number(u), LE);
    else dv.setBigUint64(off, u, LE);
    return;
  }
  bad(`cannot be stored in a ${t.kind}`);
}
