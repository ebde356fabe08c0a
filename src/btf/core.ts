/**
 * CO-RE (compile once, run everywhere): relocating the instructions clang
 * marked with `__builtin_preserve_access_index` and friends against the
 * target kernel's BTF.
 *
 * For each relocation record (`struct bpf_core_relo` from `.BTF.ext`) the
 * local type and its access string (`"0:1:2"`, member and array indices)
 * are turned into a *spec*; candidate types of the same essential name
 * (flavour suffix `___xyz` stripped) and compatible kind are looked up in
 * the target BTF (vmlinux first, kernel modules when vmlinux has none); the
 * spec is matched against each candidate by member *names*; the value the
 * instruction needs (a field's offset, size, existence, signedness, bitfield
 * shifts, a type id, existence or size, an enumerator's existence or value)
 * is computed for the local and the target side; and the instruction is
 * patched — or, when nothing matches and the value cannot be defaulted,
 * poisoned: replaced by a call to the invalid helper 0xbad2310, so that the
 * program fails only if it reaches that instruction (libbpf's behaviour).
 *
 * The relocation kinds and their semantics are those of
 * `enum bpf_core_relo_kind` in `include/uapi/linux/bpf.h` and the kernel's
 * Documentation/bpf/llvm_reloc.rst; the matching rules follow libbpf's
 * documented CO-RE semantics.
 *
 * @module
 */

import { EbpfError } from "../errors.ts";
import type { CoreRelocationRecord } from "./ext.ts";
import { flavouredNameHits, rawSpec, type Spec } from "./spec.ts";
import type { BtfType, Kind, Member } from "./types.ts";

/** `enum bpf_core_relo_kind`. */
export const CoreRelocationKind = {
  /** Field byte offset. */
  FIELD_BYTE_OFFSET: 0,
  /** Field size in bytes. */
  FIELD_BYTE_SIZE: 1,
  /** Field existence in the target. */
  FIELD_EXISTS: 2,
  /** Field signedness (0 unsigned, 1 signed). */
  FIELD_SIGNED: 3,
  /** Left shift for a bitfield read through a u64. */
  FIELD_LSHIFT_U64: 4,
  /** Right shift for a bitfield read through a u64. */
  FIELD_RSHIFT_U64: 5,
  /** Type id in the local BTF. */
  TYPE_ID_LOCAL: 6,
  /** Type id in the target BTF. */
  TYPE_ID_TARGET: 7,
  /** Type existence in the target. */
  TYPE_EXISTS: 8,
  /** Type size in the target. */
  TYPE_SIZE: 9,
  /** Enumerator existence in the target. */
  ENUMVAL_EXISTS: 10,
  /** Enumerator value in the target. */
  ENUMVAL_VALUE: 11,
  /** Type "matches" in the target (stricter than existence). */
  TYPE_MATCHES: 12,
} as const;

/** A name of {@linkcode CoreRelocationKind}. */
export type CoreRelocationKindName = keyof typeof CoreRelocationKind;

const KIND_LABELS = [
  "byte_off",
  "byte_sz",
  "field_exists",
  "signed",
  "lshift_u64",
  "rshift_u64",
  "local_type_id",
  "target_type_id",
  "type_exists",
  "type_size",
  "enumval_exists",
  "enumval_value",
  "type_matches",
];

/** The short label libbpf prints for a relocation kind, e.g. `"byte_off"`. */
export function coreKindLabel(kind: number): string {
  return KIND_LABELS[kind] ?? `kind ${kind}`;
}

/** The helper id written into poisoned instructions (0xbad2310, "bad relo"). */
export const CORE_POISON_HELPER = 0xbad2310;

/** Longest access string (libbpf's `BPF_CORE_SPEC_MAX_LEN`). */
const SPEC_MAX_LEN = 64;
/** Recursion limit of the type comparisons. */
const MAX_DEPTH = 32;

function isFieldKind(k: number): boolean {
  return k <= CoreRelocationKind.FIELD_RSHIFT_U64;
}
function isTypeKind(k: number): boolean {
  return (k >= CoreRelocationKind.TYPE_ID_LOCAL && k <= CoreRelocationKind.TYPE_SIZE) ||
    k === CoreRelocationKind.TYPE_MATCHES;
}
function isEnumKind(k: number): boolean {
  return k === CoreRelocationKind.ENUMVAL_EXISTS || k === CoreRelocationKind.ENUMVAL_VALUE;
}

/**
 * A CO-RE relocation could not be applied: the record is malformed, the
 * candidates disagree, the instruction does not have the expected form —
 * or a poisoned instruction (no target type or field) was reached when the
 * program was loaded.
 */
