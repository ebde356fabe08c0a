/**
 * `struct bpf_link_info`: what the kernel reports about a link, decoded
 * into a plain object with the kind-specific part named after the link type.
 *
 * @module
 */

import { attachTypeName, LinkType, linkTypeName } from "../asm/types.ts";
import { layoutU32, LINK_INFO } from "../sys/abi.ts";
import { addressOf } from "../sys/bpf.ts";
import { objInfo } from "../sys/obj.ts";

/** Size of `struct bpf_link_info` as of Linux 6.18. */
export const LINK_INFO_SIZE: number = LINK_INFO.size;

/** `enum bpf_perf_event_type`: what a perf-event link is attached to. */
export const PerfEventType = {
  unspec: 0,
  uprobe: 1,
  uretprobe: 2,
  kprobe: 3,
  kretprobe: 4,
  tracepoint: 5,
  event: 6,
} as const;

/** The kind-specific fields of a perf-event link (tracepoint, kprobe, uprobe, perf event). */
export interface PerfEventLinkInfo {
  /** A name of {@linkcode PerfEventType}. */
  type: string;
  /** Tracepoint name, kprobe function or uprobe file. */
  name?: string;
  /** Probe offset (kprobe: into the function; uprobe: into the file). */
  offset?: number;
  /** kprobe address. */
  address?: bigint;
  /** kprobe missed count. */
  missed?: bigint;
  /** uprobe semaphore (reference counter) offset. */
  refCtrOffset?: bigint;
  /** perf event `config` and `type` (generic perf events). */
  config?: bigint;
  /** perf event `type` (generic perf events). */
  eventType?: number;
  /** The BPF cookie. */
  cookie: bigint;
}

/** What {@linkcode readLinkInfo} returns. */
export interface LinkInfo {
  /** Link type number (`enum bpf_link_type`). */
  type: number;
  /** Link type name, e.g. `"perf_event"`, `"xdp"`, `"tcx"`. */
  typeName: string;
  /** Kernel-wide link id. */
  id: number;
  /** Id of the attached program (0 after BPF_LINK_DETACH of some kinds). */
  progId: number;
  /** raw_tracepoint (and tp_btf) links. */
  rawTracepoint?: { name: string; cookie: bigint };
  /** fentry/fexit/fmod_ret/LSM/freplace links. */
  tracing?: {
    attachType: number;
    attachTypeName: string;
    targetObjId: number;
    targetBtfId: number;
    cookie: bigint;
  };
  /** cgroup links. */
  cgroup?: { cgroupId: bigint; attachType: number; attachTypeName: string };
  /** iterator links. */
  iter?: {
    targetName: string;
    mapId: number;
    cgroupId: bigint;
    cgroupOrder: number;
    tid: number;
    pid: number;
  };
  /** netns (sk_lookup, flow_dissector) links. */
  netns?: { netnsIno: number; attachType: number; attachTypeName: string };
  /** XDP links. */
  xdp?: { ifindex: number };
  /** struct_ops links. */
  structOps?: { mapId: number };
  /** netfilter links. */
  netfilter?: { pf: number; hooknum: number; priority: number; flags: number };
  /** kprobe_multi links. */
  kprobeMulti?: { count: number; flags: number; missed: bigint };
  /** uprobe_multi links. */
  uprobeMulti?: {
    path: string;
    offsets: bigint[];
    refCtrOffsets: bigint[];
    cookies: bigint[];
    count: number;
    flags: number;
    pid: number;
  };
  /** perf-event links (tracepoint, kprobe, uprobe, perf event). */
  perfEvent?: PerfEventLinkInfo;
  /** tcx links. */
  tcx?: { ifindex: number; attachType: number; attachTypeName: string };
  /** netkit links. */
  netkit?: { ifindex: number; attachType: number; attachTypeName: string };
  /** sockmap links. */
  sockmap?: { mapId: number; attachType: number; attachTypeName: string };
}

const NAME_LEN = 4096;
const decoder = new TextDecoder();

function cstr(b: Uint8Array, len = b.length): string {
  const part = b.subarray(0, Math.min(len, b.length));
  const end = part.indexOf(0);
  return decoder.decode(end < 0 ? part : part.subarray(0, end));
}

function raw(fd: number, fill?: (dv: DataView) => void): DataView {
  const buf = new Uint8Array(LINK_INFO_SIZE);
  const dv = new DataView(buf.buffer);
  fill?.(dv);
  objInfo(fd, buf);
  return dv;
}

function atName(n: number): string {
  return attachTypeName(n) ?? `attach type ${n}`;
}

/**
 * Reads `struct bpf_link_info` of the link behind `fd` (BPF_OBJ_GET_INFO_BY_FD),
 * with the names (tracepoint, iterator target, probed file) fetched in a
 * second call.
 */
