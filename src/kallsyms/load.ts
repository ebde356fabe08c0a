/**
 * Reading `<root>/proc/kallsyms`, with a per-root cache, and one-call
 * helpers on top of it.
 *
 * @module
 */

import { readFile, readFileAsync } from "../sys/file.ts";
import { Kallsyms, type KallsymsParseOptions, type KallsymsSymbol } from "./kallsyms.ts";

/** Options of every function that reads kallsyms from the file system. */
export interface KallsymsOptions extends KallsymsParseOptions {
  /**
   * The file-system root: `<root>/proc/kallsyms` is read. Defaults to `"/"`.
   * Useful for fixtures and for a host root mounted in a container.
   */
  root?: string;
  /**
   * When false, read the file anew and leave the cache alone (e.g. after
   * modules were loaded). Defaults to true: one table per root (and
   * strictness) is kept until {@link clearKallsymsCache}.
   */
  cache?: boolean;
}

interface CacheEntry {
  value?: Kallsyms;
  promise?: Promise<Kallsyms>;
}

const cache = new Map<string, CacheEntry>();

/** Normalizes a root: no trailing slash except for "/" itself; "" counts as "/". */
function normalizeRoot(root: string | undefined): string {
  let r = root ?? "/";
  while (r.length > 1 && r.endsWith("/")) r = r.slice(0, -1);
  return r === "" ? "/" : r;
}

/** The kallsyms path under a root. */
export function kallsymsPath(options?: { root?: string }): string {
  const r = normalizeRoot(options?.root);
  return r === "/" ? "/proc/kallsyms" : `${r}/proc/kallsyms`;
}

function cacheKey(options?: KallsymsOptions): string {
  return `${options?.strict === false ? "lenient" : "strict"}\0${normalizeRoot(options?.root)}`;
}

/**
 * The largest kallsyms text accepted: 512 MiB (a kernel with many modules
 * has some hundreds of thousands of lines, tens of MiB).
 */
const MAX_KALLSYMS_BYTES = 512 * 1024 * 1024;

function readOptions() {
  return { maxBytes: MAX_KALLSYMS_BYTES, what: "kallsyms file" };
}

/**
 * Async read. `/proc/kallsyms` is a seq_file that returns at most a page per
 * read() (about 1300 reads for 122k symbols); with Deno's read permission the
 * read-until-EOF loop runs off the JS thread in `Deno.readFile` (after the
 * checks of src/sys/file.ts), and the bytes are then parsed in one pass.
 */
async function readAsync(options?: KallsymsOptions): Promise<Kallsyms> {
  const bytes = await readFileAsync(kallsymsPath(options), readOptions());
  return Kallsyms.fromBytes(bytes, options);
}

/** Sync read: the whole file (page-sized reads until EOF), then one parse. */
function readSync(options?: KallsymsOptions): Kallsyms {
  return Kallsyms.fromBytes(readFile(kallsymsPath(options), readOptions()), options);
}

/**
 * Reads and parses `<root>/proc/kallsyms` (see {@link KallsymsOptions}),
 * returning the cached table for that root when there is one. Concurrent
 * calls for one root share one read.
 *
 * @throws {FileNotFoundError} (a `NotFoundError`) when the file does not exist.
 * @throws {ParseError} on malformed text (strict mode).
 * @throws {FilePermissionError} when it may not be read; `FileError` when it is
 * not a regular file or is implausibly large.
 */
export function loadKallsyms(options?: KallsymsOptions): Promise<Kallsyms> {
  if (options?.cache === false) return readAsync(options);
  const key = cacheKey(options);
  let entry = cache.get(key);
  if (entry?.value) return Promise.resolve(entry.value);
  if (entry?.promise) return entry.promise;
  entry = {};
  const e = entry;
  cache.set(key, e);
  e.promise = readAsync(options).then(
    (k) => {
      if (cache.get(key) === e) {
        e.value ??= k;
        e.promise = undefined;
        return e.value;
      }
      return k;
    },
    (err) => {
      if (cache.get(key) === e) cache.delete(key);
      throw err;
    },
  );
  return e.promise;
}

/** The synchronous {@link loadKallsyms}; shares its cache. */
export function loadKallsymsSync(options?: KallsymsOptions): Kallsyms {
  if (options?.cache === false) return readSync(options);
  const key = cacheKey(options);
  const entry = cache.get(key);
  if (entry?.value) return entry.value;
  const k = readSync(options);
  if (entry) entry.value = k;
  else cache.set(key, { value: k });
  return k;
}

/**
 * Drops cached tables: those of one root when `options.root` is given (both
 * strict and lenient), else all of them.
 */
export function clearKallsymsCache(options?: { root?: string }): void {
  if (options?.root === undefined) {
    cache.clear();
    return;
  }
  const root = normalizeRoot(options.root);
  for (const key of [...cache.keys()]) {
    if (key.slice(key.indexOf("\0") + 1) === root) cache.delete(key);
  }
}

/**
 * The address of kernel symbol `name` ({@link Kallsyms.address} on the
 * cached table of the root).
 *
 * @throws {NotFoundError} when absent.
 * @throws {RestrictedAddressError} when addresses are hidden (all zero).
 * @throws {AmbiguousSymbolError} when listed at several different addresses.
 */
export async function symbolAddress(name: string, options?: KallsymsOptions): Promise<bigint> {
  return (await loadKallsyms(options)).address(name);
}

/**
 * The module holding `name`, undefined for vmlinux ({@link Kallsyms.module}:
 * vmlinux wins over modules, as in the kernel's own lookup).
 *
 * @throws {NotFoundError} when absent.
 * @throws {AmbiguousSymbolError} when only modules have it and more than one does.
 */
export async function symbolModule(
  name: string,
  options?: KallsymsOptions,
): Promise<string | undefined> {
  return (await loadKallsyms(options)).module(name);
}

/**
 * Every distinct owner of `name` in file order, `undefined` standing for
 * vmlinux ({@link Kallsyms.modules}); empty when absent.
 */
export async function symbolModules(
  name: string,
  options?: KallsymsOptions,
): Promise<(string | undefined)[]> {
  return (await loadKallsyms(options)).modules(name);
}

/** Every entry of a module (`undefined`: vmlinux), in file order ({@link Kallsyms.symbolsOf}). */
export async function symbolsOf(
  module: string | undefined,
  options?: KallsymsOptions,
): Promise<KallsymsSymbol[]> {
  return (await loadKallsyms(options)).symbolsOf(module);
}
