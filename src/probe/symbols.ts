/**
 * Addresses as bpftrace prints them: `ksym(addr)` and kernel stack frames
 * through /proc/kallsyms, `usym(addr)` and user stack frames through the
 * ELF symbol tables of the objects mapped in the process (its
 * /proc/PID/maps, with PIE and shared-library load offsets), the way the
 * BCC symbolizer under bpftrace v0.17 finds them:
 *
 * - kernel: the nearest kallsyms entry at or below the address, data
 *   symbols (b, d, r) left out; `name` for `ksym()`, `name+offset` in
 *   stacks;
 * - user: the executable mappings of the process; for a shared object or
 *   PIE the address is made a file address through the mapping's offset
 *   and the file's program headers; the symbol is the one whose
 *   `[value, value + size)` holds it, from `.symtab`, `.dynsym` and the
 *   separate debug file (`/usr/lib/debug/.build-id/…` or the
 *   `.gnu_debuglink` one) when there is one;
 * - an address nothing holds prints as `0x…` (and `0` for 0).
 *
 * - `_Z` (C++) names demangled as `abi::__cxa_demangle` writes them
 *   ({@linkcode demangle}), as BCC demangles them for bpftrace;
 * - JIT code through the process's `/tmp/perf-PID.map` (PID as the process
 *   sees itself, under its root), the way BCC reads it: `START SIZE NAME`
 *   lines in hex, consulted for any address no mapped file's symbol holds,
 *   printed with the map file as the module in perf mode;
 * - the vDSO's frames stay `0x…` as bpftrace 0.17 prints them; with the
 *   `vdso` option they resolve through the vDSO image (the one this process
 *   has mapped, as BCC uses its own, when the target's `[vdso]` is the same
 *   size), e.g. `__vdso_clock_gettime+65`.
 *
 * Symbol tables are read once per file (by device, inode and modification
 * time) and kept until {@linkcode clearSymbolCaches}. Not done: the debug
 * link's CRC check.
 *
 * ```ts ignore
 * import { kstackFrames, resolveKsym, ustackFrames } from "@denobpf/ebpf/probe";
 *
 * resolveKsym(0xffffffff8223c8e0n); // "do_syscall_64"
 * ustackFrames([0x55d0c4a01139n], pid); // ["leaf+9"]
 * ```
 *
 * @module
 */

import { type ElfFile, parseElf, readElfFile } from "../elf/elf_file.ts";
import { ElfType, GnuNoteType, SectionType, SegmentType } from "../elf/constants.ts";
import type { Kallsyms } from "../kallsyms/kallsyms.ts";
import { loadKallsyms } from "../kallsyms/load.ts";
import { fileInfo, readFile, readLink, readTextFile } from "../sys/file.ts";
import { demangle } from "./demangle.ts";
import { stdSort } from "./_std_sort.ts";

/** Options of {@linkcode resolveKsym} and {@linkcode resolveUsym}. */
export interface SymbolOptions {
  /** Append `+offset` (as stack frames print); default false, as `ksym()`/`usym()` print. */
  offset?: boolean;
  /** Append ` (module path)`, as bpftrace's perf-mode user stacks print (`usym` only). */
  module?: boolean;
  /** The file-system root whose /proc/kallsyms is read (kernel only; default `"/"`). */
  root?: string;
  /**
   * Resolve addresses in the process's vDSO through its ELF image (user
   * only); default false, as bpftrace 0.17 prints them as `0x…`.
   */
  vdso?: boolean;
}

/** An address nothing resolves, as bpftrace prints it (C++'s `(void*)addr`: `0` or `0x…`). */
export function unknownAddress(address: bigint): string {
  return address === 0n ? "0" : `0x${BigInt.asUintN(64, address).toString(16)}`;
}

// ---------------------------------------------------------------- sorted symbol tables

/** Symbols sorted by start (stable), as parallel arrays. */
interface SymbolTable {
  starts: Float64Array;
  sizes: Float64Array;
  names: string[];
}

interface RawSymbol {
  start: number;
  size: number;
  name: string;
}

/**
 * Symbols sorted by start: stably for kallsyms; for user objects as BCC's
 * `std::sort` orders them (`bcc`), which decides the alias printed.
 */
