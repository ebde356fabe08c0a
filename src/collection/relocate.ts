/**
 * Load-time relocation of a program of a {@linkcode CollectionSpec}: CO-RE
 * against the target kernel's BTF, `.ksyms` externs (typed variables by BTF
 * id, untyped ones by kallsyms address), kfunc calls, the BTF id of the
 * attach target for tp_btf / fentry / fexit / fmod_ret / lsm / iter
 * programs, and map references once the maps exist.
 *
 * {@linkcode relocateProgram} runs it without loading anything, to inspect
 * what a program would be loaded with (e.g. on a kernel that refuses its
 * type, or against a fixture root).
 *
 * @module
 */

import { InvalidArgumentError, NotFoundError } from "../errors.ts";
import {
  applyCoreRelocations,
  CoreRelocationError,
  type CoreRelocationResult,
  coreTypesAreCompatible,
  essentialName,
} from "../btf/core.ts";
import { type KernelTypes, MissingModuleBtfError } from "../btf/kernel.ts";
import { parseBtf, type Spec } from "../btf/spec.ts";
import { parseElf } from "../elf/elf_file.ts";
import type { Kind } from "../btf/types.ts";
import { VerifierError } from "../program/errors.ts";
import {
  Insns,
  OP_CALL,
  POISON_HELPER,
  POISON_KFUNC_BASE,
  PSEUDO_BTF_ID,
  PSEUDO_KFUNC_CALL,
  PSEUDO_MAP_FD,
  PSEUDO_MAP_VALUE,
} from "./_insn.ts";
import { KernelEnv } from "./_kernel.ts";
import type { CollectionProgramSpec, CollectionSpec } from "./types.ts";
import { readFile } from "../sys/file.ts";
import { MAX_ELF_FILE_BYTES } from "../elf/elf_file.ts";

/** Options of {@linkcode relocateProgram} (and the relocation part of `loadCollection`). */
export interface RelocateOptions {
  /** File-system root for `/sys/kernel/btf`, `/proc/kallsyms`, … (fixtures, `/host`). Default `/`. */
  root?: string;
  /**
   * BTF to relocate against instead of the running kernel's (BTFHub style):
   * a parsed spec, a path to a raw BTF file, or its bytes; a path or bytes
   * may also be an ELF object, whose `.BTF` section is used. Attach targets
   * and ksyms still come from the running kernel.
   */
  kernelTypes?: Spec | string | Uint8Array;
}

/** A program after load-time relocation. */
export interface RelocatedProgram {
  /** The program's name. */
  name: string;
  /** The instructions as they would be loaded (map descriptors only once maps exist). */
  instructions: Uint8Array;
  /** One result per CO-RE relocation. */
  core: CoreRelocationResult[];
  /** For programs attached by BTF id: the target's type id. */
  attachBtfId?: number;
  /** The module whose BTF holds the attach target (undefined: vmlinux). */
  attachBtfModule?: string;
  /** Modules whose BTF objects go into `fd_array` (kfuncs of modules), in index order from 1. */
  fdArrayModules: string[];
  /** Where the program's kernel target function lives, for kprobe/fentry-like programs. */
  target?: KernelTypes;
  /** Helper ids of poisoned calls to missing weak kfuncs → the kfunc's name. */
  poisonedKfuncs: Map<number, string>;
}

/** @internal What the loader supplies beyond the spec. */
export interface RelocationContext {
  env: KernelEnv;
  spec: CollectionSpec;
  /** Map name → descriptor; without it map references are left as they are. */
  mapFd?: (name: string) => number;
  /** Module → its kernel BTF descriptor; without it descriptors are 0. */
  moduleFd?: (module: string) => number;
  /**
   * Look up where a kprobe/fentry target lives even when nothing needs it
   * (reads kallsyms); by default only when a relocation was poisoned or
   * the program attaches by BTF id.
   */
  alwaysResolveTarget?: boolean;
}

