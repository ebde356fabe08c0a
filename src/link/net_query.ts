/**
 * Reading back what is attached to network interfaces over rtnetlink:
 * interfaces with their XDP state (RTM_GETLINK), qdiscs and classes
 * (RTM_GETQDISC, RTM_GETTCLASS) and the `bpf` filters under a parent
 * (RTM_GETTFILTER), each as the kernel reports it, in the caller's network
 * namespace. The CLI's `net list` is built on these.
 *
 * @module
 */

import { type NetlinkSocket, parseAttrs, withNetlink } from "./_netlink.ts";

const NLM_F_DUMP = 0x300;
const RTM_GETLINK = 18;
const RTM_GETQDISC = 38;
const RTM_GETTCLASS = 42;
const RTM_GETTFILTER = 46;
const AF_PACKET = 17;
const IFLA_IFNAME = 3;
const IFLA_XDP = 43;
const TCA_KIND = 1;
const TCA_OPTIONS = 2;

/** An interface and its XDP attributes (`IFLA_XDP_*`), as RTM_GETLINK reports them. */
export interface NetInterface {
  /** The interface index. */
  ifindex: number;
  /** `IFLA_IFNAME`, if the kernel sent it. */
  name?: string;
  /** `IFLA_XDP_ATTACHED` (0 none, 1 driver, 2 generic, 3 offload, 4 several). */
  xdpAttached: number;
  /** `IFLA_XDP_PROG_ID`. */
  xdpProgId?: number;
  /** `IFLA_XDP_DRV_PROG_ID`. */
  xdpDrvProgId?: number;
  /** `IFLA_XDP_SKB_PROG_ID`. */
  xdpSkbProgId?: number;
  /** `IFLA_XDP_HW_PROG_ID`. */
  xdpHwProgId?: number;
}

/** A qdisc or class: its handle and kind (`TCA_KIND`). */
export interface TcObject {
  /** `tcm_ifindex`. */
  ifindex: number;
  /** `tcm_handle`. */
  handle: number;
  /** `TCA_KIND`, if sent. */
  kind?: string;
}

/** A tc action of a `bpf` filter (`TCA_BPF_ACT`), by priority. */
export interface TcBpfAction {
  /** `TCA_ACT_KIND`. */
  kind?: string;
  /** For `bpf` actions: `TCA_ACT_BPF_NAME`. */
  name?: string;
  /** For `bpf` actions: `TCA_ACT_BPF_ID`. */
  id?: number;
  /** For `bpf` actions: whether `TCA_ACT_BPF_PARMS` is there. */
  parms?: boolean;
}

/** A tc filter; `bpf` ones with their program's name and id. */
export interface TcFilter {
  /** `TCA_KIND`, e.g. `"bpf"`. */
  kind?: string;
  /** Whether the filter has `TCA_OPTIONS`. */
  options: boolean;
  /** `TCA_BPF_NAME`. */
  name?: string;
  /** `TCA_BPF_ID`. */
  id?: number;
  /** `TCA_BPF_ACT`: its actions by priority slot (0–32), when present. */
  actions?: (TcBpfAction | undefined)[];
}

const decoder = new TextDecoder();

function cstr(b: Uint8Array | undefined): string | undefined {
  if (!b) return undefined;
  const end = b.indexOf(0);
  return decoder.decode(end < 0 ? b : b.subarray(0, end));
}

function u32(b: Uint8Array | undefined): number | undefined {
  return b && b.length >= 4
    ? new DataView(b.buffer, b.byteOffset, 4).getUint32(0, true)
    : undefined;
}

function dump(nl: NetlinkSocket, type: number, header: Uint8Array, what: string) {
  return nl.request(type, NLM_F_DUMP, header, [], what);
}

