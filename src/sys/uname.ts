/**
 * The running kernel's release and version, from uname(2).
 *
 * @module
 */

import { errno, libc } from "./_libc.ts";
import { SyscallError } from "./error.ts";
import { type KernelVersion, kernelVersionCodeOf, parseKernelVersion } from "./kernel_version.ts";

/** The fields of `struct utsname`. */
export interface Utsname {
  /** The operating system, `"Linux"`. */
  sysname: string;
  /** The host name. */
  nodename: string;
  /** The kernel release, e.g. `"6.18.0"`. */
  release: string;
  /** The kernel build's version string (`#1 SMP PREEMPT_DYNAMIC …`). */
  version: string;
  /** The machine architecture, e.g. `"x86_64"`. */
  machine: string;
}

/** Calls uname(2). */
export function uname(): Utsname {
  const buf = new Uint8Array(65 * 6);
  if (libc().uname(buf) !== 0) throw new SyscallError("uname", errno());
  const field = (i: number) => {
    const part = buf.subarray(i * 65, i * 65 + 65);
    const end = part.indexOf(0);
    return new TextDecoder().decode(part.subarray(0, end < 0 ? 65 : end));
  };
  return {
    sysname: field(0),
    nodename: field(1),
    release: field(2),
    version: field(3),
    machine: field(4),
  };
}

/**
 * The kernel version as `LINUX_VERSION_CODE` computes it
 * (`major << 16 | minor << 8 | min(patch, 255)`), from the release string
 * (default: this kernel's); 0 if the release does not start with
 * `major.minor`. Parsing is {@linkcode parseKernelVersion}'s.
 */
export function kernelVersionCode(release: string = uname().release): number {
  return kernelVersionCodeOf(release);
}

/** The running kernel's version, parsed from uname(2)'s release. */
export function kernelVersion(): KernelVersion {
  return parseKernelVersion(uname().release);
}