/**
 * Turns `kernelTypes` into a spec.
 *
 * @throws {InvalidArgumentError} for an ELF object without BTF.
 * @throws {ParseError} for bytes that are neither BTF nor an ELF object with BTF.
 */
export function kernelTypesSpec(kt: RelocateOptions["kernelTypes"]): Spec | undefined {
  if (kt === undefined) return undefined;
  if (typeof kt === "string") {
    const bytes = readFile(kt, { maxBytes: MAX_ELF_FILE_BYTES, what: "kernelTypes file" });
    return btfOrElfBtf(bytes, `kernelTypes file ${kt}`);
  }
  if (kt instanceof Uint8Array) return btfOrElfBtf(kt, "kernelTypes");
  return kt;
}

/** Raw BTF, or the `.BTF` section of an ELF object (cilium's btf.LoadSpec reads either). */
function btfOrElfBtf(bytes: Uint8Array, what: string): Spec {
  const elf = bytes.length >= 4 && bytes[0] === 0x7f && bytes[1] === 0x45 && bytes[2] === 0x4c &&
    bytes[3] === 0x46;
  if (!elf) return parseBtf(bytes);
  const btf = parseElf(bytes).section(".BTF");
  if (!btf || btf.length === 0) {
    throw new InvalidArgumentError(
      `${what} is an ELF object without a .BTF section: build it with clang -g, ` +
        "or pass raw BTF (/sys/kernel/btf/vmlinux, a BTFHub file)",
    );
  }
  // Copy: the spec keeps views into its bytes.
  return parseBtf(btf.slice());
}

const TARGET_KINDS = new Set(["kprobe", "kretprobe", "fentry", "fexit", "fmod_ret", "fentry.s"]);

/** Whether the program's section names a kernel function (kprobe, fentry …). */
function kernelFunctionTarget(prog: CollectionProgramSpec): string | undefined {
  const kind = prog.sectionName.split("/")[0];
  if (!TARGET_KINDS.has(kind) && !(prog.btfAttach === "func")) return undefined;
  const t = prog.attachTo;
  if (!t) return undefined;
  // kprobe/func+0x10: the function is before the offset.
  return t.replace(/\+.*$/, "");
}

/**
 * Relocates one program of `spec` for the running kernel (or `kernelTypes`)
 * without loading anything: applies CO-RE, resolves externs and the attach
 * target. Map references are left unresolved (their immediates stay 0).
 *
 * @throws {CoreRelocationError} for relocations that cannot be applied.
 * @throws {MissingModuleBtfError} when the attach target is in a module whose BTF is missing.
 * @throws {NotFoundError} for missing non-weak externs or attach targets.
 */
export function relocateProgram(
  spec: CollectionSpec,
  name: string,
  options: RelocateOptions = {},
): RelocatedProgram {
  const prog = spec.programs[name];
  if (!prog) throw new NotFoundError(`program ${name}`);
  const env = new KernelEnv({
    root: options.root,
    kernelTypes: kernelTypesSpec(options.kernelTypes),
  });
  try {
    return relocate(prog, { env, spec, alwaysResolveTarget: true });
  } finally {
    env.close();
  }
}