/** Every interface of the caller's network namespace, in the kernel's order. */
export function netInterfaces(nl: NetlinkSocket): NetInterface[] {
  const ifi = new Uint8Array(16);
  ifi[0] = AF_PACKET;
  return dump(nl, RTM_GETLINK, ifi, "RTM_GETLINK").flatMap((m) => {
    if (m.type !== 16 /* RTM_NEWLINK */ || m.payload.length < 16) return [];
    const ifindex = new DataView(m.payload.buffer, m.payload.byteOffset).getInt32(4, true);
    const attrs = parseAttrs(m.payload.subarray(16));
    const xdp = attrs.get(IFLA_XDP);
    const x = xdp ? parseAttrs(xdp) : new Map<number, Uint8Array>();
    return [{
      ifindex,
      name: cstr(attrs.get(IFLA_IFNAME)),
      xdpAttached: x.get(2)?.[0] ?? 0,
      xdpProgId: u32(x.get(4)),
      xdpDrvProgId: u32(x.get(5)),
      xdpSkbProgId: u32(x.get(6)),
      xdpHwProgId: u32(x.get(7)),
    }];
  });
}

function tcmsg(ifindex: number, parent = 0): Uint8Array {
  const b = new Uint8Array(20);
  const dv = new DataView(b.buffer);
  dv.setInt32(4, ifindex, true);
  dv.setUint32(12, parent, true);
  return b;
}

function tcObjects(nl: NetlinkSocket, type: number, ifindex: number, what: string): TcObject[] {
  return dump(nl, type, tcmsg(ifindex), what).flatMap((m) => {
    if (m.payload.length < 20) return [];
    const dv = new DataView(m.payload.buffer, m.payload.byteOffset);
    const attrs = parseAttrs(m.payload.subarray(20));
    return [{
      ifindex: dv.getInt32(4, true),
      handle: dv.getUint32(8, true),
      kind: cstr(attrs.get(TCA_KIND)),
    }];
  });
}

/** The qdiscs an RTM_GETQDISC dump for `ifindex` returns (the kernel lists every device's). */
export function tcQdiscs(nl: NetlinkSocket, ifindex: number): TcObject[] {
  return tcObjects(nl, RTM_GETQDISC, ifindex, "RTM_GETQDISC");
}

/** The classes of interface `ifindex`. */
export function tcClasses(nl: NetlinkSocket, ifindex: number): TcObject[] {
  return tcObjects(nl, RTM_GETTCLASS, ifindex, "RTM_GETTCLASS");
}

function bpfAction(b: Uint8Array | undefined): TcBpfAction | undefined {
  if (!b) return undefined;
  const a = parseAttrs(b);
  const kind = cstr(a.get(1));
  if (kind !== "bpf") return { kind };
  const opts = a.get(2);
  const o = opts ? parseAttrs(opts) : new Map<number, Uint8Array>();
  return { kind, parms: o.has(2), name: cstr(o.get(6)), id: u32(o.get(9)) };
}

/** The filters of interface `ifindex` under `parent` (empty where the parent does not exist). */
export function tcFilters(nl: NetlinkSocket, ifindex: number, parent: number): TcFilter[] {
  return dump(nl, RTM_GETTFILTER, tcmsg(ifindex, parent), "RTM_GETTFILTER").flatMap((m) => {
    if (m.payload.length < 20) return [];
    const attrs = parseAttrs(m.payload.subarray(20));
    const kind = cstr(attrs.get(TCA_KIND));
    const options = attrs.get(TCA_OPTIONS);
    const f: TcFilter = { kind, options: options !== undefined };
    if (options && kind === "bpf") {
      const o = parseAttrs(options);
      f.name = cstr(o.get(7));
      f.id = u32(o.get(11));
      const act = o.get(1);
      if (act) {
        const slots = parseAttrs(act);
        f.actions = Array.from({ length: 33 }, (_, i) => bpfAction(slots.get(i)));
      }
    }
    return [f];
  });
}

/** An rtnetlink socket of the caller's network namespace (see {@linkcode withRtnetlink}). */
export type { NetlinkSocket };

/** Runs `fn` with a fresh rtnetlink socket, closed afterwards. */
export function withRtnetlink<T>(fn: (nl: NetlinkSocket) => T): T {
  return withNetlink(fn);
}
