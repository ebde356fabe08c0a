// Byte copies for the map hot paths. Private to src/map.
//
// Allocating a typed array in Deno costs a few hundred nanoseconds (each one
// gets its own off-heap backing store), as much as a third of a map lookup.
// Small lookup results are therefore carved out of a shared slab, as Node's
// Buffer pool does: each result is a fresh copy that nothing else uses, but
// its `.buffer` is the slab, so views of it must use `byteOffset`.

const SLAB_SIZE = 16 * 1024;
const MAX_POOLED = 256;

let slab = new ArrayBuffer(SLAB_SIZE);
let used = 0;

/** Copies `src` into `dst` (same length); a loop beats `set()` for a few bytes. */
export function copyBytes(dst: Uint8Array, src: Uint8Array): void {
  const n = src.length;
  if (n <= 16) {
    for (let i = 0; i < n; i++) dst[i] = src[i];
  } else {
    dst.set(src);
  }
}

/** A fresh copy of `src` (8-byte aligned within its buffer). */
export function copyOut(src: Uint8Array): Uint8Array {
  const n = src.length;
  if (n > MAX_POOLED) return src.slice();
  let off = used;
  if (off + n > SLAB_SIZE) {
    slab = new ArrayBuffer(SLAB_SIZE);
    off = 0;
  }
  used = off + ((n + 7) & ~7);
  // The (buffer, offset, length) constructor is cheaper than subarray().
  const out = new Uint8Array(slab, off, n);
  copyBytes(out, src);
  return out;
}
