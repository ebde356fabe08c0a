import { EbpfError, nameError } from "../errors.ts";
import { EACCES, EPERM, errnoName, errnoText } from "./errno.ts";

/** Options for {@linkcode SyscallError}. */
export interface SyscallErrorOptions {
  /** The bpf(2) command (or ioctl request, …) the syscall ran, e.g. `"BPF_MAP_CREATE"`. */
  command?: string;
  /** Extra words that tell the user what to do next. */
  hint?: string;
  /** The error this one wraps. */
  cause?: unknown;
}

/**
 * A system call failed. Carries the syscall's name, the command (for bpf(2):
 * `BPF_MAP_CREATE`, …), the errno number and its name, so callers can test
 * `err.errno === ENOENT` or `err.code === "ENOENT"`.
 */
export class SyscallError extends EbpfError {
  static {
    nameError(this, "SyscallError");
  }
  /** The errno name, e.g. `"ENOENT"`. */
  override readonly code: string;
  /** The syscall, e.g. `"bpf"`, `"perf_event_open"`, `"ioctl"`. */
  readonly syscall: string;
  /** The command or request, when the syscall multiplexes several. */
  readonly command?: string;
  /** The errno number. */
  readonly errno: number;
  /** Creates the error; the message names the call, the errno and the hint. */
  constructor(syscall: string, errno: number, options: SyscallErrorOptions = {}) {
    const what = options.command ? `${syscall}(${options.command})` : syscall;
    super(
      `${what} failed: ${errnoName(errno)} (${errnoText(errno)})` +
        (options.hint ? `: ${options.hint}` : ""),
      { cause: options.cause },
    );
    this.code = errnoName(errno);
    this.syscall = syscall;
    this.command = options.command;
    this.errno = errno;
  }
}

/**
 * A syscall failed with EPERM or EACCES. The message says which capability
 * the operation needs (CAP_BPF, CAP_PERFMON, CAP_SYS_ADMIN, CAP_NET_ADMIN).
 */
export class PermissionError extends SyscallError {
  static {
    nameError(this, "PermissionError");
  }
  /** The capabilities that would allow the operation. */
  readonly capabilities: readonly string[];
  /** Creates the error. */
  constructor(
    syscall: string,
    errno: number,
    capabilities: readonly string[],
    options: SyscallErrorOptions = {},
  ) {
    const need = capabilities.length
      ? `this needs ${capabilities.join(" and ")} (or root)`
      : "permission denied";
    super(syscall, errno, { ...options, hint: options.hint ? `${options.hint}; ${need}` : need });
    this.capabilities = capabilities;
  }
}

/** True for the errno values that mean "not permitted". */
export function isPermissionErrno(errno: number): boolean {
  return errno === EPERM || errno === EACCES;
}
