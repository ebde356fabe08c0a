import assert from "node:assert/strict";
import fc from "fast-check";
import { InvalidArgumentError, NotFoundError, ParseError } from "../src/errors.ts";
import {
  BpfRelocationType,
  type ElfFile,
  ElfMachine,
  type ElfSection,
  ElfType,
  GnuNoteType,
  parseElf,
  readElfFile,
  SectionIndex,
  SectionType,
  SegmentType,
  SymbolBinding,
  SymbolType,
  SymbolVisibility,
} from "../src/elf/mod.ts";
import { concat } from "./_helpers.ts";

function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  assert.deepStrictEqual(actual, expected, msg);
}

const TESTDATA = new URL("../testdata/elf/", import.meta.url);
const td = (name: string) => new URL(name, TESTDATA).pathname;
const LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";
const enc = new TextEncoder();

function readelf(args: string[]): string {
  const out = new Deno.Command("llvm-readelf", { args, stdout: "piped", stderr: "piped" })
    .outputSync();
  if (!out.success) throw new Error(`llvm-readelf ${args.join(" ")} failed`);
  return new TextDecoder().decode(out.stdout);
}

// deno-lint-ignore no-explicit-any
type Json = any;

/** The per-file object of `llvm-readelf --elf-output-style=JSON <flags> file`. */
function readelfJson(file: string, flags: string[]): Json {
  // Large integers lose precision in JSON.parse: quote them first.
  const text = readelf(["--elf-output-style=JSON", ...flags, file])
    .replace(/([:\[,])(\d{16,})(?=[,}\]])/g, '$1"$2"');
  const d = JSON.parse(text);
  return Object.values(d[0])[0];
}

const big = (v: number | string) => BigInt(v);

interface RefReloc {
  offset: bigint;
  type: number;
  symbolIndex: number;
  addend?: bigint;
}

/** Relocations from `llvm-readelf --elf-output-style=LLVM -r --expand-relocs` (JSON is broken there in LLVM 14). */
function readelfRelocs(file: string, bits: number): Map<number, RefReloc[]> {
  const text = readelf(["--elf-output-style=LLVM", "-r", "--expand-relocs", file]);
  const out = new Map<number, RefReloc[]>();
  let cur: RefReloc[] | undefined;
  let r: Partial<RefReloc> | undefined;
  for (const line of text.split("\n")) {
    let m;
    if ((m = /^\s*Section \((\d+)\) /.exec(line))) {
      cur = [];
      out.set(Number(m[1]), cur);
    } else if (/^\s*Relocation \{/.test(line)) {
      r = {};
    } else if ((m = /^\s*Offset: 0x([0-9A-F]+)/i.exec(line)) && r) {
      r.offset = BigInt("0x" + m[1]);
    } else if ((m = /^\s*Type: .*\((\d+)\)$/.exec(line)) && r) {
      r.type = Number(m[1]);
    } else if ((m = /^\s*Symbol: .*\((\d+)\)$/.exec(line)) && r) {
      r.symbolIndex = Number(m[1]);
    } else if ((m = /^\s*Addend: (-?)0x([0-9A-F]+)/i.exec(line)) && r) {
      r.addend = BigInt.asIntN(bits, (m[1] ? -1n : 1n) * BigInt("0x" + m[2]));
    } else if (/^\s*\}$/.test(line) && r && cur) {
      cur.push(r as RefReloc);
      r = undefined;
    }
  }
  return out;
}

function compareSections(elf: ElfFile, file: string): void {
  const ref = readelfJson(file, ["-S"]).Sections.map((s: Json) => s.Section);
  assertEquals(elf.sections.length, ref.length);
  for (const [i, r] of ref.entries()) {
    const s = elf.sections[i];
    assertEquals(
      [
        s.index,
        s.name,
        s.type,
        s.flags,
        s.addr,
        s.offset,
        s.size,
        s.link,
        s.info,
        s.addralign,
        s
          .entsize,
      ],
      [
        r.Index,
        r.Name.Value,
        r.Type.RawValue,
        r.Flags.RawFlags,
        big(r.Address),
        r.Offset,
        r.Size,
        r.Link,
        r.Info,
        r.AddressAlignment,
        r.EntrySize,
      ],
      `section ${i} of ${file}`,
    );
  }
}

