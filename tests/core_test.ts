// CO-RE relocation engine (src/btf/core.ts) on hand-built BTF: every
// relocation kind, candidate matching by essential name, flavours,
// anonymous members, arrays, bitfields in both byte orders, memory size
// adjustment, poisoning, ambiguity, module candidates, TYPE_MATCHES, and a
// property test over random struct layouts.

import assert from "node:assert/strict";
import fc from "fast-check";
import { BtfBuilder } from "../src/btf/encode.ts";
import { parseBtf, type Spec } from "../src/btf/spec.ts";
import type { TypeDesc } from "../src/btf/types.ts";
import type { CoreRelocationRecord } from "../src/btf/ext.ts";
import {
  applyCoreRelocations,
  CORE_POISON_HELPER,
  CoreRelocationError,
  CoreRelocationKind as K,
  CoreTargets,
  coreTypesAreCompatible,
  coreTypesMatch,
  essentialName,
  resolveCoreRelocation,
} from "../src/btf/core.ts";

/** Builds a spec; `build` gets the builder and common ids. */
function btf(
  build: (
    b: BtfBuilder,
    t: { int: number; u32: number; u64: number; s64: number; char: number; u8: number },
  ) => void,
  littleEndian = true,
): Spec {
  const b = new BtfBuilder();
  const int = b.add({
    kind: "int",
    name: "int",
    size: 4,
    encoding: "signed",
    bitOffset: 0,
    bits: 32,
  });
  const u32 = b.add({
    kind: "int",
    name: "unsigned int",
    size: 4,
    encoding: "none",
    bitOffset: 0,
    bits: 32,
  });
  const u64 = b.add({
    kind: "int",
    name: "long long unsigned int",
    size: 8,
    encoding: "none",
    bitOffset: 0,
    bits: 64,
  });
  const s64 = b.add({
    kind: "int",
    name: "long long int",
    size: 8,
    encoding: "signed",
    bitOffset: 0,
    bits: 64,
  });
  const char = b.add({
    kind: "int",
    name: "char",
    size: 1,
    encoding: "signed",
    bitOffset: 0,
    bits: 8,
  });
  const u8 = b.add({
    kind: "int",
    name: "unsigned char",
    size: 1,
    encoding: "none",
    bitOffset: 0,
    bits: 8,
  });
  build(b, { int, u32, u64, s64, char, u8 });
  return parseBtf(b.encode({ littleEndian }));
}

const m = (
  name: string,
  type: number,
  byteOffset: number,
  bitfieldSize = 0,
  bitOffset?: number,
) => ({
  name,
  type,
  bitOffset: bitOffset ?? byteOffset * 8,
  bitfieldSize,
});

function struct(name: string, size: number, members: ReturnType<typeof m>[]): TypeDesc {
  return { kind: "struct", name, size, members };
}

function id(spec: Spec, name: string): number {
  return spec.typesByName(name).find((t) => t.kind !== "fwd")!.id;
}

function relo(typeId: number, accessStr: string, kind: number, insnOff = 0): CoreRelocationRecord {
  return { insnOff, typeId, accessStr, kind };
}

/** mov r0, imm (ALU64 | MOV | K). */
function movImm(imm: number): Uint8Array {
  const b = new Uint8Array(8);
  b[0] = 0xb7;
  new DataView(b.buffer).setInt32(4, imm, true);
  return b;
}

/** r0 = *(size *)(r1 + off). */
function ldx(off: number, sizeCode = 0x00): Uint8Array {
  const b = new Uint8Array(8);
  b[0] = 0x61 | sizeCode;
  b[1] = 0x10;
  new DataView(b.buffer).setInt16(2, off, true);
  return b;
}

const imm = (b: Uint8Array, i = 0) => new DataView(b.buffer).getInt32(i * 8 + 4, true);
const off = (b: Uint8Array, i = 0) => new DataView(b.buffer).getInt16(i * 8 + 2, true);

Deno.test("essentialName strips the last flavour suffix", () => {
  assert.equal(essentialName("task_struct___old"), "task_struct");
  assert.equal(essentialName("task_struct___x___y"), "task_struct___x");
  assert.equal(essentialName("task_struct"), "task_struct");
  assert.equal(essentialName("a____b"), "a____b"); // 4 underscores: not a separator
  assert.equal(essentialName("___x"), "___x");
  assert.equal(essentialName("s___"), "s___");
});

