/**
 * The running kernel's BTF: vmlinux (with the on-disk fallbacks libbpf
 * uses), the split BTF of kernel modules, and the rule this library was
 * born from: a module whose `/sys/kernel/btf/<module>` file does not exist
 * (kernels before 5.11, or CONFIG_DEBUG_INFO_BTF_MODULES off) is not an
 * error — the loader carries on with vmlinux alone — while every other
 * failure is reported, and a CO-RE relocation that really needs a
 * module-only type fails naming the module, the missing file and the option.
 *
 * Every function takes `{ root }` (default `/`) so that `/host/proc`,
 * `/host/sys` set-ups and test fixtures work.
 *
 * @module
 */

import {
  EbpfError,
  FileError,
  FileNotFoundError,
  InvalidArgumentError,
  nameError,
  NotFoundError,
  NotSupportedError,
  ParseError,
} from "../errors.ts";
import { loadKallsyms } from "../kallsyms/load.ts";
import { parseElf } from "../elf/elf_file.ts";
import { uname } from "../sys/uname.ts";
import { fileInfoIfExists, FilePermissionError, readDirNames, readFile } from "../sys/file.ts";
import { readBtfFile } from "./file.ts";
import { parseBtf, type Spec } from "./spec.ts";
import type { Kind } from "./types.ts";

/** Options of every function that reads the kernel's files. */
export interface KernelOptions {
  /** File-system root under which `/sys`, `/proc`, `/boot`, `/lib` are read. Default `/`. */
  root?: string;
  /** The cache to use; default: the process-wide {@linkcode defaultBtfCache}. */
  cache?: BtfCache;
  /** Kernel release for the on-disk vmlinux fallbacks; default: uname(2). */
  release?: string;
}

/** The kernel option that makes `/sys/kernel/btf/<module>` exist. */
export const MODULE_BTF_CONFIG = "CONFIG_DEBUG_INFO_BTF_MODULES";

/**
 * Reading a kernel file failed for a reason other than "it does not exist":
 * permission, a directory in its place, an I/O error. `path` names the file.
 */
export class KernelFileError extends EbpfError {
  static {
    nameError(this, "KernelFileError");
  }
  /** Always `"EKERNELFILE"`. */
  override readonly code = "EKERNELFILE";
  /** The file that could not be read. */
  readonly path: string;
  /** Creates the error. */
  constructor(path: string, message: string, options?: { cause?: unknown }) {
    super(`${path}: ${message}`, options);
    this.path = path;
  }
}

/**
 * A type a program needs exists only in a kernel module whose BTF is
 * missing. Thrown (or returned for wrapping) by CO-RE when a relocation
 * cannot be resolved against vmlinux and the program's target function lives
 * in a module without `/sys/kernel/btf/<module>`.
 */
export class MissingModuleBtfError extends NotFoundError {
  static {
    nameError(this, "MissingModuleBtfError");
  }
  /** The type that could not be found. */
  readonly typeName: string;
  /** The module that owns the target function. */
  readonly module: string;
  /** The BTF file that does not exist. */
  readonly path: string;
  /** Creates the error. */
  constructor(typeName: string, module: string, path: string, options?: { cause?: unknown }) {
    super(
      `type ${typeName}`,
      `type ${typeName} is only in module ${module}, whose BTF (${path}) is missing: ` +
        `the kernel is older than 5.11 or was built without ${MODULE_BTF_CONFIG}`,
      options,
    );
    this.typeName = typeName;
    this.module = module;
    this.path = path;
  }
}

function normRoot(root: string | undefined): string {
  let r = root ?? "/";
  while (r.length > 1 && r.endsWith("/")) r = r.slice(0, -1);
  return r === "" ? "/" : r;
}

function under(root: string, path: string): string {
  return root === "/" ? path : `${root}${path}`;
}

/** `<root>/sys/kernel/btf`, where the kernel publishes its BTF. */
export function kernelBtfDir(options: { root?: string } = {}): string {
  return under(normRoot(options.root), "/sys/kernel/btf");
}

