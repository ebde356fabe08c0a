/**
 * Yielding to the event loop from a long-running async loop (a reader that
 * drains a ring faster than its consumer keeps up): `await` of a resolved
 * promise runs only microtasks, so timers (`AbortSignal.timeout`), I/O
 * and signal listeners wait until the loop blocks; {@linkcode nextTurn}
 * resolves on a later turn of the event loop, after them.
 *
 * @module
 */

/**
 * Resolves on a later turn of the event loop, once due timers, I/O
 * callbacks and signal listeners have had their chance to run. A
 * `MessageChannel` message rather than `setTimeout(0)`, which nested
 * timers clamp to 4 ms: this costs tens of microseconds. Keeps no handle
 * open after it resolves.
 */
export function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port2.onmessage = () => {
      port1.close();
      port2.close();
      resolve();
    };
    port1.postMessage(null);
  });
}
