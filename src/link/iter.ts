/**
 * BPF iterators: attach an iter program (`attachIter`), then create
 * iterator instances (BPF_ITER_CREATE) whose descriptor reads the text the
 * program wrote with `bpf_seq_printf` / `bpf_seq_write`.
 *
 * @module
 */

import { AttachType, ProgramType } from "../asm/types.ts";
import { InvalidArgumentError } from "../errors.ts";
import { bpf } from "../sys/bpf.ts";
import { errno, libc } from "../sys/_libc.ts";
import { EAGAIN, EINTR } from "../sys/errno.ts";
import { SyscallError } from "../sys/error.ts";
import { FD } from "../sys/fd.ts";
import { expectProgramType, type FdSource, linkCreate, programFd } from "./_common.ts";
import { BpfLink, type BpfLinkOptions } from "./link.ts";

/** `enum bpf_cgroup_iter_order`. */
export const CgroupIterOrder = {
  selfOnly: 1,
  descendantsPre: 2,
  descendantsPost: 3,
  ancestorsUp: 4,
} as const;

/** Options of {@linkcode attachIter}: what to iterate over (by default, everything of the kind). */
export interface IterOptions {
  /** For map element iterators (`iter/bpf_map_elem`, …): the map (`map_fd`). */
  map?: number | FD | { readonly fd: FD | number };
  /** For cgroup iterators: the cgroup (a descriptor of its directory, or its id). */
  cgroup?: { fd?: number; id?: bigint | number; order?: keyof typeof CgroupIterOrder };
  /** For task iterators (6.1+): one thread, one process, or one process by pidfd. */
  task?: { tid?: number; pid?: number; pidFd?: number };
}

/** An iterator link; {@linkcode IterLink.open} starts one pass over the objects. */
export class IterLink extends BpfLink {
  /** Wraps an iterator link descriptor. */
  constructor(fd: FD, options: BpfLinkOptions = {}) {
    super(fd, "iter", options);
  }

  /** Creates an iterator instance (BPF_ITER_CREATE): a descriptor that reads the program's output. */
  open(): Iter {
    const fd = bpf("ITER_CREATE", { linkFd: this.fd.value }, { hint: "creating an iterator" });
    return new Iter(new FD(fd, "bpf iterator"));
  }

  /** Runs the iterator once and returns all of its output as text. */
  read(): string {
    using it = this.open();
    return it.readText();
  }
}

/**
 * One pass of an iterator: reading the descriptor runs the program over the
 * objects. Read it with {@linkcode Iter.readText}, {@linkcode Iter.readBytes}
 * or as a stream ({@linkcode Iter.readable}).
 */
export class Iter implements Disposable {
  /** The iterator's descriptor. */
  readonly fd: FD;

  /** Takes ownership of an iterator descriptor. */
  constructor(fd: FD) {
    this.fd = fd;
  }

  /** Reads up to `buf.length` bytes; 0 at the end. Throws SyscallError on failure. */
  readInto(buf: Uint8Array): number {
    for (;;) {
      const n = Number(libc().read(this.fd.value, buf, BigInt(buf.length)));
      if (n >= 0) return n;
      const e = errno();
      if (e === EINTR || e === EAGAIN) continue;
      throw new SyscallError("read", e, {
        command: "bpf iterator",
        hint: "the iterator program failed (e.g. bpf_seq_printf with bad arguments)",
      });
    }
  }

  /** Reads everything to the end. */
  readBytes(): Uint8Array {
    const chunks: Uint8Array[] = [];
    let total = 0;
    const buf = new Uint8Array(64 * 1024);
    for (;;) {
      const n = this.readInto(buf);
      if (n === 0) break;
      chunks.push(buf.slice(0, n));
      total += n;
    }
    const out = new Uint8Array(total);
    let o = 0;
    for (const c of chunks) {
      out.set(c, o);
      o += c.length;
    }
    return out;
  }

  /** Reads everything to the end, as UTF-8 text. */
  readText(): string {
    return new TextDecoder().decode(this.readBytes());
  }

  /** A stream of the output; the iterator is closed when the stream ends or is cancelled. */
  get readable(): ReadableStream<Uint8Array> {
    return new ReadableStream<Uint8Array>({
      pull: (controller) => {
        const buf = new Uint8Array(64 * 1024);
        const n = this.readInto(buf);
        if (n === 0) {
          this.close();
          controller.close();
        } else controller.enqueue(buf.subarray(0, n));
      },
      cancel: () => this.close(),
    });
  }

  /** Closes the descriptor. */
  close(): void {
    this.fd.close();
  }

  /** Same as {@linkcode Iter.close}. */
  [Symbol.dispose](): void {
    this.close();
  }
}

function fdNumber(x: number | FD | { readonly fd: FD | number }): number {
  if (typeof x === "number") return x;
  if (x instanceof FD) return x.value;
  return typeof x.fd === "number" ? x.fd : x.fd.value;
}

/** Encodes `union bpf_iter_link_info` (16 bytes), or undefined when nothing is set. */
function iterInfo(options: IterOptions): Uint8Array | undefined {
  const set = [options.map, options.cgroup, options.task].filter((x) => x !== undefined).length;
  if (set === 0) return undefined;
  if (set > 1) throw new InvalidArgumentError("attachIter: give at most one of map, cgroup, task");
  const b = new Uint8Array(16);
  const dv = new DataView(b.buffer);
  if (options.map !== undefined) dv.setUint32(0, fdNumber(options.map), true);
  else if (options.cgroup !== undefined) {
    const c = options.cgroup;
    dv.setUint32(0, c.order ? CgroupIterOrder[c.order] : 0, true);
    dv.setUint32(4, c.fd ?? 0, true);
    dv.setBigUint64(8, BigInt(c.id ?? 0), true);
  } else if (options.task !== undefined) {
    const t = options.task;
    dv.setUint32(0, t.tid ?? 0, true);
    dv.setUint32(4, t.pid ?? 0, true);
    dv.setUint32(8, t.pidFd ?? 0, true);
  }
  return b;
}

/**
 * Attaches an iterator program (type tracing, attach type trace_iter,
 * loaded with the BTF id of `bpf_iter_<target>`) with BPF_LINK_CREATE
 * (Linux 5.8+).
 *
 * @example
 * ```ts ignore
 * using link = attachIter(prog);
 * console.log(link.read());
 * ```
 */
export function attachIter(program: FdSource, options: IterOptions = {}): IterLink {
  expectProgramType(program, [ProgramType.tracing], "attachIter");
  const info = iterInfo(options);
  const fd = linkCreate(
    {
      progFd: programFd(program),
      attachType: AttachType.trace_iter,
      iterInfo: info,
      iterInfoLen: info ? info.byteLength : 0,
    },
    {
      feature: "BPF iterators",
      requirement: "Linux 5.8",
      invalidHint: "attaching the iterator: was the program loaded with attachType trace_iter " +
        "and the BTF id of bpf_iter_<target>, and does the target take these options?",
    },
    "iter link",
  );
  return new IterLink(fd);
}

/** Runs an iterator link once and returns its output as text (a shorthand for `link.read()`). */
export function readIter(link: IterLink): string {
  return link.read();
}
