/**
 * CPU sets from sysfs: possible and online CPUs, as per-CPU maps and perf
 * rings need them.
 *
 * @module
 */

import { ParseError } from "../errors.ts";
import { readTextFile } from "./file.ts";

/** Parses a kernel CPU list such as `0-3,5,7-8` into CPU numbers. */
export function parseCpuList(text: string): number[] {
  const out: number[] = [];
  const s = text.trim();
  if (s === "") return out;
  for (const part of s.split(",")) {
    const m = /^(\d+)(?:-(\d+))?$/.exec(part);
    if (!m) throw new ParseError("cpu list", `bad range ${JSON.stringify(part)}`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (hi < lo || hi - lo > 65536) throw new ParseError("cpu list", `bad range ${part}`);
    for (let c = lo; c <= hi; c++) out.push(c);
  }
  return out;
}

const cache = new Map<string, number[]>();

function readList(file: string, root: string): number[] {
  const key = `${root}\0${file}`;
  let v = cache.get(key);
  if (!v) {
    v = parseCpuList(
      readTextFile(`${root.replace(/\/$/, "")}/sys/devices/system/cpu/${file}`),
    );
    cache.set(key, v);
  }
  return v;
}

/** The possible CPUs (`/sys/devices/system/cpu/possible`). */
export function possibleCpus(options: { root?: string } = {}): number[] {
  return readList("possible", options.root ?? "/");
}

/** How many values a per-CPU map holds per key: the highest possible CPU + 1. */
export function possibleCpuCount(options: { root?: string } = {}): number {
  const l = possibleCpus(options);
  return l.length ? l[l.length - 1] + 1 : 1;
}

/** The online CPUs (`/sys/devices/system/cpu/online`). */
export function onlineCpus(options: { root?: string } = {}): number[] {
  return readList("online", options.root ?? "/");
}