Deno.test("field offset follows the member by name into a different layout", () => {
  const local = btf((b, t) => b.add(struct("s", 8, [m("a", t.int, 0), m("b", t.int, 4)])));
  const target = btf((b, t) =>
    b.add(struct("s", 16, [m("x", t.u64, 0), m("b", t.int, 8), m("a", t.int, 12)]))
  );
  const targets = new CoreTargets(target);
  const insns = ldx(4);
  const [r] = applyCoreRelocations(
    insns,
    [relo(id(local, "s"), "0:1", K.FIELD_BYTE_OFFSET)],
    local,
    targets,
  );
  assert.equal(r.oldValue, 4n);
  assert.equal(r.newValue, 8n);
  assert.equal(off(insns), 8);
  assert.equal(r.poisoned, false);
  assert.match(r.local, /^\[\d+\] struct s\.b \(0:1 @ offset 4\)$/);
  assert.match(r.target!, /^\[\d+\] struct s\.b \(0:1 @ offset 8\)$/);
});

Deno.test("flavoured local types match the plain target type", () => {
  const local = btf((b, t) => b.add(struct("s___v2", 4, [m("a", t.int, 0)])));
  const target = btf((b, t) => b.add(struct("s", 8, [m("z", t.int, 0), m("a", t.int, 4)])));
  const r = resolveCoreRelocation(
    local,
    relo(id(local, "s___v2"), "0:0", K.FIELD_BYTE_OFFSET),
    new CoreTargets(target),
  );
  assert.equal(r.newValue, 4n);
  assert.equal(r.localTypeName, "s___v2");
});

Deno.test("anonymous members of the target are searched", () => {
  const local = btf((b, t) => b.add(struct("s", 8, [m("a", t.int, 0), m("b", t.int, 4)])));
  const target = btf((b, t) => {
    const inner = b.add(struct("", 8, [m("q", t.int, 0), m("b", t.int, 4)]));
    const un = b.add({ kind: "union", name: "", size: 8, members: [m("", inner, 0)] });
    b.add(struct("s", 24, [m("a", t.int, 0), m("", un, 8)]));
  });
  const r = resolveCoreRelocation(
    local,
    relo(id(local, "s"), "0:1", K.FIELD_BYTE_OFFSET),
    new CoreTargets(target),
  );
  assert.equal(r.newValue, 12n);
  assert.match(r.target!, /\(0:1:0:1 @ offset 12\)/);
});

Deno.test("nested and array accesses, flexible arrays, out-of-range indices", () => {
  const local = btf((b, t) => {
    const arr = b.add({ kind: "array", name: "", type: t.int, indexType: t.int, nelems: 4 });
    const flex = b.add({ kind: "array", name: "", type: t.u64, indexType: t.int, nelems: 0 });
    const inner = b.add(struct("inner", 16, [m("arr", arr, 0)]));
    b.add(struct("s", 24, [m("in", inner, 0), m("tail", flex, 16)]));
  });
  const target = btf((b, t) => {
    const arr = b.add({ kind: "array", name: "", type: t.int, indexType: t.int, nelems: 2 });
    const flex = b.add({ kind: "array", name: "", type: t.u64, indexType: t.int, nelems: 0 });
    const inner = b.add(struct("inner", 8, [m("arr", arr, 0)]));
    b.add(struct("s", 40, [m("pad", t.u64, 0), m("in", inner, 8), m("tail", flex, 16)]));
  });
  const targets = new CoreTargets(target);
  const s = id(local, "s");
  // s->in.arr[1]: 8 + 1*4 in the target.
  assert.equal(
    resolveCoreRelocation(local, relo(s, "0:0:0:1", K.FIELD_BYTE_OFFSET), targets).newValue,
    12n,
  );
  // s->in.arr[3]: the target's array has 2 elements: not found.
  const oob = resolveCoreRelocation(local, relo(s, "0:0:0:3", K.FIELD_BYTE_OFFSET), targets);
  assert.equal(oob.poisoned, true);
  assert.equal(
    resolveCoreRelocation(local, relo(s, "0:0:0:3", K.FIELD_EXISTS), targets).newValue,
    0n,
  );
  // s->tail[5]: a flexible array accepts any index.
  assert.equal(
    resolveCoreRelocation(local, relo(s, "0:1:5", K.FIELD_BYTE_OFFSET), targets).newValue,
    56n,
  );
  // Size of the array element access, and of the whole member.
  assert.equal(
    resolveCoreRelocation(local, relo(s, "0:0:0:1", K.FIELD_BYTE_SIZE), targets).newValue,
    4n,
  );
  assert.equal(
    resolveCoreRelocation(local, relo(s, "0:0:0", K.FIELD_BYTE_SIZE), targets).newValue,
    8n,
  );
  // (&s[2])->in: the leading index scales by the target's size.
  assert.equal(
    resolveCoreRelocation(local, relo(s, "2:0", K.FIELD_BYTE_OFFSET), targets).newValue,
    88n,
  );
});

