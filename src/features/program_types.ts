/**
 * Program type probes: load `r0 = 0; exit` as a program of the type, with
 * the per-type attributes libbpf's `libbpf_probe_bpf_prog_type` uses, so the
 * answers match `bpftool feature probe`.
 *
 * @module
 */

import type { ProgramTypeName } from "../asm/types.ts";
import { NotSupportedError } from "../errors.ts";
import { errnoName } from "../sys/errno.ts";
import { memo } from "./_cache.ts";
import { loadSetup } from "./_load_setup.ts";
import { programTypeName, programTypeNumber } from "./_names.ts";
import { assertCanProbe, isDenied } from "./_privilege.ts";
import { progLoad, RETURN_ZERO } from "./_raw.ts";
import { PROGRAM_TYPE_REQUIREMENTS } from "./requirements.ts";

/** A program type, by libbpf name (`"xdp"`) or number. */
export type ProgramTypeInput = Exclude<ProgramTypeName, "unspec"> | number;

/** What a program type probe found. */
export interface ProgramTypeProbe {
  /** The program type number. */
  type: number;
  /** Its libbpf name. */
  name: string;
  /** True if the kernel loads programs of this type. */
  supported: boolean;
  /** The errno of the probe's BPF_PROG_LOAD (0 if it loaded). */
  errno: number;
}

function runProbe(type: number): ProgramTypeProbe {
  const name = programTypeName(type);
  const setup = loadSetup(type);
  const { errno, log } = progLoad(RETURN_ZERO, setup.attr, setup.expect ? 4096 : 0);
  if (isDenied(errno)) assertCanProbe();
  let supported = errno === 0;
  if (setup.expect) {
    const { errno: want, messages } = setup.expect;
    supported = errno === want && (messages === undefined || messages.some((m) => log.includes(m)));
  }
  return { type, name, supported, errno };
}

/** Probes program type `type` (once per process) and returns what the probe saw. */
export function probeProgramType(type: ProgramTypeInput): ProgramTypeProbe {
  const n = programTypeNumber(type);
  return memo(`prog:${n}`, () => runProbe(n));
}

/**
 * True if the running kernel loads programs of type `type`. Probed once per
 * process by loading a two-instruction program.
 *
 * Loading is not attaching: a kernel without kprobe events loads kprobe
 * programs but cannot attach them.
 */
export function haveProgramType(type: ProgramTypeInput): boolean {
  return probeProgramType(type).supported;
}

/**
 * Throws {@linkcode NotSupportedError} (naming the kernel version and
 * config option that bring it) if the kernel cannot load programs of `type`.
 */
export function checkProgramType(type: ProgramTypeInput): void {
  const p = probeProgramType(type);
  if (p.supported) return;
  throw new NotSupportedError(`program type ${p.name}`, PROGRAM_TYPE_REQUIREMENTS[p.name], {
    detail: p.errno === 0
      ? "the probe program loaded where the kernel should have refused it"
      : `the probe's BPF_PROG_LOAD failed with ${errnoName(p.errno)}` +
        (isDenied(p.errno) ? " (refused by a security policy or missing capability)" : ""),
  });
}
