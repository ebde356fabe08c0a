/**
 * CO-RE relocation kinds (`enum bpf_core_relo_kind`), their labels, the
 * poison helper id, and the error of a relocation that cannot be applied.
 *
 * @module
 */

import { EbpfError, nameError } from "../errors.ts";
import { POISON_HELPER } from "../sys/abi.ts";

/** `enum bpf_core_relo_kind`. */
export const CoreRelocationKind = {
  /** Field byte offset. */
  FIELD_BYTE_OFFSET: 0,
  /** Field size in bytes. */
  FIELD_BYTE_SIZE: 1,
  /** Field existence in the target. */
  FIELD_EXISTS: 2,
  /** Field signedness (0 unsigned, 1 signed). */
  FIELD_SIGNED: 3,
  /** Left shift for a bitfield read through a u64. */
  FIELD_LSHIFT_U64: 4,
  /** Right shift for a bitfield read through a u64. */
  FIELD_RSHIFT_U64: 5,
  /** Type id in the local BTF. */
  TYPE_ID_LOCAL: 6,
  /** Type id in the target BTF. */
  TYPE_ID_TARGET: 7,
  /** Type existence in the target. */
  TYPE_EXISTS: 8,
  /** Type size in the target. */
  TYPE_SIZE: 9,
  /** Enumerator existence in the target. */
  ENUMVAL_EXISTS: 10,
  /** Enumerator value in the target. */
  ENUMVAL_VALUE: 11,
  /** Type "matches" in the target (stricter than existence). */
  TYPE_MATCHES: 12,
} as const;

/** A name of {@linkcode CoreRelocationKind}. */
export type CoreRelocationKindName = keyof typeof CoreRelocationKind;

const KIND_LABELS = [
  "byte_off",
  "byte_sz",
  "field_exists",
  "signed",
  "lshift_u64",
  "rshift_u64",
  "local_type_id",
  "target_type_id",
  "type_exists",
  "type_size",
  "enumval_exists",
  "enumval_value",
  "type_matches",
];

/** The short label libbpf prints for a relocation kind, e.g. `"byte_off"`. */
export function coreKindLabel(kind: number): string {
  return KIND_LABELS[kind] ?? `kind ${kind}`;
}

/** The helper id written into poisoned instructions (0xbad2310, "bad relo"; `POISON_HELPER` of src/sys/abi.ts). */
export const CORE_POISON_HELPER: number = POISON_HELPER;

/** Longest access string (libbpf's `BPF_CORE_SPEC_MAX_LEN`). */
export const SPEC_MAX_LEN = 64;
/** Recursion limit of the type comparisons. */
export const MAX_DEPTH = 32;

/** Whether a relocation kind is a field relocation. */
export function isFieldKind(k: number): boolean {
  return k <= CoreRelocationKind.FIELD_RSHIFT_U64;
}
/** Whether a relocation kind is a type relocation. */
export function isTypeKind(k: number): boolean {
  return (k >= CoreRelocationKind.TYPE_ID_LOCAL && k <= CoreRelocationKind.TYPE_SIZE) ||
    k === CoreRelocationKind.TYPE_MATCHES;
}
/** Whether a relocation kind is an enumerator relocation. */
export function isEnumKind(k: number): boolean {
  return k === CoreRelocationKind.ENUMVAL_EXISTS || k === CoreRelocationKind.ENUMVAL_VALUE;
}

/**
 * A CO-RE relocation could not be applied: the record is malformed, the
 * candidates disagree, the instruction does not have the expected form —
 * or a poisoned instruction (no target type or field) was reached when the
 * program was loaded.
 */
export class CoreRelocationError extends EbpfError {
  static {
    nameError(this, "CoreRelocationError");
  }
  /** Always `"ECORERELO"`. */
  override readonly code = "ECORERELO";
  /** The program, when known. */
  readonly program?: string;
  /** The relocation's index in its program. */
  readonly index: number;
  /** The instruction it applies to. */
  readonly insn: number;
  /** The relocation kind's label, e.g. `"byte_off"`. */
  readonly kind: string;
  /** The local access, e.g. `"[14] struct task_struct.real_parent (0:46)"`. */
  readonly access: string;
  /** Why it failed. */
  readonly reason: string;
  /**
   * For an ambiguity: every candidate target type, as `"[id] kind name"`
   * (with its source when that is not the base BTF).
   */
  readonly candidates?: readonly string[];
  /** Creates the error. */
  constructor(
    info: {
      program?: string;
      index: number;
      insn: number;
      kind: string;
      access: string;
      candidates?: readonly string[];
    },
    reason: string,
    options?: { cause?: unknown },
  ) {
    super(
      `${info.program ? `program ${info.program}: ` : ""}CO-RE relocation #${info.index} ` +
        `(${info.kind} ${info.access}, insn #${info.insn}): ${reason}`,
      options,
    );
    this.program = info.program;
    this.index = info.index;
    this.insn = info.insn;
    this.kind = info.kind;
    this.access = info.access;
    this.reason = reason;
    if (info.candidates) this.candidates = info.candidates;
  }
}
