/**
 * Reading and writing files — kernel pseudo-files (`/proc`, `/sys`, tracefs,
 * bpffs) and user files (ELF objects, BTF blobs) — the one way every part of
 * denobpf does it.
 *
 * When Deno's own permission for the path is granted (`--allow-read`,
 * `--allow-write`, `-A`), Deno's file-system API is used; otherwise the
 * system calls go through the C library (openat, statx, read, write,
 * getdents64, unlinkat, readlinkat), so `--allow-ffi` alone is enough. Both
 * ways behave the same and throw the same typed errors:
 *
 * - a missing path: {@linkcode FileNotFoundError} (a `NotFoundError`);
 * - EACCES/EPERM: {@linkcode FilePermissionError} (a `PermissionError`);
 * - a directory, FIFO, socket or device where a file is read, or a file over
 *   the reader's size cap: {@linkcode FileError} naming the path and what was
 *   found, raised before anything is read (FIFOs are opened non-blocking,
 *   and checked again after opening, so they never hang);
 * - any other errno: {@linkcode FileError} with the errno name as `code`.
 *
 * Kernel pseudo-files report a size of 0 or 4096: they are read to EOF, but
 * never past the cap.
 *
 * @module
 */

import { FileError, FileNotFoundError, nameError } from "../errors.ts";
import { errno, libc } from "./_libc.ts";
import { EACCES, EISDIR, ENOENT, EPERM, errnoName, errnoText } from "./errno.ts";
import { PermissionError } from "./error.ts";

/** What a path is. */
export type FileKind =
  | "file"
  | "directory"
  | "symlink"
  | "fifo"
  | "socket"
  | "char-device"
  | "block-device"
  | "unknown";

/** What {@linkcode fileInfo} reports about a path. */
export interface FileInfo {
  /** The kind of file. */
  readonly kind: FileKind;
  /** Size in bytes (kernel pseudo-files report 0 or 4096, whatever they hold). */
  readonly size: number;
  /** The device the file is on. */
  readonly dev: number;
  /** The inode number. */
  readonly ino: number;
  /** Last modification, in milliseconds since the epoch. */
  readonly mtimeMs: number;
  /** The permission bits (`mode & 0o7777`). */
  readonly mode: number;
}

/** A directory entry from {@linkcode readDir}. */
export interface DirEntry {
  /** The entry's name (never `.` or `..`). */
  readonly name: string;
  /** Its kind (symlinks are not followed). */
  readonly kind: FileKind;
}

/**
 * A reader's default size cap: 256 MiB. vmlinux BTF is a few MiB,
 * /proc/kallsyms some tens of MiB at most.
 */
export const DEFAULT_MAX_FILE_BYTES = 256 * 1024 * 1024;

/** Options of the functions that read a file. */
export interface ReadFileOptions {
  /**
   * Refuse files larger than this many bytes (checked with stat before
   * reading, and while reading files whose size stat does not know).
   * Default {@linkcode DEFAULT_MAX_FILE_BYTES}.
   */
  maxBytes?: number;
  /** What the file is, for error messages, e.g. `"BTF file"` (default `"file"`). */
  what?: string;
}

/** Options of {@linkcode writeTextFile}. */
export interface WriteFileOptions {
  /** Append (O_APPEND) instead of truncating: what tracefs `*_events` files need. */
  append?: boolean;
  /** Create the file if it does not exist (default false). */
  create?: boolean;
  /** What the file is, for error messages (default `"file"`). */
  what?: string;
}

/**
 * Reading or writing a file was refused with EACCES or EPERM. A
 * {@linkcode PermissionError} that also carries the path.
 */
export class FilePermissionError extends PermissionError {
  static {
    nameError(this, "FilePermissionError");
  }
  /** The file concerned. */
  readonly path: string;
  /** Creates the error for `syscall` on `path`; `verb` says what was being done ("reading"). */
  constructor(syscall: string, errno: number, path: string, verb: string, options?: {
    cause?: unknown;
  }) {
    super(syscall, errno, ["CAP_DAC_OVERRIDE"], {
      command: path,
      hint: `${verb} ${path} is not permitted to this user: run as root`,
      cause: options?.cause,
    });
    this.path = path;
  }
}

// ---- choosing the way ------------------------------------------------------

function denoMay(name: "read" | "write", path: string): boolean {
  try {
    return Deno.permissions.querySync({ name, path }).state === "granted";
  } catch {
    return false;
  }
}

