/**
 * bpf(2) on a worker thread, for commands that may run long (a
 * BPF_PROG_TEST_RUN with a large `repeat`) without blocking the event loop.
 *
 * @module
 */

import { libc } from "./_libc.ts";
import { SYS_BPF } from "./bpf.ts";

const SYS_BPF_BIG = BigInt(SYS_BPF);

/**
 * Runs bpf(2) command `cmd` on an encoded attribute buffer on a worker
 * thread. Resolves to the result (≥ 0), or −1 on failure: errno belongs to
 * the worker thread and cannot be read here, so a caller that needs it
 * repeats the call synchronously with `bpfRaw`. `attr` and every
 * buffer it points to must stay alive and unchanged until the promise settles.
 */
export async function bpfRawAsync(
  cmd: number,
  attr: Uint8Array,
  size: number = attr.byteLength,
): Promise<number> {
  const r = Number(
    await libc().syscallBufAsync(
      SYS_BPF_BIG,
      BigInt(cmd),
      attr as Uint8Array<ArrayBuffer>,
      BigInt(size),
    ),
  );
  return r < 0 ? -1 : r;
}
