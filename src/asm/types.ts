/**
 * Kernel enumerations a loader needs beside the instruction set: program
 * types (`enum bpf_prog_type`), attach types (`enum bpf_attach_type`), map
 * types (`enum bpf_map_type`) and link types (`enum bpf_link_type`).
 *
 * Names are the UAPI enumerators in lower case without their prefix, which is
 * how bpftool and libbpf print them (`"sched_cls"`, `"tcx_ingress"`,
 * `"ringbuf"`). Values are complete through Linux 6.18: taken from this
 * machine's vmlinux BTF, whose first entries agree with the 6.1 UAPI header
 * in `/usr/include/linux/bpf.h`.
 *
 * ```ts
 * import { AttachType, ProgramType, programTypeName } from "@denobpf/ebpf/asm";
 * ProgramType.xdp; // 6
 * AttachType.tcx_ingress; // 46
 * programTypeName(3); // "sched_cls"
 * ```
 *
 * @module
 */

import { AttachType, LinkType, ProgramType } from "../sys/abi.ts";

export { AttachType, LinkType, ProgramType };

function namesOf(table: Readonly<Record<string, number>>): string[] {
  const names: string[] = [];
  for (const [name, value] of Object.entries(table)) names[value] ??= name;
  return names;
}

// The number-to-name tables are built on first use, not at import.
let programTypeNames: readonly string[] | undefined;
let attachTypeNames: readonly string[] | undefined;
let linkTypeNames: readonly string[] | undefined;

/** A name of {@link ProgramType}. */
export type ProgramTypeName = keyof typeof ProgramType;

/** The bpftool name of a program type number, or `undefined` if unknown. */
export function programTypeName(value: number): ProgramTypeName | undefined {
  return (programTypeNames ??= namesOf(ProgramType))[value] as ProgramTypeName | undefined;
}

/** A name of {@link AttachType}. */
export type AttachTypeName = keyof typeof AttachType;

/** The libbpf name of an attach type number, or `undefined` if unknown. */
export function attachTypeName(value: number): AttachTypeName | undefined {
  return (attachTypeNames ??= namesOf(AttachType))[value] as AttachTypeName | undefined;
}

// Map types live with the maps: src/map/types.ts (MapType, mapTypeName).

/** A name of {@link LinkType}. */
export type LinkTypeName = keyof typeof LinkType;

/** The bpftool name of a link type number, or `undefined` if unknown. */
export function linkTypeName(value: number): LinkTypeName | undefined {
  return (linkTypeNames ??= namesOf(LinkType))[value] as LinkTypeName | undefined;
}
