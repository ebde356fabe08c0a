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

/** bpf(2) command numbers (`enum bpf_cmd`). */
export const BpfCmd = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  OBJ_PIN: 6,
  OBJ_GET: 7,
  PROG_ATTACH: 8,
  PROG_DETACH: 9,
  PROG_TEST_RUN: 10,
  PROG_GET_NEXT_ID: 11,
  MAP_GET_NEXT_ID: 12,
  PROG_GET_FD_BY_ID: 13,
  MAP_GET_FD_BY_ID: 14,
  OBJ_GET_INFO_BY_FD: 15,
  PROG_QUERY: 16,
  RAW_TRACEPOINT_OPEN: 17,
  BTF_LOAD: 18,
  BTF_GET_FD_BY_ID: 19,
  TASK_FD_QUERY: 20,
  MAP_LOOKUP_AND_DELETE_ELEM: 21,
  MAP_FREEZE: 22,
  BTF_GET_NEXT_ID: 23,
  MAP_LOOKUP_BATCH: 24,
  MAP_LOOKUP_AND_DELETE_BATCH: 25,
  MAP_UPDATE_BATCH: 26,
  MAP_DELETE_BATCH: 27,
  LINK_CREATE: 28,
  LINK_UPDATE: 29,
  LINK_GET_FD_BY_ID: 30,
  LINK_GET_NEXT_ID: 31,
  ENABLE_STATS: 32,
  ITER_CREATE: 33,
  LINK_DETACH: 34,
  PROG_BIND_MAP: 35,
  TOKEN_CREATE: 36,
} as const;

/** A bpf(2) command name, e.g. `"MAP_CREATE"`. */
export type BpfCmdName = keyof typeof BpfCmd;

const CMD_NAMES: string[] = [];
for (const [k, v] of Object.entries(BpfCmd)) CMD_NAMES[v] = `BPF_${k}`;

/** The UAPI name of a command number, e.g. `"BPF_MAP_CREATE"`. */
export function bpfCmdName(cmd: number): string {
  return CMD_NAMES[cmd] ?? `BPF_CMD_${cmd}`;
}

/**
 * A pointer field of `union bpf_attr`: a buffer (its address is taken and it
 * is kept alive for the call), a raw address, or nothing (0).
 */
export type AttrPointer = Uint8Array | ArrayBufferView | bigint | null | undefined;

/** A 64-bit field: number or bigint. */
export type U64 = number | bigint;

type Kind = "u32" | "i32" | "u64" | "ptr" | "name" | "u16";
type Field = readonly [offset: number, kind: Kind];
type Layout = { readonly size: number; readonly fields: Readonly<Record<string, Field>> };

/** BPF_MAP_CREATE attributes. */
export interface MapCreateAttr {
  mapType: number;
  keySize: number;
  valueSize: number;
  maxEntries: number;
  mapFlags?: number;
  innerMapFd?: number;
  numaNode?: number;
  /** Up to 15 bytes; longer names are truncated. */
  mapName?: string;
  mapIfindex?: number;
  btfFd?: number;
  btfKeyTypeId?: number;
  btfValueTypeId?: number;
  btfVmlinuxValueTypeId?: number;
  mapExtra?: U64;
  valueTypeBtfObjFd?: number;
  mapTokenFd?: number;
}

/** BPF_MAP_{LOOKUP,UPDATE,DELETE}_ELEM, GET_NEXT_KEY, LOOKUP_AND_DELETE_ELEM, FREEZE. */
export interface MapElemAttr {
  mapFd: number;
  key?: AttrPointer;
  /** `value`, or `next_key` for GET_NEXT_KEY (same slot). */
  value?: AttrPointer;
  flags?: U64;
}

/** BPF_MAP_*_BATCH attributes. `count` is written back. */
export interface MapBatchAttr {
  inBatch?: AttrPointer;
  outBatch?: AttrPointer;
  keys?: AttrPointer;
  values?: AttrPointer;
  count: number;
  mapFd: number;
  elemFlags?: U64;
  flags?: U64;
}

/** BPF_PROG_LOAD attributes. `logTrueSize` is written back (6.4+). */
export interface ProgLoadAttr {
  progType: number;
  insnCnt: number;
  insns: AttrPointer;
  license: AttrPointer;
  logLevel?: number;
  logSize?: number;
  logBuf?: AttrPointer;
  kernVersion?: number;
  progFlags?: number;
  progName?: string;
  progIfindex?: number;
  expectedAttachType?: number;
  progBtfFd?: number;
  funcInfoRecSize?: number;
  funcInfo?: AttrPointer;
  funcInfoCnt?: number;
  lineInfoRecSize?: number;
  lineInfo?: AttrPointer;
  lineInfoCnt?: number;
  attachBtfId?: number;
  /** `attach_prog_fd` or `attach_btf_obj_fd` (same slot). */
  attachBtfObjFd?: number;
  coreReloCnt?: number;
  fdArray?: AttrPointer;
  coreRelos?: AttrPointer;
  coreReloRecSize?: number;
  logTrueSize?: number;
  progTokenFd?: number;
  fdArrayCnt?: number;
}

