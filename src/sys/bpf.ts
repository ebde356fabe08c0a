/**
 * The bpf(2) system call: command numbers, `union bpf_attr` layouts, and a
 * typed entry point that encodes each command's attributes from a plain
 * object. Layouts and numbers follow `/usr/include/linux/bpf.h`.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { errno, libc } from "./_libc.ts";

import { isPermissionErrno, PermissionError, SyscallError } from "./error.ts";

import { BpfCmd } from "./abi.ts";

export { BpfCmd };

/** A bpf(2) command name, e.g. `"MAP_CREATE"`. */
export type BpfCmdName = keyof typeof BpfCmd;

let cmdNames: string[] | undefined;

/** The UAPI name of a command number, e.g. `"BPF_MAP_CREATE"`. */
export function bpfCmdName(cmd: number): string {
  if (cmdNames === undefined) {
    cmdNames = [];
    for (const [k, v] of Object.entries(BpfCmd)) cmdNames[v] = `BPF_${k}`;
  }
  return cmdNames[cmd] ?? `BPF_CMD_${cmd}`;
}

/**
 * A pointer field of `union bpf_attr`: a buffer (its address is taken and it
 * is kept alive for the call), a raw address, or nothing (0).
 */
export type AttrPointer = Uint8Array | ArrayBufferView | bigint | null | undefined;

/** A 64-bit field: number or bigint. */
export type U64 = number | bigint;

/**
 * How a field of `union bpf_attr` is encoded: an unsigned or signed 32-bit
 * integer, a u64, a pointer (`__aligned_u64`), a 16-byte object name, or a u16.
 */
export type AttrFieldKind = "u32" | "i32" | "u64" | "ptr" | "name" | "u16";
/** One field of a command's attributes: its byte offset and how it is encoded. */
export type AttrField = readonly [offset: number, kind: AttrFieldKind];
/** A command's part of `union bpf_attr`: its size and its fields by (camelCase) name. */
export interface AttrLayout {
  /** The size in bytes the command's attributes take. */
  readonly size: number;
  /** The fields, by the camelCase names of the attribute interfaces. */
  readonly fields: Readonly<Record<string, AttrField>>;
}

/** BPF_MAP_CREATE attributes. */
export interface MapCreateAttr {
  /** `map_type`: the map type (`enum bpf_map_type`). */
  mapType: number;
  /** `key_size`: key size in bytes. */
  keySize: number;
  /** `value_size`: value size in bytes. */
  valueSize: number;
  /** `max_entries`: the map's capacity. */
  maxEntries: number;
  /** `map_flags`: `BPF_F_*` creation flags. */
  mapFlags?: number;
  /** `inner_map_fd`: a template map for map-in-map types. */
  innerMapFd?: number;
  /** `numa_node`: the NUMA node (with BPF_F_NUMA_NODE). */
  numaNode?: number;
  /** Up to 15 bytes; longer names are truncated. */
  mapName?: string;
  /** `map_ifindex`: the device to offload the map to. */
  mapIfindex?: number;
  /** `btf_fd`: the BTF object describing key and value. */
  btfFd?: number;
  /** `btf_key_type_id`: the key's BTF type id. */
  btfKeyTypeId?: number;
  /** `btf_value_type_id`: the value's BTF type id. */
  btfValueTypeId?: number;
  /** `btf_vmlinux_value_type_id`: struct_ops value type id in vmlinux BTF. */
  btfVmlinuxValueTypeId?: number;
  /** `map_extra`: type-specific (bloom filter hashes, arena address). */
  mapExtra?: U64;
  /** `value_type_btf_obj_fd`: the module BTF of a struct_ops value type. */
  valueTypeBtfObjFd?: number;
  /** `map_token_fd`: a BPF token (6.9+). */
  mapTokenFd?: number;
}

/** BPF_MAP_{LOOKUP,UPDATE,DELETE}_ELEM, GET_NEXT_KEY, LOOKUP_AND_DELETE_ELEM, FREEZE. */
export interface MapElemAttr {
  /** `map_fd`: the map. */
  mapFd: number;
  /** `key`: the key buffer. */
  key?: AttrPointer;
  /** `value`, or `next_key` for GET_NEXT_KEY (same slot). */
  value?: AttrPointer;
  /** `flags`: `BPF_ANY`, `BPF_NOEXIST`, `BPF_EXIST`, `BPF_F_LOCK`. */
  flags?: U64;
}

/** BPF_MAP_*_BATCH attributes. `count` is written back. */
export interface MapBatchAttr {
  /** `in_batch`: where to resume (the previous `out_batch`), or none to start. */
  inBatch?: AttrPointer;
  /** `out_batch`: where the kernel writes the resume token. */
  outBatch?: AttrPointer;
  /** `keys`: the keys buffer (`count` keys). */
  keys?: AttrPointer;
  /** `values`: the values buffer (`count` values). */
  values?: AttrPointer;
  /** `count`: elements in the buffers; the kernel writes back how many it handled. */
  count: number;
  /** `map_fd`: the map. */
  mapFd: number;
  /** `elem_flags`: per-element flags (`BPF_F_LOCK`, update flags). */
  elemFlags?: U64;
  /** `flags`: batch flags. */
  flags?: U64;
}

