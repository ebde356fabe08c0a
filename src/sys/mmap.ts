/**
 * mmap(2)/munmap(2) of kernel-provided memory (ring buffers, perf rings,
 * BPF_F_MMAPABLE arrays), as an owned, disposable mapping.
 *
 * @module
 */

import { errno, libc } from "./_libc.ts";
import { SyscallError } from "./error.ts";

/** Memory protection bits. */
export const Prot = { READ: 1, WRITE: 2 } as const;
/** mmap flags. */
export const MapFlags = { SHARED: 1 } as const;

/** A shared mapping of a descriptor; `bytes` views it until `close()`. */
export class Mapping implements Disposable {
  #ptr: Deno.PointerObject | null;
  /** Length in bytes. */
  readonly length: number;
  /** A view of the mapped bytes (invalid after close). */
  readonly bytes: Uint8Array;
  /** The mapping's address. */
  readonly address: bigint;

  private constructor(ptr: Deno.PointerObject, length: number) {
    this.#ptr = ptr;
    this.length = length;
    this.address = Deno.UnsafePointer.value(ptr);
    this.bytes = new Uint8Array(Deno.UnsafePointerView.getArrayBuffer(ptr, length));
  }

  /** Maps `length` bytes of `fd` at `offset` with protection `prot` (MAP_SHARED). */
  static map(fd: number, length: number, prot: number, offset = 0): Mapping {
    const p = libc().mmap(null, BigInt(length), prot, MapFlags.SHARED, fd, BigInt(offset));
    // MAP_FAILED is (void *)-1
    if (p === null || Deno.UnsafePointer.value(p) === 0xffffffffffffffffn) {
      throw new SyscallError("mmap", errno(), {
        command: `fd ${fd}, ${length} bytes at ${offset}`,
      });
    }
    return new Mapping(p, length);
  }

  /** True once unmapped. */
  get closed(): boolean {
    return this.#ptr === null;
  }

  /** Unmaps; idempotent. Views of `bytes` must not be used afterwards. */
  close(): void {
    if (this.#ptr === null) return;
    libc().munmap(this.#ptr, BigInt(this.length));
    this.#ptr = null;
  }

  /** Same as close, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** The system page size. */
export function pageSize(): number {
  return 4096;
}