Deno.test("field exists, size and signedness", () => {
  const local = btf((b, t) =>
    b.add(struct("s", 16, [m("a", t.u32, 0), m("gone", t.int, 4), m("c", t.s64, 8)]))
  );
  const target = btf((b, t) => b.add(struct("s", 16, [m("c", t.u32, 0), m("a", t.s64, 8)])));
  const targets = new CoreTargets(target);
  const s = id(local, "s");
  const v = (a: string, k: number) => resolveCoreRelocation(local, relo(s, a, k), targets);
  assert.equal(v("0:0", K.FIELD_EXISTS).newValue, 1n);
  assert.equal(v("0:1", K.FIELD_EXISTS).newValue, 0n);
  assert.equal(v("0:1", K.FIELD_EXISTS).poisoned, false);
  assert.equal(v("0:0", K.FIELD_BYTE_SIZE).newValue, 8n);
  assert.equal(v("0:0", K.FIELD_SIGNED).oldValue, 0n);
  assert.equal(v("0:0", K.FIELD_SIGNED).newValue, 1n);
  assert.equal(v("0:2", K.FIELD_SIGNED).newValue, 0n);
  assert.equal(v("0:1", K.FIELD_BYTE_SIZE).poisoned, true);
  assert.equal(v("0:1", K.FIELD_SIGNED).poisoned, true);
});

Deno.test("bitfields: offset, size and shifts, little- and big-endian", () => {
  for (const le of [true, false]) {
    // struct s { u32 x; u8 a:3, b:5; u16 c:12; }
    const local = btf((b, t) => {
      const u16 = b.add({
        kind: "int",
        name: "short unsigned int",
        size: 2,
        encoding: "none",
        bitOffset: 0,
        bits: 16,
      });
      b.add(
        struct("s", 8, [
          m("x", t.u32, 0),
          m("a", t.u8, 0, 3, 32),
          m("b", t.u8, 0, 5, 35),
          m("c", u16, 0, 12, 40),
        ]),
      );
    }, le);
    // Target: b moved to bit 70 and widened to 9 bits, c at 100 (crosses 8 bytes? no: 96..).
    const target = btf((b, t) => {
      const u16 = b.add({
        kind: "int",
        name: "short unsigned int",
        size: 2,
        encoding: "none",
        bitOffset: 0,
        bits: 16,
      });
      b.add(
        struct("s", 16, [
          m("x", t.u64, 0),
          m("b", t.u32, 0, 9, 70),
          m("c", u16, 0, 12, 100),
          m("a", t.u8, 0, 3, 112),
        ]),
      );
    }, le);
    const targets = new CoreTargets(target);
    const s = id(local, "s");
    const v = (a: string, k: number) =>
      resolveCoreRelocation(local, relo(s, a, k), targets, { bigEndian: !le }).newValue;
    // b: 9 bits at bit 70 of a u32: byte 8 (70/8/4*4), 4 bytes.
    assert.equal(v("0:2", K.FIELD_BYTE_OFFSET), 8n);
    assert.equal(v("0:2", K.FIELD_BYTE_SIZE), 4n);
    assert.equal(v("0:2", K.FIELD_RSHIFT_U64), BigInt(64 - 9));
    assert.equal(
      v("0:2", K.FIELD_LSHIFT_U64),
      le ? BigInt(64 - (70 + 9 - 64)) : BigInt((8 - 4) * 8 + (70 - 64)),
    );
    // c: 12 bits at 100 of a u16: byte 12, and 100+12-96 = 16 bits fit in 2 bytes.
    assert.equal(v("0:3", K.FIELD_BYTE_OFFSET), 12n);
    assert.equal(v("0:3", K.FIELD_BYTE_SIZE), 2n);
    // a crossing nothing: u8 at bit 112 → byte 14.
    assert.equal(v("0:1", K.FIELD_BYTE_OFFSET), 14n);
    assert.equal(v("0:1", K.FIELD_LSHIFT_U64), le ? 61n : BigInt((8 - 1) * 8));
  }
});

Deno.test("a bitfield that straddles its storage unit grows the load size", () => {
  const local = btf((b, t) => b.add(struct("s", 4, [m("f", t.u8, 0, 4, 6)])));
  const targets = new CoreTargets(local);
  const r = resolveCoreRelocation(local, relo(id(local, "s"), "0:0", K.FIELD_BYTE_SIZE), targets);
  assert.equal(r.newValue, 2n); // bits 6..9 need two bytes
});

