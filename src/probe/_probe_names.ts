/**
 * Where probe names come from, as bpftrace reads them, and its glob
 * matcher: trace events (`available_events`), traceable kernel functions
 * (`available_filter_functions`, else kallsyms), raw tracepoints and
 * functions in vmlinux BTF, function symbols of ELF files (with their
 * separate debug files, as bcc finds them) and USDT notes. Private to
 * src/probe: `expand.ts` builds on it.
 *
 * @module
 */

import { FileError, FileNotFoundError } from "../errors.ts";
import { PermissionError } from "../sys/error.ts";
import { ENOENT, errnoText } from "../sys/errno.ts";
import { kernelBtfDir, loadKernelModuleSpec, loadKernelSpec } from "../btf/kernel.ts";
import type { Spec } from "../btf/spec.ts";
import { readElfFile } from "../elf/elf_file.ts";
import type { ElfFile } from "../elf/elf_file.ts";
import { SectionIndex, SymbolType } from "../elf/constants.ts";
import { loadKallsyms } from "../kallsyms/load.ts";
import {
  fileInfo,
  readDir,
  readDirNames,
  readFileHead,
  readLink,
  readTextFile,
} from "../sys/file.ts";
import { TracefsNotMountedError } from "../tracefs/errors.ts";
import { type TracefsOptions, tracefsPath } from "../tracefs/mount.ts";
import { readUsdtProbes } from "../uprobe/usdt.ts";

// ---------------------------------------------------------------- glob

/** Whether `s` holds a glob character (`*` or `?`). */
export function hasGlob(s: string): boolean {
  return s.includes("*") || s.includes("?");
}

/** The leftmost index ≥ `from` where `piece` occurs in `s` (`?` matching any character), or -1. */
function findPiece(s: string, piece: string, from: number): number {
  if (!piece.includes("?")) return s.indexOf(piece, from);
  const last = s.length - piece.length;
  outer: for (let i = from; i <= last; i++) {
    for (let j = 0; j < piece.length; j++) {
      const c = piece[j];
      if (c !== "?" && c !== s[i + j]) continue outer;
    }
    return i;
  }
  return -1;
}

/**
 * bpftrace's wildcard match: the pattern is cut at `*`; the pieces must
 * occur in order, each at its leftmost place after the previous one, the
 * first at the start unless the pattern starts with `*`, and the name must
 * end where the last piece ends unless the pattern ends with `*`. So `*`
 * crosses `:` and `/`, and `sched_*e` does not match `sched_process_free`
 * (its first `e` after `sched_` is not the last character), as in bpftrace.
 * `?` matches any one character (bpftrace's parser refuses it).
 */
export function globMatch(pattern: string, name: string): boolean {
  return compileGlob(pattern)(name);
}

/** {@linkcode globMatch} with the pattern cut once, for matching many names. */
export function compileGlob(pattern: string): (name: string) => boolean {
  if (pattern === "") return (name) => name === "";
  const startWild = pattern.startsWith("*");
  const endWild = pattern.endsWith("*");
  const pieces = pattern.split("*").filter((p) => p !== "");
  if (pieces.length === 0) return () => true;
  return (name) => {
    let next = 0;
    if (!startWild && findPiece(name, pieces[0], 0) !== 0) return false;
    for (const piece of pieces) {
      const at = findPiece(name, piece, next);
      if (at < 0) return false;
      next = at + piece.length;
    }
    return endWild || next === name.length;
  };
}

