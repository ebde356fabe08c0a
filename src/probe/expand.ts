/**
 * Wildcard probe points and probe listing. {@linkcode expandPoints} turns a
 * point whose target holds `*` or `?` into every point it names, in the
 * order bpftrace attaches them: tracepoints from tracefs's events,
 * raw tracepoints and tp_btf from vmlinux BTF's `btf_trace_*` typedefs,
 * fentry/fexit from BTF functions, kprobes from
 * `available_filter_functions` (kallsyms when it cannot be read), uprobes
 * from the ELF symbols of the binary (and its debug file), USDT from its
 * notes. {@linkcode listProbes} prints what `bpftrace -l PATTERN` prints.
 *
 * ```ts ignore
 * import { expandPoints, listProbes } from "@denobpf/ebpf/probe";
 *
 * const points = await expandPoints({ kind: "tracepoint", target: "sched:sched_wak*" });
 * // sched:sched_waking, sched:sched_wake_idle_without_ipi, sched:sched_wakeup, …
 * console.log((await listProbes("tracepoint:sched:*")).join("\n"));
 * ```
 *
 * Globs match as bpftrace's do: `*` crosses `:` and `/`, and each piece
 * between stars matches at its leftmost place (see {@linkcode globMatch}).
 *
 * @module
 */

import { FileError, InvalidArgumentError, NotSupportedError } from "../errors.ts";
import { haveProgramType } from "../features/program_types.ts";
import { readTextFile, realPath } from "../sys/file.ts";
import { type TracefsOptions, tracefsPath } from "../tracefs/mount.ts";
import { resolveBinaryPath } from "../uprobe/resolve.ts";
import { ProbeNotFoundError } from "./errors.ts";
import { closeMatches } from "./format.ts";
import type { IrPoint } from "./ir.ts";
import {
  btfFunctions,
  type BtfObject,
  fentryAttachable,
  filterFunctions,
  functionSymbols,
  globMatch,
  globPaths,
  hasGlob,
  kallsymsFunctions,
  kernelBtfObjects,
  mappedObjects,
  matchLines,
  processExe,
  rawTracepoints,
  recordNames,
  traceEvents,
  usdtNames,
} from "./_probe_names.ts";

export { globMatch, globPaths };

/** Options of {@linkcode expandPoints}. */
export interface ExpandOptions extends TracefsOptions {
  /**
   * uprobes and USDT: resolve library names (`"c"`, `"libc"`) in this
   * process's memory maps first. Default: the point's own `pid`.
   */
  pid?: number;
  /**
   * A kprobe, kretprobe, uprobe or uretprobe glob that matches nothing
   * expands to no points instead of throwing, as bpftrace 0.17 leaves such
   * a point out of its script (`kprobe:lookup_fast,
   * kprobe:lookup_fast.constprop.*` on a kernel without the clone). Other
   * kinds still throw, as bpftrace does. Default false.
   */
  allowEmpty?: boolean;
}

/** The kinds whose globs bpftrace 0.17 leaves out when they match nothing. */
const DROPPED_WHEN_EMPTY = new Set(["kprobe", "kretprobe", "uprobe", "uretprobe"]);

/** One glob to expand: the pattern over candidate lines, and how a matched line becomes a target. */
interface Search {
  pattern: string;
  lines: () => string[];
  target: (line: string) => string;
  /** Where the names came from, for the error. */
  source: string;
  /** Which matches can be attached to (all when absent). */
  valid?: (line: string) => boolean;
}

