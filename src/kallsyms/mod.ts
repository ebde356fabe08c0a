/**
 * Kernel symbols from `/proc/kallsyms`: a streaming parser, a per-root cached
 * table, lookups by name (address, type, owning module), the symbols of a
 * module, and address symbolization.
 *
 * ```ts
 * import { loadKallsyms, symbolAddress } from "@denobpf/ebpf/kallsyms";
 * const addr = symbolAddress("_stext"); // bigint
 * const mod = loadKallsyms().module("__do_sys_getpid"); // undefined: vmlinux
 * ```
 *
 * Every reading function takes `{ root }` (default `"/"`), reads
 * `<root>/proc/kallsyms` and is synchronous (the table is cached per root).
 * The module of a kernel symbol, as the loader sees it, is `kernelModuleOf`
 * (root entry and `@denobpf/ebpf/btf`).
 *
 * @module
 */

export {
  Kallsyms,
  type KallsymsParseOptions,
  KallsymsParser,
  type KallsymsSymbol,
  type SymbolizedAddress,
} from "./kallsyms.ts";
export {
  type AmbiguousCandidate,
  AmbiguousSymbolError,
  type AmbiguousSymbolErrorOptions,
  RestrictedAddressError,
} from "./errors.ts";
export {
  clearKallsymsCache,
  type KallsymsOptions,
  kallsymsPath,
  loadKallsyms,
  symbolAddress,
  symbolModules,
  symbolsOf,
} from "./load.ts";
// The base classes of the errors above, for `instanceof` checks by users of
// this entry point alone.
export {
  EbpfError,
  InvalidArgumentError,
  NotFoundError,
  NotSupportedError,
  ParseError,
} from "../errors.ts";
