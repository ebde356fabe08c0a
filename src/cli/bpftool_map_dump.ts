/**
 * `map dump|lookup|update|delete id N …`: bpftool 7.1's text (hex
 * `key: .. value: ..`, or the BTF-formatted form when the map has BTF) and
 * its `-j`/`-p` JSON.
 *
 * @module
 */

import { loadedBtfSpec } from "../btf/loaded.ts";
import type { Spec } from "../btf/spec.ts";
import { InvalidArgumentError } from "../errors.ts";
import { MapType } from "../sys/abi.ts";
import { type BpfMap, mapFromId } from "../map/map.ts";
import type { MapInfo } from "../map/info.ts";
import { SyscallError } from "../sys/error.ts";
import { bpfTry } from "../sys/bpf.ts";
import { ENOENT, ENOSPC, errnoText } from "../sys/errno.ts";
import { bpftoolArgs, jsonWriter, writeOut } from "./bpftool_common.ts";
import { dumpBtfValue } from "./bpftool_btf_dumper.ts";
import { JsonWriter } from "./bpftool_json.ts";
import { NotFoundError } from "../errors.ts";

/** bpftool's fprint_hex: bytes as `%02x`, `sep` between, two spaces every 8, a newline every 16. */
export function hexBytes(data: Uint8Array, sep = " "): string {
  let s = "";
  for (let i = 0; i < data.length; i++) {
    if (i) s += i % 16 === 0 ? "\n" : i % 8 === 0 ? "  " : sep;
    s += data[i].toString(16).padStart(2, "0");
  }
  return s;
}

function hexJson(w: JsonWriter, data: Uint8Array): void {
  w.startArray();
  for (const b of data) w.raw(`"0x${b.toString(16).padStart(2, "0")}"`);
  w.endArray();
}

/** The values of one entry: one, or one per possible CPU. */
type Values = Uint8Array | Uint8Array[];

function entryPlain(info: MapInfo, key: Uint8Array, value: Values): string {
  if (!Array.isArray(value)) {
    const breakNames = info.keySize > 16 || info.valueSize > 16;
    const single = info.keySize + info.valueSize <= 24 && !breakNames;
    return `key:${breakNames ? "\n" : " "}${hexBytes(key)}${single ? "  " : "\n"}` +
      `value:${breakNames ? "\n" : " "}${hexBytes(value)}\n`;
  }
  let s = `key:\n${hexBytes(key)}\n`;
  value.forEach((v, i) => {
    s += `value (CPU ${String(i).padStart(2, "0")}):${info.valueSize > 16 ? "\n" : " "}` +
      `${hexBytes(v.subarray(0, info.valueSize))}\n`;
  });
  return s;
}

function doDumpBtf(
  w: JsonWriter,
  spec: Spec,
  info: MapInfo,
  key: Uint8Array,
  value: Values,
  plain: boolean,
): void {
  w.startObject();
  if (info.btfKeyTypeId) {
    w.name("key");
    dumpBtfValue(w, spec, info.btfKeyTypeId, key, plain);
  }
  valuesJson(w, value, (v) => dumpBtfValue(w, spec, info.btfValueTypeId, v, plain));
  w.endObject();
}

/**
 * `"value": V` for a map's one value, or `"values": [{ "cpu": i, "value": V }, …]`
 * for a per-CPU map's, each V written by `write`.
 */
function valuesJson(w: JsonWriter, value: Values, write: (v: Uint8Array) => void): void {
  if (!Array.isArray(value)) {
    w.name("value");
    write(value);
    return;
  }
  w.name("values");
  w.startArray();
  value.forEach((v, i) => {
    w.startObject();
    w.numberField("cpu", i);
    w.name("value");
    write(v);
    w.endObject();
  });
  w.endArray();
}

function entryJson(
  w: JsonWriter,
  spec: Spec | undefined,
  info: MapInfo,
  key: Uint8Array,
  value: Values,
): void {
  w.startObject();
  w.name("key");
  hexJson(w, key);
  // A single value is written whole; per-CPU values are cut to the value size.
  valuesJson(
    w,
    value,
    Array.isArray(value) ? (v) => hexJson(w, v.subarray(0, info.valueSize)) : (v) => hexJson(w, v),
  );
  if (spec) {
    w.name("formatted");
    doDumpBtf(w, spec, info, key, value, false);
  }
  w.endObject();
}

function openMap(id: number): BpfMap {
  try {
    return mapFromId(id);
  } catch (e) {
    if (e instanceof SyscallError && e.code === "ENOENT") {
      throw new NotFoundError(
        `map id ${id}`,
        `there is no map with id ${id}; list them with "map list"`,
        { cause: e },
      );
    }
    throw e;
  }
}