/**
 * Checks a module name before it becomes part of a path: non-empty, no `/`,
 * no `..`, no NUL, and not absurdly long. Throws {@linkcode InvalidArgumentError}.
 */
function checkModuleName(module: string): void {
  if (typeof module !== "string" || module.length === 0) {
    throw new InvalidArgumentError("kernel module name is empty");
  }
  if (module.includes("/") || module.includes("\0") || module.includes("..")) {
    throw new InvalidArgumentError(
      `invalid kernel module name ${JSON.stringify(module)}: it must not contain "/", ".." or NUL`,
    );
  }
  if (module.length > 255) {
    throw new InvalidArgumentError(`kernel module name is too long (${module.length} bytes)`);
  }
}

/**
 * The largest ELF vmlinux the on-disk fallbacks read: 2 GiB (one with full
 * debug information is several hundred MiB).
 */
const MAX_VMLINUX_ELF_BYTES = 2 * 1024 * 1024 * 1024;

/**
 * Reads a file, returning `undefined` when (and only when) it does not exist.
 * Every other failure becomes a {@linkcode KernelFileError}.
 */
function readIfExists(path: string, maxBytes: number, what: string): Uint8Array | undefined {
  try {
    return readFile(path, { maxBytes, what });
  } catch (e) {
    if (e instanceof FileNotFoundError) return undefined;
    throw fileError(path, e);
  }
}

function fileError(path: string, e: unknown): KernelFileError {
  if (e instanceof FileError && e.code === "EISDIR") {
    return new KernelFileError(path, "is a directory, not a BTF file", { cause: e });
  }
  if (e instanceof FileError && e.code === "ENOTCAPABLE") {
    return new KernelFileError(
      path,
      `Deno's permission to read it is missing: run deno with --allow-ffi (or --allow-read=${path})`,
      { cause: e },
    );
  }
  if (e instanceof FilePermissionError) {
    return new KernelFileError(path, "permission denied (reading kernel BTF needs root)", {
      cause: e,
    });
  }
  if (e instanceof FileError && e.code === "ENOTDIR") {
    return new KernelFileError(path, "a path component is not a directory", { cause: e });
  }
  let msg = e instanceof Error ? e.message : String(e);
  // A FileError's message names the path already: keep what follows it.
  const at = msg.indexOf(path);
  if (e instanceof FileError && at >= 0) msg = msg.slice(at + path.length).replace(/^[\s:]+/, "");
  return new KernelFileError(path, e instanceof FileError ? msg : `cannot be read: ${msg}`, {
    cause: e,
  });
}

/**
 * Caches parsed kernel BTF per root: vmlinux is parsed once per process,
 * each module's split BTF once. Missing module files are remembered too.
 */
export class BtfCache {
  #vmlinux = new Map<string, Spec>();
  #modules = new Map<string, { spec: Spec | null; identity?: string }>();

  /** The cached vmlinux spec of a root, if parsed already. */
  getVmlinux(root: string): Spec | undefined {
    return this.#vmlinux.get(normRoot(root));
  }
  /** Stores the vmlinux spec of a root. */
  setVmlinux(root: string, spec: Spec): void {
    this.#vmlinux.set(normRoot(root), spec);
  }
  /**
   * The cached module spec (`null`: known missing), or `undefined` when not
   * looked up yet, or when `identity` is given and differs from the one the
   * spec was stored with (the file was replaced).
   */
  getModule(root: string, module: string, identity?: string): Spec | null | undefined {
    const e = this.#modules.get(`${normRoot(root)}\0${module}`);
    if (e === undefined) return undefined;
    if (identity !== undefined && e.identity !== undefined && e.identity !== identity) {
      return undefined;
    }
    return e.spec;
  }
  /**
   * Stores a module spec (`null` for a missing file), with the identity of
   * the file it was parsed from (see {@linkcode fileIdentity}).
   */
  setModule(root: string, module: string, spec: Spec | null, identity?: string): void {
    this.#modules.set(`${normRoot(root)}\0${module}`, { spec, identity });
  }
  /** Forgets everything (e.g. after modules were loaded or unloaded). */
  clear(): void {
    this.#vmlinux.clear();
    this.#modules.clear();
  }
}

