// The variables of a loaded collection (load.ts): its global variables and
// `.kconfig` externs, read and written through their maps (mmap'ed where the
// map allows it). Private to src/collection.

import type { BpfMap } from "../map/map.ts";
import type { MapMemory } from "../map/memory.ts";
import type { CollectionSpec } from "./types.ts";
import { Variable, type VariableAccess } from "./variables.ts";

const ZERO_KEY = new Uint8Array(4);

/**
 * The {@linkcode Variable}s of the spec, over the created `maps`; each map
 * mmap'ed for them goes into `memories` (the caller closes them).
 */
export function makeVariables(
  s: CollectionSpec,
  maps: Record<string, BpfMap>,
  memories: MapMemory[],
): Record<string, Variable> {
  const out: Record<string, Variable> = {};
  const access = new Map<string, { access: VariableAccess; readOnly: boolean }>();
  const accessFor = (mapName: string) => {
    let a = access.get(mapName);
    if (a) return a;
    const m = maps[mapName];
    const ms = s.maps[mapName];
    if (!m || !ms) return undefined;
    const readOnly = ms.freeze === true;
    let acc: VariableAccess;
    if (m.flags & 0x400 /* BPF_F_MMAPABLE */) {
      const mem = m.mmap({ readOnly });
      memories.push(mem);
      const value = () => mem.value(0);
      acc = {
        read: (off, size) => value().slice(off, off + size),
        write: (off, bytes) => value().set(bytes, off),
      };
    } else {
      acc = {
        read: (off, size) =>
          (m.lookup(ZERO_KEY) ?? new Uint8Array(m.valueSize)).slice(off, off + size),
        write: (off, bytes) => {
          const v = m.lookup(ZERO_KEY) ?? new Uint8Array(m.valueSize);
          v.set(bytes, off);
          m.update(ZERO_KEY, v);
        },
      };
    }
    a = { access: acc, readOnly };
    access.set(mapName, a);
    return a;
  };
  for (const [key, v] of Object.entries(s.variables)) {
    const a = accessFor(v.mapName);
    if (!a) continue;
    out[key] = new Variable(v, a.access, { btf: s.types, readOnly: a.readOnly });
  }
  for (const e of Object.values(s.externs)) {
    if (e.kind !== "kconfig" || Object.hasOwn(out, e.name)) continue;
    const a = accessFor(".kconfig");
    if (!a) continue;
    const v = s.types?.typeById(e.typeId);
    out[e.name] = new Variable(
      {
        name: e.name,
        mapName: ".kconfig",
        offset: e.offset!,
        size: e.size!,
        typeId: v?.kind === "var" ? v.type : undefined,
      },
      a.access,
      { btf: s.types, readOnly: true },
    );
  }
  return out;
}
