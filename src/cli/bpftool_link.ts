/**
 * `link list`, `link show [id N]`: bpftool 7.1's text and `-j`/`-p` output.
 *
 * bpftool 7.1 prints details for raw_tracepoint, cgroup and netns links
 * (and their attach types by libbpf 1.1's names); other links show their id,
 * type and program only, as there.
 *
 * @module
 */

import { type LinkInfo, readLinkInfo } from "../link/info.ts";
import { LinkType } from "../sys/abi.ts";
import type { FD } from "../sys/fd.ts";
import {
  attachTypeStr,
  bpftoolArgs,
  idArg,
  jsonWriter,
  linkTypeStr,
  writeOut,
} from "./bpftool_common.ts";
import type { JsonWriter } from "./bpftool_json.ts";
import { eachObject, openById } from "./bpftool_objects.ts";

function attachPlain(type: number): string {
  const name = attachTypeStr(type);
  return name ? `attach_type ${name}  ` : `attach_type ${type}  `;
}

function attachJson(w: JsonWriter, type: number): void {
  const name = attachTypeStr(type);
  if (name) w.stringField("attach_type", name);
  else w.numberField("attach_type", type);
}

/** One link as bpftool's plain `link show` prints it. */
export function linkPlain(info: LinkInfo): string {
  const type = linkTypeStr(info.type);
  let s = `${info.id}: ${type ? `${type}  ` : `type ${info.type}  `}prog ${info.progId}  `;
  if (info.type === LinkType.raw_tracepoint && info.rawTracepoint) {
    s += `\n\ttp '${info.rawTracepoint.name}'  `;
  } else if (info.type === LinkType.cgroup && info.cgroup) {
    s += `\n\tcgroup_id ${info.cgroup.cgroupId}  ${attachPlain(info.cgroup.attachType)}`;
  } else if (info.type === LinkType.netns && info.netns) {
    s += `\n\tnetns_ino ${info.netns.netnsIno}  ${attachPlain(info.netns.attachType)}`;
  }
  return s + "\n";
}

/** One link as bpftool's `-j` `link show` writes it. */
export function linkJson(w: JsonWriter, info: LinkInfo): void {
  w.startObject();
  w.numberField("id", info.id);
  const type = linkTypeStr(info.type);
  if (type) w.stringField("type", type);
  else w.numberField("type", info.type);
  w.numberField("prog_id", info.progId);
  if (info.type === LinkType.raw_tracepoint && info.rawTracepoint) {
    w.stringField("tp_name", info.rawTracepoint.name);
  } else if (info.type === LinkType.cgroup && info.cgroup) {
    w.numberField("cgroup_id", info.cgroup.cgroupId);
    attachJson(w, info.cgroup.attachType);
  } else if (info.type === LinkType.netns && info.netns) {
    w.numberField("netns_ino", info.netns.netnsIno);
    attachJson(w, info.netns.attachType);
  }
  w.endObject();
}

/** `link list` / `link show [id N] [-j|-p]`. */
export function linkShowCommand(args: string[]): number {
  const opts = bpftoolArgs(args);
  const id = idArg(opts.words, "link show");
  const w = jsonWriter(opts);
  const one = (fd: FD) => {
    const info = readLinkInfo(fd.value);
    if (opts.json) linkJson(w, info);
    else writeOut(linkPlain(info));
  };
  if (id !== undefined) {
    using fd = openById("link", id);
    one(fd);
    if (opts.json) writeOut(w.text());
    return 0;
  }
  if (opts.json) w.startArray();
  for (const fd of eachObject("link")) one(fd);
  if (opts.json) {
    w.endArray();
    writeOut(w.text());
  }
  return 0;
}