function ffiGranted(): boolean {
  try {
    return Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  } catch {
    return false;
  }
}

/** Throws when neither Deno's permission nor FFI is there. */
function needFfi(name: "read" | "write", path: string, verb: string): void {
  if (ffiGranted()) return;
  throw new FileError(
    path,
    "ENOTCAPABLE",
    `${verb} ${path} needs Deno's --allow-${name}=${path} or --allow-ffi (denobpf needs ` +
      `--allow-ffi anyway): run deno with --allow-ffi`,
  );
}

// ---- errors ----------------------------------------------------------------

function label(what: string | undefined, path: string): string {
  return `${what ?? "file"} ${path}`;
}

/** The typed error for `err` (an errno) of `syscall` on `path`. */
function errnoError(
  syscall: string,
  err: number,
  path: string,
  verb: string,
  what?: string,
  cause?: unknown,
): Error {
  if (err === ENOENT) {
    return new FileNotFoundError(path, `${label(what, path)} does not exist (ENOENT)`, { cause });
  }
  if (err === EACCES || err === EPERM) return new FilePermissionError(syscall, err, path, verb);
  if (err === EISDIR) return kindError(path, "directory", what);
  return new FileError(
    path,
    errnoName(err),
    `${verb} ${label(what, path)} failed: ${errnoName(err)} (${errnoText(err)})`,
    { errno: err, cause },
  );
}

const OS_ERROR = /\(os error (\d+)\)/;

/** Deno's error → the same typed error the C library way gives. */
function fromDeno(e: unknown, syscall: string, path: string, verb: string, what?: string): Error {
  if (e instanceof Error) {
    const m = OS_ERROR.exec(e.message);
    if (m) return errnoError(syscall, Number(m[1]), path, verb, what, e);
    if (e instanceof Deno.errors.NotFound) return errnoError(syscall, ENOENT, path, verb, what, e);
    if (e instanceof Deno.errors.PermissionDenied) {
      return errnoError(syscall, EACCES, path, verb, what, e);
    }
    if (e instanceof Deno.errors.IsADirectory) return kindError(path, "directory", what);
  }
  return e instanceof Error ? e : new Error(String(e));
}

const KIND_TEXT: Record<FileKind, string> = {
  file: "a regular file",
  directory: "a directory",
  symlink: "a symbolic link",
  fifo: "a FIFO (named pipe)",
  socket: "a socket",
  "char-device": "a character device",
  "block-device": "a block device",
  unknown: "not a regular file",
};

function kindError(path: string, kind: FileKind, what?: string): FileError {
  return new FileError(
    path,
    kind === "directory" ? "EISDIR" : "ENOTREGULAR",
    `${label(what, path)} is ${KIND_TEXT[kind]}, not a regular file: give the path of a file`,
    kind === "directory" ? { errno: EISDIR } : undefined,
  );
}

function fmtBytes(n: number): string {
  if (n >= 1024 ** 3) return `${(n / 1024 ** 3).toFixed(1)} GiB`;
  if (n >= 1024 ** 2) return `${(n / 1024 ** 2).toFixed(1)} MiB`;
  if (n >= 1024) return `${(n / 1024).toFixed(1)} KiB`;
  return `${n} bytes`;
}

function tooLarge(path: string, size: number | undefined, max: number, what?: string): FileError {
  return new FileError(
    path,
    "ETOOLARGE",
    `${label(what, path)} is ${size === undefined ? "larger than" : `${fmtBytes(size)}, over`} ` +
      `the ${fmtBytes(max)} this reader accepts: check the path (is it the file you meant?)`,
  );
}

// ---- the C library way -----------------------------------------------------

const ARM = Deno.build.arch === "aarch64";
const SYS = ARM
  ? { openat: 56n, statx: 291n, getdents64: 61n, unlinkat: 35n, readlinkat: 78n }
  : { openat: 257n, statx: 332n, getdents64: 217n, unlinkat: 263n, readlinkat: 267n };
const AT_FDCWD = -100n;
const O_RDONLY = 0, O_WRONLY = 1, O_CREAT = 0o100, O_TRUNC = 0o1000, O_APPEND = 0o2000;
const O_NONBLOCK = 0o4000, O_DIRECTORY = 0o200000, O_CLOEXEC = 0o2000000;
const AT_SYMLINK_NOFOLLOW = 0x100, AT_EMPTY_PATH = 0x1000;
const STATX_BASIC_STATS = 0x7ffn;
const F_GETFL = 3, F_SETFL = 4;
const encoder = new TextEncoder();
const decoder = new TextDecoder();

