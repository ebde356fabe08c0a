/**
 * Typed errors of the assembler. Decoding errors are plain
 * {@link ParseError}s with format `"asm"`.
 *
 * @module
 */

import { InvalidArgumentError, NotFoundError } from "../errors.ts";

/**
 * A jump, call or `lddw` refers to a label no instruction carries. Add the
 * label (`symbol`) to the target instruction, or fix the spelling.
 */
export class UnknownLabelError extends NotFoundError {
  /** The label that was referred to. */
  readonly label: string;
  /** Index (in the instruction list) of the instruction that refers to it. */
  readonly index: number;
  /** Creates the error. */
  constructor(label: string, index: number, known: readonly string[] = []) {
    const near = known.filter((k) => k.toLowerCase() === label.toLowerCase() || k.startsWith(label))
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
  /** The label carried twice. */
  readonly label: string;
  /** Indexes of the first and second instruction that carry it. */
  readonly indexes: readonly [number, number];
  /** Creates the error. */
  constructor(label: string, first: number, second: number) {
    super(
      `asm: label "${label}" is on instruction ${first} and again on instruction ${second}; ` +
        "rename one of them",
    );
    this.label = label;
    this.indexes = [first, second];
  }
}

/**
 * A resolved jump or call does not fit its field: conditional jumps and
 * `goto` have a signed 16-bit offset (±32767 instructions), `gotol` (ja32)
 * and calls a signed 32-bit one. Use `ja32`/`gotol` for far jumps.
 */
export class JumpOutOfRangeError extends InvalidArgumentError {
  /** The label jumped to. */
  readonly label: string;
  /** Index of the jump instruction. */
  readonly index: number;
  /** The offset that did not fit, in instructions. */
  readonly distance: number;
  /** Creates the error. */
  constructor(label: string, index: number, distance: number, bits: 16 | 32) {
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