/** @internal Relocates `prog` with the given context. */
export function relocate(prog: CollectionProgramSpec, ctx: RelocationContext): RelocatedProgram {
  const { env, spec } = ctx;
  const insns = prog.instructions.slice();
  const ins = new Insns(insns);
  const out: RelocatedProgram = {
    name: prog.name,
    instructions: insns,
    core: [],
    fdArrayModules: [],
    poisonedKfuncs: new Map(),
  };
  const targetFn = kernelFunctionTarget(prog);
  if (prog.coreRelos.length > 0) {
    if (!spec.types) {
      throw new InvalidArgumentError(`program ${prog.name} has CO-RE relocations but no BTF`);
    }
    out.core = applyCoreRelocations(insns, prog.coreRelos, spec.types, env.core(), {
      program: prog.name,
    });
  }
  if (
    targetFn !== undefined &&
    (ctx.alwaysResolveTarget || out.core.some((r) => r.poisoned) || prog.btfAttach === "func")
  ) {
    out.target = env.targetTypes(targetFn);
  }
  const fdIndex = (module: string): number => {
    let i = out.fdArrayModules.indexOf(module);
    if (i < 0) i = out.fdArrayModules.push(module) - 1;
    return i + 1;
  };
  const externNames = Object.keys(spec.externs);
  const count = insns.length >>> 3;
  for (const ref of prog.references) {
    const i = ref.insn;
    if (i + (ins.op(i) === OP_CALL ? 0 : 1) >= count) {
      throw new InvalidArgumentError(
        `program ${prog.name}: reference to ${
          ref.kind === "ksym" ? ref.extern : ref.kind === "symbol" ? ref.symbol : ref.map
        } at instruction ${i} is past the end of the ${count} instructions`,
      );
    }
    switch (ref.kind) {
      case "map":
        ins.setSrc(i, PSEUDO_MAP_FD);
        ins.setImm(i, ctx.mapFd ? ctx.mapFd(ref.map) : 0);
        ins.setImm(i + 1, 0);
        break;
      case "map_value":
        ins.setSrc(i, PSEUDO_MAP_VALUE);
        ins.setImm(i, ctx.mapFd ? ctx.mapFd(ref.map) : 0);
        ins.setImm(i + 1, ref.offset);
        break;
      case "ksym": {
        const ext = spec.externs[ref.extern];
        if (!ext) throw new NotFoundError(`extern ${ref.extern}`);
        const local = spec.types!;
        const isCall = ins.op(i) === OP_CALL;
        if (ext.kind === "kfunc" || (ext.kind === "ksym" && ext.typed)) {
          const kind: Kind = ext.kind === "kfunc" ? "func" : "var";
          const found = env.findKernelType(ext.name, kind);
          if (found) {
            const lt = local.typeById(ext.typeId) as { type: number };
            const kt = found.spec.typeById(found.id) as { type: number };
            if (!coreTypesAreCompatible(local, lt.type, found.spec, kt.type)) {
              throw new InvalidArgumentError(
                `program ${prog.name}: extern ${ext.name} is declared with a type that does not ` +
                  `match the kernel's ${kind === "func" ? "prototype" : "type"} ` +
                  `(${found.module ?? "vmlinux"} BTF id ${found.id})`,
              );
            }
          }
          if (isCall) {
            if (found) {
              ins.setSrc(i, PSEUDO_KFUNC_CALL);
              ins.setDst(i, 0);
              ins.setImm(i, found.id);
              ins.setOff(i, found.module ? fdIndex(found.module) : 0);
            } else if (ext.weak) {
              const id = POISON_KFUNC_BASE + externNames.indexOf(ext.name);
              insns.fill(0, i * 8, i * 8 + 8);
              ins.setOp(i, OP_CALL);
              ins.setImm(i, id);
              out.poisonedKfuncs.set(id, ext.name);
            } else throw missingExtern(prog, ext.name, "kfunc");
          } else if (found) {
            ins.setSrc(i, PSEUDO_BTF_ID);
            ins.setImm(i, found.id);
            ins.setImm(i + 1, found.module && ctx.moduleFd ? ctx.moduleFd(found.module) : 0);
          } else if (ext.weak) {
            ins.setSrc(i, 0);
            ins.setImm64(i, 0n);
          } else throw missingExtern(prog, ext.name, kind === "func" ? "kfunc" : "kernel variable");
        } else if (ext.kind === "ksym") {
          let addr: bigint | undefined;
          const ks = env.kallsyms();
          if (ks.has(ext.name)) addr = ks.address(ext.name);
          if (addr === undefined && !ext.weak) throw missingExtern(prog, ext.name, "kernel symbol");
          ins.setSrc(i, 0);
          ins.setImm64(i, addr ?? 0n);
        } else {
          throw new InvalidArgumentError(`extern ${ext.name} is a ${ext.kind}, not a ksym`);
        }
        break;
      }
    }
  }
  if (prog.btfAttach && prog.btfAttach !== "ext") {
    const target = prog.attachTo;
    if (!target) {
      throw new InvalidArgumentError(
        `program ${prog.name}: section ${prog.sectionName} needs a target, e.g. ` +
          `${prog.sectionName.split("/")[0]}/<name>`,
      );
    }
    let typeName = target;
    let kind: Kind = "func";
    if (prog.btfAttach === "raw_tp") {
      typeName = `btf_trace_${target}`;
      kind = "typedef";
    } else if (prog.btfAttach === "lsm") typeName = `bpf_lsm_${target}`;
    else if (prog.btfAttach === "iter") typeName = `bpf_iter_${target}`;
    const found = env.findKernelType(
      typeName,
      kind,
      prog.btfAttach === "func" ? target : undefined,
    );
    if (!found) {
      const missing = out.target?.missingModuleBtf;
      if (missing) throw new MissingModuleBtfError(typeName, missing.module, missing.path);
      throw new NotFoundError(
        `attach target ${typeName}`,
        `program ${prog.name}: the kernel BTF has no ${kind} ${typeName} ` +
          `(section ${prog.sectionName})`,
      );
    }
    out.attachBtfId = found.id;
    out.attachBtfModule = found.module;
  }
  return out;
}

