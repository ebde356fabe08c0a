/**
 * USDT (statically defined tracing) probes: the `stapsdt` notes that
 * `<sys/sdt.h>` puts in `.note.stapsdt`, with the location, semaphore and
 * argument specs (`-4@%eax 8@-8(%rbp)`) of each probe, and their file
 * offsets for attaching a uprobe.
 *
 * @module
 */

import { InvalidArgumentError, ParseError } from "../errors.ts";
import { type ElfFile, readElfFile } from "../elf/elf_file.ts";
import { ElfMachine } from "../elf/constants.ts";
import { addressToFileOffset } from "./resolve.ts";

/** Note type of a `stapsdt` note (NT_STAPSDT). */
export const NT_STAPSDT = 3;

/** How an argument's value is found. */
export type UsdtArgumentKind = "constant" | "register" | "memory" | "indexed";

/** One parsed USDT argument. */
export interface UsdtArgument {
  /** The spec as written, e.g. `-4@-8(%rbp)`. */
  spec: string;
  /** Size in bytes (1, 2, 4 or 8). */
  size: number;
  /** True for a signed value (negative size in the spec). */
  signed: boolean;
  /** `constant`: a literal; `register`: a register's value; `memory`: `*(reg + offset)`; `indexed`: `*(reg + index*scale + offset)`. */
  kind: UsdtArgumentKind;
  /** The literal of a `constant`. */
  value?: bigint;
  /** The base register, by its 64-bit name (`rbp`, `x0`, `sp`). */
  register?: string;
  /** Offset of the register in the kernel's `struct pt_regs`, when known for the architecture. */
  registerOffset?: number;
  /** Memory displacement. */
  offset?: bigint;
  /** The index register of an `indexed` argument. */
  indexRegister?: string;
  /** Scale of the index register (1, 2, 4, 8). */
  scale?: number;
}

/** One USDT probe location. */
export interface UsdtProbe {
  /** Provider, e.g. `"libc"`. */
  provider: string;
  /** Probe name, e.g. `"memory_malloc_retry"`. */
  name: string;
  /** The probe's virtual address (adjusted by `.stapsdt.base` for prelinked files). */
  address: bigint;
  /** The file offset of the probe: the uprobe offset. */
  offset: bigint;
  /** The base address recorded in the note. */
  base: bigint;
  /** The semaphore's virtual address (0n if the probe has none). */
  semaphore: bigint;
  /** The semaphore's file offset: the uprobe `ref_ctr_offset` (0n if none). */
  semaphoreOffset: bigint;
  /** The argument spec string, e.g. `"-4@%eax 8@-8(%rbp)"`. */
  argumentSpec: string;
  /** The parsed arguments. */
  arguments: UsdtArgument[];
}

// x86-64 `struct pt_regs` (arch/x86/include/asm/ptrace.h): r15 … ss, 8 bytes each.
const X86_PT_REGS = [
  "r15",
  "r14",
  "r13",
  "r12",
  "rbp",
  "rbx",
  "r11",
  "r10",
  "r9",
  "r8",
  "rax",
  "rcx",
  "rdx",
  "rsi",
  "rdi",
  "orig_rax",
  "rip",
  "cs",
  "eflags",
  "rsp",
  "ss",
];

// Built on first use, not when the module is loaded.
let x86Aliases: Record<string, string> | undefined;

/** Every x86-64 register name (`eax`, `r8d`, `al`, …) → its 64-bit register. */
function aliases(): Record<string, string> {
  if (x86Aliases) return x86Aliases;
  const map: Record<string, string> = {};
  for (
    const [r64, r32, r16, r8, r8h] of [
      ["rax", "eax", "ax", "al", "ah"],
      ["rbx", "ebx", "bx", "bl", "bh"],
      ["rcx", "ecx", "cx", "cl", "ch"],
      ["rdx", "edx", "dx", "dl", "dh"],
      ["rsi", "esi", "si", "sil", ""],
      ["rdi", "edi", "di", "dil", ""],
      ["rbp", "ebp", "bp", "bpl", ""],
      ["rsp", "esp", "sp", "spl", ""],
      ["rip", "eip", "ip", "", ""],
    ]
  ) {
    for (const a of [r64, r32, r16, r8, r8h]) if (a) map[a] = r64;
  }
  for (let i = 8; i <= 15; i++) {
    for (const s of ["", "d", "w", "b"]) map[`r${i}${s}`] = `r${i}`;
  }
  return x86Aliases = map;
}

