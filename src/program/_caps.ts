// Which capabilities loading a program type needs, and which ones this
// process holds (from /proc/self/status), so EPERM can say what is missing.

import { KernelVersion } from "../sys/kernel_version.ts";
import { kernelVersionCode } from "../sys/uname.ts";
import { ProgramType } from "../sys/abi.ts";
import { typeFacts } from "./_tables.ts";
import { readTextFile } from "../sys/file.ts";

const CAP_BITS: Record<string, number> = {
  CAP_NET_ADMIN: 12,
  CAP_SYS_ADMIN: 21,
  CAP_PERFMON: 38,
  CAP_BPF: 39,
};

const V5_8 = new KernelVersion(5, 8).code;
const V5_11 = new KernelVersion(5, 11).code;

/** The capabilities BPF_PROG_LOAD checks for a program type on this kernel. */
export function requiredCapabilities(type: number, kernel: number = kernelVersionCode()): string[] {
  if (kernel !== 0 && kernel < V5_8) return ["CAP_SYS_ADMIN"]; // before CAP_BPF existed
  const caps = ["CAP_BPF"];
  const cls = typeFacts(type)?.caps;
  if (cls === "net" || cls === "net+perfmon") caps.push("CAP_NET_ADMIN");
  if (cls === "perfmon" || cls === "net+perfmon") caps.push("CAP_PERFMON");
  // fentry/fexit, freplace and LSM programs: what libbpf and bpftool ask for.
  if (type === ProgramType.tracing || type === ProgramType.ext || type === ProgramType.lsm) {
    caps.push("CAP_SYS_ADMIN");
  }
  return caps;
}

/**
 * The capabilities of `required` that `have` does not satisfy. CAP_SYS_ADMIN
 * stands in for CAP_BPF, CAP_PERFMON and CAP_NET_ADMIN, as the kernel's
 * bpf_capable(), perfmon_capable() and bpf_net_capable() allow.
 */
export function missingCapabilities(
  required: readonly string[],
  have: ReadonlySet<string>,
): string[] {
  const admin = have.has("CAP_SYS_ADMIN");
  return required.filter((c) =>
    !have.has(c) && !(admin && (c === "CAP_BPF" || c === "CAP_PERFMON" || c === "CAP_NET_ADMIN"))
  );
}

/** The effective capabilities of this process, or undefined if /proc is unreadable. */
export function effectiveCapabilities(): Set<string> | undefined {
  let text: string;
  try {
    text = readTextFile("/proc/self/status");
  } catch {
    return undefined;
  }
  const m = /^CapEff:\s*([0-9a-f]+)$/m.exec(text);
  if (!m) return undefined;
  const bits = BigInt(`0x${m[1]}`);
  const out = new Set<string>();
  for (const [name, bit] of Object.entries(CAP_BITS)) {
    if ((bits >> BigInt(bit)) & 1n) out.add(name);
  }
  return out;
}

/** The kernel lockdown mode (`none`, `integrity`, `confidentiality`), if securityfs shows it. */
export function lockdownMode(): string | undefined {
  try {
    const text = readTextFile("/sys/kernel/security/lockdown");
    return /\[(\w+)\]/.exec(text)?.[1];
  } catch {
    return undefined;
  }
}

/** True when the running kernel charges BPF memory to RLIMIT_MEMLOCK (before 5.11). */
export function memlockCharged(kernel: number = kernelVersionCode()): boolean {
  return kernel !== 0 && kernel < V5_11;
}
