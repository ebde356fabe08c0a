/**
 * denobpf: load and run eBPF programs from Deno, with no native addon and no
 * C toolchain at run time (`deno run --allow-ffi`).
 *
 * This root entry holds what a loader needs: maps ({@linkcode createMap}),
 * programs ({@linkcode loadProgram}), objects compiled by clang
 * ({@linkcode loadCollectionSpec}, {@linkcode loadCollection}), attaching
 * (`attachTracepoint`, `attachUprobe`, `attachXdp`, …), reading events
 * ({@linkcode ringBufReader}, {@linkcode perfReader}), the kernel's BTF
 * ({@linkcode loadKernelSpec}, {@linkcode loadKernelModuleSpec},
 * {@linkcode kernelModuleOf}, {@linkcode resolveKernelTypes}) and the errors
 * they throw. Each area has an entry of its own with everything in it:
 *
 * - `@denobpf/ebpf/probe`: scripted probes, bpftrace-style (`probe(tracepoint(…)).count()`)
 *   and scripts with state across probes (`script()`), printing as bpftrace prints
 * - `@denobpf/ebpf/bpftrace`: bpftrace programs compiled and run as they are (`bpftrace(source)`)
 * - `@denobpf/ebpf/metrics`: Prometheus exposition of probes, scripts and maps
 * - `@denobpf/ebpf/gen`: typed TypeScript bindings for a clang object (`gen ts`)
 * - `@denobpf/ebpf/map`, `./program`, `./collection`, `./link`: the whole of each area
 *   (map codecs `u32`, `struct`, … are also here as {@linkcode codec})
 * - `@denobpf/ebpf/asm`: the assembler and disassembler
 * - `@denobpf/ebpf/btf`, `./elf`, `./kallsyms`, `./uprobe`, `./tracefs`: kernel types,
 *   objects, symbols, uprobe offsets, tracefs events
 * - `@denobpf/ebpf/features`: what the running kernel supports
 * - `@denobpf/ebpf/ringbuf`, `./perf`: the event readers
 * - `@denobpf/ebpf/unstable-sys`: the raw syscall layer (unstable)
 *
 * @example
 * ```ts
 * import { attachRawTracepoint, codec, createMap, loadProgram } from "@denobpf/ebpf";
 * import { asm, R0, R1, R10, R2 } from "@denobpf/ebpf/asm";
 *
 * // Count system calls in a one-slot array map.
 * using calls = createMap(
 *   { type: "array", keySize: 4, valueSize: 8, maxEntries: 1, name: "calls" },
 *   { key: codec.u32, value: codec.u64 },
 * );
 * using prog = loadProgram({
 *   type: "raw_tracepoint",
 *   instructions: [
 *     asm.stw(R10, -4, 0),
 *     asm.mov64(R2, R10),
 *     asm.add64(R2, -4),
 *     asm.loadMapPtr(R1, "calls"),
 *     asm.call("map_lookup_elem"),
 *     asm.jeq(R0, 0, "out"),
 *     asm.mov64(R1, 1),
 *     asm.atomicAdd64(R0, 0, R1),
 *     asm.mov64(R0, 0).withSymbol("out"),
 *     asm.exit(),
 *   ],
 *   maps: { calls: calls.map },
 * });
 * using link = attachRawTracepoint(prog, { name: "sys_enter" });
 * await new Promise((r) => setTimeout(r, 100));
 * console.log(`${calls.get(0)} system calls in 100 ms`);
 * ```
 *
 * @module
 */

import type { Collection } from "./src/collection/collection.ts";
import type { CollectionOptions } from "./src/collection/load.ts";
import type { CollectionSpec } from "./src/collection/types.ts";

// Errors.
export {
  DenoPermissionError,
  EbpfError,
  type ErrorOptions as EbpfErrorOptions,
  FileError,
  FileNotFoundError,
  InvalidArgumentError,
  NotFoundError,
  NotSupportedError,
  ParseError,
} from "./src/errors.ts";
export { PermissionError, SyscallError } from "./src/sys/error.ts";
export { TracefsNotMountedError } from "./src/tracefs/errors.ts";

// Maps. (Values from the files that define them, not the area's mod.ts,
// so that importing this entry loads only what these need.)
export { BpfMap, createMap, loadPinnedMap, mapFromFd } from "./src/map/map.ts";
export {
  MapFullError,
  MapIterationError,
  MapKeyExistsError,
  MapKeyNotFoundError,
  MapReadOnlyError,
} from "./src/map/errors.ts";
export { TypedMap } from "./src/map/typed.ts";
export type {
  CreateMapOptions,
  CreateTypedMapOptions,
  MapSpec,
  MapTypeName,
  OpenMapOptions,
} from "./src/map/mod.ts";
export type { Codec } from "./src/map/codec.ts";
/**
 * Map key and value codecs (`codec.u32`, `codec.u64`, `codec.struct({ … })`,
 * `codec.cstring(16)`, …), for typed maps: `createMap(spec, { key, value })`.
 * The `./map` entry exports them by name too.
 */
export * as codec from "./src/map/codec.ts";
export { possibleCpuCount } from "./src/sys/cpu.ts";

// Programs.
export { loadProgram } from "./src/program/load.ts";
export { loadPinnedProgram, Program, programFromFd } from "./src/program/program.ts";
export {
  AttachTypeRequiredError,
  ProgramRefusedError,
  VerifierError,
} from "./src/program/errors.ts";
export type { ProgramSpec, TestRunOptions, TestRunResult } from "./src/program/mod.ts";
export type { AttachTypeName, ProgramTypeName } from "./src/asm/types.ts";

