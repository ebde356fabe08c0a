// The kprobe and uprobe perf PMUs: their type numbers and config bits from
// /sys/bus/event_source/devices/<pmu>/{type,format/*}.

import { readTextFile } from "../sys/file.ts";

/** What the kernel says about a dynamic-probe PMU. */
export interface ProbePmu {
  /** `perf_event_attr.type` of the PMU. */
  type: number;
  /** The bit of `config` that makes a return probe. */
  retprobeBit: number;
  /** The shift of the uprobe reference-counter offset in `config` (uprobe only). */
  refCtrShift?: number;
  /** The directory that was read. */
  dir: string;
}

function join(root: string, path: string): string {
  return root === "" || root === "/" ? path : root.replace(/\/+$/, "") + path;
}

function read(path: string): string | undefined {
  try {
    return readTextFile(path).trim();
  } catch {
    return undefined;
  }
}

/** The sysfs directory of a probe PMU. */
export function pmuDir(kind: "kprobe" | "uprobe", root = "/"): string {
  return join(root, `/sys/bus/event_source/devices/${kind}`);
}

/** Reads the PMU of `kind`, or undefined when the kernel has none. */
export function probePmu(kind: "kprobe" | "uprobe", root = "/"): ProbePmu | undefined {
  const dir = pmuDir(kind, root);
  const type = Number(read(`${dir}/type`));
  if (!Number.isInteger(type) || read(`${dir}/type`) === undefined) return undefined;
  const bit = /^config:(\d+)/.exec(read(`${dir}/format/retprobe`) ?? "");
  const ref = /^config:(\d+)-\d+/.exec(read(`${dir}/format/ref_ctr_offset`) ?? "");
  return {
    type,
    retprobeBit: bit ? Number(bit[1]) : 0,
    refCtrShift: ref ? Number(ref[1]) : undefined,
    dir,
  };
}
