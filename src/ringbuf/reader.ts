import { InvalidArgumentError } from "../errors.ts";
import type { FD } from "../sys/fd.ts";
import { dupRawFd } from "../sys/fd_dup.ts";
import { mapBasics } from "../sys/map_ref.ts";
import { descriptorOf, type FdSource } from "../sys/fd_source.ts";
import { Mapping, pageSize, Prot } from "../sys/mmap.ts";
import { Poller } from "../sys/epoll.ts";
import { checkLimit, checkTimeout, pollRecords } from "../sys/_poll_records.ts";

/** `BPF_MAP_TYPE_RINGBUF`. */
const RINGBUF = 27;
const BUSY = 0x80000000;
const DISCARD = 0x40000000;
const HDR = 8;
const TWO32 = 0x100000000;

/** Options of {@linkcode ringBufReader}. */
export interface RingBufReaderOptions {
  /** The ring's size in bytes (its max_entries); read from the kernel when omitted. */
  size?: number;
}

/** Called for each record by {@linkcode RingBufReader.consume}; return `false` to stop early. */
export type RecordCallback = (record: Uint8Array) => void | boolean;

/**
 * Reads a BPF ring buffer (`BPF_MAP_TYPE_RINGBUF`, Linux 5.8+) from user
 * space: the consumer page is mapped read-write, the producer page and the
 * data area (mapped twice in a row by the kernel, so no record wraps)
 * read-only. Records come out in the order they were committed; discarded
 * records are skipped and a busy (reserved, not yet committed) record ends
 * a read until it is committed.
 *
 * Three ways to read:
 * - `for await (const rec of reader)` — copies, waits with epoll on a worker thread;
 * - `reader.consume(cb)` — zero-copy views into the mapped ring, valid only inside `cb`;
 * - `reader.poll(timeoutMs, cb)` — blocks the thread until data arrives, then consumes.
 */
export class RingBufReader implements AsyncIterable<Uint8Array>, Disposable {
  /** The ring's data size in bytes. */
  readonly size: number;
  #fd: FD;
  #consumer: Mapping;
  #producer: Mapping;
  #data: Uint8Array;
  #hdr: Uint32Array;
  #consLo: Uint32Array;
  #prodPos: BigUint64Array;
  #consPos: BigUint64Array;
  #mask: number;
  #poller: Poller;
  #closed = false;

