// Reading a script's maps and records: bytes decoded by their inferred
// types into the entries `formatMap` prints (bpftrace's exit output) and
// into the JS values `ScriptHandle.maps` gives.

import type { BpfMap } from "../map/map.ts";
import { stackDecoder } from "./_decode.ts";
import { linearBuckets } from "./_aggregate.ts";
import { sizeOfType } from "./_script_records.ts";
import type { MapLayout } from "./_script_codegen.ts";
import type { IrType } from "./ir.ts";
import { resolveKsym, resolveUsym } from "./symbols.ts";
import { formatInet } from "./_inet.ts";
import { readFileHead } from "../sys/file.ts";
import { bootTimeText } from "./_strftime.ts";
import {
  type Histogram,
  histogramFrom,
  linearBucket,
  LOG2_BUCKETS,
  log2Bucket,
  type MapDatum,
  type MapEntry,
  type MapLayout as PrintLayout,
} from "./output.ts";

/** A value read from a script's map, as `ScriptHandle.maps` gives it. */
export type ScriptValue =
  | number
  | bigint
  | string
  | Uint8Array
  | Histogram
  | { count: number; average: number; total: number }
  | readonly ScriptValue[];

const utf8 = new TextDecoder();

let passwd: Map<bigint, string> | undefined;

/**
 * The name /etc/passwd gives `uid` (the last line naming it), or "" when
 * none does, as bpftrace's resolve_uid; the file is read once.
 */
function userName(uid: bigint): string {
  if (!passwd) {
    passwd = new Map();
    let text = "";
    try {
      text = utf8.decode(readFileHead("/etc/passwd", 1 << 22));
    } catch { /* no file: no names, as bpftrace */ }
    for (const line of text.split("\n")) {
      const f = line.split(":");
      if (f.length > 2 && /^\d+$/.test(f[2])) passwd.set(BigInt(f[2]), f[0]);
    }
  }
  return passwd.get(uid) ?? "";
}

/** Decodes a value of type `t` at `off` (stack ids through `stacks`, ksym through kallsyms). */
export function datum(view: DataView, off: number, t: IrType, stacks?: BpfMap): MapDatum {
  switch (t.kind) {
    case "str": {
      const b = new Uint8Array(view.buffer, view.byteOffset + off, sizeOfType(t));
      const end = b.indexOf(0);
      return utf8.decode(end < 0 ? b : b.subarray(0, end));
    }
    case "buf": {
      const n = Math.min(Number(view.getBigUint64(off, true)), t.len);
      return new Uint8Array(view.buffer, view.byteOffset + off + 8, n).slice();
    }
    case "tuple": {
      let o = off;
      return t.elems.map((e) => {
        const v = datum(view, o, e, stacks);
        o += sizeOfType(e);
        return v;
      });
    }
    case "stack": {
      const perf = t.mode === "perf";
      const s = stackDecoder(stacks, { user: t.user, perf })(view, off) as string;
      const frames = s === "" ? [] : s.split("\n");
      return t.frames === undefined ? frames : frames.slice(0, t.frames);
    }
    case "mac":
      return Array.from(
        new Uint8Array(view.buffer, view.byteOffset + off, 6),
        (b) => b.toString(16).toUpperCase().padStart(2, "0"),
      ).join(":");
    case "array": {
      const { size, signed } = t.elem;
      return Array.from({ length: t.len }, (_, i) => {
        const o = off + i * size;
        if (size === 8) return signed ? view.getBigInt64(o, true) : view.getBigUint64(o, true);
        if (size === 4) return signed ? view.getInt32(o, true) : view.getUint32(o, true);
        if (size === 2) return signed ? view.getInt16(o, true) : view.getUint16(o, true);
        return signed ? view.getInt8(o) : view.getUint8(o);
      });
    }
    case "timestamp":
      return bootTimeText(t.format, view.getBigUint64(off, true));
    case "inet":
      return formatInet(
        Number(view.getBigInt64(off, true)),
        new Uint8Array(view.buffer, view.byteOffset + off + 8, 16),
      );
    case "ksym":
      return resolveKsym(view.getBigUint64(off, true));
    case "username":
      return userName(view.getBigUint64(off, true));
    case "usym":
      return resolveUsym(view.getBigUint64(off, true), Number(view.getBigUint64(off + 8, true)));
    case "int":
      return t.signed ? view.getBigInt64(off, true) : view.getBigUint64(off, true);
    default:
      return view.getBigUint64(off, true);
  }
}

function keyParts(t: IrType): IrType[] {
  return t.kind === "none" ? [] : t.kind === "tuple" ? t.elems : [t];
}

/** How `formatMap` prints the map. */
export function printLayout(m: MapLayout): PrintLayout {
  const agg = m.info.agg;
  return {
    name: m.info.name,
    kind: agg?.fn ?? "value",
    keys: keyParts(m.key),
    value: m.info.value,
    signed: agg?.signed,
    lhist: agg?.linear,
  };
}

