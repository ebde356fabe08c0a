/**
 * BTF (BPF Type Format): a lazy decoder for raw BTF (vmlinux, split module
 * BTF, either byte order), an encoder, and a raw dump identical to
 * `bpftool btf dump … format raw`.
 *
 * ```ts
 * import { parseBtf } from "./mod.ts";
 * const spec = parseBtf(Deno.readFileSync("/sys/kernel/btf/vmlinux"));
 * const task = spec.typeByName("task_struct", "struct");
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
  Spec,
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
export { parseBtfFile, type ParseFileOptions, readBtfFile } from "./file.ts";
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