/** BPF_PROG_LOAD attributes. `logTrueSize` is written back (6.4+). */
export interface ProgLoadAttr {
  /** `prog_type`: the program type (`enum bpf_prog_type`). */
  progType: number;
  /** `insn_cnt`: number of 8-byte instructions. */
  insnCnt: number;
  /** `insns`: the instructions. */
  insns: AttrPointer;
  /** `license`: a NUL-terminated license string. */
  license: AttrPointer;
  /** `log_level`: verifier log level bits. */
  logLevel?: number;
  /** `log_size`: size of `logBuf`. */
  logSize?: number;
  /** `log_buf`: the verifier log buffer. */
  logBuf?: AttrPointer;
  /** `kern_version`: the kernel version code (kprobe programs, old kernels). */
  kernVersion?: number;
  /** `prog_flags`: `BPF_F_*` load flags. */
  progFlags?: number;
  /** `prog_name`: up to 15 bytes; longer names are truncated. */
  progName?: string;
  /** `prog_ifindex`: the device to offload to or bind to. */
  progIfindex?: number;
  /** `expected_attach_type` (`enum bpf_attach_type`; struct_ops: member index). */
  expectedAttachType?: number;
  /** `prog_btf_fd`: the program's BTF object. */
  progBtfFd?: number;
  /** `func_info_rec_size`: size of one func_info record. */
  funcInfoRecSize?: number;
  /** `func_info`: `struct bpf_func_info` records. */
  funcInfo?: AttrPointer;
  /** `func_info_cnt`: number of func_info records. */
  funcInfoCnt?: number;
  /** `line_info_rec_size`: size of one line_info record. */
  lineInfoRecSize?: number;
  /** `line_info`: `struct bpf_line_info` records. */
  lineInfo?: AttrPointer;
  /** `line_info_cnt`: number of line_info records. */
  lineInfoCnt?: number;
  /** `attach_btf_id`: the BTF type id to attach to. */
  attachBtfId?: number;
  /** `attach_prog_fd` or `attach_btf_obj_fd` (same slot). */
  attachBtfObjFd?: number;
  /** `core_relo_cnt`: number of CO-RE relocation records. */
  coreReloCnt?: number;
  /** `fd_array`: descriptors referenced by index from the instructions. */
  fdArray?: AttrPointer;
  /** `core_relos`: `struct bpf_core_relo` records for the kernel to apply. */
  coreRelos?: AttrPointer;
  /** `core_relo_rec_size`: size of one CO-RE relocation record. */
  coreReloRecSize?: number;
  /** `log_true_size`: the log size the kernel needed (written back, 6.4+). */
  logTrueSize?: number;
  /** `prog_token_fd`: a BPF token (6.9+). */
  progTokenFd?: number;
  /** `fd_array_cnt`: number of entries in `fd_array` (6.14+). */
  fdArrayCnt?: number;
}

/** BPF_OBJ_PIN / BPF_OBJ_GET attributes. */
export interface ObjAttr {
  /** `pathname`: the bpffs path. */
  pathname: string | AttrPointer;
  /** `bpf_fd`: the object to pin (OBJ_PIN). */
  bpfFd?: number;
  /** `file_flags`: `BPF_F_RDONLY` / `BPF_F_WRONLY` (OBJ_GET), `BPF_F_PATH_FD`. */
  fileFlags?: number;
  /** `path_fd`: a directory `pathname` is relative to (with BPF_F_PATH_FD, 6.5+). */
  pathFd?: number;
}

/** BPF_PROG_ATTACH / BPF_PROG_DETACH attributes. */
export interface ProgAttachAttr {
  /** `target_fd` or `target_ifindex`. */
  targetFd: number;
  /** `attach_bpf_fd`: the program to attach or detach. */
  attachBpfFd?: number;
  /** `attach_type` (`enum bpf_attach_type`). */
  attachType: number;
  /** `attach_flags`: `BPF_F_ALLOW_OVERRIDE`, `BPF_F_ALLOW_MULTI`, `BPF_F_REPLACE`, …. */
  attachFlags?: number;
  /** `replace_bpf_fd`: the program to replace (with BPF_F_REPLACE). */
  replaceBpfFd?: number;
  /** `relative_fd` or `relative_id` (6.6+). */
  relativeFd?: number;
  /** `expected_revision`: fail unless the attach point is at this revision (6.6+). */
  expectedRevision?: U64;
}

/** BPF_PROG_TEST_RUN attributes; `retval`, `duration`, sizes out are written back. */
export interface TestRunAttr {
  /** `prog_fd`: the program to run. */
  progFd: number;
  /** `retval`: the program's return value (written back). */
  retval?: number;
  /** `data_size_in`: size of `dataIn`. */
  dataSizeIn?: number;
  /** `data_size_out`: size of `dataOut`; written back with the output size. */
  dataSizeOut?: number;
  /** `data_in`: the input packet or data. */
  dataIn?: AttrPointer;
  /** `data_out`: the output buffer. */
  dataOut?: AttrPointer;
  /** `repeat`: number of runs. */
  repeat?: number;
  /** `duration`: mean run time in ns (written back). */
  duration?: number;
  /** `ctx_size_in`: size of `ctxIn`. */
  ctxSizeIn?: number;
  /** `ctx_size_out`: size of `ctxOut`; written back with the output size. */
  ctxSizeOut?: number;
  /** `ctx_in`: the input context. */
  ctxIn?: AttrPointer;
  /** `ctx_out`: the output context buffer. */
  ctxOut?: AttrPointer;
  /** `flags`: `BPF_F_TEST_RUN_ON_CPU`, `BPF_F_TEST_XDP_LIVE_FRAMES`, …. */
  flags?: number;
  /** `cpu`: the CPU to run on (with BPF_F_TEST_RUN_ON_CPU). */
  cpu?: number;
  /** `batch_size`: frames per batch (XDP live frames). */
  batchSize?: number;
}

