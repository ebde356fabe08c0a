/**
 * Feature probes: what the running kernel supports, asked the way bpftool
 * and libbpf ask (minimal maps and programs through the raw bpf(2) layer).
 * Every probe runs once per process and is cached.
 *
 * - `have*` functions answer true or false;
 * - `check*` functions throw {@linkcode NotSupportedError} naming the kernel
 *   version and config option that bring the feature;
 * - `probe*` functions return what the probe saw (errno, verifier verdict);
 * - {@linkcode probeAll} returns a report, and {@linkcode formatReport} /
 *   {@linkcode reportToJson} print it the way `bpftool feature probe` does.
 *
 * @example
 * ```ts
 * import { checkMapType, haveHelper, haveProgramType } from "@denobpf/ebpf/features";
 *
 * checkMapType("ringbuf"); // throws NotSupportedError before Linux 5.8
 * haveProgramType("xdp"); // true
 * haveHelper("xdp", "bpf_redirect_map"); // true
 * ```
 *
 * @module
 */

export { EbpfError, NotSupportedError } from "../errors.ts";
export type { HelperName } from "../asm/helpers.ts";
export type { ProgramTypeName } from "../asm/types.ts";
export type { MapTypeName } from "../map/types.ts";
export * from "./errors.ts";
export * from "./helpers.ts";
export * from "./map_types.ts";
export * from "./misc.ts";
export * from "./program_types.ts";
export * from "./report.ts";
export * from "./requirements.ts";
// The types this entry's API refers to, so that it is complete on its own.
export type { Helper, ProgramType } from "../asm/mod.ts";
export type { MapType } from "../map/mod.ts";