export class CoreRelocationError extends EbpfError {
  /** Always `"ECORERELO"`. */
  override readonly code = "ECORERELO";
  /** The program, when known. */
  readonly program?: string;
  /** The relocation's index in its program. */
  readonly index: number;
  /** The instruction it applies to. */
  readonly insn: number;
  /** The relocation kind's label, e.g. `"byte_off"`. */
  readonly kind: string;
  /** The local access, e.g. `"[14] struct task_struct.real_parent (0:46)"`. */
  readonly access: string;
  /** Why it failed. */
  readonly reason: string;
  /**
   * For an ambiguity: every candidate target type, as `"[id] kind name"`
   * (with its source when that is not the base BTF).
   */
  readonly candidates?: readonly string[];
  /** Creates the error. */
  constructor(
    info: {
      program?: string;
      index: number;
      insn: number;
      kind: string;
      access: string;
      candidates?: readonly string[];
    },
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${info.program ? `program ${info.program}: ` : ""}CO-RE relocation #${info.index} ` +
        `(${info.kind} ${info.access}, insn #${info.insn}): ${reason}`,
      options,
    );
    this.program = info.program;
    this.index = info.index;
    this.insn = info.insn;
    this.kind = info.kind;
    this.access = info.access;
    this.reason = reason;
    if (info.candidates) this.candidates = info.candidates;
  }
}

// ---- type helpers ---------------------------------------------------------

/**
 * The essential name of a type: the name without a flavour suffix
 * (`task_struct___old` → `task_struct`). The suffix starts at the last
 * `___` that is preceded and followed by a character other than `_`.
 */
export function essentialName(name: string): string {
  for (let i = name.length - 5; i >= 0; i--) {
    if (
      name.charCodeAt(i) !== 95 && name.charCodeAt(i + 1) === 95 &&
      name.charCodeAt(i + 2) === 95 && name.charCodeAt(i + 3) === 95 &&
      name.charCodeAt(i + 4) !== 95
    ) {
      return name.slice(0, i + 1);
    }
  }
  return name;
}

function skip(btf: Spec, id: number): BtfType {
  return btf.resolve(id);
}

function isComposite(t: BtfType): t is Extract<BtfType, { kind: "struct" | "union" }> {
  return t.kind === "struct" || t.kind === "union";
}
function isAnyEnum(t: BtfType): t is Extract<BtfType, { kind: "enum" | "enum64" }> {
  return t.kind === "enum" || t.kind === "enum64";
}
function kindsCompat(a: BtfType, b: BtfType): boolean {
  return a.kind === b.kind || (isAnyEnum(a) && isAnyEnum(b));
}
/**
 * The size of a type (like `Spec.sizeOf`, -1 for sizeless types), with the
 * pointer size taken from the batch name lookup rather than a scan of
 * its own.
 */
function sizeOf(btf: Spec, id: number): number {
  let nelems = 1;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    let t: BtfType;
    try {
      t = btf.typeById(id);
    } catch {
      return -1;
    }
    switch (t.kind) {
      case "int":
      case "struct":
      case "union":
      case "enum":
      case "enum64":
      case "datasec":
      case "float":
        return nelems * t.size;
      case "ptr":
        return nelems * pointerSize(btf);
      case "typedef":
      case "const":
      case "volatile":
      case "restrict":
      case "type_tag":
      case "var":
        id = t.type;
        continue;
      case "array":
        nelems *= t.nelems;
        id = t.type;
        continue;
      default:
        return -1;
    }
  }
  return -1;
}

const PTR_SIZES = new WeakMap<Spec, number>();
const LONG_NAMES = ["long int", "long unsigned int"];

/** The pointer size of a BTF: that of `long`, else 8. */
function pointerSize(btf: Spec): number {
  let root = btf;
  while (root.base) root = root.base;
  let size = PTR_SIZES.get(root);
  if (size === undefined) {
    size = 8;
    for (const n of LONG_NAMES) {
      const ids = ownTypeIdsByName(root, n, "int");
      if (ids.length > 0) {
        const t = root.typeById(ids[0]);
        if (t.kind === "int" && (t.size === 4 || t.size === 8)) {
          size = t.size;
          break;
        }
      }
    }
    PTR_SIZES.set(root, size);
  }
  return size;
}

function namesMatch(local: string, target: string): boolean {
  if (target === "") return local === "";
  return essentialName(local) === essentialName(target);
}

/** Member compatibility of a field (libbpf's `bpf_core_fields_are_compat`). */
function fieldsCompat(lb: Spec, lid: number, tb: Spec, tid: number): boolean {
  let l = skip(lb, lid);
  let t = skip(tb, tid);
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    if (isComposite(l) && isComposite(t)) return true;
    if (!kindsCompat(l, t)) return false;
    switch (l.kind) {
      case "ptr":
      case "float":
        return true;
      case "fwd":
      case "enum":
      case "enum64":
        return essentialName(l.name) === essentialName(t.name);
      case "int":
        return l.bitOffset === 0 && (t as typeof l).bitOffset === 0;
      case "array": {
        const ta = t as typeof l;
        l = skip(lb, l.type);
        t = skip(tb, ta.type);
        continue;
      }
      default:
        return false;
    }
  }
  return false;
}

/**
 * Whether two types are compatible for type-based relocations (libbpf's
 * `bpf_core_types_are_compat`): same kind after skipping typedefs and
 * modifiers; pointers, arrays and function prototypes compared structurally;
 * any two integers without bit offset compatible.
 */
export function coreTypesAreCompatible(
  localBtf: Spec,
  localId: number,
  targetBtf: Spec,
  targetId: number,
): boolean {
  return typesCompat(localBtf, localId, targetBtf, targetId, MAX_DEPTH);
}