function tableOf(symbols: RawSymbol[], bcc = false): SymbolTable {
  let sorted: RawSymbol[];
  if (bcc) {
    sorted = symbols.slice();
    stdSort(sorted, (s) => s.start);
  } else {
    sorted = symbols.map((s, i) => ({ s, i })).sort((a, b) => a.s.start - b.s.start || a.i - b.i)
      .map((x) => x.s);
  }
  return {
    starts: Float64Array.from(sorted, (s) => s.start),
    sizes: Float64Array.from(sorted, (s) => s.size),
    names: sorted.map((s) => s.name),
  };
}

/** Index of the first symbol starting after `at` (upper bound). */
function upperBound(t: SymbolTable, at: number): number {
  let a = 0;
  let b = t.starts.length;
  while (a < b) {
    const m = (a + b) >>> 1;
    if (t.starts[m] <= at) a = m + 1;
    else b = m;
  }
  return a;
}

// ---------------------------------------------------------------- kernel

/**
 * Kernel symbols lie at or above this (BCC skips the rest: x86_64's per-CPU
 * offsets, absolute symbols near 0).
 */
const KERNEL_SPACE = Deno.build.arch === "x86_64" ? 0x00ffffffffffffffn : 1n;
const DATA_TYPES = new Set(["b", "B", "d", "D", "r", "R"]);

/** Kernel addresses are above 2^53: the fallback table keeps them as offsets from the lowest one. */
interface KernelTable extends SymbolTable {
  base: bigint;
}

/** Tables of text symbols only, by root: built when an address lands on a data symbol. */
const textTables = new Map<string, KernelTable>();

function loadTable(root: string | undefined): Kallsyms | undefined {
  try {
    const ks = loadKallsyms(root === undefined ? {} : { root });
    return ks.restricted ? undefined : ks;
  } catch {
    return undefined; // unreadable: every address prints as 0x…
  }
}

function textTable(ks: Kallsyms, root: string | undefined): KernelTable {
  const key = root ?? "/";
  const cached = textTables.get(key);
  if (cached) return cached;
  const raw: { address: bigint; name: string }[] = [];
  for (const s of ks) {
    if (s.address >= KERNEL_SPACE && !DATA_TYPES.has(s.type)) raw.push(s);
  }
  const base = raw.reduce((m, s) => (s.address < m ? s.address : m), raw[0]?.address ?? 0n);
  const t = tableOf(raw.map((s) => ({ start: Number(s.address - base), size: 0, name: s.name })));
  const table = { ...t, base };
  textTables.set(key, table);
  return table;
}

/** The nearest text symbol at or below `address` (BCC's rule) and the offset into it. */
function kernelSymbol(
  address: bigint,
  root: string | undefined,
): { name: string; offset: bigint } | undefined {
  if (address < KERNEL_SPACE || address === 0xffff_ffff_ffff_ffffn) return undefined;
  const ks = loadTable(root);
  const hit = ks?.symbolize(address);
  if (!ks || !hit || hit.symbol.address < KERNEL_SPACE) return undefined;
  if (!DATA_TYPES.has(hit.symbol.type)) return { name: hit.symbol.name, offset: hit.offset };
  // A data symbol: BCC leaves those out, so the text symbol before it is the answer.
  const t = textTable(ks, root);
  const rel = address - t.base;
  const i = rel < 0n ? -1 : upperBound(t, Number(rel)) - 1;
  return i < 0 ? undefined : { name: t.names[i], offset: rel - BigInt(t.starts[i]) };
}

/**
 * A kernel address as bpftrace prints `ksym(addr)` (`name`), or with
 * `offset` as a kernel stack frame (`name+off`); `0x…` when it is below
 * every kernel symbol (or kallsyms hides the addresses).
 */
export function resolveKsym(address: bigint, options: SymbolOptions = {}): string {
  const s = kernelSymbol(address, options.root);
  if (!s) return unknownAddress(address);
  return options.offset ? `${s.name}+${s.offset}` : s.name;
}

