/**
 * BTF kind probes: which kinds of type information the kernel accepts in a
 * BTF blob (BPF_BTF_LOAD of a tiny blob per kind). The collection loader asks
 * when the kernel rejects an object's BTF, to replace the kinds it lacks. The
 * answers share the probes' per-process cache (key `btf:kinds`) and syscall
 * count.
 *
 * @module
 */

import { btfBlob } from "../btf/blob.ts";
import type { BtfFeatures } from "../btf/marshal.ts";
import { BtfKind } from "../sys/abi.ts";
import { bpfTry } from "../sys/bpf.ts";
import { closeRawFd } from "../sys/fd.ts";
import { memo } from "./_cache.ts";
import { counted } from "./_raw.ts";

const STRINGS = "\0int\0x\0f\0.d\0v\0tag\0e\0";
const STRING_BYTES = new TextEncoder().encode(STRINGS);
const str = (n: string) => STRINGS.indexOf(`\0${n}\0`) + 1;
const info = (kind: number, vlen = 0, kflag = false) =>
  ((kflag ? 0x80000000 : 0) | (kind << 24) | vlen) >>> 0;
/** [1] int, 32 bits, signed: the first type of every probe blob. */
const INT = [str("int"), info(BtfKind.int), 4, (1 << 24) | 32];

function accepts(types: number[]): boolean {
  const btf = btfBlob([...INT, ...types].map((t) => t >>> 0), STRING_BYTES);
  const fd = counted(() => bpfTry("BTF_LOAD", { btf, btfSize: btf.byteLength }));
  if (fd < 0) return false;
  closeRawFd(fd);
  return true;
}

function runProbe(): BtfFeatures {
  return {
    // [2] func_proto (void)(int x); [3] func f (static, then global)
    func: accepts([
      0,
      info(BtfKind.func_proto, 1),
      0,
      str("x"),
      1,
      str("f"),
      info(BtfKind.func),
      2,
    ]),
    funcGlobal: accepts([
      0,
      info(BtfKind.func_proto, 1),
      0,
      str("x"),
      1,
      str("f"),
      info(BtfKind.func, 1),
      2,
    ]),
    // [2] var v int; [3] datasec .d {v}
    datasec: accepts([
      str("v"),
      info(BtfKind.var),
      1,
      0,
      str(".d"),
      info(BtfKind.datasec, 1),
      4,
      2,
      0,
      4,
    ]),
    // [2] float
    float: accepts([str("f"), info(BtfKind.float), 4]),
    // [2] struct x { int x; }; [3] decl_tag "tag" on it
    declTag: accepts([
      str("x"),
      info(BtfKind.struct, 1),
      4,
      str("x"),
      1,
      0,
      str("tag"),
      info(BtfKind.decl_tag),
      2,
      0xffffffff,
    ]),
    // [2] type_tag "tag" → int; [3] ptr → [2]
    typeTag: accepts([str("tag"), info(BtfKind.type_tag), 1, 0, info(BtfKind.ptr), 2]),
    // [2] enum64 e { x = 1 }
    enum64: accepts([str("e"), info(BtfKind.enum64, 1), 8, str("x"), 1, 0]),
  };
}

/**
 * Which BTF kinds the running kernel accepts, probed once per process with
 * one tiny blob per kind (all true on Linux 6.0+).
 */
export function probeBtfFeatures(): BtfFeatures {
  return memo("btf:kinds", runProbe);
}
