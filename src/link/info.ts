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
/** The `struct bpf_link_info` layout (src/sys/abi.ts). */
const L = LINK_INFO.fields;
type LinkInfoField = keyof typeof LINK_INFO.fields;
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
  const u32 = (f: LinkInfoField) => dv.getUint32(L[f][0], true);
  const u64 = (f: LinkInfoField) => dv.getBigUint64(L[f][0], true);
  const at = (f: LinkInfoField) => L[f][0];
  switch (type) {
    case LinkType.raw_tracepoint: {
      dv = raw(fd, (d) => {
        d.setBigUint64(at("rawTracepoint.tpName"), addressOf(name), true);
        d.setUint32(at("rawTracepoint.tpNameLen"), NAME_LEN, true);
      });
      info.rawTracepoint = { name: cstr(name), cookie: u64("rawTracepoint.cookie") };
      break;
    }
    case LinkType.tracing:
      info.tracing = {
        attachType: u32("tracing.attachType"),
        attachTypeName: atName(u32("tracing.attachType")),
        targetObjId: u32("tracing.targetObjId"),
        targetBtfId: u32("tracing.targetBtfId"),
        cookie: u64("tracing.cookie"),
      };
      break;
    case LinkType.cgroup:
      info.cgroup = {
        cgroupId: u64("cgroup.cgroupId"),
        attachType: u32("cgroup.attachType"),
        attachTypeName: atName(u32("cgroup.attachType")),
      };
      break;
    case LinkType.iter: {
      dv = raw(fd, (d) => {
        d.setBigUint64(at("iter.targetName"), addressOf(name), true);
        d.setUint32(at("iter.targetNameLen"), NAME_LEN, true);
      });
      info.iter = {
        targetName: cstr(name),
        mapId: u32("iter.map.mapId"),
        cgroupId: u64("iter.cgroup.cgroupId"),
        cgroupOrder: u32("iter.cgroup.order"),
        tid: u32("iter.task.tid"),
        pid: u32("iter.task.pid"),
      };
      break;
    }
    case LinkType.netns:
      info.netns = {
        netnsIno: u32("netns.netnsIno"),
        attachType: u32("netns.attachType"),
        attachTypeName: atName(u32("netns.attachType")),
      };
      break;
    case LinkType.xdp:
      info.xdp = { ifindex: u32("xdp.ifindex") };
      break;
    case LinkType.struct_ops:
      info.structOps = { mapId: u32("structOps.mapId") };
      break;
    case LinkType.netfilter:
      info.netfilter = {
        pf: u32("netfilter.pf"),
        hooknum: u32("netfilter.hooknum"),
        priority: dv.getInt32(at("netfilter.priority"), true),
        flags: u32("netfilter.flags"),
      };
      break;
    case LinkType.kprobe_multi:
      info.kprobeMulti = {
        count: u32("kprobeMulti.count"),
        flags: u32("kprobeMulti.flags"),
        missed: u64("kprobeMulti.missed"),
      };
      break;
    case LinkType.uprobe_multi: {
      const count = u32("uprobeMulti.count");
      const offsets = new BigUint64Array(count);
      const refs = new BigUint64Array(count);
      const cookies = new BigUint64Array(count);
      dv = raw(fd, (d) => {
        d.setBigUint64(at("uprobeMulti.path"), addressOf(name), true);
        d.setBigUint64(at("uprobeMulti.offsets"), addressOf(offsets), true);
        d.setBigUint64(at("uprobeMulti.refCtrOffsets"), addressOf(refs), true);
        d.setBigUint64(at("uprobeMulti.cookies"), addressOf(cookies), true);
        d.setUint32(at("uprobeMulti.pathSize"), NAME_LEN, true);
        d.setUint32(at("uprobeMulti.count"), count, true);
      });
      info.uprobeMulti = {
        path: cstr(name, u32("uprobeMulti.pathSize")),
        offsets: [...offsets],
        refCtrOffsets: [...refs],
        cookies: [...cookies],
        count,
        flags: u32("uprobeMulti.flags"),
        pid: u32("uprobeMulti.pid"),
      };
      break;
    }
    case LinkType.perf_event: {
      const pType = u32("perfEvent.type");
      const typeName = Object.entries(PerfEventType).find(([, v]) => v === pType)?.[0] ??
        `perf event type ${pType}`;
      if (pType === PerfEventType.event) {
        info.perfEvent = {
          type: typeName,
          config: u64("perfEvent.event.config"),
          eventType: u32("perfEvent.event.type"),
          cookie: u64("perfEvent.event.cookie"),
        };
        break;
      }
      // file_name, func_name and tp_name share one slot, as do their name_len.
      dv = raw(fd, (d) => {
        d.setBigUint64(at("perfEvent.uprobe.fileName"), addressOf(name), true);
        d.setUint32(at("perfEvent.uprobe.nameLen"), NAME_LEN, true);
      });
      if (pType === PerfEventType.uprobe || pType === PerfEventType.uretprobe) {
        info.perfEvent = {
          type: typeName,
          name: cstr(name),
          offset: u32("perfEvent.uprobe.offset"),
          cookie: u64("perfEvent.uprobe.cookie"),
          refCtrOffset: u64("perfEvent.uprobe.refCtrOffset"),
        };
      } else if (pType === PerfEventType.kprobe || pType === PerfEventType.kretprobe) {
        info.perfEvent = {
          type: typeName,
          name: cstr(name),
          offset: u32("perfEvent.kprobe.offset"),
          address: u64("perfEvent.kprobe.addr"),
          missed: u64("perfEvent.kprobe.missed"),
          cookie: u64("perfEvent.kprobe.cookie"),
        };
      } else {
        info.perfEvent = {
          type: typeName,
          name: cstr(name),
          cookie: u64("perfEvent.tracepoint.cookie"),
        };
      }
      break;
    }
    case LinkType.tcx:
      info.tcx = {
        ifindex: u32("tcx.ifindex"),
        attachType: u32("tcx.attachType"),
        attachTypeName: atName(u32("tcx.attachType")),
      };
      break;
    case LinkType.netkit:
      info.netkit = {
        ifindex: u32("netkit.ifindex"),
        attachType: u32("netkit.attachType"),
        attachTypeName: atName(u32("netkit.attachType")),
      };
      break;
    case LinkType.sockmap:
      info.sockmap = {
        mapId: u32("sockmap.mapId"),
        attachType: u32("sockmap.attachType"),
        attachTypeName: atName(u32("sockmap.attachType")),
      };
      break;
  }
  return info;
}
