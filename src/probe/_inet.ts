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
