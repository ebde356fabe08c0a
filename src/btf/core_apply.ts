/**
 * Applying CO-RE relocations: each record is resolved against the
 * candidates (every candidate tried, those that match must agree, as
 * libbpf's `bpf_core_calc_relo_insn`), and the instruction is patched or
 * poisoned.
 *
 * @module
 */

import { OP_CALL, OP_LDDW } from "../sys/abi.ts";
import {
  AmbiguityError,
  type CoreSpec,
  describeType,
  formatSpec,
  parseSpec,
  SpecError,
  specMatch,
} from "./core_access.ts";
import type { CoreCandidate, CoreTargets } from "./core_candidates.ts";
import {
  CORE_POISON_HELPER,
  coreKindLabel,
  CoreRelocationError,
  CoreRelocationKind,
  isEnumKind,
  isFieldKind,
  isTypeKind,
} from "./core_kinds.ts";
import { essentialName } from "./core_types.ts";
import { calcEnum, calcField, calcType, Poison } from "./core_values.ts";
import type { CoreRelocationRecord } from "./ext.ts";
import type { Spec } from "./spec.ts";

/** `[id] kind name` of a candidate, with its source unless it is the base BTF. */
function candidateText(c: CoreCandidate, baseLabel: string): string {
  const text = describeType(c.spec, c.id);
  return c.source === baseLabel ? text : `${text} (${c.source})`;
}

/** The outcome of one CO-RE relocation. */
export interface CoreRelocationResult {
  /** Index of the relocation in its program. */
  index: number;
  /** The instruction it patches. */
  insn: number;
  /** The kind (`CoreRelocationKind`). */
  kind: number;
  /** The kind's label, e.g. `"byte_off"`. */
  kindLabel: string;
  /** The local type's name (with flavour). */
  localTypeName: string;
  /** The local access, libbpf style, e.g. `[14] struct task_struct.pid (0:2 @ offset 8)`. */
  local: string;
  /** The value the compiler assumed. */
  oldValue: bigint;
  /** The value for the target (meaningless when `poisoned`). */
  newValue: bigint;
  /** True when no target matched and the instruction was poisoned. */
  poisoned: boolean;
  /** The matched target access, libbpf style, when one matched. */
  target?: string;
  /** Where the matched target type came from (`"vmlinux"`, a module). */
  targetSource?: string;
  /** Why the instruction was poisoned, when it was. */
  poisonReason?: string;
}

/** Options of {@linkcode applyCoreRelocations}. */
export interface ApplyCoreOptions {
  /** The program's name, for errors. */
  program?: string;
  /** Byte order of the object (bitfield shifts depend on it). Default: the local BTF's. */
  bigEndian?: boolean;
}

interface Resolved {
  res: {
    poison: boolean;
    orig: bigint;
    next: bigint;
    validate: boolean;
    origSize: number;
    newSize: number;
    failMemSize: boolean;
  };
  local: CoreSpec;
  target?: CoreSpec;
  source?: string;
  poisonReason?: string;
  /** formatSpec(local), formatSpec(target), made once. */
  localText?: string;
  targetText?: string;
}

function calcRelo(
  kind: number,
  local: CoreSpec,
  target: CoreSpec | undefined,
  bigEndian: boolean,
): Resolved["res"] {
  const res = {
    poison: false,
    orig: 0n,
    next: 0n,
    validate: true,
    origSize: 0,
    newSize: 0,
    failMemSize: false,
  };
  try {
    if (isFieldKind(kind)) {
      const o = calcField(kind, local, bigEndian);
      res.orig = o.value;
      res.validate = o.validate;
      res.origSize = o.size;
      const n = calcField(kind, target, bigEndian);
      res.next = n.value;
      res.newSize = n.size;
      if (o.size !== n.size) {
        const ot = local.btf.typeById(o.typeId);
        const nt = target!.btf.typeById(n.typeId);
        const ok = (ot.kind === "ptr" && nt.kind === "ptr") ||
          (ot.kind === "int" && nt.kind === "int" && ot.encoding !== "signed" &&
            nt.encoding !== "signed");
        if (!ok) res.failMemSize = true;
      }
    } else if (isTypeKind(kind)) {
      res.orig = calcType(kind, local);
      res.next = calcType(kind, target);
    } else if (isEnumKind(kind)) {
      res.orig = calcEnum(kind, local);
      res.next = calcEnum(kind, target);
    } else {
      throw new SpecError(`unknown relocation kind ${kind}`);
    }
  } catch (e) {
    if (!(e instanceof Poison)) throw e;
    res.poison = true;
  }
  return res;
}

