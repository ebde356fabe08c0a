/**
 * Linux errno numbers and names (the generic table, used by x86_64 and
 * arm64), plus ENOTSUPP (524), the kernel-internal code that the bpf(2)
 * syscall leaks to user space.
 *
 * @module
 */

const TABLE: ReadonlyArray<readonly [string, number, string]> = [
  ["EPERM", 1, "Operation not permitted"],
  ["ENOENT", 2, "No such file or directory"],
  ["ESRCH", 3, "No such process"],
  ["EINTR", 4, "Interrupted system call"],
  ["EIO", 5, "Input/output error"],
  ["ENXIO", 6, "No such device or address"],
  ["E2BIG", 7, "Argument list too long"],
  ["ENOEXEC", 8, "Exec format error"],
  ["EBADF", 9, "Bad file descriptor"],
  ["ECHILD", 10, "No child processes"],
  ["EAGAIN", 11, "Resource temporarily unavailable"],
  ["ENOMEM", 12, "Cannot allocate memory"],
  ["EACCES", 13, "Permission denied"],
  ["EFAULT", 14, "Bad address"],
  ["ENOTBLK", 15, "Block device required"],
  ["EBUSY", 16, "Device or resource busy"],
  ["EEXIST", 17, "File exists"],
  ["EXDEV", 18, "Invalid cross-device link"],
  ["ENODEV", 19, "No such device"],
  ["ENOTDIR", 20, "Not a directory"],
  ["EISDIR", 21, "Is a directory"],
  ["EINVAL", 22, "Invalid argument"],
  ["ENFILE", 23, "Too many open files in system"],
  ["EMFILE", 24, "Too many open files"],
  ["ENOTTY", 25, "Inappropriate ioctl for device"],
  ["ETXTBSY", 26, "Text file busy"],
  ["EFBIG", 27, "File too large"],
  ["ENOSPC", 28, "No space left on device"],
  ["ESPIPE", 29, "Illegal seek"],
  ["EROFS", 30, "Read-only file system"],
  ["EMLINK", 31, "Too many links"],
  ["EPIPE", 32, "Broken pipe"],
  ["EDOM", 33, "Numerical argument out of domain"],
  ["ERANGE", 34, "Numerical result out of range"],
  ["EDEADLK", 35, "Resource deadlock avoided"],
  ["ENAMETOOLONG", 36, "File name too long"],
  ["ENOLCK", 37, "No locks available"],
  ["ENOSYS", 38, "Function not implemented"],
  ["ENOTEMPTY", 39, "Directory not empty"],
  ["ELOOP", 40, "Too many levels of symbolic links"],
  ["ENOMSG", 42, "No message of desired type"],
  ["EIDRM", 43, "Identifier removed"],
  ["ENODATA", 61, "No data available"],
  ["ETIME", 62, "Timer expired"],
  ["ENOLINK", 67, "Link has been severed"],
  ["EPROTO", 71, "Protocol error"],
  ["EBADMSG", 74, "Bad message"],
  ["EOVERFLOW", 75, "Value too large for defined data type"],
  ["EBADFD", 77, "File descriptor in bad state"],
  ["EILSEQ", 84, "Invalid or incomplete multibyte or wide character"],
  ["ENOTSOCK", 88, "Socket operation on non-socket"],
  ["EMSGSIZE", 90, "Message too long"],
  ["EPROTOTYPE", 91, "Protocol wrong type for socket"],
  ["ENOPROTOOPT", 92, "Protocol not available"],
  ["EPROTONOSUPPORT", 93, "Protocol not supported"],
  ["EOPNOTSUPP", 95, "Operation not supported"],
  ["EAFNOSUPPORT", 97, "Address family not supported by protocol"],
  ["EADDRINUSE", 98, "Address already in use"],
  ["EADDRNOTAVAIL", 99, "Cannot assign requested address"],
  ["ENETDOWN", 100, "Network is down"],
  ["ENOBUFS", 105, "No buffer space available"],
  ["ETIMEDOUT", 110, "Connection timed out"],
  ["ECONNREFUSED", 111, "Connection refused"],
  ["EALREADY", 114, "Operation already in progress"],
  ["EINPROGRESS", 115, "Operation now in progress"],
  ["ESTALE", 116, "Stale file handle"],
  ["EDQUOT", 122, "Disk quota exceeded"],
  ["ECANCELED", 125, "Operation canceled"],
  ["EOWNERDEAD", 130, "Owner died"],
  ["ENOTRECOVERABLE", 131, "State not recoverable"],
  ["ERFKILL", 132, "Operation not possible due to RF-kill"],
  ["EHWPOISON", 133, "Memory page has hardware error"],
  ["ENOTSUPP", 524, "Operation is not supported (kernel-internal ENOTSUPP)"],
];

/** Table rows by errno number, built on first use (not at import). */
let byNumber: Map<number, readonly [string, number, string]> | undefined;
function row(errno: number): readonly [string, number, string] | undefined {
  if (byNumber === undefined) {
    byNumber = new Map();
    for (const r of TABLE) byNumber.set(r[1], r);
  }
  return byNumber.get(errno);
}

/** Errno numbers by name, e.g. `Errno.ENOENT === 2`. */
export const Errno: Readonly<Record<string, number>> = (() => {
  const out: Record<string, number> = {};
  for (const r of TABLE) out[r[0]] = r[1];
  return Object.freeze(out);
})();

/** The symbolic name of an errno number, e.g. `"ENOENT"`, or `"E<n>"` for unknown numbers. */
export function errnoName(errno: number): string {
  return row(errno)?.[0] ?? `E${errno}`;
}

/** The C library's description of an errno number, e.g. `"No such file or directory"`. */
export function errnoText(errno: number): string {
  return row(errno)?.[2] ?? `Unknown error ${errno}`;
}

/** The errno numbers the bpf(2) syscall and its helpers commonly return. */
export const ENOENT = 2;
/** Operation not permitted. */
export const EPERM = 1;
/** Bad file descriptor. */
export const EBADF = 9;
/** Invalid argument. */
export const EINVAL = 22;
/** Argument list too long (the kernel does not know a trailing attribute field). */
export const E2BIG = 7;
/** Try again. */
export const EAGAIN = 11;
/** Out of memory (or memlock limit on kernels before 5.11). */
export const ENOMEM = 12;
/** Permission denied. */
export const EACCES = 13;
/** Already exists. */
export const EEXIST = 17;
/** No space left (verifier log buffer too small). */
export const ENOSPC = 28;
/** Operation not supported. */
export const EOPNOTSUPP = 95;
/** Kernel-internal "not supported". */
export const ENOTSUPP = 524;
/** Interrupted. */
export const EINTR = 4;
/** Not a directory. */
export const ENOTDIR = 20;
/** Is a directory. */
export const EISDIR = 21;
/** Device busy. */
export const EBUSY = 16;
/** Function not implemented. */
export const ENOSYS = 38;
/** No such device. */
export const ENODEV = 19;
/** No such process. */
export const ESRCH = 3;
/** Value too large. */
export const EOVERFLOW = 75;
/** Bad address. */
export const EFAULT = 14;
