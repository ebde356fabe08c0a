/**
 * Reading perf event arrays (`BPF_MAP_TYPE_PERF_EVENT_ARRAY`) filled by
 * `bpf_perf_event_output`: one ring per CPU, lost-sample accounting,
 * pause/resume, overwritable rings.
 *
 * @example
 * ```ts
 * import { createMap, possibleCpuCount } from "@denobpf/ebpf/map";
 * import { perfReader } from "@denobpf/ebpf/perf";
 *
 * // The map a program writes with bpf_perf_event_output(); pass it to the
 * // program's `maps`, attach the program, then read:
 * using events = createMap({
 *   type: "perf_event_array",
 *   keySize: 4,
 *   valueSize: 4,
 *   maxEntries: possibleCpuCount(),
 * });
 * using reader = perfReader(events);
 * const signal = AbortSignal.timeout(1000);
 * for await (const rec of reader.records({ signal })) console.log(rec.cpu, rec);
 * ```
 *
 * @module
 */

export * from "./reader.ts";
// The types this entry's API refers to, so that it is complete on its own.
export type { FD } from "../sys/fd.ts";
export type { FdSource, ProgramHints } from "../sys/fd_source.ts";