function cPath(s: string): Uint8Array<ArrayBuffer> {
  if (s.includes("\0")) throw new FileError(s, "EINVAL", `path ${JSON.stringify(s)} contains NUL`);
  const b = new Uint8Array(encoder.encode(s).length + 1);
  encoder.encodeInto(s, b);
  return b;
}

function addr(b: Uint8Array<ArrayBuffer>): bigint {
  return Deno.UnsafePointer.value(Deno.UnsafePointer.of(b));
}

function sys(nr: bigint, a: bigint, b: bigint, c = 0n, d = 0n, e = 0n): number {
  return Number(libc().syscall6(nr, a, b, c, d, e, 0n));
}

function kindOfMode(mode: number): FileKind {
  switch (mode & 0o170000) {
    case 0o100000:
      return "file";
    case 0o040000:
      return "directory";
    case 0o120000:
      return "symlink";
    case 0o010000:
      return "fifo";
    case 0o140000:
      return "socket";
    case 0o020000:
      return "char-device";
    case 0o060000:
      return "block-device";
    default:
      return "unknown";
  }
}

/** statx(2) of `path` (or of `fd` when `fd` is given), or the errno. */
function statxC(path: string, fd: number | undefined, follow: boolean): FileInfo | number {
  const buf = new Uint8Array(256);
  const p = cPath(fd === undefined ? path : "");
  const flags = fd === undefined ? (follow ? 0 : AT_SYMLINK_NOFOLLOW) : AT_EMPTY_PATH;
  const r = sys(
    SYS.statx,
    fd === undefined ? AT_FDCWD : BigInt(fd),
    addr(p),
    BigInt(flags),
    STATX_BASIC_STATS,
    addr(buf),
  );
  if (r < 0) return errno();
  const v = new DataView(buf.buffer);
  const mode = v.getUint16(28, true);
  const devMajor = v.getUint32(136, true), devMinor = v.getUint32(140, true);
  return {
    kind: kindOfMode(mode),
    size: Number(v.getBigUint64(40, true)),
    dev: devMajor * 2 ** 20 + devMinor,
    ino: Number(v.getBigUint64(32, true)),
    mtimeMs: Number(v.getBigInt64(112, true)) * 1000 + v.getUint32(120, true) / 1e6,
    mode: mode & 0o7777,
  };
}

function openC(path: string, flags: number): number {
  const p = cPath(path);
  const fd = sys(SYS.openat, AT_FDCWD, addr(p), BigInt(flags | O_CLOEXEC), 0o644n);
  return fd < 0 ? -errno() : fd;
}

/** Opens a regular file for reading: non-blocking open, fstat, then blocking again. */
function openRegularC(path: string, what: string | undefined, max: number): [number, FileInfo] {
  const pre = statxC(path, undefined, true);
  if (typeof pre === "number") throw errnoError("statx", pre, path, "reading", what);
  if (pre.kind !== "file") throw kindError(path, pre.kind, what);
  if (pre.size > max) throw tooLarge(path, pre.size, max, what);
  const fd = openC(path, O_RDONLY | O_NONBLOCK);
  if (fd < 0) throw errnoError("openat", -fd, path, "reading", what);
  const info = statxC("", fd, true);
  if (typeof info === "number" || info.kind !== "file" || info.size > max) {
    libc().close(fd);
    if (typeof info === "number") throw errnoError("statx", info, path, "reading", what);
    throw info.kind !== "file"
      ? kindError(path, info.kind, what)
      : tooLarge(path, info.size, max, what);
  }
  const fl = libc().fcntl(fd, F_GETFL, 0n);
  if (fl >= 0) libc().fcntl(fd, F_SETFL, BigInt(fl & ~O_NONBLOCK));
  return [fd, info];
}

/**
 * Reads to EOF through `read` (0 at EOF) into a buffer sized from `size`
 * (a pseudo-file's 0 or 4096 is only a start), never past `max`. The result
 * is exactly as long as its buffer, like `Deno.readFile`'s.
 */
