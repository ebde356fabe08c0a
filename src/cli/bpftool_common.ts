/**
 * What the bpftool-like commands share: bpftool 7.1's (libbpf 1.1's) names
 * of program, map, link and attach types, `/proc/self/fdinfo` fields, the
 * load time as bpftool prints it, and the `-j`/`-p` and `id N` arguments.
 *
 * @module
 */

import { AttachType, LinkType, MapType, ProgramType } from "../sys/abi.ts";
import { InvalidArgumentError } from "../errors.ts";
import { readTextFile } from "../sys/file.ts";
import { JsonWriter } from "./bpftool_json.ts";

function names(table: Record<string, number>, last: number): string[] {
  const out: string[] = [];
  for (const [name, n] of Object.entries(table)) if (n <= last) out[n] = name;
  return out;
}

// libbpf 1.1 (bpftool 7.1) knows program types through syscall, map types
// through cgrp_storage, link types through kprobe_multi and attach types
// through lsm_cgroup; newer ones print as numbers, as bpftool 7.1 does.
const PROG_TYPES = names(ProgramType, ProgramType.syscall);
const MAP_TYPES = names(MapType, MapType.cgrp_storage);
const LINK_TYPES = names(LinkType, LinkType.kprobe_multi);
const ATTACH_TYPES = names(AttachType, AttachType.lsm_cgroup);

/** bpftool 7.1's name of a program type, or `undefined` where it prints the number. */
export function progTypeStr(type: number): string | undefined {
  return PROG_TYPES[type];
}

/** bpftool 7.1's name of a map type, or `undefined` where it prints the number. */
export function mapTypeStr(type: number): string | undefined {
  return MAP_TYPES[type];
}

/** bpftool 7.1's name of a link type, or `undefined` where it prints the number. */
export function linkTypeStr(type: number): string | undefined {
  return LINK_TYPES[type];
}

/** bpftool 7.1's name of an attach type, or `undefined` where it prints the number. */
export function attachTypeStr(type: number): string | undefined {
  return ATTACH_TYPES[type];
}

/** A field of `/proc/self/fdinfo/FD` (`memlock`, `frozen`, `owner_prog_type` …), or `undefined`. */
export function fdinfoField(fd: number, field: string): string | undefined {
  let text: string;
  try {
    text = readTextFile(`/proc/self/fdinfo/${fd}`);
  } catch {
    return undefined;
  }
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon > 0 && line.slice(0, colon) === field) return line.slice(colon + 1).trim();
  }
  return undefined;
}

/** Seconds since the epoch at which something happened `bootNs` ns after boot (CLOCK_BOOTTIME). */
export function wallclockSeconds(bootNs: bigint): number {
  const uptime = Number(readTextFile("/proc/uptime").split(" ")[0]);
  const bootEpochMs = Date.now() - uptime * 1000;
  return Math.floor((bootEpochMs + Number(bootNs / 1_000_000n)) / 1000);
}

/** `2026-12-06T17:10:22+0000`: bpftool's `%FT%T%z` of local time. */
export function formatLocalTime(seconds: number): string {
  const d = new Date(seconds * 1000);
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const off = -d.getTimezoneOffset();
  const sign = off < 0 ? "-" : "+";
  const abs = Math.abs(off);
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:` +
    `${p(d.getMinutes())}:${p(d.getSeconds())}${sign}${p(Math.floor(abs / 60))}${p(abs % 60)}`;
}

/** The output options of a bpftool-like command and its remaining words. */
export interface BpftoolArgs {
  /** `-j`/`--json` or `-p`/`--pretty`. */
  json: boolean;
  /** `-p`/`--pretty`. */
  pretty: boolean;
  /** The other words, in order. */
  words: string[];
}

/** Splits `-j`, `--json`, `-p`, `--pretty` from the other words. */
export function bpftoolArgs(args: readonly string[]): BpftoolArgs {
  let json = false;
  let pretty = false;
  const words: string[] = [];
  for (const a of args) {
    if (a === "-j" || a === "--json") json = true;
    else if (a === "-p" || a === "--pretty") json = pretty = true;
    else words.push(a);
  }
  return { json, pretty, words };
}

/**
 * The id of `id N` in `words` (from index `at`), or `undefined` if there are
 * no more words; anything else is an InvalidArgumentError naming `what`.
 */
export function idArg(words: readonly string[], what: string, at = 0): number | undefined {
  if (words.length <= at) return undefined;
  if (words[at] !== "id" || words.length < at + 2) {
    throw new InvalidArgumentError(
      `${what}: expected "id N", got "${words.slice(at).join(" ")}"; ` +
        `use "${what} id N" (pinned paths, tags and names are not supported)`,
    );
  }
  const n = Number(words[at + 1]);
  if (!Number.isInteger(n) || n <= 0 || n > 0xffffffff) {
    throw new InvalidArgumentError(`${what}: "${words[at + 1]}" is not an object id`);
  }
  return n;
}

/** A new JSON writer for these options. */
export function jsonWriter(opts: BpftoolArgs): JsonWriter {
  return new JsonWriter(opts.pretty);
}

const encoder = new TextEncoder();

/** Writes `text` to stdout as is. */
export function writeOut(text: string): void {
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.length) off += Deno.stdout.writeSync(bytes.subarray(off));
}
