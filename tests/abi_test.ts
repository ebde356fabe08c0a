// The kernel ABI tables and hand-written layouts (src/sys/abi.ts, the
// `union bpf_attr` layouts of src/sys/bpf.ts) against the running kernel's
// own BTF, read with this library's BTF parser — as cilium/ebpf generates its
// types from vmlinux. The tables may know values and fields newer than the
// running kernel (the VM stage runs Debian's 6.1); up to what the kernel has,
// they must be the kernel's.

import assert from "node:assert/strict";
import fc from "fast-check";
import { parseBtf } from "../src/btf/spec.ts";
import type { BtfType, Member } from "../src/btf/types.ts";
import { BTF_KIND_NAMES } from "../src/btf/types.ts";
import {
  AttachType,
  BpfCmd,
  BTF_INFO,
  BtfKind,
  LINK_INFO,
  LinkType,
  MAP_INFO,
  MapType,
  PROG_INFO,
  ProgramType,
  type StructLayout,
} from "../src/sys/abi.ts";
import { LAYOUTS } from "../src/sys/bpf.ts";
import { ParseError } from "../src/errors.ts";
import {
  KernelVersion,
  kernelVersionCodeOf,
  parseKernelVersion,
  tryParseKernelVersion,
} from "../src/sys/kernel_version.ts";
import { kernelVersion, kernelVersionCode, uname } from "../src/sys/uname.ts";
import { MapType as MapEntryMapType } from "../src/map/types.ts";
import { ProgramType as AsmProgramType } from "../src/asm/types.ts";

const vmlinux = parseBtf(Deno.readFileSync("/sys/kernel/btf/vmlinux"));

/** A field as the kernel lays it out: byte offset, byte size, signedness of an int. */
interface KField {
  offset: number;
  size: number;
  signed?: boolean;
}

function resolve(id: number): BtfType {
  return vmlinux.resolve(id);
}

/**
 * The members of a struct or union, flattened: anonymous members' members
 * under their own names, named struct/union members both as themselves and
 * as `name.member`.
 */
function flatten(
  members: readonly Member[],
  base = 0,
  prefix = "",
  out = new Map<string, KField>(),
) {
  for (const m of members) {
    const t = resolve(m.type);
    const offset = base + Math.floor(m.bitOffset / 8);
    if ((t.kind === "struct" || t.kind === "union") && m.name === "") {
      flatten(t.members, offset, prefix, out);
      continue;
    }
    const name = prefix + m.name;
    const size = vmlinux.sizeOf(m.type);
    const signed = t.kind === "int" ? t.encoding === "signed" : undefined;
    out.set(name, { offset, size, signed });
    if (t.kind === "struct" || t.kind === "union") flatten(t.members, offset, `${name}.`, out);
  }
  return out;
}

function structOf(
  name: string,
  kind: "struct" | "union",
): { size: number; fields: Map<string, KField> } {
  const t = vmlinux.typeByName(name, kind);
  assert.ok(t && (t.kind === "struct" || t.kind === "union"), `vmlinux has no ${kind} ${name}`);
  return { size: t.size, fields: flatten(t.members) };
}

const snake = (s: string) => s.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);

/** The kernel's name of a layout field: its snake_case, or a member of a named part (`tcx.relative_fd`). */
function kernelName(
  field: string,
  fields: Map<string, KField>,
  aliases: Record<string, string>,
): string | undefined {
  if (aliases[field] !== undefined) return aliases[field];
  const s = snake(field);
  if (fields.has(s)) return s;
  for (const k of fields.keys()) if (k.replaceAll(".", "_") === s) return k;
  return undefined;
}

const ATTR_ALIASES: Record<string, string> = {
  id: "start_id",
  perfEventCookie: "perf_event.bpf_cookie",
  tcxRelative: "tcx.relative_fd",
  tcxExpectedRevision: "tcx.expected_revision",
};

const KIND_SIZE = { u32: 4, i32: 4, u64: 8, ptr: 8, name: 16, u16: 2 } as const;

// Each command's struct in `union bpf_attr`: the member whose fields match
// the layout's names best (fewest members on a tie: link_detach over link_update).
const bpfAttr = vmlinux.typeByName("bpf_attr", "union");
assert.ok(bpfAttr && bpfAttr.kind === "union");
const attrStructs = bpfAttr.members.flatMap((m) => {
  const t = resolve(m.type);
  if (t.kind !== "struct") return [];
  return [{
    member: m.name || "(anonymous)",
    size: t.size,
    count: t.members.length,
    fields: flatten(t.members),
  }];
});