/** BPF_*_GET_NEXT_ID and BPF_*_GET_FD_BY_ID attributes; `nextId` is written back. */
export interface GetIdAttr {
  /** `start_id`, `prog_id`, `map_id`, `btf_id` or `link_id` (same slot). */
  id: number;
  /** `next_id`: the next id (written back by *_GET_NEXT_ID). */
  nextId?: number;
  /** `open_flags`: `BPF_F_RDONLY` / `BPF_F_WRONLY` (*_GET_FD_BY_ID). */
  openFlags?: number;
}

/** BPF_OBJ_GET_INFO_BY_FD attributes; `infoLen` is written back. */
export interface InfoAttr {
  /** `bpf_fd`: the object. */
  bpfFd: number;
  /** `info_len`: size of `info`; written back with the size the kernel filled. */
  infoLen: number;
  /** `info`: the `struct bpf_*_info` buffer. */
  info: AttrPointer;
}

/** BPF_PROG_QUERY attributes; `attachFlags`, `progCnt`, `revision` are written back. */
export interface ProgQueryAttr {
  /** `target_fd` or `target_ifindex`: the attach point. */
  targetFd: number;
  /** `attach_type` (`enum bpf_attach_type`). */
  attachType: number;
  /** `query_flags`: `BPF_F_QUERY_EFFECTIVE`. */
  queryFlags?: number;
  /** `attach_flags` (written back). */
  attachFlags?: number;
  /** `prog_ids`: buffer for the attached program ids. */
  progIds?: AttrPointer;
  /** `prog_cnt`: capacity of `progIds`; written back with the count. */
  progCnt?: number;
  /** `prog_attach_flags`: buffer for each program's attach flags. */
  progAttachFlags?: AttrPointer;
  /** `link_ids`: buffer for the link ids (6.6+). */
  linkIds?: AttrPointer;
  /** `link_attach_flags`: buffer for each link's attach flags (6.6+). */
  linkAttachFlags?: AttrPointer;
  /** `revision`: the attach point's revision (written back, 6.6+). */
  revision?: U64;
}

/** BPF_RAW_TRACEPOINT_OPEN attributes. */
export interface RawTracepointAttr {
  /** `name`: the raw tracepoint's name (none for BTF-attached programs). */
  name: string | AttrPointer;
  /** `prog_fd`: the program. */
  progFd: number;
  /** `cookie`: BPF cookie (6.10+). */
  cookie?: U64;
}

/** BPF_BTF_LOAD attributes; `btfLogTrueSize` is written back. */
export interface BtfLoadAttr {
  /** `btf`: the raw BTF blob. */
  btf: AttrPointer;
  /** `btf_log_buf`: the BTF verifier log buffer. */
  btfLogBuf?: AttrPointer;
  /** `btf_size`: size of the blob. */
  btfSize: number;
  /** `btf_log_size`: size of `btfLogBuf`. */
  btfLogSize?: number;
  /** `btf_log_level`: log level. */
  btfLogLevel?: number;
  /** `btf_log_true_size`: the log size the kernel needed (written back, 6.4+). */
  btfLogTrueSize?: number;
  /** `btf_flags`: `BPF_F_TOKEN_FD` (6.9+). */
  btfFlags?: number;
  /** `btf_token_fd`: a BPF token (6.9+). */
  btfTokenFd?: number;
}

/** BPF_TASK_FD_QUERY attributes; the output fields are written back. */
export interface TaskFdQueryAttr {
  /** `pid`: the process holding the descriptor. */
  pid: number;
  /** `fd`: the descriptor (a perf event or raw tracepoint) in that process. */
  fd: number;
  /** `flags`: must be 0. */
  flags?: number;
  /** `buf_len`: size of `buf`; written back with the name's length. */
  bufLen?: number;
  /** `buf`: buffer for the tracepoint name, function or file path. */
  buf?: AttrPointer;
  /** `prog_id`: the attached program's id (written back). */
  progId?: number;
  /** `fd_type`: `BPF_FD_TYPE_*` (written back). */
  fdType?: number;
  /** `probe_offset`: kprobe/uprobe offset (written back). */
  probeOffset?: U64;
  /** `probe_addr`: kprobe address (written back). */
  probeAddr?: U64;
}

/**
 * BPF_LINK_CREATE attributes. The kind-specific part of the attribute is a
 * union; its members are named after the link kind.
 */
