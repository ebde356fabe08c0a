/**
 * Links: the {@linkcode Link} every attach function returns. A
 * {@linkcode BpfLink} holds a kernel `bpf_link` (pin, update, info, detach);
 * a {@linkcode LegacyLink} stands for an attachment made the older way
 * (perf event ioctl, BPF_PROG_ATTACH, a socket option, a netlink filter)
 * and detaches when closed.
 *
 * @module
 */

import { InvalidArgumentError, NotSupportedError } from "../errors.ts";
import { LinkType, linkTypeName } from "../asm/types.ts";
import { bpf, bpfError, bpfTry } from "../sys/bpf.ts";
import { EINVAL, ENOTSUPP, EOPNOTSUPP } from "../sys/errno.ts";
import { FD } from "../sys/fd.ts";
import { readLink } from "../sys/file.ts";
import { SyscallError } from "../sys/error.ts";
import { objFromId, objGet, objPin, objUnpin } from "../sys/obj.ts";
import { type LinkInfo, readLinkInfo } from "./info.ts";
import { type FdSource, programFd } from "./_common.ts";

/** Something closed after a link: a perf event, a tracefs probe event. */
export interface LinkResource {
  /** Releases the resource. */
  close(): void;
}

/** Options of {@linkcode Link.update}. */
export interface LinkUpdateOptions {
  /** Replace only if this program is the one attached (BPF_F_REPLACE with `old_prog_fd`). */
  oldProgram?: FdSource;
}

/**
 * An attached program. Every `attach…` function returns one; closing it
 * (or `using`) detaches the program unless the link was pinned.
 *
 * Methods a kind of attachment cannot do throw `NotSupportedError` naming
 * what would allow it.
 */
export abstract class Link implements Disposable {
  /** What the program is attached to, e.g. `"tracepoint"`, `"xdp"`, `"uprobe"`. */
  readonly kind: string;

  /** Sets the kind; subclasses own the attachment. */
  protected constructor(kind: string) {
    this.kind = kind;
  }

  /** True for a kernel `bpf_link` (pinnable, with an id and info). */
  abstract get isBpfLink(): boolean;

  /** True once {@linkcode Link.close} ran. */
  abstract get closed(): boolean;

  /** Detaches (unless pinned) and releases the link's descriptors. Idempotent. */
  abstract close(): void;

  /**
   * Same as {@linkcode Link.close}, with the kernel's part on a worker
   * thread where that can wait (a `bpf_link` on a tracepoint or kprobe waits
   * for RCU grace periods as it detaches): closing several at once takes
   * about as long as the slowest.
   */
  closeAsync(): Promise<void> {
    this.close();
    return Promise.resolve();
  }

  /** Same as {@linkcode Link.close}, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** The path the link is pinned at, if any. */
  get pinnedPath(): string | undefined {
    return undefined;
  }

  /** The kernel-wide link id. */
  get id(): number {
    return this.info().id;
  }

  /** Pins the link on a bpffs mount so that it outlives this process. */
  pin(_path: string): void {
    throw this.unsupported("pinning");
  }

  /** Removes the pin made by {@linkcode Link.pin}. */
  unpin(): void {
    throw this.unsupported("unpinning");
  }

  /** Replaces the attached program in place (BPF_LINK_UPDATE). */
  update(_program: FdSource, _options?: LinkUpdateOptions): void {
    throw this.unsupported("replacing the program");
  }

  /** What the kernel reports about the link (`struct bpf_link_info`). */
  info(): LinkInfo {
    throw this.unsupported("link info");
  }

  /**
   * Detaches the program while keeping the link object (BPF_LINK_DETACH);
   * for a {@linkcode LegacyLink} this is the same as closing it.
   */
  detach(): void {
    throw this.unsupported("BPF_LINK_DETACH");
  }

  /** The error for an operation this attachment cannot do. */
  protected unsupported(what: string): NotSupportedError {
    return new NotSupportedError(
      `${what} for a ${this.kind} attachment that is not a bpf_link`,
      "a kernel with BPF_LINK_CREATE for this kind of attachment",
    );
  }
}

