/**
 * struct_ops: a `.struct_ops` variable of a kernel struct type (e.g.
 * `tcp_congestion_ops`) whose function pointers are programs of the object.
 * The loader finds the kernel's struct and its `bpf_struct_ops_<name>`
 * wrapper in vmlinux BTF, loads each program against its member
 * (`attach_btf_id` = the struct, `expected_attach_type` = the member index)
 * and builds the map value in the kernel's layout: program descriptors in
 * the function-pointer members, the other members copied by name.
 *
 * @module
 */

import { InvalidArgumentError, NotFoundError } from "../errors.ts";
import { essentialName } from "../btf/core.ts";
import type { Spec } from "../btf/spec.ts";
import type { StructType } from "../btf/types.ts";
import { HOST_LITTLE_ENDIAN } from "../btf/spec.ts";
import type { KernelEnv } from "./_kernel.ts";
import type { CollectionMapSpec, StructOpsSpec } from "./types.ts";

/** The kernel side of a struct_ops map. */
export interface KernelStructOps {
  /** The kernel struct (e.g. `tcp_congestion_ops`): programs' `attach_btf_id`. */
  typeId: number;
  /** `bpf_struct_ops_<name>`: the map's `btf_vmlinux_value_type_id`. */
  valueTypeId: number;
  /** Size of the map value (`bpf_struct_ops_<name>`). */
  valueSize: number;
  /** Offset of the struct inside the value (its `data` member). */
  dataOffset: number;
  /** The kernel BTF holding them. */
  spec: Spec;
  /** The module owning the type, if not vmlinux. */
  module?: string;
}

function struct(spec: Spec, id: number): StructType {
  const t = spec.typeById(id);
  if (t.kind !== "struct") throw new InvalidArgumentError(`BTF type ${id} is not a struct`);
  return t;
}

/** Finds the kernel types of a struct_ops map. */
export function resolveStructOps(env: KernelEnv, ms: CollectionMapSpec): KernelStructOps {
  const so = ms.structOps!;
  const name = essentialName(so.typeName);
  const t = env.findKernelType(name, "struct");
  const v = env.findKernelType(`bpf_struct_ops_${name}`, "struct");
  if (!t || !v) {
    throw new NotFoundError(
      `struct_ops type ${name}`,
      `struct_ops map ${ms.name}: the kernel has no struct_ops type ${name} ` +
        `(${t ? `no bpf_struct_ops_${name} in its BTF` : `no struct ${name} in its BTF`})`,
    );
  }
  const vt = struct(v.spec, v.id);
  const data = vt.members.find((m) => m.name === "data");
  if (!data) {
    throw new NotFoundError(
      `bpf_struct_ops_${name}.data`,
      `bpf_struct_ops_${name} has no data member`,
    );
  }
  return {
    typeId: t.id,
    valueTypeId: v.id,
    valueSize: vt.size,
    dataOffset: data.bitOffset / 8,
    spec: t.spec,
    module: t.module,
  };
}

/** The kernel member index of each program of a struct_ops map: program name → index. */
export function structOpsMembers(
  k: KernelStructOps,
  so: StructOpsSpec,
  map: string,
): Map<string, number> {
  const t = struct(k.spec, k.typeId);
  const out = new Map<string, number>();
  for (const [member, prog] of Object.entries(so.programs)) {
    const i = t.members.findIndex((m) => m.name === member);
    if (i < 0) {
      throw new NotFoundError(
        `${t.name}.${member}`,
        `struct_ops map ${map}: the kernel's struct ${t.name} has no member ${member}`,
      );
    }
    out.set(prog, i);
  }
  return out;
}

/**
 * The struct_ops map value in the kernel's layout: each function pointer
 * set to its program's descriptor, the other members copied from the
 * object's data by name.
 *
 * @throws {InvalidArgumentError} when a member's size differs, or data is
 * set for a member the kernel's struct lacks.
 */
export function structOpsValue(
  k: KernelStructOps,
  so: StructOpsSpec,
  local: Spec,
  programFd: (program: string) => number,
): Uint8Array {
  const kt = struct(k.spec, k.typeId);
  const lt = struct(local, so.localTypeId);
  const value = new Uint8Array(k.valueSize);
  const dv = new DataView(value.buffer);
  for (const lm of lt.members) {
    const lo = lm.bitOffset / 8;
    const prog = so.programs[lm.name];
    const km = kt.members.find((m) => m.name === lm.name);
    let lsize: number;
    try {
      lsize = local.sizeOf(lm.type);
    } catch {
      lsize = 0;
    }
    const ldata = so.data.subarray(lo, lo + lsize);
    if (!km) {
      if (prog !== undefined || ldata.some((b) => b !== 0)) {
        throw new InvalidArgumentError(
          `struct_ops ${so.typeName}: member ${lm.name} is set but the kernel's struct ${kt.name} ` +
            "has no such member",
        );
      }
      continue;
    }
    const ko = k.dataOffset + km.bitOffset / 8;
    if (prog !== undefined) {
      dv.setBigUint64(ko, BigInt(programFd(prog)), HOST_LITTLE_ENDIAN);
      continue;
    }
    if (ldata.every((b) => b === 0)) continue;
    const ksize = k.spec.sizeOf(km.type);
    if (ksize !== lsize || lm.bitfieldSize || km.bitfieldSize) {
      throw new InvalidArgumentError(
        `struct_ops ${so.typeName}: member ${lm.name} is ${lsize} bytes here but ${ksize} ` +
          `in the kernel's struct ${kt.name}`,
      );
    }
    value.set(ldata, ko);
  }
  return value;
}
