/**
 * Operations shared by every kind of BPF object (maps, programs, links,
 * BTF): pinning to bpffs, opening pinned objects, reading `*_info`, and
 * walking ids.
 *
 * @module
 */

import { FileNotFoundError, InvalidArgumentError } from "../errors.ts";
import { bpf, bpfTry } from "./bpf.ts";
import { ENOENT } from "./errno.ts";
import { SyscallError } from "./error.ts";
import { FD } from "./fd.ts";
import { removeFile } from "./file.ts";

/** The magic number `statfs` reports for a bpffs mount. */
export const BPF_FS_MAGIC = 0xcafe4a11;

function checkPinPath(path: string): void {
  if (path.length === 0 || path.includes("\0")) {
    throw new InvalidArgumentError(`invalid pin path ${JSON.stringify(path)}`);
  }
}

/**
 * Pins the object behind `fd` at `path`, which must be on a bpffs mount
 * (`mount -t bpf bpf /sys/fs/bpf`).
 */
export function objPin(fd: number, path: string): void {
  checkPinPath(path);
  try {
    bpf("OBJ_PIN", { pathname: path, bpfFd: fd });
  } catch (e) {
    if (e instanceof SyscallError && (e.errno === 1 || e.errno === 22)) {
      throw new SyscallError("bpf", e.errno, {
        command: "BPF_OBJ_PIN",
        hint: `cannot pin at ${path}: is its directory on a bpffs mount? ` +
          "(mount -t bpf bpf /sys/fs/bpf)",
      });
    }
    if (e instanceof SyscallError && e.errno === 17) {
      throw new SyscallError("bpf", e.errno, {
        command: "BPF_OBJ_PIN",
        hint: `${path} already exists`,
      });
    }
    throw e;
  }
}

/** Options for {@linkcode objGet}. */
export interface ObjGetOptions {
  /** BPF_F_RDONLY (1 << 3) or BPF_F_WRONLY (1 << 4). */
  fileFlags?: number;
  /** A label for the returned descriptor. */
  label?: string;
}

/** Opens the object pinned at `path`. */
export function objGet(path: string, options: ObjGetOptions = {}): FD {
  checkPinPath(path);
  const fd = bpf("OBJ_GET", { pathname: path, fileFlags: options.fileFlags ?? 0 }, {
    hint: `opening pinned object ${path}`,
  });
  return new FD(fd, options.label ?? `pinned ${path}`);
}

/** Removes a pin (unlink of the bpffs file); a missing pin is not an error. */
export function objUnpin(path: string): void {
  try {
    removeFile(path, { what: "pin" });
  } catch (e) {
    if (!(e instanceof FileNotFoundError)) throw e;
  }
}

/**
 * Fills `info` (a `struct bpf_*_info` buffer) for the object behind `fd` via
 * BPF_OBJ_GET_INFO_BY_FD; returns how many bytes the kernel wrote.
 */
export function objInfo(fd: number, info: Uint8Array): number {
  const attr = { bpfFd: fd, infoLen: info.byteLength, info };
  bpf("OBJ_GET_INFO_BY_FD", attr);
  return attr.infoLen;
}

/** The kinds of object that have ids. */
export type ObjKind = "prog" | "map" | "btf" | "link";

const NEXT = {
  prog: "PROG_GET_NEXT_ID",
  map: "MAP_GET_NEXT_ID",
  btf: "BTF_GET_NEXT_ID",
  link: "LINK_GET_NEXT_ID",
} as const;
const BY_ID = {
  prog: "PROG_GET_FD_BY_ID",
  map: "MAP_GET_FD_BY_ID",
  btf: "BTF_GET_FD_BY_ID",
  link: "LINK_GET_FD_BY_ID",
} as const;

/** Every id of a kind of object loaded in the kernel, in increasing order. */
export function* objIds(kind: ObjKind): Generator<number> {
  let id = 0;
  for (;;) {
    const attr = { id, nextId: 0 };
    const r = bpfTry(NEXT[kind], attr);
    if (r === -ENOENT) return;
    if (r < 0) bpf(NEXT[kind], attr); // throws the typed error
    id = attr.nextId;
    yield id;
  }
}

/** Opens the object of a kind by id (needs CAP_SYS_ADMIN). */
export function objFromId(kind: ObjKind, id: number, options: { openFlags?: number } = {}): FD {
  return new FD(
    bpf(BY_ID[kind], { id, openFlags: options.openFlags ?? 0 }, {
      hint: `opening ${kind} id ${id}`,
    }),
    `${kind} id ${id}`,
  );
}