const UPDATABLE: ReadonlySet<number> = new Set([
  LinkType.cgroup,
  LinkType.iter,
  LinkType.netns,
  LinkType.xdp,
  LinkType.struct_ops,
  LinkType.tcx,
  LinkType.netkit,
  LinkType.sockmap,
]);

const DETACHABLE: ReadonlySet<number> = new Set([
  LinkType.cgroup,
  LinkType.netns,
  LinkType.xdp,
  LinkType.struct_ops,
  LinkType.netfilter,
  LinkType.tcx,
  LinkType.netkit,
  LinkType.sockmap,
]);

/** Options of the {@linkcode BpfLink} constructor. */
export interface BpfLinkOptions {
  /** Released after the link's descriptor (perf events, tracefs events). */
  resources?: LinkResource[];
  /** The pin path, when the link was opened from one. */
  pinnedPath?: string;
}

/**
 * A kernel `bpf_link`, owning its descriptor. The link lives as long as a
 * descriptor or a pin refers to it.
 */
export class BpfLink extends Link {
  /** The link's descriptor. */
  readonly fd: FD;
  #resources: LinkResource[];
  #pinnedPath?: string;
  #type?: number;

  /** Takes ownership of `fd`, a `bpf_link` descriptor. */
  constructor(fd: FD, kind: string, options: BpfLinkOptions = {}) {
    super(kind);
    this.fd = fd;
    this.#resources = options.resources ?? [];
    this.#pinnedPath = options.pinnedPath;
  }

  /** Always true. */
  get isBpfLink(): boolean {
    return true;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.fd.closed;
  }

  /** The pin path, if pinned. */
  override get pinnedPath(): string | undefined {
    return this.#pinnedPath;
  }

  /** The link type number (`enum bpf_link_type`), read once. */
  get linkType(): number {
    return this.#type ??= this.info().type;
  }

  /** Pins the link at `path` (a bpffs mount): it stays attached after this process closes it. */
  override pin(path: string): void {
    objPin(this.fd.value, path);
    this.#pinnedPath = path;
  }

