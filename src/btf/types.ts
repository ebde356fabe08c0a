/**
 * The decoded shape of BTF types: a discriminated union on `kind`, one
 * interface per BTF kind (see `include/uapi/linux/btf.h`).
 *
 * Type references are plain type ids (`type: number`); `Spec.typeOf(ref)`
 * or `Spec.typeById(id)` decodes the referenced type on demand.
 *
 * @module
 */

import { BtfKind } from "../sys/abi.ts";

/** The name of a BTF kind, the lower-case form of the kernel's `BTF_KIND_*`. */
export type Kind =
  | "void"
  | "int"
  | "ptr"
  | "array"
  | "struct"
  | "union"
  | "enum"
  | "fwd"
  | "typedef"
  | "volatile"
  | "const"
  | "restrict"
  | "func"
  | "func_proto"
  | "var"
  | "datasec"
  | "float"
  | "decl_tag"
  | "type_tag"
  | "enum64";

/**
 * Kind names indexed by the kernel's kind number (`BTF_KIND_INT` = 1 …
 * `BTF_KIND_ENUM64` = 19). Index 0 (`BTF_KIND_UNKN`) is `"void"`, the kind
 * of type id 0.
 */
export const BTF_KIND_NAMES: readonly Kind[] = Object.freeze(
  Object.keys(BtfKind) as Kind[],
);

/** The kernel's kind number (`BTF_KIND_*`) of each kind name; `void` is 0 (the table is `BtfKind` in src/sys/abi.ts). */
export const BTF_KIND_NUMBERS: Readonly<Record<Kind, number>> = BtfKind;

/** The encoding of an `int` type: none (unsigned), signed, char or bool. */
export type IntEncoding = "none" | "signed" | "char" | "bool";

/** The linkage of a `func`: `BTF_FUNC_STATIC`, `_GLOBAL` or `_EXTERN`. */
export type FuncLinkage = "static" | "global" | "extern";

/** The linkage of a `var`: `BTF_VAR_STATIC`, `_GLOBAL_ALLOCATED` or `_GLOBAL_EXTERN`. */
export type VarLinkage = "static" | "global" | "extern";

/** Fields every decoded type has. */
export interface TypeCommon {
  /** The type id (0 is `void`). */
  readonly id: number;
  /** The type's name; `""` for an anonymous type. */
  readonly name: string;
}

/** Type id 0: `void`. */
export interface VoidType extends TypeCommon {
  /** Discriminant. */
  readonly kind: "void";
}

/** `BTF_KIND_INT`: an integer type. */
export interface IntType extends TypeCommon {
  /** Discriminant. */
  readonly kind: "int";
  /** Size in bytes. */
  readonly size: number;
  /** The `BTF_INT_ENCODING` attribute. */
  readonly encoding: IntEncoding;
  /** `BTF_INT_OFFSET`: the bit offset of the value inside `size` bytes. */
  readonly bitOffset: number;
  /** `BTF_INT_BITS`: the number of value bits. */
  readonly bits: number;
}

/** `BTF_KIND_PTR`: a pointer to `type`. */
export interface PtrType extends TypeCommon {
  /** Discriminant. */
  readonly kind: "ptr";
  /** Id of the pointee type. */
  readonly type: number;
}

/** `BTF_KIND_ARRAY`: `nelems` elements of `type`, indexed by `indexType`. */
export interface ArrayType extends TypeCommon {
  /** Discriminant. */
  readonly kind: "array";
  /** Id of the element type. */
  readonly type: number;
  /** Id of the index type. */
  readonly indexType: number;
  /** Number of elements. */
  readonly nelems: number;
}

/** One member of a struct or union (`struct btf_member`). */
export interface Member {
  /** Member name; `""` for an anonymous member. */
  readonly name: string;
  /** Id of the member's type. */
  readonly type: number;
  /** Offset of the member from the start of the struct, in bits. */
  readonly bitOffset: number;
  /** Bitfield width in bits, or 0 when the member is not a bitfield. */
  readonly bitfieldSize: number;
}

/** `BTF_KIND_STRUCT`: a struct. */
export interface StructType extends TypeCommon {
  /** Discriminant. */
  readonly kind: "struct";
  /** Size in bytes. */
  readonly size: number;
  /** The members in declaration order. */
  readonly members: readonly Member[];
}

/** `BTF_KIND_UNION`: a union. */
export interface UnionType extends TypeCommon {
  /** Discriminant. */
  readonly kind: "union";
  /** Size in bytes. */
  readonly size: number;
  /** The members in declaration order. */
  readonly members: readonly Member[];
}

/** One value of a 32-bit enum. */
export interface EnumValue {
  /** Enumerator name. */
  readonly name: string;
  /** The value, read as signed when the enum is `signed`, else unsigned. */
  readonly value: number;
}

/** `BTF_KIND_ENUM`: an enum of values up to 32 bits. */
export interface EnumType extends TypeCommon {
  /** Discriminant. */
  readonly kind: "enum";
  /** Size in bytes. */
  readonly size: number;
  /** Whether the values are signed (the kind flag). */
  readonly signed: boolean;
  /** The enumerators. */
  readonly values: readonly EnumValue[];
}

/** One value of a 64-bit enum. */
export interface Enum64Value {
  /** Enumerator name. */
  readonly name: string;
  /** The value, read as signed when the enum is `signed`, else unsigned. */
  readonly value: bigint;
}

