/**
 * BTF (BPF Type Format): the running kernel's types ({@linkcode loadKernelSpec},
 * {@linkcode loadKernelModuleSpec}, {@linkcode kernelModuleOf},
 * {@linkcode resolveKernelTypes}, each taking `{ root }`), a lazy decoder for
 * raw BTF ({@linkcode BtfSpec}: vmlinux, split module BTF, either byte
 * order), an encoder, CO-RE relocation, a raw dump identical to
 * `bpftool btf dump … format raw` and a C header ({@linkcode formatBtfAsC})
 * identical to `bpftool btf dump … format c`.
 *
 * @example
 * ```ts
 * import { kernelModuleOf, loadKernelSpec, parseBtf } from "@denobpf/ebpf/btf";
 *
 * const vmlinux = loadKernelSpec();
 * const task = vmlinux.typeByName("task_struct", "struct");
 * console.log(task?.id, vmlinux.typesByName("pid_t").length);
 * console.log(kernelModuleOf("__do_sys_getpid")); // undefined: in vmlinux
 *
 * // Any BTF blob, e.g. a copy of vmlinux's:
 * const spec = parseBtf(Deno.readFileSync("/sys/kernel/btf/vmlinux"));
 * console.log(spec.typeById(1).kind);
 * ```
 *
 * @module
 */

export type {
  ArrayType,
  BtfType,
  ConstType,
  DatasecType,
  DeclTagType,
  Enum64Type,
  Enum64Value,
  EnumType,
  EnumValue,
  FloatType,
  FuncLinkage,
  FuncProtoType,
  FuncType,
  FwdType,
  IntEncoding,
  IntType,
  Kind,
  Member,
  Param,
  PtrType,
  RestrictType,
  StructType,
  TypeCommon,
  TypedefType,
  TypeDesc,
  TypeRef,
  TypeTagType,
  UnionType,
  VarLinkage,
  VarSecinfo,
  VarType,
  VoidType,
  VolatileType,
} from "./types.ts";
export { BTF_KIND_NAMES, BTF_KIND_NUMBERS } from "./types.ts";
export {
  BTF_HEADER_SIZE,
  BTF_MAGIC,
  MAX_RESOLVE_DEPTH,
  parseBtf,
  type ParseOptions,
  Spec as BtfSpec,
  type TypesOptions,
} from "./spec.ts";
export {
  BtfBuilder,
  type BuilderOptions,
  encodeBtf,
  type EncodeOptions,
  type EncodeOutputOptions,
  reencodeSpec,
} from "./encode.ts";
export {
  type DumpChunkOptions,
  type DumpOptions,
  dumpRaw,
  dumpRawBytes,
  dumpRawChunks,
} from "./dump.ts";
export { formatBtfAsC, type FormatCOptions } from "./dump_c.ts";
export { readBtfFile, type ReadBtfFileOptions } from "./file.ts";
export { loadedBtfBytes, type LoadedBtfInfo, loadedBtfInfo, loadedBtfSpec } from "./loaded.ts";
export {
  type ApplyCoreOptions,
  applyCoreRelocations,
  CORE_POISON_HELPER,
  type CoreCandidate,
  coreKindLabel,
  CoreRelocationError,
  CoreRelocationKind,
  type CoreRelocationKindName,
  type CoreRelocationResult,
  CoreTargets,
  type CoreTargetsOptions,
  coreTypesAreCompatible,
  coreTypesMatch,
  essentialName,
  ownTypeIdsByName,
  prefetchTypeNames,
  resolveCoreRelocation,
} from "./core.ts";
export {
  type BtfExt,
  CORE_RELO_SIZE,
  type CoreRelocationRecord,
  FUNC_INFO_SIZE,
  type FuncInfoRecord,
  LINE_INFO_SIZE,
  type LineInfoRecord,
  marshalFuncInfos,
  marshalLineInfos,
  parseBtfExt,
} from "./ext.ts";
export {
  ALL_BTF_FEATURES,
  type BtfFeatures,
  type MarshalBtfOptions,
  type MarshalledBtf,
  marshalProgramBtf,
} from "./marshal.ts";
export {
  BtfCache,
  defaultBtfCache,
  kernelBtfDir,
  KernelFileError,
  kernelModuleBtfPath,
  kernelModuleOf,
  type KernelModuleSpecs,
  kernelModuleSpecs,
  type KernelOptions,
  type KernelTypes,
  loadKernelModuleSpec,
  loadKernelSpec,
  MissingModuleBtfError,
  MODULE_BTF_CONFIG,
  resolveKernelTypes,
} from "./kernel.ts";
export type { FD } from "../sys/fd.ts";
// The base classes of the errors above, for `instanceof` checks by users of
// this entry alone.
export { EbpfError, NotFoundError, ParseError } from "../errors.ts";