/** The canonical 64-bit name and pt_regs offset of an x86-64 register name (`eax` → `rax`, 80). */
export function x86Register(name: string): { register: string; offset: number } | undefined {
  const r = aliases()[name.toLowerCase()];
  if (r === undefined) return undefined;
  return { register: r, offset: X86_PT_REGS.indexOf(r) * 8 };
}

function arm64Register(name: string): { register: string; offset: number } | undefined {
  const n = name.toLowerCase();
  const m = /^[xw](\d+)$/.exec(n);
  if (m && Number(m[1]) <= 30) return { register: `x${m[1]}`, offset: Number(m[1]) * 8 };
  if (n === "sp") return { register: "sp", offset: 31 * 8 };
  return undefined;
}

function parseInt64(s: string, spec: string): bigint {
  const m = /^([+-]?)(0x[0-9a-f]+|\d+)$/i.exec(s.trim());
  if (!m) throw new ParseError("usdt", `bad number ${JSON.stringify(s)} in argument ${spec}`);
  const v = BigInt(m[2]);
  return m[1] === "-" ? -v : v;
}

/** The architectures whose argument syntax {@linkcode parseUsdtArgument} knows. */
export type UsdtArch = "x86_64" | "aarch64";

/**
 * Parses one argument spec: `SIZE@OPERAND` where SIZE is 1, 2, 4 or 8
 * (negative for signed) and OPERAND is, on x86-64, `$imm`, `%reg`,
 * `off(%reg)` or `off(%base,%index,scale)`; on arm64 `imm`, `reg` or
 * `[reg, off]`. Throws `ParseError` on anything else.
 */
