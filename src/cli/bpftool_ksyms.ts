/**
 * bpftool 7.1's kernel symbol table (xlated_dumper.c's kernel_syms_load and
 * kernel_syms_search), reproduced with its quirks so that the names it finds
 * are the ones bpftool finds: /proc/kallsyms read in 256-byte fgets chunks,
 * `%p %*c %s` per line, symbols at address 0 dropped, sorted by glibc 2.36's
 * qsort (a stable top-down merge sort) and searched by glibc's bsearch, both
 * with bpftool's comparator, which returns the address difference truncated
 * to an `int` (so only the low 32 bits of the addresses count, and the order
 * is not a total order where addresses lie more than 2 GiB apart).
 *
 * @module
 */

import { readTextFile } from "../sys/file.ts";

/** bpftool's symbol table: the sorted symbols and `__bpf_call_base`. */
export interface BpftoolKsyms {
  /** `__bpf_call_base`'s address (0 if kallsyms hides addresses). */
  callBase: bigint;
  /** The symbol at `address` as bpftool's bsearch finds it, or `undefined`. */
  find(address: bigint): string | undefined;
}

/** `(int)(a - b)` for two addresses given by their low 32 bits. */
function cmp(a: number, b: number): number {
  return (a - b) | 0;
}

/** glibc's msort_with_tmp on indices `idx[lo..lo+n)`, comparing `key[idx[i]]`. */
function mergeSort(idx: Uint32Array, tmp: Uint32Array, key: Uint32Array, lo: number, n: number) {
  if (n <= 1) return;
  const n1 = n >>> 1;
  const n2 = n - n1;
  mergeSort(idx, tmp, key, lo, n1);
  mergeSort(idx, tmp, key, lo + n1, n2);
  let i = lo, j = lo + n1, t = 0;
  const iEnd = lo + n1, jEnd = lo + n;
  while (i < iEnd && j < jEnd) {
    if (cmp(key[idx[i]], key[idx[j]]) <= 0) tmp[t++] = idx[i++];
    else tmp[t++] = idx[j++];
  }
  while (i < iEnd) tmp[t++] = idx[i++];
  // What remains of the second half is in place already.
  idx.set(tmp.subarray(0, t), lo);
}

/** isspace(3) in the C locale. */
function isSpace(c: number): boolean {
  return c === 32 || (c >= 9 && c <= 13);
}

function hexDigit(c: number): number {
  if (c >= 48 && c <= 57) return c - 48;
  const l = c | 0x20;
  return l >= 97 && l <= 102 ? l - 87 : -1;
}

/** What {@linkcode scanChunk} found (reused: the loader reads 100k+ lines). */
const hit = { low: 0, zero: true, hexStart: 0, hexEnd: 0, nameStart: 0, nameEnd: 0 };

/**
 * sscanf's `%p %*c %s` on `text[from, to)` (one fgets chunk): fills `hit`
 * (the address's low 32 bits, whether it is 0, where its digits and the
 * name are) and says whether sscanf matches both.
 */
function scanChunk(text: string, from: number, to: number): boolean {
  let at = from;
  while (at < to && isSpace(text.charCodeAt(at))) at++;
  if (
    at + 2 < to && text.charCodeAt(at) === 48 && (text.charCodeAt(at + 1) | 0x20) === 120 &&
    hexDigit(text.charCodeAt(at + 2)) >= 0
  ) at += 2;
  hit.hexStart = at;
  let low = 0, zero = true;
  for (let d: number; at < to && (d = hexDigit(text.charCodeAt(at))) >= 0; at++) {
    low = ((low << 4) | d) >>> 0;
    if (d) zero = false;
  }
  if (at === hit.hexStart) return false;
  // strtoul saturates past 64 bits: all ones.
  if (at - hit.hexStart > 16 && !zero) low = 0xffffffff;
  hit.hexEnd = at;
  while (at < to && isSpace(text.charCodeAt(at))) at++;
  at++; // %*c: any one character
  while (at < to && isSpace(text.charCodeAt(at))) at++;
  let end = at;
  while (end < to && !isSpace(text.charCodeAt(end))) end++;
  if (end <= at) return false;
  hit.low = low;
  hit.zero = zero;
  hit.nameStart = at;
  hit.nameEnd = end;
  return true;
}

/**
 * Loads the table from `/proc/kallsyms` (empty if it cannot be read or
 * addresses are hidden, as bpftool then has none).
 */
export function loadBpftoolKsyms(text?: string): BpftoolKsyms {
  if (text === undefined) {
    try {
      text = readTextFile("/proc/kallsyms");
    } catch {
      text = "";
    }
  }
  const src = text;
  let cap = 1024;
  let lows = new Uint32Array(cap), starts = new Uint32Array(cap), ends = new Uint32Array(cap);
  let n = 0;
  let callBase = 0n;
  for (let at = 0; at < src.length;) {
    const nl = src.indexOf("\n", at);
    const lineEnd = nl < 0 ? src.length : nl + 1;
    // fgets(buff, 256): a longer line comes in pieces of 255 bytes.
    for (let p = at; p < lineEnd; p += 255) {
      if (!scanChunk(src, p, Math.min(lineEnd, p + 255))) continue;
      if (
        hit.nameEnd - hit.nameStart === 15 &&
        src.startsWith("__bpf_call_base", hit.nameStart)
      ) {
        const hex = src.slice(hit.hexStart, hit.hexEnd);
        callBase = hex.length > 16 && !hit.zero ? (1n << 64n) - 1n : BigInt("0x" + hex);
        if (hit.zero) return { callBase, find: () => undefined };
      }
      if (hit.zero) continue;
      if (n === cap) {
        cap *= 2;
        const grow = (a: Uint32Array) => {
          const b = new Uint32Array(cap);
          b.set(a);
          return b;
        };
        lows = grow(lows);
        starts = grow(starts);
        ends = grow(ends);
      }
      lows[n] = hit.low;
      starts[n] = hit.nameStart;
      ends[n] = hit.nameEnd;
      n++;
    }
    at = lineEnd;
  }
  const low = lows;
  const nameOf = (i: number) => src.slice(starts[i], ends[i]);
  const idx = new Uint32Array(n);
  for (let i = 0; i < n; i++) idx[i] = i;
  mergeSort(idx, new Uint32Array(n), low, 0, n);
  const sorted = new Uint32Array(n);
  for (let i = 0; i < n; i++) sorted[i] = low[idx[i]];
  return {
    callBase,
    find(address: bigint): string | undefined {
      const key = Number(BigInt.asUintN(32, address));
      let l = 0, u = n;
      while (l < u) {
        const mid = (l + u) >>> 1;
        const c = cmp(key, sorted[mid]);
        if (c < 0) u = mid;
        else if (c > 0) l = mid + 1;
        else return nameOf(idx[mid]);
      }
      return undefined;
    },
  };
}
