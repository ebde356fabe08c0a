import { InvalidArgumentError } from "../errors.ts";
import { bpf } from "../sys/bpf.ts";
import { Poller } from "../sys/epoll.ts";
import { checkLimit, checkTimeout, pollRecords } from "../sys/_poll_records.ts";
import type { FD } from "../sys/fd.ts";
import { dupRawFd } from "../sys/fd_dup.ts";
import { mapBasics } from "../sys/map_ref.ts";
import { descriptorOf, type FdSource } from "../sys/fd_source.ts";
import { Mapping, pageSize, Prot } from "../sys/mmap.ts";
import { onlineCpus, possibleCpuCount } from "../sys/cpu.ts";
import {
  ioctl,
  perfEventOpen,
  PerfIoctl,
  PerfSample,
  PerfSwConfig,
  PerfType,
} from "../sys/perf_event.ts";

/** `BPF_MAP_TYPE_PERF_EVENT_ARRAY`. */
const PERF_EVENT_ARRAY = 4;
const PERF_RECORD_LOST = 2;
const PERF_RECORD_SAMPLE = 9;
const TWO32 = 0x100000000;
// struct perf_event_mmap_page
const DATA_HEAD = 1024;
const DATA_OFFSET = 1040;
const DATA_SIZE = 1048;

/** One record from a perf ring: a sample's raw bytes, or a count of samples lost. */
export interface PerfRecord {
  /** The CPU whose ring held the record. */
  cpu: number;
  /**
   * The raw sample, as `bpf_perf_event_output` wrote it, padded by the
   * kernel to a multiple of 8 bytes minus 4 (absent for a lost record).
   */
  data?: Uint8Array;
  /** Samples the kernel dropped because the ring was full (0 for a sample). */
  lost: number;
}

/** Options of {@linkcode perfReader}. */
export interface PerfReaderOptions {
  /** Bytes of each CPU's ring (rounded up to a power-of-two number of pages). Default 64 KiB. */
  perCpuBufferSize?: number;
  /** Wake the reader after this many bytes (a watermark) instead of every sample. */
  watermark?: number;
  /** Wake the reader after this many samples (default 1; ignored with `watermark`). */
  wakeupEvents?: number;
  /**
   * Overwritable rings (`write_backward`): the kernel keeps the newest
   * samples, overwriting old ones, and the reader reads a snapshot after
   * `pause()`. Default false.
   */
  overwritable?: boolean;
  /** The CPUs to read (default: every online CPU). */
  cpus?: number[];
}

const U32_MAX = 0xffffffff;

function describe(v: unknown): string {
  return typeof v === "string" ? JSON.stringify(v) : `${typeof v} ${String(v)}`;
}

/** Checks the numeric options of a perf reader before anything is opened. */
function checkReaderOptions(options: PerfReaderOptions): void {
  if (options === null || typeof options !== "object") {
    throw new InvalidArgumentError(`perfReader: options must be an object, got ${options}`);
  }
  const positive = (name: keyof PerfReaderOptions, what: string) => {
    const v = options[name];
    if (v === undefined) return;
    if (typeof v !== "number" || !Number.isInteger(v) || v < 1 || v > U32_MAX) {
      throw new InvalidArgumentError(
        `perfReader: ${name} must be an integer from 1 to ${U32_MAX} (${what}), got ` +
          `${describe(v)}`,
      );
    }
  };
  positive("perCpuBufferSize", "bytes per CPU; omit it for 64 KiB");
  positive("watermark", "bytes");
  positive("wakeupEvents", "samples");
  const cpus = options.cpus;
  if (cpus === undefined) return;
  if (!Array.isArray(cpus) || cpus.length === 0) {
    throw new InvalidArgumentError(
      `perfReader: cpus must be a non-empty array of CPU numbers (omit it for every online ` +
        `CPU), got ${Array.isArray(cpus) ? "[]" : describe(cpus)}`,
    );
  }
  const seen = new Set<number>();
  for (const cpu of cpus) {
    if (typeof cpu !== "number" || !Number.isInteger(cpu) || cpu < 0) {
      throw new InvalidArgumentError(
        `perfReader: cpus holds ${describe(cpu)}: a CPU is a non-negative integer`,
      );
    }
    if (seen.has(cpu)) throw new InvalidArgumentError(`perfReader: CPU ${cpu} is listed twice`);
    seen.add(cpu);
  }
}

interface Ring {
  cpu: number;
  fd: FD;
  map: Mapping;
  u32: Uint32Array;
  head: BigUint64Array;
  data: Uint8Array;
  size: number;
}

/** Called for each record by {@linkcode PerfReader.consume}; return `false` to stop early. */
export type PerfRecordCallback = (record: PerfRecord) => void | boolean;

/**
 * Reads a perf event array (`BPF_MAP_TYPE_PERF_EVENT_ARRAY`) the way
 * `bpf_perf_event_output` fills it: one perf event and one mapped ring per
 * CPU, woken through epoll. Samples come out per CPU in order; samples the
 * kernel had to drop are reported as records with `lost > 0`.
 */