Deno.test("load size follows the target field for pointers and unsigned integers", () => {
  const local = btf((b, t) => {
    const p = b.add({ kind: "ptr", name: "", type: t.int });
    b.add(struct("s", 16, [m("u", t.u32, 0), m("p", p, 8), m("i", t.int, 4)]));
  });
  const target = btf((b, t) => {
    const p = b.add({ kind: "ptr", name: "", type: t.int });
    b.add(struct("s", 32, [m("u", t.u64, 0), m("p", p, 8), m("i", t.s64, 16)]));
  });
  const s = id(local, "s");
  const targets = new CoreTargets(target);
  // u32 → u64: the 4-byte load becomes an 8-byte load at the new offset.
  const a = ldx(0, 0x00);
  applyCoreRelocations(a, [relo(s, "0:0", K.FIELD_BYTE_OFFSET)], local, targets);
  assert.equal(a[0], 0x61 | 0x18);
  // int → s64: signed widening would change the value: poisoned.
  const b = ldx(4, 0x00);
  const [r] = applyCoreRelocations(b, [relo(s, "0:2", K.FIELD_BYTE_OFFSET)], local, targets);
  assert.equal(r.poisoned, true);
  assert.match(r.poisonReason!, /changed size/);
  assert.equal(b[0], 0x85);
  assert.equal(imm(b), CORE_POISON_HELPER);
});

Deno.test("type relocations: exists, size, local and target id", () => {
  const local = btf((b, t) => {
    b.add(struct("s", 4, [m("a", t.int, 0)]));
    b.add(struct("nope", 4, [m("a", t.int, 0)]));
    b.add({ kind: "typedef", name: "myint", type: t.int });
  });
  const target = btf((b, t) => {
    b.add(struct("s", 64, [m("a", t.int, 0)]));
    b.add({ kind: "typedef", name: "myint", type: t.s64 });
  });
  const targets = new CoreTargets(target);
  const v = (name: string, k: number) =>
    resolveCoreRelocation(local, relo(id(local, name), "0", k), targets);
  assert.equal(v("s", K.TYPE_EXISTS).newValue, 1n);
  assert.equal(v("s", K.TYPE_SIZE).newValue, 64n);
  assert.equal(v("s", K.TYPE_ID_TARGET).newValue, BigInt(id(target, "s")));
  assert.equal(v("s", K.TYPE_ID_LOCAL).newValue, BigInt(id(local, "s")));
  assert.equal(v("nope", K.TYPE_EXISTS).newValue, 0n);
  assert.equal(v("nope", K.TYPE_SIZE).newValue, 0n);
  assert.equal(v("nope", K.TYPE_ID_TARGET).newValue, 0n);
  assert.equal(v("nope", K.TYPE_SIZE).poisoned, false);
  assert.equal(v("myint", K.TYPE_SIZE).newValue, 8n);
});

Deno.test("TYPE_MATCHES is stricter than existence", () => {
  const local = btf((b, t) => {
    b.add(struct("s", 8, [m("a", t.int, 0), m("b", t.u32, 4)]));
    b.add(struct("wrongsize", 4, [m("a", t.int, 0)]));
    b.add({ kind: "enum", name: "e", size: 4, signed: false, values: [{ name: "X", value: 1 }] });
    b.add({
      kind: "enum",
      name: "e2",
      size: 4,
      signed: false,
      values: [{ name: "GONE", value: 1 }],
    });
  });
  const target = btf((b, t) => {
    b.add(struct("s", 16, [m("b", t.u32, 0), m("c", t.u64, 8), m("a", t.int, 4)]));
    b.add(struct("wrongsize", 8, [m("a", t.s64, 0)]));
    b.add({
      kind: "enum",
      name: "e",
      size: 4,
      signed: false,
      values: [{ name: "Y", value: 0 }, { name: "X", value: 7 }],
    });
    b.add({ kind: "enum", name: "e2", size: 4, signed: false, values: [{ name: "Z", value: 1 }] });
  });
  const targets = new CoreTargets(target);
  const v = (name: string) =>
    resolveCoreRelocation(local, relo(id(local, name), "0", K.TYPE_MATCHES), targets).newValue;
  assert.equal(v("s"), 1n);
  assert.equal(v("wrongsize"), 0n);
  assert.equal(v("e"), 1n);
  assert.equal(v("e2"), 0n);
  assert.equal(coreTypesMatch(local, id(local, "s"), target, id(target, "s")), true);
  assert.equal(
    coreTypesAreCompatible(local, id(local, "wrongsize"), target, id(target, "wrongsize")),
    true,
  );
});

