/**
 * A loaded program: the {@linkcode Program} class, which owns the program's
 * descriptor, and the ways to get one for a program loaded elsewhere (by id,
 * by pin path, from a descriptor).
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { FD } from "../sys/fd.ts";
import { readLink } from "../sys/file.ts";
import { SyscallError } from "../sys/error.ts";
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
import { attachTypeLabel, FIXED_ATTACH_TYPES, programTypeLabel } from "./_tables.ts";
import { type AttachTypeLike, attachTypeNumber } from "./types.ts";

const STRUCT_OPS = 27;

/** Metadata a {@linkcode Program} is created with. */
export interface ProgramMeta {
  /** The program type number. */
  type: number;
  /** The program's name ("" if none). */
  name?: string;
  /** The expected attach type it was loaded with, if known. */
  attachType?: number;
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
 * {@linkcode loadPinnedProgram} or {@linkcode programFromFd}.
 */
export class Program implements Disposable {
  /** The program's descriptor. */
  readonly fd: FD;
  /** The program type number (`enum bpf_prog_type`). */
  readonly type: number;
  /** The program's name ("" if it has none). */
  readonly name: string;
  /**
   * The expected attach type (`enum bpf_attach_type`) the program was loaded
   * with, which the attach functions (`attachTracing`, `attachCgroup`,
   * `attachUsdt`, …) use when their options do not name one.
   *
   * `loadProgram` sets it to the spec's `attachType`, the program type's
   * default (sk_lookup, netfilter, LSM), or the attach type the kernel
   * substitutes for none (cgroup_sock: `cgroup_inet_sock_create`,
   * sk_reuseport: `sk_reuseport_select`); it is `undefined` when the program
   * was loaded without one (for cgroup_skb that means either direction).
   *
   * For a program opened by id, pin or descriptor it comes from the
   * `attachType` option, else from what `struct bpf_prog_info` tells. The
   * kernel does not report the expected attach type there (through Linux
   * 6.18 at least), so without the option it is known only for program types
   * with a single valid attach type (sk_lookup, netfilter) and is otherwise
   * `undefined`.
   *
   * For struct_ops programs the kernel uses this field for the index of the
   * struct member the program implements.
   */
  readonly attachType?: number;
  /** The verifier log of the load, if the spec asked for one (`logLevel` > 0). */
  readonly verifierLog?: string;
  #pinnedPath?: string;
  #id?: number;

  /** Wraps a descriptor this object takes ownership of. Prefer `loadProgram`. */
  constructor(fd: FD, meta: ProgramMeta) {
    this.fd = fd;
    this.type = meta.type;
    this.name = meta.name ?? "";
    this.attachType = meta.attachType;
    this.verifierLog = meta.verifierLog;
    this.#pinnedPath = meta.pinnedPath;
  }

  /** The program type's name, e.g. `"xdp"`. */
  get typeName(): string {
    return programTypeLabel(this.type);
  }

  /**
   * The name of {@linkcode Program.attachType}, e.g. `"trace_raw_tp"`;
   * `undefined` when the attach type is not known, and for struct_ops
   * programs (whose field is a member index).
   */
  get attachTypeName(): string | undefined {
    if (this.attachType === undefined || this.type === STRUCT_OPS) return undefined;
    return attachTypeLabel(this.attachType);
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

  /**
   * What the kernel reports about the program (`struct bpf_prog_info`), with
   * `attachType` filled in from {@linkcode Program.attachType} when the
   * kernel's answer cannot tell it.
   */
  info(): ProgramInfo {
    const info = readProgramInfo(this.fd.value);
    this.#id = info.id;
    if (info.attachType === undefined && this.attachType !== undefined) {
      info.attachType = this.attachType;
      info.attachTypeName = this.attachTypeName;
    }
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
      attachType: this.attachType,
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

/** Options of {@linkcode programFromFd} and {@linkcode programFromId}. */
export interface OpenProgramOptions {
  /**
   * The expected attach type the program was loaded with, for
   * {@linkcode Program.attachType}: the kernel does not report it, so
   * without this option it is known only for program types with a single
   * valid attach type (sk_lookup, netfilter).
   */
  attachType?: AttachTypeLike;
}

function givenAttachType(options: OpenProgramOptions): number | undefined {
  return options.attachType === undefined ? undefined : attachTypeNumber(options.attachType);
}

function fromFd(fd: FD, given: number | undefined, pinnedPath?: string): Program {
  try {
    const { type, name } = readProgramType(fd.value);
    const attachType = given ?? FIXED_ATTACH_TYPES[type];
    return new Program(fd, { type, name, attachType, pinnedPath });
  } catch (e) {
    fd.close();
    throw e;
  }
}

function isProgramFd(fd: number): boolean {
  try {
    return readLink(`/proc/self/fd/${fd}`) === "anon_inode:bpf-prog";
  } catch {
    return true; // no /proc: let BPF_OBJ_GET_INFO_BY_FD decide
  }
}

/**
 * Wraps a program descriptor obtained elsewhere (inherited, received over a
 * socket), as cilium/ebpf's `NewProgramFromFD` does: the returned program
 * takes ownership of `fd` and closes it, so the caller must not close or
 * reuse it. If `fd` is not a BPF program, it throws `InvalidArgumentError`
 * and leaves `fd` open. To keep a descriptor of your own, wrap a copy
 * (`dup(2)`) instead, or use {@linkcode Program.clone} on an existing program.
 */
export function programFromFd(fd: number, options: OpenProgramOptions = {}): Program {
  if (!Number.isInteger(fd) || fd < 0 || !isProgramFd(fd)) {
    throw new InvalidArgumentError(`file descriptor ${fd} is not a BPF program`);
  }
  const given = givenAttachType(options);
  let read: { type: number; name: string };
  try {
    // Read before wrapping: a failure must leave the caller's descriptor open.
    read = readProgramType(fd);
  } catch (e) {
    if (e instanceof SyscallError && e.code === "EINVAL") {
      throw new InvalidArgumentError(`file descriptor ${fd} is not a BPF program`, { cause: e });
    }
    throw e;
  }
  const attachType = given ?? FIXED_ATTACH_TYPES[read.type];
  return new Program(new FD(fd, `program fd ${fd}`), { ...read, attachType });
}

/** Opens the program with kernel id `id` (needs CAP_SYS_ADMIN). */
export function programFromId(id: number, options: OpenProgramOptions = {}): Program {
  const given = givenAttachType(options);
  return fromFd(objFromId("prog", id), given);
}

/** Options for {@linkcode loadPinnedProgram}. */
export interface PinnedProgramOptions extends OpenProgramOptions {
  /** Open read-only (BPF_F_RDONLY): enough for info and test runs. */
  readOnly?: boolean;
}

/**
 * Opens the program pinned at `path` on a bpffs mount (as `loadPinnedMap`
 * and `loadPinnedLink` do for maps and links; cilium/ebpf's `LoadPinnedProgram`).
 */
export function loadPinnedProgram(path: string, options: PinnedProgramOptions = {}): Program {
  const given = givenAttachType(options);
  const fd = objGet(path, { fileFlags: options.readOnly ? 1 << 3 : 0, label: `program ${path}` });
  if (!isProgramFd(fd.value)) {
    fd.close();
    throw new InvalidArgumentError(`${path} is pinned, but is not a BPF program`);
  }
  return fromFd(fd, given, path);
}
