// Shared fixtures for the BTF tests: a list of types covering every kind,
// a raw blob builder for malformed input, bpftool's raw dump, and the
// "exercise everything" routine the property tests run on whatever parses.

import { InvalidArgumentError, ParseError } from "../src/errors.ts";
import {
  BtfBuilder,
  type BtfSpec,
  type BtfType,
  dumpRaw,
  dumpRawBytes,
  parseBtf,
  reencodeSpec,
  type TypeDesc,
} from "../src/btf/mod.ts";
import { haveFeature } from "../src/features/mod.ts";

export const VMLINUX = "/sys/kernel/btf/vmlinux";

/** Whether the kernel exposes its BTF at {@linkcode VMLINUX} (the package's own probe). */
export const haveVmlinux: boolean = haveFeature("kernel_btf");

/** Appended to the name of a test that needs kernel BTF, when it is skipped. */
export const NO_VMLINUX: string = haveVmlinux
  ? ""
  : " (skipped: kernel BTF /sys/kernel/btf/vmlinux not supported by this kernel: CONFIG_DEBUG_INFO_BTF)";

/** Runs bpftool's raw dump of `file` (on `base`, when given). */
export function bpftoolRaw(file: string, base?: string): Uint8Array {
  const args = [
    "btf",
    "dump",
    "file",
    file,
    ...(base ? ["--base-btf", base] : []),
    "format",
    "raw",
  ];
  const out = new Deno.Command("bpftool", { args, stdout: "piped", stderr: "piped" }).outputSync();
  if (!out.success) {
    throw new Error(`bpftool ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  return out.stdout;
}

/** Types 1..N covering every kind and the odd corners of each. */
export function allKinds(): TypeDesc[] {
  return [
    { kind: "int", name: "int", size: 4, encoding: "signed", bitOffset: 0, bits: 32 }, // 1
    { kind: "int", name: "unsigned char", size: 1, encoding: "none", bitOffset: 0, bits: 8 }, // 2
    { kind: "int", name: "char", size: 1, encoding: "char", bitOffset: 0, bits: 8 }, // 3
    { kind: "int", name: "_Bool", size: 1, encoding: "bool", bitOffset: 0, bits: 8 }, // 4
    { kind: "int", name: "odd", size: 16, encoding: "none", bitOffset: 3, bits: 100 }, // 5
    { kind: "ptr", name: "", type: 1 }, // 6
    { kind: "array", name: "", type: 1, indexType: 1, nelems: 10 }, // 7
    {
      kind: "struct",
      name: "s",
      size: 16,
      members: [
        { name: "a", type: 1, bitOffset: 0, bitfieldSize: 0 },
        { name: "b", type: 1, bitOffset: 32, bitfieldSize: 3 },
        { name: "", type: 9, bitOffset: 64, bitfieldSize: 0 },
      ],
    }, // 8
    {
      kind: "union",
      name: "",
      size: 8,
      members: [
        { name: "x", type: 1, bitOffset: 0, bitfieldSize: 0 },
        { name: "y", type: 6, bitOffset: 0, bitfieldSize: 0 },
      ],
    }, // 9
    {
      kind: "enum",
      name: "e",
      size: 4,
      signed: false,
      values: [{ name: "A", value: 0 }, { name: "B", value: 0xffffffff }],
    }, // 10
    {
      kind: "enum",
      name: "se",
      size: 4,
      signed: true,
      values: [
        { name: "N", value: -1 },
        { name: "M", value: -0x80000000 },
        { name: "P", value: 0x7fffffff },
      ],
    }, // 11
    { kind: "fwd", name: "f1", fwdKind: "struct" }, // 12
    { kind: "fwd", name: "f2", fwdKind: "union" }, // 13
    { kind: "typedef", name: "myint", type: 1 }, // 14
    { kind: "volatile", name: "", type: 1 }, // 15
    { kind: "const", name: "", type: 15 }, // 16
    { kind: "restrict", name: "", type: 6 }, // 17
    {
      kind: "func_proto",
      name: "",
      returnType: 1,
      params: [{ name: "a", type: 1 }, { name: "", type: 6 }, { name: "", type: 0 }],
    }, // 18
    { kind: "func", name: "main", type: 18, linkage: "global" }, // 19
    { kind: "func", name: "sf", type: 18, linkage: "static" }, // 20
    { kind: "func", name: "ext", type: 18, linkage: "extern" }, // 21
    { kind: "var", name: "v1", type: 1, linkage: "static" }, // 22
    { kind: "var", name: "v2", type: 14, linkage: "global" }, // 23
    { kind: "var", name: "v3", type: 1, linkage: "extern" }, // 24
    {
      kind: "datasec",
      name: ".data",
      size: 16,
      vars: [
        { type: 22, offset: 0, size: 4 },
        { type: 23, offset: 4, size: 4 },
        { type: 0, offset: 8, size: 4 },
        { type: 21, offset: 12, size: 0 },
        { type: 9999, offset: 12, size: 4 },
      ],
    }, // 25
    { kind: "float", name: "double", size: 8 }, // 26
    { kind: "decl_tag", name: "tag1", type: 8, componentIdx: -1 }, // 27
    { kind: "decl_tag", name: "tag2", type: 8, componentIdx: 1 }, // 28
    { kind: "decl_tag", name: "arg", type: 19, componentIdx: 0 }, // 29
    { kind: "type_tag", name: "user", type: 1 }, // 30
    { kind: "ptr", name: "", type: 30 }, // 31
    {
      kind: "enum64",
      name: "e64",
      size: 8,
      signed: false,
      values: [
        { name: "BIG", value: 0xffffffffffffffffn },
        { name: "SMALL", value: 5n },
        { name: "TWO32", value: 0x100000000n },
      ],
    }, // 32
    {
      kind: "enum64",
      name: "se64",
      size: 8,
      signed: true,
      values: [
        { name: "M1", value: -1n },
        { name: "MIN", value: -0x8000000000000000n },
        { name: "MAX", value: 0x7fffffffffffffffn },
        { name: "SEVEN", value: 7n },
      ],
    }, // 33
    { kind: "struct", name: "empty", size: 0, members: [] }, // 34
    { kind: "enum", name: "efwd", size: 4, signed: false, values: [] }, // 35
    {
      kind: "struct",
      name: "ünïcödé",
      size: 4,
      members: [{ name: "ß", type: 1, bitOffset: 0, bitfieldSize: 0 }],
    }, // 36
    {
      kind: "struct",
      name: "big",
      size: 0x20000000,
      members: [{ name: "far", type: 1, bitOffset: 0xfffffff0, bitfieldSize: 0 }],
    }, // 37
    { kind: "typedef", name: "loop_a", type: 39 }, // 38
    { kind: "typedef", name: "loop_b", type: 38 }, // 39
    { kind: "ptr", name: "", type: 123456 }, // 40: dangling
    { kind: "array", name: "", type: 7, indexType: 1, nelems: 3 }, // 41: int[3][10]
  ];
}

/**
 * A blob with records the encoder refuses but bpftool prints its own way:
 * bad name offsets ("(invalid)"), unknown linkages and int encodings,
 * datasec entries pointing at void or at nothing, extreme values.
 */
export function oddValuesBlob(): Uint8Array {
  const strs = "\0int\0v\0";
  // deno-fmt-ignore
  const words = [
    1, info(1), 4, 0x01000020, // [1] INT 'int' SIGNED
    0, info(1), 4, 0x03000020, // [2] INT encoding 3 -> UNKN
    0, info(1), 2, 0x08000810, // [3] INT encoding 8 -> UNKN
    999, info(2), 1, // [4] PTR with a name offset out of range
    1, info(12, 7), 0, // [5] FUNC linkage 7
    5, info(14), 1, 9, // [6] VAR linkage 9
    0, info(15, 3), 12, 6, 0, 4, 0, 4, 4, 77, 8, 4, // [7] DATASEC: var, void, missing
    1, info(4, 1, true), 4, 1, 0, 0x05000003, // [8] STRUCT kflag: bitfield 5 at 3
    1, info(4, 1, false), 4, 1, 0, 0xffffffff, // [9] STRUCT no kflag: huge offset
    1, info(6, 1, true), 4, 1, 0x80000000, // [10] ENUM signed INT_MIN
    1, info(17), 1, 0xffffffff, // [11] DECL_TAG -1
    0, info(18), 0, // [12] TYPE_TAG anon to void
    1, info(19, 1, true), 8, 1, 0, 0x80000000, // [13] ENUM64 signed INT64_MIN
  ];
  return rawBlob({ words, strings: strs });
}

/** Split BTF on `base` (the parsed `allKinds()`), with own and base references. */
export function splitOnAllKinds(base: BtfSpec): Uint8Array {
  const b = new BtfBuilder({ base });
  const st = b.add({
    kind: "struct",
    name: "child",
    size: 24,
    members: [
      { name: "parent", type: 8, bitOffset: 0, bitfieldSize: 0 },
      { name: "self", type: b.nextTypeId + 1, bitOffset: 128, bitfieldSize: 0 },
      { name: "bits", type: 1, bitOffset: 160, bitfieldSize: 7 },
    ],
  });
  b.add({ kind: "ptr", name: "", type: st });
  const v = b.add({ kind: "var", name: "own_var", type: st, linkage: "global" });
  b.add({
    kind: "datasec",
    name: ".bss",
    size: 40,
    vars: [
      { type: v, offset: 0, size: 24 },
      { type: 22, offset: 24, size: 4 }, // a base var
      { type: 1000, offset: 28, size: 4 },
    ],
  });
  b.add({ kind: "decl_tag", name: "tag", type: st, componentIdx: 2 });
  b.add({ kind: "fwd", name: "s", fwdKind: "struct" });
  b.add({ kind: "int", name: "int", size: 8, encoding: "signed", bitOffset: 0, bits: 64 });
  return b.encode();
}

/** `types` with the ids they get from 1 (or `first`). */
export function withIds(types: TypeDesc[], first = 1): BtfType[] {
  return types.map((t, i) => ({ ...t, id: first + i }) as BtfType);
}

/** Parts of a hand-made blob; header fields default to a well-formed layout. */
export interface RawBlob {
  /** Type section as 32-bit words. */
  words?: number[];
  /** String section bytes (default "\0"). */
  strings?: Uint8Array | string;
  littleEndian?: boolean;
  magic?: number;
  version?: number;
  hdrLen?: number;
  typeOff?: number;
  typeLen?: number;
  strOff?: number;
  strLen?: number;
}

/** Builds a raw BTF blob from words and strings, honouring header overrides. */
export function rawBlob(r: RawBlob = {}): Uint8Array {
  const le = r.littleEndian ?? true;
  const words = r.words ?? [];
  const strs = typeof r.strings === "string"
    ? new TextEncoder().encode(r.strings)
    : r.strings ?? new Uint8Array([0]);
  const hdrLen = 24;
  const out = new Uint8Array(hdrLen + words.length * 4 + strs.length);
  const dv = new DataView(out.buffer);
  dv.setUint16(0, r.magic ?? 0xeb9f, le);
  out[2] = r.version ?? 1;
  dv.setUint32(4, r.hdrLen ?? hdrLen, le);
  dv.setUint32(8, r.typeOff ?? 0, le);
  dv.setUint32(12, r.typeLen ?? words.length * 4, le);
  dv.setUint32(16, r.strOff ?? words.length * 4, le);
  dv.setUint32(20, r.strLen ?? strs.length, le);
  words.forEach((w, i) => dv.setUint32(hdrLen + i * 4, w >>> 0, le));
  out.set(strs, hdrLen + words.length * 4);
  return out;
}

/** `info` word of a type record. */
export function info(kind: number, vlen = 0, kflag = false): number {
  return ((kflag ? 0x80000000 : 0) | (kind << 24) | vlen) >>> 0;
}

/** Runs `fn`; a ParseError (or one of `also`) is fine, anything else is rethrown. */
export function tolerate<T>(
  fn: () => T,
  also: (abstract new (...a: never[]) => Error)[] = [],
): T | undefined {
  try {
    return fn();
  } catch (e) {
    if (e instanceof ParseError) return undefined;
    for (const c of also) if (e instanceof c) return undefined;
    throw e;
  }
}

/**
 * Uses everything a parsed spec offers: decodes every type, follows every
 * reference, sizes and resolves every id, looks names up, dumps raw, and —
 * when every type decoded — checks that re-encoding round-trips.
 */
export function exercise(spec: BtfSpec): void {
  let allDecoded = true;
  const names = new Set<string>(["int", "task_struct", "", "a"]);
  for (let id = 0; id <= spec.lastTypeId; id++) {
    const t = tolerate(() => spec.typeById(id));
    if (t === undefined) {
      allDecoded = false;
      continue;
    }
    if (names.size < 40) names.add(t.name);
    if ("type" in t) tolerate(() => spec.typeOf(t));
    if (t.kind === "struct" || t.kind === "union") {
      for (const m of t.members) tolerate(() => spec.typeOf(m));
    }
    if (t.kind === "func_proto") { for (const p of t.params) tolerate(() => spec.typeOf(p)); }
    tolerate(() => spec.resolve(id));
    tolerate(() => spec.sizeOf(id), [InvalidArgumentError]);
    spec.kindOf(id);
  }
  for (const n of names) {
    tolerate(() => spec.typesByName(n))?.forEach((t) => {
      if (t.name !== n) throw new Error(`typesByName(${n}) returned ${t.name}`);
    });
    for (const id of spec.typeIdsByName(n)) {
      if ((tolerate(() => spec.typeById(id))?.name ?? n) !== n) {
        throw new Error(`typeIdsByName(${n}) returned ${id}`);
      }
    }
    tolerate(() => spec.typeByName(n));
    tolerate(() => spec.typeByName(n, "struct"));
  }
  let lines = 0;
  for (const _ of dumpRaw(spec)) lines++;
  const bytes = dumpRawBytes(spec);
  if (lines < spec.typeCount || (spec.typeCount > 0 && bytes.length === 0)) {
    throw new Error("dump lost types");
  }
  if (allDecoded) {
    const again = parseBtf(reencodeSpec(spec), { base: spec.base });
    if (again.typeCount !== spec.typeCount) throw new Error("round trip changed the type count");
    for (const t of spec) {
      const u = again.typeById(t.id);
      if (JSON.stringify(u, big) !== JSON.stringify(t, big)) {
        throw new Error(`round trip changed type ${t.id}: ${JSON.stringify(t, big)}`);
      }
    }
  }
}

function big(_k: string, v: unknown): unknown {
  return typeof v === "bigint" ? `${v}n` : v;
}