function compareSymbols(elf: ElfFile, file: string, dynamic: boolean): number {
  const j = readelfJson(file, [dynamic ? "--dyn-syms" : "-s"]);
  const ref = (dynamic ? j.DynamicSymbols : j.Symbols ?? []).map((s: Json) => s.Symbol);
  const got = dynamic ? elf.dynamicSymbols() : elf.symbols();
  assertEquals(got.length, ref.length);
  for (const [i, r] of ref.entries()) {
    const s = got[i];
    const refName = r.Name.RawValue === 0 ? "" : String(r.Name.Value).replace(/@.*$/, "");
    assertEquals(
      [s.index, s.name, s.value, s.size, s.bind, s.type, s.other, s.sectionIndex],
      [
        i,
        refName,
        big(r.Value),
        big(r.Size),
        r.Binding.RawValue,
        r.Type.RawValue,
        typeof r.Other === "number" ? r.Other : r.Other.RawFlags,
        r.Section.RawValue,
      ],
      `symbol ${i} of ${file}`,
    );
    assertEquals(s.visibility, s.other & 3);
  }
  return got.length;
}

function compareRelocations(elf: ElfFile, file: string): number {
  const ref = readelfRelocs(file, elf.header.class);
  // llvm-readelf also lists SHT_RELR sections, which this reader does not decode.
  for (const k of [...ref.keys()]) {
    if (elf.sections[k].type === SectionType.RELR) ref.delete(k);
  }
  const secs = elf.relocationSections();
  assertEquals(secs.map((s) => s.index), [...ref.keys()]);
  let n = 0;
  for (const s of secs) {
    const got = elf.relocations(s);
    const want = ref.get(s.index)!;
    assertEquals(got.length, want.length, `relocations of ${s.name}`);
    for (const [i, w] of want.entries()) {
      const g = got[i];
      assertEquals([g.offset, g.type, g.symbolIndex], [w.offset, w.type, w.symbolIndex]);
      if (s.type === SectionType.RELA) assertEquals(g.addend, w.addend ?? 0n);
      else assertEquals(g.addend, undefined);
      n++;
    }
  }
  return n;
}

function compareProgramHeaders(elf: ElfFile, file: string): void {
  const ref = (readelfJson(file, ["-l"]).ProgramHeaders ?? []).map((p: Json) => p.ProgramHeader);
  assertEquals(elf.programHeaders.length, ref.length);
  for (const [i, r] of ref.entries()) {
    const p = elf.programHeaders[i];
    assertEquals(
      [p.type, p.offset, p.vaddr, p.paddr, p.filesz, p.memsz, p.flags, p.align],
      [
        r.Type.RawValue,
        r.Offset,
        big(r.VirtualAddress),
        big(r.PhysicalAddress),
        r.FileSize,
        big(r.MemSize),
        r.Flags.RawFlags,
        big(r.Alignment),
      ],
    );
  }
}

function compareNotes(elf: ElfFile, file: string): void {
  const ref = (readelfJson(file, ["-n"]).Notes ?? []).map((n: Json) => n.NoteSection);
  const got = elf.notes();
  assertEquals(got.length, ref.length);
  for (const [i, r] of ref.entries()) {
    const g = got[i];
    assertEquals([g.section, g.name, g.desc.length], [r.Name, r.Note.Owner, r.Note["Data size"]]);
    if (r.Note["Build ID"]) {
      assertEquals(g.type, GnuNoteType.BUILD_ID);
      assertEquals(
        [...g.desc].map((b) => b.toString(16).padStart(2, "0")).join(""),
        r.Note["Build ID"],
      );
    }
  }
}

// ---------------------------------------------------------------------------
// The committed BPF objects.

const BPF_OBJECTS = ["prog_bpfel.o", "prog_bpfeb.o"];

