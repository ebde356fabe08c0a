/**
 * `btf list`, `btf show [id N]`: bpftool 7.1's text and `-j`/`-p` output,
 * with the programs and maps that use each BTF object in bpftool's order.
 *
 * @module
 */

import { type LoadedBtfInfo, loadedBtfInfo } from "../btf/loaded.ts";
import { readMapInfo } from "../map/info.ts";
import { readProgramInfo } from "../program/info.ts";
import { bpftoolArgs, idArg, jsonWriter, writeOut } from "./bpftool_common.ts";
import type { JsonWriter } from "./bpftool_json.ts";
import { eachObject, openById } from "./bpftool_objects.ts";

/**
 * bpftool keeps "BTF id → program (map) ids" in a libbpf hashmap, appending
 * each object in id order: an entry goes to the head of its bucket's chain,
 * and each growth of the table (before an insert that would fill it past
 * 3/4; capacities 4, 8, 16 …) walks the chains and re-adds every entry at
 * its new head, so one key's ids reverse. This reproduces the order in which
 * bpftool then prints the ids of one BTF object.
 */
export class IdMultimap {
  #chains = new Map<number, number[]>();
  #size = 0;
  #cap = 0;

  /** Appends `value` under `key`. */
  append(key: number, value: number): void {
    if (this.#cap === 0 || Math.floor((this.#size + 1) * 4 / 3) > this.#cap) {
      this.#cap = Math.max(4, this.#cap * 2);
      for (const chain of this.#chains.values()) chain.reverse();
    }
    let chain = this.#chains.get(key);
    if (!chain) this.#chains.set(key, chain = []);
    chain.unshift(value);
    this.#size++;
  }

  /** The values under `key`, in bpftool's order. */
  get(key: number): number[] {
    return this.#chains.get(key) ?? [];
  }
}

function tables(): { progs: IdMultimap; maps: IdMultimap } {
  const progs = new IdMultimap();
  const maps = new IdMultimap();
  for (const fd of eachObject("prog")) {
    const info = readProgramInfo(fd.value);
    if (info.btfId) progs.append(info.btfId, info.id);
  }
  for (const fd of eachObject("map")) {
    const info = readMapInfo(fd.value);
    if (info.btfId) maps.append(info.btfId, info.id);
  }
  return { progs, maps };
}

/** One BTF object as bpftool's plain `btf show` prints it. */
export function btfPlain(info: LoadedBtfInfo, progIds: number[], mapIds: number[]): string {
  const name = !info.name ? "<anon>" : info.kernel ? `[${info.name}]` : info.name;
  let s = `${info.id}: name ${name}  size ${info.size}B`;
  if (progIds.length) s += `  prog_ids ${progIds.join(",")}`;
  if (mapIds.length) s += `  map_ids ${mapIds.join(",")}`;
  return s + "\n";
}

/** One BTF object as bpftool's `-j` `btf show` writes it. */
export function btfJson(
  w: JsonWriter,
  info: LoadedBtfInfo,
  progIds: number[],
  mapIds: number[],
): void {
  w.startObject();
  w.numberField("id", info.id);
  w.numberField("size", info.size);
  w.name("prog_ids");
  w.startArray();
  for (const id of progIds) w.number(id);
  w.endArray();
  w.name("map_ids");
  w.startArray();
  for (const id of mapIds) w.number(id);
  w.endArray();
  w.boolField("kernel", info.kernel);
  if (info.name) w.stringField("name", info.name);
  w.endObject();
}

/** `btf list` / `btf show [id N] [-j|-p]`. */
export function btfShowCommand(args: string[]): number {
  const opts = bpftoolArgs(args);
  const id = idArg(opts.words, "btf show");
  const w = jsonWriter(opts);
  const { progs, maps } = tables();
  const one = (info: LoadedBtfInfo) => {
    const p = progs.get(info.id);
    const m = maps.get(info.id);
    if (opts.json) btfJson(w, info, p, m);
    else writeOut(btfPlain(info, p, m));
  };
  if (id !== undefined) {
    using fd = openById("btf", id);
    one(loadedBtfInfo(fd));
    if (opts.json) writeOut(w.text());
    return 0;
  }
  if (opts.json) w.startArray();
  for (const fd of eachObject("btf")) one(loadedBtfInfo(fd));
  if (opts.json) {
    w.endArray();
    writeOut(w.text());
  }
  return 0;
}
