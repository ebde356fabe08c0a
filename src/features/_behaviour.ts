// Probes of kernel behaviour that a load or a link create alone does not
// show: what the kernel reports back (link info, the verifier log's shape).
// Used by misc.ts's table; like the other probes they sit on the syscall
// layer and count their bpf(2) calls.

import { bpfTry } from "../sys/bpf.ts";
import { closeRawFd } from "../sys/fd.ts";
import { perfEventOpen, PerfSwConfig, PerfType } from "../sys/perf_event.ts";
import { SyscallError } from "../sys/error.ts";
import { LINK_INFO, ProgramType } from "../sys/abi.ts";
import { counted, progLoadFd, RETURN_ZERO } from "./_raw.ts";
import { AttachType as ATTACH } from "./_names.ts";

/** What a probe saw: supported or not, and the telling errno (0 if the calls succeeded). */
export interface BehaviourOutcome {
  /** True if the kernel behaves as the feature says. */
  supported: boolean;
  /** The errno of the failing call, 0 if every call succeeded. */
  errno: number;
}

/**
 * Does the kernel fill in a perf-event link's details (`perf_event` part of
 * `struct bpf_link_info`, Linux 6.6)? Before that, BPF_OBJ_GET_INFO_BY_FD
 * of a perf-event link gives the link type and program id only. The probe
 * attaches a `perf_event` program to a disabled software clock event of
 * this process with BPF_LINK_CREATE and reads the link's info.
 */
export function perfLinkInfo(): BehaviourOutcome {
  let event;
  try {
    event = perfEventOpen(
      {
        type: PerfType.SOFTWARE,
        config: PerfSwConfig.CPU_CLOCK,
        samplePeriod: 1_000_000_000,
        flags: ["disabled"],
      },
      { pid: 0, cpu: -1, label: "perf_link_info feature probe" },
    );
  } catch (e) {
    if (e instanceof SyscallError) return { supported: false, errno: e.errno };
    throw e;
  }
  try {
    const prog = progLoadFd(RETURN_ZERO, { progType: ProgramType.perf_event });
    if (prog < 0) return { supported: false, errno: -prog };
    try {
      const link = counted(() =>
        bpfTry("LINK_CREATE", {
          progFd: prog,
          targetFd: event.value,
          attachType: ATTACH.perf_event,
        })
      );
      if (link < 0) return { supported: false, errno: -link };
      try {
        const buf = new Uint8Array(LINK_INFO.size);
        const r = counted(() =>
          bpfTry("OBJ_GET_INFO_BY_FD", { bpfFd: link, infoLen: buf.length, info: buf })
        );
        if (r < 0) return { supported: false, errno: -r };
        const at = LINK_INFO.fields["perfEvent.type"][0];
        // BPF_PERF_EVENT_EVENT (6) once filled in; 0 (unspec) before 6.6.
        return { supported: new DataView(buf.buffer).getUint32(at, true) !== 0, errno: 0 };
      } finally {
        closeRawFd(link);
      }
    } finally {
      closeRawFd(prog);
    }
  } finally {
    event.close();
  }
}

/** BPF_LOG_FIXED: the log_level bit asking for the pre-6.4 (truncating) log. */
const BPF_LOG_FIXED = 8;

/**
 * Is the verifier log rotating (Linux 6.4): when the buffer is too small the
 * kernel keeps the log's end and reports the size it needed in
 * `log_true_size`? The same change brought BPF_LOG_FIXED, the opt-out: a
 * kernel that knows it loads a program with `log_level` 1 | BPF_LOG_FIXED,
 * an older one refuses the unknown bit with EINVAL. Before 6.4 the log
 * keeps its beginning and the load fails with ENOSPC when it is full.
 */
export function rotatingVerifierLog(): BehaviourOutcome {
  const log = new Uint8Array(4096);
  const fd = counted(() =>
    bpfTry("PROG_LOAD", {
      progType: ProgramType.socket_filter,
      insns: RETURN_ZERO,
      insnCnt: RETURN_ZERO.byteLength / 8,
      license: new TextEncoder().encode("GPL\0"),
      logLevel: 1 | BPF_LOG_FIXED,
      logSize: log.byteLength,
      logBuf: log,
    })
  );
  if (fd >= 0) {
    closeRawFd(fd);
    return { supported: true, errno: 0 };
  }
  return { supported: false, errno: -fd };
}
