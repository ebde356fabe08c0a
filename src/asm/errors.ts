/**
 * Typed errors of the assembler. Decoding errors are plain
 * {@link ParseError}s with format `"asm"`.
 *
 * @module
 */

import { InvalidArgumentError, nameError, NotFoundError } from "../errors.ts";

/** Options of {@linkcode UnknownLabelError}. */
export interface UnknownLabelErrorOptions {
  /** The labels that do exist, to suggest a near one. */
  known?: readonly string[];
}

/**
 * A jump, call or `lddw` refers to a label no instruction carries. Add the
 * label (`symbol`) to the target instruction, or fix the spelling.
 */
export class UnknownLabelError extends NotFoundError {
  static {
    nameError(this, "UnknownLabelError");
  }
  /** The label that was referred to. */
  readonly label: string;
  /** Index (in the instruction list) of the instruction that refers to it. */
  readonly index: number;
  /** Creates the error. */
  constructor(label: string, index: number, options: UnknownLabelErrorOptions = {}) {
    const near = (options.known ?? []).filter((k) =>
      k.toLowerCase() === label.toLowerCase() || k.startsWith(label)
    )
      .slice(0, 3);
    super(
      `label ${label}`,
      `asm: instruction ${index} refers to label "${label}", which no instruction carries` +
        (near.length ? ` (did you mean ${near.map((n) => `"${n}"`).join(", ")}?)` : "") +
        "; put the label on the target instruction (its `symbol`)",
    );
    this.label = label;
    this.index = index;
  }
}

/** Two instructions carry the same label; labels must be unique. */
export class DuplicateLabelError extends InvalidArgumentError {
  static {
    nameError(this, "DuplicateLabelError");
  }
  /** The label carried twice. */
  readonly label: string;
  /** Indexes of the first and second instruction that carry it. */
  readonly indexes: readonly [number, number];
  /** Creates the error for `label` carried by instructions `indexes[0]` and `indexes[1]`. */
  constructor(label: string, indexes: readonly [first: number, second: number]) {
    const [first, second] = indexes;
    super(
      `asm: label "${label}" is on instruction ${first} and again on instruction ${second}; ` +
        "rename one of them",
    );
    this.label = label;
    this.indexes = [first, second];
  }
}

/** Where a {@linkcode JumpOutOfRangeError} happened. */
export interface JumpOutOfRangeErrorOptions {
  /** Index of the jump instruction. */
  index: number;
  /** The offset that did not fit, in instructions. */
  distance: number;
  /** The width of the offset field. */
  bits: 16 | 32;
}

/**
 * A resolved jump or call does not fit its field: conditional jumps and
 * `goto` have a signed 16-bit offset (±32767 instructions), `gotol` (ja32)
 * and calls a signed 32-bit one. Use `ja32`/`gotol` for far jumps.
 */
export class JumpOutOfRangeError extends InvalidArgumentError {
  static {
    nameError(this, "JumpOutOfRangeError");
  }
  /** The label jumped to. */
  readonly label: string;
  /** Index of the jump instruction. */
  readonly index: number;
  /** The offset that did not fit, in instructions. */
  readonly distance: number;
  /** Creates the error. */
  constructor(label: string, options: JumpOutOfRangeErrorOptions) {
    const { index, distance, bits } = options;
    super(
      `asm: jump from instruction ${index} to "${label}" is ${distance} instructions, ` +
        `beyond the signed ${bits}-bit offset field` +
        (bits === 16 ? "; use ja32 (gotol) for long unconditional jumps" : ""),
    );
    this.label = label;
    this.index = index;
    this.distance = distance;
  }
}
