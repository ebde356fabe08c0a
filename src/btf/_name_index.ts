/**
 * The name index of one BTF blob, owned by its `Spec`: the ids of the
 * blob's own types by exact name and, for CO-RE candidates, by essential
 * name (the types named `name___flavour`). Built lazily: lookups are
 * cached; misses are answered by one linear pass over the type records for
 * every name asked for at once, and after a few passes by a hash index of
 * all names. The parse walk of big BTF (vmlinux) fills it for the names a
 * load needs (see `ParseOptions.findNames`), so that those cost no pass.
 *
 * @module
 */

/** The views of the blob the index reads (a subset of the spec's raw views). */
export interface NameSource {
  /** The type section as host-order 32-bit words. */
  readonly words: Uint32Array;
  /** Word offset of each type record in `words`, by `id - firstTypeId`. */
  readonly offsets: Uint32Array;
  /** The blob's own string section. */
  readonly strs: Uint8Array;
  /** String offset of `strs[0]` (the base's string length for split BTF, else 0). */
  readonly strBase: number;
  /** Id of the first type in this blob. */
  readonly firstTypeId: number;
  /** Number of types in this blob. */
  readonly typeCount: number;
}

/**
 * For a string offset below `strBase` (a name in a base's strings): that
 * base's string section and its `strBase`.
 */
export type BaseStrings = (off: number) => readonly [Uint8Array, number];

/** A name being looked for by `#scan`, and what was found. */
interface Wanted {
  name: string;
  bytes: Uint8Array;
  ids: number[];
  flavoured: number[];
}

/** Number of linear passes before the hash index of every name is built. */
const LINEAR_SCANS = 8;
const ASCII_UNDERSCORE = 95;

const utf8 = new TextEncoder();

/**
 * The length of the essential part of the name in `b[start, end)`: the
 * name up to the last `___` that is preceded and followed by a character
 * other than `_` (CO-RE's flavour suffix); `end - start` when there is none.
 * The byte form of `essentialName`.
 */
export function essentialLength(b: Uint8Array, start: number, end: number): number {
  for (let i = end - 5; i >= start; i--) {
    if (
      b[i] !== ASCII_UNDERSCORE && b[i + 1] === ASCII_UNDERSCORE &&
      b[i + 2] === ASCII_UNDERSCORE && b[i + 3] === ASCII_UNDERSCORE &&
      b[i + 4] !== ASCII_UNDERSCORE
    ) {
      return i + 1 - start;
    }
  }
  return end - start;
}

/** How the name at `strs[rel…]` relates to `q`: 1 the same, 2 `q` plus a flavour, else 0. */
function matchName(strs: Uint8Array, rel: number, q: Uint8Array): number {
  const len = q.length;
  if (rel + len >= strs.length) return 0;
  for (let j = 0; j < len; j++) if (strs[rel + j] !== q[j]) return 0;
  const end = strs[rel + len];
  if (end === 0) return 1;
  if (
    end === ASCII_UNDERSCORE && strs[rel + len + 1] === ASCII_UNDERSCORE &&
    strs[rel + len + 2] === ASCII_UNDERSCORE &&
    essentialLength(strs, rel, strs.indexOf(0, rel + len)) === len
  ) {
    return 2;
  }
  return 0;
}

/** FNV-1a over `b[start, end)`. */
function hashBytes(b: Uint8Array, start: number, end: number): number {
  let h = 0x811c9dc5;
  for (let i = start; i < end; i++) h = Math.imul(h ^ b[i], 0x01000193);
  return h >>> 0;
}

/** Type ids by name for one blob's own types (not its base's). */
export class NameIndex {
  #src: NameSource;
  #baseStrings: BaseStrings;
  /** Name → ids of the types so named, ascending. */
  #exact = new Map<string, number[]>();
  /** Essential name → ids of the types named it plus a flavour, ascending. */
  #flavoured = new Map<string, number[]>();
  #scans = 0;
  /** Hash chains by full name, then by essential name of flavoured names. */
  #heads: Int32Array | undefined;
  #next: Int32Array | undefined;
  #flavourHeads: Int32Array | undefined;
  #flavourNext: Int32Array | undefined;

  /** An empty index over `src`; `baseStrings` resolves names in a base's strings. */
  constructor(src: NameSource, baseStrings: BaseStrings) {
    this.#src = src;
    this.#baseStrings = baseStrings;
  }

  /** The ids of the types named `name`, ascending (shared: do not modify). */
  exact(name: string): readonly number[] {
    let ids = this.#exact.get(name);
    if (ids === undefined) {
      this.find([name]);
      ids = this.#exact.get(name)!;
    }
    return ids;
  }