/** Resolutions already made, per target set and local BTF (programs share many). */
const RESOLVED = new WeakMap<CoreTargets, WeakMap<Spec, Map<string, Resolved>>>();

function resolveRelocation(
  localBtf: Spec,
  relo: CoreRelocationRecord,
  targets: CoreTargets,
  bigEndian: boolean,
): Resolved {
  let perTarget = RESOLVED.get(targets);
  if (!perTarget) RESOLVED.set(targets, perTarget = new WeakMap());
  let memo = perTarget.get(localBtf);
  if (!memo) perTarget.set(localBtf, memo = new Map());
  const key = `${relo.typeId}:${relo.kind}:${bigEndian ? 1 : 0}:${relo.accessStr}`;
  let r = memo.get(key);
  if (!r) {
    r = resolveUncached(localBtf, relo, targets, bigEndian);
    memo.set(key, r);
  }
  return r;
}

function resolveUncached(
  localBtf: Spec,
  relo: CoreRelocationRecord,
  targets: CoreTargets,
  bigEndian: boolean,
): Resolved {
  const local = parseSpec(localBtf, relo.typeId, relo.accessStr, relo.kind);
  if (relo.kind === CoreRelocationKind.TYPE_ID_LOCAL) {
    const id = BigInt(relo.typeId);
    return {
      res: {
        poison: false,
        orig: id,
        next: id,
        validate: false,
        origSize: 0,
        newSize: 0,
        failMemSize: false,
      },
      local,
    };
  }
  const localType = localBtf.typeById(relo.typeId);
  if (localType.name === "") {
    throw new SpecError("relocations against anonymous types are not supported");
  }
  // libbpf's bpf_core_calc_relo_insn: every candidate is tried; those the
  // access does not match are dropped; the others must agree on the bit
  // offset, on success or failure, and on the new value. The matching ones,
  // if any, are the candidates of the type's later relocations.
  const candidates = targets.candidatesFor(localBtf, relo.typeId, localType);
  const matched: CoreCandidate[] = [];
  let chosen: Resolved | undefined;
  for (const cand of candidates) {
    const t = specMatch(local, cand.spec, cand.id);
    if (!t) continue;
    matched.push(cand);
    const res = calcRelo(relo.kind, local, t, bigEndian);
    if (!chosen) {
      chosen = { res, local, target: t, source: cand.source };
      continue;
    }
    const what = t.bitOffset !== chosen.target!.bitOffset
      ? "field offset ambiguity"
      : res.poison !== chosen.res.poison || res.next !== chosen.res.next
      ? "relocation decision ambiguity"
      : undefined;
    if (what === undefined) continue;
    const outcome = (r: Resolved["res"], spec: CoreSpec) =>
      what === "field offset ambiguity"
        ? formatSpec(spec)
        : `${formatSpec(spec)} ${r.poison ? "fails" : `gives ${r.next}`}`;
    const names = candidates.map((c) => candidateText(c, targets.label));
    throw new AmbiguityError(
      `${what}: ${outcome(chosen.res, chosen.target!)} but ${outcome(res, t)}; ` +
        `candidates (types named ${essentialName(localType.name)}, with or without a ` +
        `___flavour suffix): ${names.join(", ")}. ` +
        "Relocate against BTF with only one of them, or access only what they agree on",
      names,
    );
  }
  if (chosen) {
    if (matched.length < candidates.length) targets.narrow(localBtf, relo.typeId, matched);
    return chosen;
  }
  const res = calcRelo(relo.kind, local, undefined, bigEndian);
  const what = isEnumKind(relo.kind)
    ? `enumerator ${local.acc[0]?.name}`
    : isFieldKind(relo.kind)
    ? `field ${formatSpec(local).replace(/ \(.*$/, "").replace(/^\[\d+\] /, "")}`
    : `type ${localType.name}`;
  const n = candidates.length;
  return {
    res,
    local,
    poisonReason: n === 0
      ? `no type named ${essentialName(localType.name)} in the target BTF`
      : `${what} not found in any of the ${n} candidate type${n === 1 ? "" : "s"}`,
  };
}

const SIZE_CODE: Record<number, number> = { 1: 0x10, 2: 0x08, 4: 0x00, 8: 0x18 };
const CODE_SIZE: Record<number, number> = { 0x10: 1, 0x08: 2, 0x00: 4, 0x18: 8 };

