// Probes answer "not supported" when the kernel refuses something. A refusal
// with EPERM means "not supported" only if the process could otherwise use
// bpf(2) at all; this baseline check tells the two apart.

import { EACCES, EPERM } from "../sys/errno.ts";
import { PermissionError } from "../sys/error.ts";
import { ProgramType } from "../sys/abi.ts";
import { memo } from "./_cache.ts";
import { progLoad, RETURN_ZERO } from "./_raw.ts";

/** True for errno values that mean "not permitted". */
export function isDenied(errno: number): boolean {
  return errno === EPERM || errno === EACCES;
}

/**
 * Throws {@linkcode PermissionError} if this process cannot load even a
 * socket filter (no CAP_BPF and unprivileged BPF disabled): then no probe
 * can say anything about the kernel.
 */
export function assertCanProbe(): void {
  const errno = memo(
    "baseline",
    () => progLoad(RETURN_ZERO, { progType: ProgramType.socket_filter }).errno,
  );
  if (isDenied(errno)) {
    throw new PermissionError("bpf", errno, ["CAP_BPF"], {
      command: "BPF_PROG_LOAD",
      hint: "feature probes cannot tell what the kernel supports without it",
    });
  }
}