function typesCompat(lb: Spec, lid: number, tb: Spec, tid: number, depth: number): boolean {
  for (; depth > 0; depth--) {
    const l = skip(lb, lid);
    const t = skip(tb, tid);
    if (!kindsCompat(l, t)) return false;
    switch (l.kind) {
      case "void":
      case "struct":
      case "union":
      case "enum":
      case "enum64":
      case "fwd":
        return true;
      case "int":
        return l.bitOffset === 0 && (t as typeof l).bitOffset === 0;
      case "ptr":
        lid = l.type;
        tid = (t as typeof l).type;
        continue;
      case "array":
        lid = l.type;
        tid = (t as typeof l).type;
        continue;
      case "func_proto": {
        const tp = t as typeof l;
        if (l.params.length !== tp.params.length) return false;
        for (let i = 0; i < l.params.length; i++) {
          if (!typesCompat(lb, l.params[i].type, tb, tp.params[i].type, depth - 1)) return false;
        }
        lid = l.returnType;
        tid = tp.returnType;
        continue;
      }
      default:
        return false;
    }
  }
  return false;
}

/**
 * Whether a local type "matches" a target type (the `TYPE_MATCHES`
 * relocation; libbpf's `bpf_core_types_match`): names must agree, every
 * local member or enumerator must exist in the target with a matching type,
 * integers must agree in size and signedness, arrays in length; behind a
 * pointer, a struct or union also matches a forward declaration.
 */
export function coreTypesMatch(
  localBtf: Spec,
  localId: number,
  targetBtf: Spec,
  targetId: number,
): boolean {
  return typesMatch(localBtf, localId, targetBtf, targetId, false, MAX_DEPTH);
}

function typesMatch(
  lb: Spec,
  lid: number,
  tb: Spec,
  tid: number,
  behindPtr: boolean,
  level: number,
): boolean {
  for (; level > 0; level--) {
    const l = skip(lb, lid);
    const t = skip(tb, tid);
    if (!namesMatch(l.name, t.name)) return false;
    switch (l.kind) {
      case "void":
        return t.kind === "void";
      case "fwd": {
        const lUnion = l.fwdKind === "union";
        if (t.kind === "fwd") return lUnion === (t.fwdKind === "union");
        if (!behindPtr) return false;
        return (t.kind === "struct" && !lUnion) || (t.kind === "union" && lUnion);
      }
      case "enum":
      case "enum64": {
        if (!isAnyEnum(t)) return false;
        if (l.size !== t.size || l.values.length > t.values.length) return false;
        for (const v of l.values) {
          if (!t.values.some((tv) => namesMatch(v.name, tv.name))) return false;
        }
        return true;
      }
      case "struct":
      case "union": {
        if (behindPtr) {
          if (t.kind === l.kind) return true;
          if (t.kind !== "fwd") return false;
          return (l.kind === "union") === (t.fwdKind === "union");
        }
        if (t.kind !== l.kind) return false;
        if (l.members.length > t.members.length) return false;
        for (const m of l.members) {
          let found = false;
          for (const tm of t.members) {
            if (!namesMatch(m.name, tm.name)) continue;
            if (typesMatch(lb, m.type, tb, tm.type, behindPtr, level - 1)) {
              found = true;
              break;
            }
          }
          if (!found) return false;
        }
        return true;
      }
      case "int": {
        if (t.kind !== "int") return false;
        const ls = l.encoding === "signed";
        const ts = t.encoding === "signed";
        return l.size === t.size && ls === ts;
      }
      case "ptr":
        if (t.kind !== "ptr") return false;
        behindPtr = true;
        lid = l.type;
        tid = t.type;
        continue;
      case "array":
        if (t.kind !== "array" || l.nelems !== t.nelems) return false;
        lid = l.type;
        tid = t.type;
        continue;
      case "func_proto": {
        if (t.kind !== "func_proto" || l.params.length !== t.params.length) return false;
        for (let i = 0; i < l.params.length; i++) {
          if (!typesMatch(lb, l.params[i].type, tb, t.params[i].type, behindPtr, level - 1)) {
            return false;
          }
        }
        lid = l.returnType;
        tid = t.returnType;
        continue;
      }
      default:
        return false;
    }
  }
  return false;
}

// ---- specs ----------------------------------------------------------------

interface Accessor {
  /** The composite (or array element, or enum) type id the accessor applies to. */
  typeId: number;
  /** Member, array or enumerator index. */
  idx: number;
  /** Member or enumerator name; undefined for array indexing. */
  name?: string;
}

/** A relocation's access, resolved against one BTF (libbpf's `struct bpf_core_spec`). */
interface CoreSpec {
  btf: Spec;
  rootTypeId: number;
  kind: number;
  /** Every index, as in the access string (anonymous members included). */
  raw: number[];
  /** The named or array accessors. */
  acc: Accessor[];
  /** Bit offset of the accessed field from the root. */
  bitOffset: number;
}

class SpecError extends Error {}

/** Candidates that resolve a relocation differently. */
class AmbiguityError extends SpecError {
  constructor(message: string, readonly candidates: readonly string[]) {
    super(message);
  }
}

