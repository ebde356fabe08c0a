/**
 * Legacy tc: a `clsact` qdisc on a device and a direct-action `bpf` filter
 * on its ingress or egress, made over rtnetlink (what `tc qdisc add dev IF
 * clsact; tc filter add dev IF ingress bpf da fd N` does). Works on every
 * kernel since 4.5; on 6.6+ prefer {@linkcode attachTcx}.
 *
 * @module
 */

import { ProgramType } from "../asm/types.ts";
import { InvalidArgumentError } from "../errors.ts";
import { SyscallError } from "../sys/error.ts";
import {
  expectProgramType,
  type FdSource,
  interfaceIndex,
  type InterfaceTarget,
  programFd,
} from "./_common.ts";
import {
  type Attr,
  NetlinkSocket,
  nla,
  NLM_F_CREATE,
  NLM_F_ECHO,
  NLM_F_EXCL,
  RTM_DELQDISC,
  RTM_DELTFILTER,
  RTM_NEWQDISC,
  RTM_NEWTFILTER,
  withNetlink,
} from "./_netlink.ts";
import { LegacyLink } from "./link.ts";

const TC_H_CLSACT = 0xfffffff1;
const TC_H_MIN_INGRESS = 0xfff2;
const TC_H_MIN_EGRESS = 0xfff3;
const TCA_KIND = 1;
const TCA_OPTIONS = 2;
const TCA_BPF_FD = 6;
const TCA_BPF_NAME = 7;
const TCA_BPF_FLAGS = 8;
const TCA_BPF_FLAG_ACT_DIRECT = 1;
/** ETH_P_ALL: every protocol. */
export const ETH_P_ALL = 0x0003;

function tcmsg(ifindex: number, handle: number, parent: number, info: number): Uint8Array {
  const b = new Uint8Array(20);
  const dv = new DataView(b.buffer);
  dv.setInt32(4, ifindex, true);
  dv.setUint32(8, handle >>> 0, true);
  dv.setUint32(12, parent >>> 0, true);
  dv.setUint32(16, info >>> 0, true);
  return b;
}

const htons = (v: number) => ((v & 0xff) << 8) | ((v >> 8) & 0xff);

/**
 * Adds a `clsact` qdisc to a device; returns false if it already had one.
 */
export function createClsact(target: InterfaceTarget): boolean {
  const ifindex = interfaceIndex(target, "createClsact");
  try {
    withNetlink((nl) =>
      nl.request(
        RTM_NEWQDISC,
        NLM_F_CREATE | NLM_F_EXCL,
        tcmsg(ifindex, 0xffff0000, TC_H_CLSACT, 0),
        [[TCA_KIND, nla.str("clsact")]],
        "RTM_NEWQDISC clsact",
      )
    );
    return true;
  } catch (e) {
    if (e instanceof SyscallError && e.errno === 17) return false; // EEXIST
    throw e;
  }
}

/** Removes a device's `clsact` qdisc and every filter on it; false if it had none. */
export function destroyClsact(target: InterfaceTarget): boolean {
  const ifindex = interfaceIndex(target, "destroyClsact");
  try {
    withNetlink((nl) =>
      nl.request(
        RTM_DELQDISC,
        0,
        tcmsg(ifindex, 0xffff0000, TC_H_CLSACT, 0),
        [[TCA_KIND, nla.str("clsact")]],
        "RTM_DELQDISC clsact",
      )
    );
    return true;
  } catch (e) {
    if (e instanceof SyscallError && (e.errno === 2 || e.errno === 22)) return false;
    throw e;
  }
}

/** Options of {@linkcode attachTc}. */
export interface TcOptions extends InterfaceTarget {
  /** `"ingress"` or `"egress"`. */
  direction: "ingress" | "egress";
  /** Filter priority 1–65535; default: the kernel picks one. */
  priority?: number;
  /** Filter handle; default: the kernel picks one. */
  handle?: number;
  /** Protocol (ethertype) to match; default ETH_P_ALL. */
  protocol?: number;
  /** The filter's name as `tc filter show` prints it; default the program's name or `"denobpf"`. */
  name?: string;
}