/**
 * Expands the globs (`*`, `?`) of a point's target into every point it
 * names, each a copy of `point` with a concrete target, in bpftrace's
 * order (sorted by name). A point without globs comes back alone, except
 * that a uprobe/USDT library name (`"c"`, `"libc"`) becomes the library's
 * path and a USDT `path:name` gets each provider that has `name`.
 * `profile`, `interval`, `begin` and `end` points come back as they are.
 *
 * - tracepoint `"sched:sched_*"` (a target without `:` is `"*:target"`);
 * - raw_tracepoint/tp_btf `"sched_*"` over vmlinux BTF's `btf_trace_*`;
 * - fentry/fexit over vmlinux BTF functions (those of
 *   `available_filter_functions`, when it can be read);
 * - kprobe/kretprobe `"vfs_*"` (`+offset` kept) over
 *   `available_filter_functions`, or kallsyms text symbols;
 * - uprobe `"path:func*"` (the path may be a glob or a library name);
 * - usdt `"path:provider*:name*"`, or with a pid just `"name*"` (every
 *   object the process maps, as `/proc/PID/root/…` paths).
 *
 * Throws {@linkcode ProbeNotFoundError}, with the closest names, when
 * nothing matches (unless `allowEmpty` lets a kprobe or uprobe glob come
 * back empty); `NotFoundError` for a binary that cannot be found.
 */
export function expandPoints(point: IrPoint, options: ExpandOptions = {}): Promise<IrPoint[]> {
  try {
    return Promise.resolve(expandSync(point, options));
  } catch (e) {
    return Promise.reject(e);
  }
}

function expandSync(point: IrPoint, options: ExpandOptions): IrPoint[] {
  const search = searchFor(point, { ...options, pid: options.pid ?? point.pid });
  if (!search) return [point];
  if (typeof search === "string") return [{ ...point, target: search }];
  const lines = search.lines();
  const hits = matchLines(search.pattern, lines).filter(search.valid ?? (() => true));
  if (hits.length === 0) {
    if (options.allowEmpty && DROPPED_WHEN_EMPTY.has(point.kind)) return [];
    throw new ProbeNotFoundError(
      `${point.kind} ${point.target}`,
      suggestions(point.target, lines.map(search.target)),
      `no ${point.kind} matches "${point.target}" (${lines.length} names in ${search.source})`,
    );
  }
  return hits.map((line) => ({ ...point, target: search.target(line) }));
}

/** The last `:` component of a target. */
function lastPart(s: string): string {
  return s.slice(s.lastIndexOf(":") + 1);
}

/**
 * Targets close to a glob that matched nothing: by the last component (the
 * event, function or probe name) without its globs, so that a misspelt
 * name is found whatever its group, path or provider.
 */
function suggestions(target: string, candidates: string[]): string[] {
  const wanted = lastPart(splitOffset(target)[0]).replace(/[*?]/g, "");
  const byName = new Map<string, string[]>();
  for (const c of candidates) {
    const name = lastPart(c);
    const list = byName.get(name);
    if (list) list.push(c);
    else byName.set(name, [c]);
  }
  return closeMatches(wanted, byName.keys()).flatMap((n) => byName.get(n)!).slice(0, 5);
}

/** `func+0x10` → [`func`, `+0x10`]. */
function splitOffset(s: string): [string, string] {
  const plus = s.indexOf("+");
  return plus < 0 ? [s, ""] : [s.slice(0, plus), s.slice(plus)];
}

/** A binary path: globbed paths stay, a library name becomes its path. */
function binaryPath(path: string, pid: number | undefined): string {
  if (hasGlob(path)) return path;
  return path.includes("/") ? path : resolveBinaryPath(path, { pid });
}

/**
 * A `-p` USDT target as bpftrace 0.17 searches it: `*` and the canonical
 * path of a file that exists (a `/proc/PID/root/…` path as it is), else the
 * target unchanged.
 */