/** `BTF_KIND_ENUM64`: an enum of values up to 64 bits. */
export interface Enum64Type extends TypeCommon {
  /** Discriminant. */
  readonly kind: "enum64";
  /** Size in bytes. */
  readonly size: number;
  /** Whether the values are signed (the kind flag). */
  readonly signed: boolean;
  /** The enumerators. */
  readonly values: readonly Enum64Value[];
}

/** `BTF_KIND_FWD`: a forward declaration of a struct or union. */
export interface FwdType extends TypeCommon {
  /** Discriminant. */
  readonly kind: "fwd";
  /** What is forward-declared (the kind flag). */
  readonly fwdKind: "struct" | "union";
}

/** `BTF_KIND_TYPEDEF`: a typedef naming `type`. */
export interface TypedefType extends TypeCommon {
  /** Discriminant. */
  readonly kind: "typedef";
  /** Id of the aliased type. */
  readonly type: number;
}

/** `BTF_KIND_VOLATILE`: `volatile type`. */
export interface VolatileType extends TypeCommon {
  /** Discriminant. */
  readonly kind: "volatile";
  /** Id of the qualified type. */
  readonly type: number;
}

/** `BTF_KIND_CONST`: `const type`. */
export interface ConstType extends TypeCommon {
  /** Discriminant. */
  readonly kind: "const";
  /** Id of the qualified type. */
  readonly type: number;
}

/** `BTF_KIND_RESTRICT`: `restrict type`. */
export interface RestrictType extends TypeCommon {
  /** Discriminant. */
  readonly kind: "restrict";
  /** Id of the qualified type. */
  readonly type: number;
}

/** `BTF_KIND_FUNC`: a function; `type` is its `func_proto`. */
export interface FuncType extends TypeCommon {
  /** Discriminant. */
  readonly kind: "func";
  /** Id of the function's prototype. */
  readonly type: number;
  /** The function's linkage (stored in vlen). */
  readonly linkage: FuncLinkage;
}

/** One parameter of a function prototype (`struct btf_param`). */
export interface Param {
  /** Parameter name; `""` when unnamed. */
  readonly name: string;
  /** Id of the parameter type; a last parameter with type 0 and no name marks `...`. */
  readonly type: number;
}

/** `BTF_KIND_FUNC_PROTO`: a function prototype. */
export interface FuncProtoType extends TypeCommon {
  /** Discriminant. */
  readonly kind: "func_proto";
  /** Id of the return type (0 for void). */
  readonly returnType: number;
  /** The parameters, including a trailing `{ name: "", type: 0 }` for varargs. */
  readonly params: readonly Param[];
}

/** `BTF_KIND_VAR`: a variable. */
export interface VarType extends TypeCommon {
  /** Discriminant. */
  readonly kind: "var";
  /** Id of the variable's type. */
  readonly type: number;
  /** The variable's linkage. */
  readonly linkage: VarLinkage;
}

/** One variable of a data section (`struct btf_var_secinfo`). */
export interface VarSecinfo {
  /** Id of the `var` (or `func`, for `.ksyms`). */
  readonly type: number;
  /** Offset of the variable in the section. */
  readonly offset: number;
  /** Size of the variable in bytes. */
  readonly size: number;
}

/** `BTF_KIND_DATASEC`: a data section and the variables in it. */
export interface DatasecType extends TypeCommon {
  /** Discriminant. */
  readonly kind: "datasec";
  /** Size of the section in bytes. */
  readonly size: number;
  /** The variables in the section. */
  readonly vars: readonly VarSecinfo[];
}

/** `BTF_KIND_FLOAT`: a floating-point type. */
export interface FloatType extends TypeCommon {
  /** Discriminant. */
  readonly kind: "float";
  /** Size in bytes. */
  readonly size: number;
}

/** `BTF_KIND_DECL_TAG`: a tag on a declaration or one of its components. */
export interface DeclTagType extends TypeCommon {
  /** Discriminant. */
  readonly kind: "decl_tag";
  /** Id of the tagged struct, union, var, func or typedef. */
  readonly type: number;
  /** -1 for the declaration itself, else the member or parameter index. */
  readonly componentIdx: number;
}

/** `BTF_KIND_TYPE_TAG`: a tag on a (pointee) type. */
export interface TypeTagType extends TypeCommon {
  /** Discriminant. */
  readonly kind: "type_tag";
  /** Id of the tagged type. */
  readonly type: number;
}

/** Any decoded BTF type, discriminated by `kind`. */
export type BtfType =
  | VoidType
  | IntType
  | PtrType
  | ArrayType
  | StructType
  | UnionType
  | EnumType
  | FwdType
  | TypedefType
  | VolatileType
  | ConstType
  | RestrictType
  | FuncType
  | FuncProtoType
  | VarType
  | DatasecType
  | FloatType
  | DeclTagType
  | TypeTagType
  | Enum64Type;

/**
 * A type to encode: any `BtfType` except `void`, with `id` optional (the id
 * is implied by the type's position; when given it must match).
 */
export type TypeDesc = Exclude<BtfType, VoidType> extends infer T
  ? T extends unknown ? Omit<T, "id"> & { readonly id?: number } : never
  : never;

/** Anything that refers to a type by id: a member, param, pointer, typedef… */
export interface TypeRef {
  /** The referenced type id. */
  readonly type: number;
}