function btfOf(info: MapInfo): Spec | undefined {
  // bpftool formats with BTF when the map has a value type in it.
  return info.btfId && info.btfValueTypeId ? loadedBtfSpec(info.btfId) : undefined;
}

/** glibc's strerror: the kernel-internal errnos (512 and up) are "Unknown error N" there. */
function strerror(errno: number): string {
  return errno >= 512 ? `Unknown error ${errno}` : errnoText(errno);
}

/** One lookup as bpftool does it: the value(s), or the errno of a failed lookup. */
function read(map: BpfMap, key: Uint8Array): Values | number {
  const step = map.perCpu ? Math.ceil(map.valueSize / 8) * 8 : map.valueSize;
  const out = new Uint8Array(step * map.cpus);
  const r = bpfTry("MAP_LOOKUP_ELEM", { mapFd: map.fd, key, value: out });
  if (r < 0) return -r;
  if (!map.perCpu) return out;
  return Array.from({ length: map.cpus }, (_, i) => out.subarray(i * step, i * step + step));
}

/** bpftool's print_entry_error (nothing for an empty slot of a prog or map array). */
function entryError(w: JsonWriter | undefined, info: MapInfo, key: Uint8Array, errno: number) {
  const ofMaps = info.type === MapType.array_of_maps || info.type === MapType.hash_of_maps;
  if ((ofMaps || info.type === MapType.prog_array) && errno === ENOENT) return "";
  if (w) {
    w.startObject();
    w.name("key");
    hexJson(w, key);
    w.name("value");
    w.startObject();
    w.stringField("error", strerror(errno));
    w.endObject();
    w.endObject();
    return "";
  }
  const msg = errno === ENOENT
    ? "<no entry>"
    : errno === ENOSPC && info.type === MapType.reuseport_sockarray
    ? "<cannot read>"
    : strerror(errno);
  const breakNames = info.keySize > 16 || msg.length > 16;
  const single = info.keySize + msg.length <= 24 && !breakNames;
  return `key:${breakNames ? "\n" : " "}${hexBytes(key)}${single ? "  " : "\n"}` +
    `value:${breakNames ? "\n" : " "}${msg}\n`;
}

function mapId(words: string[], what: string): number {
  if (words[0] !== "id" || words.length < 2) {
    throw new InvalidArgumentError(
      `${what}: expected "id N" first, got "${words.join(" ")}"; use "${what} id N …"`,
    );
  }
  const n = Number(words[1]);
  if (!Number.isInteger(n) || n <= 0 || n > 0xffffffff) {
    throw new InvalidArgumentError(`${what}: "${words[1]}" is not a map id`);
  }
  return n;
}

/** `map dump id N [-j|-p]`. */
export function mapDumpCommand(args: string[]): number {
  const opts = bpftoolArgs(args);
  const id = mapId(opts.words, "map dump");
  using map = openMap(id);
  const info = map.info();
  const spec = btfOf(info);
  const keys: Uint8Array[] = info.keySize === 0 ? [] : [...map.keys()];
  if (opts.json) {
    const w = jsonWriter(opts);
    w.startArray();
    for (const key of keys) {
      const value = read(map, key);
      if (typeof value === "number") entryError(w, info, key, value);
      else entryJson(w, spec, info, key, value);
    }
    w.endArray();
    writeOut(w.text());
    return keyless(info);
  }
  if (spec) {
    const w = new JsonWriter(true);
    w.startArray();
    let errors = "";
    for (const key of keys) {
      const value = read(map, key);
      if (typeof value === "number") errors += entryError(undefined, info, key, value);
      else doDumpBtf(w, spec, info, key, value, true);
    }
    w.endArray();
    // bpftool prints error entries as they come, its BTF writer's JSON at the end.
    writeOut(errors + w.text());
    return keyless(info);
  }
  let n = 0;
  let out = "";
  for (const key of keys) {
    const value = read(map, key);
    if (typeof value === "number") {
      out += entryError(undefined, info, key, value);
      continue;
    }
    out += entryPlain(info, key, value);
    n++;
  }
  writeOut(`${out}Found ${n} element${n !== 1 ? "s" : ""}\n`);
  return keyless(info);
}

/**
 * Maps without keys (queue, stack, bloom filter, ring buffers) cannot be
 * walked: bpftool then fails (its exit code is the errno), after its output.
 */
function keyless(info: MapInfo): number {
  if (info.keySize !== 0) return 0;
  console.error(
    `denobpf: map id ${info.id} (${info.typeName}) has no keys to walk; ` +
      `queue and stack maps are read with pop/peek, ring buffers by a reader`,
  );
  return 1;
}