  /** Removes the pin; a link no descriptor holds any more is then detached. */
  override unpin(): void {
    if (this.#pinnedPath === undefined) return;
    objUnpin(this.#pinnedPath);
    this.#pinnedPath = undefined;
  }

  /**
   * Replaces the program (BPF_LINK_UPDATE). Links of types cgroup, iter,
   * netns, xdp, tcx, netkit, sockmap support it; others throw NotSupportedError.
   */
  override update(program: FdSource, options: LinkUpdateOptions = {}): void {
    const attr = {
      linkFd: this.fd.value,
      newProgFd: programFd(program),
      flags: options.oldProgram !== undefined ? 1 << 2 : 0, // BPF_F_REPLACE
      oldProgFd: options.oldProgram !== undefined ? programFd(options.oldProgram) : 0,
    };
    const r = bpfTry("LINK_UPDATE", attr);
    if (r >= 0) return;
    const err = -r;
    if (
      err === EOPNOTSUPP || err === ENOTSUPP || (err === EINVAL && !UPDATABLE.has(this.linkType))
    ) {
      throw new NotSupportedError(
        `BPF_LINK_UPDATE of a ${linkTypeName(this.linkType) ?? this.kind} link`,
        "a link type that can swap its program (cgroup, iter, netns, xdp, tcx, netkit, sockmap)",
        { detail: "close the link and attach the new program instead" },
      );
    }
    throw bpfError("LINK_UPDATE", err, {
      hint: options.oldProgram !== undefined
        ? "is oldProgram the attached program, and is the new one of the same type and attach type?"
        : "is the new program of the same type and attach type as the old one?",
    });
  }

  /** `struct bpf_link_info`. */
  override info(): LinkInfo {
    const info = readLinkInfo(this.fd.value);
    this.#type = info.type;
    return info;
  }

  /**
   * BPF_LINK_DETACH: detaches the program now; the descriptor stays valid
   * (the link is defunct) until closed. Supported by cgroup, netns, xdp,
   * struct_ops, netfilter, tcx, netkit and sockmap links.
   */
  override detach(): void {
    const r = bpfTry("LINK_DETACH", { linkFd: this.fd.value });
    if (r >= 0) return;
    const err = -r;
    if (
      err === EOPNOTSUPP || err === ENOTSUPP || (err === EINVAL && !DETACHABLE.has(this.linkType))
    ) {
      throw new NotSupportedError(
        `BPF_LINK_DETACH of a ${linkTypeName(this.linkType) ?? this.kind} link`,
        "Linux 5.9 and a link type that supports it (cgroup, netns, xdp, tcx, netfilter, …)",
        { detail: "close the link (and remove its pin) to detach it" },
      );
    }
    throw bpfError("LINK_DETACH", err);
  }

  /** Closes the descriptor and the resources it was created with. */
  close(): void {
    if (this.fd.closed) return;
    this.fd.close();
    this.#closeResources();
  }

  #closeResources(): void {
    for (const r of this.#resources.splice(0).reverse()) {
      try {
        r.close();
      } catch { /* best effort: the link itself is released */ }
    }
  }

  /** {@linkcode BpfLink.close} with the descriptor's close(2) on a worker thread. */
  override async closeAsync(): Promise<void> {
    if (this.fd.closed) return;
    await this.fd.closeAsync();
    this.#closeResources();
  }

  /** A short description, e.g. `BpfLink(xdp, fd 9)`. */
  override toString(): string {
    return `BpfLink(${this.kind}, ${this.closed ? "closed" : `fd ${this.fd.value}`})`;
  }
}

/** Options of the {@linkcode LegacyLink} constructor. */
export interface LegacyLinkOptions {
  /** Released after detaching (perf event descriptors, tracefs events). */
  resources?: LinkResource[];
  /** The perf event descriptor of a perf-event attachment, if any. */
  perfEvent?: FD;
}

/**
 * An attachment that is not a kernel `bpf_link`: a perf event with
 * PERF_EVENT_IOC_SET_BPF, BPF_PROG_ATTACH, SO_ATTACH_BPF, a tc filter made
 * over netlink. Closing it detaches the program. Pinning, updating and
 * link info throw NotSupportedError.
 */
export class LegacyLink extends Link {
  #detach?: () => void;
  #resources: LinkResource[];
  /** The perf event of a perf-event attachment. */
  readonly perfEvent?: FD;

  /** `detach` undoes the attachment; it runs once, on close. */
  constructor(kind: string, detach: () => void, options: LegacyLinkOptions = {}) {
    super(kind);
    this.#detach = detach;
    this.#resources = options.resources ?? [];
    this.perfEvent = options.perfEvent;
  }

  /** Always false. */
  get isBpfLink(): boolean {
    return false;
  }

  /** True once closed. */
  get closed(): boolean {
    return this.#detach === undefined;
  }

  /** Detaches; same as close. */
  override detach(): void {
    this.close();
  }

  /** Detaches the program and releases the resources. Idempotent. */
  close(): void {
    const d = this.#detach;
    if (d === undefined) return;
    this.#detach = undefined;
    try {
      d();
    } finally {
      for (const r of this.#resources.splice(0).reverse()) {
        try {
          r.close();
        } catch { /* best effort */ }
      }
    }
  }