/** Options of {@linkcode kstackFrames} and {@linkcode ustackFrames}. */
export interface StackFramesOptions {
  /**
   * bpftrace's perf mode (`kstack(perf)`): each frame `"<hex addr> <sym+off>"`,
   * user frames with ` (module path)` or ` ([unknown])` after.
   */
  perf?: boolean;
  /** The file-system root whose /proc/kallsyms is read (kernel only; default `"/"`). */
  root?: string;
  /** Resolve vDSO frames (user only; see {@linkcode SymbolOptions.vdso}); default false. */
  vdso?: boolean;
}

function perfFrame(ip: bigint, sym: string): string {
  return `${BigInt.asUintN(64, ip).toString(16)} ${sym}`;
}

/**
 * Kernel stack frames as bpftrace prints them (`name+off`, one per
 * address, up to the first 0).
 */
export function kstackFrames(ips: Iterable<bigint>, options: StackFramesOptions = {}): string[] {
  const frames: string[] = [];
  for (const ip of ips) {
    if (ip === 0n) break;
    const sym = resolveKsym(ip, { offset: true, root: options.root });
    frames.push(options.perf ? perfFrame(ip, sym) : sym);
  }
  return frames;
}

// ---------------------------------------------------------------- user

/** One object mapped executable in a process, or its perf map (every address), or its vDSO. */
interface Mapping {
  start: bigint;
  end: bigint;
  offset: bigint;
  path: string;
  /** Where the symbols come from, when not the file at `path`. */
  source?: "perf-map" | "vdso";
  /** The perf map as this process reads it (under /proc/PID/root). */
  file?: string;
}

/** A mapped file's symbols and how its file offsets become its addresses. */
interface ObjectSymbols {
  /** ET_DYN (shared object or PIE): addresses are relative to the load base. */
  relocatable: boolean;
  /** PT_LOAD segments: file offset range → vaddr. */
  loads: { offset: bigint; filesz: bigint; vaddr: bigint }[];
  /** `.text`'s address minus its file offset (BCC's rule, when no segment holds the offset). */
  textBias?: bigint;
  table: SymbolTable;
}

const objects = new Map<string, ObjectSymbols | null>();

/** One line of /proc/PID/maps. */
export interface ProcMapping {
  /** First address. */
  start: bigint;
  /** First address past the mapping. */
  end: bigint;
  /** Permissions, as `r-xp`. */
  perms: string;
  /** Offset of the mapping in the file. */
  offset: bigint;
  /** Device, as `fe:00`. */
  dev: string;
  /** Inode (0 for anonymous mappings). */
  inode: number;
  /** The path or pseudo-name (`[heap]`), "" for none. */
  path: string;
}

const MAPS_LINE =
  /^([0-9a-f]{1,16})-([0-9a-f]{1,16}) ([-rwxps]{4}) ([0-9a-f]{1,16}) ([0-9a-f]+:[0-9a-f]+) (\d{1,20}) *(.*)$/;

/**
 * Parses /proc/PID/maps text: one {@linkcode ProcMapping} per well-formed
 * line, in order; lines that are not (a truncated read, garbage) are
 * skipped.
 */
export function parseProcMaps(text: string): ProcMapping[] {
  const out: ProcMapping[] = [];
  for (const line of text.split("\n")) {
    const m = MAPS_LINE.exec(line);
    if (!m) continue;
    out.push({
      start: BigInt(`0x${m[1]}`),
      end: BigInt(`0x${m[2]}`),
      perms: m[3],
      offset: BigInt(`0x${m[4]}`),
      dev: m[5],
      inode: Number(m[6]),
      path: m[7],
    });
  }
  return out;
}

/** Names of mappings that are not a file (BCC's bcc_mapping_is_file_backed). */
const NOT_FILES = ["//anon", "/dev/zero", "/anon_hugepage", "/SYSV"];

/**
 * The executable, file-backed mappings of a process (BCC's rule), from
 * /proc/PID/maps, then its perf map (BCC adds it last, for every address);
 * with `vdso`, its `[vdso]` too.
 */
