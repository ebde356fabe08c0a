/**
 * `prog list`, `prog show [id N]`: bpftool 7.1's text and `-j`/`-p` output.
 *
 * @module
 */

import { type ProgramInfo, readProgramInfo } from "../program/info.ts";
import type { FD } from "../sys/fd.ts";
import {
  bpftoolArgs,
  fdinfoField,
  formatLocalTime,
  idArg,
  jsonWriter,
  progTypeStr,
  wallclockSeconds,
  writeOut,
} from "./bpftool_common.ts";
import type { JsonWriter } from "./bpftool_json.ts";
import { eachObject, openById } from "./bpftool_objects.ts";

/** One program as bpftool's plain `prog show` prints it. */
export function progPlain(fd: FD, info: ProgramInfo = readProgramInfo(fd.value)): string {
  const type = progTypeStr(info.type);
  let s = `${info.id}: ${type ? `${type}  ` : `type ${info.type}  `}`;
  if (info.name) s += `name ${info.name}  `;
  s += `tag ${info.tag}`;
  if (info.ifindex) s += `  offloaded_to ifindex ${info.ifindex}`;
  if (info.gplCompatible) s += "  gpl";
  if (info.runTimeNs) s += ` run_time_ns ${info.runTimeNs} run_cnt ${info.runCnt}`;
  if (info.recursionMisses) s += ` recursion_misses ${info.recursionMisses}`;
  s += "\n";
  if (info.loadTime) {
    s += `\tloaded_at ${formatLocalTime(wallclockSeconds(info.loadTime))}  uid ${info.uid}\n`;
  }
  s += `\txlated ${info.xlatedSize}B`;
  s += info.jitedSize ? `  jited ${info.jitedSize}B` : "  not jited";
  const memlock = fdinfoField(fd.value, "memlock");
  if (memlock !== undefined) s += `  memlock ${memlock}B`;
  if (info.mapIds.length) s += `  map_ids ${info.mapIds.join(",")}`;
  if (info.btfId) s += `\n\tbtf_id ${info.btfId}`;
  return s + "\n";
}

/**
 * The members bpftool's print_prog_header_json writes (id through
 * recursion_misses): the start of `prog show -j` and of each program of a
 * `prog dump` that matched several.
 */
export function progHeaderJson(w: JsonWriter, info: ProgramInfo): void {
  w.numberField("id", info.id);
  const type = progTypeStr(info.type);
  if (type) w.stringField("type", type);
  else w.numberField("type", info.type);
  if (info.name) w.stringField("name", info.name);
  w.stringField("tag", info.tag);
  w.boolField("gpl_compatible", info.gplCompatible);
  if (info.runTimeNs) {
    w.numberField("run_time_ns", info.runTimeNs);
    w.numberField("run_cnt", info.runCnt);
  }
  if (info.recursionMisses) w.numberField("recursion_misses", info.recursionMisses);
}

/** One program as bpftool's `-j` `prog show` writes it. */
export function progJson(w: JsonWriter, fd: FD, info: ProgramInfo = readProgramInfo(fd.value)) {
  w.startObject();
  progHeaderJson(w, info);
  if (info.ifindex) w.numberField("ifindex", info.ifindex);
  if (info.loadTime) {
    w.numberField("loaded_at", wallclockSeconds(info.loadTime));
    w.numberField("uid", info.uid);
  }
  w.numberField("bytes_xlated", info.xlatedSize);
  w.boolField("jited", info.jitedSize !== 0);
  if (info.jitedSize) w.numberField("bytes_jited", info.jitedSize);
  const memlock = fdinfoField(fd.value, "memlock");
  if (memlock !== undefined) w.numberField("bytes_memlock", Number(memlock));
  if (info.mapIds.length) {
    w.name("map_ids");
    w.startArray();
    for (const id of info.mapIds) w.number(id);
    w.endArray();
  }
  if (info.btfId) w.numberField("btf_id", info.btfId);
  w.endObject();
}

/** `prog list` / `prog show [id N] [-j|-p]`. */
export function progShowCommand(args: string[]): number {
  const opts = bpftoolArgs(args);
  const id = idArg(opts.words, "prog show");
  const w = jsonWriter(opts);
  if (id !== undefined) {
    using fd = openById("prog", id);
    if (opts.json) {
      progJson(w, fd);
      writeOut(w.text());
    } else writeOut(progPlain(fd));
    return 0;
  }
  if (opts.json) w.startArray();
  for (const fd of eachObject("prog")) {
    if (opts.json) progJson(w, fd);
    else writeOut(progPlain(fd));
  }
  if (opts.json) {
    w.endArray();
    writeOut(w.text());
  }
  return 0;
}
