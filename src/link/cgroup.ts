/**
 * cgroup programs (cgroup_skb, cgroup_sock, cgroup_sock_addr, sock_ops,
 * cgroup_device, cgroup_sysctl, cgroup_sockopt): a cgroup link
 * (BPF_LINK_CREATE, Linux 5.7+), or BPF_PROG_ATTACH with BPF_F_ALLOW_MULTI
 * on older kernels (closing detaches it with BPF_PROG_DETACH).
 *
 * @module
 */

import { AttachType, attachTypeName, ProgramType } from "../asm/types.ts";
import { InvalidArgumentError } from "../errors.ts";
import { type AttachTypeLike, attachTypeNumber } from "../program/types.ts";
import { bpf, bpfError, bpfTry } from "../sys/bpf.ts";
import { EINVAL } from "../sys/errno.ts";
import { FD } from "../sys/fd.ts";
import { dupRawFd } from "../sys/fd_dup.ts";
import { OpenFlags, openPath } from "../sys/open_path.ts";
import {
  type FdSource,
  linkCreateError,
  linkCreateTry,
  programAttachType,
  programFd,
  programType,
} from "./_common.ts";
import { BpfLink, LegacyLink } from "./link.ts";

/** `attach_flags` of BPF_PROG_ATTACH. */
export const CgroupAttachFlags = {
  /** BPF_F_ALLOW_OVERRIDE: a descendant cgroup may override this program. */
  ALLOW_OVERRIDE: 1 << 0,
  /** BPF_F_ALLOW_MULTI: several programs per cgroup and attach type. */
  ALLOW_MULTI: 1 << 1,
  /** BPF_F_REPLACE: replace `replaceProgram`. */
  REPLACE: 1 << 2,
} as const;

/** Options of {@linkcode attachCgroup}. */
export interface CgroupOptions {
  /** The cgroup: a cgroup v2 directory path, or an open descriptor of one. */
  cgroup: string | number | FD;
  /**
   * The attach type, e.g. `"cgroup_inet_ingress"`; default: the program's
   * own `attachType` (the one `loadProgram` loaded it with), or the only one
   * its program type has.
   */
  attachType?: AttachTypeLike;
  /** BPF_PROG_ATTACH flags for the legacy path (default ALLOW_MULTI). */
  flags?: number;
  /** Use BPF_PROG_ATTACH instead of a link. */
  legacy?: boolean;
}

const DEFAULT_ATTACH: Readonly<Record<number, number>> = {
  [ProgramType.cgroup_sock]: AttachType.cgroup_inet_sock_create,
  [ProgramType.cgroup_device]: AttachType.cgroup_device,
  [ProgramType.sock_ops]: AttachType.cgroup_sock_ops,
  [ProgramType.cgroup_sysctl]: AttachType.cgroup_sysctl,
};

function cgroupFd(c: string | number | FD): FD {
  if (typeof c === "string") {
    return openPath(c, OpenFlags.RDONLY | OpenFlags.DIRECTORY, { label: `cgroup ${c}` });
  }
  return c instanceof FD ? c.dup("cgroup") : dupRawFd(c, "cgroup");
}

/**
 * Attaches a cgroup program to a cgroup (v2). The cgroup is opened (or its
 * descriptor duplicated) for the duration of the attachment.
 *
 * @example
 * ```ts ignore
 * using link = attachCgroup(prog, { cgroup: "/sys/fs/cgroup/test", attachType: "cgroup_inet_egress" });
 * ```
 */
export function attachCgroup(program: FdSource, options: CgroupOptions): BpfLink | LegacyLink {
  const type = programType(program);
  const at = options.attachType !== undefined
    ? attachTypeNumber(options.attachType)
    : programAttachType(program) ?? DEFAULT_ATTACH[type];
  if (at === undefined) {
    throw new InvalidArgumentError(
      "attachCgroup: give attachType (e.g. cgroup_inet_ingress or cgroup_inet_egress for " +
        "cgroup_skb programs), or load the program with it",
    );
  }
  const kind = `cgroup ${attachTypeName(at) ?? at}`;
  const cg = cgroupFd(options.cgroup);
  try {
    const prog = programFd(program);
    if (!options.legacy) {
      const r = linkCreateTry({ progFd: prog, targetFd: cg.value, attachType: at });
      if (r >= 0) {
        cg.close();
        return new BpfLink(new FD(r, `${kind} link`), "cgroup");
      }
      if (-r !== EINVAL) {
        throw linkCreateError(-r, { feature: "cgroup links", requirement: "Linux 5.7" });
      }
      // EINVAL: no cgroup links (before 5.7), or a wrong attach type, which
      // BPF_PROG_ATTACH reports again below.
    }
    const flags = options.flags ?? CgroupAttachFlags.ALLOW_MULTI;
    const progCopy = dupRawFd(prog, "program");
    const attr = {
      targetFd: cg.value,
      attachBpfFd: progCopy.value,
      attachType: at,
      attachFlags: flags,
    };
    const r = bpfTry("PROG_ATTACH", attr);
    if (r < 0) {
      progCopy.close();
      throw bpfError("PROG_ATTACH", -r, {
        hint: `attaching to the cgroup as ${attachTypeName(at) ?? at}: does the program's ` +
          "type (and expected attach type) match?",
      });
    }
    return new LegacyLink("cgroup", () => {
      try {
        bpf("PROG_DETACH", { targetFd: cg.value, attachBpfFd: progCopy.value, attachType: at });
      } finally {
        progCopy.close();
        cg.close();
      }
    });
  } catch (e) {
    cg.close();
    throw e;
  }
}
