// Kernel-side BTF for the collection loader: probes for the BTF kinds a
// kernel accepts (only run when the object's BTF is rejected), and the
// kernel's own BTF objects by name (module BTF descriptors for fentry
// targets, module kfuncs and ksyms). Layouts from linux/btf.h.

import { BtfKind } from "../sys/abi.ts";
import { bpfTry } from "../sys/bpf.ts";
import { SyscallError } from "../sys/error.ts";
import { closeRawFd, type FD } from "../sys/fd.ts";
import { objFromId, objIds } from "../sys/obj.ts";
import { type LoadedBtfInfo, loadedBtfInfo } from "../btf/loaded.ts";
import type { BtfFeatures } from "../btf/marshal.ts";

// ---- feature probes ---------------------------------------------------------

function blob(types: number[], strings: string): Uint8Array {
  const s = new TextEncoder().encode(strings);
  const out = new Uint8Array(24 + types.length * 4 + s.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, 0xeb9f, true);
  out[2] = 1;
  dv.setUint32(4, 24, true);
  dv.setUint32(12, types.length * 4, true);
  dv.setUint32(16, types.length * 4, true);
  dv.setUint32(20, s.length, true);
  for (let i = 0; i < types.length; i++) dv.setUint32(24 + i * 4, types[i] >>> 0, true);
  out.set(s, 24 + types.length * 4);
  return out;
}

const info = (kind: number, vlen = 0, kflag = false) =>
  ((kflag ? 0x80000000 : 0) | (kind << 24) | vlen) >>> 0;

function accepts(b: Uint8Array): boolean {
  const r = bpfTry("BTF_LOAD", { btf: b, btfSize: b.byteLength });
  if (r >= 0) {
    closeRawFd(r);
    return true;
  }
  return false;
}

let cached: BtfFeatures | undefined;

/** Which BTF kinds the running kernel accepts (probed once, with tiny blobs). */
export function probeBtfFeatures(): BtfFeatures {
  if (cached) return cached;
  // Strings: "\0int\0x\0f\0.d\0v\0tag\0e\0"
  const S = "\0int\0x\0f\0.d\0v\0tag\0e\0";
  const o = (n: string) => S.indexOf(`\0${n}\0`) + 1;
  const INT = [o("int"), info(BtfKind.int), 4, (1 << 24) | 32]; // [1] int
  cached = {
    // [2] func_proto (void)(int x); [3] func f
    func: accepts(
      blob(
        [...INT, 0, info(BtfKind.func_proto, 1), 0, o("x"), 1, o("f"), info(BtfKind.func), 2],
        S,
      ),
    ),
    funcGlobal: accepts(
      blob(
        [...INT, 0, info(BtfKind.func_proto, 1), 0, o("x"), 1, o("f"), info(BtfKind.func, 1), 2],
        S,
      ),
    ),
    // [2] var v int; [3] datasec .d {v}
    datasec: accepts(
      blob(
        [...INT, o("v"), info(BtfKind.var), 1, 0, o(".d"), info(BtfKind.datasec, 1), 4, 2, 0, 4],
        S,
      ),
    ),
    // [2] float
    float: accepts(blob([...INT, o("f"), info(BtfKind.float), 4], S)),
    // [2] struct x { int x; }; [3] decl_tag "tag" on it
    declTag: accepts(
      blob([
        ...INT,
        o("x"),
        info(BtfKind.struct, 1),
        4,
        o("x"),
        1,
        0,
        o("tag"),
        info(BtfKind.decl_tag),
        2,
        0xffffffff,
      ], S),
    ),
    // [2] type_tag "tag" → int; [3] ptr → [2]
    typeTag: accepts(
      blob([...INT, o("tag"), info(BtfKind.type_tag), 1, 0, info(BtfKind.ptr), 2], S),
    ),
    // [2] enum64 e { x = 1 }
    enum64: accepts(blob([...INT, o("e"), info(BtfKind.enum64, 1), 8, o("x"), 1, 0], S)),
  };
  return cached;
}

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