function readLoop(
  read: (b: Uint8Array<ArrayBuffer>) => number,
  size: number,
  max: number,
  path: string,
  what?: string,
): Uint8Array<ArrayBuffer> {
  let buf = new Uint8Array(Math.min(size, max) || Math.min(4096, max));
  let off = 0;
  for (;;) {
    if (off === buf.length) {
      // Full: at EOF, or the file is longer than stat said.
      const probe = new Uint8Array(1);
      if (read(probe) === 0) return buf;
      if (buf.length >= max) throw tooLarge(path, undefined, max, what);
      const nb = new Uint8Array(Math.min(Math.max(buf.length * 2, 4096), max));
      nb.set(buf);
      nb[off++] = probe[0];
      buf = nb;
      continue;
    }
    const n = read(buf.subarray(off));
    if (n === 0) break;
    off += n;
  }
  return off === buf.length ? buf : buf.slice(0, off);
}

function readFdC(
  fd: number,
  path: string,
  size: number,
  max: number,
  what?: string,
): Uint8Array<ArrayBuffer> {
  return readLoop(
    (b) => {
      for (;;) {
        const n = Number(libc().read(fd, b, BigInt(b.length)));
        if (n >= 0) return n;
        const err = errno();
        if (err !== 4) throw errnoError("read", err, path, "reading", what); // 4: EINTR
      }
    },
    size,
    max,
    path,
    what,
  );
}

// ---- the Deno way ------------------------------------------------------------

function statDeno(path: string, follow: boolean, what?: string): FileInfo {
  let s: Deno.FileInfo;
  try {
    s = follow ? Deno.statSync(path) : Deno.lstatSync(path);
  } catch (e) {
    throw fromDeno(e, "statx", path, "reading", what);
  }
  return infoOfDeno(s);
}

function infoOfDeno(s: Deno.FileInfo): FileInfo {
  const kind: FileKind = s.isFile
    ? "file"
    : s.isDirectory
    ? "directory"
    : s.isSymlink
    ? "symlink"
    : s.isFifo
    ? "fifo"
    : s.isSocket
    ? "socket"
    : s.isCharDevice
    ? "char-device"
    : s.isBlockDevice
    ? "block-device"
    : "unknown";
  return {
    kind,
    size: s.size,
    dev: s.dev,
    ino: s.ino ?? 0,
    mtimeMs: s.mtime?.getTime() ?? 0,
    mode: (s.mode ?? 0) & 0o7777,
  };
}

function openRegularDeno(path: string, what: string | undefined, max: number): Deno.FsFile {
  const pre = statDeno(path, true, what);
  if (pre.kind !== "file") throw kindError(path, pre.kind, what);
  if (pre.size > max) throw tooLarge(path, pre.size, max, what);
  let f: Deno.FsFile;
  try {
    f = Deno.openSync(path, { read: true });
  } catch (e) {
    throw fromDeno(e, "openat", path, "reading", what);
  }
  const info = infoOfDeno(f.statSync());
  if (info.kind !== "file" || info.size > max) {
    f.close();
    throw info.kind !== "file"
      ? kindError(path, info.kind, what)
      : tooLarge(path, info.size, max, what);
  }
  return f;
}

function readDenoFile(
  f: Deno.FsFile,
  path: string,
  max: number,
  what?: string,
): Uint8Array<ArrayBuffer> {
  return readLoop(
    (b) => {
      try {
        return f.readSync(b) ?? 0;
      } catch (e) {
        throw fromDeno(e, "read", path, "reading", what);
      }
    },
    f.statSync().size,
    max,
    path,
    what,
  );
}

// ---- the API -----------------------------------------------------------------

/**
 * The path of a `string` or `file:` URL (as `Deno.readFile` accepts).
 *
 * @throws {FileError} (`"EINVAL"`) for a URL of another scheme.
 */
export function pathOf(path: string | URL): string {
  if (typeof path === "string") return path;
  if (path.protocol !== "file:") {
    throw new FileError(
      path.href,
      "EINVAL",
      `${path.href} is not a file: URL: give a path or a file: URL`,
    );
  }
  return decodeURIComponent(path.pathname);
}

function maxOf(options: ReadFileOptions): number {
  return options.maxBytes ?? DEFAULT_MAX_FILE_BYTES;
}

/**
 * What `path` is: kind, size, device, inode, modification time. Follows
 * symbolic links unless `options.followSymlinks` is false.
 *
 * @throws {FileNotFoundError} when the path does not exist.
 * @throws {FilePermissionError} on EACCES/EPERM.
 * @throws {FileError} for other failures (ENOTDIR, …).
 */
