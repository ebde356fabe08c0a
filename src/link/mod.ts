/**
 * Attaching programs. One function per kind of attachment, each returning
 * a {@linkcode Link} that detaches on `close()` (or `using`):
 *
 * - tracing: {@linkcode attachTracepoint}, {@linkcode attachRawTracepoint},
 *   {@linkcode attachTracing} (tp_btf, fentry, fexit, fmod_ret, LSM,
 *   freplace), {@linkcode attachIter}, {@linkcode attachPerfEvent},
 *   {@linkcode attachKprobe}, {@linkcode attachKprobeMulti},
 *   {@linkcode attachUprobe}, {@linkcode attachUprobeMulti}, {@linkcode attachUsdt};
 * - networking: {@linkcode attachXdp}, {@linkcode attachTcx}, {@linkcode attachTc},
 *   {@linkcode attachCgroup}, {@linkcode attachNetns}, {@linkcode attachNetfilter},
 *   {@linkcode attachSocketFilter}, {@linkcode attachStructOps}.
 *
 * Links made with BPF_LINK_CREATE are {@linkcode BpfLink}s (pin, update,
 * info, detach); attachments made the older way — which the functions fall
 * back to on kernels without the link kind — are {@linkcode LegacyLink}s.
 *
 * @example
 * ```ts
 * import { attachTracepoint } from "@denobpf/ebpf/link";
 * import { loadProgram } from "@denobpf/ebpf/program";
 *
 * // r0 = 0; exit
 * const insns = new Uint8Array([0xb7, 0, 0, 0, 0, 0, 0, 0, 0x95, 0, 0, 0, 0, 0, 0, 0]);
 * using prog = loadProgram({ type: "tracepoint", instructions: insns, license: "GPL" });
 * using link = attachTracepoint(prog, { group: "syscalls", name: "sys_enter_getpid" });
 * console.log(link.info());
 * ```
 *
 * @module
 */

export { type FdSource, type InterfaceTarget, type ProgramHints } from "./_common.ts";
export * from "./cgroup.ts";
export * from "./info.ts";
export * from "./iter.ts";
export * from "./kprobe.ts";
export * from "./link.ts";
export * from "./netfilter.ts";
export * from "./netns.ts";
export * from "./socket_filter.ts";
export * from "./struct_ops.ts";
export * from "./tc.ts";
export * from "./tcx.ts";
export * from "./tracepoint.ts";
export * from "./tracing.ts";
export * from "./uprobe.ts";
export * from "./xdp.ts";
// The base classes of the errors above, for `instanceof` checks by users of
// this entry alone.
export { EbpfError, InvalidArgumentError, NotFoundError, NotSupportedError } from "../errors.ts";
// The types this entry's API refers to, so that it is complete on its own.
export type { AttachType, AttachTypeName } from "../asm/mod.ts";
export type { AttachTypeLike } from "../program/mod.ts";
export type { FD } from "../sys/fd.ts";
export type { PerfEventAttr, PerfFlag } from "../sys/perf_event.ts";
export type { TracefsOptions } from "../tracefs/mod.ts";
export type { UsdtArgument, UsdtArgumentKind, UsdtProbe } from "../uprobe/mod.ts";
