/**
 * Where a uprobe goes: the path of a binary or library given by name, and
 * the file offset of a symbol (from `.symtab`, then `.dynsym`), converted
 * from its virtual address through the PT_LOAD program headers, which is
 * what the kernel wants for executables, PIEs and shared libraries alike.
 *
 * @module
 */

import { FileError, InvalidArgumentError, NotFoundError } from "../errors.ts";
import { type ElfFile, type ElfSymbol, MAX_ELF_FILE_BYTES, readElfFile } from "../elf/elf_file.ts";
import { ElfType, SectionIndex, SymbolType } from "../elf/constants.ts";
import {
  fileInfo,
  readDirNames,
  readFileHead,
  readTextFile,
  realPath,
  regularFileInfo,
} from "../sys/file.ts";

/** Directories searched for a library given by name, after `LD_LIBRARY_PATH`. */
export const LIBRARY_DIRS: readonly string[] = [
  "/lib/x86_64-linux-gnu",
  "/usr/lib/x86_64-linux-gnu",
  "/lib/aarch64-linux-gnu",
  "/usr/lib/aarch64-linux-gnu",
  "/lib64",
  "/usr/lib64",
  "/lib",
  "/usr/lib",
  "/usr/local/lib",
];

/**
 * Neither Deno's permission nor --allow-ffi lets us look: rethrown, so that a
 * missing permission never reads as "cannot find" (the error names the flag).
 */
function rethrowNotCapable(e: unknown): void {
  if (e instanceof FileError && e.code === "ENOTCAPABLE") throw e;
}

function isFile(path: string): boolean {
  try {
    return fileInfo(path).kind === "file";
  } catch (e) {
    rethrowNotCapable(e);
    return false;
  }
}

function isElf(path: string): boolean {
  return elfHead(path, 4) !== undefined;
}

/**
 * Whether `path` is an ELF executable or shared object (`e_type` EXEC or
 * DYN), what bpftrace accepts as a uprobe or USDT target. False for a file
 * that is missing, unreadable as ELF or of another kind.
 */
export function isElfProgram(path: string): boolean {
  const b = elfHead(path, 18);
  if (!b) return false;
  const type = b[5] === 2 ? (b[16] << 8) | b[17] : b[16] | (b[17] << 8); // EI_DATA 2: big-endian
  return type === ElfType.EXEC || type === ElfType.DYN;
}

/** The first `n` (≥ 4) bytes of `path` when it has them and starts with the ELF magic. */
function elfHead(path: string, n: number): Uint8Array | undefined {
  try {
    const b = readFileHead(path, n);
    const elf = b.length === n && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
    return elf ? b : undefined;
  } catch (e) {
    rethrowNotCapable(e);
    return undefined;
  }
}

/**
 * An environment variable: through Deno when --allow-env grants it, else
 * from /proc/self/environ (read through the C library with --allow-ffi
 * alone), so `LD_LIBRARY_PATH` and `PATH` count without --allow-env. Without
 * that permission the script cannot have changed the environment, so the
 * one the process started with is the current one.
 */
function env(name: string): string | undefined {
  try {
    if (Deno.permissions.querySync({ name: "env", variable: name }).state === "granted") {
      return Deno.env.get(name);
    }
  } catch {
    // fall back to /proc/self/environ
  }
  return startEnv().get(name);
}

let startEnvCache: Map<string, string> | undefined;

function startEnv(): Map<string, string> {
  if (startEnvCache) return startEnvCache;
  const vars = new Map<string, string>();
  try {
    const text = readTextFile("/proc/self/environ", { what: "environment" });
    for (const entry of text.split("\0")) {
      const eq = entry.indexOf("=");
      if (eq > 0 && !vars.has(entry.slice(0, eq))) {
        vars.set(entry.slice(0, eq), entry.slice(eq + 1));
      }
    }
  } catch {
    // no /proc: the defaults apply
  }
  return startEnvCache = vars;
}

function fromMaps(name: string, pid: number): string | undefined {
  let text: string;
  try {
    text = readTextFile(`/proc/${pid}/maps`);
  } catch {
    return undefined;
  }
  const want = (base: string) =>
    base === name || base.startsWith(`${name}.so`) || base.startsWith(`lib${name}.so`) ||
    base.startsWith(`lib${name}-`);
  for (const line of text.split("\n")) {
    const path = line.split(/\s+/)[5];
    if (!path?.startsWith("/")) continue;
    if (want(path.slice(path.lastIndexOf("/") + 1))) return path;
  }
  return undefined;
}

/** Options of {@linkcode resolveBinaryPath}. */
export interface ResolveOptions {
  /** Look in this process's memory maps first (the library it really loaded). */
  pid?: number;
}

/**
 * The path of a binary or shared library. A path with a `/` is returned as
 * an absolute path; a bare name is looked up in the memory maps of `pid`
 * (if given), then as a library (`LD_LIBRARY_PATH`, the usual library
 * directories; `"c"` finds `libc.so.6`), then in `PATH`.
 *
 * Throws `NotFoundError` naming the places searched.
 */
