// Addresses as text, the way bpftrace's ntop() prints them: glibc's
// inet_ntop for AF_INET and AF_INET6 (lowercase hex groups without leading
// zeros, the first longest run of two or more zero groups as "::", and
// IPv4-mapped or IPv4-compatible addresses ending in dotted decimal), and
// an empty string for any other family.

/** `af` (2 or 10) and the address bytes (4 or 16 used) as inet_ntop prints them. */
export function formatInet(af: number, bytes: Uint8Array): string {
  if (af === 2) return Array.from(bytes.subarray(0, 4)).join(".");
  if (af !== 10) return "";
  const words: number[] = [];
  for (let i = 0; i < 16; i += 2) words.push((bytes[i] << 8) | bytes[i + 1]);
  // The first longest run of zero words, if it is at least two long.
  let best = { base: -1, len: 0 };
  let cur = { base: -1, len: 0 };
  words.forEach((w, i) => {
    if (w === 0) {
      cur = cur.base < 0 ? { base: i, len: 1 } : { base: cur.base, len: cur.len + 1 };
      if (cur.len > best.len) best = cur;
    } else cur = { base: -1, len: 0 };
  });
  if (best.len < 2) best = { base: -1, len: 0 };
  let out = "";
  for (let i = 0; i < 8; i++) {
    if (best.base >= 0 && i >= best.base && i < best.base + best.len) {
      if (i === best.base) out += ":";
      continue;
    }
    if (i !== 0) out += ":";
    if (i === 6 && best.base === 0 && (best.len === 6 || (best.len === 5 && words[5] === 0xffff))) {
      return out + Array.from(bytes.subarray(12, 16)).join(".");
    }
    out += words[i].toString(16);
  }
  if (best.base >= 0 && best.base + best.len === 8) out += ":";
  return out;
}

/**
 * An address's bytes as bpftrace's `pton()` reads its literal: with a `.`
 * it is IPv4 (4 bytes), else with a `:` IPv6 (16 bytes), each as glibc's
 * inet_pton parses it (dotted decimal of exactly four parts without leading
 * zeros; up to 8 groups of 1-4 hex digits, one `::`). Undefined when it is
 * not a valid address; `null` when it has neither `.` nor `:`.
 */
export function parseInet(text: string): Uint8Array | null | undefined {
  const nul = text.indexOf("\0");
  const s = nul < 0 ? text : text.slice(0, nul); // the C string bpftrace passes
  if (s.includes(".")) return parseIpv4(s);
  if (s.includes(":")) return parseIpv6(s);
  return null;
}

function parseIpv4(s: string): Uint8Array | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  const out = new Uint8Array(4);
  for (let i = 0; i < 4; i++) {
    const p = parts[i];
    if (!/^(0|[1-9][0-9]{0,2})$/.test(p) || Number(p) > 255) return undefined;
    out[i] = Number(p);
  }
  return out;
}

function parseIpv6(s: string): Uint8Array | undefined {
  // One "::" at most; a lone leading or trailing ':' is an error.
  const halves = s.split("::");
  if (halves.length > 2) return undefined;
  const groups = (h: string): number[] | undefined => {
    if (h === "") return [];
    const out: number[] = [];
    for (const g of h.split(":")) {
      if (!/^[0-9a-fA-F]{1,4}$/.test(g)) return undefined;
      out.push(parseInt(g, 16));
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return undefined;
  const n = head.length + tail.length;
  // "::" stands for at least one zero group
  if (halves.length === 2 ? n > 7 : n !== 8) return undefined;
  const words = [...head, ...new Array(8 - n).fill(0), ...tail];
  const out = new Uint8Array(16);
  words.forEach((w, i) => {
    out[2 * i] = w >> 8;
    out[2 * i + 1] = w & 0xff;
  });
  return out;
}
