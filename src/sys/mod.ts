/**
 * **Unstable.** The syscall layer under everything else: the bpf(2) syscall
 * with typed attributes, perf_event_open(2), mmap, epoll, errno and its
 * errors, object pinning and ids, and the owned file descriptor ({@linkcode FD})
 * every kernel object is held by. Names and signatures here may change in any
 * release; the other entries (`@denobpf/ebpf`, `./map`, `./program`, …) are
 * the stable surface, and the errors (`SyscallError`, `PermissionError`) are
 * exported there too.
 *
 * @example
 * ```ts
 * import { bpfCmdName, errnoName, possibleCpuCount, uname } from "@denobpf/ebpf/unstable-sys";
 *
 * console.log(uname().release, possibleCpuCount());
 * console.log(bpfCmdName(0), errnoName(1)); // "MAP_CREATE", "EPERM"
 * ```
 *
 * @module
 */

export {
  addressOf,
  type AttrField,
  type AttrFieldKind,
  type AttrLayout,
  type AttrPointer,
  bpf,
  type BpfAttrMap,
  type BpfCallOptions,
  BpfCmd,
  type BpfCmdName,
  bpfCmdName,
  bpfError,
  bpfRaw,
  bpfTry,
  type BtfLoadAttr,
  cString,
  type EnableStatsAttr,
  encodeAttr,
  type GetIdAttr,
  type InfoAttr,
  isErrno,
  type IterCreateAttr,
  type LinkCreateAttr,
  type LinkDetachAttr,
  type LinkUpdateAttr,
  type MapBatchAttr,
  type MapCreateAttr,
  type MapElemAttr,
  type ObjAttr,
  type ProgAttachAttr,
  type ProgBindMapAttr,
  type ProgLoadAttr,
  type ProgQueryAttr,
  type RawTracepointAttr,
  SYS_BPF,
  type TaskFdQueryAttr,
  type TestRunAttr,
  type U64,
} from "./bpf.ts";
export * from "./errno.ts";
export * from "./error.ts";
export * from "./fd.ts";
export * from "./mmap.ts";
export * from "./perf_event.ts";
export * from "./uname.ts";
export * from "./cpu.ts";
export * from "./obj.ts";
export * from "./epoll.ts";
export * from "./map_ref.ts";
export { fdOf, type FdSource, type ProgramHints } from "./fd_source.ts";
export * from "./open_path.ts";
export * from "./file.ts";
// The base classes of the errors above, for `instanceof` checks by users of
// this entry alone.
export { EbpfError, NotFoundError } from "../errors.ts";
// The types this entry's API refers to, so that it is complete on its own.
export type { KernelVersion } from "./kernel_version.ts";
