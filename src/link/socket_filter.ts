/**
 * Socket filters: a socket_filter program on a socket with SO_ATTACH_BPF.
 *
 * @module
 */

import { ProgramType } from "../asm/types.ts";
import { errno, libc } from "../sys/_libc.ts";
import { SyscallError } from "../sys/error.ts";
import { expectProgramType, type FdSource, programFd } from "./_common.ts";
import { LegacyLink } from "./link.ts";

/** `SOL_SOCKET`. */
export const SOL_SOCKET = 1;
/** `SO_ATTACH_BPF`. */
export const SO_ATTACH_BPF = 50;
/** `SO_DETACH_BPF` (same as SO_DETACH_FILTER). */
export const SO_DETACH_BPF = 27;

function setsockoptInt(fd: number, opt: number, value: number, what: string): void {
  const v = new Int32Array([value]);
  if (libc().setsockopt(fd, SOL_SOCKET, opt, new Uint8Array(v.buffer), 4) < 0) {
    const e = errno();
    throw new SyscallError("setsockopt", e, {
      command: what,
      hint: e === 88 ? `descriptor ${fd} is not a socket` : undefined,
    });
  }
}

/**
 * Attaches a socket_filter program to socket `socketFd` (SO_ATTACH_BPF).
 * The socket is not owned: closing the link runs SO_DETACH_BPF on it
 * (ignoring a socket already closed).
 */
export function attachSocketFilter(program: FdSource, socketFd: number): LegacyLink {
  expectProgramType(program, [ProgramType.socket_filter], "attachSocketFilter");
  setsockoptInt(socketFd, SO_ATTACH_BPF, programFd(program), "SO_ATTACH_BPF");
  return new LegacyLink("socket_filter", () => {
    try {
      setsockoptInt(socketFd, SO_DETACH_BPF, 0, "SO_DETACH_BPF");
    } catch (e) {
      // EBADF / ENOTSOCK: the socket is gone; ENOENT: nothing attached.
      if (!(e instanceof SyscallError) || ![9, 88, 2].includes(e.errno)) throw e;
    }
  });
}
