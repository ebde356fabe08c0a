/**
 * epoll(7) with an eventfd for wake-ups: the readiness loop under the ring
 * and perf buffer readers. Waiting can block the calling thread (`wait`) or
 * run on a worker thread and resolve a promise (`waitAsync`), and an
 * AbortSignal or `wake()` ends a wait early.
 *
 * @module
 */

import { errno, libc } from "./_libc.ts";
import { EINTR } from "./errno.ts";
import { SyscallError } from "./error.ts";

const EPOLL_CLOEXEC = 0o2000000;
const EFD_CLOEXEC = 0o2000000;
const EFD_NONBLOCK = 0o4000;
const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
/** Readable. */
export const EPOLLIN = 1;

// struct epoll_event is packed (12 bytes) on x86_64 and 16 bytes elsewhere.
const EVENT_SIZE = Deno.build.arch === "x86_64" ? 12 : 16;
const DATA_OFF = Deno.build.arch === "x86_64" ? 4 : 8;
const WAKE = 0xffffffff;

/** An epoll set of descriptors, each tagged with a number returned when it is ready. */
export class Poller implements Disposable {
  #epfd: number;
  #evfd: number;
  #events: Uint8Array;
  #view: DataView;
  #max: number;
  #waiting = 0;
  #closePending = false;

  /** Creates the epoll set; `maxEvents` bounds the ready list of one wait. */
  constructor(maxEvents = 64) {
    this.#max = maxEvents;
    this.#events = new Uint8Array(EVENT_SIZE * maxEvents);
    this.#view = new DataView(this.#events.buffer);
    const ep = libc().epoll_create1(EPOLL_CLOEXEC);
    if (ep < 0) throw new SyscallError("epoll_create1", errno());
    const ev = libc().eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (ev < 0) {
      const e = errno();
      libc().close(ep);
      throw new SyscallError("eventfd", e);
    }
    this.#epfd = ep;
    this.#evfd = ev;
    this.add(ev, WAKE);
  }

  /** Adds `fd` (readable events), tagged with `tag` (0 ≤ tag < 2³²−1). */
  add(fd: number, tag: number): void {
    const ev = new Uint8Array(16);
    const dv = new DataView(ev.buffer);
    dv.setUint32(0, EPOLLIN, true);
    dv.setUint32(DATA_OFF, tag >>> 0, true);
    if (libc().epoll_ctl(this.#epfd, EPOLL_CTL_ADD, fd, ev) < 0) {
      throw new SyscallError("epoll_ctl", errno(), { command: "EPOLL_CTL_ADD" });
    }
  }

  /** Removes `fd` from the set. */
  remove(fd: number): void {
    if (libc().epoll_ctl(this.#epfd, EPOLL_CTL_DEL, fd, new Uint8Array(16)) < 0) {
      throw new SyscallError("epoll_ctl", errno(), { command: "EPOLL_CTL_DEL" });
    }
  }

  #collect(n: number): number[] {
    const out: number[] = [];
    let woken = false;
    for (let i = 0; i < n; i++) {
      const tag = this.#view.getUint32(i * EVENT_SIZE + DATA_OFF, true);
      if (tag === WAKE) woken = true;
      else out.push(tag);
    }
    if (woken) libc().read(this.#evfd, new Uint8Array(8), 8n);
    return out;
  }

  /**
   * Blocks the calling thread until a descriptor is ready, `timeoutMs`
   * passes (−1: forever) or `wake()` is called; returns the ready tags.
   */
  wait(timeoutMs: number): number[] {
    const n = libc().epoll_wait(this.#epfd, this.#events, this.#max, timeoutMs);
    if (n < 0) {
      const e = errno();
      if (e === EINTR) return [];
      throw new SyscallError("epoll_wait", e);
    }
    return this.#collect(n);
  }

  /**
   * Waits on a worker thread, so the event loop keeps running; an aborted
   * `signal` ends the wait early (resolving to no tags).
   */
  async waitAsync(timeoutMs: number, signal?: AbortSignal): Promise<number[]> {
    if (signal?.aborted) return [];
    const onAbort = () => this.wake();
    signal?.addEventListener("abort", onAbort, { once: true });
    this.#waiting++;
    const events = new Uint8Array(EVENT_SIZE * this.#max);
    let n: number;
    try {
      n = await libc().epoll_wait_async(this.#epfd, events, this.#max, timeoutMs);
    } finally {
      this.#waiting--;
      signal?.removeEventListener("abort", onAbort);
      if (this.#closePending && this.#waiting === 0) this.#closeNow();
    }
    if (n < 0) return []; // errno belongs to the worker thread: treat as spurious (EINTR)
    this.#events.set(events.subarray(0, n * EVENT_SIZE));
    return this.#collect(n);
  }

  /** Ends a pending wait (from another task or an abort handler). */
  wake(): void {
    if (this.#evfd < 0) return;
    const one = new Uint8Array(8);
    one[0] = 1;
    libc().write(this.#evfd, one, 8n);
  }

  #closeNow(): void {
    if (this.#epfd >= 0) libc().close(this.#epfd);
    if (this.#evfd >= 0) libc().close(this.#evfd);
    this.#epfd = -1;
    this.#evfd = -1;
  }

  /** Closes the set; a pending `waitAsync` is woken first and the descriptors close after it returns. */
  close(): void {
    if (this.#epfd < 0) return;
    if (this.#waiting > 0) {
      this.#closePending = true;
      this.wake();
      return;
    }
    this.#closeNow();
  }

  /** Same as close, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }
}
