/**
 * The errors BPF_PROG_LOAD produces: the verifier's rejection (with its log)
 * and the kernel's refusal of a program type (EPERM before verification).
 *
 * @module
 */

import { InvalidArgumentError, nameError } from "../errors.ts";
import { PermissionError, SyscallError } from "../sys/error.ts";
import { summarizeVerifierLog } from "./verifier_log.ts";

/** Options for {@linkcode VerifierError}. */
export interface VerifierErrorOptions {
  /** The program's name, if it has one. */
  programName?: string;
  /** The program type's name, e.g. `"xdp"`. */
  programType?: string;
  /** True if the log hit the size cap and lost its beginning (or end). */
  truncated?: boolean;
  /** The error this one wraps. */
  cause?: unknown;
}

/**
 * The verifier rejected a program. A {@linkcode SyscallError} (so `errno`,
 * usually EACCES or EINVAL, is there to test) that also carries the whole
 * verifier log and a short summary of why the program was rejected.
 *
 * @example
 * ```ts ignore
 * try {
 *   loadProgram(spec);
 * } catch (e) {
 *   if (e instanceof VerifierError) console.error(e.log);
 * }
 * ```
 */
export class VerifierError extends SyscallError {
  static {
    nameError(this, "VerifierError");
  }
  /** The verifier log, complete unless {@linkcode VerifierError.truncated}. */
  readonly log: string;
  /** The last meaningful lines: the reason, the instruction and `processed N insns`. */
  readonly summary: string;
  /** The verifier's reason alone, e.g. `"R0 !read_ok"`. */
  readonly reason: string;
  /** True if the log was cut at the size cap. */
  readonly truncated: boolean;
  /** The program's name, if it has one. */
  readonly programName?: string;
  /** The program type's name. */
  readonly programType?: string;

  /** Creates the error from the errno and the log. */
  constructor(errno: number, log: string, options: VerifierErrorOptions = {}) {
    const s = summarizeVerifierLog(log);
    const what = [
      options.programType,
      options.programName ? `program "${options.programName}"` : "program",
    ].filter(Boolean).join(" ");
    const lines = log.split("\n").filter((l) => l.trim() !== "").length;
    super("bpf", errno, {
      command: "BPF_PROG_LOAD",
      cause: options.cause,
      hint: `the verifier rejected the ${what}: ${s.text || "(empty log)"}. ` +
        `The full verifier log (${lines} lines${
          options.truncated ? ", truncated" : ""
        }) is in the error's .log field; ` +
        "print it, or load with logLevel: 2 to see the register state at every instruction",
    });
    this.log = log;
    this.summary = s.text;
    this.reason = s.reason;
    this.truncated = options.truncated ?? false;
    this.programName = options.programName;
    this.programType = options.programType;
  }
}

/** Options for {@linkcode ProgramRefusedError}. */
export interface ProgramRefusedErrorOptions {
  /** The capabilities the program type needs. */
  capabilities: readonly string[];
  /** The capabilities this process lacks (empty if it holds them all). */
  missing: readonly string[];
  /** Extra words for the message. */
  detail?: string;
  /** The attach type's name, if the program has one (e.g. `"trace_fentry"`). */
  attachType?: string;
  /** The error this one wraps. */
  cause?: unknown;
}

/**
 * The kernel refused to load a program (EPERM or EACCES) before the verifier
 * ran: the log is empty. Either the process lacks a capability the program
 * type needs ({@linkcode ProgramRefusedError.missingCapabilities} names
 * them), or it holds them all and the kernel blocks the type by policy (for
 * example fentry/fexit/LSM programs under lockdown or a security module):
 * then {@linkcode ProgramRefusedError.byPolicy} is true. Not a verifier error.
 */
export class ProgramRefusedError extends PermissionError {
  static {
    nameError(this, "ProgramRefusedError");
  }
  /** The program type's name, e.g. `"tracing"`. */
  readonly programType: string;
  /** Required capabilities this process does not hold. */
  readonly missingCapabilities: readonly string[];
  /** True if the process holds every capability the type needs. */
  readonly byPolicy: boolean;

  /** Creates the error. */
  constructor(errno: number, programType: string, options: ProgramRefusedErrorOptions) {
    const capabilities = options.capabilities;
    const byPolicy = options.missing.length === 0;
    const what = `this ${programType} program` +
      (options.attachType ? ` (attach type ${options.attachType})` : "");
    const hint = byPolicy
      ? `the kernel refused to load ${what} before verification ` +
        `(empty verifier log) although this process holds ${capabilities.join(", ")}: ` +
        `this kernel blocks the program type by policy${
          options.detail ? ` (${options.detail})` : ""
        }; use another program type (e.g. tp_btf or raw_tracepoint instead of fentry/fexit) ` +
        "or a kernel that allows it"
      : `the kernel refused to load ${what}: ` +
        `this process lacks ${options.missing.join(", ")}${
          options.detail ? ` (${options.detail})` : ""
        }`;
    super("bpf", errno, capabilities, { command: "BPF_PROG_LOAD", hint, cause: options.cause });
    this.programType = programType;
    this.missingCapabilities = options.missing;
    this.byPolicy = byPolicy;
  }
}

/**
 * A program type that needs an `expected_attach_type` was loaded without
 * one, and no single attach type is right for most programs of the type
 * (cgroup_sock_addr: which socket call; cgroup_sockopt: get or set;
 * tracing: tp_btf, fentry, fexit, fmod_ret or iterator). Thrown by
 * `loadProgram` before the kernel is asked, which would answer EINVAL.
 * {@linkcode AttachTypeRequiredError.choices} lists the names to pick from.
 *
 * @example
 * ```ts ignore
 * loadProgram({ type: "cgroup_sock_addr", attachType: "cgroup_inet4_connect", instructions });
 * ```
 */
export class AttachTypeRequiredError extends InvalidArgumentError {
  static {
    nameError(this, "AttachTypeRequiredError");
  }
  /** The program type's name, e.g. `"cgroup_sock_addr"`. */
  readonly programType: string;
  /** The attach types the kernel accepts for the program type, by name. */
  readonly choices: readonly string[];
  /** Creates the error for a program type and the attach types it accepts. */
  constructor(programType: string, choices: readonly string[]) {
    super(
      `${programType} programs need an attachType (expected_attach_type); ` +
        `give one of: ${choices.join(", ")}`,
    );
    this.programType = programType;
    this.choices = choices;
  }
}
