/**
 * What a bpftrace script names in the kernel's BTF, read on first use:
 * enumerators (`TCP_CLOSE`, `BLK_STS_OK`) and structs and unions (casts).
 *
 * @module
 */

import { loadKernelSpec } from "../btf/kernel.ts";

let enumerators: Map<string, bigint> | undefined;

/**
 * The value of the kernel enumerator `name`, or undefined (also when the
 * kernel has no BTF).
 */
export function kernelConstant(name: string): bigint | undefined {
  if (!enumerators) {
    enumerators = new Map();
    try {
      const spec = loadKernelSpec();
      const last = spec.firstTypeId + spec.typeCount;
      for (let id = spec.firstTypeId; id < last; id++) {
        const kind = spec.kindOf(id); // without decoding the other 120k types
        if (kind !== "enum" && kind !== "enum64") continue;
        const t = spec.typeById(id);
        if (t.kind !== "enum" && t.kind !== "enum64") continue;
        for (const v of t.values) {
          if (!enumerators.has(v.name)) enumerators.set(v.name, BigInt(v.value));
        }
      }
    } catch {
      // no kernel BTF: identifiers stay unknown
    }
  }
  return enumerators.get(name);
}

/** Whether the kernel's BTF has `"struct NAME"` or `"union NAME"` (true without kernel BTF). */
export function kernelRecordExists(name: string): boolean {
  const [kind, bare] = name.split(" ");
  try {
    return loadKernelSpec().typeByName(bare, kind === "union" ? "union" : "struct") !== undefined;
  } catch {
    return true; // no kernel BTF: the back end says what it lacks
  }
}
