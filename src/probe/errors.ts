/**
 * Errors of scripted probes.
 *
 * @module
 */

import { InvalidArgumentError, nameError, NotFoundError } from "../errors.ts";

/**
 * A probe names something that does not exist: a tracepoint, a field of a
 * tracepoint, an argument, a struct member. `suggestions` lists the closest
 * names that do exist (also in the message).
 */
export class ProbeNotFoundError extends NotFoundError {
  static {
    nameError(this, "ProbeNotFoundError");
  }
  /** Existing names close to the one asked for, closest first. */
  readonly suggestions: readonly string[];
  /** Creates the error; the message ends with the suggestions, if any. */
  constructor(
    what: string,
    suggestions: readonly string[],
    message: string,
    options?: { cause?: unknown },
  ) {
    super(
      what,
      message + (suggestions.length ? `; did you mean ${suggestions.join(", ")}?` : ""),
      options,
    );
    this.suggestions = suggestions;
  }
}

/**
 * A probe description cannot be compiled: a filter that does not parse, a
 * string used where a number is needed, a key too large for the BPF stack.
 * `expression` is the part at fault, when there is one.
 */
export class ProbeCompileError extends InvalidArgumentError {
  static {
    nameError(this, "ProbeCompileError");
  }
  /** The expression or filter at fault. */
  readonly expression?: string;
  /** Creates the error. */
  constructor(message: string, options?: { cause?: unknown; expression?: string }) {
    super(message, options);
    this.expression = options?.expression;
  }
}