function pidTarget(target: string): string {
  if (/^\/proc\/\d+\/root\//.test(target)) return `*${target}`;
  try {
    return `*${realPath(target)}`;
  } catch (e) {
    if (e instanceof FileError && e.code === "ENOTCAPABLE") throw e;
    return target;
  }
}

/** The binaries a (possibly globbed) path names. */
function binaries(path: string): string[] {
  return hasGlob(path) ? globPaths(path) : [path];
}

/**
 * What to search for a point: undefined when the point is used as is, a
 * string when it only needs a new spelling, else the search.
 */
function searchFor(point: IrPoint, options: ExpandOptions): Search | string | undefined {
  const target = point.target;
  const tracefs = () => tracefsPath(options);
  switch (point.kind) {
    case "tracepoint": {
      if (!hasGlob(target)) return undefined;
      return {
        pattern: target.includes(":") ? target : `*:${target}`,
        lines: () => traceEvents(options),
        target: (l) => l,
        source: `${tracefs()}/available_events`,
      };
    }
    case "raw_tracepoint":
    case "tp_btf":
    case "fentry":
    case "fexit": {
      if (!hasGlob(target)) return undefined;
      const raw = point.kind === "raw_tracepoint" || point.kind === "tp_btf";
      let loaded: BtfObject[] | undefined;
      const objects = () => loaded ??= kernelBtfObjects(options);
      return {
        pattern: target.includes(":") ? target : `*:${target}`,
        lines: () => {
          if (raw) return rawTracepoints(objects());
          const traceable = filterFunctions(options);
          return btfFunctions(objects(), traceable ? new Set(traceable) : undefined);
        },
        target: (l) => l.startsWith("vmlinux:") ? l.slice(8) : l,
        source: raw ? "kernel BTF (btf_trace_* typedefs)" : "kernel BTF functions",
        valid: raw ? undefined : (l) => fentryAttachable(objects(), l),
      };
    }
    case "kprobe":
    case "kretprobe": {
      const [fn, offset] = splitOffset(target);
      if (!hasGlob(fn)) return undefined;
      let source = "available_filter_functions";
      return {
        pattern: fn,
        lines: () => {
          const fromTracefs = filterFunctions(options);
          if (fromTracefs) return fromTracefs;
          source = "/proc/kallsyms (text symbols)";
          return kallsymsFunctions(options);
        },
        target: (l) => l + offset,
        get source() {
          return source;
        },
      };
    }
    case "uprobe":
    case "uretprobe": {
      const colon = target.indexOf(":");
      if (colon < 0) {
        throw new InvalidArgumentError(
          `${point.kind} "${target}": expected "path:function" (the path may be a library name such as "c")`,
        );
      }
      const path = binaryPath(target.slice(0, colon), options.pid);
      const [fn, offset] = splitOffset(target.slice(colon + 1));
      if (!hasGlob(path) && !hasGlob(fn)) return `${path}:${target.slice(colon + 1)}`;
      return {
        pattern: `${path}:${fn}`,
        lines: () => binaries(path).flatMap((p) => [...functionSymbols(p)].map((s) => `${p}:${s}`)),
        target: (l) => l + offset,
        source: `the ELF symbols of ${path}`,
      };
    }
    case "usdt": {
      const parts = target.split(":");
      if (parts.length === 1 && options.pid !== undefined) {
        // `usdt:name` of one process: every object it maps.
        const pid = options.pid;
        return {
          pattern: `*:*:${target}`,
          lines: () => mappedObjects(pid).flatMap(usdtNames),
          target: (l) => l,
          source: `the USDT notes of the objects process ${pid} maps`,
        };
      }
      if (parts.length !== 2 && parts.length !== 3) {
        throw new InvalidArgumentError(
          `usdt "${target}": expected "path:provider:name" or "path:name"`,
        );
      }
      const path = binaryPath(parts[0], options.pid);
      const provider = parts.length === 3 ? parts[1] : "*";
      const name = parts[parts.length - 1];
      if (parts.length === 3 && !hasGlob(path) && !hasGlob(provider) && !hasGlob(name)) {
        return `${path}:${provider}:${name}`;
      }
      return {
        pattern: `${path}:${provider}:${name}`,
        lines: () => binaries(path).flatMap(usdtNames),
        target: (l) => l,
        source: `the USDT notes of ${path}`,
      };
    }
    default:
      return undefined;
  }
}

// ---------------------------------------------------------------- listing

/** Options of {@linkcode listProbes}. */
export interface ListProbesOptions extends TracefsOptions {
  /** `-p PID`: uprobes and USDT resolve library names in this process's maps. */
  pid?: number;
  /**
   * `-v`: after each tracepoint its fields (`    char comm[16]`), after each
   * iterator its arguments, as `bpftrace -lv`. The parameters bpftrace reads
   * from DWARF (uprobes) and BTF (kfunc) are not listed (a warning says so).
   */
  verbose?: boolean;
  /**
   * Called with each warning bpftrace would print on stderr (without its
   * `WARNING: ` prefix), e.g. when `available_filter_functions` cannot be
   * read and kprobes are not listed.
   */
  onWarning?: (message: string) => void;
}

/** bpftrace's probe types with their short aliases (bpftrace 0.17, plus later `rawtracepoint`, `fentry`/`fexit`). */
const PROBE_TYPES: readonly [string, string][] = [
  ["kprobe", "k"],
  ["kretprobe", "kr"],
  ["uprobe", "u"],
  ["uretprobe", "ur"],
  ["usdt", "U"],
  ["BEGIN", "BEGIN"],
  ["END", "END"],
  ["tracepoint", "t"],
  ["profile", "p"],
  ["interval", "i"],
  ["software", "s"],
  ["hardware", "h"],
  ["watchpoint", "w"],
  ["asyncwatchpoint", "aw"],
  ["kfunc", "f"],
  ["kretfunc", "fr"],
  ["iter", "it"],
  ["rawtracepoint", "rt"],
  ["fentry", "fentry"],
  ["fexit", "fexit"],
];

/** The kernel probe types a wildcard probe type ranges over, as bpftrace 0.17 lists them. */
function kernelProbeTypes(): string[] {
  const types = ["kprobe", "tracepoint", "software", "hardware", "iter"];
  if (fentryWorks()) types.push("kfunc");
  return types;
}

const USER_PROBE_TYPES = ["uprobe", "usdt"];

let fentryCache: boolean | undefined;

/** Whether fentry programs load here (the feature probe of the `tracing` program type). */
function fentryWorks(): boolean {
  return fentryCache ??= haveProgramType("tracing");
}

/** Splits an attach point at `:` outside double quotes, dropping the quotes. */
function lexParts(raw: string): string[] {
  const parts: string[] = [];
  let cur = "";
  let quoted = false;
  for (let i = 0; i < raw.length; i++) {
    const c = raw[i];
    if (c === '"') quoted = !quoted;
    else if (c === ":" && !quoted) {
      parts.push(cur);
      cur = "";
    } else if (c === "\\" && quoted && i + 1 < raw.length) cur += raw[++i];
    else cur += c;
  }
  parts.push(cur);
  return parts;
}

/** bpftrace's `*` test for probe types, which also counts `[…]`. */
function typeHasWildcard(s: string): boolean {
  return s.includes("*") || (s.includes("[") && s.includes("]"));
}

/**
 * The lines `bpftrace -l PATTERN` prints (without newlines), in its order:
 * `tracepoint:sched:sched_switch`, `kprobe:vfs_read`,
 * `uprobe:/usr/lib/x86_64-linux-gnu/libc.so.6:malloc`,
 * `usdt:/path:provider:name`, `software:*:`…, and for
 * `rawtracepoint:`/`fentry:` (which this bpftrace version lacks) the
 * spelling of later bpftrace versions (`rawtracepoint:vmlinux:sched_switch`).
 * A wildcard probe type (`*:*`, the default, or a pattern without `:`)
 * ranges over the kernel probe types, or over uprobe/usdt when the second
 * part is a path. Several patterns may be separated by commas. A pattern
 * without `:` that starts with `struct`, `union` or `enum` lists those
 * types of vmlinux BTF by name (`struct task_struct`).
 *
 * Throws `InvalidArgumentError` for an unknown probe type or a wrong number
 * of parts, `NotSupportedError` for kfunc/fentry where fentry programs do
 * not load.
 */
export function listProbes(pattern = "*:*", options: ListProbesOptions = {}): Promise<string[]> {
  try {
    const search = pattern === "*" ? "*:*" : pattern;
    if (!search.includes(":") && /^(struct|union|enum)/.test(search)) {
      return Promise.resolve(listRecords(search, options));
    }
    const out: string[] = [];
    for (const ap of search.split(",")) {
      const raw = ap.trim();
      if (raw !== "") out.push(...listAttachPoint(raw, options));
    }
    return Promise.resolve(out);
  } catch (e) {
    return Promise.reject(e);
  }
}

function listAttachPoint(raw: string, options: ListProbesOptions): string[] {
  const parts = lexParts(raw);
  const first = parts[0];
  if (first === "") throw new InvalidArgumentError(`invalid attach point "${raw}"`);
  if (!typeHasWildcard(first)) {
    const type = PROBE_TYPES.find(([name, alias]) => first === name || first === alias)?.[0];
    if (!type) throw new InvalidArgumentError(`Invalid probe type: ${first}`);
    return listType(type, parts, { ...options, ignoreInvalid: false });
  }
  const query = parts.length === 1 ? "*" : first;
  const user = options.pid !== undefined || (parts.length >= 2 && parts[1].includes("/"));
  const types = (user ? USER_PROBE_TYPES : kernelProbeTypes())
    .filter((t) => globMatch(query, t)).sort();
  if (types.length === 0) throw new InvalidArgumentError(`No probe type matched for ${first}`);
  const rest = parts.length > 1 ? parts.slice(1) : parts;
  return types.flatMap((t) => listType(t, [t, ...rest], { ...options, ignoreInvalid: true }));
}

/** `bpftrace -l 'struct task*'`: the matching struct, union and enum names of vmlinux BTF. */
function listRecords(search: string, options: ListProbesOptions): string[] {
  if (options.verbose) {
    throw new NotSupportedError("listing struct definitions (-lv 'struct …')", undefined, {
      detail: "list the names without verbose, or print one with formatBtfAsC from the ./btf entry",
    });
  }
  return matchLines(search, recordNames(kernelBtfObjects(options)));
}

type ListContext = ListProbesOptions & { ignoreInvalid: boolean };

/** `-lv` lines of bpftrace's iterators. */
const ITER_PARAMS: Readonly<Record<string, readonly string[]>> = {
  task: ["    struct task_struct * task"],
  task_file: ["    struct task_struct * task", "    int fd", "    struct file * file"],
};

/** With `verbose`, warns that the parameter lines bpftrace prints from `source` are left out. */
function noParams(type: string, source: string, ctx: ListContext): void {
  if (ctx.verbose) {
    ctx.onWarning?.(
      `-v: the parameters of ${type} probes (from ${source}) are not listed; only their names are`,
    );
  }
}

/** Throws bpftrace's arity error, or returns [] for an expanded type that does not fit. */
function arity(type: string, wanted: string, ctx: ListContext): string[] {
  if (ctx.ignoreInvalid) return [];
  throw new InvalidArgumentError(`${type} probe type requires ${wanted}`);
}

function listType(type: string, parts: string[], ctx: ListContext): string[] {
  const n = parts.length;
  const prefixed = (lines: string[]) => lines.map((l) => `${type}:${l}`);
  switch (type) {
    case "kprobe":
    case "kretprobe": {
      if (n !== 2) return arity(type, "1 argument", ctx);
      const lines = filterFunctions(ctx, ctx.onWarning) ?? [];
      return prefixed(matchLines(splitOffset(parts[1])[0], lines));
    }
    case "tracepoint": {
      if (n === 2 && hasGlob(parts[1])) parts = [parts[0], "*", parts[1]];
      if (parts.length !== 3) return arity(type, "2 arguments", ctx);
      const hits = matchLines(`${parts[1]}:${parts[2]}`, traceEvents(ctx));
      if (!ctx.verbose) return prefixed(hits);
      return hits.flatMap((h) => [`${type}:${h}`, ...tracepointParams(h, ctx)]);
    }
    case "rawtracepoint": {
      if (n !== 2 && n !== 3) return arity(type, "1 or 2 arguments", ctx);
      const search = n === 3 ? `${parts[1]}:${parts[2]}` : `*:${parts[1]}`;
      return prefixed(matchLines(search, rawTracepoints(kernelBtfObjects(ctx))));
    }
    case "kfunc":
    case "kretfunc":
    case "fentry":
    case "fexit": {
      if (n !== 2 && n !== 3) return arity(type, "1 or 2 arguments", ctx);
      if (!fentryWorks()) {
        throw new NotSupportedError(`${type} probes`, "fentry/fexit programs (Linux 5.5, BTF)", {
          detail: "this kernel refuses to load tracing programs; use a tracepoint or kprobe",
        });
      }
      noParams(type, "BTF", ctx);
      const traceable = filterFunctions(ctx, ctx.onWarning);
      const objects = kernelBtfObjects(ctx);
      const lines = btfFunctions(objects, new Set(traceable ?? []));
      const search = n === 3 ? `${parts[1]}:${parts[2]}` : `*:${parts[1]}`;
      return prefixed(matchLines(search, lines).filter((l) => fentryAttachable(objects, l)));
    }
    case "uprobe":
    case "uretprobe": {
      if (n === 2 && ctx.pid !== undefined) {
        parts = [parts[0], processExe(ctx.pid), parts[1]];
      }
      if (parts.length !== 3) return arity(type, "2 arguments", ctx);
      if (parts[2] === "") {
        throw new InvalidArgumentError(`${type} should be attached to a function and/or address`);
      }
      noParams(type, "DWARF", ctx);
      const path = binaryPath(parts[1], ctx.pid);
      const lines = binaries(path).flatMap((p) => [...functionSymbols(p)].map((s) => `${p}:${s}`));
      return prefixed(matchLines(`${path}:${splitOffset(parts[2])[0]}`, lines));
    }
    case "usdt": {
      if (n === 2 && ctx.pid !== undefined) parts = [parts[0], "", parts[1]];
      if (parts.length !== 3 && parts.length !== 4) return arity(type, "2 or 3 arguments", ctx);
      const provider = parts.length === 4 && parts[2] !== "" ? parts[2] : "*";
      const name = parts[parts.length - 1];
      if (ctx.pid !== undefined) {
        // bpftrace -p: every object the process maps, named from its mount namespace.
        const path = parts[1] === "" ? "*" : pidTarget(parts[1]);
        const lines = mappedObjects(ctx.pid).flatMap(usdtNames);
        return prefixed(matchLines(`${path}:${provider}:${name}`, lines));
      }
      const path = binaryPath(parts[1], ctx.pid);
      const lines = binaries(path).flatMap(usdtNames);
      return prefixed(matchLines(`${path}:${provider}:${name}`, lines));
    }
    case "software":
    case "hardware":
      if (n !== 2 && n !== 3) return arity(type, "1 or 2 arguments", ctx);
      return [`${type}:${parts[1]}:`];
    case "iter":
      if (n !== 2 && n !== 3) return arity(type, "2 arguments (1 optional)", ctx);
      return matchLines(parts[1], Object.keys(ITER_PARAMS))
        .flatMap((it) => [`${type}:${it}`, ...(ctx.verbose ? ITER_PARAMS[it] : [])]);
    case "profile":
    case "interval":
      return [`${type}:`];
    case "BEGIN":
    case "END":
      return ["special::"];
    default:
      throw new NotSupportedError(`listing ${type} probes`);
  }
}

/** `bpftrace -lv`'s lines for a tracepoint: its own fields (after the common ones), indented. */
function tracepointParams(event: string, options: TracefsOptions): string[] {
  const [group, name] = event.split(":");
  let text: string;
  try {
    text = readTextFile(`${tracefsPath(options)}/events/${group}/${name}/format`);
  } catch {
    return [];
  }
  const lines = text.split("\n");
  const blank = lines.indexOf("");
  const out: string[] = [];
  for (const line of lines.slice(blank + 1)) {
    if (!line.startsWith("\tfield:")) continue;
    const start = line.indexOf(":") + 1;
    out.push(`    ${line.slice(start, line.indexOf(";"))}`);
  }
  return out;
}
