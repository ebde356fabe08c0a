/**
 * CO-RE access specs (libbpf's `struct bpf_core_spec`): a relocation's
 * access string resolved against the local BTF, its text, and its match
 * against a candidate target type.
 *
 * @module
 */

import {
  CoreRelocationKind,
  isEnumKind,
  isFieldKind,
  isTypeKind,
  SPEC_MAX_LEN,
} from "./core_kinds.ts";
import {
  coreTypesAreCompatible,
  coreTypesMatch,
  essentialName,
  fieldsCompat,
  isAnyEnum,
  isComposite,
  sizeOf,
  skip,
} from "./core_types.ts";
import type { Spec } from "./spec.ts";
import type { BtfType, Member } from "./types.ts";

/** One step of an access spec: a named member or enumerator, or an array index. */
export interface Accessor {
  /** The composite (or array element, or enum) type id the accessor applies to. */
  typeId: number;
  /** Member, array or enumerator index. */
  idx: number;
  /** Member or enumerator name; undefined for array indexing. */
  name?: string;
}

/** A relocation's access, resolved against one BTF (libbpf's `struct bpf_core_spec`). */
export interface CoreSpec {
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

/** A relocation that cannot be resolved (turned into a CoreRelocationError by the caller). */
export class SpecError extends Error {}

/** Candidates that resolve a relocation differently. */
export class AmbiguityError extends SpecError {
  constructor(message: string, readonly candidates: readonly string[]) {
    super(message);
  }
}

function isFlexArray(btf: Spec, parent: Accessor | undefined, nelems: number): boolean {
  if (!parent || parent.name === undefined || nelems > 0) return false;
  const t = btf.typeById(parent.typeId);
  return isComposite(t) && parent.idx === t.members.length - 1;
}

/**
 * The access spec of a relocation against its local BTF (libbpf's
 * `bpf_core_parse_spec`).
 *
 * @throws {SpecError} for a malformed access string or one that does not fit the type.
 */
export function parseSpec(btf: Spec, typeId: number, accessStr: string, kind: number): CoreSpec {
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

/** `[id] kind name` of a type, e.g. `[14] struct task_struct`. */
export function describeType(btf: Spec, id: number): string {
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

/** libbpf-style text of a spec: `[14] struct task_struct.real_parent.tgid (0:46:2 @ offset 2372)`. */
export function formatSpec(spec: CoreSpec): string {
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
export function specMatch(local: CoreSpec, tb: Spec, tid: number): CoreSpec | undefined {
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
