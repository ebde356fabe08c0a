/**
 * The typed errors every part of denobpf throws. Callers test for them with
 * `instanceof` (or the `code` field), the way cilium/ebpf callers use
 * `errors.Is` on its sentinel errors.
 *
 * @module
 */

/** Base class of every error denobpf throws on purpose. */
export class EbpfError extends Error {
  static {
    nameError(this, "EbpfError");
  }
  /** A stable, machine-readable code for the error class. */
  readonly code: string = "EBPF";
  /** Creates an error with a message and an optional cause. */
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.prototype.name;
  }
}

/**
 * Gives an error class's instances their `name`, as the source spells the
 * class: the published package is minified (tools/build_package.ts), which
 * renames classes, so `new.target.name` would not do. Every error class
 * calls it in a static block.
 */
export function nameError(cls: { prototype: Error }, name: string): void {
  // An assignment, not defineProperty: Error.prototype.name is writable, so this makes the
  // class's own (importing the package defines, it builds nothing: tests/import_cost_test.ts).
  cls.prototype.name = name;
}

/** Options shared by the error constructors. */
export interface ErrorOptions {
  /** The error this one wraps. */
  cause?: unknown;
}

/**
 * The kernel (or this machine) lacks something: a map or program type, a
 * helper, a link kind, a file such as vmlinux BTF. `feature` names it and
 * `requirement` says what brings it (a kernel version or a config option).
 */
export class NotSupportedError extends EbpfError {
  static {
    nameError(this, "NotSupportedError");
  }
  /** Always `"ENOTSUPPORTED"`. */
  override readonly code = "ENOTSUPPORTED";
  /** What is missing, e.g. `"map type ringbuf"`. */
  readonly feature: string;
  /** What provides it, e.g. `"Linux 5.8"` or `"CONFIG_DEBUG_INFO_BTF"`. */
  readonly requirement?: string;
  /** Creates the error; the message is built from the feature and requirement. */
  constructor(feature: string, requirement?: string, options?: ErrorOptions & { detail?: string }) {
    super(
      `${feature} is not supported${requirement ? ` (requires ${requirement})` : ""}` +
        (options?.detail ? `: ${options.detail}` : ""),
      options,
    );
    this.feature = feature;
    this.requirement = requirement;
  }
}

/** Something looked up by name or id does not exist (a symbol, a type, a key). */
export class NotFoundError extends EbpfError {
  static {
    nameError(this, "NotFoundError");
  }
  /** Always `"ENOTFOUND"`. */
  override readonly code = "ENOTFOUND";
  /** What was looked up. */
  readonly what: string;
  /** Creates the error for the thing that was looked up. */
  constructor(what: string, message?: string, options?: ErrorOptions) {
    super(message ?? `${what} not found`, options);
    this.what = what;
  }
}

/** An argument is malformed: a bad name, a key of the wrong size, an invalid option. */
export class InvalidArgumentError extends EbpfError {
  static {
    nameError(this, "InvalidArgumentError");
  }
  /** Always `"EINVALIDARG"`. */
  override readonly code = "EINVALIDARG";
}

/**
 * A binary format (BTF, ELF, kallsyms text, …) could not be parsed.
 * `format` names it and `offset`, where known, says where it went wrong.
 */
export class ParseError extends EbpfError {
  static {
    nameError(this, "ParseError");
  }
  /** Always `"EPARSE"`. */
  override readonly code = "EPARSE";
  /** The format being parsed, e.g. `"btf"`, `"elf"`, `"kallsyms"`. */
  readonly format: string;
  /** Byte offset (or line number for text formats) of the problem, if known. */
  readonly offset?: number;
  /** Creates the error. */
  constructor(format: string, message: string, options?: ErrorOptions & { offset?: number }) {
    super(
      `${format}: ${message}${
        options?.offset !== undefined ? ` (at offset ${options.offset})` : ""
      }`,
      options,
    );
    this.format = format;
    this.offset = options?.offset;
  }
}

/**
 * A file could not be read, written or removed for a reason other than its
 * absence: it is a directory, a FIFO or a device instead of a regular file,
 * it is larger than the reader accepts, a path component is not a
 * directory, or an I/O error. `path` names the file; `code` is the errno
 * name (`"EISDIR"`, `"ENOTDIR"`, `"EIO"`, …) or `"ENOTREGULAR"` (a FIFO,
 * socket or device), `"ETOOLARGE"` (over the size cap) or `"ENOTCAPABLE"`
 * (Deno's permission and `--allow-ffi` are both missing).
 */
export class FileError extends EbpfError {
  static {
    nameError(this, "FileError");
  }
  /** The errno name or one of the codes listed above. */
  override readonly code: string;
  /** The file concerned. */
  readonly path: string;
  /** The errno number, when a system call failed. */
  readonly errno?: number;
  /** Creates the error; `message` is the whole message (it should name the path). */
  constructor(
    path: string,
    code: string,
    message: string,
    options?: ErrorOptions & { errno?: number },
  ) {
    super(message, options);
    this.code = code;
    this.path = path;
    this.errno = options?.errno;
  }
}

/**
 * A file or directory does not exist (ENOENT). A {@linkcode NotFoundError}
 * whose `what` and `path` are the path; callers that treat a missing file as
 * "absent" test for this class.
 */
export class FileNotFoundError extends NotFoundError {
  static {
    nameError(this, "FileNotFoundError");
  }
  /** The path that does not exist. */
  readonly path: string;
  /** Always 2 (ENOENT). */
  readonly errno = 2;
  /** Creates the error; the default message is `<path> does not exist`. */
  constructor(path: string, message?: string, options?: ErrorOptions) {
    super(path, message ?? `${path} does not exist`, options);
    this.path = path;
  }
}

/**
 * A Deno permission denobpf needs was not granted (`code` `"ENOTCAPABLE"`):
 * usually `--allow-ffi`, through which every system call goes. `flag` is
 * the flag to add to `deno run`; the message names it.
 */
export class DenoPermissionError extends EbpfError {
  static {
    nameError(this, "DenoPermissionError");
  }
  /** Always `"ENOTCAPABLE"`. */
  override readonly code = "ENOTCAPABLE";
  /** The `deno run` flag that grants the permission, e.g. `"--allow-ffi"`. */
  readonly flag: string;
  /** Creates the error; `message` says what needed the permission and names `flag`. */
  constructor(flag: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.flag = flag;
  }
}