function isFlexArray(btf: Spec, parent: Accessor | undefined, nelems: number): boolean {
  if (!parent || parent.name === undefined || nelems > 0) return false;
  const t = btf.typeById(parent.typeId);
  return isComposite(t) && parent.idx === t.members.length - 1;
}

function parseSpec(btf: Spec, typeId: number, accessStr: string, kind: number): CoreSpec {
  if (!/^\d+(?::\d+)*$/.test(accessStr)) throw new SpecError(`bad access string "${accessStr}"`);
  const raw = accessStr.split(":").map(Number);
  if (raw.length > SPEC_MAX_LEN) throw new SpecError(`access string longer than ${SPEC_MAX_LEN}`);
  const spec: CoreSpec = { btf, rootTypeId: typeId, kind, raw, acc: [], bitOffset: 0 };
  if (isTypeKind(kind)) {
    if (accessStr !== "0") throw new SpecError(`type relocation with access string "${accessStr}"`);
    return spec;
  }
  let t = skip(btf, typeId);
  let id = t.id;
  spec.acc.push({ typeId: id, idx: raw[0] });
  if (isEnumKind(kind)) {
    if (!isAnyEnum(t) || raw.length > 1 || raw[0] >= t.values.length) {
      throw new SpecError(`enumerator access ${accessStr} into ${describeType(btf, typeId)}`);
    }
    spec.acc[0].name = t.values[raw[0]].name;
    return spec;
  }
  if (!isFieldKind(kind)) throw new SpecError(`unknown relocation kind ${kind}`);
  const sz = sizeOf(btf, id);
  if (sz < 0) throw new SpecError(`type [${id}] has no size`);
  spec.bitOffset = raw[0] * sz * 8;
  for (let i = 1; i < raw.length; i++) {
    t = skip(btf, id);
    id = t.id;
    const idx = raw[i];
    if (isComposite(t)) {
      if (idx >= t.members.length) {
        throw new SpecError(`member index ${idx} out of range of ${describeType(btf, id)}`);
      }
      const m = t.members[idx];
      spec.bitOffset += m.bitOffset;
      if (m.name !== "") spec.acc.push({ typeId: id, idx, name: m.name });
      id = m.type;
    } else if (t.kind === "array") {
      const el = skip(btf, t.type);
      const flex = isFlexArray(btf, spec.acc[spec.acc.length - 1], t.nelems);
      if (!flex && idx >= t.nelems) {
        throw new SpecError(`array index ${idx} out of range of ${t.nelems} elements`);
      }
      id = el.id;
      spec.acc.push({ typeId: id, idx });
      const esz = sizeOf(btf, id);
      if (esz < 0) throw new SpecError(`array element type [${id}] has no size`);
      spec.bitOffset += idx * esz * 8;
    } else {
      throw new SpecError(
        `access ${accessStr} reaches ${
          describeType(btf, id)
        }, which is neither struct, union nor array`,
      );
    }
  }
  return spec;
}

function describeType(btf: Spec, id: number): string {
  try {
    const t = btf.typeById(id);
    const kw = t.kind === "struct" || t.kind === "union" || t.kind === "enum" || t.kind === "fwd"
      ? `${t.kind} `
      : t.kind === "enum64"
      ? "enum "
      : "";
    return `[${id}] ${kw}${t.name || "(anon)"}`;
  } catch {
    return `[${id}]`;
  }
}

/** `[id] kind name` of a candidate, with its source unless it is the base BTF. */
function candidateText(c: CoreCandidate, baseLabel: string): string {
  const text = describeType(c.spec, c.id);
  return c.source === baseLabel ? text : `${text} (${c.source})`;
}

/** libbpf-style text of a spec: `[14] struct task_struct.real_parent.tgid (0:46:2 @ offset 2372)`. */
function formatSpec(spec: CoreSpec): string {
  const btf = spec.btf;
  let s = describeType(btf, spec.rootTypeId);
  if (isTypeKind(spec.kind)) return s;
  if (isEnumKind(spec.kind)) {
    const a = spec.acc[0];
    return `${s}::${a?.name ?? "?"} = ${enumValue(btf, a)}`;
  }
  for (let i = 0; i < spec.acc.length; i++) {
    const a = spec.acc[i];
    if (a.name !== undefined) s += `.${a.name}`;
    else if (i > 0) s += `[${a.idx}]`;
  }
  s += ` (${spec.raw.join(":")} @ offset ${Math.floor(spec.bitOffset / 8)}`;
  if (spec.bitOffset % 8) s += `.${spec.bitOffset % 8}`;
  return s + ")";
}

function enumValue(btf: Spec, a: Accessor | undefined): string {
  if (!a) return "?";
  const t = btf.typeById(a.typeId);
  return isAnyEnum(t) ? String(t.values[a.idx]?.value) : "?";
}