export function resolveBinaryPath(name: string, options: ResolveOptions = {}): string {
  if (name.length === 0 || name.includes("\0")) {
    throw new InvalidArgumentError(`invalid binary path ${JSON.stringify(name)}`);
  }
  if (name.includes("/")) {
    // A missing path is a FileNotFoundError (a NotFoundError) naming it; a
    // directory, FIFO or device a FileError saying what it is.
    regularFileInfo(name, { what: "uprobe target", maxBytes: MAX_ELF_FILE_BYTES });
    return name.startsWith("/") ? name : realPath(name);
  }
  if (options.pid !== undefined) {
    const p = fromMaps(name, options.pid);
    if (p) return p;
  }
  const libDirs = [...(env("LD_LIBRARY_PATH")?.split(":").filter(Boolean) ?? []), ...LIBRARY_DIRS];
  for (const dir of libDirs) {
    if (isFile(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  // "c" → libc.so.6, "ssl" → libssl.so.3, "libz.so" → libz.so.1
  const stem = name.startsWith("lib") ? name.replace(/\.so.*$/, "") : `lib${name}`;
  for (const dir of libDirs) {
    let entries: string[];
    try {
      entries = readDirNames(dir);
    } catch (e) {
      rethrowNotCapable(e);
      continue;
    }
    // Versioned names first (`libc.so` is often a linker script or a dev symlink).
    const hits = entries.filter((n) => n.startsWith(`${stem}.so`)).sort(
      (a, b) => Number(a === `${stem}.so`) - Number(b === `${stem}.so`) || a.length - b.length,
    );
    const hit = hits.find((n) => isElf(`${dir}/${n}`));
    if (hit) return `${dir}/${hit}`;
  }
  const pathDirs = (env("PATH") ?? "/usr/local/bin:/usr/bin:/bin").split(":").filter(Boolean);
  for (const dir of pathDirs) {
    if (isFile(`${dir}/${name}`)) return `${dir}/${name}`;
  }
  throw new NotFoundError(
    `binary ${name}`,
    `cannot find ${JSON.stringify(name)}: not in ${
      options.pid !== undefined ? `/proc/${options.pid}/maps, ` : ""
    }the library directories (${libDirs.join(", ")}) nor PATH; give its full path`,
  );
}

function isFunctionLike(s: ElfSymbol): boolean {
  return s.type === SymbolType.FUNC || s.type === SymbolType.GNU_IFUNC ||
    s.type === SymbolType.NOTYPE;
}

/** Finds a defined symbol by name in `.symtab`, then `.dynsym`. */
export function findElfSymbol(elf: ElfFile, name: string): ElfSymbol | undefined {
  for (const table of [() => elf.symbols(), () => elf.dynamicSymbols()]) {
    let syms: ElfSymbol[];
    try {
      syms = table();
    } catch {
      continue;
    }
    const defined = syms.filter((s) =>
      s.name === name && s.sectionIndex !== SectionIndex.UNDEF && s.value !== 0n &&
      isFunctionLike(s)
    );
    const best = defined.find((s) => s.type === SymbolType.FUNC) ?? defined[0];
    if (best) return best;
  }
  return undefined;
}

/** Options of {@linkcode addressToFileOffset}. */
export interface FileOffsetOptions {
  /** What the address is, for the error message (default `"address 0x…"`). */
  what?: string;
}

/**
 * The file offset of `address` (a virtual address from the file's own
 * symbols or notes). For relocatable files (which have no segments) the
 * address is returned as is. Throws `NotFoundError` when no PT_LOAD segment
 * holds the address.
 */
export function addressToFileOffset(
  elf: ElfFile,
  address: bigint,
  options: FileOffsetOptions = {},
): bigint {
  const what = options.what ?? `address 0x${address.toString(16)}`;
  if (elf.header.type === ElfType.REL) return address;
  const off = elf.addressToOffset(address);
  if (off === undefined) {
    throw new NotFoundError(
      what,
      `${what}: address 0x${address.toString(16)} lies in no PT_LOAD segment of the file`,
    );
  }
  return BigInt(off);
}

/** What {@linkcode symbolOffset} returns. */
export interface SymbolLocation {
  /** The file offset to probe. */
  offset: bigint;
  /** The symbol's virtual address. */
  address: bigint;
  /** The symbol's size. */
  size: bigint;
}

/**
 * The uprobe offset of function `symbol` in the ELF file at `path` (or an
 * already parsed file). Throws `NotFoundError` when the file has no such
 * defined symbol.
 */
export function symbolOffset(file: string | ElfFile, symbol: string): SymbolLocation {
  const elf = typeof file === "string" ? readElfFile(file) : file;
  const sym = findElfSymbol(elf, symbol);
  const label = typeof file === "string" ? file : "the ELF file";
  if (sym === undefined) {
    throw new NotFoundError(
      `symbol ${symbol}`,
      `${label} defines no function ${symbol} in .symtab or .dynsym` +
        " (a stripped binary keeps only exported symbols)",
    );
  }
  return {
    offset: addressToFileOffset(elf, sym.value, { what: `symbol ${symbol} in ${label}` }),
    address: sym.value,
    size: sym.size,
  };
}