for (const name of BPF_OBJECTS) {
  Deno.test(`elf: ${name}: header, sections, symbols, relocations`, () => {
    const elf = readElfFile(td(name));
    const le = name.includes("bpfel");
    assertEquals(elf.header.class, 64);
    assertEquals(elf.header.littleEndian, le);
    assertEquals(elf.is64, true);
    assertEquals(elf.littleEndian, le);
    assertEquals(elf.header.machine, ElfMachine.BPF);
    assertEquals(elf.header.type, ElfType.REL);
    assertEquals(elf.programHeaders, []);

    for (
      const s of [
        ".text",
        "kprobe/do_sys_openat2",
        "tracepoint/syscalls/sys_enter_getpid",
        ".maps",
        "license",
        ".data",
        ".bss",
        ".rodata",
        ".BTF",
        ".BTF.ext",
        ".symtab",
        ".strtab",
      ]
    ) assert(elf.sectionHeader(s), `missing section ${s}`);
    assertEquals(new TextDecoder().decode(elf.section("license")), "GPL\0");
    const data = elf.section(".data")!;
    assertEquals(new DataView(data.buffer, data.byteOffset).getUint32(0, le), 7);
    assertEquals(elf.sectionHeader(".bss")!.type, SectionType.NOBITS);
    assertEquals(elf.sectionHeader(".bss")!.size, 8);
    assertEquals(elf.section(".bss")!.length, 0);
    assertEquals(elf.section(".nope"), undefined);
    // Views, not copies.
    assert(elf.section(".maps")!.buffer === elf.bytes.buffer);
    // BTF magic 0xeb9f in the file's byte order.
    const btf = elf.section(".BTF")!;
    assertEquals(new DataView(btf.buffer, btf.byteOffset).getUint16(0, le), 0xeb9f);

    const syms = elf.symbols();
    const by = (n: string) => syms.find((s) => s.name === n)!;
    const onOpen = by("on_open");
    assertEquals(onOpen.type, SymbolType.FUNC);
    assertEquals(onOpen.bind, SymbolBinding.GLOBAL);
    assertEquals(onOpen.visibility, SymbolVisibility.DEFAULT);
    assertEquals(elf.sections[onOpen.sectionIndex].name, "kprobe/do_sys_openat2");
    assertEquals(onOpen.value, 0n);
    assertEquals(onOpen.size, BigInt(elf.sectionHeader("kprobe/do_sys_openat2")!.size));
    assertEquals(by("bump").bind, SymbolBinding.LOCAL);
    assertEquals(elf.sections[by("bump").sectionIndex].name, ".text");
    assertEquals(by("counts").type, SymbolType.OBJECT);
    assertEquals(elf.sections[by("counts").sectionIndex].name, ".maps");
    assertEquals([by("counts").value, by("config").value].sort(), [0n, 32n]);
    assertEquals(elf.sections[by("total_calls").sectionIndex].name, ".bss");
    assertEquals(elf.sections[by("target_pid").sectionIndex].name, ".rodata");
    assertEquals(by("LICENSE").size, 4n);
    assertEquals(syms[0].name, "");
    assertEquals(syms[0].sectionIndex, SectionIndex.UNDEF);
    assertEquals(by("prog.c").type, SymbolType.FILE);
    assertEquals(by("prog.c").sectionIndex, SectionIndex.ABS);
    assertEquals(elf.dynamicSymbols(), []);
    assert(elf.symbols() === syms, "symbol tables are cached");

    // Relocations of the kprobe program: map and global-data loads (64_64)
    // and the subprogram call (64_32).
    const relSec = elf.relocationSections().find((s) => s.name === ".relkprobe/do_sys_openat2")!;
    assertEquals(elf.sections[relSec.info].name, "kprobe/do_sys_openat2");
    assertEquals(elf.sections[relSec.link].type, SectionType.SYMTAB);
    const rels = elf.relocations(relSec);
    const symName = (i: number) => syms[i].name || elf.sections[syms[i].sectionIndex].name; // section symbols: section name
    const named = rels.map((r) => `${symName(r.symbolIndex)}:${r.type}`);
    assert(named.includes(`config:${BpfRelocationType.R_64_64}`), "map load");
    assert(named.includes(`target_pid:${BpfRelocationType.R_64_64}`), ".rodata load");
    assert(named.includes(`.text:${BpfRelocationType.R_64_32}`), "call to bump");
    // bump() in .text loads the other map.
    const textRels = elf.relocations(".rel.text").map((r) => `${symName(r.symbolIndex)}:${r.type}`);
    assert(textRels.includes(`counts:${BpfRelocationType.R_64_64}`), "map load in .text");
    for (const r of rels) {
      assertEquals(r.addend, undefined);
      assertEquals(r.offset % 8n, 0n, "BPF relocations point at instructions");
    }
    const btfRel = elf.relocations(".rel.BTF");
    assert(
      btfRel.every((r) =>
        r.type === BpfRelocationType.R_64_ABS32 || r.type === BpfRelocationType.R_64_NODYLD32
      ),
    );
  });
}

Deno.test("elf: little- and big-endian BPF objects parse to the same structure", () => {
  const a = readElfFile(td("prog_bpfel.o"));
  const b = readElfFile(td("prog_bpfeb.o"));
  const strip = (e: ElfFile) => e.sections.map((s) => ({ ...s }));
  assertEquals(strip(a), strip(b));
  assertEquals(a.symbols(), b.symbols());
  for (const s of a.relocationSections()) assertEquals(a.relocations(s), b.relocations(s.index));
});

