// Raw BTF framing: `struct btf_header` (linux/btf.h, 24 bytes: magic,
// version 1, flags, hdr_len, type_off/len, str_off/len) followed by the type
// section and the string section. Shared by BtfBuilder and the small blobs
// built by hand in src/map and src/features (which stay clear of the BTF
// parser's import graph, hence no import from spec.ts here).

const MAGIC = 0xeb9f;
const HEADER_SIZE = 24;
const HOST_LE = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** Options of {@link btfBlob}. */
export interface BtfBlobOptions {
  /** Byte order of the output; defaults to the host's. */
  littleEndian?: boolean;
}

/**
 * Raw BTF from its type section (32-bit words, as `struct btf_type` and
 * what follows each) and its string section (which starts with a NUL).
 */
export function btfBlob(
  types: ArrayLike<number>,
  strings: Uint8Array,
  options: BtfBlobOptions = {},
): Uint8Array {
  const le = options.littleEndian ?? HOST_LE;
  const typeLen = types.length * 4;
  const out = new Uint8Array(HEADER_SIZE + typeLen + strings.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, MAGIC, le);
  out[2] = 1; // version
  out[3] = 0; // flags
  dv.setUint32(4, HEADER_SIZE, le); // hdr_len
  dv.setUint32(8, 0, le); // type_off
  dv.setUint32(12, typeLen, le);
  dv.setUint32(16, typeLen, le); // str_off
  dv.setUint32(20, strings.length, le);
  if (types instanceof Uint32Array && le === HOST_LE) {
    out.set(new Uint8Array(types.buffer, types.byteOffset, typeLen), HEADER_SIZE);
  } else {
    for (let i = 0; i < types.length; i++) dv.setUint32(HEADER_SIZE + i * 4, types[i] >>> 0, le);
  }
  out.set(strings, HEADER_SIZE + typeLen);
  return out;
}
