/**
 * Decoding of the records and keys a scripted probe's program writes:
 * integers, strings, and stack ids (kernel frames symbolized as bpftrace
 * prints them, see symbols.ts).
 *
 * @module
 */

import type { BpfMap } from "../map/mod.ts";
import type { Access } from "./_access.ts";
import { kstackFrames, ustackFrames } from "./symbols.ts";

/** Reads one field at `offset` of a record or key. */
export type Decoder = (view: DataView, offset: number) => unknown;

const utf8 = new TextDecoder();

/**
 * A stack key or value, laid out as bpftrace lays it out: the stack id in
 * the low 32 bits (negative: no stack), and for user stacks the process id
 * in the high 32 bits, which makes the frames symbolized in that process
 * (`name+off`); without one they print as addresses. `perf`: bpftrace's
 * perf mode (`<hex> sym+off`, user frames with their object).
 */
export function stackDecoder(
  stacks: BpfMap | undefined,
  options: { user: boolean; perf?: boolean },
): Decoder {
  const { user, perf } = options;
  return (view, offset) => {
    const id = view.getInt32(offset, true);
    const pid = view.getInt32(offset + 4, true);
    if (id < 0 || !stacks) return "";
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, id, true);
    const v = stacks.lookup(key);
    if (!v) return "";
    const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
    const ips: bigint[] = [];
    for (let i = 0; i + 8 <= v.byteLength; i += 8) {
      const ip = dv.getBigUint64(i, true);
      if (ip === 0n) break;
      ips.push(ip);
    }
    const frames = !user
      ? kstackFrames(ips, { perf })
      : pid > 0
      ? ustackFrames(ips, pid, { perf })
      : ips.map((ip) =>
        perf ? `${ip.toString(16)} 0x${ip.toString(16)} ([unknown])` : `0x${ip.toString(16)}`
      );
    return frames.join("\n");
  };
}

/**
 * The decoder of one field: `size` bytes of a string, a 64-bit integer,
 * or a stack id looked up in `stacks`.
 */
export function decoderOf(a: Access, size: number, stacks: BpfMap | undefined): Decoder {
  if (a.type === "stack") return stackDecoder(stacks, { user: a.user });
  if (a.type === "str") {
    return (view, offset) => {
      const bytes = new Uint8Array(view.buffer, view.byteOffset + offset, size);
      const end = bytes.indexOf(0);
      return utf8.decode(end < 0 ? bytes : bytes.subarray(0, end));
    };
  }
  return a.signed
    ? (view, offset) => Number(view.getBigInt64(offset, true))
    : (view, offset) => Number(view.getBigUint64(offset, true));
}