const ALL_TESTDATA = [
  "prog_bpfel.o",
  "prog_bpfeb.o",
  "small_x86_64.o",
  "small_i386.o",
  "small_armeb.o",
  "small_ppc32.o",
];

Deno.test({
  name: "elf: testdata objects agree with llvm-readelf (sections, symbols, relocations)",
  fn() {
    for (const name of ALL_TESTDATA) {
      const file = td(name);
      const elf = readElfFile(file);
      compareSections(elf, file);
      const n = compareSymbols(elf, file, false);
      const r = compareRelocations(elf, file);
      assert(n > 3 && r > 0, `${name}: ${n} symbols, ${r} relocations`);
      compareProgramHeaders(elf, file);
    }
  },
});

// ---------------------------------------------------------------------------
// ELF32 objects (committed, no tools needed).

Deno.test("elf: ELF32 objects of both byte orders, REL and RELA", () => {
  const cases: [string, boolean, number, number][] = [
    ["small_i386.o", true, ElfMachine.I386, SectionType.REL],
    ["small_armeb.o", false, ElfMachine.ARM, SectionType.REL],
    ["small_ppc32.o", false, ElfMachine.PPC, SectionType.RELA],
  ];
  for (const [name, le, machine, relType] of cases) {
    const elf = readElfFile(td(name));
    assertEquals(elf.header.class, 32);
    assertEquals(elf.is64, false);
    assertEquals(elf.header.littleEndian, le);
    assertEquals(elf.header.machine, machine);
    const syms = elf.symbols();
    const twice = syms.find((s) => s.name === "twice")!;
    assertEquals(twice.type, SymbolType.FUNC);
    assertEquals(twice.bind, SymbolBinding.GLOBAL);
    assertEquals(elf.sections[twice.sectionIndex].name, ".text");
    const counter = syms.find((s) => s.name === "counter")!;
    assertEquals(counter.size, 4n);
    const data = elf.section(".data")!;
    assertEquals(new DataView(data.buffer, data.byteOffset).getUint32(0, le), 3);
    const text = elf.relocationSections().find((s) => elf.sections[s.info].name === ".text")!;
    assertEquals(text.type, relType);
    const rels = elf.relocations(text);
    assert(rels.some((r) => syms[r.symbolIndex].name === "twice"), name);
    if (relType === SectionType.RELA) {
      assert(rels.some((r) => r.addend === 0x7fe8n), "ppc32 .got2 + 0x7fe8");
    }
  }
});

Deno.test("elf: x86_64 object with RELA relocations", () => {
  const elf = readElfFile(td("small_x86_64.o"));
  assertEquals(elf.header.machine, ElfMachine.X86_64);
  const rela = elf.relocations(".rela.text");
  assert(rela.length > 0);
  assert(rela.every((r) => typeof r.addend === "bigint"));
  assert(rela.some((r) => r.addend! < 0n), "pc-relative relocations have negative addends");
});

// ---------------------------------------------------------------------------
// Real binaries.

Deno.test({
  name: "elf: libc.so.6: getpid and every dynamic symbol match llvm-readelf",
  fn() {
    const elf = readElfFile(LIBC);
    assertEquals(elf.header.type, ElfType.DYN);
    assertEquals(elf.header.machine, ElfMachine.X86_64);
    const getpid = elf.dynamicSymbols().find((s) => s.name === "getpid")!;
    assert(getpid, "getpid in .dynsym");
    assertEquals(getpid.type, SymbolType.FUNC);
    assert(getpid.value > 0n);
    // The uprobe offset of a function lies in an executable PT_LOAD.
    const off = elf.addressToOffset(getpid.value)!;
    const seg = elf.programHeaders.find((p) =>
      p.type === SegmentType.LOAD && off >= p.offset && off < p.offset + p.filesz
    )!;
    assert(seg && (seg.flags & 1) === 1, "in an executable segment");
    assertEquals(elf.addressToOffset(0xffff_ffff_ffffn), undefined);
    const notes = elf.notes();
    assert(notes.some((n) => n.name === "GNU" && n.type === GnuNoteType.BUILD_ID));
    assert(notes.some((n) => n.section === ".note.gnu.property"), "8-aligned notes");
    // llvm-readelf is installed by the test setup (tools/setup.ts).
    const line = readelf(["--dyn-syms", "-W", LIBC]).split("\n").find((l) => / getpid@@/.test(l))!;
    assertEquals(getpid.value, BigInt("0x" + line.trim().split(/\s+/)[1]));
    assert(compareSymbols(elf, LIBC, true) > 1000);
    compareSections(elf, LIBC);
    compareProgramHeaders(elf, LIBC);
    compareNotes(elf, LIBC);
    compareRelocations(elf, LIBC);
  },
});

