/**
 * `map list`, `map show [id N]`: bpftool 7.1's text and `-j`/`-p` output.
 *
 * @module
 */

import { type MapInfo, readMapInfo } from "../map/info.ts";
import { MapType } from "../sys/abi.ts";
import type { FD } from "../sys/fd.ts";
import {
  bpftoolArgs,
  fdinfoField,
  idArg,
  jsonWriter,
  mapTypeStr,
  progTypeStr,
  writeOut,
} from "./bpftool_common.ts";
import type { JsonWriter } from "./bpftool_json.ts";
import { eachObject, openById } from "./bpftool_objects.ts";

/** One map as bpftool's plain `map show` prints it. */
export function mapPlain(fd: FD, info: MapInfo = readMapInfo(fd.value)): string {
  const type = mapTypeStr(info.type);
  let s = `${info.id}: ${type ? `${type}  ` : `type ${info.type}  `}`;
  if (info.name) s += `name ${info.name}  `;
  s += `flags 0x${info.flags.toString(16)}`;
  if (info.ifindex) s += `  offloaded_to ifindex ${info.ifindex}`;
  s += `\n\tkey ${info.keySize}B  value ${info.valueSize}B  max_entries ${info.maxEntries}`;
  const memlock = fdinfoField(fd.value, "memlock");
  if (memlock !== undefined) s += `  memlock ${memlock}B`;
  if (info.type === MapType.prog_array) {
    const owner = fdinfoField(fd.value, "owner_prog_type");
    const jited = fdinfoField(fd.value, "owner_jited");
    if (owner !== undefined) {
      const n = Number(owner);
      const name = progTypeStr(n);
      s += `\n\t${name ? `owner_prog_type ${name}  ` : `owner_prog_type ${n}  `}`;
    }
    if (jited !== undefined) s += `owner${Number(jited) ? "" : " not"} jited`;
  }
  const frozen = Number(fdinfoField(fd.value, "frozen") ?? 0);
  if (info.btfId || frozen) s += "\n\t";
  if (info.btfId) s += `btf_id ${info.btfId}`;
  if (frozen) s += `${info.btfId ? "  " : ""}frozen`;
  return s + "\n";
}

/** One map as bpftool's `-j` `map show` writes it. */
export function mapJson(w: JsonWriter, fd: FD, info: MapInfo = readMapInfo(fd.value)): void {
  w.startObject();
  w.numberField("id", info.id);
  const type = mapTypeStr(info.type);
  if (type) w.stringField("type", type);
  else w.numberField("type", info.type);
  if (info.name) w.stringField("name", info.name);
  w.numberField("flags", info.flags);
  if (info.ifindex) w.numberField("ifindex", info.ifindex);
  w.numberField("bytes_key", info.keySize);
  w.numberField("bytes_value", info.valueSize);
  w.numberField("max_entries", info.maxEntries);
  const memlock = fdinfoField(fd.value, "memlock");
  if (memlock !== undefined) w.numberField("bytes_memlock", Number(memlock));
  if (info.type === MapType.prog_array) {
    const owner = fdinfoField(fd.value, "owner_prog_type");
    const jited = fdinfoField(fd.value, "owner_jited");
    if (owner !== undefined) {
      const n = Number(owner);
      const name = progTypeStr(n);
      if (name) w.stringField("owner_prog_type", name);
      else w.numberField("owner_prog_type", n);
    }
    if (jited !== undefined) w.boolField("owner_jited", Number(jited) !== 0);
  }
  w.numberField("frozen", Number(fdinfoField(fd.value, "frozen") ?? 0));
  if (info.btfId) w.numberField("btf_id", info.btfId);
  w.endObject();
}

/** `map list` / `map show [id N] [-j|-p]`. */
export function mapShowCommand(args: string[]): number {
  const opts = bpftoolArgs(args);
  const id = idArg(opts.words, "map show");
  const w = jsonWriter(opts);
  if (id !== undefined) {
    using fd = openById("map", id);
    if (opts.json) {
      mapJson(w, fd);
      writeOut(w.text());
    } else writeOut(mapPlain(fd));
    return 0;
  }
  if (opts.json) w.startArray();
  for (const fd of eachObject("map")) {
    if (opts.json) mapJson(w, fd);
    else writeOut(mapPlain(fd));
  }
  if (opts.json) {
    w.endArray();
    writeOut(w.text());
  }
  return 0;
}