export interface LinkCreateAttr {
  /** `prog_fd` (or `map_fd` for struct_ops links). */
  progFd: number;
  /** `target_fd` or `target_ifindex`. */
  targetFd?: number;
  /** `attach_type` (`enum bpf_attach_type`). */
  attachType: number;
  /** `flags`: link flags (e.g. `BPF_F_BEFORE`/`BPF_F_AFTER` for tcx). */
  flags?: number;
  /** `target_btf_id`: the function to attach to (tracing, freplace). */
  targetBtfId?: number;
  /** `iter_info`: `union bpf_iter_link_info`. */
  iterInfo?: AttrPointer;
  /** `iter_info_len`: size of `iterInfo`. */
  iterInfoLen?: number;
  /** `perf_event.bpf_cookie`: BPF cookie of a perf-event link. */
  perfEventCookie?: U64;
  /** `kprobe_multi.flags`: `BPF_F_KPROBE_MULTI_RETURN`. */
  kprobeMultiFlags?: number;
  /** `kprobe_multi.cnt`: number of functions. */
  kprobeMultiCnt?: number;
  /** `kprobe_multi.syms`: array of symbol-name pointers. */
  kprobeMultiSyms?: AttrPointer;
  /** `kprobe_multi.addrs`: array of addresses. */
  kprobeMultiAddrs?: AttrPointer;
  /** `kprobe_multi.cookies`: one BPF cookie per function. */
  kprobeMultiCookies?: AttrPointer;
  /** `tracing.cookie`: BPF cookie of a tracing link. */
  tracingCookie?: U64;
  /** `netfilter.pf`: the protocol family (`NFPROTO_*`). */
  netfilterPf?: number;
  /** `netfilter.hooknum`: the hook (`NF_INET_*`). */
  netfilterHooknum?: number;
  /** `netfilter.priority`: the hook priority. */
  netfilterPriority?: number;
  /** `netfilter.flags`: `BPF_F_NETFILTER_IP_DEFRAG`. */
  netfilterFlags?: number;
  /** tcx/netkit `relative_fd` or `relative_id`. */
  tcxRelative?: number;
  /** tcx/netkit `expected_revision`. */
  tcxExpectedRevision?: U64;
  /** `uprobe_multi.path`: the binary or library. */
  uprobeMultiPath?: string | AttrPointer;
  /** `uprobe_multi.offsets`: file offsets of the probes. */
  uprobeMultiOffsets?: AttrPointer;
  /** `uprobe_multi.ref_ctr_offsets`: reference counter (semaphore) offsets. */
  uprobeMultiRefCtrOffsets?: AttrPointer;
  /** `uprobe_multi.cookies`: one BPF cookie per location. */
  uprobeMultiCookies?: AttrPointer;
  /** `uprobe_multi.cnt`: number of locations. */
  uprobeMultiCnt?: number;
  /** `uprobe_multi.flags`: `BPF_F_UPROBE_MULTI_RETURN`. */
  uprobeMultiFlags?: number;
  /** `uprobe_multi.pid`: only this process. */
  uprobeMultiPid?: number;
}

/** BPF_LINK_UPDATE attributes. */
export interface LinkUpdateAttr {
  /** `link_fd`: the link. */
  linkFd: number;
  /** `new_prog_fd`: the program to put in. */
  newProgFd: number;
  /** `flags`: `BPF_F_REPLACE`. */
  flags?: number;
  /** `old_prog_fd`: the program expected in the link (with BPF_F_REPLACE). */
  oldProgFd?: number;
}

/** BPF_LINK_DETACH attributes. */
export interface LinkDetachAttr {
  /** `link_fd`: the link. */
  linkFd: number;
}

/** BPF_ENABLE_STATS attributes. */
export interface EnableStatsAttr {
  /** `type`: the statistics (`BPF_STATS_RUN_TIME` = 0). */
  type: number;
}

/** BPF_ITER_CREATE attributes. */
export interface IterCreateAttr {
  /** `link_fd`: the iterator link. */
  linkFd: number;
  /** `flags`: must be 0. */
  flags?: number;
}

/** BPF_PROG_BIND_MAP attributes. */
export interface ProgBindMapAttr {
  /** `prog_fd`: the program. */
  progFd: number;
  /** `map_fd`: the map to bind. */
  mapFd: number;
  /** `flags`: must be 0. */
  flags?: number;
}

