/**
 * Kernel versions: the one parser of release strings (`uname -r`,
 * `/proc/sys/kernel/osrelease`, "since" strings such as `"5.11"`) and the
 * comparison every version check uses.
 *
 * ```ts
 * import { parseKernelVersion } from "./kernel_version.ts";
 * const v = parseKernelVersion("6.1.0-18-amd64");
 * v.atLeast(5, 11); // true
 * v.code; // 0x060100, as LINUX_VERSION_CODE
 * ```
 *
 * @module
 */

import { ParseError } from "../errors.ts";

/** A kernel version `major.minor.patch`, as a release string starts. */
export class KernelVersion {
  /** The major number (`6` of `6.1.0-18-amd64`). */
  readonly major: number;
  /** The minor number (`1` of `6.1.0-18-amd64`). */
  readonly minor: number;
  /** The patch level (`0` of `6.1.0-18-amd64`; 0 when the release has none). */
  readonly patch: number;

  /** A version from its numbers (each a non-negative integer). */
  constructor(major: number, minor: number, patch: number = 0) {
    this.major = major;
    this.minor = minor;
    this.patch = patch;
  }

  /**
   * `LINUX_VERSION_CODE` of this version: `major << 16 | minor << 8 |
   * min(patch, 255)`, as the kernel computes it (and as `kern_version` and
   * the `LINUX_KERNEL_VERSION` extern want it).
   */
  get code(): number {
    return ((this.major << 16) | (this.minor << 8) | Math.min(this.patch, 255)) >>> 0;
  }

  /** Negative, zero or positive as this version is older than, equal to or newer than `other`. */
  compare(other: KernelVersion): number {
    return this.major - other.major || this.minor - other.minor || this.patch - other.patch;
  }

  /** True if this version is `major.minor.patch` or newer. */
  atLeast(major: number, minor: number = 0, patch: number = 0): boolean {
    return this.compare(new KernelVersion(major, minor, patch)) >= 0;
  }

  /** `"major.minor.patch"`. */
  toString(): string {
    return `${this.major}.${this.minor}.${this.patch}`;
  }
}

const RELEASE = /^(\d{1,9})\.(\d{1,9})(?:\.(\d{1,9}))?/;

/**
 * The version a release string starts with, or `undefined` if it does not
 * start with `major.minor`. Accepts distribution releases
 * (`"6.1.0-18-amd64"`, `"5.15.0-91-generic"`, `"6.8.0+"`) and short
 * versions (`"5.11"`).
 */
export function tryParseKernelVersion(release: string): KernelVersion | undefined {
  const m = RELEASE.exec(release.trim());
  if (!m) return undefined;
  return new KernelVersion(Number(m[1]), Number(m[2]), m[3] === undefined ? 0 : Number(m[3]));
}

/**
 * The version a release string starts with. Throws {@linkcode ParseError}
 * naming the string if it does not start with `major.minor`.
 */
export function parseKernelVersion(release: string): KernelVersion {
  const v = tryParseKernelVersion(release);
  if (v === undefined) {
    throw new ParseError(
      "kernel release",
      `${JSON.stringify(release)} does not start with major.minor (e.g. "6.1.0-18-amd64"); ` +
        `pass a release as uname -r prints it`,
    );
  }
  return v;
}

/**
 * `LINUX_VERSION_CODE` of a release string (`major << 16 | minor << 8 |
 * min(patch, 255)`), or 0 when the string does not start with
 * `major.minor` (callers treat 0 as "unknown kernel").
 */
export function kernelVersionCodeOf(release: string): number {
  return tryParseKernelVersion(release)?.code ?? 0;
}
