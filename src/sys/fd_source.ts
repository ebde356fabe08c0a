/**
 * The one type for "something with a descriptor" and its one resolver.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { FD } from "./fd.ts";

/**
 * Something with a descriptor, as every function that needs only the
 * descriptor of a map, program, link or BTF object takes it: an object
 * owning one (a `BpfMap`, a `Program`, a `Link`, loaded BTF: anything with
 * an `fd`), an {@linkcode FD}, or a raw descriptor number. An object given
 * for a program may also say what the attach functions would otherwise
 * read from the kernel ({@linkcode ProgramHints}).
 */
export type FdSource = number | FD | { readonly fd: FD | number } | ProgramHints;

/** The object form of {@linkcode FdSource} for a program, with what it knows about itself. */
export interface ProgramHints {
  /** The descriptor, as a number or an {@linkcode FD}. */
  readonly fd: FD | number;
  /** The program type number (else read with BPF_OBJ_GET_INFO_BY_FD). */
  readonly type?: number;
  /** The attach type it was loaded with: the attach functions' default. */
  readonly attachType?: number;
  /** Its name (tc filters are named after it). */
  readonly name?: string;
}

/**
 * The descriptor number behind an {@linkcode FdSource}.
 *
 * @param source a number, an {@linkcode FD} or an object with an `fd`.
 * @throws {InvalidArgumentError} when `source` is none of those, or not a
 * valid descriptor number, or its {@linkcode FD} was closed.
 */
export function fdOf(source: FdSource): number {
  return descriptorOf(source, "descriptor");
}

/**
 * {@linkcode fdOf}, naming what the descriptor should be in the error
 * (`"map"`, `"program"`); for this package's own callers.
 */
export function descriptorOf(source: FdSource, what: string): number {
  let fd: unknown = source;
  if (fd !== null && typeof fd === "object" && !(fd instanceof FD) && "fd" in fd) {
    fd = (fd as { fd: unknown }).fd;
  }
  if (fd instanceof FD) return fd.value;
  if (typeof fd === "number" && Number.isInteger(fd) && fd >= 0 && fd <= 0x7fffffff) return fd;
  throw new InvalidArgumentError(
    `expected a ${what} (an object with an fd, an FD or a descriptor number), got ${
      describe(source)
    }`,
  );
}

function describe(v: unknown): string {
  if (v === null || typeof v !== "object") {
    return typeof v === "string" ? JSON.stringify(v) : String(v);
  }
  return `an object with ${"fd" in v ? `fd ${String((v as { fd: unknown }).fd)}` : "no fd"}`;
}
