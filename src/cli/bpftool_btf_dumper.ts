/**
 * bpftool's btf_dumper: a map key or value formatted through its BTF type,
 * written with bpftool's JSON writer (`map dump` with BTF, `-j`'s
 * `"formatted"`). `plain` is bpftool's is_plain_text: the text form prints
 * pointers as `%p`, non-printable chars as `0x..` and bitfields unquoted.
 *
 * @module
 */

import type { Spec } from "../btf/spec.ts";
import type { BtfType } from "../btf/types.ts";
import type { JsonWriter } from "./bpftool_json.ts";

/** Formats `data` (at `bitOffset` within its first byte) as BTF type `id`. */
export function dumpBtfValue(
  w: JsonWriter,
  spec: Spec,
  id: number,
  data: Uint8Array,
  plain: boolean,
  bitOffset = 0,
): void {
  const t = spec.typeById(id);
  const dv = new DataView(data.buffer, data.byteOffset, data.byteLength);
  switch (t.kind) {
    case "int":
      return dumpInt(w, t, dv, data, plain, bitOffset);
    case "typedef":
    case "volatile":
    case "const":
    case "restrict":
    case "type_tag":
      return dumpBtfValue(w, spec, t.type, data, plain, bitOffset);
    case "enum":
    case "enum64": {
      const v = t.size === 8
        ? (t.signed ? dv.getBigInt64(0, true) : dv.getBigUint64(0, true))
        : BigInt(
          t.size === 4
            ? (t.signed ? dv.getInt32(0, true) : dv.getUint32(0, true))
            : t.size === 2
            ? (t.signed ? dv.getInt16(0, true) : dv.getUint16(0, true))
            : (t.signed ? dv.getInt8(0) : dv.getUint8(0)),
        );
      const hit = (t.values as readonly { name: string; value: number | bigint }[]).find((e) =>
        BigInt(e.value) === v
      );
      if (hit) w.string(hit.name);
      else w.number(v);
      return;
    }
    case "ptr": {
      const p = dv.getBigUint64(0, true);
      w.raw(plain ? (p ? `0x${p.toString(16)}` : "(nil)") : String(p));
      return;
    }
    case "array": {
      const elemSize = spec.sizeOf(t.type);
      if (isStrArray(spec, t.type, t.nelems, data)) {
        const end = data.indexOf(0);
        w.string(String.fromCharCode(...data.subarray(0, end)));
        return;
      }
      w.startArray();
      for (let i = 0; i < t.nelems; i++) {
        dumpBtfValue(w, spec, t.type, data.subarray(i * elemSize), plain);
      }
      w.endArray();
      return;
    }
    case "struct":
    case "union":
      w.startObject();
      for (const m of t.members) {
        w.name(m.name);
        const at = data.subarray(m.bitOffset >> 3);
        if (m.bitfieldSize) dumpBitfield(w, m.bitfieldSize, m.bitOffset & 7, at, plain);
        else dumpBtfValue(w, spec, m.type, at, plain, m.bitOffset & 7);
      }
      w.endObject();
      return;
    case "var":
      w.startObject();
      w.name(t.name);
      dumpBtfValue(w, spec, t.type, data, plain, bitOffset);
      w.endObject();
      return;
    case "datasec":
      w.startObject();
      w.name(t.name);
      w.startArray();
      for (const v of t.vars) dumpBtfValue(w, spec, v.type, data.subarray(v.offset), plain);
      w.endArray();
      w.endObject();
      return;
    case "float": {
      const f = t.size === 4 ? dv.getFloat32(0, true) : dv.getFloat64(0, true);
      w.raw(f.toFixed(6));
      return;
    }
    default:
      w.raw("(unknown)");
  }
}

function isStrArray(spec: Spec, elem: number, nelems: number, data: Uint8Array): boolean {
  if (!nelems) return false;
  let t: BtfType = spec.typeById(elem);
  while (t.kind === "const" || t.kind === "volatile" || t.kind === "restrict") {
    t = spec.typeById(t.type);
  }
  if (t.kind !== "int" || t.size !== 1) return false;
  if (t.encoding !== "char" && t.name !== "char") return false;
  for (let i = 0; i < nelems && i < data.length; i++) {
    const c = data[i] << 24 >> 24; // C's signed char
    if (c === 0) return true;
    if (c <= 0x1f || c >= 0x7f) return false;
  }
  return false;
}

function dumpBitfield(
  w: JsonWriter,
  bits: number,
  bitOffset: number,
  data: Uint8Array,
  plain: boolean,
): void {
  let v = 0n;
  const bytes = Math.ceil((bits + bitOffset) / 8);
  for (let i = bytes - 1; i >= 0; i--) v = (v << 8n) | BigInt(data[i] ?? 0);
  v = (v >> BigInt(bitOffset)) & ((1n << BigInt(bits)) - 1n);
  const text = v ? `0x${v.toString(16)}` : "0";
  w.raw(plain ? text : `"${text}"`);
}

function dumpInt(
  w: JsonWriter,
  t: Extract<BtfType, { kind: "int" }>,
  dv: DataView,
  data: Uint8Array,
  plain: boolean,
  bitOffset: number,
): void {
  if (t.bitOffset || bitOffset || t.bits % 8) {
    return dumpBitfield(w, t.bits, t.bitOffset + bitOffset, data, plain);
  }
  if (t.encoding === "char") {
    const c = dv.getUint8(0);
    if (c >= 0x20 && c < 0x7f) w.raw(`"${String.fromCharCode(c)}"`); // unescaped, as bpftool
    else w.raw(plain ? `0x${c.toString(16)}` : `"\\u00${c.toString(16).padStart(2, "0")}"`);
    return;
  }
  if (t.encoding === "bool") return w.bool(dv.getUint8(0) !== 0);
  const signed = t.encoding === "signed";
  switch (t.bits) {
    case 64:
      return w.number(signed ? dv.getBigInt64(0, true) : dv.getBigUint64(0, true));
    case 32:
      return w.number(signed ? dv.getInt32(0, true) : dv.getUint32(0, true));
    case 16:
      return w.number(signed ? dv.getInt16(0, true) : dv.getUint16(0, true));
    case 8:
      return w.number(signed ? dv.getInt8(0) : dv.getUint8(0));
    case 128: {
      const lo = dv.getBigUint64(0, true);
      const hi = dv.getBigUint64(8, true);
      w.raw(
        hi ? `0x${hi.toString(16)}${lo.toString(16).padStart(16, "0")}` : `0x${lo.toString(16)}`,
      );
      return;
    }
    default:
      return dumpBitfield(w, t.bits, 0, data, plain);
  }
}
