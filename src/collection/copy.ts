/**
 * `copyCollectionSpec`: an independent copy of a {@linkcode CollectionSpec},
 * to load one object several times with different settings.
 *
 * @module
 */

import type { CollectionMapSpec, CollectionProgramSpec, CollectionSpec } from "./types.ts";
import { specVariables, VariableSpec } from "./variables.ts";

function copyMap(m: CollectionMapSpec): CollectionMapSpec {
  const out: CollectionMapSpec = { ...m };
  if (m.contents) {
    out.contents = m.contents.map((c) => ({
      key: c.key instanceof Uint8Array ? c.key.slice() : c.key,
      value: c.value instanceof Uint8Array ? c.value.slice() : c.value,
    }));
  }
  if (m.innerMap) out.innerMap = copyMap(m.innerMap);
  if (m.btf) out.btf = { ...m.btf };
  return out;
}

function copyProgram(p: CollectionProgramSpec): CollectionProgramSpec {
  return {
    ...p,
    instructions: p.instructions.slice(),
    references: p.references.map((r) => ({ ...r })),
    funcInfos: p.funcInfos.map((r) => ({ ...r })),
    lineInfos: p.lineInfos.map((r) => ({ ...r })),
    coreRelos: p.coreRelos.map((r) => ({ ...r })),
    functions: p.functions.map((f) => ({ ...f })),
    fdArray: p.fdArray ? [...p.fdArray] : undefined,
  };
}

/**
 * A deep copy of `spec`: maps (with their initial contents), programs
 * (with their instructions) and variables (bound to the copied maps) can be
 * changed without affecting the original. The parsed BTF is shared (it is
 * read-only).
 *
 * @example
 * ```ts ignore
 * const base = loadCollectionSpec("prog.o");
 * const a = copyCollectionSpec(base);
 * a.variables.limit.set(10);
 * ```
 */
export function copyCollectionSpec(spec: CollectionSpec): CollectionSpec {
  const maps: Record<string, CollectionMapSpec> = {};
  for (const [k, m] of Object.entries(spec.maps)) maps[k] = copyMap(m);
  const programs: Record<string, CollectionProgramSpec> = {};
  for (const [k, p] of Object.entries(spec.programs)) programs[k] = copyProgram(p);
  const variables: Record<string, VariableSpec> = {};
  for (const [k, v] of Object.entries(spec.variables)) {
    const map = maps[v.mapName];
    if (!map) continue;
    variables[k] = new VariableSpec(v, map, {
      btf: spec.types,
      littleEndian: spec.byteOrder === "little",
      constant: v.constant,
    });
  }
  const externs = Object.fromEntries(Object.entries(spec.externs).map(([k, e]) => [k, { ...e }]));
  return {
    ...spec,
    maps,
    programs,
    variables: specVariables(variables),
    externs,
    layout: {
      sectionSizes: { ...spec.layout.sectionSizes },
      symbolOffsets: { ...spec.layout.symbolOffsets },
    },
  };
}