Deno.test({
  name: "elf: /bin/ls and the deno binary: .dynsym, program headers, notes",
  fn() {
    for (const file of ["/bin/ls", Deno.execPath()]) {
      const t0 = performance.now();
      const elf = readElfFile(file);
      const dyn = elf.dynamicSymbols();
      const ms = performance.now() - t0;
      console.log(
        `  ${file}: ${(elf.bytes.length / 1e6).toFixed(1)} MB, ${elf.sections.length} sections, ` +
          `${dyn.length} dynsyms, ${elf.symbols().length} symtab in ${
            ms.toFixed(0)
          } ms (read incl.)`,
      );
      assert(dyn.length > 10);
      assert(elf.programHeaders.some((p) => p.type === SegmentType.LOAD));
      assert(elf.sectionHeader(".dynstr"));
      compareSymbols(elf, file, true);
      compareProgramHeaders(elf, file);
      if (file === "/bin/ls") {
        compareSections(elf, file);
        compareNotes(elf, file);
      }
    }
  },
});

// ---------------------------------------------------------------------------
// A tiny ELF64 writer for hand-made cases.

interface SecSpec {
  name: string;
  type: number;
  data?: Uint8Array;
  link?: number;
  info?: number;
  entsize?: number;
  addralign?: number;
  size?: number;
}

/** Builds an ELF64 LE relocatable: section 0 (null), then `specs`, then .shstrtab. */
function buildElf(specs: SecSpec[]): Uint8Array {
  const names = [0];
  let shstr = "\0";
  for (const s of specs) {
    names.push(shstr.length);
    shstr += s.name + "\0";
  }
  const shstrIdx = specs.length + 1;
  names.push(shstr.length);
  shstr += ".shstrtab\0";
  const all: SecSpec[] = [
    { name: "", type: 0 },
    ...specs,
    { name: ".shstrtab", type: SectionType.STRTAB, data: enc.encode(shstr) },
  ];
  let off = 64;
  const offsets: number[] = [];
  for (const s of all) {
    off = (off + 7) & ~7;
    offsets.push(off);
    if (s.type !== SectionType.NOBITS) off += s.data?.length ?? 0;
  }
  const shoff = (off + 7) & ~7;
  const out = new Uint8Array(shoff + 64 * all.length);
  const dv = new DataView(out.buffer);
  out.set([0x7f, 0x45, 0x4c, 0x46, 2, 1, 1]);
  dv.setUint16(16, ElfType.REL, true);
  dv.setUint16(18, ElfMachine.BPF, true);
  dv.setUint32(20, 1, true);
  dv.setBigUint64(40, BigInt(shoff), true);
  dv.setUint16(52, 64, true);
  dv.setUint16(58, 64, true);
  dv.setUint16(60, all.length, true);
  dv.setUint16(62, shstrIdx, true);
  all.forEach((s, i) => {
    if (s.data && s.type !== SectionType.NOBITS) out.set(s.data, offsets[i]);
    const o = shoff + 64 * i;
    dv.setUint32(o, names[i], true);
    dv.setUint32(o + 4, s.type, true);
    dv.setBigUint64(o + 24, BigInt(i === 0 ? 0 : offsets[i]), true);
    dv.setBigUint64(o + 32, BigInt(s.size ?? s.data?.length ?? 0), true);
    dv.setUint32(o + 40, s.link ?? 0, true);
    dv.setUint32(o + 44, s.info ?? 0, true);
    dv.setBigUint64(o + 48, BigInt(s.addralign ?? 1), true);
    dv.setBigUint64(o + 56, BigInt(s.entsize ?? 0), true);
  });
  return out;
}

function sym64(name: number, info: number, shndx: number, value: bigint, size: bigint): Uint8Array {
  const b = new Uint8Array(24);
  const dv = new DataView(b.buffer);
  dv.setUint32(0, name, true);
  b[4] = info;
  b[5] = 2; // STV_HIDDEN
  dv.setUint16(6, shndx, true);
  dv.setBigUint64(8, value, true);
  dv.setBigUint64(16, size, true);
  return b;
}

function note(name: string, type: number, desc: Uint8Array, align: number): Uint8Array {
  const pad = (n: number) => Math.ceil(n / align) * align;
  const nb = enc.encode(name + "\0");
  const descAt = pad(12 + nb.length);
  const out = new Uint8Array(pad(descAt + desc.length));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, nb.length, true);
  dv.setUint32(4, desc.length, true);
  dv.setUint32(8, type, true);
  out.set(nb, 12);
  out.set(desc, descAt);
  return out;
}