  /**
   * The ids of the types named `name` plus a flavour (`name___x`, whose
   * essential name is `name`), ascending (shared: do not modify).
   */
  flavoured(name: string): readonly number[] {
    let ids = this.#flavoured.get(name);
    if (ids === undefined) {
      this.find([name]);
      ids = this.#flavoured.get(name)!;
    }
    return ids;
  }

  /** Looks up every name not known yet: in one pass, or through the hash index. */
  find(names: Iterable<string>): void {
    const todo = new Set<string>();
    for (const name of names) {
      if (!this.#exact.has(name) || !this.#flavoured.has(name)) todo.add(name);
    }
    if (todo.delete("")) {
      // The empty name (anonymous types) is never looked up.
      if (!this.#exact.has("")) this.#exact.set("", []);
      if (!this.#flavoured.has("")) this.#flavoured.set("", []);
    }
    if (todo.size === 0) return;
    if (this.#heads === undefined && ++this.#scans > LINEAR_SCANS) this.#build();
    if (this.#heads !== undefined) {
      for (const name of todo) this.#lookup(name);
    } else this.#scan([...todo]);
  }

  /**
   * Records what the parse walk found for `name`: the ids of the types so
   * named and (unless it could not tell) those of the types whose name
   * starts with `name___`, of which the flavours of `name` are kept.
   */
  seed(name: string, exact: number[], prefixed: readonly number[] | undefined): void {
    if (!this.#exact.has(name)) this.#exact.set(name, exact);
    if (prefixed === undefined || this.#flavoured.has(name)) return;
    const { words, offsets, strs, firstTypeId } = this.#src;
    const len = utf8.encode(name).length;
    this.#flavoured.set(
      name,
      prefixed.filter((id) => {
        const rel = words[offsets[id - firstTypeId]];
        return essentialLength(strs, rel, strs.indexOf(0, rel)) === len;
      }),
    );
  }

  /** Where the name at string offset `off` is: its string section and index there. */
  #at(off: number): readonly [Uint8Array, number] {
    const src = this.#src;
    if (off >= src.strBase) return [src.strs, off - src.strBase];
    const [strs, strBase] = this.#baseStrings(off);
    return [strs, off - strBase];
  }

  /**
   * One linear pass over the type records for several names. The loop is
   * kept tight (typed arrays, no calls on the common path): on vmlinux it
   * runs over 126k records, often before V8 has optimised it.
   */
  #scan(names: string[]): void {
    const wanted: Wanted[] = names.map((name) => ({
      name,
      bytes: utf8.encode(name),
      ids: [],
      flavoured: [],
    }));
    // Wanted names by first byte: one array probe per type.
    const byFirst: (Wanted[] | undefined)[] = new Array(256);
    for (const w of wanted) (byFirst[w.bytes[0]] ??= []).push(w);
    const { words, offsets, strs, strBase, firstTypeId: first, typeCount: n } = this.#src;
    const slen = strs.length;
    for (let i = 0; i < n; i++) {
      const off = words[offsets[i]];
      if (off === 0) continue;
      if (off < strBase) {
        this.#scanBaseName(off, first + i, byFirst); // a name in the base's strings (split BTF)
        continue;
      }
      const rel = off - strBase;
      const list = byFirst[strs[rel]];
      if (list === undefined) continue;
      for (let k = 0; k < list.length; k++) {
        const w = list[k];
        const q = w.bytes;
        const len = q.length;
        if (rel + len >= slen) continue;
        // The name itself ends in NUL there, a flavoured one in "_".
        const end = strs[rel + len];
        if (end !== 0 && end !== ASCII_UNDERSCORE) continue;
        let j = 1;
        while (j < len && strs[rel + j] === q[j]) j++;
        if (j < len) continue;
        if (end === 0) w.ids.push(first + i);
        else if (matchName(strs, rel, q) === 2) w.flavoured.push(first + i);
      }
    }
    for (const w of wanted) {
      if (!this.#exact.has(w.name)) this.#exact.set(w.name, w.ids);
      if (!this.#flavoured.has(w.name)) this.#flavoured.set(w.name, w.flavoured);
    }
  }

  /** `#scan` for a type `id` whose name is at `off` in a base's strings. */
  #scanBaseName(off: number, id: number, byFirst: (Wanted[] | undefined)[]): void {
    const [s, rel] = this.#at(off);
    const list = byFirst[s[rel]];
    if (list === undefined) return;
    for (const w of list) {
      const m = matchName(s, rel, w.bytes);
      if (m === 1) w.ids.push(id);
      else if (m === 2) w.flavoured.push(id);
    }
  }

  /**
   * The first type named `name` (ascending ids) that `rank` calls complete
   * (2), else the first it accepts at all (1; 0 skips): its id, or its id
   * negated when it is not complete, or 0 when there is none. Answered from
   * the cache or the hash index when there; otherwise a scan that stops at
   * the first complete type and caches nothing (libbpf's
   * `btf__find_by_name_kind` costs the same).
   */
  first(name: string, rank: (id: number) => number): number {
    let ids = this.#exact.get(name);
    if (ids === undefined && this.#heads === undefined && ++this.#scans > LINEAR_SCANS) {
      this.#build();
    }
    if (ids === undefined && this.#heads !== undefined) ids = this.exact(name) as number[];
    let fallback = 0;
    if (ids !== undefined) {
      for (const id of ids) {
        const r = rank(id);
        if (r === 2) return id;
        if (r === 1 && fallback === 0) fallback = -id;
      }
      return fallback;
    }
    if (name === "") return 0;
    const q = utf8.encode(name);
    const { words, offsets, strs, strBase, firstTypeId: first, typeCount: n } = this.#src;
    const slen = strs.length;
    const len = q.length;
    const q0 = q[0];
    for (let i = 0; i < n; i++) {
      const off = words[offsets[i]];
      if (off === 0) continue;
      if (off >= strBase) {
        const rel = off - strBase;
        if (rel + len >= slen || strs[rel] !== q0 || strs[rel + len] !== 0) continue;
        let j = 1;
        while (j < len && strs[rel + j] === q[j]) j++;
        if (j < len) continue;
      } else {
        const [s, rel] = this.#at(off);
        if (matchName(s, rel, q) !== 1) continue;
      }
      const r = rank(first + i);
      if (r === 2) return first + i;
      if (r === 1 && fallback === 0) fallback = -(first + i);
    }
    return fallback;
  }

  /** Looks `name` up through the hash index. */
  #lookup(name: string): void {
    const q = utf8.encode(name);
    if (!this.#exact.has(name)) this.#exact.set(name, this.#chain(this.#heads!, this.#next!, q, 1));
    if (!this.#flavoured.has(name)) {
      this.#flavoured.set(name, this.#chain(this.#flavourHeads!, this.#flavourNext!, q, 2));
    }
  }

  /** The ids on `q`'s hash chain whose name relates to `q` as `want` (see matchName). */
  #chain(heads: Int32Array, next: Int32Array, q: Uint8Array, want: number): number[] {
    const { words, offsets, firstTypeId: first } = this.#src;
    const ids: number[] = [];
    for (let i = heads[hashBytes(q, 0, q.length) & (heads.length - 1)]; i >= 0; i = next[i]) {
      const [s, rel] = this.#at(words[offsets[i]]);
      if (matchName(s, rel, q) === want) ids.push(first + i);
    }
    return ids;
  }

  /** Builds the hash chains of every name (and of every flavoured name's essential name). */
  #build(): void {
    const { words, offsets, strs: own, strBase, typeCount: n } = this.#src;
    let size = 16;
    while (size < n * 2) size *= 2;
    const heads = new Int32Array(size).fill(-1);
    const next = new Int32Array(n);
    const flavourHeads = new Int32Array(size).fill(-1);
    const flavourNext = new Int32Array(n);
    const mask = size - 1;
    // Insert from the last id down so that each chain lists ids in ascending order.
    for (let i = n - 1; i >= 0; i--) {
      const off = words[offsets[i]];
      if (off === 0) continue;
      let strs = own;
      let rel = off - strBase;
      if (off < strBase) [strs, rel] = this.#at(off); // a name in the base's strings
      if (rel >= strs.length) continue; // invalid name: never matches
      // FNV-1a of the name, noting where a "___" run starts (a possible flavour).
      let h = 0x811c9dc5;
      let p = rel;
      let underscores = 0;
      let flavoured = false;
      for (let c = strs[p]; c !== 0; c = strs[++p]) {
        h = Math.imul(h ^ c, 0x01000193);
        if (c === ASCII_UNDERSCORE) underscores++;
        else {
          if (underscores === 3 && p - 3 > rel) flavoured = true;
          underscores = 0;
        }
      }
      const b = (h >>> 0) & mask;
      next[i] = heads[b];
      heads[b] = i;
      if (!flavoured) continue;
      const ess = essentialLength(strs, rel, p);
      const f = hashBytes(strs, rel, rel + ess) & mask;
      flavourNext[i] = flavourHeads[f];
      flavourHeads[f] = i;
    }
    this.#heads = heads;
    this.#next = next;
    this.#flavourHeads = flavourHeads;
    this.#flavourNext = flavourNext;
  }
}
