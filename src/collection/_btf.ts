// Kernel-side BTF for the collection loader: the kernel's own BTF objects by
// name (module BTF descriptors for fentry targets, module kfuncs and ksyms).
// The probes for the BTF kinds a kernel accepts are in
// src/features/btf_kinds.ts.

import { SyscallError } from "../sys/error.ts";
import type { FD } from "../sys/fd.ts";
import { objFromId, objIds } from "../sys/obj.ts";
import { type LoadedBtfInfo, loadedBtfInfo } from "../btf/loaded.ts";

// ---- kernel BTF objects -----------------------------------------------------

/**
 * Opens the kernel's BTF object named `name` (`"vmlinux"` or a module) by
 * walking the BTF ids (BPF_BTF_GET_NEXT_ID, BPF_OBJ_GET_INFO_BY_FD);
 * `undefined` when no loaded BTF object has that name.
 */
export function openKernelBtf(name: string): FD | undefined {
  for (const id of objIds("btf")) {
    let fd: FD;
    try {
      fd = objFromId("btf", id);
    } catch (e) {
      if (e instanceof SyscallError && e.code === "ENOENT") continue; // unloaded meanwhile
      throw e;
    }
    let info: LoadedBtfInfo;
    try {
      info = loadedBtfInfo(fd);
    } catch {
      fd.close();
      continue;
    }
    if (info.kernel && info.name === name) return fd;
    fd.close();
  }
  return undefined;
}