Deno.test("elf: SHN_XINDEX symbols resolve through SHT_SYMTAB_SHNDX", () => {
  const strtab = enc.encode("\0big\0small\0");
  const symtab = concat(
    new Uint8Array(24),
    sym64(1, 0x11, SectionIndex.XINDEX, 0x10n, 4n),
    sym64(5, 0x12, 1, 0x20n, 8n),
  );
  const shndx = new Uint8Array(12);
  new DataView(shndx.buffer).setUint32(4, 70000, true);
  const elf = parseElf(buildElf([
    { name: ".data", type: SectionType.PROGBITS, data: new Uint8Array(16) },
    { name: ".strtab", type: SectionType.STRTAB, data: strtab },
    { name: ".symtab", type: SectionType.SYMTAB, data: symtab, link: 2, entsize: 24 },
    { name: ".symtab_shndx", type: SectionType.SYMTAB_SHNDX, data: shndx, link: 3 },
  ]));
  const syms = elf.symbols();
  assertEquals(syms.map((s) => [s.name, s.sectionIndex, s.type, s.bind, s.visibility]), [
    ["", 0, 0, 0, 0],
    ["big", 70000, SymbolType.OBJECT, SymbolBinding.GLOBAL, SymbolVisibility.HIDDEN],
    ["small", 1, SymbolType.FUNC, SymbolBinding.GLOBAL, SymbolVisibility.HIDDEN],
  ]);
  assertEquals(elf.stringAt(".strtab", 5), "small");
  assertEquals(elf.stringAt(2, 0), "");
});

Deno.test("elf: crafted string tables cannot make symbol reading quadratic", () => {
  // 200 KB of non-NUL bytes, then a NUL; 20000 symbols at distinct offsets.
  const strtab = new Uint8Array(200_001).fill(0x61);
  strtab[0] = 0;
  strtab[200_000] = 0;
  const n = 20000;
  const symtab = new Uint8Array(24 * n);
  const dv = new DataView(symtab.buffer);
  for (let i = 1; i < n; i++) dv.setUint32(24 * i, i, true);
  const elf = parseElf(buildElf([
    { name: ".strtab", type: SectionType.STRTAB, data: strtab },
    { name: ".symtab", type: SectionType.SYMTAB, data: symtab, link: 1, entsize: 24 },
  ]));
  // Refused by the reader's scan budget for string bytes: a ParseError, not a time limit
  // (no timed tests; speed belongs in bench/).
  assert.throws(() => elf.symbols(), ParseError);
  // The same table with every symbol at one offset is fine (strings are cached).
  for (let i = 1; i < n; i++) dv.setUint32(24 * i, 199_990, true);
  const ok = parseElf(buildElf([
    { name: ".strtab", type: SectionType.STRTAB, data: strtab },
    { name: ".symtab", type: SectionType.SYMTAB, data: symtab, link: 1, entsize: 24 },
  ]));
  const syms = ok.symbols();
  assertEquals(syms.length, n);
  assertEquals(syms[n - 1].name, "aaaaaaaaaa");
});

Deno.test("elf: notes with 4- and 8-byte alignment", () => {
  const n4 = concat(
    note("stapsdt", 3, enc.encode("abcde"), 4),
    note("GNU", GnuNoteType.BUILD_ID, new Uint8Array([1, 2, 3, 4]), 4),
    note("", 9, new Uint8Array(0), 4),
  );
  const n8 = note("GNU", GnuNoteType.PROPERTY_TYPE_0, new Uint8Array(12).fill(7), 8);
  const elf = parseElf(buildElf([
    { name: ".note.stapsdt", type: SectionType.NOTE, data: n4, addralign: 4 },
    { name: ".note.gnu.property", type: SectionType.NOTE, data: n8, addralign: 8 },
  ]));
  const notes = elf.notes();
  assertEquals(notes.map((n) => [n.section, n.name, n.type, [...n.desc]]), [
    [".note.stapsdt", "stapsdt", 3, [...enc.encode("abcde")]],
    [".note.stapsdt", "GNU", 3, [1, 2, 3, 4]],
    [".note.stapsdt", "", 9, []],
    [".note.gnu.property", "GNU", 5, new Array(12).fill(7)],
  ]);
  assertEquals(elf.notesIn(".note.gnu.property").length, 1);
  assertEquals(notes[0].offset, elf.sectionHeader(".note.stapsdt")!.offset);
  assert.throws(() => elf.notesIn(".shstrtab"), InvalidArgumentError);
  // A note whose descriptor runs past the section.
  const bad = note("GNU", 3, new Uint8Array(8), 4);
  new DataView(bad.buffer).setUint32(4, 9, true);
  const e2 = parseElf(buildElf([{ name: ".note.x", type: SectionType.NOTE, data: bad }]));
  assert.throws(() => e2.notes(), ParseError);
});

