/**
 * A chaining front end to the instruction builders:
 *
 * ```ts
 * import { Assembler, R0, R1 } from "@denobpf/ebpf/asm";
 * const a = new Assembler()
 *   .mov64(R0, 0)
 *   .ldxw(R1, R1, 0)
 *   .jeq(R1, 0, "out")
 *   .mov64(R0, 1)
 *   .label("out")
 *   .exit();
 * const { bytes } = a.assemble();
 * ```
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { assemble, type AssembleOptions, type AssembleResult } from "./assemble.ts";
import * as builders from "./builders.ts";
import { type ByteOrderOptions, encode } from "./encoding.ts";
import { formatInstructions, type Instruction, type SourceInfo } from "./instruction.ts";

/** The `asm` builder namespace, as a type. */
export type Builders = typeof builders;
/** Names of the `asm` builders (the functions that return an instruction). */
export type BuilderName = {
  [K in keyof Builders]: Builders[K] extends (...args: never[]) => Instruction ? K : never;
}[keyof Builders];

/** One chaining method per builder of the `asm` namespace: it appends the instruction. */
export type AssemblerMethods = {
  [K in BuilderName]: (...args: Parameters<Builders[K]>) => Assembler;
};

/** An instruction list under construction; every `asm` builder is a method that appends. */
export interface Assembler extends AssemblerMethods {
  /** The instructions so far. */
  readonly instructions: Instruction[];
  /** Labels the next appended instruction (a jump/call target or function name). */
  label(name: string): Assembler;
  /** Attaches source information to the instructions appended from now on. */
  source(info: SourceInfo | undefined): Assembler;
  /** Appends ready-made instructions. */
  push(...insns: Instruction[]): Assembler;
  /** Resolves labels and encodes (see {@link assemble}). */
  assemble(options?: AssembleOptions): AssembleResult;
  /** Encodes without resolving labels (see {@link encode}). */
  encode(options?: ByteOrderOptions): Uint8Array;
  /** A readable listing (see {@link formatInstructions}). */
  toString(): string;
}

/** The constructor of {@link Assembler}. */
export interface AssemblerConstructor {
  /** Creates an empty instruction list. */
  new (): Assembler;
}

class AssemblerImpl {
  readonly instructions: Instruction[] = [];
  #label?: string;
  #source?: SourceInfo;

  constructor() {
    if (!methodsInstalled) installMethods();
  }

  label(name: string): this {
    if (this.#label !== undefined) {
      throw new InvalidArgumentError(
        `asm: labels "${this.#label}" and "${name}" would name the same instruction; ` +
          "an instruction carries one label",
      );
    }
    this.#label = name;
    return this;
  }

  source(info: SourceInfo | undefined): this {
    this.#source = info;
    return this;
  }

  push(...insns: Instruction[]): this {
    for (const insn of insns) {
      if (this.#label !== undefined) {
        if (insn.symbol !== undefined && insn.symbol !== this.#label) {
          throw new InvalidArgumentError(
            `asm: instruction already labelled "${insn.symbol}" cannot also be "${this.#label}"`,
          );
        }
        insn.symbol = this.#label;
        this.#label = undefined;
      }
      if (this.#source !== undefined && insn.source === undefined) insn.source = this.#source;
      this.instructions.push(insn);
    }
    return this;
  }

  assemble(options?: AssembleOptions): AssembleResult {
    this.#checkDangling();
    return assemble(this.instructions, options);
  }

  encode(options?: ByteOrderOptions): Uint8Array {
    return encode(this.instructions, options);
  }

  toString(): string {
    return formatInstructions(this.instructions);
  }

  #checkDangling(): void {
    if (this.#label !== undefined) {
      throw new InvalidArgumentError(
        `asm: label "${this.#label}" is not followed by an instruction; add one (e.g. exit())`,
      );
    }
  }
}

// One chaining method per builder, put on the prototype when the first
// assembler is made: ~140 closures and properties that a script which
// never builds an Assembler should not pay for at import (~0.7 ms).
let methodsInstalled = false;
function installMethods(): void {
  methodsInstalled = true;
  for (const [name, fn] of Object.entries(builders)) {
    if (typeof fn !== "function") continue;
    Object.defineProperty(AssemblerImpl.prototype, name, {
      value: function (this: AssemblerImpl, ...args: unknown[]) {
        return this.push((fn as (...a: unknown[]) => Instruction)(...args));
      },
      writable: true,
      configurable: true,
    });
  }
}

/** An instruction list built by chaining builder calls. */
export const Assembler: AssemblerConstructor = AssemblerImpl as unknown as AssemblerConstructor;
