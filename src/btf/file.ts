/**
 * Reading raw BTF files. `/sys/kernel/btf/*` files hand out at most one
 * page per `read(2)`, so the reader loops over an exactly sized buffer;
 * where the kernel allows it (vmlinux BTF on Linux 6.16+) and FFI is
 * permitted, `parseBtfFile` maps the file read-only instead.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { libc } from "../sys/_libc.ts";
import { openPath } from "../sys/open_path.ts";
import { parseBtf, parseBtfFindingNames, type ParseOptions, type Spec } from "./spec.ts";

/** Options of `parseBtfFile`. */
export interface ParseFileOptions extends ParseOptions {
  /**
   * Map `/sys/kernel/btf/vmlinux` read-only instead of reading it, when FFI
   * is permitted and the kernel supports it (falls back to reading
   * otherwise). Default true. The read-only mapping is made once per process
   * and shared by the specs parsed from it.
   */
  mmap?: boolean;
}

/**
 * Reads a whole file into a fresh buffer sized from `stat`, looping over
 * short reads (sysfs returns one page per read).
 *
 * @throws {Deno.errors.NotFound} and other I/O errors from Deno.
 */
export function readBtfFile(path: string): Uint8Array {
  if (typeof path !== "string") {
    throw new InvalidArgumentError("readBtfFile: path must be a string");
  }
  using f = Deno.openSync(path);
  let buf = new Uint8Array(f.statSync().size);
  let off = 0;
  for (;;) {
    if (off === buf.length) {
      // The file grew, or stat reported 0 (procfs-like): keep reading.
      const probe = new Uint8Array(1);
      const r = f.readSync(probe);
      if (r === null || r === 0) break;
      const nb = new Uint8Array(Math.max(buf.length * 2, 4096));
      nb.set(buf);
      nb[off++] = probe[0];
      buf = nb;
      continue;
    }
    const r = f.readSync(buf.subarray(off));
    if (r === null || r === 0) break;
    off += r;
  }
  return off === buf.length ? buf : buf.subarray(0, off);
}

/**
 * Reads and parses a raw BTF file, e.g. `/sys/kernel/btf/vmlinux` or, with
 * `options.base`, a module's `/sys/kernel/btf/<module>`.
 *
 * @throws {ParseError} when the file is not valid BTF.
 */
export function parseBtfFile(path: string, options: ParseFileOptions = {}): Spec {
  if (options.mmap !== false && path === "/sys/kernel/btf/vmlinux") {
    const mapped = mapReadOnly(path);
    if (mapped !== undefined) return parseBtf(mapped, options);
  }
  return parseBtf(readBtfFile(path), options);
}

/**
 * {@linkcode parseBtfFile} that also looks up the types named `names` in the
 * same walk over the type records (see `parseBtfFindingNames`).
 *
 * @internal
 * @throws {ParseError} when the file is not valid BTF.
 */
export function parseBtfFileFindingNames(
  path: string,
  names: readonly string[],
  options: ParseFileOptions = {},
): { spec: Spec; ids: Map<string, number[]> } {
  const mapped = options.mmap !== false && path === "/sys/kernel/btf/vmlinux"
    ? mapReadOnly(path)
    : undefined;
  return parseBtfFindingNames(mapped ?? readBtfFile(path), names, options);
}

// ---- read-only mapping through the shared libc binding (FFI) -------------

/** The process-wide mapping of vmlinux BTF (it cannot change while the kernel runs). */
let vmlinuxMapping: Uint8Array | null | undefined;

/**
 * Maps `path` read-only (MAP_PRIVATE: the kernel refuses shared mappings of
 * BTF) once per process; `undefined` when that is not possible here (no FFI
 * permission, or a kernel without mmap support for BTF). The mapping is
 * never unmapped and never written to.
 */
function mapReadOnly(path: string): Uint8Array | undefined {
  if (vmlinuxMapping !== undefined) return vmlinuxMapping ?? undefined;
  vmlinuxMapping = null;
  let size: number;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state !== "granted") return undefined;
    size = Deno.statSync(path).size;
  } catch {
    return undefined;
  }
  if (size < 24) return undefined;
  let fd;
  try {
    fd = openPath(path);
  } catch {
    return undefined;
  }
  const PROT_READ = 1, MAP_PRIVATE = 2;
  const p = libc().mmap(null, BigInt(size), PROT_READ, MAP_PRIVATE, fd.value, 0n);
  fd.close();
  if (p === null || Deno.UnsafePointer.value(p) === 0xffffffffffffffffn) return undefined;
  vmlinuxMapping = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(p, size));
  return vmlinuxMapping;
}
