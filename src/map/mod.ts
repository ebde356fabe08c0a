/**
 * BPF maps: describe one with a {@linkcode MapSpec}, create it with
 * {@linkcode createMap}, and use the returned {@linkcode BpfMap} (which owns
 * the descriptor) to look up, update, delete, iterate, batch, freeze, mmap
 * and pin. Codecs ({@linkcode u32}, {@linkcode u64}, {@linkcode struct}, …)
 * give typed views with JavaScript values.
 *
 * @example
 * ```ts
 * import { createMap, u32, u64 } from "./mod.ts";
 *
 * using counts = createMap(
 *   { type: "hash", keySize: 4, valueSize: 8, maxEntries: 1024, name: "counts" },
 *   { key: u32, value: u64 },
 * );
 * counts.set(7, 1n);
 * for (const [k, v] of counts) console.log(k, v);
 * ```
 *
 * @module
 */

export * from "./types.ts";
export * from "./spec.ts";
export * from "./errors.ts";
export * from "./info.ts";
export * from "./codec.ts";
export * from "./layout.ts";
export * from "./memory.ts";
export * from "./typed.ts";
export * from "./map.ts";
/** The number of possible CPUs: the value count of a per-CPU map's entry. */
export { possibleCpuCount } from "../sys/cpu.ts";
// The base classes of the errors above, for `instanceof` checks by users of
// this entry alone.
export { EbpfError, InvalidArgumentError, NotFoundError, ParseError } from "../errors.ts";
// The types this entry's API refers to, so that it is complete on its own.
export type { FD } from "../sys/fd.ts";
export type { FdSource, ProgramHints } from "../sys/fd_source.ts";
export { PermissionError, SyscallError } from "../sys/error.ts";
