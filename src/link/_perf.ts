// Attaching a program to an open perf event: BPF_LINK_CREATE(BPF_PERF_EVENT)
// (5.15+, with a cookie), else PERF_EVENT_IOC_SET_BPF (4.1+, no cookie).

import { AttachType } from "../asm/types.ts";
import { NotSupportedError } from "../errors.ts";
import { EINVAL, ENOTSUPP, EOPNOTSUPP } from "../sys/errno.ts";
import { SyscallError } from "../sys/error.ts";
import { FD } from "../sys/fd.ts";
import { ioctl, PerfIoctl } from "../sys/perf_event.ts";
import type { ProbeEvent } from "../tracefs/probe_events.ts";
import { type FdSource, linkCreateError, linkCreateTry, programFd } from "./_common.ts";
import { BpfLink, LegacyLink, type LinkResource } from "./link.ts";

/** Options of attachToPerfEvent. */
export interface PerfAttachOptions {
  /** BPF cookie (bpf_get_attach_cookie); needs BPF_LINK_CREATE. */
  cookie?: bigint | number;
  /** Skip BPF_LINK_CREATE and use PERF_EVENT_IOC_SET_BPF. */
  legacy?: boolean;
  /** Released with the link, after the perf event. */
  resources?: LinkResource[];
  /**
   * The tracefs probe event the perf event was opened on (legacy kprobes
   * and uprobes): released with the link, after the other resources, and
   * owned by it, so that a process ending with the link open closes the link
   * before the event's own cleanup removes the event.
   */
  event?: ProbeEvent;
  /** For messages: what the perf event is, e.g. `"tracepoint syscalls/sys_enter_getpid"`. */
  what: string;
}

/**
 * Attaches `program` to the perf event `perf` (taking ownership of it) and
 * enables the event. The returned link closes the perf event, then the
 * resources.
 */
export function attachToPerfEvent(
  program: FdSource,
  perf: FD,
  kind: string,
  options: PerfAttachOptions,
): BpfLink | LegacyLink {
  const link = attach(program, perf, kind, options);
  if (options.event) options.event.owner = link;
  return link;
}

function attach(
  program: FdSource,
  perf: FD,
  kind: string,
  options: PerfAttachOptions,
): BpfLink | LegacyLink {
  const resources = [...(options.resources ?? []), ...(options.event ? [options.event] : [])];
  try {
    const prog = programFd(program);
    const cookie = BigInt(options.cookie ?? 0);
    if (!options.legacy) {
      const r = linkCreateTry({
        progFd: prog,
        targetFd: perf.value,
        attachType: AttachType.perf_event,
        perfEventCookie: cookie,
      });
      if (r >= 0) {
        const link = new BpfLink(new FD(r, `${kind} link`), kind, { resources });
        try {
          ioctl(perf.value, PerfIoctl.ENABLE, 0, "PERF_EVENT_IOC_ENABLE");
        } catch (e) {
          perf.close();
          link.close();
          throw e;
        }
        // The link holds the perf event now. Dropping our descriptor makes
        // closing the link release the event in one step (one RCU grace
        // period instead of two: closing takes ~half as long).
        perf.close();
        return link;
      }
      // EINVAL: no BPF_LINK_CREATE or no BPF_PERF_EVENT links (before 5.15);
      // anything else is a real error.
      if (-r !== EINVAL || cookie !== 0n) {
        if (-r === EINVAL && cookie !== 0n) {
          throw new NotSupportedError(
            `BPF cookies on ${options.what}`,
            "Linux 5.15 (BPF_LINK_CREATE with BPF_PERF_EVENT)",
            { detail: "BPF_LINK_CREATE answered EINVAL; attach without a cookie" },
          );
        }
        throw linkCreateError(-r, {
          feature: `perf event links (${options.what})`,
          requirement: "Linux 5.15",
        });
      }
    } else if (cookie !== 0n) {
      throw new NotSupportedError(
        `BPF cookies with the legacy perf event attachment (${options.what})`,
        "BPF_LINK_CREATE (Linux 5.15); drop `legacy` or the cookie",
      );
    }
    try {
      ioctl(perf.value, PerfIoctl.SET_BPF, prog, "PERF_EVENT_IOC_SET_BPF");
    } catch (e) {
      if (e instanceof SyscallError && (e.errno === EOPNOTSUPP || e.errno === ENOTSUPP)) {
        throw new NotSupportedError(`BPF programs on ${options.what}`, "CONFIG_BPF_EVENTS", {
          cause: e,
        });
      }
      if (e instanceof SyscallError && e.errno === EINVAL) {
        throw new SyscallError("ioctl", e.errno, {
          command: "PERF_EVENT_IOC_SET_BPF",
          hint: `attaching to ${options.what}: is the program of the right type ` +
            "(tracepoint programs for tracepoints, kprobe programs for kprobes and uprobes, " +
            "perf_event programs for perf events)?",
        });
      }
      throw e;
    }
    ioctl(perf.value, PerfIoctl.ENABLE, 0, "PERF_EVENT_IOC_ENABLE");
    return new LegacyLink(kind, () => {
      try {
        ioctl(perf.value, PerfIoctl.DISABLE, 0, "PERF_EVENT_IOC_DISABLE");
      } catch { /* closing the event detaches anyway */ }
      perf.close();
    }, { resources, perfEvent: perf });
  } catch (e) {
    perf.close();
    for (const r of resources.reverse()) {
      try {
        r.close();
      } catch { /* best effort */ }
    }
    throw e;
  }
}
