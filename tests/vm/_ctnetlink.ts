// A minimal ctnetlink client for the guest tests: create, get, dump and flush
// conntrack entries over a NETLINK_NETFILTER socket (the library's netlink
// helper, src/link/_netlink.ts). A dump (IPCTNL_MSG_CT_GET with NLM_F_DUMP)
// makes the kernel call nf_conntrack_netlink's ctnetlink_fill_info once per
// entry, and every IPCTNL_MSG_CT_GET goes through ctnetlink_get_conntrack:
// that is how the tests make the module's functions run.
//
// Numbers from linux/netlink.h, linux/netfilter/nfnetlink.h and
// linux/netfilter/nfnetlink_conntrack.h. Conntrack attributes are in
// network byte order (big endian); netlink headers are in host order.

import {
  type Attr,
  NetlinkSocket,
  NLM_F_CREATE,
  NLM_F_EXCL,
  parseAttrs,
} from "../../src/link/_netlink.ts";

const AF_INET = 2;
const NETLINK_NETFILTER = 12;

const NLM_F_DUMP = 0x300; // NLM_F_ROOT | NLM_F_MATCH

const NFNL_SUBSYS_CTNETLINK = 1;
const IPCTNL_MSG_CT_NEW = 0;
const IPCTNL_MSG_CT_GET = 1;
const IPCTNL_MSG_CT_DELETE = 2;

const CTA_TUPLE_ORIG = 1;
const CTA_TUPLE_REPLY = 2;
const CTA_TIMEOUT = 7;
const CTA_MARK = 8;
const CTA_ID = 12;
const CTA_TIMESTAMP = 20;
const CTA_TUPLE_IP = 1;
const CTA_TUPLE_PROTO = 2;
const CTA_IP_V4_SRC = 1;
const CTA_IP_V4_DST = 2;
const CTA_PROTO_NUM = 1;
const CTA_PROTO_SRC_PORT = 2;
const CTA_PROTO_DST_PORT = 3;
const CTA_TIMESTAMP_START = 1;

/** IPPROTO_UDP. */
export const IPPROTO_UDP = 17;