/** Finds member `local` in target composite `tid`, descending into anonymous members. */
function matchMember(
  lb: Spec,
  local: Accessor,
  tb: Spec,
  tid: number,
  spec: CoreSpec,
): { found: boolean; nextId: number } {
  const lt = lb.typeById(local.typeId) as Extract<BtfType, { members: readonly Member[] }>;
  const lm = lt.members[local.idx];
  const t = skip(tb, tid);
  if (!isComposite(t)) return { found: false, nextId: 0 };
  tid = t.id;
  for (let i = 0; i < t.members.length; i++) {
    const m = t.members[i];
    if (spec.raw.length === SPEC_MAX_LEN) throw new SpecError("struct nesting too deep");
    spec.bitOffset += m.bitOffset;
    spec.raw.push(i);
    if (m.name === "") {
      const r = matchMember(lb, local, tb, m.type, spec);
      if (r.found) return r;
    } else if (m.name === local.name) {
      spec.acc.push({ typeId: tid, idx: i, name: m.name });
      if (fieldsCompat(lb, lm.type, tb, m.type)) return { found: true, nextId: m.type };
      spec.acc.pop();
      return { found: false, nextId: 0 };
    }
    spec.bitOffset -= m.bitOffset;
    spec.raw.pop();
  }
  return { found: false, nextId: 0 };
}

/** Matches a local spec against candidate `tid` of `tb`; the target spec, or undefined. */
function specMatch(local: CoreSpec, tb: Spec, tid: number): CoreSpec | undefined {
  const target: CoreSpec = {
    btf: tb,
    rootTypeId: tid,
    kind: local.kind,
    raw: [],
    acc: [],
    bitOffset: 0,
  };
  if (isTypeKind(local.kind)) {
    const ok = local.kind === CoreRelocationKind.TYPE_MATCHES
      ? coreTypesMatch(local.btf, local.rootTypeId, tb, tid)
      : coreTypesAreCompatible(local.btf, local.rootTypeId, tb, tid);
    return ok ? target : undefined;
  }
  if (isEnumKind(local.kind)) {
    const t = skip(tb, tid);
    if (!isAnyEnum(t)) return undefined;
    const want = essentialName(local.acc[0].name!);
    for (let i = 0; i < t.values.length; i++) {
      if (essentialName(t.values[i].name) === want) {
        target.acc.push({ typeId: t.id, idx: i, name: t.values[i].name });
        target.raw.push(i);
        return target;
      }
    }
    return undefined;
  }
  let id = tid;
  for (let i = 0; i < local.acc.length; i++) {
    const la = local.acc[i];
    const t = skip(tb, id);
    id = t.id;
    if (la.name !== undefined) {
      const r = matchMember(local.btf, la, tb, id, target);
      if (!r.found) return undefined;
      id = r.nextId;
    } else {
      if (i > 0) {
        if (t.kind !== "array") return undefined;
        const flex = isFlexArray(tb, target.acc[target.acc.length - 1], t.nelems);
        if (!flex && la.idx >= t.nelems) return undefined;
        id = skip(tb, t.type).id;
      }
      if (target.raw.length === SPEC_MAX_LEN) throw new SpecError("struct nesting too deep");
      target.acc.push({ typeId: id, idx: la.idx });
      target.raw.push(la.idx);
      const sz = sizeOf(tb, id);
      if (sz < 0) return undefined;
      target.bitOffset += la.idx * sz * 8;
    }
  }
  return target;
}

// ---- values ---------------------------------------------------------------

interface FieldValue {
  value: bigint;
  /** Memory size of a plain field (for load/store size adjustment); 0 for bitfields. */
  size: number;
  /** The field's type id (for the size adjustment check). */
  typeId: number;
  validate: boolean;
}

class Poison extends Error {}

/** `bitOff` in bytes; a field that is not a bitfield starts on a byte (else the BTF is bad). */
function byteAligned(bitOff: number, what: string): number {
  if (bitOff % 8 !== 0) throw new SpecError(`${what} is at bit offset ${bitOff}, not on a byte`);
  return bitOff / 8;
}

