/**
 * Ending cleanly: SIGINT (Ctrl-C), SIGTERM (`kill`), normal exit and
 * uncaught errors, for code that must undo something in the kernel before
 * the process goes (tracefs probe events outlive their process), and
 * {@linkcode interrupted}, an `AbortSignal` that aborts on SIGINT/SIGTERM
 * for programs that want to stop early and print their results.
 *
 * In Deno, a listener for a signal replaces its default action (ending the
 * process). So a library that listens must finish the job itself: after its
 * cleanup it re-raises the signal, unless the program has listeners of its
 * own for it. Deno cannot tell whether a signal has listeners, so this
 * module wraps `Deno.addSignalListener` / `Deno.removeSignalListener` once,
 * to see the program's listeners (its own go directly to Deno's functions
 * and are not counted).
 *
 * The wrapping happens on first use ({@linkcode onProcessEnd}, which the
 * library calls when it creates a legacy tracefs probe event, or
 * {@linkcode interrupted}), not when the module is loaded: importing the
 * library leaves the `Deno` namespace as it is. The limitation: a SIGINT or
 * SIGTERM listener the program added *before* that first use is not seen,
 * so on that signal the library cleans up and re-raises it (the process
 * ends by it). A program that handles those signals itself and also uses
 * legacy probe events should add its listeners after attaching, or use
 * {@linkcode interrupted}, which is always seen.
 *
 * @module
 */

/** The signals that end a program by default and that denobpf cleans up on: Ctrl-C and `kill`. */
type TerminationSignal = "SIGINT" | "SIGTERM";

/** `["SIGINT", "SIGTERM"]`. */
const TERMINATION_SIGNALS: readonly TerminationSignal[] = ["SIGINT", "SIGTERM"];

type Listener = () => void;
type SignalFn = (signal: Deno.Signal, handler: Listener) => void;

/** One per process, shared by every copy of this module (two versions of the library, say). */
interface Registry {
  /** Deno's own functions, for this module's listeners. */
  add: SignalFn;
  remove: SignalFn;
  /** The program's listeners, per signal. */
  others: Map<Deno.Signal, Set<Listener>>;
  /** Signals one of whose listeners was removed in the current task. */
  justRemoved: Set<Deno.Signal>;
}

const REGISTRY = Symbol.for("denobpf.signals");

function registry(): Registry {
  const g = globalThis as unknown as Record<symbol, Registry | undefined>;
  const have = g[REGISTRY];
  if (have) return have;
  const add: SignalFn = Deno.addSignalListener;
  const remove: SignalFn = Deno.removeSignalListener;
  const r: Registry = { add, remove, others: new Map(), justRemoved: new Set() };
  try {
    Deno.addSignalListener = (signal: Deno.Signal, handler: Listener): void => {
      add(signal, handler);
      let set = r.others.get(signal);
      if (!set) r.others.set(signal, set = new Set());
      set.add(handler);
    };
    Deno.removeSignalListener = (signal: Deno.Signal, handler: Listener): void => {
      remove(signal, handler);
      if (r.others.get(signal)?.delete(handler)) {
        // A listener that removes itself while the signal is dispatched
        // still handles this delivery, even if ours runs after it.
        r.justRemoved.add(signal);
        queueMicrotask(() => r.justRemoved.delete(signal));
      }
    };
  } catch {
    // A frozen Deno namespace: the program's listeners cannot be seen, and
    // signals count as unhandled by the program.
  }
  g[REGISTRY] = r;
  return r;
}

/**
 * True when the program listens for `signal` itself (`Deno.addSignalListener`,
 * or an {@linkcode interrupted} signal not aborted yet), so that the signal
 * does not end the process by default.
 */
function programHandlesSignal(signal: Deno.Signal): boolean {
  const reg = registry();
  return (reg.others.get(signal)?.size ?? 0) > 0 || reg.justRemoved.has(signal);
}

const EXIT_CODES: Record<TerminationSignal, number> = { SIGINT: 130, SIGTERM: 143 };

const cleanups = new Set<() => void>();
let installed = false;

const signalListeners: Record<TerminationSignal, Listener> = {
  SIGINT: () => onSignal("SIGINT"),
  SIGTERM: () => onSignal("SIGTERM"),
};

