/**
 * tcx (Linux 6.6+): BPF programs on a device's ingress or egress with a
 * link, ordered relative to each other with before/after anchors.
 *
 * @module
 */

import { AttachType, ProgramType } from "../asm/types.ts";
import { InvalidArgumentError, NotSupportedError } from "../errors.ts";
import { EINVAL, ENOTSUPP, EOPNOTSUPP } from "../sys/errno.ts";
import { FD } from "../sys/fd.ts";
import { bpfError } from "../sys/bpf.ts";
import {
  expectProgramType,
  type FdSource,
  interfaceIndex,
  type InterfaceTarget,
  linkCreateError,
  linkCreateTry,
  programFd,
} from "./_common.ts";
import { BpfLink } from "./link.ts";

/** Flags of multi-program attachment (tcx, netkit, cgroup mprog). */
export const MprogFlags = {
  /** BPF_F_REPLACE */
  REPLACE: 1 << 2,
  /** BPF_F_BEFORE */
  BEFORE: 1 << 3,
  /** BPF_F_AFTER */
  AFTER: 1 << 4,
  /** BPF_F_ID: the anchor is an id, not a descriptor. */
  ID: 1 << 5,
  /** BPF_F_LINK: the anchor is a link, not a program. */
  LINK: 1 << 13,
} as const;

/**
 * Where to insert relative to the programs already there: `"all"` (before
 * all = first, after all = last), a program or link (object with `fd`, or its
 * descriptor via `{ programFd }` / `{ linkFd }`), or a kernel id.
 */
export type TcxAnchor =
  | "all"
  | { program: FdSource }
  | { link: { readonly fd: FD } }
  | { programId: number }
  | { linkId: number };

/** Options of {@linkcode attachTcx}. */
export interface TcxOptions extends InterfaceTarget {
  /** `"ingress"` (tcx_ingress) or `"egress"` (tcx_egress). */
  direction: "ingress" | "egress";
  /** Insert before this anchor. */
  before?: TcxAnchor;
  /** Insert after this anchor. */
  after?: TcxAnchor;
  /** Fail with ESTALE unless the attachment list still has this revision. */
  expectedRevision?: bigint | number;
}

function anchor(a: TcxAnchor): { flags: number; relative: number } {
  if (a === "all") return { flags: 0, relative: 0 };
  if ("program" in a) return { flags: 0, relative: programFd(a.program) };
  if ("link" in a) return { flags: MprogFlags.LINK, relative: a.link.fd.value };
  if ("programId" in a) return { flags: MprogFlags.ID, relative: a.programId };
  if ("linkId" in a) return { flags: MprogFlags.ID | MprogFlags.LINK, relative: a.linkId };
  throw new InvalidArgumentError("attachTcx: unknown anchor");
}

/** The `flags` and `relative_fd`/`relative_id` of a before/after pair. */
export function mprogPlacement(
  before: TcxAnchor | undefined,
  after: TcxAnchor | undefined,
): { flags: number; relative: number } {
  if (before !== undefined && after !== undefined) {
    throw new InvalidArgumentError("give before or after, not both");
  }
  if (before !== undefined) {
    const a = anchor(before);
    return { flags: a.flags | MprogFlags.BEFORE, relative: a.relative };
  }
  if (after !== undefined) {
    const a = anchor(after);
    return { flags: a.flags | MprogFlags.AFTER, relative: a.relative };
  }
  return { flags: 0, relative: 0 };
}

/**
 * Attaches a sched_cls program to a device's tcx ingress or egress hook
 * (BPF_LINK_CREATE with attach type tcx_ingress = 46 / tcx_egress = 47).
 */
export function attachTcx(program: FdSource, options: TcxOptions): BpfLink {
  expectProgramType(program, [ProgramType.sched_cls], "attachTcx");
  const ifindex = interfaceIndex(options, "attachTcx");
  if (options.direction !== "ingress" && options.direction !== "egress") {
    throw new InvalidArgumentError('attachTcx: direction must be "ingress" or "egress"');
  }
  const at = options.direction === "ingress" ? AttachType.tcx_ingress : AttachType.tcx_egress;
  const { flags, relative } = mprogPlacement(options.before, options.after);
  const r = linkCreateTry({
    progFd: programFd(program),
    targetFd: ifindex,
    attachType: at,
    flags,
    tcxRelative: relative,
    tcxExpectedRevision: options.expectedRevision !== undefined
      ? BigInt(options.expectedRevision)
      : undefined,
  });
  const where = options.interface ?? `ifindex ${ifindex}`;
  if (r >= 0) return new BpfLink(new FD(r, `tcx ${options.direction} ${where}`), "tcx");
  const err = -r;
  if (err === EOPNOTSUPP || err === ENOTSUPP) {
    throw new NotSupportedError("tcx links", "Linux 6.6 with CONFIG_NET_XGRESS", {
      detail: "use attachTc (a clsact qdisc and a bpf filter) on this kernel",
    });
  }
  if (err === EINVAL) {
    throw bpfError("LINK_CREATE", err, {
      hint: `attaching tcx ${options.direction} on ${where}: tcx needs Linux 6.6 (older kernels: ` +
        "attachTc); otherwise check the anchor (before/after) and the program type",
    });
  }
  if (err === 116 /* ESTALE */) {
    throw bpfError("LINK_CREATE", err, {
      hint: "the attachment list changed since expectedRevision; read it again and retry",
    });
  }
  throw linkCreateError(err, { feature: "tcx links", requirement: "Linux 6.6" });
}