for (const [cmd, layout] of Object.entries(LAYOUTS)) {
  Deno.test(`abi: union bpf_attr layout of BPF_${cmd} matches the kernel's`, () => {
    const names = Object.keys(layout.fields);
    let best: (typeof attrStructs)[number] | undefined;
    let bestScore = -1;
    for (const st of attrStructs) {
      const hits = names.filter((n) => kernelName(n, st.fields, ATTR_ALIASES) !== undefined).length;
      if (hits > bestScore || (hits === bestScore && best && st.count < best.count)) {
        best = st;
        bestScore = hits;
      }
    }
    assert.ok(best && bestScore > 0, `no struct of union bpf_attr has the fields of BPF_${cmd}`);
    checkFields(
      `BPF_${cmd} (bpf_attr.${best.member})`,
      layout.fields,
      best,
      ATTR_ALIASES,
      (k) => KIND_SIZE[k as keyof typeof KIND_SIZE],
      (k) => k === "i32" ? true : k === "u32" ? false : undefined,
      LINK_CREATE_KINDS,
    );
    assert.ok(
      layout.size <= best.size,
      `BPF_${cmd}: base size ${layout.size} > kernel's ${best.size}`,
    );
  });
}

/**
 * Every field the kernel has: same offset, size (and signedness where the
 * layout says); every field it lacks lies past the kernel's struct, i.e. is
 * newer than this kernel.
 */
function checkFields(
  what: string,
  fields: Readonly<Record<string, readonly [number, number | string]>>,
  kernel: { size: number; fields: Map<string, KField> },
  aliases: Record<string, string>,
  sizeOf: (k: number | string) => number,
  signedOf: (k: number | string) => boolean | undefined,
  unionKinds: readonly string[] = [],
) {
  for (const [name, [offset, kind]] of Object.entries(fields)) {
    const k = kernelName(name, kernel.fields, aliases);
    const kf = k === undefined ? undefined : kernel.fields.get(k);
    if (kf === undefined) {
      assert.ok(
        newerThanKernel(snake(name), offset, sizeOf(kind), kernel, unionKinds),
        `${what}: field ${name} at offset ${offset} is not in the kernel's struct (size ${kernel.size})`,
      );
      continue;
    }
    assert.deepEqual(
      { name, offset, size: sizeOf(kind) },
      { name, offset: kf.offset, size: kf.size },
      `${what}: field ${name} (kernel ${k})`,
    );
    const signed = signedOf(kind);
    if (signed !== undefined && kf.signed !== undefined) {
      assert.equal(signed, kf.signed, `${what}: field ${name} (kernel ${k}) signedness`);
    }
  }
}

/**
 * A field the kernel lacks is newer than it if it lies past the kernel's
 * struct, or past the end of its nearest enclosing part the kernel has
 * (`kprobe_multi.missed` on 6.6), or belongs to a kind of a union the kernel
 * lacks altogether (`uprobe_multi` on 6.1).
 */
function newerThanKernel(
  name: string,
  offset: number,
  size: number,
  kernel: { size: number; fields: Map<string, KField> },
  unionKinds: readonly string[],
): boolean {
  if (offset >= kernel.size || offset >= membersEnd(kernel.fields, "")) return true;
  // In a hole of this kernel's top-level struct (6.1's bpf_map_info has 4
  // bytes of padding at 76, where 6.7 put btf_vmlinux_id).
  if (!name.includes(".") && inHole(kernel.fields, offset, size)) return true;
  const parts = name.split(".");
  for (let i = parts.length - 1; i > 0; i--) {
    const prefix = parts.slice(0, i).join(".");
    const parent = kernel.fields.get(prefix);
    if (parent) {
      return offset >= parent.offset + parent.size || offset >= membersEnd(kernel.fields, prefix);
    }
  }
  return unionKinds.some((k) =>
    (name.startsWith(`${k}_`) || name.startsWith(`${k}.`)) && !kernel.fields.has(k)
  );
}

/**
 * Where the kernel's last member under `prefix` ends (its direct members, or
 * the top level for ""): a field at or past it sits in what this kernel has
 * as tail padding (Linux 6.1's PROG_LOAD ends at 116 in a 120-byte struct,
 * and 6.4 put `log_true_size` there).
 */
