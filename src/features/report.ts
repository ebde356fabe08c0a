/**
 * `probeAll`: every probe at once, as a structured report, and the report
 * in `bpftool feature probe`'s words (plain text and JSON).
 *
 * @module
 */

import { allMapTypes, allProgramTypes, helperFullName, helperId, maxHelperId } from "./_names.ts";
import { IndeterminateProbeError } from "./errors.ts";
import { helperAvailable, type HelperSemantics, probeHelper } from "./helpers.ts";
import { probeMapType } from "./map_types.ts";
import { MISC_DESCRIPTIONS, MISC_FEATURES, type MiscFeature, probeMisc } from "./misc.ts";
import { probeProgramType } from "./program_types.ts";

/**
 * Which program types, map types and helpers to enumerate:
 * - `"all"`: every one denobpf knows (this kernel's and older);
 * - `"bpftool-7.1"`: exactly the ones bpftool 7.1 (libbpf 1.1, Linux 6.1 UAPI) lists.
 */
export type ProbeCatalog = "all" | "bpftool-7.1";

/** Options of {@linkcode probeAll}. */
export interface ProbeAllOptions {
  /** Which types and helpers to enumerate; default `"all"`. */
  catalog?: ProbeCatalog;
  /**
   * How to read helper probes; default `"kernel"` (what the kernel allows).
   * `"libbpf-1.1"` reproduces bpftool 7.1's reading.
   */
  semantics?: HelperSemantics;
  /**
   * Also probe the helpers bpftool leaves out unless asked for `full`
   * (bpf_trace_printk, bpf_trace_vprintk, bpf_probe_write_user: probing
   * them makes the kernel log a warning). Default false.
   */
  full?: boolean;
  /** Probe helpers at all (the longest section: ~6000 loads). Default true. */
  helpers?: boolean;
}

/** One program or map type in a report. */
export interface TypeEntry {
  /** The libbpf name. */
  name: string;
  /** The number. */
  type: number;
  /** True if the kernel has it. */
  available: boolean;
}

/** The helpers of one program type in a report. */
export interface HelperEntry {
  /** The program type's libbpf name. */
  programType: string;
  /** The program type's number. */
  type: number;
  /**
   * `"probed"`; `"program_type_unsupported"` (nothing to probe); or
   * `"indeterminate"` (the type only loads with a real attach target).
   */
  status: "probed" | "program_type_unsupported" | "indeterminate";
  /** The available helpers' names, in id order. */
  available: string[];
}

/** One miscellaneous feature in a report. */
export interface MiscEntry {
  /** The feature. */
  feature: MiscFeature;
  /** Its description. */
  description: string;
  /** True if the kernel has it. */
  available: boolean;
}

/** Everything {@linkcode probeAll} found. */
export interface ProbeReport {
  /** The options the report was made with (defaults filled in). */
  options: Required<ProbeAllOptions>;
  /** True if the bpf(2) syscall exists (when false, nothing else was probed). */
  bpfSyscall: boolean;
  /** Program types, in number order. */
  programTypes: TypeEntry[];
  /** Map types, in number order. */
  mapTypes: TypeEntry[];
  /** Helpers per program type, in program type order (empty if not probed). */
  helpers: HelperEntry[];
  /** Miscellaneous features. */
  misc: MiscEntry[];
}

/** The helpers bpftool skips unless `full`: probing them logs a kernel warning. */
const NOISY_HELPERS = ["trace_printk", "trace_vprintk", "probe_write_user"];

/** The last program type, map type and helper libbpf 1.1 / bpftool 7.1 know. */
const BPFTOOL_71 = { programType: 31, mapType: 31, helper: 209 };
/** bpftool 7.1's misc section. */
const BPFTOOL_71_MISC: readonly MiscFeature[] = [
  "large_insn_limit",
  "bounded_loops",
  "v2_isa",
  "v3_isa",
];

/**
 * Runs every probe (each once per process; later calls reuse the results)
 * and returns a structured report.
 *
 * @example
 * ```ts
 * const report = probeAll({ helpers: false });
 * console.log(report.mapTypes.filter((m) => !m.available).map((m) => m.name));
 * ```
 */
export function probeAll(options: ProbeAllOptions = {}): ProbeReport {
  const opts: Required<ProbeAllOptions> = {
    catalog: options.catalog ?? "all",
    semantics: options.semantics ?? "kernel",
    full: options.full ?? false,
    helpers: options.helpers ?? true,
  };
  const compat = opts.catalog === "bpftool-7.1";
  const report: ProbeReport = {
    options: opts,
    bpfSyscall: probeMisc("bpf_syscall").supported,
    programTypes: [],
    mapTypes: [],
    helpers: [],
    misc: [],
  };
  if (!report.bpfSyscall) return report;

  const progTypes = allProgramTypes().filter((t) => !compat || t <= BPFTOOL_71.programType);
  for (const t of progTypes) {
    const p = probeProgramType(t);
    report.programTypes.push({ name: p.name, type: t, available: p.supported });
  }
  for (const t of allMapTypes().filter((t) => !compat || t <= BPFTOOL_71.mapType)) {
    const p = probeMapType(t);
    report.mapTypes.push({ name: p.name, type: t, available: p.supported });
  }
  if (opts.helpers) {
    const last = compat ? BPFTOOL_71.helper : maxHelperId();
    const skip = new Set(opts.full ? [] : NOISY_HELPERS.map((h) => helperId(h)));
    for (const entry of report.programTypes) {
      report.helpers.push(helpersOf(entry, last, skip, opts.semantics));
    }
  }
  const misc = compat ? BPFTOOL_71_MISC : MISC_FEATURES.filter((f) => f !== "bpf_syscall");
  for (const feature of misc) {
    report.misc.push({
      feature,
      description: MISC_DESCRIPTIONS[feature],
      available: probeMisc(feature).supported,
    });
  }
  return report;
}

