/**
 * The byte writer behind the exposition formats: one growable buffer,
 * reused from scrape to scrape, written a byte at a time from strings,
 * key bytes and numbers, so that writing a series allocates nothing.
 *
 * @module
 */

const MINUS = 0x2d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const NEWLINE = 0x0a;
const N = 0x6e;

/**
 * Writes byte `c` at `buf[len]`: a backslash (and a `"` when `quote`) gets
 * a backslash before it, a newline becomes backslash-n. Returns the new
 * length.
 */
function putEscaped(buf: Uint8Array, len: number, c: number, quote: boolean): number {
  if (c === BACKSLASH || (quote && c === QUOTE)) {
    buf[len++] = BACKSLASH;
    buf[len++] = c;
  } else if (c === NEWLINE) {
    buf[len++] = BACKSLASH;
    buf[len++] = N;
  } else {
    buf[len++] = c;
  }
  return len;
}

const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder("utf-8", { fatal: false });

/** ASCII bytes of `s`, once (for the constant parts of a series). */
export function ascii(s: string): Uint8Array {
  return utf8.encode(s);
}

/**
 * A growable output buffer for the Prometheus text and OpenMetrics formats.
 * `take()` copies what was written; `reset()` starts over in the same buffer.
 */
export class ExpositionWriter {
  #buf: Uint8Array<ArrayBuffer>;
  #len = 0;

  /** A writer with `capacity` bytes to start with (it grows by doubling). */
  constructor(capacity = 64 * 1024) {
    this.#buf = new Uint8Array(capacity);
  }

  /** Bytes written since the last `reset()`. */
  get length(): number {
    return this.#len;
  }

  /** Forgets what was written; keeps the buffer. */
  reset(): void {
    this.#len = 0;
  }

  /** Drops everything written after `length` (to rewrite a metric). */
  truncate(length: number): void {
    if (length < this.#len) this.#len = length;
  }

  #ensure(n: number): void {
    if (this.#len + n <= this.#buf.length) return;
    let size = this.#buf.length * 2;
    while (size < this.#len + n) size *= 2;
    const next = new Uint8Array(size);
    next.set(this.#buf.subarray(0, this.#len));
    this.#buf = next;
  }

  /** Appends bytes as they are. */
  bytes(b: Uint8Array): void {
    const n = b.length;
    this.#ensure(n);
    if (n > 32) {
      this.#buf.set(b, this.#len);
      this.#len += n;
      return;
    }
    const buf = this.#buf;
    let len = this.#len;
    for (let i = 0; i < n; i++) buf[len++] = b[i];
    this.#len = len;
  }

  /** Appends one byte. */
  byte(b: number): void {
    this.#ensure(1);
    this.#buf[this.#len++] = b;
  }

  /**
   * Appends `s` as UTF-8, escaping `\` and newline, and also `"` when
   * `quote` is true (label values; HELP text of OpenMetrics).
   */
  text(s: string, quote: boolean): void {
    const n = s.length;
    this.#ensure(n * 2);
    const buf = this.#buf;
    let len = this.#len;
    for (let i = 0; i < n; i++) {
      const c = s.charCodeAt(i);
      if (c >= 0x80) {
        this.#len = len;
        this.#textSlow(s, i, quote);
        return;
      }
      len = putEscaped(buf, len, c, quote);
    }
    this.#len = len;
  }

  // Past ASCII: encode the rest (lone surrogates become U+FFFD), then escape.
  #textSlow(s: string, from: number, quote: boolean): void {
    const rest = utf8.encode(s.slice(from));
    this.#escaped(rest, 0, rest.length, quote);
  }

  #escaped(src: Uint8Array, start: number, end: number, quote: boolean): void {
    this.#ensure((end - start) * 2);
    const buf = this.#buf;
    let len = this.#len;
    for (let i = start; i < end; i++) {
      const c = src[i];
      len = putEscaped(buf, len, c, quote);
    }
    this.#len = len;
  }

  /**
   * Appends a C string from `src[start, end)` (up to its first NUL) as a
   * label value. ASCII is copied (escaped) as is; anything else goes
   * through a UTF-8 decoder, so that invalid bytes become U+FFFD.
   */
  cString(src: Uint8Array, start: number, end: number): void {
    let stop = start;
    let plain = true;
    while (stop < end && src[stop] !== 0) {
      if (src[stop] >= 0x80) plain = false;
      stop++;
    }
    if (plain) this.#escaped(src, start, stop, true);
    else this.text(utf8Decoder.decode(src.subarray(start, stop)), true);
  }

  /** Appends a number as the formats spell it: integers in full, `NaN`, `+Inf`, `-Inf`. */
  number(v: number): void {
    if (Number.isSafeInteger(v)) {
      this.#integer(v);
      return;
    }
    if (v === Infinity) return this.#ascii("+Inf");
    if (v === -Infinity) return this.#ascii("-Inf");
    this.#ascii(String(v));
  }

  #ascii(s: string): void {
    this.#ensure(s.length);
    for (let i = 0; i < s.length; i++) this.#buf[this.#len++] = s.charCodeAt(i);
  }

  #integer(v: number): void {
    this.#ensure(24);
    const buf = this.#buf;
    if (v < 0) {
      buf[this.#len++] = MINUS;
      v = -v;
    }
    if (v === 0) {
      buf[this.#len++] = 0x30;
      return;
    }
    let digits = 0;
    for (let x = v; x >= 1; x = Math.floor(x / 10)) digits++;
    let at = this.#len + digits;
    this.#len = at;
    while (v >= 1) {
      const q = Math.floor(v / 10);
      buf[--at] = 0x30 + (v - q * 10);
      v = q;
    }
  }

  /** A copy of what was written (the buffer itself is reused by the next scrape). */
  take(): Uint8Array<ArrayBuffer> {
    return this.#buf.slice(0, this.#len);
  }
}
