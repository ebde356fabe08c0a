/**
 * `perf list`: bpftool 7.1's text and `-j`/`-p` output: every process's
 * descriptors that attach a program to a tracepoint, raw tracepoint, kprobe
 * or uprobe (BPF_TASK_FD_QUERY on each of /proc/PID/fd/*).
 *
 * @module
 */

import { addressOf, bpfTry } from "../sys/bpf.ts";
import { readDirNames } from "../sys/file.ts";
import { bpftoolArgs, jsonWriter, writeOut } from "./bpftool_common.ts";
import type { JsonWriter } from "./bpftool_json.ts";

const FD_TYPE = {
  raw_tracepoint: 0,
  tracepoint: 1,
  kprobe: 2,
  kretprobe: 3,
  uprobe: 4,
  uretprobe: 5,
} as const;

/** One descriptor's answer to BPF_TASK_FD_QUERY. */
export interface PerfAttachment {
  /** The process. */
  pid: number;
  /** Its descriptor. */
  fd: number;
  /** The attached program. */
  progId: number;
  /** `BPF_FD_TYPE_*`. */
  fdType: number;
  /** Tracepoint or function name, or file path. */
  name: string;
  /** kprobe/uprobe offset. */
  probeOffset: bigint;
  /** kprobe address. */
  probeAddr: bigint;
}

function numbered(path: string): number[] {
  try {
    return readDirNames(path).filter((n) => /^\d+$/.test(n)).map(Number);
  } catch {
    return []; // gone meanwhile, or not ours to read
  }
}

/** Every perf-event or raw-tracepoint attachment of every process, as bpftool walks them. */
export function* perfAttachments(): Generator<PerfAttachment> {
  const buf = new Uint8Array(4096);
  for (const pid of numbered("/proc")) {
    for (const fd of numbered(`/proc/${pid}/fd`)) {
      const attr = {
        pid,
        fd,
        flags: 0,
        bufLen: buf.length,
        buf: addressOf(buf),
        progId: 0,
        fdType: 0,
        probeOffset: 0n,
        probeAddr: 0n,
      };
      if (bpfTry("TASK_FD_QUERY", attr) < 0) continue;
      const end = buf.indexOf(0);
      yield {
        pid,
        fd,
        progId: attr.progId,
        fdType: attr.fdType,
        name: new TextDecoder().decode(buf.subarray(0, end < 0 ? buf.length : end)),
        probeOffset: BigInt(attr.probeOffset),
        probeAddr: BigInt(attr.probeAddr),
      };
    }
  }
}

/** One attachment as bpftool's plain `perf list` prints it. */
export function perfPlain(a: PerfAttachment): string {
  const head = `pid ${a.pid}  fd ${a.fd}: prog_id ${a.progId}  `;
  switch (a.fdType) {
    case FD_TYPE.raw_tracepoint:
      return `${head}raw_tracepoint  ${a.name}\n`;
    case FD_TYPE.tracepoint:
      return `${head}tracepoint  ${a.name}\n`;
    case FD_TYPE.kprobe:
    case FD_TYPE.kretprobe: {
      const kind = a.fdType === FD_TYPE.kprobe ? "kprobe" : "kretprobe";
      return a.name
        ? `${head}${kind}  func ${a.name}  offset ${a.probeOffset}\n`
        : `${head}${kind}  addr ${a.probeAddr}\n`;
    }
    case FD_TYPE.uprobe:
    case FD_TYPE.uretprobe: {
      const kind = a.fdType === FD_TYPE.uprobe ? "uprobe" : "uretprobe";
      return `${head}${kind}  filename ${a.name}  offset ${a.probeOffset}\n`;
    }
    default:
      return head;
  }
}

/** One attachment as bpftool's `-j` `perf list` writes it. */
export function perfJson(w: JsonWriter, a: PerfAttachment): void {
  w.startObject();
  w.numberField("pid", a.pid);
  w.numberField("fd", a.fd);
  w.numberField("prog_id", a.progId);
  switch (a.fdType) {
    case FD_TYPE.raw_tracepoint:
    case FD_TYPE.tracepoint:
      w.stringField("fd_type", a.fdType === FD_TYPE.tracepoint ? "tracepoint" : "raw_tracepoint");
      w.stringField("tracepoint", a.name);
      break;
    case FD_TYPE.kprobe:
    case FD_TYPE.kretprobe:
      w.stringField("fd_type", a.fdType === FD_TYPE.kprobe ? "kprobe" : "kretprobe");
      if (a.name) {
        w.stringField("func", a.name);
        w.numberField("offset", a.probeOffset);
      } else w.numberField("addr", a.probeAddr);
      break;
    case FD_TYPE.uprobe:
    case FD_TYPE.uretprobe:
      w.stringField("fd_type", a.fdType === FD_TYPE.uprobe ? "uprobe" : "uretprobe");
      w.stringField("filename", a.name);
      w.numberField("offset", a.probeOffset);
      break;
  }
  w.endObject();
}

/** `perf list [-j|-p]` (also `perf show`). */
export function perfListCommand(args: string[]): number {
  const opts = bpftoolArgs(args);
  const w = jsonWriter(opts);
  if (opts.json) w.startArray();
  let out = "";
  for (const a of perfAttachments()) {
    if (opts.json) perfJson(w, a);
    else out += perfPlain(a);
  }
  if (opts.json) {
    w.endArray();
    writeOut(w.text());
  } else writeOut(out);
  return 0;
}
