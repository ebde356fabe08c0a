/**
 * A memory mapping of a `BPF_F_MMAPABLE` array (or arena): reads and writes
 * through `bytes` are the map's values, shared with BPF programs and with
 * lookups, without any syscall.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { Mapping, type Mapping as SysMapping, Prot } from "../sys/mmap.ts";

/** An owned, disposable mapping of a map's values. */
export class MapMemory implements Disposable {
  #mapping: SysMapping;
  /** Bytes between consecutive values (the value size rounded up to 8). */
  readonly stride: number;
  /** Size of one value. */
  readonly valueSize: number;
  /** Number of values (the map's max entries). */
  readonly count: number;
  /** True when mapped without PROT_WRITE. */
  readonly readOnly: boolean;

  /** Maps `length` bytes of map `fd`; used by `BpfMap.mmap()`. */
  constructor(
    fd: number,
    layout: { length: number; stride: number; valueSize: number; count: number; readOnly: boolean },
  ) {
    const prot = layout.readOnly ? Prot.READ : Prot.READ | Prot.WRITE;
    this.#mapping = Mapping.map(fd, layout.length, prot, 0);
    this.stride = layout.stride;
    this.valueSize = layout.valueSize;
    this.count = layout.count;
    this.readOnly = layout.readOnly;
  }

  /** The whole mapping (valid until `close()`). */
  get bytes(): Uint8Array {
    if (this.#mapping.closed) throw new InvalidArgumentError("the map memory was unmapped");
    return this.#mapping.bytes;
  }

  /** Length of the mapping in bytes (a multiple of the page size). */
  get length(): number {
    return this.#mapping.length;
  }

  /** A view of value `index` (array maps): `valueSize` bytes at `index * stride`. */
  value(index: number): Uint8Array {
    if (!Number.isInteger(index) || index < 0 || index >= this.count) {
      throw new InvalidArgumentError(`value index ${index} is out of range 0..${this.count - 1}`);
    }
    return this.bytes.subarray(index * this.stride, index * this.stride + this.valueSize);
  }

  /** A DataView of the whole mapping, for typed reads and writes. */
  view(): DataView {
    const b = this.bytes;
    return new DataView(b.buffer, b.byteOffset, b.byteLength);
  }

  /** True once unmapped. */
  get closed(): boolean {
    return this.#mapping.closed;
  }

  /** Unmaps; idempotent. Views taken earlier must not be used afterwards. */
  close(): void {
    this.#mapping.close();
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
