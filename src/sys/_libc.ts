// The one Deno.dlopen of the C library that the whole of denobpf shares.
// Private to src/sys: everything else goes through the typed wrappers.

import { DenoPermissionError } from "../errors.ts";

/**
 * The C library functions denobpf binds, as `Deno.dlopen` symbol definitions
 * (exported from src/sys as `LIBC_SYMBOLS`).
 */
export const SYMBOLS = {
  syscall6: {
    name: "syscall",
    parameters: ["i64", "i64", "i64", "i64", "i64", "i64", "i64"],
    result: "i64",
  },
  /** syscall(nr, int, buffer, size): the shape of bpf(2). */
  syscallBuf: { name: "syscall", parameters: ["i64", "i64", "buffer", "i64"], result: "i64" },
  /** The same with an int result (bpf(2) returns an fd, 0 or -1): no bigint per call. */
  syscallBufInt: { name: "syscall", parameters: ["i64", "i64", "buffer", "i64"], result: "i32" },
  /** The same on a raw address (a preallocated, pinned attribute): no buffer unwrapping. */
  syscallPtrInt: { name: "syscall", parameters: ["i64", "i64", "pointer", "i64"], result: "i32" },
  /** syscallBuf on a worker thread (long BPF_PROG_TEST_RUNs); errno is the worker's, not ours. */
  syscallBufAsync: {
    name: "syscall",
    parameters: ["i64", "i64", "buffer", "i64"],
    result: "i64",
    nonblocking: true,
  },
  /** syscall(nr, buffer, pid, cpu, group_fd, flags): the shape of perf_event_open(2). */
  syscallPerf: {
    name: "syscall",
    parameters: ["i64", "buffer", "i64", "i64", "i64", "i64"],
    result: "i64",
  },
  __errno_location: { parameters: [], result: "pointer" },
  close: { parameters: ["i32"], result: "i32" },
  /** close(2) on a worker thread: a link's last close waits for RCU grace periods (~30 ms). */
  closeAsync: { name: "close", parameters: ["i32"], result: "i32", nonblocking: true },
  dup: { parameters: ["i32"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i64"], result: "i32" },
  mmap: { parameters: ["pointer", "usize", "i32", "i32", "i32", "i64"], result: "pointer" },
  munmap: { parameters: ["pointer", "usize"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "i64"], result: "i32" },
  ioctlBuf: { name: "ioctl", parameters: ["i32", "u64", "buffer"], result: "i32" },
  read: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  write: { parameters: ["i32", "buffer", "usize"], result: "isize" },
  uname: { parameters: ["buffer"], result: "i32" },
  getpid: { parameters: [], result: "i32" },
  gettid: { parameters: [], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  epoll_wait_async: {
    name: "epoll_wait",
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "isize" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "isize" },
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  setns: { parameters: ["i32", "i32"], result: "i32" },
  unshare: { parameters: ["i32"], result: "i32" },
  sched_getcpu: { parameters: [], result: "i32" },
  /** pthread_sigmask(how, set, oldset): src/sys/eagain.ts blocks signals for one last try. */
  pthread_sigmask: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  /** realpath(path, resolved[PATH_MAX]): src/sys/file.ts without --allow-read. */
  realpath: { parameters: ["buffer", "buffer"], result: "pointer" },
} as const;

/** The bound C library functions `libc()` returns (exported from src/sys as `LibcSymbols`). */
export type Symbols = Deno.DynamicLibrary<typeof SYMBOLS>["symbols"];
type Name = keyof typeof SYMBOLS;

const CANDIDATES = ["libc.so.6", "libc.so", "/lib/x86_64-linux-gnu/libc.so.6"];
let libPath: string | undefined;
// Every handle stays open for the life of the process (symbols point into it).
const handles: Deno.DynamicLibrary<Deno.ForeignLibraryInterface>[] = [];

function permissionError(e: unknown): Error {
  return new DenoPermissionError(
    "--allow-ffi",
    "denobpf needs FFI access to the C library: run deno with --allow-ffi (or -A)",
    { cause: e },
  );
}

// Binding a symbol compiles a call trampoline for it, about 0.1 ms each; a
// short script uses a handful of the symbols, so each one is bound on first
// use (one dlopen of the same library per symbol, which the loader shares).
function bind<K extends Name>(name: K): Symbols[K] {
  const iface = { [name]: SYMBOLS[name] } as Pick<typeof SYMBOLS, K>;
  if (libPath !== undefined) {
    const h = Deno.dlopen(libPath, iface);
    handles.push(h as unknown as Deno.DynamicLibrary<Deno.ForeignLibraryInterface>);
    return h.symbols[name] as Symbols[K];
  }
  let last: unknown;
  for (const path of CANDIDATES) {
    try {
      const h = Deno.dlopen(path, iface);
      handles.push(h as unknown as Deno.DynamicLibrary<Deno.ForeignLibraryInterface>);
      libPath = path;
      return h.symbols[name] as Symbols[K];
    } catch (e) {
      last = e;
      if (e instanceof Deno.errors.NotCapable || e instanceof Deno.errors.PermissionDenied) {
        throw permissionError(e);
      }
    }
  }
  throw new Error(`denobpf could not open the C library (tried ${CANDIDATES.join(", ")})`, {
    cause: last,
  });
}

// The object of lazy getters is itself made on the first libc() call, not
// when this module is loaded (importing the library does no work).
let lazy: Symbols | undefined;

function lazySymbols(): Symbols {
  const obj = {} as Symbols;
  for (const name of Object.keys(SYMBOLS) as Name[]) {
    Object.defineProperty(obj, name, {
      configurable: true,
      enumerable: true,
      get() {
        const fn = bind(name);
        Object.defineProperty(obj, name, { value: fn, enumerable: true, writable: false });
        return fn;
      },
    });
  }
  return obj;
}

let errnoView: Deno.UnsafePointerView | undefined;

/** The C library's symbols, each bound on first use. */
export function libc(): Symbols {
  return lazy ??= lazySymbols();
}

/**
 * The calling thread's errno. Read it straight after a call that failed:
 * the pointer is the thread's own, and nothing between the failing call and
 * this read runs C library code that could set errno (only failing calls set it).
 */
export function errno(): number {
  if (errnoView === undefined) {
    errnoView = new Deno.UnsafePointerView(libc().__errno_location()!);
  }
  return errnoView.getInt32(0);
}

/** Sets the calling thread's errno (used to prove that errno is read fresh). */
export function setErrno(value: number): void {
  const p = libc().__errno_location()!;
  new Int32Array(Deno.UnsafePointerView.getArrayBuffer(p, 4))[0] = value;
}