Deno.test("enumerator relocations, enum and enum64, signed values", () => {
  const local = btf((b) => {
    b.add({
      kind: "enum",
      name: "e",
      size: 4,
      signed: true,
      values: [{ name: "A", value: 0 }, { name: "B", value: 1 }, { name: "GONE", value: 2 }],
    });
    b.add({
      kind: "enum",
      name: "big",
      size: 8,
      signed: false,
      values: [{ name: "HUGE", value: 1 }],
    });
  });
  const target = btf((b) => {
    b.add({
      kind: "enum",
      name: "e",
      size: 4,
      signed: true,
      values: [{ name: "B", value: -5 }, { name: "A", value: 3 }],
    });
    b.add({
      kind: "enum64",
      name: "big",
      size: 8,
      signed: false,
      values: [{ name: "HUGE", value: 1n << 40n }],
    });
  });
  const targets = new CoreTargets(target);
  const v = (name: string, a: string, k: number) =>
    resolveCoreRelocation(local, relo(id(local, name), a, k), targets);
  assert.equal(v("e", "1", K.ENUMVAL_VALUE).newValue, -5n);
  assert.equal(v("e", "0", K.ENUMVAL_VALUE).newValue, 3n);
  assert.equal(v("e", "2", K.ENUMVAL_EXISTS).newValue, 0n);
  assert.equal(v("e", "2", K.ENUMVAL_VALUE).poisoned, true);
  assert.equal(v("big", "0", K.ENUMVAL_VALUE).newValue, 1n << 40n);
  // A 64-bit value is written into a lddw.
  const ld = new Uint8Array(16);
  ld[0] = 0x18;
  new DataView(ld.buffer).setInt32(4, 1, true);
  applyCoreRelocations(ld, [relo(id(local, "big"), "0", K.ENUMVAL_VALUE)], local, targets);
  assert.equal(imm(ld, 0), 0);
  assert.equal(imm(ld, 1), 1 << 8);
  // …and a negative one into an ALU immediate.
  const alu = movImm(1);
  applyCoreRelocations(alu, [relo(id(local, "e"), "1", K.ENUMVAL_VALUE)], local, targets);
  assert.equal(imm(alu), -5);
});

Deno.test("incompatible member types do not match", () => {
  const local = btf((b, t) => b.add(struct("s", 8, [m("a", t.int, 0)])));
  const target = btf((b, t) => {
    const inner = b.add(struct("inner", 4, [m("x", t.int, 0)]));
    b.add(struct("s", 8, [m("a", inner, 4)]));
  });
  const r = resolveCoreRelocation(
    local,
    relo(id(local, "s"), "0:0", K.FIELD_BYTE_OFFSET),
    new CoreTargets(target),
  );
  assert.equal(r.poisoned, true);
});

Deno.test("candidates that disagree are an ambiguity error; agreeing ones are fine", () => {
  const local = btf((b, t) => b.add(struct("s", 8, [m("a", t.int, 0)])));
  const disagree = btf((b, t) => {
    b.add(struct("s", 8, [m("a", t.int, 0)]));
    b.add(struct("s", 8, [m("a", t.int, 4)]));
  });
  const agree = btf((b, t) => {
    b.add(struct("s", 8, [m("a", t.int, 4)]));
    b.add(struct("s", 8, [m("z", t.int, 0), m("a", t.int, 4)]));
  });
  const s = id(local, "s");
  assert.throws(
    () =>
      resolveCoreRelocation(local, relo(s, "0:0", K.FIELD_BYTE_OFFSET), new CoreTargets(disagree)),
    (e) => e instanceof CoreRelocationError && /ambiguity/.test(e.message),
  );
  assert.equal(
    resolveCoreRelocation(local, relo(s, "0:0", K.FIELD_BYTE_OFFSET), new CoreTargets(agree))
      .newValue,
    4n,
  );
});

