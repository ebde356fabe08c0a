/**
 * Netfilter programs (Linux 6.4+): a netfilter link on one hook of one
 * protocol family, at a priority.
 *
 * @module
 */

import { AttachType, ProgramType } from "../asm/types.ts";
import { InvalidArgumentError } from "../errors.ts";
import { expectProgramType, type FdSource, linkCreate, programFd } from "./_common.ts";
import { BpfLink } from "./link.ts";

/** Netfilter protocol families (`NFPROTO_*`). */
export const NetfilterFamily = { ipv4: 2, ipv6: 10 } as const;

/** Netfilter hooks (`enum nf_inet_hooks`). */
export const NetfilterHook = {
  prerouting: 0,
  input: 1,
  forward: 2,
  output: 3,
  postrouting: 4,
} as const;

/** Options of {@linkcode attachNetfilter}. */
export interface NetfilterOptions {
  /** Protocol family. */
  family: keyof typeof NetfilterFamily | number;
  /** The hook. */
  hook: keyof typeof NetfilterHook | number;
  /** Priority (not INT_MIN or INT_MAX; above −400 with `defrag`). */
  priority: number;
  /** Have the kernel defragment packets first (BPF_F_NETFILTER_IP_DEFRAG, 6.6+). */
  defrag?: boolean;
}

/** Attaches a netfilter program (BPF_LINK_CREATE with attach type netfilter). */
export function attachNetfilter(program: FdSource, options: NetfilterOptions): BpfLink {
  expectProgramType(program, [ProgramType.netfilter], "attachNetfilter");
  const pf = typeof options.family === "number" ? options.family : NetfilterFamily[options.family];
  const hook = typeof options.hook === "number" ? options.hook : NetfilterHook[options.hook];
  if (pf === undefined || hook === undefined) {
    throw new InvalidArgumentError("attachNetfilter: unknown family or hook");
  }
  const p = options.priority;
  if (!Number.isInteger(p) || p <= -(2 ** 31) || p >= 2 ** 31 - 1) {
    throw new InvalidArgumentError(
      `attachNetfilter: priority must be an integer strictly between INT_MIN and INT_MAX (got ${p})`,
    );
  }
  const fd = linkCreate(
    {
      progFd: programFd(program),
      attachType: AttachType.netfilter,
      netfilterPf: pf,
      netfilterHooknum: hook,
      netfilterPriority: p,
      netfilterFlags: options.defrag ? 1 : 0,
    },
    {
      feature: "netfilter links",
      requirement: "Linux 6.4 with CONFIG_NETFILTER_BPF_LINK",
      invalidHint: "netfilter: check family, hook and priority (a priority already taken on " +
        "that hook, or at or below −400 with defrag, is refused)",
    },
    "netfilter link",
  );
  return new BpfLink(fd, "netfilter");
}
