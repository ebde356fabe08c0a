/**
 * Opening every object of a kind by id, as bpftool's `list` commands do,
 * skipping objects that go away between GET_NEXT_ID and GET_FD_BY_ID.
 *
 * @module
 */

import { NotFoundError } from "../errors.ts";
import type { FD } from "../sys/fd.ts";
import { objFromId, objIds, type ObjKind } from "../sys/obj.ts";
import { SyscallError } from "../sys/error.ts";

const KIND_NAMES: Record<ObjKind, string> = {
  prog: "program",
  map: "map",
  btf: "BTF object",
  link: "link",
};

/** Opens object `id` of `kind`; a missing one is a NotFoundError naming it. */
export function openById(kind: ObjKind, id: number): FD {
  try {
    return objFromId(kind, id);
  } catch (e) {
    if (e instanceof SyscallError && e.code === "ENOENT") {
      throw new NotFoundError(
        `${KIND_NAMES[kind]} id ${id}`,
        `there is no ${KIND_NAMES[kind]} with id ${id}; list them with "${kind} list"`,
        { cause: e },
      );
    }
    throw e;
  }
}

/**
 * Every object of `kind` in increasing id order, opened (the descriptor is
 * closed when the loop moves on); objects that vanish meanwhile are skipped.
 */
export function* eachObject(kind: ObjKind): Generator<FD> {
  for (const id of objIds(kind)) {
    let fd: FD;
    try {
      fd = objFromId(kind, id);
    } catch (e) {
      if (e instanceof SyscallError && e.code === "ENOENT") continue;
      throw e;
    }
    try {
      yield fd;
    } finally {
      fd.close();
    }
  }
}
