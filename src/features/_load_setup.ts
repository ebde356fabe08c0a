// How to load a probe program of each type: the attributes a type needs
// beyond `prog_type` (expected attach type, flags, attach BTF id) and, for
// the types that cannot load without a real attach target, which refusal
// proves the kernel knows the type. The recipes are libbpf's
// (`probe_prog_load`), so the answers match `bpftool feature probe`.

import { EINVAL, ENOTSUPP } from "../sys/errno.ts";
import { kernelVersionCode } from "../sys/uname.ts";
import type { ProgLoadAttr } from "../sys/bpf.ts";
import { AttachType as ATTACH, programTypeName } from "./_names.ts";

/** A probe load recipe. */
export interface LoadSetup {
  /** Attributes besides prog_type, instructions and license. */
  attr: Omit<ProgLoadAttr, "insns" | "insnCnt" | "license">;
  /**
   * For types that cannot load without an attach target: the errno (and one
   * of the log messages) that shows the kernel knows the type.
   */
  expect?: { errno: number; messages?: readonly string[] };
  /** True for the types whose helpers no generic probe can tell (libbpf bails out too). */
  noHelperProbe?: boolean;
}

const BPF_F_SLEEPABLE = 1 << 4;

/** The recipe for program type `type`. */
export function loadSetup(type: number): LoadSetup {
  const progType = type;
  switch (programTypeName(type)) {
    case "cgroup_sock_addr":
      return { attr: { progType, expectedAttachType: ATTACH.cgroup_inet4_connect } };
    case "cgroup_sockopt":
      return { attr: { progType, expectedAttachType: ATTACH.cgroup_getsockopt } };
    case "sk_lookup":
      return { attr: { progType, expectedAttachType: ATTACH.sk_lookup } };
    case "kprobe":
      return { attr: { progType, kernVersion: kernelVersionCode() } };
    case "lirc_mode2":
      return { attr: { progType, expectedAttachType: ATTACH.lirc_mode2 } };
    case "netfilter":
      return { attr: { progType, expectedAttachType: ATTACH.netfilter } };
    case "syscall":
      return { attr: { progType, progFlags: BPF_F_SLEEPABLE } };
    case "tracing":
    case "lsm":
      // BTF id 1 is never a function: a kernel that knows the type gets as
      // far as checking the attach target and says so.
      return {
        attr: {
          progType,
          expectedAttachType: programTypeName(type) === "tracing"
            ? ATTACH.trace_fentry
            : ATTACH.modify_return,
          attachBtfId: 1,
        },
        expect: { errno: EINVAL, messages: ["attach_btf_id 1 is not a function"] },
        noHelperProbe: true,
      };
    case "ext":
      return {
        attr: { progType, attachBtfId: 1 },
        expect: {
          errno: EINVAL,
          messages: [
            "Cannot replace kernel functions",
            "FENTRY/FEXIT program can only be attached to another program annotated with BTF",
          ],
        },
        noHelperProbe: true,
      };
    case "struct_ops":
      // Without an attach BTF id the verifier answers ENOTSUPP ("not a
      // supported struct"), which it can only do if it knows the type.
      return { attr: { progType }, expect: { errno: ENOTSUPP }, noHelperProbe: true };
    default:
      return { attr: { progType } };
  }
}