function missingExtern(prog: CollectionProgramSpec, name: string, what: string): NotFoundError {
  return new NotFoundError(
    `${what} ${name}`,
    `program ${prog.name}: ${what} ${name} is not in the running kernel; declare it __weak ` +
      "and check it with bpf_ksym_exists() to make it optional",
  );
}

/**
 * Turns a load failure caused by a poisoned instruction into the error that
 * says why: the CO-RE relocation that found no target (or the module whose
 * missing BTF would have had it), or the missing weak kfunc. Other errors
 * are returned unchanged.
 */
export function explainLoadError(
  e: unknown,
  prog: CollectionProgramSpec,
  r: RelocatedProgram,
): unknown {
  if (!(e instanceof VerifierError)) return e;
  const calls = [...e.log.matchAll(/^(\d+):[^\n]*?\(85\) call unknown#(\d+)/gm)];
  const last = calls[calls.length - 1];
  if (!last) return e;
  const insn = Number(last[1]);
  const helper = Number(last[2]);
  if (helper === POISON_HELPER) {
    const res = r.core.find((c) => c.poisoned && (c.insn === insn || c.insn === insn - 1));
    if (!res) return e;
    const missing = r.target?.missingModuleBtf;
    if (missing) {
      return new MissingModuleBtfError(
        essentialName(res.localTypeName),
        missing.module,
        missing.path,
        { cause: e },
      );
    }
    return new CoreRelocationError(
      {
        program: prog.name,
        index: res.index,
        insn: res.insn,
        kind: res.kindLabel,
        access: res.local,
      },
      `${res.poisonReason ?? "no matching target"}, and the verifier reached the poisoned ` +
        "instruction; guard the access with bpf_core_field_exists() / bpf_core_type_exists(), " +
        "or relocate against BTF that has it (kernelTypes)",
      { cause: e },
    );
  }
  const kfunc = r.poisonedKfuncs.get(helper);
  if (kfunc !== undefined) {
    return new NotFoundError(
      `kfunc ${kfunc}`,
      `program ${prog.name} calls the weak kfunc ${kfunc}, which this kernel lacks, without ` +
        "checking it first: guard the call with bpf_ksym_exists()",
      { cause: e },
    );
  }
  return e;
}
