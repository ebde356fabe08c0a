/**
 * Identifiers of a bpftrace script that name kernel enumerators
 * (`TCP_CLOSE`, `BLK_STS_OK`): read from the kernel's BTF on first use.
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
      for (const t of loadKernelSpec()) {
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