/**
 * Applies `relos` to `insns` (a program's instructions, host byte order,
 * patched in place) against `targets`, with `localBtf` as the object's BTF.
 * Unresolvable relocations are poisoned; resolvable ones patch the
 * instruction's immediate, offset (and load/store size), or 64-bit
 * immediate. Returns one result per relocation.
 *
 * @throws {CoreRelocationError} for malformed records, ambiguous candidates
 * and instructions that do not have the form the relocation kind needs.
 */
export function applyCoreRelocations(
  insns: Uint8Array,
  relos: readonly CoreRelocationRecord[],
  localBtf: Spec,
  targets: CoreTargets,
  options: ApplyCoreOptions = {},
): CoreRelocationResult[] {
  const bigEndian = options.bigEndian ?? !localBtf.littleEndian;
  const dv = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const count = insns.length >>> 3;
  const out: CoreRelocationResult[] = [];
  for (let index = 0; index < relos.length; index++) {
    const relo = relos[index];
    const i = relo.insnOff;
    const info = {
      program: options.program,
      index,
      insn: i,
      kind: coreKindLabel(relo.kind),
      access: `[${relo.typeId}] (${relo.accessStr})`,
    };
    if (i >= count) throw new CoreRelocationError(info, `instruction #${i} is out of range`);
    let r: Resolved;
    try {
      r = resolveRelocation(localBtf, relo, targets, bigEndian);
    } catch (e) {
      if (e instanceof SpecError) throw specFailure(e, info, localBtf, relo);
      throw e;
    }
    info.access = r.localText ??= formatSpec(r.local);
    const result: CoreRelocationResult = {
      index,
      insn: i,
      kind: relo.kind,
      kindLabel: info.kind,
      localTypeName: localBtf.typeById(relo.typeId).name,
      local: info.access,
      oldValue: r.res.orig,
      newValue: r.res.next,
      poisoned: false,
      target: r.target ? (r.targetText ??= formatSpec(r.target)) : undefined,
      targetSource: r.source,
    };
    out.push(result);
    const res = r.res;
    const p = i * 8;
    const op = insns[p];
    const cls = op & 0x07;
    const poison = (reason: string) => {
      result.poisoned = true;
      result.poisonReason = reason;
      const ld = op === OP_LDDW && i + 1 < count;
      insns.fill(0, p, p + 8);
      insns[p] = OP_CALL;
      dv.setInt32(p + 4, CORE_POISON_HELPER, true);
      if (ld) {
        insns.fill(0, p + 8, p + 16);
        insns[p + 8] = OP_CALL;
        dv.setInt32(p + 12, CORE_POISON_HELPER, true);
      }
    };
    if (res.poison) {
      poison(r.poisonReason ?? "no matching target");
      continue;
    }
    const u64 = (n: number | bigint) => BigInt.asUintN(64, BigInt(n));
    switch (cls) {
      case 0x04: // ALU
      case 0x07: { // ALU64
        if (op & 0x08) throw new CoreRelocationError(info, "ALU instruction has a register source");
        const imm = dv.getInt32(p + 4, true);
        if (res.validate && u64(imm) !== u64(res.orig)) {
          throw new CoreRelocationError(
            info,
            `unexpected ALU immediate ${imm}, expected ${res.orig} (the object and its BTF disagree)`,
          );
        }
        dv.setInt32(p + 4, Number(BigInt.asIntN(32, res.next)), true);
        break;
      }
      case 0x01: // LDX
      case 0x02: // ST
      case 0x03: { // STX
        const off = dv.getInt16(p + 2, true);
        if (res.validate && u64(off) !== u64(res.orig)) {
          throw new CoreRelocationError(
            info,
            `unexpected memory offset ${off}, expected ${res.orig} (the object and its BTF disagree)`,
          );
        }
        if (res.next > 0x7fffn) {
          throw new CoreRelocationError(info, `offset ${res.next} does not fit in 16 bits`);
        }
        if (res.failMemSize) {
          poison(
            "the field changed size and is not a pointer or unsigned integer: " +
              "access pointers, unsigned integers, or fields of matching type and size",
          );
          break;
        }
        dv.setInt16(p + 2, Number(res.next), true);
        if (res.newSize !== res.origSize) {
          const have = CODE_SIZE[op & 0x18];
          if (have !== res.origSize) {
            throw new CoreRelocationError(
              info,
              `memory access of ${have} bytes, expected ${res.origSize}`,
            );
          }
          const code = SIZE_CODE[res.newSize];
          if (code === undefined) {
            throw new CoreRelocationError(info, `invalid new memory access size ${res.newSize}`);
          }
          insns[p] = (op & ~0x18) | code;
        }
        break;
      }
      case 0x00: { // LD
        if (
          op !== OP_LDDW || i + 1 >= count || (insns[p + 1] >>> 4) !== 0 ||
          dv.getInt16(p + 2, true) !== 0 || insns[p + 8] !== 0 || insns[p + 9] !== 0 ||
          dv.getInt16(p + 10, true) !== 0
        ) {
          throw new CoreRelocationError(info, "64-bit immediate load has an unexpected form");
        }
        const lo = BigInt(dv.getUint32(p + 4, true));
        const hi = BigInt(dv.getUint32(p + 12, true));
        const imm = (hi << 32n) | lo;
        if (res.validate && imm !== u64(res.orig)) {
          throw new CoreRelocationError(
            info,
            `unexpected 64-bit immediate ${imm}, expected ${res.orig}`,
          );
        }
        const n = u64(res.next);
        dv.setUint32(p + 4, Number(n & 0xffffffffn), true);
        dv.setUint32(p + 12, Number(n >> 32n), true);
        break;
      }
      default:
        throw new CoreRelocationError(
          info,
          `cannot relocate instruction with opcode 0x${op.toString(16)}`,
        );
    }
  }
  return out;
}