  /** Maps the ring behind `fd` (which it duplicates and owns). */
  constructor(map: FdSource, options: RingBufReaderOptions = {}) {
    const raw = descriptorOf(map, "map");
    if (options === null || typeof options !== "object") {
      throw new InvalidArgumentError(`ringBufReader: options must be an object, got ${options}`);
    }
    let size = options.size;
    if (
      size !== undefined &&
      (typeof size !== "number" || !Number.isInteger(size) || size <= 0 || size > 0x80000000)
    ) {
      throw new InvalidArgumentError(
        `ringBufReader: size must be the ring's size in bytes, a power-of-two multiple of the ` +
          `page size up to 2 GiB (or omitted to read it from the map), got ${
            typeof size === "number" ? size : typeof size
          }`,
      );
    }
    if (size === undefined) {
      const shape = mapBasics(raw);
      if (shape.type !== RINGBUF) {
        throw new InvalidArgumentError(
          `map ${shape.id} is not a ring buffer (type ${shape.type}); use perfReader for perf event arrays`,
        );
      }
      size = shape.maxEntries;
    }
    if (size <= 0 || (size & (size - 1)) !== 0 || size % pageSize() !== 0) {
      throw new InvalidArgumentError(
        `ring buffer size ${size} is not a power-of-two multiple of the page size`,
      );
    }
    this.size = size;
    this.#mask = size - 1;
    this.#fd = dupRawFd(raw, "ringbuf reader");
    const page = pageSize();
    let consumer: Mapping | undefined;
    try {
      consumer = Mapping.map(this.#fd.value, page, Prot.READ | Prot.WRITE, 0);
      this.#producer = Mapping.map(this.#fd.value, page + 2 * size, Prot.READ, page);
    } catch (e) {
      consumer?.close();
      this.#fd.close();
      throw e;
    }
    this.#consumer = consumer;
    const pb = this.#producer.bytes;
    this.#data = pb.subarray(page);
    this.#hdr = new Uint32Array(pb.buffer, pb.byteOffset + page, (2 * size) / 4);
    this.#prodPos = new BigUint64Array(pb.buffer, pb.byteOffset, 1);
    const cb = this.#consumer.bytes;
    this.#consPos = new BigUint64Array(cb.buffer, cb.byteOffset, 1);
    this.#consLo = new Uint32Array(cb.buffer, cb.byteOffset, 2);
    this.#poller = new Poller(4);
    this.#poller.add(this.#fd.value, 0);
  }

  /** Bytes committed or reserved by producers and not consumed yet. */
  available(): number {
    this.#check();
    return Number(Atomics.load(this.#prodPos, 0) - Atomics.load(this.#consPos, 0));
  }

  #check(): void {
    if (this.#closed) throw new InvalidArgumentError("ring buffer reader is closed");
  }

  /**
   * Hands every committed record to `cb` as a view into the mapped ring
   * (zero copy: copy it with `slice()` to keep it), advancing the consumer
   * position after each. Returns the number of records consumed. Stops
   * early when `cb` returns `false`.
   */
  consume(cb: RecordCallback, limit = Infinity): number {
    this.#check();
    checkLimit("ring buffer consume", limit);
    let cons = Number(Atomics.load(this.#consPos, 0));
    let count = 0;
    const hdr = this.#hdr;
    const data = this.#data;
    for (;;) {
      const prod = Number(Atomics.load(this.#prodPos, 0));
      if (cons >= prod) return count;
      while (cons < prod) {
        const off = cons % this.size;
        const len = Atomics.load(hdr, off >>> 2);
        if (len & BUSY) return count;
        const size = len & ~(BUSY | DISCARD);
        cons += (size + HDR + 7) & ~7;
        let more = true;
        if (!(len & DISCARD)) {
          count++;
          more = cb(data.subarray(off + HDR, off + HDR + size)) !== false;
        }
        this.#storeConsumer(cons);
        if (!more || count >= limit) return count;
      }
    }
  }

  // The kernel reads the consumer position as one 64-bit word; writing the
  // low half first can only ever show it a smaller position (less free
  // space), never a larger one, so the two 32-bit stores are safe.
  #storeConsumer(pos: number): void {
    const lo = pos % TWO32;
    const hi = (pos - lo) / TWO32;
    Atomics.store(this.#consLo, 0, lo);
    if (this.#consLo[1] !== hi) Atomics.store(this.#consLo, 1, hi);
  }

  /**
   * Blocks the calling thread until records are available (or `timeoutMs`
   * passes; −1 waits forever), then consumes them like {@linkcode consume}.
   */
  poll(timeoutMs: number, cb: RecordCallback): number {
    this.#check();
    checkTimeout("ring buffer poll", timeoutMs);
    const n = this.consume(cb);
    if (n > 0) return n;
    this.#poller.wait(timeoutMs);
    return this.consume(cb);
  }

  /**
   * The next record (a copy), waiting on a worker thread when the ring is
   * empty; `undefined` when the signal aborts or the reader is closed.
   */
  async read(
    options: { signal?: AbortSignal; timeoutMs?: number } = {},
  ): Promise<Uint8Array | undefined> {
    if (options.timeoutMs !== undefined) checkTimeout("ring buffer read", options.timeoutMs);
    for (;;) {
      if (this.#closed || options.signal?.aborted) return undefined;
      let rec: Uint8Array | undefined;
      this.consume((r) => {
        rec = r.slice();
        return false;
      }, 1);
      if (rec) return rec;
      const tags = await this.#poller.waitAsync(options.timeoutMs ?? -1, options.signal);
      if (tags.length === 0 && options.timeoutMs !== undefined && options.timeoutMs >= 0) {
        if (this.#closed) return undefined;
        let late: Uint8Array | undefined;
        this.consume((r) => {
          late = r.slice();
          return false;
        }, 1);
        return late;
      }
    }
  }

  /** Records as an async iterator (copies); ends when `signal` aborts or the reader closes. */
  records(options: { signal?: AbortSignal } = {}): AsyncGenerator<Uint8Array> {
    const drain = (batch: Uint8Array[]) =>
      this.consume((r) => {
        batch.push(r.slice());
      }, 4096);
    return pollRecords(this.#poller, drain, { closed: () => this.#closed, signal: options.signal });
  }

  /** Same as {@linkcode records} without options. */
  [Symbol.asyncIterator](): AsyncIterator<Uint8Array> {
    return this.records();
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Unmaps the ring and closes the reader's descriptors; pending reads end. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#poller.close();
    this.#consumer.close();
    this.#producer.close();
    this.#fd.close();
  }

  /** Same as close, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Opens a reader on a ring buffer map (`BpfMap`, FD or descriptor). */
export function ringBufReader(map: FdSource, options?: RingBufReaderOptions): RingBufReader {
  return new RingBufReader(map, options);
}