/** The entries of a script's map, decoded for `formatMap` (per-CPU values combined). */
export function readEntries(m: MapLayout, map: BpfMap, stacks?: BpfMap): MapEntry[] {
  const parts = keyParts(m.key);
  const keyOf = (k: Uint8Array): MapDatum[] | undefined => {
    if (parts.length === 0) return undefined;
    const view = new DataView(k.buffer, k.byteOffset, k.byteLength);
    let off = 0;
    return parts.map((p) => {
      const v = datum(view, off, p, stacks);
      off += sizeOfType(p);
      return v;
    });
  };
  const raw = map.batchLookupAll();
  const fn = m.info.agg?.fn;
  if (!fn) {
    return raw.map(([k, v]) => [
      keyOf(k),
      datum(new DataView(v.buffer, v.byteOffset, v.byteLength), 0, m.info.value!, stacks),
    ]);
  }
  const stride = Math.ceil(m.valueSize / 8) * 8;
  const perCpu = (v: Uint8Array, f: (view: DataView, at: number) => void) => {
    const view = new DataView(v.buffer, v.byteOffset, v.byteLength);
    for (let at = 0; at + stride <= v.byteLength; at += stride) f(view, at);
  };
  const signed = m.info.agg!.signed;
  if (fn === "hist" || fn === "lhist") {
    const groups = new Map<string, { key: MapDatum[] | undefined; counts: Map<number, bigint> }>();
    for (const [k, v] of raw) {
      const id = Array.from(k.subarray(0, m.userKeySize)).join(",");
      let g = groups.get(id);
      if (!g) groups.set(id, g = { key: keyOf(k.subarray(0, m.userKeySize)), counts: new Map() });
      const bucket = Number(new DataView(k.buffer, k.byteOffset).getBigUint64(m.userKeySize, true));
      let n = 0n;
      perCpu(v, (view, at) => n += view.getBigUint64(at, true));
      g.counts.set(bucket, (g.counts.get(bucket) ?? 0n) + n);
    }
    return [...groups.values()].map((g) => [g.key, g.counts]);
  }
  return raw.map(([k, v]): MapEntry => {
    let a = 0n;
    let b = 0n;
    let best: bigint | undefined;
    perCpu(v, (view, at) => {
      const x = signed ? view.getBigInt64(at, true) : view.getBigUint64(at, true);
      if (fn === "min" || fn === "max") {
        if (view.getBigUint64(at + 8, true) === 0n) return;
        if (best === undefined || (fn === "min" ? x < best : x > best)) best = x;
      } else {
        a += x;
        if (stride >= 16) b += view.getBigUint64(at + 8, true);
      }
    });
    if (fn === "avg" || fn === "stats") return [keyOf(k), { total: a, count: b }];
    if (fn === "min" || fn === "max") return [keyOf(k), best ?? 0n];
    return [keyOf(k), fn === "sum" && signed ? BigInt.asIntN(64, a) : BigInt.asUintN(64, a)];
  });
}

/** A decoded datum as a JS value: safe integers as numbers, tuples as arrays. */
function jsValue(v: MapDatum): ScriptValue {
  if (typeof v === "bigint") {
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)
      ? Number(v)
      : v;
  }
  if (Array.isArray(v)) return v.map(jsValue);
  return v as ScriptValue;
}

/**
 * The entries as `ScriptHandle.maps` gives them: keys `null` (no key), a
 * value (one part) or an array (a tuple); counts, sums, min, max and plain
 * integers as numbers, avg as the mean, stats as `{ count, average,
 * total }`, hist and lhist as {@linkcode Histogram}s.
 */
export function jsEntries(m: MapLayout, entries: readonly MapEntry[]): Map<unknown, ScriptValue> {
  const fn = m.info.agg?.fn;
  const tuple = m.key.kind === "tuple";
  const out = new Map<unknown, ScriptValue>();
  for (const [k, v] of entries) {
    const key = k === undefined ? null : tuple ? k.map(jsValue) : jsValue(k[0]);
    if (fn === "hist" || fn === "lhist") {
      const counts = new Map([...(v as Map<number, bigint>)].map(([i, c]) => [i, Number(c)]));
      const lin = m.info.agg!.linear;
      const n = lin ? linearBuckets(lin) : LOG2_BUCKETS;
      out.set(
        key,
        histogramFrom(
          counts,
          lin ? (i, c) => linearBucket(i, c, lin, n) : (i, c) => log2Bucket(i, c),
        ),
      );
    } else if (fn === "avg" || fn === "stats") {
      const a = v as { total: bigint; count: bigint };
      if (fn === "avg") out.set(key, a.count ? Number(a.total) / Number(a.count) : 0);
      else {
        const average = a.count ? Number(a.total / a.count) : 0;
        out.set(key, { count: Number(a.count), average, total: Number(a.total) });
      }
    } else {
      out.set(key, jsValue(v as MapDatum));
    }
  }
  return out;
}