/** The process-wide cache the kernel-spec functions use by default. */
export const defaultBtfCache: BtfCache = new BtfCache();

function vmlinuxCandidates(release: string): string[] {
  return [
    `/boot/vmlinux-${release}`,
    `/lib/modules/${release}/vmlinux-${release}`,
    `/lib/modules/${release}/build/vmlinux`,
    `/usr/lib/modules/${release}/kernel/vmlinux`,
    `/usr/lib/debug/boot/vmlinux-${release}`,
    `/usr/lib/debug/boot/vmlinux-${release}.debug`,
    `/usr/lib/debug/lib/modules/${release}/vmlinux`,
  ];
}

/** Runs `parse`, prefixing the message of a ParseError it throws with `path`. */
function atPath<T>(path: string, parse: () => T): T {
  try {
    return parse();
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    // The original message is "<format>: <detail>[ (at offset N)]"; the new
    // error adds the format and the offset back itself.
    let detail = e.message.startsWith(`${e.format}: `)
      ? e.message.slice(e.format.length + 2)
      : e.message;
    const at = ` (at offset ${e.offset})`;
    if (e.offset !== undefined && detail.endsWith(at)) detail = detail.slice(0, -at.length);
    throw new ParseError(e.format, `${path}: ${detail}`, { offset: e.offset, cause: e });
  }
}

/**
 * Parses a raw BTF file (mapping vmlinux where the kernel allows it),
 * `undefined` when (and only when) the file does not exist.
 */
function parseFileIfExists(path: string, base?: Spec): Spec | undefined {
  try {
    return atPath(path, () => readBtfFile(path, base ? { base } : {}));
  } catch (e) {
    if (e instanceof FileNotFoundError) return undefined;
    if (e instanceof FileError || e instanceof FilePermissionError) throw fileError(path, e);
    if (e instanceof EbpfError) throw e;
    throw fileError(path, e);
  }
}

/** The `.BTF` section of an ELF vmlinux, parsed. */
function specFromElf(path: string, bytes: Uint8Array): Spec | undefined {
  const btf = atPath(path, () => parseElf(bytes)).section(".BTF");
  return btf ? atPath(`${path} (.BTF)`, () => parseBtf(btf)) : undefined;
}

/**
 * The kernel's own BTF: `/sys/kernel/btf/vmlinux`, else the first ELF
 * vmlinux with a `.BTF` section among the places libbpf looks
 * (`/boot/vmlinux-<release>`, `/lib/modules/<release>/vmlinux-<release>`, …).
 * Parsed once per root and cached.
 *
 * @throws {NotSupportedError} naming CONFIG_DEBUG_INFO_BTF when none exists.
 * @throws {KernelFileError} when a file exists but cannot be read.
 * @throws {ParseError} when the BTF is corrupt.
 */
export function loadKernelSpec(options: KernelOptions = {}): Spec {
  const root = normRoot(options.root);
  const cache = options.cache ?? defaultBtfCache;
  const hit = cache.getVmlinux(root);
  if (hit) return hit;
  const sysPath = under(root, "/sys/kernel/btf/vmlinux");
  let spec = parseFileIfExists(sysPath);
  const tried = [sysPath];
  if (!spec) {
    const release = options.release ?? uname().release;
    for (const p of vmlinuxCandidates(release)) {
      const path = under(root, p);
      tried.push(path);
      const bytes = readIfExists(path, MAX_VMLINUX_ELF_BYTES, "vmlinux");
      if (!bytes) continue;
      spec = specFromElf(path, bytes);
      if (spec) break;
    }
  }
  if (!spec) {
    throw new NotSupportedError("kernel BTF", "CONFIG_DEBUG_INFO_BTF (Linux 5.2+)", {
      detail: `none of ${tried.join(", ")} exists or holds BTF; ` +
        "rebuild the kernel with CONFIG_DEBUG_INFO_BTF=y, or pass kernel types from a BTF file",
    });
  }
  cache.setVmlinux(root, spec);
  return spec;
}