/**
 * Computes one relocation without patching anything: what it would resolve
 * to against `targets`. Useful for diagnostics and tests.
 *
 * @throws {CoreRelocationError} for malformed records and ambiguous candidates.
 */
export function resolveCoreRelocation(
  localBtf: Spec,
  relo: CoreRelocationRecord,
  targets: CoreTargets,
  options: ApplyCoreOptions = {},
): CoreRelocationResult {
  // Patch a scratch instruction of the right form, so that the result is
  // exactly what applyCoreRelocations would produce.
  const scratch = new Uint8Array(16);
  scratch[0] = OP_LDDW; // lddw: accepts every value width, never validated by size
  const r = resolveRelocationSafe(localBtf, relo, targets, options);
  const dv = new DataView(scratch.buffer);
  const orig = BigInt.asUintN(64, r.res.orig);
  dv.setUint32(4, Number(orig & 0xffffffffn), true);
  dv.setUint32(12, Number(orig >> 32n), true);
  const [res] = applyCoreRelocations(
    scratch,
    [{ ...relo, insnOff: 0 }],
    localBtf,
    targets,
    options,
  );
  return { ...res, insn: relo.insnOff };
}

function resolveRelocationSafe(
  localBtf: Spec,
  relo: CoreRelocationRecord,
  targets: CoreTargets,
  options: ApplyCoreOptions,
): Resolved {
  try {
    return resolveRelocation(localBtf, relo, targets, options.bigEndian ?? !localBtf.littleEndian);
  } catch (e) {
    if (e instanceof SpecError) {
      throw specFailure(
        e,
        {
          program: options.program,
          index: 0,
          insn: relo.insnOff,
          kind: coreKindLabel(relo.kind),
          access: `[${relo.typeId}] (${relo.accessStr})`,
        },
        localBtf,
        relo,
      );
    }
    throw e;
  }
}

/**
 * The error for a relocation that could not be resolved: the access names
 * the local type (`[35] struct ambiguous (0)`), as far as the record allows;
 * an ambiguity lists the candidates.
 */
function specFailure(
  e: SpecError,
  info: { program?: string; index: number; insn: number; kind: string; access: string },
  localBtf: Spec,
  relo: CoreRelocationRecord,
): CoreRelocationError {
  let access = info.access;
  try {
    const spec = parseSpec(localBtf, relo.typeId, relo.accessStr, relo.kind);
    // Type relocations print no access of their own; the string is "0".
    access = isTypeKind(relo.kind) ? `${formatSpec(spec)} (${relo.accessStr})` : formatSpec(spec);
  } catch {
    access = `${describeType(localBtf, relo.typeId)} (${relo.accessStr})`;
  }
  return new CoreRelocationError(
    {
      ...info,
      access,
      candidates: e instanceof AmbiguityError ? e.candidates : undefined,
    },
    e.message,
  );
}