function calcField(kind: number, spec: CoreSpec | undefined, bigEndian: boolean): FieldValue {
  if (kind === CoreRelocationKind.FIELD_EXISTS) {
    return { value: spec ? 1n : 0n, size: 0, typeId: 0, validate: true };
  }
  if (!spec) throw new Poison();
  const btf = spec.btf;
  const acc = spec.acc[spec.acc.length - 1];
  if (acc.name === undefined) {
    // An array element access a[n].
    const sz = sizeOf(btf, acc.typeId);
    if (sz < 0) throw new SpecError(`array element [${acc.typeId}] has no size`);
    if (kind === CoreRelocationKind.FIELD_BYTE_OFFSET) {
      return {
        value: BigInt(byteAligned(spec.bitOffset, "array element")),
        size: sz,
        typeId: acc.typeId,
        validate: true,
      };
    }
    if (kind === CoreRelocationKind.FIELD_BYTE_SIZE) {
      return { value: BigInt(sz), size: 0, typeId: 0, validate: true };
    }
    throw new SpecError(`${coreKindLabel(kind)} cannot be applied to an array access`);
  }
  const t = btf.typeById(acc.typeId) as Extract<BtfType, { members: readonly Member[] }>;
  const m = t.members[acc.idx];
  const mt = skip(btf, m.type);
  const fieldType = mt.id;
  const bitOff = spec.bitOffset;
  let bitSz = m.bitfieldSize;
  const bitfield = bitSz > 0;
  let byteSz: number;
  let byteOff: number;
  if (bitfield) {
    byteSz = (mt as { size?: number }).size ?? 0;
    if (byteSz <= 0) throw new SpecError(`bitfield ${acc.name} has a sizeless type`);
    byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    while (bitOff + bitSz - byteOff * 8 > byteSz * 8) {
      if (byteSz >= 8) {
        throw new SpecError(`bitfield ${acc.name} cannot be read with a 64-bit load`);
      }
      byteSz *= 2;
      byteOff = Math.floor(bitOff / 8 / byteSz) * byteSz;
    }
  } else {
    byteSz = sizeOf(btf, fieldType);
    if (byteSz < 0) throw new SpecError(`field ${acc.name} has no size`);
    byteOff = byteAligned(bitOff, `field ${acc.name}`);
    bitSz = byteSz * 8;
  }
  let value: bigint;
  let validate = !bitfield;
  let size = 0;
  let typeId = 0;
  switch (kind) {
    case CoreRelocationKind.FIELD_BYTE_OFFSET:
      value = BigInt(byteOff);
      if (!bitfield) {
        size = byteSz;
        typeId = fieldType;
      }
      break;
    case CoreRelocationKind.FIELD_BYTE_SIZE:
      value = BigInt(byteSz);
      break;
    case CoreRelocationKind.FIELD_SIGNED:
      value = (isAnyEnum(mt) && mt.signed) || (mt.kind === "int" && mt.encoding === "signed")
        ? 1n
        : 0n;
      validate = true;
      break;
    case CoreRelocationKind.FIELD_LSHIFT_U64:
      value = bigEndian
        ? BigInt((8 - byteSz) * 8 + (bitOff - byteOff * 8))
        : BigInt(64 - (bitOff + bitSz - byteOff * 8));
      break;
    case CoreRelocationKind.FIELD_RSHIFT_U64:
      value = BigInt(64 - bitSz);
      validate = true;
      break;
    default:
      throw new SpecError(`unknown field relocation kind ${kind}`);
  }
  return { value, size, typeId, validate };
}

function calcType(kind: number, spec: CoreSpec | undefined): bigint {
  if (!spec) return 0n;
  switch (kind) {
    case CoreRelocationKind.TYPE_ID_TARGET:
      return BigInt(spec.rootTypeId);
    case CoreRelocationKind.TYPE_EXISTS:
    case CoreRelocationKind.TYPE_MATCHES:
      return 1n;
    case CoreRelocationKind.TYPE_SIZE: {
      const sz = sizeOf(spec.btf, spec.rootTypeId);
      if (sz < 0) throw new SpecError(`type [${spec.rootTypeId}] has no size`);
      return BigInt(sz);
    }
    default:
      throw new SpecError(`unknown type relocation kind ${kind}`);
  }
}

function calcEnum(kind: number, spec: CoreSpec | undefined): bigint {
  if (kind === CoreRelocationKind.ENUMVAL_EXISTS) return spec ? 1n : 0n;
  if (!spec) throw new Poison();
  const a = spec.acc[0];
  const t = spec.btf.typeById(a.typeId);
  if (!isAnyEnum(t)) throw new SpecError("enumerator relocation on a non-enum");
  return BigInt(t.values[a.idx].value);
}

// ---- name lookups ------------------------------------------------------------

/** Per spec: type name → ids of the spec's own types of that name (any kind). */
const NAMES = new WeakMap<Spec, Map<string, number[]>>();
/**
 * Per spec: essential name → ids of the spec's own types with that name
 * plus a flavour (`name___x`, whose essential name is `name`).
 */
const FLAVOURED = new WeakMap<Spec, Map<string, number[]>>();
const utf8 = new TextEncoder();

function nameCache(spec: Spec): Map<string, number[]> {
  let c = NAMES.get(spec);
  if (!c) NAMES.set(spec, c = new Map());
  return c;
}

function flavourCache(spec: Spec): Map<string, number[]> {
  let c = FLAVOURED.get(spec);
  if (!c) FLAVOURED.set(spec, c = new Map());
  return c;
}

/**
 * Looks up many type names in one pass over `spec`'s own types (for big
 * BTF such as vmlinux, one scan costs about as much as one single-name
 * lookup), and caches the ids for {@linkcode ownTypeIdsByName}.
 */
export function prefetchTypeNames(spec: Spec, names: Iterable<string>): void {
  const cache = nameCache(spec);
  const todo: string[] = [];
  for (const name of names) {
    if (name !== "" && !cache.has(name) && !todo.includes(name)) todo.push(name);
  }
  if (todo.length === 0) return;
  scanTypeNames(spec, rawSpec(spec), todo);
}

/**
 * Like {@linkcode prefetchTypeNames}, for CO-RE candidates: also the types
 * named `name___flavour`, in the same pass.
 */
function prefetchCandidateNames(spec: Spec, names: Iterable<string>): void {
  const exact = nameCache(spec);
  const flavoured = flavourCache(spec);
  const todo: string[] = [];
  for (const name of names) {
    if (name === "" || todo.includes(name)) continue;
    if (!exact.has(name) || !flavoured.has(name)) todo.push(name);
  }
  if (todo.length === 0) return;
  scanTypeNames(spec, rawSpec(spec), todo);
}