/** Which attribute object each command takes. */
export interface BpfAttrMap {
  /** `BPF_MAP_CREATE` attributes. */
  MAP_CREATE: MapCreateAttr;
  /** `BPF_MAP_LOOKUP_ELEM` attributes. */
  MAP_LOOKUP_ELEM: MapElemAttr;
  /** `BPF_MAP_UPDATE_ELEM` attributes. */
  MAP_UPDATE_ELEM: MapElemAttr;
  /** `BPF_MAP_DELETE_ELEM` attributes. */
  MAP_DELETE_ELEM: MapElemAttr;
  /** `BPF_MAP_GET_NEXT_KEY` attributes. */
  MAP_GET_NEXT_KEY: MapElemAttr;
  /** `BPF_PROG_LOAD` attributes. */
  PROG_LOAD: ProgLoadAttr;
  /** `BPF_OBJ_PIN` attributes. */
  OBJ_PIN: ObjAttr;
  /** `BPF_OBJ_GET` attributes. */
  OBJ_GET: ObjAttr;
  /** `BPF_PROG_ATTACH` attributes. */
  PROG_ATTACH: ProgAttachAttr;
  /** `BPF_PROG_DETACH` attributes. */
  PROG_DETACH: ProgAttachAttr;
  /** `BPF_PROG_TEST_RUN` attributes. */
  PROG_TEST_RUN: TestRunAttr;
  /** `BPF_PROG_GET_NEXT_ID` attributes. */
  PROG_GET_NEXT_ID: GetIdAttr;
  /** `BPF_MAP_GET_NEXT_ID` attributes. */
  MAP_GET_NEXT_ID: GetIdAttr;
  /** `BPF_PROG_GET_FD_BY_ID` attributes. */
  PROG_GET_FD_BY_ID: GetIdAttr;
  /** `BPF_MAP_GET_FD_BY_ID` attributes. */
  MAP_GET_FD_BY_ID: GetIdAttr;
  /** `BPF_OBJ_GET_INFO_BY_FD` attributes. */
  OBJ_GET_INFO_BY_FD: InfoAttr;
  /** `BPF_PROG_QUERY` attributes. */
  PROG_QUERY: ProgQueryAttr;
  /** `BPF_RAW_TRACEPOINT_OPEN` attributes. */
  RAW_TRACEPOINT_OPEN: RawTracepointAttr;
  /** `BPF_BTF_LOAD` attributes. */
  BTF_LOAD: BtfLoadAttr;
  /** `BPF_BTF_GET_FD_BY_ID` attributes. */
  BTF_GET_FD_BY_ID: GetIdAttr;
  /** `BPF_TASK_FD_QUERY` attributes. */
  TASK_FD_QUERY: TaskFdQueryAttr;
  /** `BPF_MAP_LOOKUP_AND_DELETE_ELEM` attributes. */
  MAP_LOOKUP_AND_DELETE_ELEM: MapElemAttr;
  /** `BPF_MAP_FREEZE` attributes. */
  MAP_FREEZE: MapElemAttr;
  /** `BPF_BTF_GET_NEXT_ID` attributes. */
  BTF_GET_NEXT_ID: GetIdAttr;
  /** `BPF_MAP_LOOKUP_BATCH` attributes. */
  MAP_LOOKUP_BATCH: MapBatchAttr;
  /** `BPF_MAP_LOOKUP_AND_DELETE_BATCH` attributes. */
  MAP_LOOKUP_AND_DELETE_BATCH: MapBatchAttr;
  /** `BPF_MAP_UPDATE_BATCH` attributes. */
  MAP_UPDATE_BATCH: MapBatchAttr;
  /** `BPF_MAP_DELETE_BATCH` attributes. */
  MAP_DELETE_BATCH: MapBatchAttr;
  /** `BPF_LINK_CREATE` attributes. */
  LINK_CREATE: LinkCreateAttr;
  /** `BPF_LINK_UPDATE` attributes. */
  LINK_UPDATE: LinkUpdateAttr;
  /** `BPF_LINK_GET_FD_BY_ID` attributes. */
  LINK_GET_FD_BY_ID: GetIdAttr;
  /** `BPF_LINK_GET_NEXT_ID` attributes. */
  LINK_GET_NEXT_ID: GetIdAttr;
  /** `BPF_ENABLE_STATS` attributes. */
  ENABLE_STATS: EnableStatsAttr;
  /** `BPF_ITER_CREATE` attributes. */
  ITER_CREATE: IterCreateAttr;
  /** `BPF_LINK_DETACH` attributes. */
  LINK_DETACH: LinkDetachAttr;
  /** `BPF_PROG_BIND_MAP` attributes. */
  PROG_BIND_MAP: ProgBindMapAttr;
}

const ELEM: AttrLayout = {
  size: 32,
  fields: { mapFd: [0, "u32"], key: [8, "ptr"], value: [16, "ptr"], flags: [24, "u64"] },
};
const BATCH: AttrLayout = {
  size: 56,
  fields: {
    inBatch: [0, "ptr"],
    outBatch: [8, "ptr"],
    keys: [16, "ptr"],
    values: [24, "ptr"],
    count: [32, "u32"],
    mapFd: [36, "u32"],
    elemFlags: [40, "u64"],
    flags: [48, "u64"],
  },
};
const GET_ID: AttrLayout = {
  size: 12,
  fields: { id: [0, "u32"], nextId: [4, "u32"], openFlags: [8, "u32"] },
};
const OBJ: AttrLayout = {
  size: 16,
  fields: { pathname: [0, "ptr"], bpfFd: [8, "u32"], fileFlags: [12, "u32"], pathFd: [16, "i32"] },
};
const ATTACH: AttrLayout = {
  size: 20,
  fields: {
    targetFd: [0, "u32"],
    attachBpfFd: [4, "u32"],
    attachType: [8, "u32"],
    attachFlags: [12, "u32"],
    replaceBpfFd: [16, "u32"],
    relativeFd: [20, "u32"],
    expectedRevision: [24, "u64"],
  },
};

