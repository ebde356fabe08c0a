/**
 * Typed errors of the kallsyms reader.
 *
 * @module
 */

import { InvalidArgumentError, nameError, NotSupportedError } from "../errors.ts";

/** One owner of a symbol name, as reported in {@link AmbiguousSymbolError.candidates}. */
export interface AmbiguousCandidate {
  /** The symbol's address. */
  address: bigint;
  /** The kallsyms type letter (`T`, `t`, `D`, …). */
  type: string;
  /** The module that holds it; absent for vmlinux. */
  module?: string;
}

/** Options of {@linkcode AmbiguousSymbolError}. */
export interface AmbiguousSymbolErrorOptions {
  /** A message to use instead of the generated one. */
  message?: string;
}

/**
 * A symbol name appears at several different addresses (for example a
 * `static` function defined in two translation units, or a vmlinux symbol
 * shadowed by a module symbol), so a bare name does not say which one is
 * meant. The same name listed twice at the same address is not ambiguous.
 *
 * It is an {@link InvalidArgumentError}: the name argument does not identify
 * one symbol.
 */
export class AmbiguousSymbolError extends InvalidArgumentError {
  static {
    nameError(this, "AmbiguousSymbolError");
  }
  /** The ambiguous name. */
  readonly symbol: string;
  /** Every entry of that name, in file order. */
  readonly candidates: readonly AmbiguousCandidate[];
  /** Creates the error for `symbol` and the entries that carry that name. */
  constructor(
    symbol: string,
    candidates: readonly AmbiguousCandidate[],
    options: AmbiguousSymbolErrorOptions = {},
  ) {
    super(
      options.message ??
        `kallsyms: symbol ${symbol} is ambiguous: ${candidates.length} entries at ` +
          candidates.slice(0, 8).map((c) =>
            `0x${c.address.toString(16)}${c.module ? ` [${c.module}]` : ""}`
          ).join(", ") + (candidates.length > 8 ? ", …" : ""),
    );
    this.symbol = symbol;
    this.candidates = candidates;
  }
}

/**
 * Every address in kallsyms reads as zero: the kernel hides them from this
 * process (`kernel.kptr_restrict`, missing `CAP_SYSLOG`). Names are still
 * listed, so lookups of names work, but addresses cannot be had.
 *
 * It is a {@link NotSupportedError}: this process cannot get the feature
 * "kernel symbol addresses" without more privileges.
 */
export class RestrictedAddressError extends NotSupportedError {
  static {
    nameError(this, "RestrictedAddressError");
  }
  /** The symbol whose address was asked for, if any. */
  readonly symbol?: string;
  /** Creates the error, optionally naming the symbol that was looked up. */
  constructor(symbol?: string) {
    super(
      "kernel symbol addresses",
      "CAP_SYSLOG and kernel.kptr_restrict <= 1 (or kptr_restrict = 0 and perf_event_paranoid <= 1)",
      {
        detail: `kallsyms lists every address as zero${
          symbol === undefined ? "" : `, so the address of ${symbol} is hidden`
        }`,
      },
    );
    this.symbol = symbol;
  }
}