/**
 * One linear pass over the type records for several names: the types
 * named exactly so, and those named so plus a flavour (`name___x`). Caches
 * both, keeping entries already there.
 */
function scanTypeNames(spec: Spec, r: ReturnType<typeof rawSpec>, names: string[]): void {
  type Want = { name: string; bytes: Uint8Array; ids: number[]; flavoured: number[] };
  const wanted: Want[] = names.map((name) => ({
    name,
    bytes: utf8.encode(name),
    ids: [],
    flavoured: [],
  }));
  // Wanted names by first byte: one array probe per type.
  const byFirst: (Want[] | undefined)[] = new Array(256);
  for (const w of wanted) (byFirst[w.bytes[0]] ??= []).push(w);
  const words = r.words;
  const offsets = r.offsets;
  const strs = r.strs;
  const strBase = r.strBase;
  const first = r.firstTypeId;
  const n = r.typeCount;
  const slen = strs.length;
  for (let i = 0; i < n; i++) {
    const off = words[offsets[i]];
    if (off === 0) continue;
    if (off < strBase) {
      // A name in the base's strings (split BTF): rare, compare as text.
      let text: string;
      try {
        text = spec.stringAt(off);
      } catch {
        continue;
      }
      for (const w of wanted) {
        if (w.name === text) w.ids.push(first + i);
        else if (text.startsWith(`${w.name}___`) && essentialName(text) === w.name) {
          w.flavoured.push(first + i);
        }
      }
      continue;
    }
    const rel = off - strBase;
    const list = byFirst[strs[rel]];
    if (list === undefined) continue;
    for (let k = 0; k < list.length; k++) {
      const q = list[k].bytes;
      const len = q.length;
      if (rel + len >= slen) continue;
      let j = 1;
      while (j < len && strs[rel + j] === q[j]) j++;
      if (j < len) continue;
      const end = strs[rel + len];
      // A flavoured name is `name___x` whose essential name is `name` (not
      // `name___x___y`, not `name____x`): rare, checked on the text.
      if (end === 0) list[k].ids.push(first + i);
      else if (
        end === 95 && strs[rel + len + 1] === 95 && strs[rel + len + 2] === 95 &&
        essentialName(spec.stringAt(off)) === list[k].name
      ) {
        list[k].flavoured.push(first + i);
      }
    }
  }
  const exact = nameCache(spec);
  const flavoured = flavourCache(spec);
  for (const w of wanted) {
    if (!exact.has(w.name)) exact.set(w.name, w.ids);
    if (!flavoured.has(w.name)) flavoured.set(w.name, w.flavoured);
  }
}

/**
 * Records name lookups made elsewhere (`parseBtfFindingNames`): `ids` maps
 * names to the ids of `spec`'s own types of that name, in id order.
 *
 * @internal
 */
export function seedTypeNames(spec: Spec, ids: ReadonlyMap<string, number[]>): void {
  const cache = nameCache(spec);
  for (const [name, list] of ids) if (!cache.has(name)) cache.set(name, list);
  // The same walk found the types named `name___…`: the flavoured
  // candidates, once the flavour is checked (`name___x___y`, `name____x` are not).
  const hits = flavouredNameHits(spec);
  if (!hits) return;
  const flavoured = flavourCache(spec);
  for (const [name, list] of hits) {
    if (!ids.has(name) || flavoured.has(name)) continue;
    flavoured.set(name, list.filter((id) => essentialName(spec.typeById(id).name) === name));
  }
}

/**
 * The names {@linkcode CoreTargets.prefetch} looks up for these local type names.
 *
 * @internal
 */
export function coreLookupNames(names: Iterable<string>): Set<string> {
  const set = new Set<string>();
  for (const n of names) set.add(essentialName(n));
  set.add(LONG_NAMES[0]); // for the pointer size
  return set;
}

/**
 * The ids of `spec`'s own types whose name is `name` plus a flavour
 * (`name___anything`, with `name` as its essential name), in id order:
 * target-side flavours, which libbpf matches by essential name too.
 * Cached; found in the same pass as the plain name.
 */
export function ownFlavouredTypeIds(spec: Spec, name: string): number[] {
  const cache = flavourCache(spec);
  let ids = cache.get(name);
  if (ids === undefined) {
    prefetchCandidateNames(spec, [name]);
    ids = cache.get(name) ?? [];
  }
  return ids;
}

/**
 * The ids of `spec`'s own types (not its base's) named `name`, of `kind`
 * when given, in id order; cached per spec, and fetched in one batch by
 * {@linkcode prefetchTypeNames}.
 */
export function ownTypeIdsByName(spec: Spec, name: string, kind?: Kind): number[] {
  const cache = nameCache(spec);
  let ids = cache.get(name);
  if (ids === undefined) {
    prefetchTypeNames(spec, [name]);
    ids = cache.get(name) ?? [];
  }
  return kind === undefined ? ids : ids.filter((id) => spec.kindOf(id) === kind);
}

// ---- candidates -------------------------------------------------------------

/** A candidate target type. */
export interface CoreCandidate {
  /** The BTF it is in. */
  spec: Spec;
  /** Its id there. */
  id: number;
  /** `"vmlinux"`, a module name, or the label of user-supplied BTF. */
  source: string;
}

