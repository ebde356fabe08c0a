/**
 * Reading raw BTF files. `/sys/kernel/btf/*` files hand out at most one
 * page per `read(2)`, so the reader loops over an exactly sized buffer;
 * where the kernel allows it (vmlinux BTF on Linux 6.16+) and FFI is
 * permitted, `readBtfFile` maps the file read-only instead.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { libc } from "../sys/_libc.ts";
import { fileInfo, readFile } from "../sys/file.ts";
import { openPath } from "../sys/open_path.ts";
import { parseBtf, type ParseOptions, type Spec } from "./spec.ts";

/** Options of {@linkcode readBtfFile}. */
export interface ReadBtfFileOptions extends ParseOptions {
  /**
   * Map `/sys/kernel/btf/vmlinux` read-only instead of reading it, when FFI
   * is permitted and the kernel supports it (falls back to reading
   * otherwise). Default true. The read-only mapping is made once per process
   * and shared by the specs parsed from it.
   */
  mmap?: boolean;
}

/**
 * The largest BTF file the readers accept: 256 MiB (vmlinux BTF is about
 * 5.5 MiB on a distribution kernel).
 */
export const MAX_BTF_FILE_BYTES = 256 * 1024 * 1024;

/**
 * The bytes of a whole BTF file (looping over short reads: sysfs returns one
 * page per read). Directories, FIFOs, devices and files over
 * {@linkcode MAX_BTF_FILE_BYTES} are refused before reading. Used by
 * {@linkcode readBtfFile}, which also parses them.
 *
 * @throws {FileNotFoundError} when the file does not exist.
 * @throws {FileError} for a non-regular or oversized file, or an I/O error.
 * @throws {FilePermissionError} when the file may not be read.
 */
export function readBtfBytes(path: string): Uint8Array {
  if (typeof path !== "string") {
    throw new InvalidArgumentError("readBtfFile: path must be a string");
  }
  return readFile(path, { maxBytes: MAX_BTF_FILE_BYTES, what: "BTF file" });
}

/**
 * Reads a raw BTF file and parses it, e.g. `/sys/kernel/btf/vmlinux` or,
 * with `options.base`, a module's `/sys/kernel/btf/<module>` (as
 * `readElfFile` reads an ELF file). For bytes already in memory, use
 * `parseBtf`.
 *
 * @throws {FileNotFoundError} when the file does not exist.
 * @throws {FileError} for a non-regular or oversized file, or an I/O error.
 * @throws {FilePermissionError} when the file may not be read.
 * @throws {ParseError} when the file is not valid BTF.
 */
export function readBtfFile(path: string, options: ReadBtfFileOptions = {}): Spec {
  if (typeof path !== "string") {
    throw new InvalidArgumentError("readBtfFile: path must be a string");
  }
  if (options.mmap !== false && path === "/sys/kernel/btf/vmlinux") {
    const mapped = mapReadOnly(path);
    if (mapped !== undefined) return parseBtf(mapped, options);
  }
  return parseBtf(readBtfBytes(path), options);
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
    const info = fileInfo(path);
    if (info.kind !== "file") return undefined;
    size = info.size;
  } catch {
    return undefined;
  }
  if (size < 24 || size > MAX_BTF_FILE_BYTES) return undefined;
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
