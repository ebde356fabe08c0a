/**
 * CO-RE type helpers: essential names, sizes, and the compatibility and
 * "matches" relations between a local and a target type (libbpf's
 * `bpf_core_types_are_compat`, `bpf_core_fields_are_compat`,
 * `bpf_core_types_match`).
 *
 * @module
 */

import { MAX_DEPTH } from "./core_kinds.ts";
import type { Spec } from "./spec.ts";
import type { BtfType } from "./types.ts";

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

/** The type behind typedefs and modifiers. */
export function skip(btf: Spec, id: number): BtfType {
  return btf.resolve(id);
}

/** Whether a type is a struct or union. */
export function isComposite(t: BtfType): t is Extract<BtfType, { kind: "struct" | "union" }> {
  return t.kind === "struct" || t.kind === "union";
}
/** Whether a type is an enum or enum64. */
export function isAnyEnum(t: BtfType): t is Extract<BtfType, { kind: "enum" | "enum64" }> {
  return t.kind === "enum" || t.kind === "enum64";
}
function kindsCompat(a: BtfType, b: BtfType): boolean {
  return a.kind === b.kind || (isAnyEnum(a) && isAnyEnum(b));
}
/**
 * libbpf's `btf__resolve_size` over any type lookup: the size of type `id`,
 * following typedefs, qualifiers, vars, tags and arrays; -1 for sizeless
 * types (void, fwd, func), a missing type (`typeOf` gives `undefined`), a
 * chain of more than 32 references, or a size beyond 32 bits. `ptrSize`
 * is asked for only when a pointer is reached.
 */
export function resolveSize(
  typeOf: (id: number) => BtfType | undefined,
  id: number,
  ptrSize: () => number,
): number {
  let nelems = 1;
  for (let depth = 0; depth < MAX_DEPTH; depth++) {
    const t = typeOf(id);
    let size: number;
    switch (t?.kind) {
      case "int":
      case "struct":
      case "union":
      case "enum":
      case "enum64":
      case "datasec":
      case "float":
        size = t.size;
        break;
      case "ptr":
        size = ptrSize();
        break;
      case "typedef":
      case "const":
      case "volatile":
      case "restrict":
      case "type_tag":
      case "decl_tag":
      case "var":
        id = t.type;
        continue;
      case "array":
        if (nelems && t.nelems > Math.floor(0xffffffff / nelems)) return -1;
        nelems *= t.nelems;
        id = t.type;
        continue;
      default:
        return -1;
    }
    return nelems && size > Math.floor(0xffffffff / nelems) ? -1 : nelems * size;
  }
  return -1;
}

/**
 * The size of a type (like `Spec.sizeOf`, -1 for sizeless types;
 * {@linkcode resolveSize}), with the pointer size taken from the batch name
 * lookup rather than a scan of its own.
 */
export function sizeOf(btf: Spec, id: number): number {
  return resolveSize(
    (i) => {
      try {
        return btf.typeById(i);
      } catch {
        return undefined;
      }
    },
    id,
    () => pointerSize(btf),
  );
}

const PTR_SIZES = new WeakMap<Spec, number>();
/** The names whose size gives the pointer size. */
export const LONG_NAMES: readonly string[] = ["long int", "long unsigned int"];

/** The pointer size of a BTF: that of `long`, else 8. */
function pointerSize(btf: Spec): number {
  let root = btf;
  while (root.base) root = root.base;
  let size = PTR_SIZES.get(root);
  if (size === undefined) {
    size = 8;
    for (const n of LONG_NAMES) {
      const ids = root.ownTypeIdsByName(n, "int");
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
export function fieldsCompat(lb: Spec, lid: number, tb: Spec, tid: number): boolean {
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
