/**
 * `net list [dev NAME]` (also `net show`): bpftool 7.1's text and `-j`/`-p`
 * output: XDP programs per interface (RTM_GETLINK), `bpf` tc filters under
 * each interface's classes and qdiscs and under root, clsact ingress and
 * clsact egress (RTM_GETTFILTER, the kernel's `tc filter show` answer, with
 * their `bpf` actions), and the network namespace's flow dissector
 * (BPF_PROG_QUERY). As in bpftool 7.1, tcx, netkit and netfilter
 * attachments are not listed (that bpftool predates them; `link list` shows
 * their links).
 *
 * @module
 */

import { InvalidArgumentError, NotFoundError } from "../errors.ts";
import {
  type NetInterface,
  netInterfaces,
  type NetlinkSocket,
  tcClasses,
  type TcFilter,
  tcFilters,
  tcQdiscs,
  withRtnetlink,
} from "../link/net_query.ts";
import { AttachType } from "../sys/abi.ts";
import { addressOf, bpfTry } from "../sys/bpf.ts";
import { openPath } from "../sys/open_path.ts";
import { bpftoolArgs, jsonWriter, writeOut } from "./bpftool_common.ts";
import type { JsonWriter } from "./bpftool_json.ts";

const TC_H_ROOT = 0xffffffff;
const TC_H_CLSACT = 0xfffffff1;
const CLSACT_INGRESS = (TC_H_CLSACT & 0xffff0000) | 0xfff2;
const CLSACT_EGRESS = (TC_H_CLSACT & 0xffff0000) | 0xfff3;

/** Writes bpftool's NET_* output: the text form, or JSON into `w`. */
class NetOut {
  text = "";
  constructor(readonly w: JsonWriter | undefined) {}
  str(name: string, fmt: (s: string) => string, value: string): void {
    if (this.w) this.w.stringField(name, value);
    else this.text += fmt(value);
  }
  uint(name: string, fmt: (n: number) => string, value: number): void {
    if (this.w) this.w.numberField(name, value);
    else this.text += fmt(value);
  }
  startArray(name: string, fmt: (s: string) => string): void {
    if (this.w) {
      this.w.name(name);
      this.w.startArray();
    } else this.text += fmt(name);
  }
  endArray(end: string): void {
    if (this.w) this.w.endArray();
    else this.text += end;
  }
  startObject(): void {
    this.w?.startObject();
  }
  /** NET_END_OBJECT_FINAL: `}` or a newline. */
  endObjectFinal(): void {
    if (this.w) this.w.endObject();
    else this.text += "\n";
  }
}

const XDP_MODES: Record<number, string> = { 1: "driver", 2: "generic", 3: "offload" };

function xdpProg(out: NetOut, mode: string, id: number | undefined, nested: boolean): void {
  if (id === undefined) return;
  if (nested) out.startObject();
  out.str("mode", (s) => ` ${s}`, mode);
  out.uint("id", (n) => ` id ${n}`, id);
  if (nested) out.w?.endObject();
}

/** bpftool's do_xdp_dump_one. */
function xdpDump(out: NetOut, dev: NetInterface): void {
  if (!dev.xdpAttached) return;
  out.startObject();
  if (dev.name !== undefined) out.str("devname", (s) => s, dev.name);
  out.uint("ifindex", (n) => `(${n})`, dev.ifindex);
  if (dev.xdpAttached === 4) {
    if (out.w) {
      out.w.name("multi_attachments");
      out.w.startArray();
    }
    xdpProg(out, "generic", dev.xdpSkbProgId, true);
    xdpProg(out, "driver", dev.xdpDrvProgId, true);
    xdpProg(out, "offload", dev.xdpHwProgId, true);
    out.w?.endArray();
  } else if (XDP_MODES[dev.xdpAttached]) {
    xdpProg(out, XDP_MODES[dev.xdpAttached], dev.xdpProgId, false);
  }
  out.endObjectFinal();
}