function onUnload(): void {
  runCleanups();
}

function onError(e: Event): void {
  // Deno ends the process after an uncaught error unless a listener
  // prevents it; it does not dispatch "unload" then.
  if (!e.defaultPrevented) runCleanups();
}

function onSignal(signal: TerminationSignal): void {
  // The program handles it: it decides whether and how to end, and its
  // exit runs the cleanups ("unload").
  if (programHandlesSignal(signal)) return;
  runCleanups(); // removes our listeners: the signal's default action is back
  try {
    Deno.kill(Deno.pid, signal); // end the way the signal would have
  } catch {
    Deno.exit(EXIT_CODES[signal]);
  }
}

function install(): void {
  if (installed) return;
  installed = true;
  const reg = registry();
  for (const s of TERMINATION_SIGNALS) reg.add(s, signalListeners[s]);
  globalThis.addEventListener("unload", onUnload);
  globalThis.addEventListener("error", onError);
  globalThis.addEventListener("unhandledrejection", onError);
}

function uninstall(): void {
  if (!installed) return;
  installed = false;
  const reg = registry();
  for (const s of TERMINATION_SIGNALS) reg.remove(s, signalListeners[s]);
  globalThis.removeEventListener("unload", onUnload);
  globalThis.removeEventListener("error", onError);
  globalThis.removeEventListener("unhandledrejection", onError);
}

function runCleanups(): void {
  for (const c of [...cleanups]) {
    cleanups.delete(c);
    try {
      c();
    } catch {
      // best effort: the process is ending
    }
  }
  uninstall();
}

/**
 * Runs `cleanup` once if the process ends while it is registered:
 *
 * - on SIGINT or SIGTERM the program does not handle itself (see
 *   {@linkcode programHandlesSignal}); the signal is then re-raised, so the
 *   process still ends by it (exit status 130 / 143 in a shell);
 * - at a normal exit or `Deno.exit()` (the `unload` event);
 * - on an uncaught exception or unhandled rejection, before Deno reports it.
 *
 * A signal the program handles is left to it: its exit runs the cleanup.
 * The listeners exist only while at least one cleanup is registered, so a
 * program with none keeps Deno's default behaviour. Disposing the result
 * unregisters `cleanup` (idempotent).
 */
export function onProcessEnd(cleanup: () => void): Disposable {
  const entry = () => cleanup();
  cleanups.add(entry);
  install();
  return {
    [Symbol.dispose]() {
      cleanups.delete(entry);
      if (cleanups.size === 0) uninstall();
    },
  };
}

/** Options of {@linkcode interrupted}. */
export interface InterruptedOptions {
  /** The signals to stop on (default SIGINT and SIGTERM). */
  signals?: readonly Deno.Signal[];
}

/**
 * An `AbortSignal` that aborts on the first SIGINT (Ctrl-C) or SIGTERM, for
 * `runFor(seconds, { signal })` and `events({ signal })`: the program stops
 * early, prints its results and exits normally. Its reason is an
 * `AbortError` naming the signal. While it waits, those signals no longer
 * end the process; once it has aborted (or is disposed) its listeners are
 * gone, so a second Ctrl-C ends the process as usual.
 *
 * @example
 * ```ts ignore
 * using stop = interrupted();
 * const counts = await calls.runFor(30, { signal: stop });
 * calls.print();
 * ```
 */
export function interrupted(options: InterruptedOptions = {}): AbortSignal & Disposable {
  const controller = new AbortController();
  let active = true;
  const listeners = (options.signals ?? TERMINATION_SIGNALS).map((signal) => ({
    signal,
    listener: () => {
      stop();
      controller.abort(new DOMException(`interrupted by ${signal}`, "AbortError"));
    },
  }));
  const stop = () => {
    if (!active) return;
    active = false;
    for (const l of listeners) Deno.removeSignalListener(l.signal, l.listener);
  };
  // Through the (wrapped) global functions: the program handles these now.
  registry();
  for (const l of listeners) Deno.addSignalListener(l.signal, l.listener);
  return Object.assign(controller.signal, { [Symbol.dispose]: stop });
}
