/**
 * Reading raw BTF files. `/sys/kernel/btf/*` files hand out at most one
 * page per `read(2)`, so the reader loops over an exactly sized buffer;
 * where the kernel allows it (vmlinux BTF on Linux 6.16+) and FFI is
 * permitted, `parseBtfFile` maps the file read-only instead.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import {
  BTF_HEADER_SIZE,
  HOST_LITTLE_ENDIAN,
  parseBtf,
  type ParseOptions,
  PREBUILT_INDEX,
  type Spec,
  TypeIndexer,
} from "./spec.ts";

/** Options of `parseBtfFile`. */
export interface ParseFileOptions extends ParseOptions {
  /**
   * Map `/sys/kernel/btf/vmlinux` read-only instead of reading it, when FFI
   * is permitted and the kernel supports it (falls back to reading
   * otherwise). Default true. The mapping is private to the returned Spec.
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
  return readAndParse(path, options);
}

/**
 * Reads the file and indexes the type records as the data arrives (the
 * index is checked again by the Spec constructor). Any surprise (odd
 * header, short file, indexing error) falls back to a plain `parseBtf` of
 * what was read, which reports errors as usual.
 */
function readAndParse(path: string, options: ParseOptions): Spec {
  using f = Deno.openSync(path);
  const size = f.statSync().size;
  if (size < BTF_HEADER_SIZE) {
    f.close();
    return parseBtf(readBtfFile(path), options);
  }
  const buf = new Uint8Array(size);
  let off = 0;
  let indexer: TypeIndexer | undefined;
  let secStart = 0;
  let stream = true;
  while (off < size) {
    const r = f.readSync(buf.subarray(off));
    if (r === null || r === 0) break;
    off += r;
    if (!stream) continue;
    if (indexer === undefined) {
      if (off < BTF_HEADER_SIZE) continue;
      indexer = startIndexer(buf);
      if (indexer === undefined) {
        stream = false;
        continue;
      }
      secStart = indexer.words.byteOffset - buf.byteOffset;
    }
    if (off > secStart) {
      try {
        indexer.feed(Math.floor((off - secStart) / 4));
      } catch {
        stream = false;
      }
    }
  }
  if (off < size) return parseBtf(buf.subarray(0, off), options);
  const more = f.readSync(new Uint8Array(1));
  if (more !== null && more !== 0) {
    f.close();
    return parseBtf(readBtfFile(path), options); // the file grew
  }
  if (!stream || indexer === undefined) return parseBtf(buf, options);
  return parseBtf(buf, { ...options, [PREBUILT_INDEX]: indexer } as ParseOptions);
}

/** An indexer over the type section of the blob `buf` (header read), when it can stream. */
function startIndexer(buf: Uint8Array): TypeIndexer | undefined {
  const le = buf[0] === 0x9f && buf[1] === 0xeb;
  if (le !== HOST_LITTLE_ENDIAN || (!le && !(buf[0] === 0xeb && buf[1] === 0x9f))) return undefined;
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.length);
  const hdrLen = dv.getUint32(4, le);
  const typeOff = dv.getUint32(8, le);
  const typeLen = dv.getUint32(12, le);
  const start = hdrLen + typeOff;
  if (
    hdrLen < BTF_HEADER_SIZE || start % 4 !== 0 || typeLen % 4 !== 0 || start + typeLen > buf.length
  ) {
    return undefined;
  }
  return new TypeIndexer(new Uint32Array(buf.buffer, buf.byteOffset + start, typeLen / 4), start);
}

// ---- read-only mapping through libc (FFI) ----------------------------------

const LIBC_SYMBOLS = {
  open: { parameters: ["buffer", "i32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
} as const;

type Libc = Deno.DynamicLibrary<typeof LIBC_SYMBOLS>["symbols"];

let libc: Libc | null | undefined;
let unmapper: FinalizationRegistry<{ p: Deno.PointerObject; size: number }> | undefined;

function getLibc(): Libc | null {
  if (libc !== undefined) return libc;
  libc = null;
  try {
    if (Deno.permissions.querySync({ name: "ffi" }).state === "granted") {
      libc = Deno.dlopen("libc.so.6", LIBC_SYMBOLS).symbols;
      const lc = libc;
      unmapper = new FinalizationRegistry(({ p, size }) => lc.munmap(p, BigInt(size)));
    }
  } catch {
    libc = null;
  }
  return libc;
}

/** Maps `path` read-only; `undefined` when that is not possible here. */
function mapReadOnly(path: string): Uint8Array | undefined {
  const c = getLibc();
  if (c === null) return undefined;
  let size: number;
  try {
    size = Deno.statSync(path).size;
  } catch {
    return undefined;
  }
  if (size < 24) return undefined;
  const cpath = new TextEncoder().encode(path + "\0");
  const O_RDONLY_CLOEXEC = 0o2000000;
  const fd = c.open(cpath, O_RDONLY_CLOEXEC);
  if (fd < 0) return undefined;
  const PROT_READ = 1, MAP_PRIVATE = 2;
  const p = c.mmap(null, BigInt(size), PROT_READ, MAP_PRIVATE, fd, 0n);
  c.close(fd);
  if (p === null || Deno.UnsafePointer.value(p) === 0xffffffffffffffffn) return undefined;
  const ab = Deno.UnsafePointerView.getArrayBuffer(p, size);
  unmapper!.register(ab, { p, size });
  const bytes = new Uint8Array(ab);
  if (bytes[0] !== 0x9f && bytes[0] !== 0xeb) {
    // Not BTF: let the read path report it properly.
    return undefined;
  }
  return bytes;
}