/** The `union bpf_attr` layout of every command: byte offsets and kinds (exported for tests). */
export const LAYOUTS: { readonly [C in keyof BpfAttrMap]: AttrLayout } = {
  MAP_CREATE: {
    size: 72,
    fields: {
      mapType: [0, "u32"],
      keySize: [4, "u32"],
      valueSize: [8, "u32"],
      maxEntries: [12, "u32"],
      mapFlags: [16, "u32"],
      innerMapFd: [20, "u32"],
      numaNode: [24, "u32"],
      mapName: [28, "name"],
      mapIfindex: [44, "u32"],
      btfFd: [48, "u32"],
      btfKeyTypeId: [52, "u32"],
      btfValueTypeId: [56, "u32"],
      btfVmlinuxValueTypeId: [60, "u32"],
      mapExtra: [64, "u64"],
      valueTypeBtfObjFd: [72, "i32"],
      mapTokenFd: [76, "i32"],
    },
  },
  MAP_LOOKUP_ELEM: ELEM,
  MAP_UPDATE_ELEM: ELEM,
  MAP_DELETE_ELEM: ELEM,
  MAP_GET_NEXT_KEY: ELEM,
  MAP_LOOKUP_AND_DELETE_ELEM: ELEM,
  MAP_FREEZE: ELEM,
  MAP_LOOKUP_BATCH: BATCH,
  MAP_LOOKUP_AND_DELETE_BATCH: BATCH,
  MAP_UPDATE_BATCH: BATCH,
  MAP_DELETE_BATCH: BATCH,
  PROG_LOAD: {
    size: 128,
    fields: {
      progType: [0, "u32"],
      insnCnt: [4, "u32"],
      insns: [8, "ptr"],
      license: [16, "ptr"],
      logLevel: [24, "u32"],
      logSize: [28, "u32"],
      logBuf: [32, "ptr"],
      kernVersion: [40, "u32"],
      progFlags: [44, "u32"],
      progName: [48, "name"],
      progIfindex: [64, "u32"],
      expectedAttachType: [68, "u32"],
      progBtfFd: [72, "u32"],
      funcInfoRecSize: [76, "u32"],
      funcInfo: [80, "ptr"],
      funcInfoCnt: [88, "u32"],
      lineInfoRecSize: [92, "u32"],
      lineInfo: [96, "ptr"],
      lineInfoCnt: [104, "u32"],
      attachBtfId: [108, "u32"],
      attachBtfObjFd: [112, "u32"],
      coreReloCnt: [116, "u32"],
      fdArray: [120, "ptr"],
      coreRelos: [128, "ptr"],
      coreReloRecSize: [136, "u32"],
      logTrueSize: [140, "u32"],
      progTokenFd: [144, "i32"],
      fdArrayCnt: [148, "u32"],
    },
  },
  OBJ_PIN: OBJ,
  OBJ_GET: OBJ,
  PROG_ATTACH: ATTACH,
  PROG_DETACH: ATTACH,
  PROG_TEST_RUN: {
    size: 72,
    fields: {
      progFd: [0, "u32"],
      retval: [4, "u32"],
      dataSizeIn: [8, "u32"],
      dataSizeOut: [12, "u32"],
      dataIn: [16, "ptr"],
      dataOut: [24, "ptr"],
      repeat: [32, "u32"],
      duration: [36, "u32"],
      ctxSizeIn: [40, "u32"],
      ctxSizeOut: [44, "u32"],
      ctxIn: [48, "ptr"],
      ctxOut: [56, "ptr"],
      flags: [64, "u32"],
      cpu: [68, "u32"],
      batchSize: [72, "u32"],
    },
  },
  PROG_GET_NEXT_ID: GET_ID,
  MAP_GET_NEXT_ID: GET_ID,
  PROG_GET_FD_BY_ID: GET_ID,
  MAP_GET_FD_BY_ID: GET_ID,
  BTF_GET_FD_BY_ID: GET_ID,
  BTF_GET_NEXT_ID: GET_ID,
  LINK_GET_FD_BY_ID: GET_ID,
  LINK_GET_NEXT_ID: GET_ID,
  OBJ_GET_INFO_BY_FD: {
    size: 16,
    fields: { bpfFd: [0, "u32"], infoLen: [4, "u32"], info: [8, "ptr"] },
  },
  PROG_QUERY: {
    size: 40,
    fields: {
      targetFd: [0, "u32"],
      attachType: [4, "u32"],
      queryFlags: [8, "u32"],
      attachFlags: [12, "u32"],
      progIds: [16, "ptr"],
      progCnt: [24, "u32"],
      progAttachFlags: [32, "ptr"],
      linkIds: [40, "ptr"],
      linkAttachFlags: [48, "ptr"],
      revision: [56, "u64"],
    },
  },
  RAW_TRACEPOINT_OPEN: {
    size: 12,
    fields: { name: [0, "ptr"], progFd: [8, "u32"], cookie: [16, "u64"] },
  },
  BTF_LOAD: {
    size: 28,
    fields: {
      btf: [0, "ptr"],
      btfLogBuf: [8, "ptr"],
      btfSize: [16, "u32"],
      btfLogSize: [20, "u32"],
      btfLogLevel: [24, "u32"],
      btfLogTrueSize: [28, "u32"],
      btfFlags: [32, "u32"],
      btfTokenFd: [36, "i32"],
    },
  },
  TASK_FD_QUERY: {
    size: 48,
    fields: {
      pid: [0, "u32"],
      fd: [4, "u32"],
      flags: [8, "u32"],
      bufLen: [12, "u32"],
      buf: [16, "ptr"],
      progId: [24, "u32"],
      fdType: [28, "u32"],
      probeOffset: [32, "u64"],
      probeAddr: [40, "u64"],
    },
  },
  LINK_CREATE: {
    size: 16,
    fields: {
      progFd: [0, "u32"],
      targetFd: [4, "u32"],
      attachType: [8, "u32"],
      flags: [12, "u32"],
      targetBtfId: [16, "u32"],
      iterInfo: [16, "ptr"],
      iterInfoLen: [24, "u32"],
      perfEventCookie: [16, "u64"],
      kprobeMultiFlags: [16, "u32"],
      kprobeMultiCnt: [20, "u32"],
      kprobeMultiSyms: [24, "ptr"],
      kprobeMultiAddrs: [32, "ptr"],
      kprobeMultiCookies: [40, "ptr"],
      tracingCookie: [24, "u64"],
      netfilterPf: [16, "u32"],
      netfilterHooknum: [20, "u32"],
      netfilterPriority: [24, "i32"],
      netfilterFlags: [28, "u32"],
      tcxRelative: [16, "u32"],
      tcxExpectedRevision: [24, "u64"],
      uprobeMultiPath: [16, "ptr"],
      uprobeMultiOffsets: [24, "ptr"],
      uprobeMultiRefCtrOffsets: [32, "ptr"],
      uprobeMultiCookies: [40, "ptr"],
      uprobeMultiCnt: [48, "u32"],
      uprobeMultiFlags: [52, "u32"],
      uprobeMultiPid: [56, "u32"],
    },
  },
  LINK_UPDATE: {
    size: 16,
    fields: {
      linkFd: [0, "u32"],
      newProgFd: [4, "u32"],
      flags: [8, "u32"],
      oldProgFd: [12, "u32"],
    },
  },
  LINK_DETACH: { size: 4, fields: { linkFd: [0, "u32"] } },
  ENABLE_STATS: { size: 4, fields: { type: [0, "u32"] } },
  ITER_CREATE: { size: 8, fields: { linkFd: [0, "u32"], flags: [4, "u32"] } },
  PROG_BIND_MAP: {
    size: 12,
    fields: { progFd: [0, "u32"], mapFd: [4, "u32"], flags: [8, "u32"] },
  },
};