export function readLinkInfo(fd: number): LinkInfo {
  let dv = raw(fd);
  const type = layoutU32(dv, LINK_INFO.fields.type);
  const info: LinkInfo = {
    type,
    typeName: linkTypeName(type) ?? `link type ${type}`,
    id: layoutU32(dv, LINK_INFO.fields.id),
    progId: layoutU32(dv, LINK_INFO.fields.progId),
  };
  const name = new Uint8Array(NAME_LEN);
  const u32 = (o: number) => dv.getUint32(o, true);
  const u64 = (o: number) => dv.getBigUint64(o, true);
  switch (type) {
    case LinkType.raw_tracepoint: {
      dv = raw(fd, (d) => {
        d.setBigUint64(16, addressOf(name), true);
        d.setUint32(24, NAME_LEN, true);
      });
      info.rawTracepoint = { name: cstr(name), cookie: u64(32) };
      break;
    }
    case LinkType.tracing:
      info.tracing = {
        attachType: u32(16),
        attachTypeName: atName(u32(16)),
        targetObjId: u32(20),
        targetBtfId: u32(24),
        cookie: u64(32),
      };
      break;
    case LinkType.cgroup:
      info.cgroup = { cgroupId: u64(16), attachType: u32(24), attachTypeName: atName(u32(24)) };
      break;
    case LinkType.iter: {
      dv = raw(fd, (d) => {
        d.setBigUint64(16, addressOf(name), true);
        d.setUint32(24, NAME_LEN, true);
      });
      info.iter = {
        targetName: cstr(name),
        mapId: u32(28),
        cgroupId: u64(32),
        cgroupOrder: u32(40),
        tid: u32(32),
        pid: u32(36),
      };
      break;
    }
    case LinkType.netns:
      info.netns = { netnsIno: u32(16), attachType: u32(20), attachTypeName: atName(u32(20)) };
      break;
    case LinkType.xdp:
      info.xdp = { ifindex: u32(16) };
      break;
    case LinkType.struct_ops:
      info.structOps = { mapId: u32(16) };
      break;
    case LinkType.netfilter:
      info.netfilter = {
        pf: u32(16),
        hooknum: u32(20),
        priority: dv.getInt32(24, true),
        flags: u32(28),
      };
      break;
    case LinkType.kprobe_multi:
      info.kprobeMulti = { count: u32(24), flags: u32(28), missed: u64(32) };
      break;
    case LinkType.uprobe_multi: {
      const count = u32(52);
      const offsets = new BigUint64Array(count);
      const refs = new BigUint64Array(count);
      const cookies = new BigUint64Array(count);
      dv = raw(fd, (d) => {
        d.setBigUint64(16, addressOf(name), true);
        d.setBigUint64(24, addressOf(offsets), true);
        d.setBigUint64(32, addressOf(refs), true);
        d.setBigUint64(40, addressOf(cookies), true);
        d.setUint32(48, NAME_LEN, true);
        d.setUint32(52, count, true);
      });
      info.uprobeMulti = {
        path: cstr(name, u32(48)),
        offsets: [...offsets],
        refCtrOffsets: [...refs],
        cookies: [...cookies],
        count,
        flags: u32(56),
        pid: u32(60),
      };
      break;
    }
    case LinkType.perf_event: {
      const pType = u32(16);
      const typeName = Object.entries(PerfEventType).find(([, v]) => v === pType)?.[0] ??
        `perf event type ${pType}`;
      if (pType === PerfEventType.event) {
        info.perfEvent = { type: typeName, config: u64(24), eventType: u32(32), cookie: u64(40) };
        break;
      }
      dv = raw(fd, (d) => {
        d.setBigUint64(24, addressOf(name), true);
        d.setUint32(32, NAME_LEN, true);
      });
      if (pType === PerfEventType.uprobe || pType === PerfEventType.uretprobe) {
        info.perfEvent = {
          type: typeName,
          name: cstr(name),
          offset: u32(36),
          cookie: u64(40),
          refCtrOffset: u64(48),
        };
      } else if (pType === PerfEventType.kprobe || pType === PerfEventType.kretprobe) {
        info.perfEvent = {
          type: typeName,
          name: cstr(name),
          offset: u32(36),
          address: u64(40),
          missed: u64(48),
          cookie: u64(56),
        };
      } else {
        info.perfEvent = { type: typeName, name: cstr(name), cookie: u64(40) };
      }
      break;
    }
    case LinkType.tcx:
      info.tcx = { ifindex: u32(16), attachType: u32(20), attachTypeName: atName(u32(20)) };
      break;
    case LinkType.netkit:
      info.netkit = { ifindex: u32(16), attachType: u32(20), attachTypeName: atName(u32(20)) };
      break;
    case LinkType.sockmap:
      info.sockmap = { mapId: u32(16), attachType: u32(20), attachTypeName: atName(u32(20)) };
      break;
  }
  return info;
}