/** bpftool's do_filter_dump for one filter under `kind`. */
function filterDump(
  out: NetOut,
  f: TcFilter,
  kind: string,
  dev: { name: string; ifindex: number },
) {
  if (!f.options || f.kind !== "bpf") return;
  out.startObject();
  if (dev.name !== "") out.str("devname", (s) => s, dev.name);
  out.uint("ifindex", (n) => `(${n})`, dev.ifindex);
  out.str("kind", (s) => ` ${s}`, kind);
  if (f.name !== undefined) out.str("name", (s) => ` ${s}`, f.name);
  if (f.id !== undefined) out.uint("id", (n) => ` id ${n}`, f.id);
  if (f.actions) {
    out.startArray("act", (s) => ` ${s} [`);
    for (const a of f.actions) {
      if (!a || a.kind !== "bpf") continue;
      if (!a.parms) break; // bpftool stops at a malformed bpf action
      if (out.w) out.w.startObject();
      else out.text += "{";
      if (a.name !== undefined) out.str("name", (s) => s, a.name);
      if (a.id !== undefined) out.uint("id", (n) => ` id ${n}`, a.id);
      if (out.w) out.w.endObject();
      else out.text += "}";
    }
    out.endArray("] ");
  }
  out.endObjectFinal();
}

/** bpftool's show_dev_tc_bpf: it gives up on a device at the first netlink error, silently. */
function devTc(out: NetOut, nl: NetlinkSocket, dev: { name: string; ifindex: number }): void {
  try {
    const parents: [string, number][] = tcClasses(nl, dev.ifindex)
      .map((c) => [c.kind ?? "unknown", c.handle]);
    for (const q of tcQdiscs(nl, dev.ifindex)) {
      if (q.kind === "clsact" || q.handle === 0) continue;
      parents.push([q.kind ?? "unknown", q.handle]);
    }
    parents.push(["root", TC_H_ROOT], ["clsact/ingress", CLSACT_INGRESS], [
      "clsact/egress",
      CLSACT_EGRESS,
    ]);
    for (const [kind, handle] of parents) {
      for (const f of tcFilters(nl, dev.ifindex, handle)) filterDump(out, f, kind, dev);
    }
  } catch {
    // as bpftool: the rest of this device is left out
  }
}

/** The flow dissector program of the caller's network namespace (0 if none). */
function flowDissectorId(): number {
  using ns = openPath("/proc/self/ns/net");
  const ids = new Uint32Array(1);
  const attr = {
    targetFd: ns.value,
    attachType: AttachType.flow_dissector,
    queryFlags: 0,
    attachFlags: 0,
    progIds: addressOf(ids),
    progCnt: 1,
  };
  const r = bpfTry("PROG_QUERY", attr);
  if (r < 0) {
    if (-r === 22) return 0; // EINVAL: a kernel that cannot query it
    throw new NotFoundError("flow dissector query", `BPF_PROG_QUERY failed (errno ${-r})`);
  }
  return attr.progCnt === 1 ? ids[0] : 0;
}

/** `net list [dev NAME] [-j|-p]` (also `net show`). */
export function netListCommand(args: string[]): number {
  const opts = bpftoolArgs(args);
  const words = opts.words;
  let devName: string | undefined;
  if (words.length === 2 && words[0].length > 0 && "dev".startsWith(words[0])) devName = words[1];
  else if (words.length) {
    throw new InvalidArgumentError(`net list: expected "dev NAME", got "${words.join(" ")}"`);
  }
  const fd = flowDissectorId();
  const out = new NetOut(opts.json ? jsonWriter(opts) : undefined);
  withRtnetlink((nl) => {
    const all = netInterfaces(nl);
    let filter = -1;
    if (devName !== undefined) {
      const dev = all.find((d) => d.name === devName);
      if (!dev) {
        throw new NotFoundError(`interface ${devName}`, `no interface is named ${devName} here`);
      }
      filter = dev.ifindex;
    }
    const devs = all.filter((d) => filter <= 0 || d.ifindex === filter);
    out.w?.startArray();
    out.startObject();
    out.startArray("xdp", (s) => `${s}:\n`);
    for (const d of devs) xdpDump(out, d);
    out.endArray("\n");
    out.startArray("tc", (s) => `${s}:\n`);
    for (const d of devs) devTc(out, nl, { name: d.name ?? "", ifindex: d.ifindex });
    out.endArray("\n");
  });
  out.startArray("flow_dissector", (s) => `${s}:\n`);
  if (fd > 0) out.uint("id", (n) => `id ${n}`, fd);
  out.endArray("\n");
  if (out.w) {
    out.w.endObject();
    out.w.endArray();
    writeOut(out.w.text());
  } else writeOut(out.text);
  return 0;
}
