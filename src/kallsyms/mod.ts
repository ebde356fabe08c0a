/**
 * Kernel symbols from `/proc/kallsyms`: a streaming parser, a per-root cached
 * table, lookups by name (address, type, owning module), the symbols of a
 * module, and address symbolization.
 *
 * ```ts
 * import { symbolAddress, symbolModule } from "@denobpf/ebpf/kallsyms";
 * const addr = await symbolAddress("_stext"); // bigint
 * const mod = await symbolModule("__do_sys_getpid"); // undefined: vmlinux
 * ```
 *
 * Every reading function takes `{ root }` (default `"/"`) and reads
 * `<root>/proc/kallsyms`.
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
  loadKallsymsSync,
  symbolAddress,
  symbolModule,
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
