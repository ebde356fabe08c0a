/**
 * The software and hardware perf events a probe point may name, with
 * bpftrace 0.17's names, aliases and default sample periods
 * (`software:page-faults:100`, `software:faults`, `hardware:cycles:1e6`).
 *
 * @module
 */

/** One perf event a `software:` or `hardware:` point names. */
export interface PerfEventPoint {
  /** `PERF_TYPE_SOFTWARE` (1) or `PERF_TYPE_HARDWARE` (0). */
  type: 0 | 1;
  /** The event's `perf_sw_ids` or `perf_hw_id` value. */
  config: number;
  /** Events between two runs of the program (the point's count, or the event's default). */
  period: number;
}

// [name, alias, config, default period], as bpftrace's SW_PROBE_LIST and HW_PROBE_LIST.
const SOFTWARE: readonly [string, string, number, number][] = [
  ["alignment-faults", "", 7, 1],
  ["bpf-output", "", 10, 1],
  ["context-switches", "cs", 3, 1000],
  ["cpu-clock", "cpu", 0, 1000000],
  ["cpu-migrations", "", 4, 1],
  ["dummy", "", 9, 1],
  ["emulation-faults", "", 8, 1],
  ["major-faults", "", 6, 1],
  ["minor-faults", "", 5, 100],
  ["page-faults", "faults", 2, 100],
  ["task-clock", "", 1, 1],
];
const HARDWARE: readonly [string, string, number, number][] = [
  ["backend-stalls", "", 8, 1000000],
  ["branch-instructions", "branches", 4, 100000],
  ["branch-misses", "", 5, 100000],
  ["bus-cycles", "", 6, 100000],
  ["cache-misses", "", 3, 1000000],
  ["cache-references", "", 2, 1000000],
  ["cpu-cycles", "cycles", 0, 1000000],
  ["frontend-stalls", "", 7, 1000000],
  ["instructions", "", 1, 1000000],
  ["ref-cycles", "", 9, 1000000],
];

/**
 * The perf event of a `software` or `hardware` point's target
 * (`"page-faults:100"`, `"faults"`), or undefined when the event has no
 * such name or the count is not a positive integer.
 */
export function perfEventPoint(
  kind: "software" | "hardware",
  target: string,
): PerfEventPoint | undefined {
  const [event, count, ...rest] = target.split(":");
  const row = (kind === "software" ? SOFTWARE : HARDWARE).find(([name, alias]) =>
    event === name || (alias !== "" && event === alias)
  );
  if (!row || rest.length || (count !== undefined && !/^[1-9][0-9]*$/.test(count))) {
    return undefined;
  }
  return {
    type: kind === "software" ? 1 : 0,
    config: row[2],
    period: count ? Number(count) : row[3],
  };
}