export function parseUsdtArgument(spec: string, arch: UsdtArch = "x86_64"): UsdtArgument {
  const at = spec.indexOf("@");
  if (at <= 0) throw new ParseError("usdt", `argument ${JSON.stringify(spec)} has no SIZE@`);
  const sizeN = Number(spec.slice(0, at));
  if (![1, 2, 4, 8].includes(Math.abs(sizeN))) {
    throw new ParseError("usdt", `argument ${JSON.stringify(spec)}: size must be ±1, 2, 4 or 8`);
  }
  const op = spec.slice(at + 1);
  const base: UsdtArgument = { spec, size: Math.abs(sizeN), signed: sizeN < 0, kind: "constant" };
  const reg = (name: string) => {
    const r = arch === "x86_64" ? x86Register(name) : arm64Register(name);
    if (!r) throw new ParseError("usdt", `unknown register ${name} in argument ${spec}`);
    return r;
  };
  if (arch === "x86_64") {
    let m: RegExpExecArray | null;
    if ((m = /^\$(.+)$/.exec(op))) {
      return { ...base, kind: "constant", value: parseInt64(m[1], spec) };
    }
    if ((m = /^%(\w+)$/.exec(op))) {
      const r = reg(m[1]);
      return { ...base, kind: "register", register: r.register, registerOffset: r.offset };
    }
    if ((m = /^([+-]?(?:0x[0-9a-f]+|\d+))?\(%(\w+)\)$/i.exec(op))) {
      const r = reg(m[2]);
      return {
        ...base,
        kind: "memory",
        register: r.register,
        registerOffset: r.offset,
        offset: m[1] ? parseInt64(m[1], spec) : 0n,
      };
    }
    if ((m = /^([+-]?(?:0x[0-9a-f]+|\d+))?\(%(\w+),%(\w+)(?:,(\d))?\)$/i.exec(op))) {
      const r = reg(m[2]);
      const idx = reg(m[3]);
      return {
        ...base,
        kind: "indexed",
        register: r.register,
        registerOffset: r.offset,
        indexRegister: idx.register,
        scale: m[4] ? Number(m[4]) : 1,
        offset: m[1] ? parseInt64(m[1], spec) : 0n,
      };
    }
    if (/^[+-]?(?:0x[0-9a-f]+|\d+)$/i.test(op)) {
      return { ...base, kind: "constant", value: parseInt64(op, spec) };
    }
  } else {
    let m: RegExpExecArray | null;
    if ((m = /^\[(\w+)(?:,\s*#?([+-]?(?:0x[0-9a-f]+|\d+)))?\]$/i.exec(op))) {
      const r = reg(m[1]);
      return {
        ...base,
        kind: "memory",
        register: r.register,
        registerOffset: r.offset,
        offset: m[2] ? parseInt64(m[2], spec) : 0n,
      };
    }
    if ((m = /^#?([+-]?(?:0x[0-9a-f]+|\d+))$/i.exec(op))) {
      return { ...base, kind: "constant", value: parseInt64(m[1], spec) };
    }
    if ((m = /^(\w+)$/.exec(op))) {
      const r = reg(m[1]);
      return { ...base, kind: "register", register: r.register, registerOffset: r.offset };
    }
  }
  throw new ParseError("usdt", `cannot parse argument ${JSON.stringify(spec)} (${arch})`);
}

/** Parses a whole argument spec string (space-separated arguments). */
export function parseUsdtArguments(specs: string, arch: UsdtArch = "x86_64"): UsdtArgument[] {
  const parts = specs.trim().split(/\s+/).filter(Boolean);
  if (parts.length > 12) {
    throw new ParseError("usdt", `${parts.length} arguments; USDT probes have at most 12`);
  }
  return parts.map((p) => parseUsdtArgument(p, arch));
}

function archOf(elf: ElfFile): UsdtArch {
  return elf.header.machine === ElfMachine.AARCH64 ? "aarch64" : "x86_64";
}

/**
 * Every USDT probe of an ELF file (its `stapsdt` notes), with file offsets
 * for the probe and its semaphore. Unparsable argument specs leave
 * `arguments` empty (the spec string is still there) rather than failing.
 */
export function readUsdtProbes(file: string | ElfFile): UsdtProbe[] {
  const elf = typeof file === "string" ? readElfFile(file) : file;
  const label = typeof file === "string" ? file : "the ELF file";
  const baseSection = elf.sectionHeader(".stapsdt.base");
  const word = elf.is64 ? 8 : 4;
  const le = elf.littleEndian;
  const arch = archOf(elf);
  const out: UsdtProbe[] = [];
  for (const note of elf.notes()) {
    if (note.name !== "stapsdt" || note.type !== NT_STAPSDT) continue;
    const d = note.desc;
    if (d.length < 3 * word + 3) {
      throw new ParseError("usdt", "stapsdt note too short", { offset: note.offset });
    }
    const dv = new DataView(d.buffer, d.byteOffset, d.byteLength);
    const rd = (o: number) => word === 8 ? dv.getBigUint64(o, le) : BigInt(dv.getUint32(o, le));
    const pc = rd(0);
    const base = rd(word);
    const semaphore = rd(2 * word);
    const strings: string[] = [];
    let pos = 3 * word;
    for (let i = 0; i < 3; i++) {
      const end = d.indexOf(0, pos);
      if (end < 0) {
        throw new ParseError("usdt", "unterminated stapsdt string", { offset: note.offset });
      }
      strings.push(new TextDecoder().decode(d.subarray(pos, end)));
      pos = end + 1;
    }
    const address = baseSection && base !== 0n ? pc + (baseSection.addr - base) : pc;
    const [provider, name, argumentSpec] = strings;
    let args: UsdtArgument[] = [];
    try {
      args = parseUsdtArguments(argumentSpec, arch);
    } catch { /* kept as text */ }
    out.push({
      provider,
      name,
      address,
      offset: addressToFileOffset(elf, address, { what: `USDT ${provider}:${name} in ${label}` }),
      base,
      semaphore,
      semaphoreOffset: semaphore === 0n ? 0n : addressToFileOffset(elf, semaphore, {
        what: `semaphore of USDT ${provider}:${name} in ${label}`,
      }),
      argumentSpec,
      arguments: args,
    });
  }
  return out;
}

/** Which USDT probe {@linkcode findUsdtProbes} looks for. */
export interface UsdtProbeQuery {
  /** The probe's provider, e.g. `"libc"`. */
  provider: string;
  /** The probe's name, e.g. `"setjmp"`. */
  name: string;
}

/**
 * The locations of USDT probe `provider:name` in a file (a probe may appear
 * at several places, e.g. after inlining). Throws InvalidArgumentError when
 * there is none, listing the probes the file has.
 *
 * @example
 * ```ts ignore
 * const probes = findUsdtProbes("/usr/lib/x86_64-linux-gnu/libc.so.6", {
 *   provider: "libc",
 *   name: "setjmp",
 * });
 * ```
 */
export function findUsdtProbes(file: string | ElfFile, probe: UsdtProbeQuery): UsdtProbe[] {
  const { provider, name } = probe;
  const all = readUsdtProbes(file);
  const hits = all.filter((p) => p.provider === provider && p.name === name);
  if (hits.length === 0) {
    const have = [...new Set(all.map((p) => `${p.provider}:${p.name}`))].slice(0, 20);
    throw new InvalidArgumentError(
      `no USDT probe ${provider}:${name} in ${typeof file === "string" ? file : "the ELF file"}` +
        (have.length ? `; it has ${have.join(", ")}` : "; it has no USDT probes (.note.stapsdt)"),
    );
  }
  return hits;
}