/** bpftool's parse_bytes: `N` words (C's strtoul base 0, each ≤ 255), or `hex` then hex words. */
export function parseBytes(words: string[], at: number, size: number, what: string): {
  bytes: Uint8Array;
  next: number;
} {
  const out = new Uint8Array(size);
  let i = at;
  let hex = false;
  if (words[i] === "hex") {
    hex = true;
    i++;
  }
  let n = 0;
  for (; n < size && i < words.length; n++, i++) {
    const w = words[i];
    const v = hex
      ? (/^[0-9a-fA-F]{1,2}$/.test(w) ? parseInt(w, 16) : NaN)
      : /^0[xX][0-9a-fA-F]+$/.test(w)
      ? parseInt(w, 16)
      : /^0[0-7]*$/.test(w)
      ? parseInt(w, 8)
      : /^[1-9][0-9]*$/.test(w)
      ? parseInt(w, 10)
      : NaN;
    if (!(v >= 0 && v <= 255)) {
      throw new InvalidArgumentError(`${what}: "${w}" is not a byte (0-255, or hex after "hex")`);
    }
    out[n] = v;
  }
  if (n !== size) {
    throw new InvalidArgumentError(`${what}: expected ${size} bytes, got ${n}`);
  }
  return { bytes: out, next: i };
}

function keyArg(info: MapInfo, words: string[], what: string) {
  if (words[2] !== "key") {
    throw new InvalidArgumentError(`${what}: expected "key" after the map id`);
  }
  return parseBytes(words, 3, info.keySize, `${what} key of map id ${info.id}`);
}

/** `map lookup id N key BYTES… [-j|-p]`. */
export function mapLookupCommand(args: string[]): number {
  const opts = bpftoolArgs(args);
  const id = mapId(opts.words, "map lookup");
  using map = openMap(id);
  const info = map.info();
  const { bytes: key } = keyArg(info, opts.words, "map lookup");
  const value = read(map, key);
  const spec = btfOf(info);
  if (typeof value === "number" && value !== ENOENT) {
    throw new SyscallError("bpf", value, { command: "BPF_MAP_LOOKUP_ELEM", hint: `map id ${id}` });
  }
  if (opts.json) {
    const w = jsonWriter(opts);
    if (typeof value === "number") w.raw("null");
    else entryJson(w, spec, info, key, value);
    writeOut(w.text());
    return typeof value === "number" ? 1 : 0;
  }
  if (typeof value === "number") {
    // As bpftool: the key, "Not found", and a failing exit code.
    writeOut(`key:\n${hexBytes(key)}\n\nNot found\n`);
    return 1;
  }
  if (spec) {
    const w = new JsonWriter(true);
    doDumpBtf(w, spec, info, key, value, true);
    writeOut(w.text());
  } else writeOut(entryPlain(info, key, value));
  return 0;
}

const UPDATE_FLAGS: Record<string, "any" | "exist" | "noexist"> = {
  any: "any",
  exist: "exist",
  noexist: "noexist",
};

/** `map update id N key BYTES… value BYTES… [any|exist|noexist]`. */
export function mapUpdateCommand(args: string[]): number {
  const opts = bpftoolArgs(args);
  const id = mapId(opts.words, "map update");
  using map = openMap(id);
  const info = map.info();
  const { bytes: key, next } = keyArg(info, opts.words, "map update");
  if (opts.words[next] !== "value") {
    throw new InvalidArgumentError(`map update: expected "value" after the key`);
  }
  const { bytes: value, next: after } = parseBytes(
    opts.words,
    next + 1,
    info.valueSize,
    `map update value of map id ${id}`,
  );
  const flag = opts.words[after];
  if (flag !== undefined && !(flag in UPDATE_FLAGS)) {
    throw new InvalidArgumentError(`map update: "${flag}" is not one of any, exist, noexist`);
  }
  if (map.perCpu) {
    map.updatePerCpu(
      key,
      Array.from({ length: map.cpus }, () => value),
      UPDATE_FLAGS[flag ?? "any"],
    );
  } else map.update(key, value, UPDATE_FLAGS[flag ?? "any"]);
  if (opts.json) writeOut("null\n");
  return 0;
}

/** `map delete id N key BYTES…`. */
export function mapDeleteCommand(args: string[]): number {
  const opts = bpftoolArgs(args);
  const id = mapId(opts.words, "map delete");
  using map = openMap(id);
  const info = map.info();
  const { bytes: key } = keyArg(info, opts.words, "map delete");
  if (!map.delete(key)) {
    throw new NotFoundError(
      `key ${hexBytes(key)} of map id ${id}`,
      `map id ${id} has no key ${hexBytes(key)}; "map dump id ${id}" lists its keys`,
    );
  }
  if (opts.json) writeOut("null\n");
  return 0;
}