function mappingsOf(pid: number, vdso = false): Mapping[] {
  let text: string;
  try {
    text = readTextFile(`/proc/${pid}/maps`, { maxBytes: 64 << 20, what: "process maps" });
  } catch {
    return []; // the process is gone: nothing resolves, as in bpftrace
  }
  const maps: Mapping[] = parseProcMaps(text).filter((m) =>
    m.perms[2] === "x" && (
      (m.path.startsWith("/") && !NOT_FILES.some((p) => m.path.startsWith(p))) ||
      (vdso && m.path === "[vdso]")
    )
  ).map((m) => m.path === "[vdso]" ? { ...m, source: "vdso" as const } : m);
  const perfMap = perfMapOf(pid);
  if (perfMap) maps.push({ start: 0n, end: 1n << 64n, offset: 0n, ...perfMap });
  return maps;
}

/** The process's id in its own pid namespace (BCC's bcc_perf_map_nstgid). */
function nsTgid(pid: number): number {
  let tgid = pid;
  try {
    const status = readTextFile(`/proc/${pid}/status`, {
      maxBytes: 1 << 20,
      what: "process status",
    });
    for (const line of status.split("\n")) {
      const m = /^(?:NS)?[Tt]gid:.*\t(\d+)\s*$/.exec(line);
      if (m) tgid = Number(m[1]); // NStgid comes after Tgid; its last number is the innermost
    }
  } catch {
    // gone: the pid as given
  }
  return tgid;
}

/** BCC's perf map path (the process's root as a path here, then /tmp/perf-NSPID.map), and where to read it. */
function perfMapOf(pid: number): { path: string; file: string; source: "perf-map" } | undefined {
  let root: string;
  try {
    root = readLink(`/proc/${pid}/root`);
  } catch {
    return undefined;
  }
  const name = `/tmp/perf-${nsTgid(pid)}.map`;
  return {
    path: `${root === "/" ? "" : root}${name}`,
    file: `/proc/${pid}/root${name}`,
    source: "perf-map",
  };
}

/**
 * A perf map's symbols (`START SIZE NAME` per line, hex, as JITs write
 * them): lines BCC skips (no start, no size, a bad separator) are skipped.
 */
export function parsePerfMap(text: string): { start: bigint; size: bigint; name: string }[] {
  const out: { start: bigint; size: bigint; name: string }[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*(?:0[xX])?([0-9a-fA-F]{1,16}) \s*(?:0[xX])?([0-9a-fA-F]{1,16}) \s*(.*)$/.exec(
      line,
    );
    if (!m) continue;
    const start = BigInt(`0x${m[1]}`);
    if (start === 0n) continue;
    out.push({ start, size: BigInt(`0x${m[2]}`), name: m[3] });
  }
  return out;
}

function loadPerfMap(file: string): ObjectSymbols | null {
  let text: string;
  try {
    text = new TextDecoder().decode(readFile(file, { maxBytes: 256 << 20, what: "perf map" }));
  } catch {
    return null;
  }
  return {
    relocatable: false,
    loads: [],
    table: tableOf(
      parsePerfMap(text).map((s) => ({
        start: Number(s.start),
        size: Number(s.size),
        name: s.name,
      })),
      true,
    ),
  };
}

/** AT_SYSINFO_EHDR: where the vDSO's ELF header is mapped. */
const AT_SYSINFO_EHDR = 33n;
let vdsoImage: { size: bigint; symbols: ObjectSymbols } | null | undefined;

/**
 * This process's vDSO (BCC reads its own too): its image copied from
 * memory at AT_SYSINFO_EHDR (/proc/self/auxv), the size of its `[vdso]`
 * mapping; `null` where that cannot be read.
 */
function ownVdso(): { size: bigint; symbols: ObjectSymbols } | null {
  if (vdsoImage !== undefined) return vdsoImage;
  vdsoImage = null;
  try {
    const auxv = readFile("/proc/self/auxv", { maxBytes: 1 << 16, what: "auxiliary vector" });
    const view = new DataView(auxv.buffer, auxv.byteOffset, auxv.byteLength);
    let base = 0n;
    for (let o = 0; o + 16 <= auxv.length; o += 16) {
      if (view.getBigUint64(o, true) === AT_SYSINFO_EHDR) base = view.getBigUint64(o + 8, true);
    }
    const own = mappingsOf(Deno.pid, true).find((m) => m.source === "vdso" && m.start === base);
    if (base === 0n || !own) return null;
    const size = own.end - own.start;
    const ptr = Deno.UnsafePointer.create(base);
    if (!ptr) return null;
    const bytes = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(ptr, Number(size))).slice();
    vdsoImage = { size, symbols: objectSymbolsOf(parseElf(bytes)) };
  } catch {
    vdsoImage = null;
  }
  return vdsoImage;
}