/** BPF_OBJ_PIN / BPF_OBJ_GET attributes. */
export interface ObjAttr {
  pathname: string | AttrPointer;
  bpfFd?: number;
  fileFlags?: number;
  pathFd?: number;
}

/** BPF_PROG_ATTACH / BPF_PROG_DETACH attributes. */
export interface ProgAttachAttr {
  /** `target_fd` or `target_ifindex`. */
  targetFd: number;
  attachBpfFd?: number;
  attachType: number;
  attachFlags?: number;
  replaceBpfFd?: number;
  /** `relative_fd` or `relative_id` (6.6+). */
  relativeFd?: number;
  expectedRevision?: U64;
}

/** BPF_PROG_TEST_RUN attributes; `retval`, `duration`, sizes out are written back. */
export interface TestRunAttr {
  progFd: number;
  retval?: number;
  dataSizeIn?: number;
  dataSizeOut?: number;
  dataIn?: AttrPointer;
  dataOut?: AttrPointer;
  repeat?: number;
  duration?: number;
  ctxSizeIn?: number;
  ctxSizeOut?: number;
  ctxIn?: AttrPointer;
  ctxOut?: AttrPointer;
  flags?: number;
  cpu?: number;
  batchSize?: number;
}

/** BPF_*_GET_NEXT_ID and BPF_*_GET_FD_BY_ID attributes; `nextId` is written back. */
export interface GetIdAttr {
  /** `start_id`, `prog_id`, `map_id`, `btf_id` or `link_id` (same slot). */
  id: number;
  nextId?: number;
  openFlags?: number;
}

/** BPF_OBJ_GET_INFO_BY_FD attributes; `infoLen` is written back. */
export interface InfoAttr {
  bpfFd: number;
  infoLen: number;
  info: AttrPointer;
}

/** BPF_PROG_QUERY attributes; `attachFlags`, `progCnt`, `revision` are written back. */
export interface ProgQueryAttr {
  targetFd: number;
  attachType: number;
  queryFlags?: number;
  attachFlags?: number;
  progIds?: AttrPointer;
  progCnt?: number;
  progAttachFlags?: AttrPointer;
  linkIds?: AttrPointer;
  linkAttachFlags?: AttrPointer;
  revision?: U64;
}

/** BPF_RAW_TRACEPOINT_OPEN attributes. */
export interface RawTracepointAttr {
  name: string | AttrPointer;
  progFd: number;
  cookie?: U64;
}

/** BPF_BTF_LOAD attributes; `btfLogTrueSize` is written back. */
export interface BtfLoadAttr {
  btf: AttrPointer;
  btfLogBuf?: AttrPointer;
  btfSize: number;
  btfLogSize?: number;
  btfLogLevel?: number;
  btfLogTrueSize?: number;
  btfFlags?: number;
  btfTokenFd?: number;
}

/** BPF_TASK_FD_QUERY attributes; the output fields are written back. */
export interface TaskFdQueryAttr {
  pid: number;
  fd: number;
  flags?: number;
  bufLen?: number;
  buf?: AttrPointer;
  progId?: number;
  fdType?: number;
  probeOffset?: U64;
  probeAddr?: U64;
}

/**
 * BPF_LINK_CREATE attributes. The kind-specific part of the attribute is a
 * union; its members are named after the link kind.
 */
export interface LinkCreateAttr {
  progFd: number;
  /** `target_fd` or `target_ifindex`. */
  targetFd?: number;
  attachType: number;
  flags?: number;
  targetBtfId?: number;
  iterInfo?: AttrPointer;
  iterInfoLen?: number;
  perfEventCookie?: U64;
  kprobeMultiFlags?: number;
  kprobeMultiCnt?: number;
  kprobeMultiSyms?: AttrPointer;
  kprobeMultiAddrs?: AttrPointer;
  kprobeMultiCookies?: AttrPointer;
  tracingCookie?: U64;
  netfilterPf?: number;
  netfilterHooknum?: number;
  netfilterPriority?: number;
  netfilterFlags?: number;
  /** tcx/netkit `relative_fd` or `relative_id`. */
  tcxRelative?: number;
  tcxExpectedRevision?: U64;
  uprobeMultiPath?: string | AttrPointer;
  uprobeMultiOffsets?: AttrPointer;
  uprobeMultiRefCtrOffsets?: AttrPointer;
  uprobeMultiCookies?: AttrPointer;
  uprobeMultiCnt?: number;
  uprobeMultiFlags?: number;
  uprobeMultiPid?: number;
}

