/**
 * Reading perf event arrays (`BPF_MAP_TYPE_PERF_EVENT_ARRAY`) filled by
 * `bpf_perf_event_output`: one ring per CPU, lost-sample accounting,
 * pause/resume, overwritable rings.
 *
 * @module
 */

export * from "./reader.ts";
