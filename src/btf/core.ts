/**
 * CO-RE (compile once, run everywhere): relocating the instructions clang
 * marked with `__builtin_preserve_access_index` and friends against the
 * target kernel's BTF.
 *
 * For each relocation record (`struct bpf_core_relo` from `.BTF.ext`) the
 * local type and its access string (`"0:1:2"`, member and array indices)
 * are turned into a *spec*; candidate types of the same essential name
 * (flavour suffix `___xyz` stripped) and compatible kind are looked up in
 * the target BTF (vmlinux first, kernel modules when vmlinux has none); the
 * spec is matched against each candidate by member *names*; the value the
 * instruction needs (a field's offset, size, existence, signedness, bitfield
 * shifts, a type id, existence or size, an enumerator's existence or value)
 * is computed for the local and the target side; and the instruction is
 * patched — or, when nothing matches and the value cannot be defaulted,
 * poisoned: replaced by a call to the invalid helper 0xbad2310, so that the
 * program fails only if it reaches that instruction (libbpf's behaviour).
 *
 * The relocation kinds and their semantics are those of
 * `enum bpf_core_relo_kind` in `include/uapi/linux/bpf.h` and the kernel's
 * Documentation/bpf/llvm_reloc.rst; the matching rules follow libbpf's
 * documented CO-RE semantics.
 *
 * @module
 */

export {
  CORE_POISON_HELPER,
  coreKindLabel,
  CoreRelocationError,
  CoreRelocationKind,
  type CoreRelocationKindName,
} from "./core_kinds.ts";
export { coreTypesAreCompatible, coreTypesMatch, essentialName } from "./core_types.ts";
export {
  type CoreCandidate,
  coreLookupNames,
  CoreTargets,
  type CoreTargetsOptions,
  ownTypeIdsByName,
  prefetchTypeNames,
} from "./core_candidates.ts";
export {
  type ApplyCoreOptions,
  applyCoreRelocations,
  type CoreRelocationResult,
  resolveCoreRelocation,
} from "./core_apply.ts";