/** The path of a module's BTF file under a root. */
export function kernelModuleBtfPath(module: string, options: { root?: string } = {}): string {
  checkModuleName(module);
  return `${kernelBtfDir(options)}/${module}`;
}

/**
 * A kernel module's split BTF on top of vmlinux. Returns `undefined` when,
 * and only when, `/sys/kernel/btf/<module>` does not exist (ENOENT): the
 * kernel is older than 5.11 or lacks CONFIG_DEBUG_INFO_BTF_MODULES, and the
 * caller should go on with vmlinux alone.
 *
 * @throws {InvalidArgumentError} for an empty name or one with `/`, `..` or NUL.
 * @throws {KernelFileError} for a directory in place of the file, a permission error, …
 * @throws {ParseError} for a corrupt or truncated blob.
 */
export function loadKernelModuleSpec(
  module: string,
  options: KernelOptions = {},
): Spec | undefined {
  const path = kernelModuleBtfPath(module, options);
  if (module === "vmlinux") return loadKernelSpec(options);
  const root = normRoot(options.root);
  const cache = options.cache ?? defaultBtfCache;
  let info;
  try {
    info = fileInfoIfExists(path);
  } catch (e) {
    throw fileError(path, e);
  }
  const exists = info !== undefined;
  const identity = info ? fileIdentity(info) : undefined;
  // The cache holds a module's BTF while its file stays the same file (or
  // stays away): a module loaded, unloaded or reloaded since is seen at once.
  const hit = cache.getModule(root, module, identity);
  if (hit !== undefined && (hit !== null) === exists) return hit ?? undefined;
  if (!exists) {
    cache.setModule(root, module, null);
    return undefined;
  }
  const spec = parseFileIfExists(path, loadKernelSpec(options));
  if (!spec) {
    // Removed between the stat and the read: the module was unloaded.
    cache.setModule(root, module, null);
    return undefined;
  }
  cache.setModule(root, module, spec, identity);
  return spec;
}

/**
 * What identifies a file's contents for the module cache: device, inode,
 * size and modification time (a module reloaded with other BTF gets a new
 * sysfs file).
 */
export function fileIdentity(
  info: { dev: number; ino: number; size: number; mtimeMs: number },
): string {
  return `${info.dev}:${info.ino}:${info.size}:${info.mtimeMs}`;
}

/** Pseudo-modules in the kallsyms module column that are not kernel modules. */
function isPseudoModule(m: string): boolean {
  return m === "bpf" || m.startsWith("__builtin__");
}

/**
 * The kernel module that owns `symbol`, from the `[module]` column of
 * `/proc/kallsyms`; `undefined` when it is in vmlinux.
 *
 * @throws {NotFoundError} when no such symbol exists.
 * @throws {AmbiguousSymbolError} when vmlinux lacks it and several modules have it.
 */
export function kernelModuleOf(symbol: string, options: KernelOptions = {}): string | undefined {
  if (typeof symbol !== "string" || symbol.length === 0) {
    throw new InvalidArgumentError("kernel symbol name is empty");
  }
  const ksyms = loadKallsyms({ root: options.root, strict: false });
  const owners = ksyms.modules(symbol);
  if (owners.length === 0) {
    throw new NotFoundError(
      `kernel symbol ${symbol}`,
      `kernel symbol ${symbol} not found in ${under(normRoot(options.root), "/proc/kallsyms")}`,
    );
  }
  if (owners.includes(undefined)) return undefined;
  const real = owners.filter((m) => !isPseudoModule(m!));
  if (real.length === 1) return real[0];
  if (real.length > 1) ksyms.module(symbol); // throws AmbiguousSymbolError naming every owner
  return owners[0]; // only pseudo-modules ([bpf], [__builtin__ftrace]) have it
}

/**
 * Every module BTF the kernel publishes, loaded lazily on first access.
 * A missing `/sys/kernel/btf` directory means none.
 */
export class KernelModuleSpecs implements Iterable<[string, Spec]> {
  /** Module names with a BTF file, sorted. */
  readonly names: readonly string[];
  #options: KernelOptions;