export function fileInfo(path: string, options: { followSymlinks?: boolean } = {}): FileInfo {
  const follow = options.followSymlinks !== false;
  if (denoMay("read", path)) return statDeno(path, follow);
  needFfi("read", path, "reading");
  const r = statxC(path, undefined, follow);
  if (typeof r === "number") throw errnoError("statx", r, path, "reading");
  return r;
}

/**
 * {@linkcode fileInfo} of a path that must be a regular file (symbolic links
 * followed) of at most `options.maxBytes` bytes: the checks
 * {@linkcode readFile} makes, for callers that hand the path to the kernel
 * (a uprobe target) rather than read it.
 *
 * @throws {FileNotFoundError} when it does not exist.
 * @throws {FileError} for a directory, FIFO, socket or device, or an oversized file.
 */
export function regularFileInfo(path: string, options: ReadFileOptions = {}): FileInfo {
  const info = fileInfo(path);
  if (info.kind !== "file") throw kindError(path, info.kind, options.what);
  const max = maxOf(options);
  if (info.size > max) throw tooLarge(path, info.size, max, options.what);
  return info;
}

/**
 * {@linkcode fileInfo}, or `undefined` when the path does not exist (ENOENT,
 * or ENOTDIR for a path through a file). Other failures still throw.
 */
export function fileInfoIfExists(
  path: string,
  options: { followSymlinks?: boolean } = {},
): FileInfo | undefined {
  try {
    return fileInfo(path, options);
  } catch (e) {
    if (e instanceof FileNotFoundError || (e instanceof FileError && e.code === "ENOTDIR")) {
      return undefined;
    }
    throw e;
  }
}

