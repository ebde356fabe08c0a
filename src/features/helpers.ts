/**
 * Helper probes: load `call helper; exit` as a program of the type and read
 * the verifier's verdict. A program that loads, or that the verifier rejects
 * for its arguments, shows the helper is available; the verifier says so in
 * words when the helper is unknown (`invalid func unknown#N`) or not offered
 * to the program type (`program of this type cannot use helper …` since
 * Linux 6.x, `unknown func …` before).
 *
 * libbpf 1.1 (and so bpftool 7.1) only knows the older wording, so on newer
 * kernels it reports every helper as available to every program type. The
 * `"libbpf-1.1"` semantics reproduce that reading, to compare with it.
 *
 * @module
 */

import type { HelperName } from "../asm/helpers.ts";
import { NotSupportedError } from "../errors.ts";
import { memo } from "./_cache.ts";
import { loadSetup } from "./_load_setup.ts";
import { helperFullName, helperId, programTypeName, programTypeNumber } from "./_names.ts";
import { assertCanProbe, isDenied } from "./_privilege.ts";
import { call, exit, type LoadOutcome, progLoad, program, reusableLoad } from "./_raw.ts";
import { IndeterminateProbeError } from "./errors.ts";
import { haveProgramType, type ProgramTypeInput } from "./program_types.ts";
import { PROGRAM_TYPE_REQUIREMENTS } from "./requirements.ts";

/** A helper, by name (`"bpf_map_lookup_elem"` or `"map_lookup_elem"`) or id. */
export type HelperInput = Exclude<HelperName, "unspec"> | `bpf_${HelperName}` | number;

/**
 * The verifier's verdict on a helper probe:
 * - `"loaded"`: the program loaded;
 * - `"rejected"`: rejected for another reason (the helper's arguments): available;
 * - `"sleepable_only"`: available to sleepable programs of the type only
 *   ("helper call might sleep in a non-sleepable prog", and the type can sleep);
 * - `"not_for_type"`: the helper exists but programs of this type may not call
 *   it ("program of this type cannot use helper", "func … not supported for
 *   program type", "helper call is not allowed in probe", or a sleeping
 *   helper for a type that cannot sleep);
 * - `"unknown_func"`: "unknown func" (how kernels before 6.x said `"not_for_type"`);
 * - `"invalid_func"`: "invalid func unknown#N": the kernel does not know the helper.
 */
export type HelperVerdict =
  | "loaded"
  | "rejected"
  | "sleepable_only"
  | "not_for_type"
  | "unknown_func"
  | "invalid_func";

/** How to read a verdict. */
export type HelperSemantics = "kernel" | "libbpf-1.1";

/** What a helper probe found. */
export interface HelperProbe {
  /** The program type number. */
  programType: number;
  /** The helper id. */
  helper: number;
  /** The helper's name, e.g. `"bpf_map_lookup_elem"`. */
  name: string;
  /** False if the program type itself does not load (then no helper was probed). */
  programTypeSupported: boolean;
  /** The verifier's verdict (`undefined` if the program type is not supported). */
  verdict?: HelperVerdict;
  /** The errno of the probe's BPF_PROG_LOAD (0 if it loaded). */
  errno: number;
}

/** Options of {@linkcode haveHelper}. */
export interface HelperOptions {
  /**
   * `"kernel"` (default): what the running kernel allows. `"libbpf-1.1"`:
   * libbpf 1.1's reading of the same probe, which misses the Linux 6.x
   * wording (for comparison with bpftool 7.1).
   */
  semantics?: HelperSemantics;
}

const LOG_SIZE = 4096;

const NOT_FOR_TYPE = [
  "program of this type cannot use helper ",
  " not supported for program type ",
  "helper call is not allowed in probe",
];

function classify(errno: number, log: string): HelperVerdict {
  if (errno === 0) return "loaded";
  // libbpf's two patterns first, so the "libbpf-1.1" reading stays exact.
  if (log.includes("invalid func ")) return "invalid_func";
  if (log.includes("unknown func ")) return "unknown_func";
  if (NOT_FOR_TYPE.some((m) => log.includes(m))) return "not_for_type";
  if (log.includes("might sleep in a non-sleepable prog")) return "sleepable_only";
  return "rejected";
}

const BPF_F_SLEEPABLE = 1 << 4;