function membersEnd(fields: Map<string, KField>, prefix: string): number {
  let end = -1;
  const depth = prefix === "" ? 0 : prefix.split(".").length;
  for (const [n, f] of fields) {
    if (prefix !== "" && !n.startsWith(`${prefix}.`)) continue;
    if (n.split(".").length !== depth + 1) continue;
    end = Math.max(end, f.offset + f.size);
  }
  return end < 0 ? Infinity : end;
}

/** Whether [offset, offset + size) overlaps no top-level field of the kernel's struct. */
function inHole(fields: Map<string, KField>, offset: number, size: number): boolean {
  for (const [n, f] of fields) {
    if (n.includes(".")) continue;
    if (offset < f.offset + f.size && f.offset < offset + size) return false;
  }
  return true;
}

/** The kinds of `link_create`'s union (bpf_attr). */
const LINK_CREATE_KINDS = [
  "perf_event",
  "kprobe_multi",
  "tracing",
  "netfilter",
  "tcx",
  "uprobe_multi",
  "netkit",
];
/** The kinds of `struct bpf_link_info`'s union. */
const LINK_INFO_KINDS = [
  "raw_tracepoint",
  "tracing",
  "cgroup",
  "iter",
  "netns",
  "xdp",
  "struct_ops",
  "netfilter",
  "kprobe_multi",
  "uprobe_multi",
  "perf_event",
  "tcx",
  "netkit",
  "sockmap",
];

const INFO_LAYOUTS: [string, StructLayout][] = [
  ["bpf_map_info", MAP_INFO],
  ["bpf_prog_info", PROG_INFO],
  ["bpf_btf_info", BTF_INFO],
  ["bpf_link_info", LINK_INFO],
];
for (const [name, layout] of INFO_LAYOUTS) {
  Deno.test(`abi: struct ${name} layout matches the kernel's`, () => {
    const kernel = structOf(name, "struct");
    checkFields(
      name,
      layout.fields,
      kernel,
      {},
      (k) => Number(k),
      () => undefined,
      LINK_INFO_KINDS,
    );
    // The buffer passed is the kernel's size or, on an older kernel, larger
    // (the kernel accepts a larger buffer whose tail is zero).
    if (kernel.size >= layout.size) {
      for (const [f, [off, size]] of Object.entries(layout.fields)) {
        assert.ok(off + size <= layout.size, `${name}: field ${f} past the size ${layout.size}`);
      }
    }
  });
}

/** The enumerators of a vmlinux enum, by value, names without `prefix`, lower-cased. */
function kernelEnum(enumName: string, prefix: string, find?: (t: BtfType) => boolean) {
  let t: BtfType | undefined;
  if (find) {
    for (const x of vmlinux) {
      if (find(x)) {
        t = x;
        break;
      }
    }
  } else t = vmlinux.typeByName(enumName, "enum");
  assert.ok(t && t.kind === "enum", `vmlinux has no enum ${enumName}`);
  const byValue = new Map<number, string[]>();
  let max = -1;
  for (const v of t.values) {
    if (!v.name.startsWith(prefix) || /MAX|^NR_/.test(v.name)) continue;
    const n = v.name.slice(prefix.length).toLowerCase();
    byValue.set(v.value, [...(byValue.get(v.value) ?? []), n]);
    max = Math.max(max, v.value);
  }
  return { byValue, max };
}

function checkEnum(
  what: string,
  table: Readonly<Record<string, number>>,
  kernel: { byValue: Map<number, string[]>; max: number },
  normalize: (name: string) => string = (n) => n,
) {
  assert.ok(kernel.max > 0, `${what}: no enumerators found in vmlinux`);
  const ours = new Map<number, string>();
  for (const [name, value] of Object.entries(table)) {
    assert.ok(!ours.has(value), `${what}: value ${value} twice (${ours.get(value)}, ${name})`);
    ours.set(value, normalize(name));
  }
  for (const [value, names] of kernel.byValue) {
    assert.ok(ours.has(value), `${what}: the kernel's ${names.join("/")} = ${value} is missing`);
    assert.ok(
      names.includes(ours.get(value)!),
      `${what}: ${value} is ${names.join("/")} in the kernel, ${ours.get(value)} here`,
    );
  }
  for (const [value, name] of ours) {
    if (value <= kernel.max) {
      assert.ok(kernel.byValue.has(value), `${what}: ${name} = ${value} is not the kernel's`);
    }
  }
}

Deno.test("abi: enum bpf_map_type equals the kernel's up to its last value", () => {
  checkEnum("MapType", MapType, kernelEnum("bpf_map_type", "BPF_MAP_TYPE_"));
});

