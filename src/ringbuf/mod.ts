/**
 * Reading BPF ring buffers (`BPF_MAP_TYPE_RINGBUF`) from user space.
 *
 * ```ts
 * import { ringBufReader } from "@denobpf/ebpf";
 * using reader = ringBufReader(map);
 * for await (const rec of reader.records({ signal })) console.log(rec);
 * ```
 *
 * @module
 */

export * from "./reader.ts";
