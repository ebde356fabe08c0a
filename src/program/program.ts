/**
 * A loaded program: the {@linkcode Program} class, which owns the program's
 * descriptor, and the ways to get one for a program loaded elsewhere (by id,
 * by pin path, from a descriptor).
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { FD } from "../sys/fd.ts";
import { objFromId, objGet, objPin, objUnpin } from "../sys/obj.ts";
import {
  type ProgramInfo,
  readJited,
  readProgramInfo,
  readProgramType,
  readXlated,
} from "./info.ts";
import { testRunAsync, testRunSync } from "./_test_run.ts";
import type { TestRunOptions, TestRunResult } from "./test_run.ts";
import { programTypeLabel } from "./_tables.ts";

/** Metadata a {@linkcode Program} is created with. */
export interface ProgramMeta {
  /** The program type number. */
  type: number;
  /** The program's name ("" if none). */
  name?: string;
  /** The verifier log of the load, when one was asked for. */
  verifierLog?: string;
  /** The path the program is pinned at, if known. */
  pinnedPath?: string;
}

/**
 * A program loaded in the kernel. It owns a descriptor: `close()` (or
 * `using`) releases it; the kernel frees the program when no descriptor,
 * pin, link or attachment holds it any more.
 *
 * Create one with `loadProgram`, {@linkcode programFromId},
 * {@linkcode programFromPinned} or {@linkcode programFromFd}.
 */
export class Program implements Disposable {
  /** The program's descriptor. */
  readonly fd: FD;
  /** The program type number (`enum bpf_prog_type`). */
  readonly type: number;
  /** The program's name ("" if it has none). */
  readonly name: string;
  /** The verifier log of the load, if the spec asked for one (`logLevel` > 0). */
  readonly verifierLog?: string;
  #pinnedPath?: string;
  #id?: number;

  /** Wraps a descriptor this object takes ownership of. Prefer `loadProgram`. */
  constructor(fd: FD, meta: ProgramMeta) {
    this.fd = fd;
    this.type = meta.type;
    this.name = meta.name ?? "";
    this.verifierLog = meta.verifierLog;
    this.#pinnedPath = meta.pinnedPath;
  }

  /** The program type's name, e.g. `"xdp"`. */
  get typeName(): string {
    return programTypeLabel(this.type);
  }

  /** The kernel-wide program id (read once, then cached). */
  get id(): number {
    return this.#id ??= readProgramInfo(this.fd.value).id;
  }

  /** The path the program was pinned at by {@linkcode Program.pin} or opened from, if any. */
  get pinnedPath(): string | undefined {
    return this.#pinnedPath;
  }

  /** True once {@linkcode Program.close} ran. */
  get closed(): boolean {
    return this.fd.closed;
  }

  /**
   * Runs the program once (or `repeat` times) on `data`/`context` with
   * BPF_PROG_TEST_RUN, on a worker thread. Resolves to the return value, the
   * mean duration in ns, the output data and (if asked for) the output context.
   *
   * @example
   * ```ts ignore
   * const { retval, data } = await prog.testRun({ data: packet });
   * ```
   */
  async testRun(options: TestRunOptions = {}): Promise<TestRunResult> {
    return await testRunAsync(this.fd.value, this.type, options);
  }

  /** Like {@linkcode Program.testRun}, but runs on the calling thread and returns the result. */
  testRunSync(options: TestRunOptions = {}): TestRunResult {
    return testRunSync(this.fd.value, this.type, options);
  }

  /** What the kernel reports about the program (`struct bpf_prog_info`). */
  info(): ProgramInfo {
    const info = readProgramInfo(this.fd.value);
    this.#id = info.id;
    return info;
  }

  /** The instructions after the verifier's rewrites (8 bytes each). */
  xlated(): Uint8Array {
    return readXlated(this.fd.value);
  }

  /** The JIT-compiled machine code; empty if the program is not JITed. */
  jited(): Uint8Array {
    return readJited(this.fd.value);
  }

  /** Pins the program at `path` on a bpffs mount, so it outlives this process. */
  pin(path: string): void {
    objPin(this.fd.value, path);
    this.#pinnedPath = path;
  }

  /** Removes the pin made by {@linkcode Program.pin} (or the one it was opened from). */
  unpin(): void {
    if (this.#pinnedPath === undefined) return;
    objUnpin(this.#pinnedPath);
    this.#pinnedPath = undefined;
  }

  /** A second handle on the same program, with its own descriptor. */
  clone(): Program {
    return new Program(this.fd.dup(), {
      type: this.type,
      name: this.name,
      verifierLog: this.verifierLog,
      pinnedPath: this.#pinnedPath,
    });
  }

  /** Closes the descriptor (idempotent). A pin keeps the program loaded. */
  close(): void {
    this.fd.close();
  }

  /** Same as {@linkcode Program.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** A short description, e.g. `Program(xdp "pass", fd 7)`. */
  toString(): string {
    const name = this.name ? ` "${this.name}"` : "";
    return `Program(${this.typeName}${name}, ${this.closed ? "closed" : `fd ${this.fd.value}`})`;
  }
}

function fromFd(fd: FD, pinnedPath?: string): Program {
  try {
    const { type, name } = readProgramType(fd.value);
    return new Program(fd, { type, name, pinnedPath });
  } catch (e) {
    fd.close();
    throw e;
  }
}

function isProgramFd(fd: number): boolean {
  try {
    return Deno.readLinkSync(`/proc/self/fd/${fd}`) === "anon_inode:bpf-prog";
  } catch {
    return true; // no /proc: let BPF_OBJ_GET_INFO_BY_FD decide
  }
}

/**
 * Wraps a program descriptor obtained elsewhere (inherited, received over a
 * socket). The returned program takes ownership of `fd` and closes it; if
 * `fd` is not a program, it throws `InvalidArgumentError` and leaves `fd` open.
 */
export function programFromFd(fd: number): Program {
  if (!Number.isInteger(fd) || fd < 0 || !isProgramFd(fd)) {
    throw new InvalidArgumentError(`file descriptor ${fd} is not a BPF program`);
  }
  return fromFd(new FD(fd, `program fd ${fd}`));
}

/** Opens the program with kernel id `id` (needs CAP_SYS_ADMIN). */
export function programFromId(id: number): Program {
  return fromFd(objFromId("prog", id));
}

/** Options for {@linkcode programFromPinned}. */
export interface PinnedProgramOptions {
  /** Open read-only (BPF_F_RDONLY): enough for info and test runs. */
  readOnly?: boolean;
}

/** Opens the program pinned at `path` on a bpffs mount. */
export function programFromPinned(path: string, options: PinnedProgramOptions = {}): Program {
  const fd = objGet(path, { fileFlags: options.readOnly ? 1 << 3 : 0, label: `program ${path}` });
  if (!isProgramFd(fd.value)) {
    fd.close();
    throw new InvalidArgumentError(`${path} is pinned, but is not a BPF program`);
  }
  return fromFd(fd, path);
}

/** Alias of {@linkcode programFromPinned}, named as in cilium/ebpf (`LoadPinnedProgram`). */
export const loadPinnedProgram: typeof programFromPinned = programFromPinned;