function symbolsOf(elf: ElfFile): RawSymbol[] {
  const out: RawSymbol[] = [];
  for (const s of elf.sections) {
    if (s.type !== SectionType.SYMTAB && s.type !== SectionType.DYNSYM) continue;
    let syms;
    try {
      syms = elf.symbolTable(s);
    } catch {
      continue;
    }
    for (const sym of syms) {
      if (sym.name === "" || sym.value === 0n) continue;
      out.push({ start: Number(sym.value), size: Number(sym.size), name: sym.name });
    }
  }
  return out;
}

function buildId(elf: ElfFile): string | undefined {
  try {
    const note = elf.notes().find((n) => n.name === "GNU" && n.type === GnuNoteType.BUILD_ID);
    return note && Array.from(note.desc, (b) => b.toString(16).padStart(2, "0")).join("");
  } catch {
    return undefined;
  }
}

/** The separate debug file: by build id, then by `.gnu_debuglink` (GDB's and BCC's order). */
function debugFileOf(elf: ElfFile, path: string): ElfFile | undefined {
  const candidates: string[] = [];
  const id = buildId(elf);
  if (id && id.length > 2) {
    candidates.push(`/usr/lib/debug/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`);
  }
  const link = elf.section(".gnu_debuglink");
  if (link) {
    const end = link.indexOf(0);
    const name = new TextDecoder().decode(link.subarray(0, end < 0 ? link.length : end));
    const dir = path.slice(0, path.lastIndexOf("/") + 1);
    if (name) {
      candidates.push(`${dir}${name}`, `${dir}.debug/${name}`, `/usr/lib/debug${dir}${name}`);
    }
  }
  for (const c of candidates) {
    if (c === path) continue;
    try {
      return readElfFile(c);
    } catch {
      // not there
    }
  }
  return undefined;
}

function loadObject(path: string): ObjectSymbols | null {
  let elf: ElfFile;
  try {
    elf = readElfFile(path);
  } catch {
    return null;
  }
  return objectSymbolsOf(elf, debugFileOf(elf, path));
}

function objectSymbolsOf(elf: ElfFile, debug?: ElfFile): ObjectSymbols {
  const text = elf.sectionHeader(".text");
  return {
    relocatable: elf.header.type === ElfType.DYN,
    loads: elf.programHeaders.filter((p) => p.type === SegmentType.LOAD).map((p) => ({
      offset: BigInt(p.offset),
      filesz: BigInt(p.filesz),
      vaddr: p.vaddr,
    })),
    textBias: text ? text.addr - BigInt(text.offset) : undefined,
    table: tableOf([...(debug ? symbolsOf(debug) : []), ...symbolsOf(elf)], true),
  };
}

/** The symbols of a mapping: its file's, its perf map's or the vDSO's. */
function objectOf(pid: number, m: Mapping): ObjectSymbols | null {
  if (m.source === "vdso") {
    const own = ownVdso();
    return own && own.size === m.end - m.start ? own.symbols : null;
  }
  if (m.source !== "perf-map") return objectAt(pid, m.path);
  let key: string;
  try {
    const info = fileInfo(m.file!);
    key = `perf-map:${info.dev}:${info.ino}:${info.mtimeMs}:${info.size}`;
  } catch {
    return null; // no perf map: BCC's module then has no symbols
  }
  if (!objects.has(key)) objects.set(key, loadPerfMap(m.file!));
  return objects.get(key)!;
}

/** The symbols of the file at `path` (through the process's root), cached by device and inode. */
function objectAt(pid: number, path: string): ObjectSymbols | null {
  const rooted = `/proc/${pid}/root${path}`;
  let file = rooted;
  let key: string;
  try {
    const info = fileInfo(rooted);
    key = `${info.dev}:${info.ino}:${info.mtimeMs}`;
  } catch {
    try {
      const info = fileInfo(path);
      key = `${info.dev}:${info.ino}:${info.mtimeMs}`;
      file = path;
    } catch {
      return null;
    }
  }
  if (!objects.has(key)) objects.set(key, loadObject(file));
  return objects.get(key)!;
}

