/**
 * XDP: an XDP link on a network interface (BPF_LINK_CREATE, Linux 5.9+),
 * or the netlink attachment (IFLA_XDP) older kernels use.
 *
 * @module
 */

import { AttachType, ProgramType } from "../asm/types.ts";
import { InvalidArgumentError, NotSupportedError } from "../errors.ts";
import { EBUSY, EEXIST, EINVAL, EOPNOTSUPP } from "../sys/errno.ts";
import { SyscallError } from "../sys/error.ts";
import { FD } from "../sys/fd.ts";
import { dupRawFd } from "../sys/fd_dup.ts";
import {
  expectProgramType,
  type FdSource,
  interfaceIndex,
  type InterfaceTarget,
  linkCreateError,
  linkCreateTry,
  programFd,
} from "./_common.ts";
import { type Attr, NetlinkSocket, nla, RTM_SETLINK } from "./_netlink.ts";
import { BpfLink, LegacyLink } from "./link.ts";

/** `XDP_FLAGS_*` of linux/if_link.h. */
export const XdpFlags = {
  UPDATE_IF_NOEXIST: 1 << 0,
  SKB_MODE: 1 << 1,
  DRV_MODE: 1 << 2,
  HW_MODE: 1 << 3,
  REPLACE: 1 << 4,
} as const;

/** XDP attach modes: `generic` (in the stack, any device), `native` (in the driver), `offload` (on the NIC). */
export type XdpMode = "generic" | "native" | "offload";

const MODE_FLAG: Readonly<Record<XdpMode, number>> = {
  generic: XdpFlags.SKB_MODE,
  native: XdpFlags.DRV_MODE,
  offload: XdpFlags.HW_MODE,
};

/** Options of {@linkcode attachXdp}. */
export interface XdpOptions extends InterfaceTarget {
  /** Attach mode; default: the driver's native mode if it has one, else generic. */
  mode?: XdpMode;
  /**
   * Netlink attachment only: replace a program already attached (by
   * default an attached program makes the call fail with EBUSY/EEXIST).
   */
  replace?: boolean;
  /** Use the netlink attachment (IFLA_XDP) instead of a link. */
  legacy?: boolean;
}

const IFLA_XDP = 43;
const IFLA_XDP_FD = 1;
const IFLA_XDP_FLAGS = 3;
const IFLA_XDP_EXPECTED_FD = 8;

function ifinfomsg(ifindex: number): Uint8Array {
  const b = new Uint8Array(16);
  new DataView(b.buffer).setInt32(4, ifindex, true);
  return b;
}

function setXdp(
  nl: NetlinkSocket,
  ifindex: number,
  fd: number,
  flags: number,
  expectedFd?: number,
): void {
  const attrs: Attr[] = [[IFLA_XDP_FD, nla.s32(fd)], [IFLA_XDP_FLAGS, nla.u32(flags)]];
  if (expectedFd !== undefined) attrs.push([IFLA_XDP_EXPECTED_FD, nla.s32(expectedFd)]);
  nl.request(RTM_SETLINK, 0, ifinfomsg(ifindex), [[IFLA_XDP, attrs]], "RTM_SETLINK IFLA_XDP");
}

/**
 * Attaches an XDP program to a network interface.
 *
 * @example
 * ```ts ignore
 * using link = attachXdp(prog, { interface: "eth0", mode: "generic" });
 * ```
 */
export function attachXdp(program: FdSource, options: XdpOptions): BpfLink | LegacyLink {
  expectProgramType(program, [ProgramType.xdp], "attachXdp");
  const ifindex = interfaceIndex(options, "attachXdp");
  if (options.mode !== undefined && !(options.mode in MODE_FLAG)) {
    throw new InvalidArgumentError(`attachXdp: unknown mode ${JSON.stringify(options.mode)}`);
  }
  const modeFlag = options.mode ? MODE_FLAG[options.mode] : 0;
  const where = options.interface ?? `ifindex ${ifindex}`;
  const prog = programFd(program);
  if (!options.legacy) {
    if (options.replace) {
      throw new InvalidArgumentError(
        "attachXdp: `replace` applies to the netlink attachment (legacy: true); " +
          "replace a link's program with link.update()",
      );
    }
    const r = linkCreateTry({
      progFd: prog,
      targetFd: ifindex,
      attachType: AttachType.xdp,
      flags: modeFlag,
    });
    if (r >= 0) return new BpfLink(new FD(r, `xdp link ${where}`), "xdp");
    const err = -r;
    if (err === EBUSY || err === EEXIST) {
      throw new SyscallError("bpf", err, {
        command: "BPF_LINK_CREATE",
        hint: `${where} already has an XDP program in this mode; detach it first ` +
          "(ip link set dev IF xdp off)",
      });
    }
    if (err === EOPNOTSUPP && options.mode === "native") {
      throw new NotSupportedError(`native XDP on ${where}`, "a driver with XDP support", {
        detail: 'use mode: "generic"',
      });
    }
    if (err === EOPNOTSUPP && options.mode === "offload") {
      throw new NotSupportedError(`offloaded XDP on ${where}`, "a NIC that offloads XDP", {
        detail: "the program must also be loaded with the device's ifindex",
      });
    }
    if (err !== EINVAL) {
      throw linkCreateError(err, { feature: "XDP links", requirement: "Linux 5.9" });
    }
    // EINVAL: no XDP links before 5.9; try netlink, which reports its own errors.
  }
  const flags = modeFlag | (options.replace ? 0 : XdpFlags.UPDATE_IF_NOEXIST);
  // The socket stays open with the attachment: it belongs to this network
  // namespace, so the detach reaches the same device from any thread later.
  const nl = new NetlinkSocket();
  const progCopy = dupRawFd(prog, "xdp program");
  try {
    setXdp(nl, ifindex, progCopy.value, flags);
  } catch (e) {
    progCopy.close();
    nl.close();
    throw e;
  }
  return new LegacyLink("xdp", () => {
    try {
      // Remove it only while it is still ours.
      setXdp(nl, ifindex, -1, modeFlag | XdpFlags.REPLACE, progCopy.value);
    } catch (e) {
      if (!(e instanceof SyscallError) || ![19, 17, 22].includes(e.errno)) throw e;
    } finally {
      progCopy.close();
      nl.close();
    }
  });
}