Deno.test("a plain and a flavoured target type that disagree are ambiguous, naming both", () => {
  const local = btf((b, t) =>
    b.add(struct("s", 12, [m("a", t.int, 0), m("b", t.int, 4), m("c", t.int, 8)]))
  );
  const target = btf((b, t) => {
    b.add(struct("s", 12, [m("a", t.int, 0), m("b", t.int, 4), m("c", t.int, 8)]));
    b.add(struct("s___v2", 12, [m("b", t.int, 0), m("a", t.int, 4), m("c", t.int, 8)]));
    b.add(struct("s___v3", 4, [m("z", t.int, 0)])); // no field a or c: dropped
  });
  const s = id(local, "s");
  const sId = id(target, "s");
  const v2 = id(target, "s___v2");
  const targets = new CoreTargets(target, { label: "kernelTypes" });
  // A field at different offsets: the offset ambiguity, as libbpf.
  assert.throws(
    () => resolveCoreRelocation(local, relo(s, "0:0", K.FIELD_BYTE_OFFSET), targets),
    (e) => {
      assert(e instanceof CoreRelocationError);
      assert.match(e.message, /field offset ambiguity/);
      assert.equal(e.kind, "byte_off");
      assert.match(e.access, /^\[\d+\] struct s\.a \(0:0 @ offset 0\)$/);
      assert.deepEqual(e.candidates, [
        `[${sId}] struct s`,
        `[${v2}] struct s___v2`,
        `[${v2 + 1}] struct s___v3`,
      ]);
      return true;
    },
  );
  // Type ids differ: the decision ambiguity (the err_ambiguous case).
  assert.throws(
    () => resolveCoreRelocation(local, relo(s, "0", K.TYPE_ID_TARGET), targets),
    (e) =>
      e instanceof CoreRelocationError && /relocation decision ambiguity/.test(e.message) &&
      e.access === `[${s}] struct s (0)` && e.candidates?.length === 3,
  );
  // Even an existence check of a field they place differently (libbpf
  // compares the bit offset whatever the kind).
  assert.throws(
    () => resolveCoreRelocation(local, relo(s, "0:1", K.FIELD_EXISTS), targets),
    (e) => e instanceof CoreRelocationError && /field offset ambiguity/.test(e.message),
  );
  // What the matching candidates agree on resolves (s___v3 has no c).
  assert.equal(
    resolveCoreRelocation(local, relo(s, "0:2", K.FIELD_BYTE_OFFSET), targets).newValue,
    8n,
  );
  assert.equal(
    resolveCoreRelocation(local, relo(s, "0:2", K.FIELD_EXISTS), targets).newValue,
    1n,
  );
});