/** Byte order of C++'s `std::set<std::string>` (for ASCII, UTF-16 order is the same). */
export function byteOrder(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

/**
 * The lines of `lines` that match `pattern`, sorted and unique, without the
 * `.part.N` clones (not traceable), as bpftrace's get_matches_in_stream.
 */
export function matchLines(pattern: string, lines: Iterable<string>): string[] {
  const out = new Set<string>();
  const match = compileGlob(pattern);
  for (const line of lines) {
    if (!match(line) || line.includes(".part.")) continue;
    out.add(line);
  }
  return [...out].sort(byteOrder);
}

// ---------------------------------------------------------------- kernel

/** Options of the kernel name sources: the tracefs mount and the file-system root. */
export type NameSourceOptions = TracefsOptions;

/** A tracefs file's lines, or undefined when it cannot be read (the reason in `warn`). */
function tracefsLines(
  file: string,
  options: NameSourceOptions,
  warn?: (message: string) => void,
): string[] | undefined {
  let path = file;
  try {
    path = `${tracefsPath(options)}/${file}`;
    return readTextFile(path, { what: `tracefs ${file}`, maxBytes: 256 * 1024 * 1024 })
      .split("\n").filter((l) => l !== "");
  } catch (e) {
    if (e instanceof TracefsNotMountedError) {
      warn?.(`Could not read symbols from ${file}: tracefs is not mounted`);
      return undefined;
    }
    if (!(e instanceof PermissionError || e instanceof FileNotFoundError)) throw e;
    warn?.(`Could not read symbols from ${path}: ${strerror(e)}`);
    return undefined;
  }
}

/** glibc's strerror text of a read failure, as bpftrace words its warning. */
function strerror(e: PermissionError | FileNotFoundError): string {
  return errnoText(e instanceof PermissionError ? e.errno : ENOENT);
}

/**
 * Every trace event as `group:event`: `available_events`, or the `events/`
 * directories when that file cannot be read.
 */
export function traceEvents(options: NameSourceOptions = {}): string[] {
  const lines = tracefsLines("available_events", options);
  if (lines) return lines;
  const events = `${tracefsPath(options)}/events`;
  const out: string[] = [];
  for (const g of subdirs(events)) {
    for (const e of subdirs(`${events}/${g}`)) out.push(`${g}:${e}`);
  }
  return out;
}

function subdirs(path: string): string[] {
  try {
    return readDir(path).filter((e) => e.kind === "directory").map((e) => e.name);
  } catch (e) {
    if (e instanceof FileNotFoundError) return [];
    throw e;
  }
}

/**
 * The functions kprobes can trace, module column dropped: the lines of
 * `available_filter_functions`; undefined (and a warning worded as
 * bpftrace's) when it cannot be read.
 */
export function filterFunctions(
  options: NameSourceOptions = {},
  warn?: (message: string) => void,
): string[] | undefined {
  const lines = tracefsLines("available_filter_functions", options, warn);
  return lines?.map(stripModule);
}

/** `name [module]` → `name`. */
function stripModule(line: string): string {
  if (!line.endsWith("]")) return line;
  const at = line.lastIndexOf(" [");
  return at < 0 ? line : line.slice(0, at);
}

/** Text symbols of kallsyms (vmlinux and modules), for kprobes when tracefs says nothing. */
export function kallsymsFunctions(options: { root?: string } = {}): string[] {
  const out: string[] = [];
  for (const s of loadKallsyms({ root: options.root })) {
    if (s.type === "t" || s.type === "T") out.push(s.name);
  }
  return out;
}

/** vmlinux BTF, from `<root>/sys/kernel/btf/vmlinux`. */
export function kernelSpec(options: { root?: string } = {}): Spec {
  return loadKernelSpec({ root: options.root });
}

/** One kernel BTF object: vmlinux or a module's split BTF. */
export interface BtfObject {
  /** `"vmlinux"` or the module name. */
  name: string;
  /** Its types (a module's own types start after vmlinux's). */
  spec: Spec;
}

/** vmlinux BTF and the BTF of every loaded module (`<root>/sys/kernel/btf/*`), vmlinux first. */
export function kernelBtfObjects(options: { root?: string } = {}): BtfObject[] {
  const objects: BtfObject[] = [{ name: "vmlinux", spec: kernelSpec(options) }];
  let names: string[] = [];
  try {
    names = readDirNames(kernelBtfDir(options));
  } catch (e) {
    if (!(e instanceof FileNotFoundError)) throw e;
  }
  for (const name of names.filter((n) => n !== "vmlinux").sort(byteOrder)) {
    const spec = loadKernelModuleSpec(name, { root: options.root });
    if (spec) objects.push({ name, spec });
  }
  return objects;
}

/** Each own type id of `spec` whose kind is one of `kinds`, with its name. */
function* namedOfKinds(spec: Spec, kinds: readonly string[]): Generator<[string, string]> {
  const end = spec.firstTypeId + spec.typeCount;
  for (let id = spec.firstTypeId; id < end; id++) {
    const kind = spec.kindOf(id);
    if (kinds.includes(kind)) yield [kind, spec.nameOf(id)];
  }
}

/**
 * Raw tracepoints as `object:event` (`vmlinux:sched_switch`): the
 * `btf_trace_<event>` typedefs of each BTF object (one per tracepoint a BPF
 * program can attach to).
 */
export function rawTracepoints(objects: readonly BtfObject[]): string[] {
  const out: string[] = [];
  for (const { name, spec } of objects) {
    for (const [, type] of namedOfKinds(spec, ["typedef"])) {
      if (type.startsWith("btf_trace_")) out.push(`${name}:${type.slice(10)}`);
    }
  }
  return out;
}

/**
 * Kernel functions with BTF, as `object:func` (`vmlinux:vfs_read`): the
 * FUNCs of each BTF object, among `traceable` (the functions of
 * `available_filter_functions`) when given. {@linkcode fentryAttachable}
 * tells which ones fentry can take.
 */
export function btfFunctions(
  objects: readonly BtfObject[],
  traceable?: ReadonlySet<string>,
): string[] {
  const out: string[] = [];
  for (const { name, spec } of objects) {
    for (const [, fn] of namedOfKinds(spec, ["func"])) {
      if (!traceable || traceable.has(fn)) out.push(`${name}:${fn}`);
    }
  }
  return out;
}

/**
 * Whether fentry/fexit can take `object:func`: at most 6 parameters, as
 * bpftrace checks. Static functions of one name in several files are
 * several BTF funcs (6.1's vmlinux has two `compute_score`, of 6 and 8
 * parameters); bpftrace lists the name when any of them qualifies.
 */
export function fentryAttachable(objects: readonly BtfObject[], line: string): boolean {
  const colon = line.indexOf(":");
  const spec = objects.find((o) => o.name === line.slice(0, colon))?.spec;
  if (!spec) return false;
  // A module's split BTF: its own funcs, not the base's of the same name.
  return spec.typeIdsByName(line.slice(colon + 1), "func").some((id) => {
    const fn = spec.typeById(id);
    if (id < spec.firstTypeId || fn.kind !== "func") return false;
    const proto = spec.typeById(fn.type);
    return proto.kind === "func_proto" && proto.params.length <= 6;
  });
}

/**
 * The named structs, unions and enums of kernel BTF as `struct X`,
 * `union X`, `enum X` (what `bpftrace -l 'struct …'` searches). 64-bit
 * enums are left out, as bpftrace 0.17's libbpf leaves them out.
 */
export function recordNames(objects: readonly BtfObject[]): string[] {
  const out: string[] = [];
  for (const { spec } of objects) {
    for (const [kind, name] of namedOfKinds(spec, ["struct", "union", "enum"])) {
      if (name !== "") out.push(`${kind} ${name}`);
    }
  }
  return out;
}

// ---------------------------------------------------------------- ELF

/** Whether `path` is a regular file that starts with the ELF magic. */
export function isElfFile(path: string): boolean {
  try {
    if (fileInfo(path).kind !== "file") return false;
    const b = readFileHead(path, 4);
    return b.length === 4 && b[0] === 0x7f && b[1] === 0x45 && b[2] === 0x4c && b[3] === 0x46;
  } catch (e) {
    if (e instanceof FileError && e.code === "ENOTCAPABLE") throw e;
    return false;
  }
}

/** The GNU build id of an ELF file, as hex, if it has one. */
function buildId(elf: ElfFile): string | undefined {
  for (const n of elf.notes()) {
    if (n.name === "GNU" && n.type === 3) {
      return [...n.desc].map((b) => b.toString(16).padStart(2, "0")).join("");
    }
  }
  return undefined;
}

/** The file name of `.gnu_debuglink`, if any. */
function debugLink(elf: ElfFile): string | undefined {
  const s = elf.sectionHeader(".gnu_debuglink");
  if (!s) return undefined;
  const data = elf.sectionData(s);
  const end = data.indexOf(0);
  return end > 0 ? new TextDecoder().decode(data.subarray(0, end)) : undefined;
}

/**
 * The separate debug file of `path`, where bcc looks: by build id under
 * `/usr/lib/debug/.build-id/`, then by `.gnu_debuglink` next to the file,
 * in its `.debug/` and under `/usr/lib/debug`.
 */
function debugFile(path: string, elf: ElfFile): string | undefined {
  const id = buildId(elf);
  const tries: string[] = [];
  if (id && id.length > 2) {
    tries.push(`/usr/lib/debug/.build-id/${id.slice(0, 2)}/${id.slice(2)}.debug`);
  }
  const link = debugLink(elf);
  if (link) {
    const dir = path.slice(0, path.lastIndexOf("/") + 1) || "./";
    tries.push(`${dir}${link}`, `${dir}.debug/${link}`, `/usr/lib/debug${dir}${link}`);
  }
  return tries.find((p) => p !== path && isElfFile(p));
}

function addFunctionSymbols(elf: ElfFile, out: Set<string>): void {
  for (const table of [() => elf.symbols(), () => elf.dynamicSymbols()]) {
    let syms;
    try {
      syms = table();
    } catch {
      continue;
    }
    for (const s of syms) {
      if (s.type !== SymbolType.FUNC && s.type !== SymbolType.GNU_IFUNC) continue;
      if (s.sectionIndex === SectionIndex.UNDEF || s.name === "") continue;
      out.add(s.name);
    }
  }
}

/**
 * The defined function symbols (FUNC and GNU_IFUNC) of an ELF file's
 * `.symtab` and `.dynsym`, and of its separate debug file when there is
 * one: what bcc's symbol walk gives bpftrace. Kept per path while the file
 * (device, inode, size, mtime) stays the same.
 */
export function functionSymbols(path: string): ReadonlySet<string> {
  const info = fileInfo(path);
  const identity = `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}`;
  const cached = symbolCache.get(path);
  if (cached?.identity === identity) return cached.names;
  const names = readFunctionSymbols(path);
  symbolCache.set(path, { identity, names });
  return names;
}

/** The last function symbols read per path, while the file stays the same file. */
const symbolCache = new Map<string, { identity: string; names: ReadonlySet<string> }>();

function readFunctionSymbols(path: string): Set<string> {
  const elf = readElfFile(path);
  const out = new Set<string>();
  addFunctionSymbols(elf, out);
  const debug = debugFile(path, elf);
  if (debug) {
    try {
      addFunctionSymbols(readElfFile(debug), out);
    } catch {
      // an unreadable debug file only loses its extra symbols
    }
  }
  return out;
}

/** The USDT probes of an ELF file as `path:provider:name`. */
export function usdtNames(path: string): string[] {
  return readUsdtProbes(path).map((p) => `${path}:${p.provider}:${p.name}`);
}

/**
 * The ELF files process `pid` has mapped, in the order of its memory maps,
 * as seen from its mount namespace: `/proc/PID/root/usr/lib/…` (what bcc
 * gives bpftrace for `-p PID`).
 */
export function mappedObjects(pid: number): string[] {
  const seen = new Set<string>();
  for (
    const line of readTextFile(`/proc/${pid}/maps`, { what: "process memory maps" }).split("\n")
  ) {
    const path = line.split(/\s+/).slice(5).join(" ");
    if (path.startsWith("/") && !path.endsWith(" (deleted)")) seen.add(`/proc/${pid}/root${path}`);
  }
  return [...seen].filter(isElfFile);
}

/** The executable of process `pid`, as seen from its mount namespace (`/proc/PID/root/usr/bin/…`). */
export function processExe(pid: number): string {
  return `/proc/${pid}/root${readLink(`/proc/${pid}/exe`)}`;
}

// ---------------------------------------------------------------- paths

/** A character as a class-safe regular expression escape. */
function charEscape(c: string): string {
  return `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`;
}

/** The inside of a glob bracket expression as a regular expression class body (`a-c` ranges). */
function classBody(body: string): string {
  let out = "";
  for (let k = 0; k < body.length; k++) {
    if (body[k + 1] === "-" && k + 2 < body.length) {
      // A range whose ends are out of order matches nothing, as in glob(3).
      if (body[k] <= body[k + 2]) out += `${charEscape(body[k])}-${charEscape(body[k + 2])}`;
      k += 2;
    } else out += charEscape(body[k]);
  }
  return out;
}

/**
 * A glob(3) path segment as a regular expression: `*`, `?`, and bracket
 * expressions (`[abc]`, `[a-z]`, `[!a]` or `[^a]`, a `]` first is literal);
 * a `[` without its `]` is literal.
 */
function segmentRegex(seg: string): RegExp {
  let re = "";
  for (let i = 0; i < seg.length; i++) {
    const c = seg[i];
    if (c === "*") re += "[^/]*";
    else if (c === "?") re += "[^/]";
    else if (c === "[") {
      let start = i + 1;
      const negated = seg[start] === "!" || seg[start] === "^";
      if (negated) start++;
      const close = seg.indexOf("]", start + 1);
      if (close < 0) re += charEscape(c);
      else {
        re += `[${negated ? "^" : ""}${classBody(seg.slice(start, close))}]`;
        i = close;
      }
    } else re += charEscape(c);
  }
  return new RegExp(`^${re}$`);
}

/**
 * The ELF files a path glob names (`/usr/lib/*\/libc.so.*`), sorted, as
 * glob(3) expands it: per path segment, hidden names only for a segment
 * that starts with a dot.
 */
export function globPaths(pattern: string): string[] {
  const absolute = pattern.startsWith("/");
  let dirs = [absolute ? "/" : "./"];
  const segs = pattern.split("/").filter((s) => s !== "");
  for (const [i, seg] of segs.entries()) {
    const lastSeg = i === segs.length - 1;
    const next: string[] = [];
    for (const dir of dirs) {
      if (!/[*?[]/.test(seg)) {
        next.push(`${dir}${seg}${lastSeg ? "" : "/"}`);
        continue;
      }
      const re = segmentRegex(seg);
      let names: string[];
      try {
        names = readDir(dir).map((e) => e.name);
      } catch (e) {
        if (e instanceof FileError && e.code === "ENOTCAPABLE") throw e;
        continue;
      }
      for (const n of names.sort(byteOrder)) {
        if (n.startsWith(".") && !seg.startsWith(".")) continue;
        if (re.test(n)) next.push(`${dir}${n}${lastSeg ? "" : "/"}`);
      }
    }
    dirs = next;
  }
  return dirs.map((p) => absolute ? p : p.slice(2)).filter(isElfFile).sort(byteOrder);
}