  /** A short description, e.g. `LegacyLink(tracepoint)`. */
  override toString(): string {
    return `LegacyLink(${this.kind}${this.closed ? ", closed" : ""})`;
  }
}

function kindOf(fd: number): string {
  const t = readLinkInfo(fd).type;
  return linkTypeName(t) ?? `link type ${t}`;
}

function wrap(fd: FD, pinnedPath?: string): BpfLink {
  try {
    return new BpfLink(fd, kindOf(fd.value), { pinnedPath });
  } catch (e) {
    fd.close();
    throw e;
  }
}

/** Opens the link with kernel id `id` (BPF_LINK_GET_FD_BY_ID; needs CAP_SYS_ADMIN). */
export function linkFromId(id: number): BpfLink {
  if (!Number.isInteger(id) || id <= 0) {
    throw new InvalidArgumentError(`invalid link id ${id}`);
  }
  return wrap(objFromId("link", id));
}

/** Opens the link pinned at `path` on a bpffs mount. */
export function loadPinnedLink(path: string): BpfLink {
  const fd = objGet(path, { label: `link ${path}` });
  if (!isLinkFd(fd.value)) {
    fd.close();
    throw new InvalidArgumentError(`${path} is pinned, but it is not a BPF link`);
  }
  return wrap(fd, path);
}

/**
 * Wraps a link descriptor obtained elsewhere (inherited, received over a
 * socket), as cilium/ebpf's `NewLinkFromFD` does: the returned link takes
 * ownership of `fd` and closes it, so the caller must not close or reuse it.
 * If `fd` is not a BPF link, it throws `InvalidArgumentError` and leaves `fd`
 * open. To keep a descriptor of your own, wrap a copy (`dup(2)`) instead.
 */
export function linkFromFd(fd: number): BpfLink {
  if (!Number.isInteger(fd) || fd < 0 || !isLinkFd(fd)) {
    throw new InvalidArgumentError(`file descriptor ${fd} is not a BPF link`);
  }
  let kind: string;
  try {
    // Read before wrapping: a failure must leave the caller's descriptor open.
    kind = kindOf(fd);
  } catch (e) {
    if (e instanceof SyscallError && e.errno === EINVAL) {
      throw new InvalidArgumentError(`file descriptor ${fd} is not a BPF link`, { cause: e });
    }
    throw e;
  }
  return new BpfLink(new FD(fd, `link fd ${fd}`), kind);
}

function isLinkFd(fd: number): boolean {
  try {
    // A new link's descriptor reads "bpf_link", one opened from a pin "bpf-link".
    const target = readLink(`/proc/self/fd/${fd}`);
    return target === "anon_inode:bpf_link" || target === "anon_inode:bpf-link";
  } catch {
    return true;
  }
}

/** Every link id in the kernel, in increasing order (BPF_LINK_GET_NEXT_ID). */
export function* linkIds(): Generator<number> {
  let id = 0;
  for (;;) {
    const attr = { id, nextId: 0 };
    const r = bpfTry("LINK_GET_NEXT_ID", attr);
    if (r < 0) {
      if (r === -2) return;
      bpf("LINK_GET_NEXT_ID", attr);
    }
    id = attr.nextId;
    yield id;
  }
}

/**
 * Several links made by one attach call (e.g. a USDT probe inlined at
 * several places, attached with one uprobe each). Closing closes them all;
 * `info()` and `pin()` are those of a single link only.
 */
export class LinkGroup extends Link {
  /** The member links. */
  readonly links: readonly Link[];

  /** Groups `links` under `kind`. */
  constructor(kind: string, links: readonly Link[]) {
    super(kind);
    this.links = links;
  }

  /** True when every member is a bpf_link. */
  get isBpfLink(): boolean {
    return this.links.every((l) => l.isBpfLink);
  }

  /** True once closed. */
  get closed(): boolean {
    return this.links.every((l) => l.closed);
  }

  /** The info of the only member; NotSupportedError for several. */
  override info(): LinkInfo {
    if (this.links.length === 1) return this.links[0].info();
    throw new NotSupportedError(
      `link info of a group of ${this.links.length} ${this.kind} links`,
      "one link: read each member of `links`",
    );
  }

  /** Replaces the program of every member. */
  override update(program: FdSource, options?: LinkUpdateOptions): void {
    for (const l of this.links) l.update(program, options);
  }

  /** Detaches every member. */
  override detach(): void {
    for (const l of this.links) l.detach();
  }

  /** Pins a single-member group; NotSupportedError for several. */
  override pin(path: string): void {
    if (this.links.length === 1) return this.links[0].pin(path);
    throw new NotSupportedError(
      `pinning a group of ${this.links.length} ${this.kind} links at one path`,
      "one path per link: pin each member of `links`",
    );
  }

  /** Unpins every member. */
  override unpin(): void {
    for (const l of this.links) l.unpin();
  }

  /** Closes every member. */
  close(): void {
    let first: unknown;
    for (const l of this.links) {
      try {
        l.close();
      } catch (e) {
        first ??= e;
      }
    }
    if (first !== undefined) throw first;
  }
}