/** Per program type: the probe program (`call #id; exit`) and its reusable load. */
const loaders = new Map<number, { insns: Uint8Array; load: () => LoadOutcome }>();

function loadCalling(type: number, id: number): LoadOutcome {
  let l = loaders.get(type);
  if (l === undefined) {
    const insns = program(call(0), exit());
    l = { insns, load: reusableLoad(insns, loadSetup(type).attr, LOG_SIZE) };
    loaders.set(type, l);
  }
  new DataView(l.insns.buffer).setInt32(4, id, true); // the call's immediate
  return l.load();
}

function runProbe(type: number, id: number): HelperProbe {
  const name = helperFullName(id);
  const base = { programType: type, helper: id, name };
  if (!haveProgramType(type)) return { ...base, programTypeSupported: false, errno: 0 };
  const setup = loadSetup(type);
  if (setup.noHelperProbe) {
    throw new IndeterminateProbeError(
      `helpers of program type ${programTypeName(type)}`,
      "programs of this type only load with a real attach target",
    );
  }
  const { errno, log } = loadCalling(type, id);
  if (isDenied(errno) && !log) assertCanProbe();
  let verdict = classify(errno, log);
  if (verdict === "sleepable_only") {
    // Can programs of this type sleep at all? Ask with BPF_F_SLEEPABLE.
    const flags = (setup.attr.progFlags ?? 0) | BPF_F_SLEEPABLE;
    const again = progLoad(
      program(call(id), exit()),
      { ...setup.attr, progFlags: flags },
      LOG_SIZE,
    );
    if (again.errno !== 0 && again.log.includes("can be sleepable")) verdict = "not_for_type";
  }
  return { ...base, programTypeSupported: true, verdict, errno };
}

/**
 * Probes helper `helper` for program type `programType` (once per process)
 * and returns the verdict. Throws {@linkcode IndeterminateProbeError} for
 * struct_ops, tracing, LSM and extension programs when the type loads.
 */
export function probeHelper(programType: ProgramTypeInput, helper: HelperInput): HelperProbe {
  const t = programTypeNumber(programType);
  const id = helperId(helper);
  return memo(`helper:${t}:${id}`, () => runProbe(t, id));
}

/** Reads a probe's verdict: is the helper available? */
export function helperAvailable(p: HelperProbe, semantics: HelperSemantics = "kernel"): boolean {
  switch (p.verdict) {
    case undefined:
    case "invalid_func":
    case "unknown_func":
      return false;
    case "not_for_type":
      return semantics === "libbpf-1.1";
    default:
      return true;
  }
}

/**
 * True if programs of type `programType` may call helper `helper` on the
 * running kernel. Probed once per (type, helper) per process.
 *
 * @example
 * ```ts
 * haveHelper("xdp", "bpf_redirect_map"); // true
 * haveHelper("socket_filter", "bpf_sys_bpf"); // false
 * ```
 */
export function haveHelper(
  programType: ProgramTypeInput,
  helper: HelperInput,
  options: HelperOptions = {},
): boolean {
  return helperAvailable(probeHelper(programType, helper), options.semantics);
}

/**
 * Throws {@linkcode NotSupportedError} if programs of type `programType`
 * may not call `helper`: the requirement names the program type's kernel
 * and config if the type itself is missing, otherwise what the verifier
 * said about the helper.
 */
export function checkHelper(programType: ProgramTypeInput, helper: HelperInput): void {
  const p = probeHelper(programType, helper);
  if (helperAvailable(p)) return;
  const typeName = programTypeName(p.programType);
  const feature = `helper ${p.name} for program type ${typeName}`;
  if (!p.programTypeSupported) {
    throw new NotSupportedError(feature, PROGRAM_TYPE_REQUIREMENTS[typeName], {
      detail: `program type ${typeName} itself is not supported`,
    });
  }
  const requirement = p.verdict === "invalid_func"
    ? `a kernel that knows ${p.name} (this one does not know helper #${p.helper})`
    : `a kernel that offers ${p.name} to ${typeName} programs, or another program type`;
  throw new NotSupportedError(feature, requirement, {
    detail: p.verdict === "invalid_func"
      ? "the verifier does not know the helper"
      : `the verifier does not let ${typeName} programs call it`,
  });
}
