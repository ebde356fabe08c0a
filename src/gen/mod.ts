/**
 * Typed bindings for a BPF object compiled from C, as cilium's `bpf2go` and
 * libbpf skeletons give Go and C: {@linkcode generateBindings} (the library
 * behind `denobpf gen ts OBJECT.o`) writes a TypeScript module whose
 * `load()` returns the object's programs and maps as typed properties —
 * maps with BTF key and value types as typed views, struct and union
 * values as interfaces — its global variables typed, and decoders for the
 * records programs send through ring and perf buffers. Those modules use
 * `@denobpf/ebpf/collection` (`bindCollection`, `bindSpec`) and
 * `@denobpf/ebpf/map` (`record`, `bitfield`, `decodeRecord`) at run time.
 *
 * @example
 * ```ts ignore
 * import { generateBindings } from "@denobpf/ebpf/gen";
 *
 * Deno.writeTextFileSync("counter_bpf.ts", generateBindings("counter_bpfel.o"));
 * // then: import { load } from "./counter_bpf.ts";
 * //       using objs = await load();
 * //       objs.maps.counts.get({ pid: 1 });
 * ```
 *
 * @module
 */

export { generateBindings, type GenerateBindingsOptions } from "./generate.ts";
// The base classes of the errors above, for `instanceof` checks by users of
// this entry alone.
export { EbpfError, InvalidArgumentError, NotFoundError, ParseError } from "../errors.ts";
