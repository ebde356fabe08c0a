/**
 * Locating uprobes in user-space binaries: library and binary paths by
 * name, function symbols to file offsets (PIE and shared libraries too),
 * and USDT probes (`.note.stapsdt`) with their semaphores and argument specs.
 *
 * ```ts ignore
 * import { readUsdtProbes, symbolOffset } from "./mod.ts";
 * const { offset } = symbolOffset("/usr/bin/bash", "readline");
 * ```
 *
 * @module
 */

export * from "./resolve.ts";
export * from "./usdt.ts";