/** Where candidates come from: a base BTF and, lazily, more (kernel modules). */
export interface CoreTargetsOptions {
  /** Label of the base BTF in results and errors. Default `"vmlinux"`. */
  label?: string;
  /**
   * More BTF to search when the base has no candidate: kernel modules'
   * split BTF, as `[name, spec]` pairs. Called at most once, on first need.
   */
  modules?: () => Iterable<readonly [string, Spec]>;
}

/**
 * The target side of CO-RE: candidate lookup by essential name and kind,
 * cached. The base BTF (vmlinux, or user-supplied kernel types) is searched
 * first; the modules only when the base has no candidate at all, as libbpf
 * does. Both may be given lazily.
 */
export class CoreTargets {
  #base: Spec | (() => Spec);
  #label: string;
  #modulesFn?: () => Iterable<readonly [string, Spec]>;
  #modules?: (readonly [string, Spec])[];
  #cache = new Map<string, CoreCandidate[]>();
  #narrowed = new WeakMap<Spec, Map<number, readonly CoreCandidate[]>>();

  /** Creates the target side over `base` (a spec or a function returning one). */
  constructor(base: Spec | (() => Spec), options: CoreTargetsOptions = {}) {
    this.#base = base;
    this.#label = options.label ?? "vmlinux";
    this.#modulesFn = options.modules;
  }

  /** The base BTF (loaded on first use when given lazily). */
  get base(): Spec {
    if (typeof this.#base === "function") this.#base = this.#base();
    return this.#base;
  }

  /** The label of the base BTF (`"vmlinux"` by default). */
  get label(): string {
    return this.#label;
  }

  /** The module specs (loaded on first use). */
  modules(): readonly (readonly [string, Spec])[] {
    if (!this.#modules) this.#modules = this.#modulesFn ? [...this.#modulesFn()] : [];
    return this.#modules;
  }

  /** Looks up the essential names of these local types in one pass over the base BTF. */
  prefetch(names: Iterable<string>): void {
    const set = coreLookupNames(names);
    for (let s: Spec | undefined = this.base; s; s = s.base) prefetchCandidateNames(s, set);
  }

  /**
   * The candidates for local type `localId` (`local`) of `localBtf`: those
   * of {@linkcode CoreTargets.candidates}, narrowed down by the relocations
   * of that type resolved so far. As libbpf, a relocation that matched some
   * candidates keeps only those for the relocations after it.
   */
  candidatesFor(localBtf: Spec, localId: number, local: BtfType): readonly CoreCandidate[] {
    return this.#narrowed.get(localBtf)?.get(localId) ?? this.candidates(local);
  }

  /**
   * Keeps only `kept` as the candidates of local type `localId` of `localBtf`.
   *
   * @internal
   */
  narrow(localBtf: Spec, localId: number, kept: readonly CoreCandidate[]): void {
    let m = this.#narrowed.get(localBtf);
    if (!m) this.#narrowed.set(localBtf, m = new Map());
    m.set(localId, kept);
  }

  /** Candidates for the local type `local` (its essential name, a compatible kind). */
  candidates(local: BtfType): CoreCandidate[] {
    const name = essentialName(local.name);
    const key = `${local.kind}\0${name}`;
    let c = this.#cache.get(key);
    if (c) return c;
    c = [];
    const kinds: Kind[] = isAnyEnum(local) ? ["enum", "enum64"] : [local.kind];
    const base = this.base;
    // As libbpf's bpf_core_add_cands: every type whose essential name is
    // the local one's, with or without a flavour (`name`, `name___x`).
    // A plain name counts only when it is its own essential name.
    const plain = essentialName(name) === name;
    const add = (spec: Spec, source: string, ownOnly: boolean) => {
      for (let s: Spec | undefined = spec; s; s = ownOnly ? undefined : s.base) {
        prefetchCandidateNames(s, [name]);
        const ids = plain
          ? [...ownTypeIdsByName(s, name), ...ownFlavouredTypeIds(s, name)]
          : ownFlavouredTypeIds(s, name);
        for (const id of ids) {
          if (kinds.includes(s.kindOf(id))) c!.push({ spec, id, source });
        }
      }
    };
    add(base, this.#label, false);
    // Modules only when the base has no candidate, as libbpf: their own
    // types only (their base is vmlinux, searched already).
    if (c.length === 0) { for (const [module, spec] of this.modules()) add(spec, module, true); }
    c.sort((a, b) => a.id - b.id);
    this.#cache.set(key, c);
    return c;
  }
}

// ---- relocation -------------------------------------------------------------

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
      const ld = op === 0x18 && i + 1 < count;
      insns.fill(0, p, p + 8);
      insns[p] = 0x85;
      dv.setInt32(p + 4, CORE_POISON_HELPER, true);
      if (ld) {
        insns.fill(0, p + 8, p + 16);
        insns[p + 8] = 0x85;
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
          op !== 0x18 || i + 1 >= count || (insns[p + 1] >>> 4) !== 0 ||
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
  scratch[0] = 0x18; // lddw: accepts every value width, never validated by size
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