Deno.test("a relocation that matches some candidates keeps only those for the type's next ones (libbpf)", () => {
  const local = btf((b, t) => b.add(struct("s", 12, [m("x", t.int, 0), m("y", t.int, 4)])));
  const target = btf((b, t) => {
    b.add(struct("s", 4, [m("x", t.int, 0)]));
    b.add(struct("s___v2", 12, [m("x", t.int, 4), m("y", t.int, 8)]));
  });
  const s = id(local, "s");
  const insns = () => new Uint8Array([...ldx(4), ...ldx(0)]);
  // y first: only s___v2 has it, so x is then read from s___v2 alone.
  const out = applyCoreRelocations(
    insns(),
    [relo(s, "0:1", K.FIELD_BYTE_OFFSET, 0), relo(s, "0:0", K.FIELD_BYTE_OFFSET, 1)],
    local,
    new CoreTargets(target),
  );
  assert.deepEqual(out.map((r) => r.newValue), [8n, 4n]);
  assert.deepEqual(out.map((r) => r.target?.replace(/ \(.*/, "")), [
    `[${id(target, "s___v2")}] struct s___v2.y`,
    `[${id(target, "s___v2")}] struct s___v2.x`,
  ]);
  // x first: both candidates have it, at different offsets.
  assert.throws(
    () =>
      applyCoreRelocations(
        new Uint8Array([...ldx(0), ...ldx(4)]),
        [relo(s, "0:0", K.FIELD_BYTE_OFFSET, 0), relo(s, "0:1", K.FIELD_BYTE_OFFSET, 1)],
        local,
        new CoreTargets(target),
      ),
    (e) => e instanceof CoreRelocationError && /field offset ambiguity/.test(e.message),
  );
  // A relocation that matches none (a missing field) narrows nothing.
  const local2 = btf((b, t) =>
    b.add(struct("s", 12, [m("x", t.int, 0), m("y", t.int, 4), m("z", t.int, 8)]))
  );
  const s2 = id(local2, "s");
  const r2 = applyCoreRelocations(
    new Uint8Array([...movImm(1), ...ldx(4)]),
    [relo(s2, "0:2", K.FIELD_EXISTS, 0), relo(s2, "0:1", K.FIELD_BYTE_OFFSET, 1)],
    local2,
    new CoreTargets(target),
  );
  assert.deepEqual(r2.map((r) => r.newValue), [0n, 8n]);
});

Deno.test("malformed records and mismatching instructions are errors", () => {
  const local = btf((b, t) => {
    b.add(struct("s", 8, [m("a", t.int, 0), m("b", t.int, 4)]));
    b.add(struct("", 8, [m("a", t.int, 0)]));
  });
  const targets = new CoreTargets(local);
  const s = id(local, "s");
  const bad = (insns: Uint8Array, r: CoreRelocationRecord, re: RegExp) =>
    assert.throws(
      () => applyCoreRelocations(insns, [r], local, targets, { program: "p" }),
      (e) => e instanceof CoreRelocationError && re.test(e.message) && e.program === "p",
    );
  bad(ldx(4), relo(s, "0:9", K.FIELD_BYTE_OFFSET), /out of range/);
  bad(ldx(4), relo(s, "x", K.FIELD_BYTE_OFFSET), /bad access string/);
  bad(ldx(4), relo(s, "0:1", K.FIELD_BYTE_OFFSET, 5), /out of range/);
  bad(ldx(0), relo(s, "0:1", K.FIELD_BYTE_OFFSET), /unexpected memory offset 0, expected 4/);
  bad(movImm(3), relo(s, "0:1", K.FIELD_BYTE_OFFSET), /unexpected ALU immediate 3/);
  bad(movImm(4), relo(s, "0:0", 99), /unknown relocation kind/);
  const anon = local.typesByName("").length; // no named lookup for anonymous types
  assert.equal(anon, 0);
  const anonId = [...local].find((t) => t.kind === "struct" && t.name === "")!.id;
  bad(ldx(0), relo(anonId, "0:0", K.FIELD_BYTE_OFFSET), /anonymous/);
});

Deno.test("poisoning a lddw replaces both halves", () => {
  const local = btf((b) =>
    b.add({ kind: "enum", name: "e", size: 8, signed: false, values: [{ name: "A", value: 1 }] })
  );
  const target = btf(() => {});
  const ld = new Uint8Array(16);
  ld[0] = 0x18;
  new DataView(ld.buffer).setInt32(4, 1, true);
  const [r] = applyCoreRelocations(
    ld,
    [relo(id(local, "e"), "0", K.ENUMVAL_VALUE)],
    local,
    new CoreTargets(target),
  );
  assert.equal(r.poisoned, true);
  assert.match(r.poisonReason!, /no type named e/);
  assert.deepEqual([ld[0], ld[8]], [0x85, 0x85]);
  assert.deepEqual([imm(ld, 0), imm(ld, 1)], [CORE_POISON_HELPER, CORE_POISON_HELPER]);
});

Deno.test("modules are searched only when the base has no candidate", () => {
  const local = btf((b, t) => {
    b.add(struct("inbase", 4, [m("a", t.int, 0)]));
    b.add(struct("inmodule", 4, [m("a", t.int, 0)]));
  });
  const base = btf((b, t) => b.add(struct("inbase", 8, [m("z", t.int, 0), m("a", t.int, 4)])));
  const mb = new BtfBuilder({ base });
  const int = base.typeByName("int", "int")!.id;
  mb.add(struct("inbase", 16, [m("z", int, 0), m("a", int, 12)]));
  mb.add(struct("inmodule", 8, [m("z", int, 0), m("a", int, 4)]));
  const mod = parseBtf(mb.encode(), { base });
  let loaded = 0;
  const targets = new CoreTargets(() => base, {
    modules: () => {
      loaded++;
      return [["mod", mod]];
    },
  });
  const a = resolveCoreRelocation(
    local,
    relo(id(local, "inbase"), "0:0", K.FIELD_BYTE_OFFSET),
    targets,
  );
  assert.equal(a.newValue, 4n);
  assert.equal(a.targetSource, "vmlinux");
  assert.equal(loaded, 0);
  const b = resolveCoreRelocation(
    local,
    relo(id(local, "inmodule"), "0:0", K.FIELD_BYTE_OFFSET),
    targets,
  );
  assert.equal(b.newValue, 4n);
  assert.equal(b.targetSource, "mod");
  assert.equal(loaded, 1);
});

Deno.test("property: field offsets follow members through random layouts", () => {
  const names = ["a", "b", "c", "d", "e", "f"];
  const sizes = [1, 2, 4, 8] as const;
  fc.assert(
    fc.property(
      fc.uniqueArray(fc.constantFrom(...names), { minLength: 1, maxLength: 6 }),
      fc.array(fc.constantFrom(...sizes), { minLength: 6, maxLength: 6 }),
      fc.array(fc.nat(3), { minLength: 6, maxLength: 6 }),
      fc.nat(1000),
      (fields, szs, pads, seed) => {
        const intOf = (b: BtfBuilder, size: number) =>
          b.add({
            kind: "int",
            name: `u${size * 8}`,
            size,
            encoding: "none",
            bitOffset: 0,
            bits: size * 8,
          });
        const layout = (order: string[], padding: number[]) => {
          const b = new BtfBuilder();
          let o = 0;
          const ms = order.map((n, i) => {
            const size = szs[names.indexOf(n)];
            o += padding[i] * size;
            o = Math.ceil(o / size) * size;
            const mm = m(n, intOf(b, size), o);
            o += size;
            return mm;
          });
          b.add(struct("s", Math.ceil(o / 8) * 8 || 8, ms));
          return {
            spec: parseBtf(b.encode()),
            offsets: Object.fromEntries(ms.map((x) => [x.name, x.bitOffset / 8])),
          };
        };
        const local = layout(fields, [0, 0, 0, 0, 0, 0]);
        const shuffled = [...fields].sort((x, y) =>
          ((x.charCodeAt(0) * 31 + seed) % 7) - ((y.charCodeAt(0) * 31 + seed) % 7)
        );
        const target = layout(shuffled, pads);
        const targets = new CoreTargets(target.spec);
        const sid = id(local.spec, "s");
        fields.forEach((name, i) => {
          const r = resolveCoreRelocation(
            local.spec,
            relo(sid, `0:${i}`, K.FIELD_BYTE_OFFSET),
            targets,
          );
          assert.equal(r.oldValue, BigInt(local.offsets[name]));
          assert.equal(r.newValue, BigInt(target.offsets[name]));
        });
      },
    ),
    { numRuns: 200 },
  );
});

Deno.test("candidates: target types with a flavour of their own match by essential name", () => {
  const build = (names: string[]) => {
    const b = new BtfBuilder();
    const int = b.add({
      kind: "int",
      name: "int",
      size: 4,
      encoding: "signed",
      bitOffset: 0,
      bits: 32,
    });
    for (const name of names) {
      b.add({
        kind: "struct",
        name,
        size: 4,
        members: [{ name: "a", type: int, bitOffset: 0, bitfieldSize: 0 }],
      });
    }
    return parseBtf(b.encode());
  };
  const local = build(["foo"]);
  const localFoo = local.typeByName("foo", "struct")!;
  // Only a flavoured target: found, as libbpf finds it.
  const flavoured = build(["foo___v2", "foobar", "foo__x"]);
  const c1 = new CoreTargets(flavoured).candidates(localFoo);
  assert.deepEqual(c1.map((c) => c.spec.typeById(c.id).name), ["foo___v2"]);
  // Plain and flavoured names are all candidates (libbpf's bpf_core_add_cands),
  // in id order; `foo___v2___x` (essential name `foo___v2`) and `foo____x`
  // (no flavour: `____`) are not.
  const both = build(["foo___v2", "foo", "foo___v2___x", "foo____x", "foo___"]);
  const c2 = new CoreTargets(both).candidates(localFoo);
  assert.deepEqual(c2.map((c) => c.spec.typeById(c.id).name), ["foo___v2", "foo"]);
  // A local type whose essential name has a flavour separator of its own.
  const localAB = build(["a___b___c"]).typeByName("a___b___c", "struct")!;
  assert.deepEqual(
    new CoreTargets(build(["a___b", "a___b___d", "a"])).candidates(localAB)
      .map((c) => c.spec.typeById(c.id).name),
    ["a___b___d"],
  );
  // A local flavour looks up the same essential name.
  const localV3 = build(["foo___v3"]).typeByName("foo___v3", "struct")!;
  assert.deepEqual(
    new CoreTargets(flavoured).candidates(localV3).map((c) => c.spec.typeById(c.id).name),
    ["foo___v2"],
  );
  // Nothing at all: no candidate.
  assert.deepEqual(new CoreTargets(build(["bar"])).candidates(localFoo), []);
});

Deno.test("candidates: names found while parsing (vmlinux's path) include the flavours", () => {
  const b = new BtfBuilder();
  const int = b.add({
    kind: "int",
    name: "int",
    size: 4,
    encoding: "signed",
    bitOffset: 0,
    bits: 32,
  });
  const names = ["foo___v2", "foo", "foo___v2___x", "foo____x", "foox", "q", "q___1"];
  for (const name of names) {
    b.add({
      kind: "struct",
      name,
      size: 4,
      members: [{ name: "a", type: int, bitOffset: 0, bitfieldSize: 0 }],
    });
  }
  const bytes = b.encode();
  const spec = parseBtf(bytes, { findNames: ["foo", "q"] });
  // The walk sees every `name___…`; the spec keeps the flavours of `foo`
  // (not `foo___v2___x`, whose essential name is `foo___v2`, nor `foo____x`).
  assert.deepEqual(
    spec.ownFlavouredTypeIds("foo").map((i) => spec.typeById(i).name),
    ["foo___v2"],
  );
  const local = parseBtf(bytes);
  const names_ = (n: string) =>
    new CoreTargets(spec).candidates(local.typeByName(n, "struct")!)
      .map((c) => spec.typeById(c.id).name);
  assert.deepEqual(names_("foo"), ["foo___v2", "foo"]);
  assert.deepEqual(names_("q"), ["q", "q___1"]);
  // The same candidates as without the parse-time lookup.
  assert.deepEqual(
    new CoreTargets(parseBtf(bytes)).candidates(local.typeByName("foo", "struct")!)
      .map((c) => c.id),
    new CoreTargets(spec).candidates(local.typeByName("foo", "struct")!).map((c) => c.id),
  );
});
