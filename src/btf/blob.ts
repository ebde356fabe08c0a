/**
 * Raw BTF framing: `struct btf_header` (linux/btf.h, 24 bytes: magic,
 * version 1, flags, hdr_len, type_off/len, str_off/len) followed by the
 * type section and the string section. The one reader of the header (the
 * parser, the marshaller) and the one writer of blobs (the encoder, the
 * marshaller, and the small blobs built by hand in src/map and
 * src/features, which stay clear of the BTF parser's import graph: this
 * module imports nothing of it).
 *
 * @module
 */

import { ParseError } from "../errors.ts";

/** `BTF_MAGIC`. */
export const BTF_MAGIC = 0xeb9f;
/** Size of `struct btf_header`. */
export const BTF_HEADER_SIZE = 24;
/** Whether this machine is little-endian. */
export const HOST_LITTLE_ENDIAN: boolean = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** A validated `struct btf_header`. */
export interface BtfHeader {
  /** Byte order of the blob (from its magic). */
  littleEndian: boolean;
  /** `hdr_len`: where the data (type and string sections) starts. */
  hdrLen: number;
  /** Offset of the type section from the end of the header (4-byte aligned). */
  typeOff: number;
  /** Length of the type section in bytes (a multiple of 4). */
  typeLen: number;
  /** Offset of the string section from the end of the header. */
  strOff: number;
  /** Length of the string section in bytes. */
  strLen: number;
}

function fail(msg: string, offset: number): never {
  throw new ParseError("btf", msg, { offset });
}

function hex2(b: number): string {
  return b.toString(16).padStart(2, "0");
}

/**
 * Reads and validates the header of raw BTF of either byte order: magic,
 * version, `hdr_len`, and sections that are in bounds, aligned and do not
 * overlap. The string section's contents are the parser's to check.
 *
 * @throws {ParseError} naming what is wrong, with its byte offset.
 */
export function readBtfHeader(bytes: Uint8Array): BtfHeader {
  const len = bytes.length;
  if (len < 2) fail(`truncated header: ${len} bytes`, len);
  let le: boolean;
  if (bytes[0] === 0x9f && bytes[1] === 0xeb) le = true;
  else if (bytes[0] === 0xeb && bytes[1] === 0x9f) le = false;
  else {
    fail(`bad magic 0x${hex2(bytes[0])}${hex2(bytes[1])}, want 0xeb9f`, 0);
  }
  if (len < BTF_HEADER_SIZE) fail(`truncated header: ${len} of ${BTF_HEADER_SIZE} bytes`, len);
  const dv = new DataView(bytes.buffer, bytes.byteOffset, len);
  if (bytes[2] !== 1) fail(`unsupported BTF version ${bytes[2]}`, 2);
  const hdrLen = dv.getUint32(4, le);
  if (hdrLen < BTF_HEADER_SIZE) fail(`bad hdr_len ${hdrLen}, below ${BTF_HEADER_SIZE}`, 4);
  if (hdrLen > len) fail(`bad hdr_len ${hdrLen}, beyond the ${len}-byte blob`, 4);
  const typeOff = dv.getUint32(8, le);
  const typeLen = dv.getUint32(12, le);
  const strOff = dv.getUint32(16, le);
  const strLen = dv.getUint32(20, le);
  const dataLen = len - hdrLen;
  if (typeOff % 4 !== 0) fail(`type section offset ${typeOff} is not 4-byte aligned`, 8);
  if (typeOff + typeLen > dataLen) {
    fail(`type section [${typeOff}, +${typeLen}) out of bounds of ${dataLen} data bytes`, 12);
  }
  if (strOff + strLen > dataLen) {
    fail(`string section [${strOff}, +${strLen}) out of bounds of ${dataLen} data bytes`, 20);
  }
  if (typeLen > 0 && strLen > 0 && typeOff < strOff + strLen && strOff < typeOff + typeLen) {
    fail("type and string sections overlap", 16);
  }
  if (typeLen % 4 !== 0) fail(`type section length ${typeLen} is not a multiple of 4`, 12);
  return { littleEndian: le, hdrLen, typeOff, typeLen, strOff, strLen };
}

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
  const le = options.littleEndian ?? HOST_LITTLE_ENDIAN;
  const typeLen = types.length * 4;
  const out = new Uint8Array(BTF_HEADER_SIZE + typeLen + strings.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, BTF_MAGIC, le);
  out[2] = 1; // version
  out[3] = 0; // flags
  dv.setUint32(4, BTF_HEADER_SIZE, le); // hdr_len
  dv.setUint32(8, 0, le); // type_off
  dv.setUint32(12, typeLen, le);
  dv.setUint32(16, typeLen, le); // str_off
  dv.setUint32(20, strings.length, le);
  if (types instanceof Uint32Array && le === HOST_LITTLE_ENDIAN) {
    out.set(new Uint8Array(types.buffer, types.byteOffset, typeLen), BTF_HEADER_SIZE);
  } else {
    for (let i = 0; i < types.length; i++) {
      dv.setUint32(BTF_HEADER_SIZE + i * 4, types[i] >>> 0, le);
    }
  }
  out.set(strings, BTF_HEADER_SIZE + typeLen);
  return out;
}