/** The file address (as its symbols give them) of a process address in a mapping of it. */
function fileAddress(o: ObjectSymbols, m: Mapping, address: bigint): bigint {
  if (!o.relocatable) return address;
  const fileOffset = address - m.start + m.offset;
  const load = o.loads.find((l) => fileOffset >= l.offset && fileOffset < l.offset + l.filesz);
  if (load) return load.vaddr + (fileOffset - load.offset);
  return fileOffset + (o.textBias ?? 0n);
}

/** BCC's lookup: the last symbol at or below, or one before it whose range still holds the address. */
function findSymbol(t: SymbolTable, at: number): { name: string; offset: number } | undefined {
  let i = upperBound(t, at) - 1;
  if (i < 0) return undefined;
  const limit = t.starts[i];
  for (; i >= 0 && at >= t.starts[i]; i--) {
    if (at < t.starts[i] + t.sizes[i]) return { name: t.names[i], offset: at - t.starts[i] };
    if (limit > t.starts[i] + t.sizes[i]) break;
  }
  return undefined;
}

/** A user address in the process's mappings: its symbol, offset and object path. */
function resolveIn(
  pid: number,
  maps: Mapping[],
  address: bigint,
): { name?: string; offset?: number; path?: string } {
  // BCC's order: the first mapping holding the address, then (no symbol there) the perf map,
  // which reports the first mapping's path.
  let first: string | undefined;
  for (const m of maps) {
    if (address < m.start || address >= m.end) continue;
    const o = objectOf(pid, m);
    const found = o && findSymbol(o.table, Number(fileAddress(o, m, address)));
    if (found) return { ...found, path: first ?? m.path };
    first ??= m.path;
  }
  return {};
}

/** Demangled names, as stacks repeat them (cleared with the symbol tables, and when large). */
const demangledNames = new Map<string, string>();

function demangled(name: string): string {
  if (!name.startsWith("_Z")) return name;
  let d = demangledNames.get(name);
  if (d === undefined) {
    if (demangledNames.size >= 1 << 16) demangledNames.clear();
    d = demangle(name);
    demangledNames.set(name, d);
  }
  return d;
}

function userText(
  r: { name?: string; offset?: number; path?: string },
  address: bigint,
  options: SymbolOptions,
): string {
  if (r.name === undefined) {
    return unknownAddress(address) + (options.module ? " ([unknown])" : "");
  }
  const name = demangled(r.name);
  return name + (options.offset ? `+${r.offset}` : "") + (options.module ? ` (${r.path})` : "");
}

/**
 * A user address of process `pid` as bpftrace prints `usym(addr)`
 * (`name`), or with `offset` as a user stack frame (`name+off`); `0x…`
 * when no symbol holds it or the process is gone.
 */
export function resolveUsym(address: bigint, pid: number, options: SymbolOptions = {}): string {
  return userText(resolveIn(pid, mappingsOf(pid, options.vdso), address), address, options);
}

/**
 * User stack frames of process `pid` as bpftrace prints them (`name+off`,
 * `0x…` for an address no symbol holds), up to the first 0. The process's
 * mappings are read once for the whole stack.
 */
export function ustackFrames(
  ips: Iterable<bigint>,
  pid: number,
  options: StackFramesOptions = {},
): string[] {
  const maps = mappingsOf(pid, options.vdso);
  const frames: string[] = [];
  for (const ip of ips) {
    if (ip === 0n) break;
    const sym = userText(resolveIn(pid, maps, ip), ip, { offset: true, module: options.perf });
    frames.push(options.perf ? perfFrame(ip, sym) : sym);
  }
  return frames;
}

/**
 * Forgets every ELF symbol table read so far (e.g. after a binary was
 * replaced) and the kernel text tables; /proc/kallsyms itself is cached by
 * `loadKallsyms` (`clearKallsymsCache` of `@denobpf/ebpf/kallsyms`).
 */
export function clearSymbolCaches(): void {
  textTables.clear();
  objects.clear();
  vdsoImage = undefined;
  demangledNames.clear();
}