/** True when `path` exists (a dangling symlink counts as missing); false on any error. */
export function exists(path: string): boolean {
  try {
    fileInfo(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * Reads a whole regular file (or kernel pseudo-file). Refuses directories,
 * FIFOs, sockets and devices, and files over `options.maxBytes`, before
 * reading a byte.
 *
 * @throws {FileNotFoundError} when the file does not exist.
 * @throws {FilePermissionError} on EACCES/EPERM.
 * @throws {FileError} for a non-regular file (`code` `"ENOTREGULAR"`/`"EISDIR"`), a file
 * over the cap (`"ETOOLARGE"`), and other errnos.
 */
export function readFile(path: string, options: ReadFileOptions = {}): Uint8Array<ArrayBuffer> {
  const max = maxOf(options);
  if (denoMay("read", path)) {
    using f = openRegularDeno(path, options.what, max);
    return readDenoFile(f, path, max, options.what);
  }
  needFfi("read", path, "reading");
  const [fd, info] = openRegularC(path, options.what, max);
  try {
    return readFdC(fd, path, info.size, max, options.what);
  } finally {
    libc().close(fd);
  }
}

/**
 * {@linkcode readFile} for async callers: with Deno's permission the bytes
 * are read off the JS thread (after the same checks); otherwise as
 * {@linkcode readFile}.
 */
export async function readFileAsync(
  path: string,
  options: ReadFileOptions = {},
): Promise<Uint8Array<ArrayBuffer>> {
  const max = maxOf(options);
  if (!denoMay("read", path)) return readFile(path, options);
  const f = openRegularDeno(path, options.what, max);
  f.close();
  let bytes: Uint8Array<ArrayBuffer>;
  try {
    bytes = await Deno.readFile(path);
  } catch (e) {
    throw fromDeno(e, "read", path, "reading", options.what);
  }
  if (bytes.length > max) throw tooLarge(path, bytes.length, max, options.what);
  return bytes;
}

/** {@linkcode readFile} decoded as UTF-8. */
export function readTextFile(path: string, options: ReadFileOptions = {}): string {
  return decoder.decode(readFile(path, options));
}

/** {@linkcode readFileAsync} decoded as UTF-8. */
export async function readTextFileAsync(
  path: string,
  options: ReadFileOptions = {},
): Promise<string> {
  return decoder.decode(await readFileAsync(path, options));
}

/**
 * The first `length` bytes of a regular file (fewer if it is shorter), with
 * the checks of {@linkcode readFile}: e.g. an ELF magic check.
 */
export function readFileHead(
  path: string,
  length: number,
  options: ReadFileOptions = {},
): Uint8Array<ArrayBuffer> {
  const max = maxOf(options);
  const buf = new Uint8Array(length);
  let off = 0;
  if (denoMay("read", path)) {
    using f = openRegularDeno(path, options.what, max);
    while (off < length) {
      let n: number | null;
      try {
        n = f.readSync(buf.subarray(off));
      } catch (e) {
        throw fromDeno(e, "read", path, "reading", options.what);
      }
      if (n === null || n === 0) break;
      off += n;
    }
    return buf.subarray(0, off);
  }
  needFfi("read", path, "reading");
  const [fd] = openRegularC(path, options.what, max);
  try {
    while (off < length) {
      const n = Number(libc().read(fd, buf.subarray(off), BigInt(length - off)));
      if (n < 0) throw errnoError("read", errno(), path, "reading", options.what);
      if (n === 0) break;
      off += n;
    }
  } finally {
    libc().close(fd);
  }
  return buf.subarray(0, off);
}

/**
 * Writes `text` to `path` in one write(2) (as tracefs `kprobe_events` and
 * `uprobe_events` need: one command per write). Truncates unless
 * `options.append`; creates only with `options.create`. Only regular files
 * are written. The kernel's errno comes back as the error's `errno`/`code`
 * (`FileError`, `FileNotFoundError` or `FilePermissionError`).
 */
export function writeTextFile(path: string, text: string, options: WriteFileOptions = {}): void {
  const bytes = encoder.encode(text);
  const what = options.what;
  if (denoMay("write", path)) {
    const pre = fileInfoIfExistsDeno(path, what);
    if (pre && pre.kind !== "file") throw kindError(path, pre.kind, what);
    let f: Deno.FsFile;
    try {
      f = Deno.openSync(path, {
        write: true,
        append: options.append === true,
        truncate: options.append !== true,
        create: options.create === true,
      });
    } catch (e) {
      throw fromDeno(e, "openat", path, "writing", what);
    }
    try {
      const n = f.writeSync(bytes);
      if (n !== bytes.length) throw shortWrite(path, n, bytes.length, what);
    } catch (e) {
      throw e instanceof FileError ? e : fromDeno(e, "write", path, "writing", what);
    } finally {
      f.close();
    }
    return;
  }
  needFfi("write", path, "writing");
  const pre = statxC(path, undefined, true);
  if (typeof pre !== "number" && pre.kind !== "file") throw kindError(path, pre.kind, what);
  const flags = O_WRONLY | O_NONBLOCK | (options.append ? O_APPEND : O_TRUNC) |
    (options.create ? O_CREAT : 0);
  const fd = openC(path, flags);
  if (fd < 0) throw errnoError("openat", -fd, path, "writing", what);
  try {
    const info = statxC("", fd, true);
    if (typeof info === "number") throw errnoError("statx", info, path, "writing", what);
    if (info.kind !== "file") throw kindError(path, info.kind, what);
    const n = Number(libc().write(fd, bytes, BigInt(bytes.length)));
    if (n < 0) throw errnoError("write", errno(), path, "writing", what);
    if (n !== bytes.length) throw shortWrite(path, n, bytes.length, what);
  } finally {
    libc().close(fd);
  }
}

function fileInfoIfExistsDeno(path: string, what?: string): FileInfo | undefined {
  try {
    return statDeno(path, true, what);
  } catch (e) {
    if (e instanceof FileNotFoundError) return undefined;
    throw e;
  }
}

function shortWrite(path: string, n: number, want: number, what?: string): FileError {
  return new FileError(
    path,
    "EIO",
    `writing ${label(what, path)}: only ${n} of ${want} bytes were written`,
  );
}

/**
 * Removes a file (unlink(2); not a directory): e.g. a bpffs pin.
 *
 * @throws {FileNotFoundError} when it does not exist.
 * @throws {FilePermissionError} on EACCES/EPERM.
 * @throws {FileError} for a directory (`"EISDIR"`) and other errnos.
 */
export function removeFile(path: string, options: { what?: string } = {}): void {
  const what = options.what;
  if (denoMay("write", path)) {
    const info = statDeno(path, false, what);
    if (info.kind === "directory") throw kindError(path, "directory", what);
    try {
      Deno.removeSync(path);
    } catch (e) {
      throw fromDeno(e, "unlinkat", path, "removing", what);
    }
    return;
  }
  needFfi("write", path, "removing");
  const p = cPath(path);
  if (sys(SYS.unlinkat, AT_FDCWD, addr(p), 0n) < 0) {
    throw errnoError("unlinkat", errno(), path, "removing", what);
  }
}

const DT: Record<number, FileKind> = {
  1: "fifo",
  2: "char-device",
  4: "directory",
  6: "block-device",
  8: "file",
  10: "symlink",
  12: "socket",
};

/**
 * The entries of a directory (without `.` and `..`), in the order the
 * file system gives them.
 *
 * @throws {FileNotFoundError} when it does not exist.
 * @throws {FilePermissionError} on EACCES/EPERM.
 * @throws {FileError} when it is not a directory (`"ENOTDIR"`) and for other errnos.
 */
export function readDir(path: string): DirEntry[] {
  const out: DirEntry[] = [];
  if (denoMay("read", path)) {
    try {
      for (const e of Deno.readDirSync(path)) {
        let kind: FileKind = e.isDirectory
          ? "directory"
          : e.isFile
          ? "file"
          : e.isSymlink
          ? "symlink"
          : "unknown";
        if (kind === "unknown") {
          kind = fileInfoIfExists(`${path}/${e.name}`, { followSymlinks: false })?.kind ??
            "unknown";
        }
        out.push({ name: e.name, kind });
      }
    } catch (e) {
      throw fromDeno(e, "getdents64", path, "listing", "directory");
    }
    return out;
  }
  needFfi("read", path, "listing");
  const fd = openC(path, O_RDONLY | O_DIRECTORY | O_NONBLOCK);
  if (fd < 0) throw errnoError("openat", -fd, path, "listing", "directory");
  try {
    const buf = new Uint8Array(32768);
    const v = new DataView(buf.buffer);
    for (;;) {
      const n = sys(SYS.getdents64, BigInt(fd), addr(buf), BigInt(buf.length));
      if (n < 0) throw errnoError("getdents64", errno(), path, "listing", "directory");
      if (n === 0) break;
      for (let off = 0; off < n;) {
        const reclen = v.getUint16(off + 16, true);
        const type = buf[off + 18];
        let end = off + 19;
        while (end < off + reclen && buf[end] !== 0) end++;
        const name = decoder.decode(buf.subarray(off + 19, end));
        off += reclen;
        if (name === "." || name === "..") continue;
        let kind = DT[type] ?? "unknown";
        if (kind === "unknown") {
          const s = statxC(`${path}/${name}`, undefined, false);
          if (typeof s !== "number") kind = s.kind;
        }
        out.push({ name, kind });
      }
    }
  } finally {
    libc().close(fd);
  }
  return out;
}

/** The names in a directory (see {@linkcode readDir}). */
export function readDirNames(path: string): string[] {
  return readDir(path).map((e) => e.name);
}

/**
 * The target of a symbolic link (e.g. `/proc/self/fd/N` → `anon_inode:bpf-map`).
 *
 * @throws {FileNotFoundError} when it does not exist; {@linkcode FileError} (`"EINVAL"`) when
 * it is not a link.
 */
export function readLink(path: string): string {
  if (denoMay("read", path)) {
    try {
      return Deno.readLinkSync(path);
    } catch (e) {
      throw fromDeno(e, "readlinkat", path, "reading link");
    }
  }
  needFfi("read", path, "reading link");
  const p = cPath(path);
  const buf = new Uint8Array(4096);
  const n = sys(SYS.readlinkat, AT_FDCWD, addr(p), addr(buf), BigInt(buf.length));
  if (n < 0) throw errnoError("readlinkat", errno(), path, "reading link");
  return decoder.decode(buf.subarray(0, n));
}

/**
 * The absolute, canonical path of `path` (symbolic links resolved).
 *
 * @throws {FileNotFoundError} when it does not exist.
 */
export function realPath(path: string): string {
  if (denoMay("read", path)) {
    try {
      return Deno.realPathSync(path);
    } catch (e) {
      throw fromDeno(e, "realpath", path, "resolving");
    }
  }
  needFfi("read", path, "resolving");
  const p = cPath(path);
  const buf = new Uint8Array(4097);
  const r = libc().realpath(p, buf);
  if (r === null) throw errnoError("realpath", errno(), path, "resolving");
  const end = buf.indexOf(0);
  return decoder.decode(buf.subarray(0, end < 0 ? buf.length : end));
}
