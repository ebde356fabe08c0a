// Generates the assembler test corpora as llvm-mc input (.s files of .byte
// directives): every opcode with a spread of field values, and seeded random
// instruction streams (little- and big-endian) with labels at random places.
// Run by build.sh; deterministic (own PRNG, fixed seeds).

function prng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function word(
  op: number,
  dst: number,
  src: number,
  off: number,
  imm: number,
  le: boolean,
): number[] {
  const b = new Uint8Array(8);
  const v = new DataView(b.buffer);
  b[0] = op;
  b[1] = le ? (src << 4) | dst : (dst << 4) | src;
  v.setInt16(2, off, le);
  v.setInt32(4, imm | 0, le);
  return [...b];
}

function emit(path: string, bytes: number[], labels: Map<number, string[]>): void {
  const lines = [".text"];
  for (let i = 0; i < bytes.length; i++) {
    for (const l of labels.get(i) ?? []) lines.push(`.globl ${l}`, `${l}:`);
    lines.push(`.byte ${bytes[i]}`);
  }
  Deno.writeTextFileSync(path, lines.join("\n") + "\n");
}

// 1. Every opcode byte with register, offset and immediate variants.
{
  const bytes: number[] = [];
  const regs = [[1, 2], [0, 0], [11, 3], [12, 1], [3, 12], [1, 11]];
  const offs = [1, 8, 16, 32, -8, 0x7fff, -0x8000];
  const imms = [1, 2, 16, 32, 64, -1, 0x41, 0xe1, 0xf1, 0x100, 0x110, 0x51, 0xa1, 0xa0, 0x101];
  for (let op = 0; op < 256; op++) {
    const variants: number[][] = [[1, 2, 0, 0]];
    for (const [d, s] of regs) variants.push([d, s, 0, 0]);
    for (const o of offs) variants.push([1, 2, o, 0]);
    for (const i of imms) variants.push([1, 2, 0, i]);
    for (const [d, s, o, i] of variants) {
      bytes.push(...word(op, d, s, o, i, true));
      if (op === 0x18) bytes.push(...word(0, 0, 0, 0, i === -1 ? -1 : 0, true));
    }
  }
  emit("opcodes.s", bytes, new Map([[0, ["all"]]]));
}

// 2. Random streams.
const OPS = [
  0x04,
  0x05,
  0x06,
  0x07,
  0x0c,
  0x0d,
  0x0f,
  0x14,
  0x15,
  0x16,
  0x17,
  0x18,
  0x1c,
  0x1d,
  0x1e,
  0x1f,
  0x20,
  0x24,
  0x25,
  0x26,
  0x27,
  0x28,
  0x2c,
  0x2d,
  0x2e,
  0x2f,
  0x30,
  0x34,
  0x35,
  0x36,
  0x37,
  0x38,
  0x3c,
  0x3d,
  0x3e,
  0x3f,
  0x40,
  0x44,
  0x45,
  0x46,
  0x47,
  0x48,
  0x4c,
  0x4d,
  0x4e,
  0x4f,
  0x50,
  0x54,
  0x55,
  0x56,
  0x57,
  0x5c,
  0x5d,
  0x5e,
  0x5f,
  0x61,
  0x62,
  0x63,
  0x64,
  0x65,
  0x66,
  0x67,
  0x69,
  0x6a,
  0x6b,
  0x6c,
  0x6d,
  0x6e,
  0x6f,
  0x71,
  0x72,
  0x73,
  0x74,
  0x75,
  0x76,
  0x77,
  0x79,
  0x7a,
  0x7b,
  0x7c,
  0x7d,
  0x7e,
  0x7f,
  0x81,
  0x84,
  0x85,
  0x86,
  0x87,
  0x89,
  0x8c,
  0x8d,
  0x8f,
  0x91,
  0x94,
  0x95,
  0x97,
  0x9c,
  0x9f,
  0xa4,
  0xa5,
  0xa6,
  0xa7,
  0xac,
  0xad,
  0xae,
  0xaf,
  0xb4,
  0xb5,
  0xb6,
  0xb7,
  0xbc,
  0xbd,
  0xbe,
  0xbf,
  0xc3,
  0xc4,
  0xc5,
  0xc6,
  0xc7,
  0xcb,
  0xcc,
  0xcd,
  0xce,
  0xcf,
  0xd3,
  0xd4,
  0xd5,
  0xd6,
  0xd7,
  0xdb,
  0xdc,
  0xdd,
  0xde,
  0xdf,
  0xe5,
];
for (const [seed, le] of [[1, true], [2, true], [3, true], [4, false], [5, false]] as const) {
  const rnd = prng(seed * 7919);
  const pick = <T>(a: readonly T[]): T => a[Math.floor(rnd() * a.length)];
  const bytes: number[] = [];
  for (let n = 0; n < 400; n++) {
    const k = rnd();
    if (k < 0.12) {
      for (let i = 0; i < 8; i++) bytes.push(Math.floor(rnd() * 256));
      continue;
    }
    if (k < 0.17) {
      bytes.push(0, 0, 0, 0, 0, 0, 0, 0);
      continue;
    }
    const op = pick(OPS);
    const dst = pick([0, 1, 2, 10, 11, 12, 15, Math.floor(rnd() * 16)]);
    const src = pick([0, 1, 2, 3, 10, 11, 12, Math.floor(rnd() * 16)]);
    const off = pick([0, 0, 0, 1, -1, 8, 16, -8, Math.floor(rnd() * 65536) - 32768, -32768, 32767]);
    const imm = pick([
      0,
      0,
      1,
      -1,
      16,
      32,
      64,
      0x40,
      0x41,
      0x50,
      0x51,
      0xa0,
      0xa1,
      0xe1,
      0xf1,
      0x100,
      0x110,
      2,
      0x101,
      Math.floor(rnd() * 2 ** 32) - 2 ** 31,
      Math.floor(rnd() * 200) - 100,
    ]);
    bytes.push(...word(op, dst, src, off, imm, le));
  }
  const tail = Math.floor(rnd() * 16);
  for (let i = 0; i < tail; i++) bytes.push(Math.floor(rnd() * 256));
  const labels = new Map<number, string[]>();
  const nlabels = 1 + Math.floor(rnd() * 14);
  for (let i = 0; i < nlabels; i++) {
    const at = Math.floor(rnd() * bytes.length);
    const pos = rnd() < 0.25 ? at : at & ~7;
    labels.set(pos, [...(labels.get(pos) ?? []), `L${i}_${Math.floor(rnd() * 100)}`]);
  }
  emit(`random${seed}_${le ? "el" : "eb"}.s`, bytes, labels);
}
