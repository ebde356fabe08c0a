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

/** The fgets(buff, 256) chunks of `line` (with its newline): long lines are cut every 255 bytes. */
function chunks(line: string): string[] {
  if (line.length < 255) return [line];
  const out: string[] = [];
  for (let p = 0; p < line.length; p += 255) out.push(line.slice(p, p + 255));
  return out;
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

/**
 * sscanf's `%p %*c %s` on one chunk: the address (its low 32 bits, whether
 * it is 0, its hex digits) and the name; `undefined` where sscanf matches
 * fewer than two.
 */
function parseChunk(
  c: string,
): { low: number; zero: boolean; hex: string; name: string } | undefined {
  let at = 0;
  while (at < c.length && isSpace(c.charCodeAt(at))) at++;
  if (
    c[at] === "0" && (c[at + 1] === "x" || c[at + 1] === "X") && hexDigit(c.charCodeAt(at + 2)) >= 0
  ) {
    at += 2;
  }
  const start = at;
  while (at < c.length && hexDigit(c.charCodeAt(at)) >= 0) at++;
  if (at === start) return undefined;
  const hex = at - start > 16 ? "f".repeat(16) : c.slice(start, at); // strtoul saturates
  while (at < c.length && isSpace(c.charCodeAt(at))) at++;
  at++; // %*c: any one character
  while (at < c.length && isSpace(c.charCodeAt(at))) at++;
  let end = at;
  while (end < c.length && !isSpace(c.charCodeAt(end))) end++;
  if (end === at) return undefined;
  let zero = true;
  for (let i = 0; i < hex.length && zero; i++) zero = hex[i] === "0";
  return { low: parseInt(hex.slice(-8), 16) >>> 0, zero, hex, name: c.slice(at, end) };
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
  const names: string[] = [];
  const lows: number[] = [];
  let callBase = 0n;
  for (const line of text.split("\n")) {
    for (const chunk of chunks(line + "\n")) {
      const sym = parseChunk(chunk);
      if (!sym) continue;
      if (sym.name === "__bpf_call_base") {
        callBase = BigInt("0x" + sym.hex);
        if (sym.zero) return { callBase, find: () => undefined };
      }
      if (!sym.zero) {
        names.push(sym.name);
        lows.push(sym.low);
      }
    }
  }
  const n = names.length;
  const low = Uint32Array.from(lows);
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
        else return names[idx[mid]];
      }
      return undefined;
    },
  };
}
