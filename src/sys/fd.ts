import { InvalidArgumentError } from "../errors.ts";
import { errno, libc } from "./_libc.ts";
import { SyscallError } from "./error.ts";
import { readDirNames } from "./file.ts";

// A backstop for descriptors a program forgot to close. Explicit close() (or
// `using`) is the contract; this only stops a long-running script from
// running out of descriptors when it drops objects on the floor.
const registry = new FinalizationRegistry<number>((fd) => {
  libc().close(fd);
});

/**
 * An owned file descriptor. Every denobpf object that holds a kernel object
 * (map, program, link, BTF, perf event, …) holds one of these; closing it is
 * idempotent and `using fd = …` closes it at the end of the scope.
 */
export class FD implements Disposable {
  #fd: number;
  /** What the descriptor refers to, for error messages (e.g. `"map counts"`). */
  readonly label: string;

  /** Takes ownership of `fd`, a non-negative descriptor number. */
  constructor(fd: number, label = "fd") {
    if (!Number.isInteger(fd) || fd < 0) {
      throw new InvalidArgumentError(`invalid file descriptor ${fd} for ${label}`);
    }
    this.#fd = fd;
    this.label = label;
    registry.register(this, fd, this);
  }

  /** The descriptor number; throws if the descriptor was closed. */
  get value(): number {
    if (this.#fd < 0) {
      throw new InvalidArgumentError(`${this.label} is closed (file descriptor already released)`);
    }
    return this.#fd;
  }

  /** True once `close()` ran. */
  get closed(): boolean {
    return this.#fd < 0;
  }

  /** A new descriptor for the same kernel object (dup(2) with close-on-exec). */
  dup(label = this.label): FD {
    const F_DUPFD_CLOEXEC = 1030;
    const fd = libc().fcntl(this.value, F_DUPFD_CLOEXEC, 0n);
    if (fd < 0) throw new SyscallError("fcntl", errno(), { command: "F_DUPFD_CLOEXEC" });
    return new FD(fd, label);
  }

  /** Closes the descriptor. Calling it again does nothing. */
  close(): void {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;
    registry.unregister(this);
    libc().close(fd);
  }

  /**
   * Closes the descriptor on a worker thread: for a close that waits in the
   * kernel (detaching a tracepoint waits for RCU grace periods), so that
   * several run at once. The FD counts as closed at once.
   */
  async closeAsync(): Promise<void> {
    const fd = this.#fd;
    if (fd < 0) return;
    this.#fd = -1;
    registry.unregister(this);
    await libc().closeAsync(fd);
  }

  /** Same as {@linkcode FD.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** A short description, e.g. `FD(7, map counts)`. */
  toString(): string {
    return `FD(${this.#fd}, ${this.label})`;
  }
}

/** Closes a raw descriptor number that no FD owns; ignores errors. */
export function closeRawFd(fd: number): void {
  if (fd >= 0) libc().close(fd);
}

/** The number of descriptors this process has open (from /proc/self/fd). */
export function openFdCount(): number {
  return readDirNames("/proc/self/fd").length - 1; // the directory handle itself
}