  /** Lists the modules of `options.root`. */
  constructor(options: KernelOptions = {}) {
    this.#options = options;
    const dir = kernelBtfDir(options);
    const names: string[] = [];
    try {
      for (const name of readDirNames(dir)) {
        if (name !== "vmlinux") names.push(name);
      }
    } catch (e) {
      if (!(e instanceof FileNotFoundError)) throw fileError(dir, e);
    }
    this.names = names.sort();
  }

  /** The module's spec, parsed on first use; `undefined` if it has no BTF file. */
  get(module: string): Spec | undefined {
    return loadKernelModuleSpec(module, this.#options);
  }

  /** Every type named `name` in any module, with the module it came from. */
  findTypes(name: string, kind?: Kind): { module: string; spec: Spec; id: number }[] {
    const out: { module: string; spec: Spec; id: number }[] = [];
    for (const [module, spec] of this) {
      for (const id of spec.ownTypeIdsByName(name, kind)) out.push({ module, spec, id });
    }
    return out;
  }

  /** Iterates `[module, spec]`, loading each spec as it goes. */
  *[Symbol.iterator](): Iterator<[string, Spec]> {
    for (const n of this.names) {
      const s = this.get(n);
      if (s) yield [n, s];
    }
  }
}

/** Every module BTF listed in `/sys/kernel/btf`, loaded lazily. */
export function kernelModuleSpecs(options: KernelOptions = {}): KernelModuleSpecs {
  return new KernelModuleSpecs(options);
}

/** What {@linkcode resolveKernelTypes} found for a target symbol. */
export interface KernelTypes {
  /** The symbol a program attaches to. */
  readonly target: string;
  /** vmlinux BTF. */
  readonly vmlinux: Spec;
  /** The module that owns the target, `undefined` for vmlinux. */
  readonly module?: string;
  /** The module's split BTF, when it exists. */
  readonly moduleSpec?: Spec;
  /** Set when the target lives in a module whose BTF file is missing. */
  readonly missingModuleBtf?: { readonly module: string; readonly path: string };
  /** The specs to relocate against, most specific first (module, then vmlinux). */
  readonly specs: readonly Spec[];
  /** One line saying what was found and what the loader falls back to. */
  describe(): string;
  /**
   * For a type CO-RE could not find: the {@linkcode MissingModuleBtfError}
   * to throw when module BTF was missing, else `undefined`.
   */
  missingTypeError(typeName: string): MissingModuleBtfError | undefined;
}

/**
 * The BTF a program attached to `targetSymbol` relocates against: vmlinux,
 * plus the owning module's split BTF where it exists. When the module's BTF
 * file is missing the result records it (`missingModuleBtf`), so that a
 * later CO-RE failure can say which module, which file and which option.
 */
export function resolveKernelTypes(targetSymbol: string, options: KernelOptions = {}): KernelTypes {
  const vmlinux = loadKernelSpec(options);
  const module = kernelModuleOf(targetSymbol, options);
  let moduleSpec: Spec | undefined;
  let missing: { module: string; path: string } | undefined;
  if (module !== undefined && !isPseudoModule(module)) {
    moduleSpec = loadKernelModuleSpec(module, options);
    if (!moduleSpec) missing = { module, path: kernelModuleBtfPath(module, options) };
  }
  const specs = moduleSpec ? [moduleSpec, vmlinux] : [vmlinux];
  return {
    target: targetSymbol,
    vmlinux,
    module,
    moduleSpec,
    missingModuleBtf: missing,
    specs,
    describe() {
      if (module === undefined) return `${targetSymbol} is in vmlinux: using vmlinux BTF`;
      if (moduleSpec) {
        return `${targetSymbol} is in module ${module}: using its BTF (${
          kernelModuleBtfPath(module, options)
        }) on top of vmlinux`;
      }
      return `${targetSymbol} is in module ${module}, whose BTF (${
        missing!.path
      }) does not exist ` +
        `(kernel older than 5.11 or ${MODULE_BTF_CONFIG} off): falling back to vmlinux BTF alone`;
    },
    missingTypeError(typeName: string) {
      return missing
        ? new MissingModuleBtfError(typeName, missing.module, missing.path)
        : undefined;
    },
  };
}
