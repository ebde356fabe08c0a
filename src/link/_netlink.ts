// A minimal netlink client over a raw AF_NETLINK socket (socket, bind,
// sendto, recv through the C library): request/ack with attributes, enough
// for XDP on a link (RTM_SETLINK) and tc clsact qdiscs and bpf filters over
// rtnetlink (the VM tests also talk to ctnetlink with it).
// Numbers from linux/netlink.h, linux/rtnetlink.h, linux/if_link.h,
// linux/pkt_sched.h, linux/pkt_cls.h.

import { errno, libc } from "../sys/_libc.ts";
import { SyscallError } from "../sys/error.ts";
import { FD } from "../sys/fd.ts";

export const AF_NETLINK = 16;
const SOCK_RAW = 3;
const SOCK_CLOEXEC = 0o2000000;
export const NETLINK_ROUTE = 0;

export const NLM_F_REQUEST = 0x1;
export const NLM_F_ACK = 0x4;
export const NLM_F_ECHO = 0x8;
export const NLM_F_REPLACE = 0x100;
export const NLM_F_EXCL = 0x200;
export const NLM_F_CREATE = 0x400;
export const NLMSG_ERROR = 2;
export const NLMSG_DONE = 3;
const NLA_F_NESTED = 0x8000;

export const RTM_SETLINK = 19;
export const RTM_NEWQDISC = 36;
export const RTM_DELQDISC = 37;
export const RTM_NEWTFILTER = 44;
export const RTM_DELTFILTER = 45;

/** An attribute: a type and its payload, or nested attributes. */
export type Attr = [type: number, value: Uint8Array | Attr[]];

/** Builders for attribute payloads. */
export const nla = {
  u32(v: number): Uint8Array {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint32(0, v >>> 0, true);
    return b;
  },
  s32(v: number): Uint8Array {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setInt32(0, v, true);
    return b;
  },
  str(s: string): Uint8Array {
    const e = new TextEncoder().encode(s);
    const b = new Uint8Array(e.length + 1);
    b.set(e);
    return b;
  },
};

const align4 = (n: number) => (n + 3) & ~3;