function be(bytes: number, v: bigint | number): Uint8Array {
  const b = new Uint8Array(bytes);
  let x = BigInt(v);
  for (let i = bytes - 1; i >= 0; i--) {
    b[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return b;
}

function readBe(b: Uint8Array): bigint {
  let x = 0n;
  for (const byte of b) x = (x << 8n) | BigInt(byte);
  return x;
}

function ipv4(addr: string): Uint8Array {
  const parts = addr.split(".").map(Number);
  if (parts.length !== 4 || parts.some((p) => !(p >= 0 && p <= 255))) {
    throw new Error(`not an IPv4 address: ${addr}`);
  }
  return new Uint8Array(parts);
}

/** A UDP flow over IPv4: the original direction; the reply is its mirror. */
export interface Flow {
  src: string;
  dst: string;
  sport: number;
  dport: number;
}

/** What a dump reports of one entry. */
export interface ConntrackEntry {
  /** CTA_ID: the kernel's id of the entry. */
  id: number;
  /** CTA_MARK (CONFIG_NF_CONNTRACK_MARK). */
  mark?: number;
  /** CTA_TIMESTAMP_START in ns (with net.netfilter.nf_conntrack_timestamp = 1). */
  start?: bigint;
}

function tuple(src: string, dst: string, sport: number, dport: number): Attr[] {
  return [
    [CTA_TUPLE_IP, [[CTA_IP_V4_SRC, ipv4(src)], [CTA_IP_V4_DST, ipv4(dst)]]],
    [CTA_TUPLE_PROTO, [
      [CTA_PROTO_NUM, new Uint8Array([IPPROTO_UDP])],
      [CTA_PROTO_SRC_PORT, be(2, sport)],
      [CTA_PROTO_DST_PORT, be(2, dport)],
    ]],
  ];
}

/** A NETLINK_NETFILTER socket talking to ctnetlink (nf_conntrack_netlink). */
export class Ctnetlink implements Disposable {
  readonly #nl = new NetlinkSocket({ protocol: NETLINK_NETFILTER, label: "ctnetlink socket" });

  /** Sends one request and returns the replies' payloads (after nfgenmsg) up to ACK/DONE. */
  #request(msgType: number, flags: number, attrs: Attr[], what: string): Uint8Array[] {
    // struct nfgenmsg: family, version (NFNETLINK_V0), res_id (be16)
    const nfgenmsg = new Uint8Array([AF_INET, 0, 0, 0]);
    const type = (NFNL_SUBSYS_CTNETLINK << 8) | msgType;
    return this.#nl.request(type, flags, nfgenmsg, attrs, what).map((m) => m.payload.subarray(4));
  }

  /** Creates a UDP entry for `flow` (IPCTNL_MSG_CT_NEW with NLM_F_CREATE | NLM_F_EXCL). */
  create(flow: Flow, options: { timeout?: number; mark?: number } = {}): void {
    const attrs: Attr[] = [
      [CTA_TUPLE_ORIG, tuple(flow.src, flow.dst, flow.sport, flow.dport)],
      [CTA_TUPLE_REPLY, tuple(flow.dst, flow.src, flow.dport, flow.sport)],
      [CTA_TIMEOUT, be(4, options.timeout ?? 600)],
    ];
    if (options.mark !== undefined) attrs.push([CTA_MARK, be(4, options.mark)]);
    this.#request(
      IPCTNL_MSG_CT_NEW,
      NLM_F_CREATE | NLM_F_EXCL,
      attrs,
      `IPCTNL_MSG_CT_NEW ${flow.src}:${flow.sport} -> ${flow.dst}:${flow.dport}`,
    );
  }

  /** Looks up one entry by its original tuple (IPCTNL_MSG_CT_GET without NLM_F_DUMP). */
  get(flow: Flow): ConntrackEntry {
    const replies = this.#request(
      IPCTNL_MSG_CT_GET,
      0,
      [[CTA_TUPLE_ORIG, tuple(flow.src, flow.dst, flow.sport, flow.dport)]],
      "IPCTNL_MSG_CT_GET",
    );
    if (replies.length !== 1) throw new Error(`IPCTNL_MSG_CT_GET: ${replies.length} replies`);
    return entry(replies[0]);
  }

  /** Every IPv4 entry (IPCTNL_MSG_CT_GET with NLM_F_DUMP): one ctnetlink_fill_info each. */
  dump(): ConntrackEntry[] {
    return this.#request(IPCTNL_MSG_CT_GET, NLM_F_DUMP, [], "IPCTNL_MSG_CT_GET dump").map(entry);
  }

  /** Deletes every IPv4 entry (IPCTNL_MSG_CT_DELETE without a tuple). */
  flush(): void {
    this.#request(IPCTNL_MSG_CT_DELETE, 0, [], "IPCTNL_MSG_CT_DELETE flush");
  }

  close(): void {
    this.#nl.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

function entry(payload: Uint8Array): ConntrackEntry {
  const a = parseAttrs(payload);
  const id = a.get(CTA_ID);
  const mark = a.get(CTA_MARK);
  const ts = a.get(CTA_TIMESTAMP);
  const start = ts ? parseAttrs(ts).get(CTA_TIMESTAMP_START) : undefined;
  return {
    id: id ? Number(readBe(id)) : 0,
    mark: mark ? Number(readBe(mark)) : undefined,
    start: start ? readBe(start) : undefined,
  };
}

/** `count` distinct flows from 127.0.0.1 to 127.0.0.2, source ports from `firstPort`. */
export function flows(count: number, firstPort = 40000): Flow[] {
  return Array.from({ length: count }, (_, i) => ({
    src: "127.0.0.1",
    dst: "127.0.0.2",
    sport: firstPort + i,
    dport: 5353,
  }));
}
