/**
 * Reading BPF ring buffers (`BPF_MAP_TYPE_RINGBUF`) from user space.
 *
 * @example
 * ```ts
 * import { createMap } from "@denobpf/ebpf/map";
 * import { ringBufReader } from "@denobpf/ebpf/ringbuf";
 *
 * // The map a program writes with bpf_ringbuf_output(); pass it to the
 * // program's `maps`, attach the program, then read:
 * using events = createMap({ type: "ringbuf", keySize: 0, valueSize: 0, maxEntries: 4096 });
 * using reader = ringBufReader(events);
 * const signal = AbortSignal.timeout(1000);
 * for await (const record of reader.records({ signal })) console.log(record.byteLength);
 * ```
 *
 * @module
 */

export * from "./reader.ts";
// The types this entry's API refers to, so that it is complete on its own.
export type { FD } from "../sys/fd.ts";
export type { FdSource, ProgramHints } from "../sys/fd_source.ts";