Deno.test("abi: enum bpf_prog_type equals the kernel's up to its last value", () => {
  checkEnum("ProgramType", ProgramType, kernelEnum("bpf_prog_type", "BPF_PROG_TYPE_"));
});

Deno.test("abi: enum bpf_attach_type equals the kernel's up to its last value", () => {
  checkEnum("AttachType", AttachType, kernelEnum("bpf_attach_type", "BPF_"));
});

Deno.test("abi: enum bpf_link_type equals the kernel's up to its last value", () => {
  checkEnum("LinkType", LinkType, kernelEnum("bpf_link_type", "BPF_LINK_TYPE_"));
});

Deno.test("abi: enum bpf_cmd equals the kernel's up to its last value", () => {
  checkEnum("BpfCmd", BpfCmd, kernelEnum("bpf_cmd", "BPF_"), (n) => n.toLowerCase());
});

Deno.test("abi: BTF kinds equal the kernel's BTF_KIND_* enum", () => {
  const kernel = kernelEnum(
    "BTF_KIND_*",
    "BTF_KIND_",
    (t) => t.kind === "enum" && t.name === "" && t.values[0]?.name === "BTF_KIND_UNKN",
  );
  checkEnum("BtfKind", BtfKind, kernel, (n) => (n === "void" ? "unkn" : n));
  for (const [name, n] of Object.entries(BtfKind)) assert.equal(BTF_KIND_NAMES[n], name);
});

Deno.test("abi: the entries re-export the ABI tables themselves", () => {
  assert.equal(MapEntryMapType, MapType);
  assert.equal(AsmProgramType, ProgramType);
});

Deno.test("abi: parseKernelVersion reads distribution release strings", () => {
  const v = parseKernelVersion("6.1.0-18-amd64");
  assert.deepEqual([v.major, v.minor, v.patch], [6, 1, 0]);
  assert.equal(v.code, 0x060100);
  assert.equal(parseKernelVersion("5.15.0-91-generic").code, (5 << 16) | (15 << 8));
  assert.equal(parseKernelVersion("5.11").toString(), "5.11.0");
  assert.equal(parseKernelVersion("4.19.300").code, (4 << 16) | (19 << 8) | 255);
  assert.ok(parseKernelVersion("6.1.0-18-amd64").atLeast(5, 11));
  assert.ok(!parseKernelVersion("5.10.209").atLeast(5, 11));
  assert.ok(parseKernelVersion("6.10").compare(parseKernelVersion("6.9")) > 0);
  assert.throws(
    () => parseKernelVersion("linux"),
    (e) => e instanceof ParseError && /"linux"/.test(e.message),
  );
  assert.equal(tryParseKernelVersion(""), undefined);
  assert.equal(kernelVersionCodeOf("garbage"), 0);
});

Deno.test("abi: the running kernel's version is uname's release", () => {
  const v = kernelVersion();
  assert.equal(kernelVersionCode(), v.code);
  assert.ok(uname().release.startsWith(`${v.major}.${v.minor}`));
});

Deno.test("abi: parseKernelVersion round-trips and orders as the numbers do (property)", () => {
  const part = fc.integer({ min: 0, max: 100000 });
  const suffix = fc.constantFrom("", "-18-amd64", "-91-generic", "+", ".el8.x86_64", "-rc3");
  fc.assert(
    fc.property(part, part, part, suffix, (a, b, c, sfx) => {
      const v = parseKernelVersion(`${a}.${b}.${c}${sfx}`);
      assert.deepEqual([v.major, v.minor, v.patch], [a, b, c]);
      assert.equal(parseKernelVersion(v.toString()).compare(v), 0);
    }),
  );
  fc.assert(
    fc.property(fc.tuple(part, part, part), fc.tuple(part, part, part), (x, y) => {
      const vx = new KernelVersion(...x);
      const vy = new KernelVersion(...y);
      const lex = x[0] - y[0] || x[1] - y[1] || x[2] - y[2];
      assert.equal(Math.sign(vx.compare(vy)), Math.sign(lex));
      if (x[0] < 256 && y[0] < 256 && x[1] < 256 && y[1] < 256 && x[2] < 256 && y[2] < 256) {
        assert.equal(Math.sign(vx.code - vy.code), Math.sign(lex));
      }
    }),
  );
  fc.assert(
    fc.property(fc.string(), (s) => {
      const v = tryParseKernelVersion(s);
      if (v === undefined) assert.throws(() => parseKernelVersion(s), ParseError);
      else assert.equal(parseKernelVersion(s).compare(v), 0);
    }),
  );
});