const ATTR_MAX = 160;
const encoder = new TextEncoder();

/** The address of a buffer's first byte, as the kernel wants it in a `__u64` field. */
export function addressOf(buf: ArrayBufferView): bigint {
  if (buf.byteLength === 0) return 0n;
  const p = Deno.UnsafePointer.of(buf as Uint8Array<ArrayBuffer>);
  return p === null ? 0n : Deno.UnsafePointer.value(p);
}

/** A NUL-terminated copy of a string, for `char *` fields. */
export function cString(s: string): Uint8Array {
  if (s.includes("\0")) {
    throw new InvalidArgumentError(`string contains a NUL byte: ${JSON.stringify(s)}`);
  }
  const b = new Uint8Array(encoder.encode(s).length + 1);
  encoder.encodeInto(s, b);
  return b;
}

/** Encodes `attr` for command `cmd` into a fresh buffer; returns the buffer, its size and what keeps pointers alive. */
export function encodeAttr<C extends keyof BpfAttrMap>(
  cmd: C,
  attr: BpfAttrMap[C],
): { buf: Uint8Array; size: number; keep: unknown[] } {
  const layout = LAYOUTS[cmd];
  const buf = new Uint8Array(ATTR_MAX);
  const dv = new DataView(buf.buffer);
  const keep: unknown[] = [];
  let size = layout.size;
  for (const [name, value] of Object.entries(attr as unknown as Record<string, unknown>)) {
    if (value === undefined || value === null) continue;
    const field = layout.fields[name];
    if (field === undefined) {
      throw new InvalidArgumentError(
        `bpf(BPF_${cmd}): unknown attribute field ${JSON.stringify(name)}`,
      );
    }
    const [off, kind] = field;
    let width = 4;
    let nonzero = true;
    switch (kind) {
      case "u32":
      case "i32": {
        const n = Number(value);
        dv.setUint32(off, n >>> 0, true);
        nonzero = n !== 0;
        break;
      }
      case "u16":
        dv.setUint16(off, Number(value), true);
        width = 2;
        break;
      case "u64": {
        const n = BigInt(value as number | bigint);
        dv.setBigUint64(off, BigInt.asUintN(64, n), true);
        width = 8;
        nonzero = n !== 0n;
        break;
      }
      case "ptr": {
        let addr: bigint;
        if (typeof value === "bigint") addr = value;
        else if (typeof value === "string") {
          const s = cString(value);
          keep.push(s);
          addr = addressOf(s);
        } else if (ArrayBuffer.isView(value)) {
          keep.push(value);
          addr = addressOf(value);
        } else {
          throw new InvalidArgumentError(
            `bpf(BPF_${cmd}): field ${name} must be a buffer or address`,
          );
        }
        dv.setBigUint64(off, addr, true);
        width = 8;
        nonzero = addr !== 0n;
        break;
      }
      case "name": {
        const bytes = encoder.encode(String(value)).subarray(0, 15);
        buf.set(bytes, off);
        width = 16;
        nonzero = bytes.length > 0;
        break;
      }
    }
    // Fields past the command's base size only grow the attribute when set,
    // so older kernels, which reject unknown non-zero tails with E2BIG, still work.
    if (nonzero && off + width > size) size = off + width;
  }
  return { buf, size: (size + 7) & ~7, keep };
}

function decodeOutputs<C extends keyof BpfAttrMap>(cmd: C, attr: BpfAttrMap[C], buf: Uint8Array) {
  const out = OUTPUTS[cmd];
  if (!out) return;
  const dv = new DataView(buf.buffer);
  const rec = attr as unknown as Record<string, unknown>;
  for (const name of out) {
    const [off, kind] = LAYOUTS[cmd].fields[name];
    rec[name] = kind === "u64" ? dv.getBigUint64(off, true) : dv.getUint32(off, true);
  }
}

const OUTPUTS: Partial<Record<keyof BpfAttrMap, readonly string[]>> = {
  PROG_LOAD: ["logTrueSize"],
  PROG_TEST_RUN: ["retval", "duration", "dataSizeOut", "ctxSizeOut"],
  PROG_GET_NEXT_ID: ["nextId"],
  MAP_GET_NEXT_ID: ["nextId"],
  BTF_GET_NEXT_ID: ["nextId"],
  LINK_GET_NEXT_ID: ["nextId"],
  OBJ_GET_INFO_BY_FD: ["infoLen"],
  PROG_QUERY: ["attachFlags", "progCnt", "revision"],
  BTF_LOAD: ["btfLogTrueSize"],
  TASK_FD_QUERY: ["bufLen", "progId", "fdType", "probeOffset", "probeAddr"],
  MAP_LOOKUP_BATCH: ["count"],
  MAP_LOOKUP_AND_DELETE_BATCH: ["count"],
  MAP_UPDATE_BATCH: ["count"],
  MAP_DELETE_BATCH: ["count"],
};