/** BPF_LINK_UPDATE attributes. */
export interface LinkUpdateAttr {
  linkFd: number;
  newProgFd: number;
  flags?: number;
  oldProgFd?: number;
}

/** BPF_LINK_DETACH attributes. */
export interface LinkDetachAttr {
  linkFd: number;
}

/** BPF_ENABLE_STATS attributes. */
export interface EnableStatsAttr {
  type: number;
}

/** BPF_ITER_CREATE attributes. */
export interface IterCreateAttr {
  linkFd: number;
  flags?: number;
}

/** BPF_PROG_BIND_MAP attributes. */
export interface ProgBindMapAttr {
  progFd: number;
  mapFd: number;
  flags?: number;
}

/** Which attribute object each command takes. */
export interface BpfAttrMap {
  MAP_CREATE: MapCreateAttr;
  MAP_LOOKUP_ELEM: MapElemAttr;
  MAP_UPDATE_ELEM: MapElemAttr;
  MAP_DELETE_ELEM: MapElemAttr;
  MAP_GET_NEXT_KEY: MapElemAttr;
  PROG_LOAD: ProgLoadAttr;
  OBJ_PIN: ObjAttr;
  OBJ_GET: ObjAttr;
  PROG_ATTACH: ProgAttachAttr;
  PROG_DETACH: ProgAttachAttr;
  PROG_TEST_RUN: TestRunAttr;
  PROG_GET_NEXT_ID: GetIdAttr;
  MAP_GET_NEXT_ID: GetIdAttr;
  PROG_GET_FD_BY_ID: GetIdAttr;
  MAP_GET_FD_BY_ID: GetIdAttr;
  OBJ_GET_INFO_BY_FD: InfoAttr;
  PROG_QUERY: ProgQueryAttr;
  RAW_TRACEPOINT_OPEN: RawTracepointAttr;
  BTF_LOAD: BtfLoadAttr;
  BTF_GET_FD_BY_ID: GetIdAttr;
  TASK_FD_QUERY: TaskFdQueryAttr;
  MAP_LOOKUP_AND_DELETE_ELEM: MapElemAttr;
  MAP_FREEZE: MapElemAttr;
  BTF_GET_NEXT_ID: GetIdAttr;
  MAP_LOOKUP_BATCH: MapBatchAttr;
  MAP_LOOKUP_AND_DELETE_BATCH: MapBatchAttr;
  MAP_UPDATE_BATCH: MapBatchAttr;
  MAP_DELETE_BATCH: MapBatchAttr;
  LINK_CREATE: LinkCreateAttr;
  LINK_UPDATE: LinkUpdateAttr;
  LINK_GET_FD_BY_ID: GetIdAttr;
  LINK_GET_NEXT_ID: GetIdAttr;
  ENABLE_STATS: EnableStatsAttr;
  ITER_CREATE: IterCreateAttr;
  LINK_DETACH: LinkDetachAttr;
  PROG_BIND_MAP: ProgBindMapAttr;
}

const ELEM: Layout = {
  size: 32,
  fields: { mapFd: [0, "u32"], key: [8, "ptr"], value: [16, "ptr"], flags: [24, "u64"] },
};
const BATCH: Layout = {
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
const GET_ID: Layout = {
  size: 12,
  fields: { id: [0, "u32"], nextId: [4, "u32"], openFlags: [8, "u32"] },
};
const OBJ: Layout = {
  size: 16,
  fields: { pathname: [0, "ptr"], bpfFd: [8, "u32"], fileFlags: [12, "u32"], pathFd: [16, "i32"] },
};
const ATTACH: Layout = {
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
export const LAYOUTS: { readonly [C in keyof BpfAttrMap]: Layout } = {
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
// Commands and attribute sizes as bigints, made once: converting on every
// call allocates, which shows on the hot paths (map lookups).
const SMALL_BIG: readonly bigint[] = Array.from({ length: 257 }, (_, i) => BigInt(i));

/**
 * The raw bpf(2) call on an already encoded attribute buffer. Returns the
 * result (≥ 0) or the negated errno: the hot paths (map lookups) use this to
 * avoid exceptions for "key not found".
 */
export function bpfRaw(cmd: number, attr: Uint8Array, size: number = attr.byteLength): number {
  const r = libc().syscallBufInt(
    SYS_BPF_BIG,
    SMALL_BIG[cmd] ?? BigInt(cmd),
    attr,
    SMALL_BIG[size] ?? BigInt(size),
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
