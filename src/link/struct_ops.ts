/**
 * struct_ops maps (e.g. a TCP congestion control written in BPF): a
 * struct_ops link registers the map's implementation (Linux 6.4+; the map
 * must be created with BPF_F_LINK). `link.update(newMap)` swaps it in place.
 *
 * @module
 */

import { AttachType } from "../asm/types.ts";
import { FD } from "../sys/fd.ts";
import { linkCreate } from "./_common.ts";
import { BpfLink } from "./link.ts";

/**
 * Registers a struct_ops map with BPF_LINK_CREATE (the map's descriptor in
 * `prog_fd`, attach type struct_ops).
 */
export function attachStructOps(map: number | FD | { readonly fd: FD | number }): BpfLink {
  const mapFd = typeof map === "number"
    ? map
    : map instanceof FD
    ? map.value
    : typeof map.fd === "number"
    ? map.fd
    : map.fd.value;
  const fd = linkCreate(
    { progFd: mapFd, attachType: AttachType.struct_ops },
    {
      feature: "struct_ops links",
      requirement: "Linux 6.4",
      invalidHint: "was the struct_ops map created with BPF_F_LINK (map flag 1 << 13) and its " +
        "value filled in?",
    },
    "struct_ops link",
  );
  return new BpfLink(fd, "struct_ops");
}