export class PerfReader implements AsyncIterable<PerfRecord>, Disposable {
  #rings: Ring[] = [];
  #byCpu = new Map<number, Ring>();
  #mapFd: FD;
  #poller: Poller;
  #closed = false;
  #paused = false;
  #scratch = new Uint8Array(1 << 16);
  readonly #overwritable: boolean;

  /** Opens per-CPU rings and installs them in the perf event array. */
  constructor(map: FdSource, options: PerfReaderOptions = {}) {
    const raw = descriptorOf(map, "map");
    const shape = mapBasics(raw);
    if (shape.type !== PERF_EVENT_ARRAY) {
      throw new InvalidArgumentError(
        `map ${shape.id} is not a perf event array (type ${shape.type}); use ringBufReader for ring buffers`,
      );
    }
    checkReaderOptions(options);
    this.#overwritable = options.overwritable ?? false;
    const page = pageSize();
    let pages = Math.max(1, Math.ceil((options.perCpuBufferSize ?? 65536) / page));
    pages = 2 ** Math.ceil(Math.log2(pages));
    const cpus = options.cpus ?? onlineCpus();
    const maxCpu = Math.min(shape.maxEntries, possibleCpuCount());
    for (const cpu of cpus) {
      if (cpu >= maxCpu) {
        throw new InvalidArgumentError(
          `perfReader: CPU ${cpu} is beyond the perf event array's ${shape.maxEntries} entries ` +
            `(and the ${possibleCpuCount()} possible CPUs): use CPUs 0 to ${maxCpu - 1}`,
        );
      }
    }
    this.#mapFd = dupRawFd(raw, "perf reader map");
    this.#poller = new Poller(Math.max(8, cpus.length));
    try {
      for (const cpu of cpus) {
        const flags: ("watermark" | "writeBackward")[] = [];
        if (options.watermark !== undefined) flags.push("watermark");
        if (this.#overwritable) flags.push("writeBackward");
        const fd = perfEventOpen({
          type: PerfType.SOFTWARE,
          config: PerfSwConfig.BPF_OUTPUT,
          sampleType: PerfSample.RAW,
          samplePeriod: 1,
          wakeup: options.watermark ?? options.wakeupEvents ?? 1,
          flags,
        }, { pid: -1, cpu, label: `perf buffer cpu ${cpu}` });
        let m: Mapping;
        try {
          m = Mapping.map(
            fd.value,
            (pages + 1) * page,
            this.#overwritable ? Prot.READ : Prot.READ | Prot.WRITE,
          );
        } catch (e) {
          fd.close();
          throw e;
        }
        const b = m.bytes;
        const dv = new DataView(b.buffer, b.byteOffset, page);
        const dataOff = Number(dv.getBigUint64(DATA_OFFSET, true)) || page;
        const dataSize = Number(dv.getBigUint64(DATA_SIZE, true)) || pages * page;
        const ring: Ring = {
          cpu,
          fd,
          map: m,
          u32: new Uint32Array(b.buffer, b.byteOffset, page / 4),
          head: new BigUint64Array(b.buffer, b.byteOffset + DATA_HEAD, 2),
          data: b.subarray(dataOff, dataOff + dataSize),
          size: dataSize,
        };
        this.#rings.push(ring);
        this.#byCpu.set(cpu, ring);
        const key = new Uint32Array([cpu]);
        const value = new Uint32Array([fd.value]);
        bpf("MAP_UPDATE_ELEM", { mapFd: this.#mapFd.value, key, value, flags: 0 });
        this.#poller.add(fd.value, cpu);
        ioctl(fd.value, PerfIoctl.ENABLE, 0, "PERF_EVENT_IOC_ENABLE");
      }
    } catch (e) {
      this.close();
      throw e;
    }
  }

  /** The CPUs this reader has rings for. */
  get cpus(): number[] {
    return this.#rings.map((r) => r.cpu);
  }

  #check(): void {
    if (this.#closed) throw new InvalidArgumentError("perf reader is closed");
  }

  #copyOut(r: Ring, off: number, len: number): Uint8Array {
    const start = off % r.size;
    if (start + len <= r.size) return r.data.subarray(start, start + len);
    if (this.#scratch.length < len) this.#scratch = new Uint8Array(len);
    const first = r.size - start;
    this.#scratch.set(r.data.subarray(start), 0);
    this.#scratch.set(r.data.subarray(0, len - first), first);
    return this.#scratch.subarray(0, len);
  }

  #readRing(r: Ring, cb: PerfRecordCallback, limit: number): [number, boolean] {
    if (this.#overwritable) {
      // Backward rings: data_head moves down from 0 (as a wrapping u64); the
      // newest record is at head, older ones follow it, up to one ring's worth.
      const start = Number(Atomics.load(r.head, 0) % BigInt(r.size));
      let count = 0;
      for (let pos = 0; pos + 8 <= r.size && count < limit;) {
        const h = this.#copyOut(r, start + pos, 8);
        const type = h[0] | (h[1] << 8) | (h[2] << 16) | (h[3] << 24);
        const size = h[6] | (h[7] << 8);
        if (size < 8 || pos + size > r.size) break;
        if (type === PERF_RECORD_SAMPLE) {
          const rec = this.#copyOut(r, start + pos + 8, size - 8);
          const len = new DataView(rec.buffer, rec.byteOffset).getUint32(0, true);
          count++;
          const data = rec.slice(4, 4 + len);
          if (cb({ cpu: r.cpu, data, lost: 0 }) === false) return [count, false];
        }
        pos += size;
      }
      return [count, true];
    }
    let head = Number(Atomics.load(r.head, 0));
    let tail = Number(Atomics.load(r.head, 1));
    let count = 0;
    let more = true;
    while (tail < head && count < limit) {
      const h = this.#copyOut(r, tail, 8);
      const type = h[0] | (h[1] << 8) | (h[2] << 16) | (h[3] << 24);
      const size = h[6] | (h[7] << 8);
      if (size < 8) break; // corrupt header: stop rather than spin
      const body = this.#copyOut(r, tail + 8, size - 8);
      const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
      if (type === PERF_RECORD_SAMPLE) {
        const len = dv.getUint32(0, true);
        count++;
        more = cb({ cpu: r.cpu, data: body.subarray(4, 4 + len), lost: 0 }) !== false;
      } else if (type === PERF_RECORD_LOST) {
        count++;
        more = cb({ cpu: r.cpu, lost: Number(dv.getBigUint64(8, true)) }) !== false;
      }
      tail += size;
      // write the tail's low half first (see RingBufReader): the kernel may only see it smaller
      const lo = tail % TWO32;
      Atomics.store(r.u32, 1032 / 4, lo);
      const hi = (tail - lo) / TWO32;
      if (r.u32[1036 / 4] !== hi) Atomics.store(r.u32, 1036 / 4, hi);
      if (!more) break;
      if (tail >= head) head = Number(Atomics.load(r.head, 0));
    }
    return [count, more];
  }

  /**
   * Hands every pending record of every ring to `cb`. Sample data are views
   * into the ring (or a scratch buffer for records that wrap): copy them to
   * keep them. Returns the number of records.
   */
  consume(cb: PerfRecordCallback, limit = Infinity): number {
    this.#check();
    checkLimit("perf reader consume", limit);
    let total = 0;
    for (const r of this.#rings) {
      const [n, more] = this.#readRing(r, cb, limit - total);
      total += n;
      if (!more || total >= limit) break;
    }
    return total;
  }

  /** Blocks the thread until a ring has data (or `timeoutMs` passes), then consumes. */
  poll(timeoutMs: number, cb: PerfRecordCallback): number {
    this.#check();
    checkTimeout("perf reader poll", timeoutMs);
    const n = this.consume(cb);
    if (n > 0) return n;
    this.#poller.wait(timeoutMs);
    return this.consume(cb);
  }

  /** Records as an async iterator (sample data copied); ends when `signal` aborts or on close. */
  records(options: { signal?: AbortSignal } = {}): AsyncGenerator<PerfRecord> {
    const drain = (batch: PerfRecord[]) =>
      this.consume((r) => {
        batch.push(r.data ? { ...r, data: r.data.slice() } : r);
      }, 4096);
    return pollRecords(this.#poller, drain, { closed: () => this.#closed, signal: options.signal });
  }

  /** Same as {@linkcode records} without options. */
  [Symbol.asyncIterator](): AsyncIterator<PerfRecord> {
    return this.records();
  }

  /** The next record, waiting when none is pending; `undefined` on abort or close. */
  async read(options: { signal?: AbortSignal } = {}): Promise<PerfRecord | undefined> {
    const it = this.records(options);
    const r = await it.next();
    await it.return(undefined);
    return r.done ? undefined : r.value;
  }

  /** Stops the kernel from writing samples (they are counted as lost); needed before reading overwritable rings. */
  pause(): void {
    this.#check();
    for (const r of this.#rings) {
      ioctl(r.fd.value, PerfIoctl.PAUSE_OUTPUT, 1, "PERF_EVENT_IOC_PAUSE_OUTPUT");
    }
    this.#paused = true;
  }

  /** Lets the kernel write samples again. */
  resume(): void {
    this.#check();
    for (const r of this.#rings) {
      ioctl(r.fd.value, PerfIoctl.PAUSE_OUTPUT, 0, "PERF_EVENT_IOC_PAUSE_OUTPUT");
    }
    this.#paused = false;
  }

  /** True while paused. */
  get paused(): boolean {
    return this.#paused;
  }

  /** Removes the rings from the map, unmaps them and closes every descriptor. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const r of this.#rings) {
      try {
        bpf("MAP_DELETE_ELEM", { mapFd: this.#mapFd.value, key: new Uint32Array([r.cpu]) });
      } catch { /* already gone */ }
      r.map.close();
      r.fd.close();
    }
    this.#rings = [];
    this.#poller?.close();
    this.#mapFd?.close();
  }

  /** Same as close, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}

/** Opens a reader on a perf event array map. */
export function perfReader(map: FdSource, options?: PerfReaderOptions): PerfReader {
  return new PerfReader(map, options);
}
