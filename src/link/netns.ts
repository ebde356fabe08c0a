/**
 * Network-namespace programs: sk_lookup and flow_dissector, attached with
 * a netns link (BPF_LINK_CREATE, Linux 5.8+; flow_dissector falls back to
 * BPF_PROG_ATTACH on older kernels).
 *
 * @module
 */

import { AttachType, ProgramType } from "../asm/types.ts";
import { bpf, bpfError, bpfTry } from "../sys/bpf.ts";
import { EINVAL } from "../sys/errno.ts";
import { FD } from "../sys/fd.ts";
import { dupRawFd } from "../sys/fd_dup.ts";
import { openPath } from "../sys/open_path.ts";
import {
  expectProgramType,
  type FdSource,
  linkCreateError,
  linkCreateTry,
  programFd,
} from "./_common.ts";
import { BpfLink, LegacyLink } from "./link.ts";

/** Options of {@linkcode attachNetns}. */
export interface NetnsOptions {
  /** The namespace: a path (`/var/run/netns/NAME`, `/proc/PID/ns/net`) or a descriptor; default this process's. */
  netns?: string | number | FD;
  /** Use BPF_PROG_ATTACH (flow_dissector only; it attaches to the caller's namespace). */
  legacy?: boolean;
}

/**
 * Attaches an sk_lookup or flow_dissector program to a network namespace.
 */
export function attachNetns(
  program: FdSource,
  options: NetnsOptions = {},
): BpfLink | LegacyLink {
  const type = expectProgramType(
    program,
    [ProgramType.sk_lookup, ProgramType.flow_dissector],
    "attachNetns",
  );
  const at = type === ProgramType.sk_lookup ? AttachType.sk_lookup : AttachType.flow_dissector;
  const kind = type === ProgramType.sk_lookup ? "sk_lookup" : "flow_dissector";
  const ns = options.netns;
  const nsFd = typeof ns === "string" || ns === undefined
    ? openPath(ns ?? "/proc/self/ns/net", 0, { label: `netns ${ns ?? "(self)"}` })
    : ns instanceof FD
    ? ns.dup("netns")
    : dupRawFd(ns, "netns");
  try {
    const prog = programFd(program);
    if (!options.legacy) {
      const r = linkCreateTry({ progFd: prog, targetFd: nsFd.value, attachType: at });
      if (r >= 0) return new BpfLink(new FD(r, `${kind} link`), kind);
      if (-r !== EINVAL || at !== AttachType.flow_dissector) {
        throw linkCreateError(-r, {
          feature: `${kind} netns links`,
          requirement: "Linux 5.8 (sk_lookup: 5.9)",
          invalidHint: `attaching ${kind}: is the program of that type?`,
        });
      }
    }
    const progCopy = dupRawFd(prog, "program");
    const r = bpfTry("PROG_ATTACH", {
      targetFd: nsFd.value,
      attachBpfFd: progCopy.value,
      attachType: at,
    });
    if (r < 0) {
      progCopy.close();
      throw bpfError("PROG_ATTACH", -r, { hint: `attaching ${kind} to the network namespace` });
    }
    const nsCopy = nsFd.dup();
    return new LegacyLink(kind, () => {
      try {
        bpf("PROG_DETACH", { targetFd: nsCopy.value, attachBpfFd: progCopy.value, attachType: at });
      } finally {
        progCopy.close();
        nsCopy.close();
      }
    });
  } finally {
    nsFd.close();
  }
}