Deno.test("elf: extended section numbering (e_shnum = 0, e_shstrndx = SHN_XINDEX)", () => {
  const bytes = Deno.readFileSync(td("small_x86_64.o"));
  const orig = parseElf(bytes);
  const mod = bytes.slice();
  const dv = new DataView(mod.buffer);
  const shoff = orig.header.shoff;
  dv.setUint16(60, 0, true);
  dv.setUint16(62, SectionIndex.XINDEX, true);
  dv.setBigUint64(shoff + 32, BigInt(orig.sections.length), true); // section 0 sh_size
  dv.setUint32(shoff + 40, orig.header.shstrndx, true); // section 0 sh_link
  const ext = parseElf(mod);
  assertEquals(ext.header.shnum, orig.sections.length);
  assertEquals(ext.header.shstrndx, orig.header.shstrndx);
  assertEquals(
    ext.sections.slice(1).map((s) => s.name),
    orig.sections.slice(1).map((s) => s.name),
  );
});

Deno.test("elf: errors", () => {
  const good = Deno.readFileSync(td("prog_bpfel.o"));
  const expectParse = (bytes: Uint8Array, offset?: number) => {
    try {
      parseElf(bytes);
      assert.fail("expected ParseError");
    } catch (e) {
      assert(e instanceof ParseError, String(e));
      assertEquals(e.format, "elf");
      if (offset !== undefined) assertEquals(e.offset, offset);
    }
  };
  expectParse(new Uint8Array(0), 0);
  expectParse(enc.encode("not an elf file at all"), 0);
  expectParse(good.subarray(0, 40), 0);
  const patch = (f: (dv: DataView, b: Uint8Array) => void) => {
    const b = good.slice();
    f(new DataView(b.buffer), b);
    return b;
  };
  expectParse(patch((_, b) => b[4] = 3), 4);
  expectParse(patch((_, b) => b[5] = 0), 5);
  expectParse(patch((dv) => dv.setBigUint64(40, 1n << 40n, true)));
  expectParse(patch((dv) => dv.setBigUint64(40, 1n << 62n, true)));
  expectParse(patch((dv) => dv.setUint16(58, 10, true)), 58);
  expectParse(patch((dv) => dv.setUint16(60, 0xfff0, true)));
  expectParse(patch((dv) => dv.setUint16(62, 500, true)));
  // Truncated: the section header table is at the end.
  expectParse(good.subarray(0, good.length - 1));

  // A section past the end of the file: the file opens, the section does not.
  const elf0 = parseElf(good);
  const data = elf0.sectionHeader(".data")!;
  const b = good.slice();
  new DataView(b.buffer).setBigUint64(elf0.header.shoff + data.index * 64 + 24, 1n << 40n, true);
  const elf = parseElf(b);
  assert.throws(() => elf.section(".data"), ParseError);
  assert.throws(() => elf.sectionData(data.index), ParseError);
  assertEquals(elf.section("license")!.length, 4);

  // Argument errors.
  assert.throws(() => elf0.sectionData("nope"), NotFoundError);
  assert.throws(() => elf0.sectionData(9999), NotFoundError);
  assert.throws(() => elf0.sectionData(1.5), NotFoundError);
  assert.throws(() => elf0.relocations(".text"), InvalidArgumentError);
  assert.throws(() => elf0.symbolTable(".text"), InvalidArgumentError);
  const foreign: ElfSection = { ...elf0.sections[1] };
  assert.throws(() => elf0.sectionData(foreign), InvalidArgumentError);

  // Symbol table with a bad entry size or string table link.
  const st = elf0.sectionHeader(".symtab")!;
  const bad1 = good.slice();
  new DataView(bad1.buffer).setBigUint64(elf0.header.shoff + st.index * 64 + 56, 8n, true);
  assert.throws(() => parseElf(bad1).symbols(), ParseError);
  const bad2 = good.slice();
  new DataView(bad2.buffer).setUint32(elf0.header.shoff + st.index * 64 + 40, 999, true);
  assert.throws(() => parseElf(bad2).symbols(), ParseError);
});

