/**
 * The syscall layer: one FFI binding of the C library, the bpf(2) syscall
 * with typed attributes, perf_event_open(2), mmap, errno and its errors, and
 * the owned file descriptor every kernel object is held by.
 *
 * @module
 */

export * from "./bpf.ts";
export * from "./errno.ts";
export * from "./error.ts";
export * from "./fd.ts";
export * from "./mmap.ts";
export * from "./perf_event.ts";
export * from "./uname.ts";
export {
  errno,
  libc,
  setErrno,
  SYMBOLS as LIBC_SYMBOLS,
  type Symbols as LibcSymbols,
} from "./_libc.ts";
export * from "./cpu.ts";
export * from "./obj.ts";
export * from "./epoll.ts";
export * from "./map_ref.ts";
export { fdOf, type FdSource } from "./fd_source.ts";
export * from "./open_path.ts";
export * from "./file.ts";