function helpersOf(
  entry: TypeEntry,
  last: number,
  skip: Set<number>,
  semantics: HelperSemantics,
): HelperEntry {
  const out: HelperEntry = {
    programType: entry.name,
    type: entry.type,
    status: "probed",
    available: [],
  };
  if (!entry.available) {
    out.status = "program_type_unsupported";
    return out;
  }
  for (let id = 1; id <= last; id++) {
    if (skip.has(id)) continue;
    try {
      if (helperAvailable(probeHelper(entry.type, id), semantics)) {
        out.available.push(helperFullName(id));
      }
    } catch (e) {
      if (!(e instanceof IndeterminateProbeError)) throw e;
      out.status = "indeterminate";
      return out;
    }
  }
  return out;
}

/** The sections of a report, in bpftool's order (system configuration is the CLI's). */
export type ReportSection = "syscall_config" | "program_types" | "map_types" | "helpers" | "misc";

/** All report sections, in order. */
export const REPORT_SECTIONS: readonly ReportSection[] = [
  "syscall_config",
  "program_types",
  "map_types",
  "helpers",
  "misc",
];

const TITLES: Record<ReportSection, string> = {
  syscall_config: "Scanning system call availability...",
  program_types: "Scanning eBPF program types...",
  map_types: "Scanning eBPF map types...",
  helpers: "Scanning eBPF helper functions...",
  misc: "Scanning miscellaneous eBPF features...",
};

const available = (yes: boolean) => (yes ? "is available" : "is NOT available");

/**
 * The report as `bpftool feature probe` prints it: a title line per
 * section, one line per feature, an empty line after each section.
 */
export function formatReport(
  report: ProbeReport,
  options: { sections?: readonly ReportSection[] } = {},
): string {
  const sections = options.sections ?? REPORT_SECTIONS;
  const lines: string[] = [];
  for (const section of REPORT_SECTIONS) {
    if (!sections.includes(section)) continue;
    if (section !== "syscall_config" && !report.bpfSyscall) break;
    lines.push(TITLES[section]);
    switch (section) {
      case "syscall_config":
        lines.push(`bpf() syscall ${available(report.bpfSyscall)}`);
        break;
      case "program_types":
        for (const p of report.programTypes) {
          lines.push(`eBPF program_type ${p.name} ${available(p.available)}`);
        }
        break;
      case "map_types":
        for (const m of report.mapTypes) {
          lines.push(`eBPF map_type ${m.name} ${available(m.available)}`);
        }
        break;
      case "helpers":
        for (const h of report.helpers) {
          lines.push(`eBPF helpers supported for program type ${h.programType}:`);
          for (const name of h.available) lines.push(`\t- ${name}`);
          if (h.available.length === 0) {
            lines.push(
              h.status === "program_type_unsupported"
                ? "\tProgram type not supported"
                : "\tCould not determine which helpers are available",
            );
          }
        }
        break;
      case "misc":
        for (const m of report.misc) lines.push(`${m.description} ${available(m.available)}`);
        break;
    }
    lines.push("");
  }
  return lines.map((l) => l + "\n").join("");
}

const MISC_JSON_KEYS: Partial<Record<MiscFeature, string>> = {
  large_insn_limit: "have_large_insn_limit",
  bounded_loops: "have_bounded_loops",
  v2_isa: "have_v2_isa_extension",
  v3_isa: "have_v3_isa_extension",
  v4_isa: "have_v4_isa_extension",
};

/** The report as `bpftool feature probe -j` prints it (without `system_config`). */
export function reportToJson(
  report: ProbeReport,
  options: { sections?: readonly ReportSection[] } = {},
): Record<string, unknown> {
  const sections = options.sections ?? REPORT_SECTIONS;
  const out: Record<string, unknown> = {};
  const want = (s: ReportSection) => sections.includes(s);
  if (want("syscall_config")) out.syscall_config = { have_bpf_syscall: report.bpfSyscall };
  if (!report.bpfSyscall) return out;
  if (want("program_types")) {
    out.program_types = Object.fromEntries(
      report.programTypes.map((p) => [`have_${p.name}_prog_type`, p.available]),
    );
  }
  if (want("map_types")) {
    out.map_types = Object.fromEntries(
      report.mapTypes.map((m) => [`have_${m.name}_map_type`, m.available]),
    );
  }
  if (want("helpers")) {
    out.helpers = Object.fromEntries(
      report.helpers.map((h) => [`${h.programType}_available_helpers`, h.available]),
    );
  }
  if (want("misc")) {
    out.misc = Object.fromEntries(
      report.misc.map((m) => [MISC_JSON_KEYS[m.feature] ?? `have_${m.feature}`, m.available]),
    );
  }
  return out;
}
