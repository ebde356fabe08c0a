// Helpers for the map tests: a minimal scan of vmlinux BTF for a struct's id and size (the BTF module is separate; the
// map tests do not depend on it). BTF layout from the kernel's btf.rst.

// Bytes that follow `struct btf_type` (12 bytes) for each kind.
function extra(kind: number, vlen: number): number {
  switch (kind) {
    case 1: // INT
    case 14: // VAR
    case 17: // DECL_TAG
      return 4;
    case 3: // ARRAY
      return 12;
    case 4: // STRUCT
    case 5: // UNION
    case 15: // DATASEC
    case 19: // ENUM64
      return 12 * vlen;
    case 6: // ENUM
    case 13: // FUNC_PROTO
      return 8 * vlen;
    default:
      return 0;
  }
}

/** The type id and size of the struct named `name` in vmlinux BTF, if present. */
export function findVmlinuxStruct(name: string): { id: number; size: number } | undefined {
  const btf = Deno.readFileSync("/sys/kernel/btf/vmlinux");
  const dv = new DataView(btf.buffer, btf.byteOffset, btf.byteLength);
  const hdrLen = dv.getUint32(4, true);
  const typeOff = hdrLen + dv.getUint32(8, true);
  const typeLen = dv.getUint32(12, true);
  const strOff = hdrLen + dv.getUint32(16, true);
  const want = new TextEncoder().encode(name + "\0");
  let off = typeOff;
  let id = 1;
  while (off < typeOff + typeLen) {
    const nameOff = dv.getUint32(off, true);
    const info = dv.getUint32(off + 4, true);
    const kind = (info >>> 24) & 0x1f;
    const vlen = info & 0xffff;
    if (kind === 4 && nameOff !== 0) {
      const s = strOff + nameOff;
      let eq = true;
      for (let i = 0; i < want.length; i++) {
        if (btf[s + i] !== want[i]) {
          eq = false;
          break;
        }
      }
      if (eq) return { id, size: dv.getUint32(off + 8, true) };
    }
    off += 12 + extra(kind, vlen);
    id++;
  }
  return undefined;
}