// Objects compiled by clang.
export { loadCollectionSpec, type LoadCollectionSpecOptions } from "./src/collection/reader.ts";
export type { Collection } from "./src/collection/collection.ts";
export type { CollectionOptions } from "./src/collection/load.ts";
export type { CollectionSpec } from "./src/collection/types.ts";

/**
 * Loads a {@linkcode CollectionSpec} (or an object file's path or bytes)
 * into a {@linkcode Collection}: creates its maps, relocates (CO-RE against
 * the running kernel's BTF) and loads its programs. `coll.maps[name]` and
 * `coll.programs[name]` are the results; closing the collection closes them.
 *
 * The loader is imported on first call, so that importing this entry stays
 * cheap; `@denobpf/ebpf/collection` exports the same function directly.
 *
 * @example
 * ```ts ignore
 * using coll = await loadCollection("testdata/bpf/basic_bpfel.o");
 * coll.programs.sock_count.testRunSync({ data: new Uint8Array(64) });
 * ```
 */
export async function loadCollection(
  spec: CollectionSpec | string | URL | Uint8Array,
  options?: CollectionOptions,
): Promise<Collection> {
  const { loadCollection } = await import("./src/collection/load.ts");
  return loadCollection(spec, options);
}

// Attaching programs.
export { BpfLink, LegacyLink, Link, LinkGroup, loadPinnedLink } from "./src/link/link.ts";
export { attachCgroup } from "./src/link/cgroup.ts";
export { attachKprobe } from "./src/link/kprobe.ts";
export { attachRawTracepoint, attachTracepoint } from "./src/link/tracepoint.ts";
export { attachSocketFilter } from "./src/link/socket_filter.ts";
export { attachTcx } from "./src/link/tcx.ts";
export { attachTracing } from "./src/link/tracing.ts";
export { attachUprobe, attachUsdt, UsdtLink } from "./src/link/uprobe.ts";
export { attachXdp } from "./src/link/xdp.ts";
export type {
  CgroupOptions,
  KprobeOptions,
  RawTracepointOptions,
  TcxOptions,
  TracepointOptions,
  TracingOptions,
  UprobeOptions,
  UsdtOptions,
  XdpOptions,
} from "./src/link/mod.ts";

// Reading events.
export { RingBufReader, ringBufReader, type RingBufReaderOptions } from "./src/ringbuf/reader.ts";
export {
  PerfReader,
  perfReader,
  type PerfReaderOptions,
  type PerfRecord,
} from "./src/perf/reader.ts";

// Kernel BTF.
export {
  BtfCache,
  kernelModuleOf,
  kernelModuleSpecs,
  loadKernelModuleSpec,
  loadKernelSpec,
  MissingModuleBtfError,
  resolveKernelTypes,
} from "./src/btf/kernel.ts";
export type { BtfSpec, BtfType, KernelOptions, KernelTypes } from "./src/btf/mod.ts";

// The types this entry's API refers to, so that it is complete on its own.
export type { FdHolder } from "./src/map/mod.ts";
export type { PerfRecordCallback } from "./src/perf/mod.ts";
export type { RecordCallback } from "./src/ringbuf/mod.ts";
export type { FD } from "./src/sys/fd.ts";
export type { TracefsOptions } from "./src/tracefs/mod.ts";
export type { UsdtArgument, UsdtArgumentKind, UsdtProbe } from "./src/uprobe/mod.ts";
export { fdOf, type FdSource, type ProgramHints } from "./src/sys/fd_source.ts";
export type {
  AssembleResult,
  AttachType,
  Instruction,
  InstructionFields,
  InstructionInit,
  Instructions,
  ProgramType,
  ReferenceKind,
  Register,
  SourceInfo,
  UnresolvedReference,
} from "./src/asm/mod.ts";
export type {
  ArrayType,
  ConstType,
  CoreRelocationRecord,
  CoreRelocationResult,
  DatasecType,
  DeclTagType,
  Enum64Type,
  Enum64Value,
  EnumType,
  EnumValue,
  FloatType,
  FuncInfoRecord,
  FuncLinkage,
  FuncProtoType,
  FuncType,
  FwdType,
  IntEncoding,
  IntType,
  KernelModuleSpecs,
  Kind,
  LineInfoRecord,
  Member,
  Param,
  PtrType,
  RestrictType,
  StructType,
  TypeCommon,
  TypedefType,
  TypeRef,
  TypesOptions,
  TypeTagType,
  UnionType,
  VarLinkage,
  VarSecinfo,
  VarType,
  VoidType,
  VolatileType,
} from "./src/btf/mod.ts";
export type {
  AssignedObjects,
  AssignRequest,
  BtfAttachKind,
  CollectionMapSpec,
  CollectionProgramSpec,
  ExternKind,
  ExternSpec,
  MapContent,
  MapOrigin,
  ObjectLayout,
  ProgramFunction,
  ProgramReference,
  RelocateOptions,
  StructOpsSpec,
  Variable,
  VariableLocation,
  VariableSpec,
  VariableValue,
} from "./src/collection/mod.ts";
export type {
  InterfaceTarget,
  LinkInfo,
  LinkUpdateOptions,
  PerfEventLinkInfo,
  TcxAnchor,
  XdpMode,
} from "./src/link/mod.ts";
export type {
  BatchBuffers,
  BatchLookupOptions,
  BatchOptions,
  BatchWriteOptions,
  LookupOptions,
  MapBatchCursor,
  MapBtfSpec,
  MapInfo,
  MapMemory,
  MapType,
  MapUpdateFlags,
  MmapOptions,
  RawMapOps,
  UpdateFlag,
  UpdateFlagName,
} from "./src/map/mod.ts";
export type {
  AttachTypeLike,
  OpenProgramOptions,
  PinnedProgramOptions,
  ProgramBtf,
  ProgramInfo,
  ProgramInstructions,
  ProgramTypeLike,
} from "./src/program/mod.ts";
