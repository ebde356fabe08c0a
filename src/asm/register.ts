/**
 * The eleven eBPF registers. Builders take {@link Register} objects, never
 * bare numbers, so that `mov64(R1, 2)` (immediate 2) and `mov64(R1, R2)`
 * (register r2) cannot be confused.
 *
 * @module
 */

/** One eBPF register, `r0`–`r10` (`r10` is the read-only frame pointer). */
export class Register {
  /** The register number, 0–10 (11–15 only from decoded raw bytes). */
  readonly index: number;
  /** Creates a register; prefer the constants {@link R0} … {@link R10}. */
  constructor(index: number) {
    this.index = index;
    Object.freeze(this);
  }
  /** `r<n>`, the 64-bit name. */
  toString(): string {
    return `r${this.index}`;
  }
  /** `w<n>`, the name of the low 32-bit half. */
  get w(): string {
    return `w${this.index}`;
  }
}

/** r0: return value of helpers, calls and the program. */
export const R0: Register = new Register(0);
/** r1: first argument; the context pointer at program entry. */
export const R1: Register = new Register(1);
/** r2: second argument. */
export const R2: Register = new Register(2);
/** r3: third argument. */
export const R3: Register = new Register(3);
/** r4: fourth argument. */
export const R4: Register = new Register(4);
/** r5: fifth argument. */
export const R5: Register = new Register(5);
/** r6: callee-saved. */
export const R6: Register = new Register(6);
/** r7: callee-saved. */
export const R7: Register = new Register(7);
/** r8: callee-saved. */
export const R8: Register = new Register(8);
/** r9: callee-saved. */
export const R9: Register = new Register(9);
/** r10: the read-only frame pointer (stack grows down from it). */
export const R10: Register = new Register(10);
/** The frame pointer, r10. */
export const RFP: Register = R10;

/** All registers by number. */
export const REGISTERS: readonly Register[] = Object.freeze([
  R0,
  R1,
  R2,
  R3,
  R4,
  R5,
  R6,
  R7,
  R8,
  R9,
  R10,
]);