/** A bpf filter on a clsact hook; closing deletes the filter (the qdisc stays). */
export class TcLink extends LegacyLink {
  /** The device index. */
  readonly ifindex: number;
  /** The hook. */
  readonly direction: "ingress" | "egress";
  /** The filter's priority. */
  readonly priority: number;
  /** The filter's handle. */
  readonly handle: number;

  /** Records a filter made by {@linkcode attachTc}. */
  constructor(
    init: {
      ifindex: number;
      direction: "ingress" | "egress";
      priority: number;
      handle: number;
      detach: () => void;
    },
  ) {
    super("tc", init.detach);
    this.ifindex = init.ifindex;
    this.direction = init.direction;
    this.priority = init.priority;
    this.handle = init.handle;
  }
}

/**
 * Attaches a sched_cls program as a direct-action bpf filter on a device's
 * clsact ingress or egress, creating the clsact qdisc if needed.
 */
export function attachTc(program: FdSource, options: TcOptions): TcLink {
  expectProgramType(program, [ProgramType.sched_cls, ProgramType.sched_act], "attachTc");
  const ifindex = interfaceIndex(options, "attachTc");
  if (options.direction !== "ingress" && options.direction !== "egress") {
    throw new InvalidArgumentError('attachTc: direction must be "ingress" or "egress"');
  }
  const prio = options.priority ?? 0;
  if (!Number.isInteger(prio) || prio < 0 || prio > 0xffff) {
    throw new InvalidArgumentError(`attachTc: priority must be 1..65535 (got ${prio})`);
  }
  const proto = options.protocol ?? ETH_P_ALL;
  const parent = ((TC_H_CLSACT & 0xffff0000) |
    (options.direction === "ingress" ? TC_H_MIN_INGRESS : TC_H_MIN_EGRESS)) >>> 0;
  createClsact({ ifindex });
  const name = options.name ??
    ((typeof program === "object" && "name" in program && typeof program.name === "string" &&
      program.name) || "denobpf");
  const attrs: Attr[] = [
    [TCA_KIND, nla.str("bpf")],
    [TCA_OPTIONS, [
      [TCA_BPF_FD, nla.u32(programFd(program))],
      [TCA_BPF_NAME, nla.str(name)],
      [TCA_BPF_FLAGS, nla.u32(TCA_BPF_FLAG_ACT_DIRECT)],
    ]],
  ];
  // The socket stays open with the filter: it belongs to this network
  // namespace, so the detach reaches the same device from any thread later.
  const nl = new NetlinkSocket();
  let replies;
  try {
    replies = nl.request(
      RTM_NEWTFILTER,
      NLM_F_CREATE | NLM_F_EXCL | NLM_F_ECHO,
      tcmsg(ifindex, options.handle ?? 0, parent, ((prio << 16) | htons(proto)) >>> 0),
      attrs,
      `RTM_NEWTFILTER bpf ${options.direction}`,
    );
  } catch (e) {
    nl.close();
    throw e;
  }
  let handle = options.handle ?? 0;
  let priority = prio;
  const echo = replies.find((m) => m.type === RTM_NEWTFILTER);
  if (echo && echo.payload.length >= 20) {
    const dv = new DataView(echo.payload.buffer, echo.payload.byteOffset);
    handle = dv.getUint32(8, true);
    priority = dv.getUint32(16, true) >>> 16;
  }
  const info = ((priority << 16) | htons(proto)) >>> 0;
  return new TcLink({
    ifindex,
    direction: options.direction,
    priority,
    handle,
    detach: () => {
      try {
        nl.request(
          RTM_DELTFILTER,
          0,
          tcmsg(ifindex, handle, parent, info),
          [[TCA_KIND, nla.str("bpf")]],
          "RTM_DELTFILTER bpf",
        );
      } catch (e) {
        // ENOENT / ENODEV / EINVAL: the filter, qdisc or device is already gone.
        if (!(e instanceof SyscallError) || ![2, 19, 22].includes(e.errno)) throw e;
      } finally {
        nl.close();
      }
    },
  });
}