Deno.test("elf: readElfFile on a missing file is a NotFoundError naming the path", () => {
  assert.throws(() => readElfFile("/nonexistent/denobpf.o"), NotFoundError);
  assert.throws(
    () => readElfFile("/nonexistent/denobpf.o"),
    /ELF file \/nonexistent\/denobpf\.o does not exist/,
  );
});

// ---------------------------------------------------------------------------
// Property tests: any input gives a result or a ParseError.

/** Uses every accessor; returns how many of them threw ParseError. */
function exercise(bytes: Uint8Array): number {
  let elf: ElfFile;
  try {
    elf = parseElf(bytes);
  } catch (e) {
    if (e instanceof ParseError) return 1;
    throw e;
  }
  let errors = 0;
  const attempt = (f: () => unknown) => {
    try {
      f();
    } catch (e) {
      if (!(e instanceof ParseError)) throw e;
      errors++;
    }
  };
  for (const s of elf.sections) {
    attempt(() => elf.sectionData(s));
    if (s.type === SectionType.SYMTAB || s.type === SectionType.DYNSYM) {
      attempt(() => elf.symbolTable(s));
    }
    if (s.type === SectionType.REL || s.type === SectionType.RELA) {
      attempt(() => elf.relocations(s));
    }
    if (s.type === SectionType.NOTE) attempt(() => elf.notesIn(s));
    if (s.type === SectionType.STRTAB) attempt(() => elf.stringAt(s, 1));
  }
  for (const s of elf.sections.slice(0, 4)) attempt(() => elf.section(s.name));
  attempt(() => elf.symbols());
  attempt(() => elf.dynamicSymbols());
  attempt(() => elf.notes());
  for (const p of elf.programHeaders.slice(0, 8)) {
    elf.addressToOffset(p.vaddr);
    elf.addressToOffset(p.vaddr + 1n);
  }
  return errors;
}

const seeds = ALL_TESTDATA.map((n) => Deno.readFileSync(td(n)));

Deno.test("elf: property: random blobs give a result or a ParseError", () => {
  const header = fc.tuple(fc.constantFrom(1, 2, 3), fc.constantFrom(1, 2, 0)).map(([c, d]) =>
    new Uint8Array([0x7f, 0x45, 0x4c, 0x46, c, d, 1])
  );
  fc.assert(
    fc.property(header, fc.uint8Array({ maxLength: 600 }), (h, rest) => {
      exercise(concat(h, rest));
      exercise(rest);
    }),
    { numRuns: 1000 },
  );
});

Deno.test("elf: property: mutated real objects give a result or a ParseError", () => {
  const mutation = fc.oneof(
    // A random byte.
    fc.tuple(fc.constant(0), fc.nat(), fc.integer({ min: 0, max: 255 })),
    // A header-ish field set to an extreme 16/32/64-bit value.
    fc.tuple(
      fc.constantFrom(1, 2, 3),
      fc.nat(),
      fc.constantFrom(0, 1, 7, 8, 0xff, 0xffff, 0x7fffffff, 0xffffffff, 24, 64),
    ),
  );
  fc.assert(
    fc.property(
      fc.nat(seeds.length - 1),
      fc.array(mutation, { minLength: 1, maxLength: 10 }),
      fc.option(fc.nat()),
      fc.boolean(),
      (which, muts, truncate, nearHeaders) => {
        const seed = seeds[which];
        const b = seed.slice(0, truncate === null ? seed.length : truncate % (seed.length + 1));
        const dv = new DataView(b.buffer);
        for (const [kind, at, val] of muts) {
          if (b.length === 0) break;
          // Aim half of the mutations at the header and section header table.
          let pos = at % b.length;
          if (nearHeaders && b.length > 64) {
            pos = at % 2 === 0 ? at % 64 : b.length - 1 - (at % Math.min(b.length, 2048));
          }
          if (kind === 0) b[pos] = val;
          else if (kind === 1 && pos + 2 <= b.length) dv.setUint16(pos, val & 0xffff, at % 3 === 0);
          else if (kind === 2 && pos + 4 <= b.length) dv.setUint32(pos, val >>> 0, at % 3 === 0);
          else if (kind === 3 && pos + 8 <= b.length) {
            dv.setBigUint64(pos, BigInt(val) * (at % 5 === 0 ? 0x1_0000_0000n : 1n), at % 3 === 0);
          }
        }
        exercise(b);
      },
    ),
    { numRuns: 1500 },
  );
});

Deno.test("elf: property: cutting a real object anywhere gives a result or a ParseError", () => {
  for (const seed of seeds.slice(0, 3)) {
    for (let n = 0; n <= seed.length; n += 7) exercise(seed.subarray(0, n));
  }
});
