// The async iteration the ring buffer and perf buffer readers share: drain
// what is pending into a batch (copied by the caller), yield it, let the
// event loop turn, and wait on the reader's Poller (on a worker thread) when
// nothing was pending.

import { InvalidArgumentError } from "../errors.ts";
import type { Poller } from "./epoll.ts";
import { nextTurn } from "./event_loop.ts";

/** Options of {@link pollRecords}. */
export interface PollRecordsOptions {
  /** True once the reader is closed: the iteration ends. */
  closed: () => boolean;
  /** Ends the iteration (and a pending wait) when aborted. */
  signal?: AbortSignal;
}

/**
 * Yields what `drain` pushes into the batch (up to the reader's own limit
 * per call), waiting on `poller` whenever a drain finds nothing. Between
 * two batches the event loop turns (timers, `AbortSignal.timeout`, I/O),
 * even while a producer keeps the ring from ever being empty.
 */
export async function* pollRecords<T>(
  poller: Poller,
  drain: (batch: T[]) => void,
  options: PollRecordsOptions,
): AsyncGenerator<T> {
  const batch: T[] = [];
  for (;;) {
    if (options.closed() || options.signal?.aborted) return;
    drain(batch);
    if (batch.length) {
      for (const r of batch) yield r;
      batch.length = 0;
      await nextTurn();
      continue;
    }
    await poller.waitAsync(-1, options.signal);
  }
}

/** A timeout for epoll_wait: an integer number of milliseconds, −1 for none. */
export function checkTimeout(what: string, timeoutMs: number): void {
  if (
    typeof timeoutMs !== "number" || !Number.isInteger(timeoutMs) || timeoutMs < -1 ||
    timeoutMs > 0x7fffffff
  ) {
    throw new InvalidArgumentError(
      `${what}: timeoutMs must be an integer from 0 to ${0x7fffffff} (or −1 to wait without ` +
        `a timeout), got ` +
        `${typeof timeoutMs === "number" ? timeoutMs : typeof timeoutMs}`,
    );
  }
}

/** A record limit: a non-negative integer or Infinity. */
export function checkLimit(what: string, limit: number): void {
  if (
    typeof limit !== "number" || Number.isNaN(limit) || limit < 0 ||
    (!Number.isInteger(limit) && limit !== Infinity)
  ) {
    throw new InvalidArgumentError(
      `${what}: limit must be a non-negative integer or Infinity, got ${
        typeof limit === "number" ? limit : typeof limit
      }`,
    );
  }
}
