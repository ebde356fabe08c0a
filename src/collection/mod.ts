/**
 * Objects compiled by clang: read an ELF object into a
 * {@linkcode CollectionSpec} (programs with their subprograms linked, maps
 * of every style, global data and variables, externs, BTF and `.BTF.ext`),
 * change it if needed, and load it with {@linkcode loadCollection} into a
 * {@linkcode Collection} of maps and programs — with CO-RE relocation
 * against the running kernel's BTF (vmlinux and module BTF, or BTF you
 * supply), `.kconfig` and `.ksyms` externs, kfunc calls, and pinning.
 *
 * @example
 * ```ts
 * import { loadCollection, loadCollectionSpec } from "@denobpf/ebpf/collection";
 *
 * const spec = loadCollectionSpec("testdata/bpf/basic_bpfel.o");
 * spec.variables.rodata_limit.set(100);
 * using coll = await loadCollection(spec, { pinPath: "/sys/fs/bpf" });
 * const { retval } = coll.programs.sock_count.testRunSync({ data: new Uint8Array(64) });
 * ```
 *
 * @module
 */

export { loadCollectionSpec, type LoadCollectionSpecOptions } from "./reader.ts";
export { copyCollectionSpec } from "./copy.ts";
export { type CollectionOptions, loadCollection } from "./load.ts";
export { type AssignedObjects, type AssignRequest, Collection } from "./collection.ts";
export {
  bindCollection,
  type BindingCodecs,
  bindSpec,
  type BoundCollection,
  type BoundSpec,
  type RawVariable,
  type TypedVariable,
  typedVariable,
} from "./bindings.ts";
export { type RelocatedProgram, type RelocateOptions, relocateProgram } from "./relocate.ts";
export { type BtfAttachKind, KNOWN_SECTIONS, type SectionInfo, sectionInfo } from "./sections.ts";
export {
  Variable,
  type VariableAccess,
  type VariableLocation,
  VariableSpec,
  type VariableValue,
} from "./variables.ts";
export {
  fillKconfig,
  type FillKconfigOptions,
  type KernelConfigOptions,
  parseKernelConfig,
  readKernelConfig,
} from "./kconfig.ts";
export type {
  CollectionMapSpec,
  CollectionProgramSpec,
  CollectionSpec,
  ExternKind,
  ExternSpec,
  MapContent,
  MapOrigin,
  ObjectLayout,
  ProgramFunction,
  ProgramReference,
  StructOpsSpec,
} from "./types.ts";
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
} from "../btf/core.ts";
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
} from "../btf/ext.ts";
export {
  ALL_BTF_FEATURES,
  type BtfFeatures,
  type MarshalBtfOptions,
  type MarshalledBtf,
  marshalProgramBtf,
} from "../btf/marshal.ts";
export { MissingModuleBtfError } from "../btf/kernel.ts";
// The types this entry's API refers to, so that it is complete on its own.
export type { FdHolder } from "../map/mod.ts";
export type { FD } from "../sys/fd.ts";
export type {
  AssembleResult,
  AttachType,
  AttachTypeName,
  Instruction,
  InstructionFields,
  InstructionInit,
  Instructions,
  ProgramType,
  ProgramTypeName,
  ReferenceKind,
  Register,
  SourceInfo,
  UnresolvedReference,
} from "../asm/mod.ts";
export type {
  ArrayType,
  BtfSpec,
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
  KernelTypes,
  Kind,
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
} from "../btf/mod.ts";
export type {
  BatchBuffers,
  BatchLookupOptions,
  BatchOptions,
  BatchWriteOptions,
  BpfMap,
  Codec,
  LookupOptions,
  MapBatchCursor,
  MapBtfSpec,
  MapInfo,
  MapMemory,
  MapSpec,
  MapType,
  MapTypeName,
  MapUpdateFlags,
  MmapOptions,
  RawMapOps,
  TypedMap,
  UpdateFlag,
  UpdateFlagName,
} from "../map/mod.ts";
export type {
  AttachTypeLike,
  FdSource,
  Program,
  ProgramBtf,
  ProgramHints,
  ProgramInfo,
  ProgramInstructions,
  ProgramSpec,
  ProgramTypeLike,
  TestRunOptions,
  TestRunResult,
} from "../program/mod.ts";
// The base classes of the errors above, for `instanceof` checks by users of
// this entry alone.
export { EbpfError, NotFoundError } from "../errors.ts";