/** The bpf(2) syscall number on this architecture. */
export const SYS_BPF: number = Deno.build.arch === "aarch64" ? 280 : 321;
const SYS_BPF_BIG = BigInt(SYS_BPF);
// Commands and attribute sizes as bigints, each made once, on first use:
// converting on every call allocates, which shows on the hot paths (map
// lookups). Sized up front so that the array keeps fast elements.
const SMALL_BIG: (bigint | undefined)[] = new Array(257);
function smallBig(n: number): bigint {
  return SMALL_BIG[n] ?? (n >= 0 && n <= 256 ? (SMALL_BIG[n] = BigInt(n)) : BigInt(n));
}

/**
 * The raw bpf(2) call on an already encoded attribute buffer. Returns the
 * result (≥ 0) or the negated errno: the hot paths (map lookups) use this to
 * avoid exceptions for "key not found".
 */
export function bpfRaw(cmd: number, attr: Uint8Array, size: number = attr.byteLength): number {
  const r = libc().syscallBufInt(
    SYS_BPF_BIG,
    smallBig(cmd),
    attr,
    smallBig(size),
  );
  return r < 0 ? -errno() : r;
}

/**
 * The cheapest bpf(2) call, for attributes preallocated once and reused
 * (map element operations): `attr` is the address of an off-heap buffer the
 * caller keeps alive (e.g. `Deno.UnsafePointer.of` of a region of an
 * `ArrayBuffer` it holds), and the command and size are bigints converted
 * once. Returns the result (≥ 0) or the negated errno, like
 * {@linkcode bpfRaw}.
 */
export function bpfRawAt(cmd: bigint, attr: Deno.PointerObject, size: bigint): number {
  const r = libc().syscallPtrInt(SYS_BPF_BIG, cmd, attr, size);
  return r < 0 ? -errno() : r;
}

/** Extra context for a failing bpf(2) call. */
export interface BpfCallOptions {
  /** Words appended to the error message that say what to do next. */
  hint?: string;
  /** Capabilities to name if the call fails with EPERM/EACCES. */
  capabilities?: readonly string[];
}

/**
 * Runs bpf(2) command `cmd` with attributes built from `attr`. Output fields
 * (such as `retval` of PROG_TEST_RUN) are written back into `attr`. Returns
 * the syscall's result (a new descriptor for the commands that create one).
 * Throws {@linkcode SyscallError} (or {@linkcode PermissionError}) on failure.
 *
 * @example
 * ```ts
 * const fd = bpf("MAP_CREATE", { mapType: 2, keySize: 4, valueSize: 8, maxEntries: 1 });
 * ```
 */
export function bpf<C extends keyof BpfAttrMap>(
  cmd: C,
  attr: BpfAttrMap[C],
  options?: BpfCallOptions,
): number {
  const { buf, size, keep } = encodeAttr(cmd, attr);
  const r = bpfRaw(BpfCmd[cmd], buf, size);
  keep.length = 0;
  decodeOutputs(cmd, attr, buf);
  if (r < 0) throw bpfError(cmd, -r, options);
  return r;
}

/** Like {@linkcode bpf} but returns the negated errno instead of throwing. */
export function bpfTry<C extends keyof BpfAttrMap>(cmd: C, attr: BpfAttrMap[C]): number {
  const { buf, size } = encodeAttr(cmd, attr);
  const r = bpfRaw(BpfCmd[cmd], buf, size);
  decodeOutputs(cmd, attr, buf);
  return r;
}

const DEFAULT_CAPS: Partial<Record<keyof BpfAttrMap, readonly string[]>> = {
  MAP_CREATE: ["CAP_BPF"],
  PROG_LOAD: ["CAP_BPF", "CAP_PERFMON (tracing) or CAP_NET_ADMIN (networking)"],
  BTF_LOAD: ["CAP_BPF"],
  PROG_GET_FD_BY_ID: ["CAP_SYS_ADMIN"],
  MAP_GET_FD_BY_ID: ["CAP_SYS_ADMIN"],
  BTF_GET_FD_BY_ID: ["CAP_SYS_ADMIN"],
  LINK_GET_FD_BY_ID: ["CAP_SYS_ADMIN"],
  PROG_GET_NEXT_ID: ["CAP_SYS_ADMIN"],
  MAP_GET_NEXT_ID: ["CAP_SYS_ADMIN"],
  BTF_GET_NEXT_ID: ["CAP_SYS_ADMIN"],
  LINK_GET_NEXT_ID: ["CAP_SYS_ADMIN"],
  PROG_ATTACH: ["CAP_NET_ADMIN or CAP_SYS_ADMIN"],
  PROG_QUERY: ["CAP_NET_ADMIN"],
  ENABLE_STATS: ["CAP_SYS_ADMIN"],
};

/** Builds the typed error for a failed bpf(2) command. */
export function bpfError(
  cmd: keyof BpfAttrMap,
  err: number,
  options: BpfCallOptions = {},
): SyscallError {
  const command = `BPF_${cmd}`;
  if (isPermissionErrno(err)) {
    return new PermissionError(
      "bpf",
      err,
      options.capabilities ?? DEFAULT_CAPS[cmd] ?? ["CAP_BPF"],
      {
        command,
        hint: options.hint,
      },
    );
  }
  return new SyscallError("bpf", err, { command, hint: options.hint });
}

/** True if `e` is a {@linkcode SyscallError} with the given errno. */
export function isErrno(e: unknown, no: number): e is SyscallError {
  return e instanceof SyscallError && e.errno === no;
}