function encodeAttrs(attrs: Attr[]): Uint8Array {
  const parts: Uint8Array[] = [];
  for (const [type, value] of attrs) {
    const nested = Array.isArray(value);
    const payload = nested ? encodeAttrs(value) : value;
    const b = new Uint8Array(align4(4 + payload.length));
    const dv = new DataView(b.buffer);
    dv.setUint16(0, 4 + payload.length, true);
    dv.setUint16(2, type | (nested ? NLA_F_NESTED : 0), true);
    b.set(payload, 4);
    parts.push(b);
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/** One received message: type, flags and the payload after the 16-byte header. */
export interface NlMessage {
  type: number;
  flags: number;
  seq: number;
  payload: Uint8Array;
}

/** Parses the attributes of a payload region into type → payload (last one wins). */
export function parseAttrs(b: Uint8Array): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  let o = 0;
  while (o + 4 <= b.length) {
    const len = dv.getUint16(o, true);
    if (len < 4 || o + len > b.length) break;
    out.set(dv.getUint16(o + 2, true) & ~NLA_F_NESTED, b.subarray(o + 4, o + len));
    o += align4(len);
  }
  return out;
}

let seqCounter = Math.floor(Math.random() * 1e6);

/** Options of {@link NetlinkSocket}. */
export interface NetlinkSocketOptions {
  /** The netlink family (`NETLINK_ROUTE`, the default, or another). */
  protocol?: number;
  /** What the descriptor is called in errors and leak reports. */
  label?: string;
}

/** A netlink socket (route netlink by default) in the calling thread's network namespace. */
export class NetlinkSocket implements Disposable {
  readonly fd: FD;

  constructor(options: NetlinkSocketOptions = {}) {
    const r = libc().socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, options.protocol ?? NETLINK_ROUTE);
    if (r < 0) throw new SyscallError("socket", errno(), { command: "AF_NETLINK" });
    this.fd = new FD(r, options.label ?? "rtnetlink socket");
    const sa = new Uint8Array(12);
    new DataView(sa.buffer).setUint16(0, AF_NETLINK, true);
    if (libc().bind(this.fd.value, sa, 12) < 0) {
      const e = errno();
      this.fd.close();
      throw new SyscallError("bind", e, { command: "AF_NETLINK" });
    }
    // NETLINK_EXT_ACK: error replies carry the kernel's message (best effort).
    libc().setsockopt(this.fd.value, 270, /* SOL_NETLINK */ 11, new Uint8Array([1, 0, 0, 0]), 4);
  }

  /**
   * Sends a request (`header` is the family header, e.g. ifinfomsg, tcmsg or nfgenmsg)
   * and collects replies up to the ACK. Throws a SyscallError carrying the
   * netlink errno (and the kernel's extended ack message, if any).
   */
  request(
    type: number,
    flags: number,
    header: Uint8Array,
    attrs: Attr[],
    what: string,
  ): NlMessage[] {
    const body = encodeAttrs(attrs);
    const len = 16 + align4(header.length) + body.length;
    const msg = new Uint8Array(len);
    const dv = new DataView(msg.buffer);
    const seq = ++seqCounter;
    dv.setUint32(0, len, true);
    dv.setUint16(4, type, true);
    dv.setUint16(6, flags | NLM_F_REQUEST | NLM_F_ACK, true);
    dv.setUint32(8, seq, true);
    dv.setUint32(12, 0, true);
    msg.set(header, 16);
    msg.set(body, 16 + align4(header.length));
    const dest = new Uint8Array(12);
    new DataView(dest.buffer).setUint16(0, AF_NETLINK, true);
    if (Number(libc().sendto(this.fd.value, msg, BigInt(len), 0, dest, 12)) < 0) {
      throw new SyscallError("sendto", errno(), { command: what });
    }
    const replies: NlMessage[] = [];
    const buf = new Uint8Array(65536);
    for (;;) {
      const n = Number(libc().recv(this.fd.value, buf, BigInt(buf.length), 0));
      if (n < 0) {
        const e = errno();
        if (e === 4) continue;
        throw new SyscallError("recv", e, { command: what });
      }
      const rdv = new DataView(buf.buffer, 0, n);
      let o = 0;
      while (o + 16 <= n) {
        const mlen = rdv.getUint32(o, true);
        if (mlen < 16 || o + mlen > n) break;
        const m: NlMessage = {
          type: rdv.getUint16(o + 4, true),
          flags: rdv.getUint16(o + 6, true),
          seq: rdv.getUint32(o + 8, true),
          payload: buf.slice(o + 16, o + mlen),
        };
        o += align4(mlen);
        if (m.seq !== seq) continue;
        if (m.type === NLMSG_ERROR) {
          const err = new DataView(m.payload.buffer).getInt32(0, true);
          if (err === 0) return replies;
          // Extended ack: NLMSGERR_ATTR_MSG (1) after the echoed request header.
          let ext: string | undefined;
          if (m.flags & 0x200 /* NLM_F_ACK_TLVS */) {
            const origLen = m.flags & 0x100 /* NLM_F_CAPPED */
              ? 16
              : new DataView(m.payload.buffer).getUint32(4, true);
            const a = parseAttrs(m.payload.subarray(4 + align4(origLen)));
            const s = a.get(1);
            if (s) ext = new TextDecoder().decode(s).replace(/\0.*$/, "");
          }
          throw new SyscallError("netlink", -err, {
            command: what,
            hint: ext ? `kernel says: ${ext}` : undefined,
          });
        }
        if (m.type === NLMSG_DONE) return replies;
        replies.push(m);
      }
    }
  }

  close(): void {
    this.fd.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

/** Runs `fn` with a fresh rtnetlink socket. */
export function withNetlink<T>(fn: (nl: NetlinkSocket) => T): T {
  using nl = new NetlinkSocket();
  return fn(nl);
}
