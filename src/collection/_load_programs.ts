// The program side of the collection loader (load.ts): the programs it
// refuses before loading, freplace targets, and the loads in flight on
// worker threads. Private to src/collection.

import { InvalidArgumentError, NotFoundError } from "../errors.ts";
import { loadedBtfSpec } from "../btf/loaded.ts";
import { readProgramInfo } from "../program/info.ts";
import type { Program } from "../program/program.ts";
import { fdOf, type FdSource } from "../program/types.ts";
import { OP_CALL } from "./_insn.ts";
import type { CollectionProgramSpec, CollectionSpec } from "./types.ts";

/**
 * Throws for the first program to be loaded whose section names no program
 * type, saying how to leave it out or type it.
 */
export function refuseUntypedPrograms(s: CollectionSpec): void {
  for (const [name, ps] of Object.entries(s.programs)) {
    if (ps.autoload === false || (ps.type !== "unspec" && ps.type !== 0)) continue;
    const key = /^[A-Za-z_$][\w$]*$/.test(name) ? `.${name}` : `[${JSON.stringify(name)}]`;
    throw new InvalidArgumentError(
      `program ${JSON.stringify(name)} (section ${JSON.stringify(ps.sectionName)}): ` +
        `unknown section type, it names no known program type; to load the other programs ` +
        `without it, delete spec.programs${key} (or set its autoload to false); to load it, ` +
        `set spec.programs${key}.type (and attachType) before loading`,
    );
  }
}

/**
 * Refuses a program that still refers to a symbol its object does not
 * define (inline asm's `r0 = MY_CONST ll`, a call to a function only
 * declared), naming the symbol and how to resolve it.
 */
export function refuseUnresolvedSymbol(name: string, ps: CollectionProgramSpec): void {
  const ref = ps.references.find((r) => r.kind === "symbol");
  if (ref?.kind !== "symbol") return;
  const call = ps.instructions[ref.insn * 8] === OP_CALL;
  throw new NotFoundError(
    `symbol ${ref.symbol}`,
    `program ${name}: instruction ${ref.insn} ${call ? "calls" : "refers to"} ${ref.symbol}, ` +
      `which the object does not define${call ? " (a function only declared)" : ""}: ` +
      `resolve it (write its value into instruction ${ref.insn} and remove the reference from ` +
      `spec.programs.${name}.references), declare it __kconfig or __ksym (built with -g), ` +
      `or set spec.programs.${name}.autoload = false to load the other programs`,
  );
}

/**
 * The BTF id of the function a freplace program replaces: the function its
 * section names (`freplace/decide`), in the BTF of the target program, as
 * libbpf's `bpf_program__set_attach_target` finds it.
 */
export function freplaceTargetId(ps: CollectionProgramSpec, target: FdSource): number {
  const name = ps.attachTo;
  if (!name) {
    throw new InvalidArgumentError(
      `program ${ps.name} (freplace): its section names no function; set attachBtfId`,
    );
  }
  const info = readProgramInfo(fdOf(target));
  const what = `program ${ps.name} (freplace) replaces ${name} in program ` +
    `${info.name || `id ${info.id}`}`;
  if (!info.btfId) {
    throw new NotFoundError(
      `BTF of program ${info.name || info.id}`,
      `${what}, which was loaded without BTF: load it from an object built with clang -g`,
    );
  }
  const btf = loadedBtfSpec(info.btfId);
  const ids = btf.typeIdsByName(name, "func");
  if (ids.length === 0) {
    const funcs = [...btf.types()].filter((t) => t.kind === "func").map((t) => t.name);
    throw new NotFoundError(
      `function ${name}`,
      `${what}, whose BTF has no such function (it has: ${funcs.join(", ") || "none"})`,
    );
  }
  return ids[0];
}

/** A load started by {@linkcode ParallelLoads}: its program once loaded, or its failure. */
interface LoadSlot {
  name: string;
  program?: Program;
  failure?: { error: unknown };
}

/**
 * Program loads in flight, at most `limit` at once; their programs and
 * failures are gathered in the order the loads were started.
 */
export class ParallelLoads {
  #limit: number;
  #running = new Set<Promise<void>>();
  /** One per load started, in order. */
  #slots: LoadSlot[] = [];
  #failed = false;

  /** `parallel`: the `parallel` option of loadCollection (default: twice the CPUs, 4 to 16). */
  constructor(parallel: number | undefined) {
    // Twice the CPUs (4 to 16): a load also waits on the thread hand-over.
    const n = parallel ?? Math.min(16, Math.max(4, 2 * (navigator.hardwareConcurrency || 1)));
    if (!Number.isInteger(n) || n < 1) {
      throw new InvalidArgumentError(`parallel must be a positive integer (got ${parallel})`);
    }
    this.#limit = n;
  }

  /**
   * Starts a load, after waiting for a free slot. False, and nothing
   * started, once a load has failed.
   */
  async add(
    name: string,
    load: () => Promise<Program>,
    explain: (e: unknown) => unknown,
  ): Promise<boolean> {
    while (this.#running.size >= this.#limit) await Promise.race(this.#running);
    if (this.#failed) return false;
    const slot: LoadSlot = { name };
    this.#slots.push(slot);
    const task = load().then(
      (p) => {
        slot.program = p;
      },
      (e) => {
        slot.failure = { error: explain(e) };
        this.#failed = true;
      },
    ).finally(() => this.#running.delete(task));
    this.#running.add(task);
    return true;
  }

  /** Waits for every load started and puts the programs into `out`, in order. */
  async settle(out: Record<string, Program>): Promise<void> {
    await Promise.all(this.#running);
    for (const { name, program } of this.#slots) if (program) out[name] = program;
  }

  /** Throws the failure of the earliest load that failed, if any. */
  throwFirstFailure(): void {
    for (const { failure } of this.#slots) if (failure) throw failure.error;
  }
}
