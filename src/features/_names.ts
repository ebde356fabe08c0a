// Name ↔ number resolution for program types, map types and helpers, on top
// of the shared tables (src/asm for program types, attach types and helpers;
// src/map for map types). Imported file by file: those modules' entry points
// may one day import the probes, and this must not make a cycle.

import { InvalidArgumentError } from "../errors.ts";
import { Helper, helperId as lookupHelper, helperName } from "../asm/helpers.ts";
import { ProgramType, programTypeName as progName } from "../asm/types.ts";
import { MapType, mapTypeName as mapName, mapTypeNumber as mapNumber } from "../map/types.ts";

export { AttachType } from "../asm/types.ts";

function checkNumber(what: string, n: number): number {
  if (!Number.isInteger(n) || n < 0 || n > 0xffffffff) {
    throw new InvalidArgumentError(`${what} must be a non-negative 32-bit integer, got ${n}`);
  }
  return n;
}

/** The number of a program type given by name (`"xdp"`, `"BPF_PROG_TYPE_XDP"`) or number. */
export function programTypeNumber(t: string | number): number {
  if (typeof t === "number") return checkNumber("program type", t);
  const key = t.toLowerCase().replace(/^bpf_prog_type_/, "");
  if (key !== "unspec" && Object.hasOwn(ProgramType, key)) {
    return ProgramType[key as keyof typeof ProgramType];
  }
  throw new InvalidArgumentError(
    `unknown program type ${JSON.stringify(t)}; known: ${
      Object.keys(ProgramType).slice(1).join(", ")
    }`,
  );
}

/** The libbpf/bpftool name of a program type number (`"xdp"`), or `"type <n>"`. */
export function programTypeName(n: number): string {
  return progName(n) ?? `type ${n}`;
}

/** The number of a map type given by name (`"ringbuf"`, `"BPF_MAP_TYPE_RINGBUF"`) or number. */
export function mapTypeNumber(t: string | number): number {
  if (typeof t === "number") return mapNumber(t);
  return mapNumber(t.toLowerCase().replace(/^bpf_map_type_/, "") as "hash");
}

/** The libbpf/bpftool name of a map type number (`"ringbuf"`), or `"type <n>"`. */
export function mapTypeName(n: number): string {
  return mapName(n);
}

/** All program types the tables know, in number order, without `unspec`. */
export function allProgramTypes(): number[] {
  return Object.values(ProgramType).filter((n) => n !== 0).sort((a, b) => a - b);
}

/** All map types the tables know, in number order, without `unspec`. */
export function allMapTypes(): number[] {
  return Object.values(MapType).filter((n) => n !== 0).sort((a, b) => a - b);
}

/** The id of a helper given by name (`"bpf_map_lookup_elem"` or `"map_lookup_elem"`) or id. */
export function helperId(h: string | number): number {
  if (typeof h === "number") return checkNumber("helper id", h);
  const id = lookupHelper(h);
  if (id === undefined || id === 0) {
    throw new InvalidArgumentError(
      `unknown helper ${JSON.stringify(h)} (names look like "bpf_map_lookup_elem")`,
    );
  }
  return id;
}

/** The full name of a helper id (`"bpf_map_lookup_elem"`), or `"helper #<id>"`. */
export function helperFullName(id: number): string {
  const n = helperName(id);
  return n === undefined ? `helper #${id}` : `bpf_${n}`;
}

/** The highest helper id the tables know. */
export function maxHelperId(): number {
  return Math.max(...Object.values(Helper));
}
