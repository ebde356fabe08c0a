/**
 * A disassembler whose output is that of `llvm-objdump -d` (LLVM 14) for
 * one BPF code section: the same instruction text, the same line layout
 * (`       0:\tb7 00 00 00 00 00 00 00\tr0 = 0`), symbol headers,
 * branch targets shown as `<symbol+0x..>`, runs of zero bytes shown as
 * `...`, and `<unknown>` for bytes that do not decode.
 *
 * ```ts
 * import { disassemble } from "@denobpf/ebpf/asm";
 * const lines = disassemble(bytes, { symbols: [{ name: "prog", offset: 0 }] });
 * console.log(lines.join("\n"));
 * ```
 *
 * @module
 */

import { encode } from "./encoding.ts";
import { llvmText, type LlvmTextOptions } from "./format.ts";
import type { Instructions } from "./instruction.ts";
import { OP_LDDW } from "./opcode.ts";

/** A symbol (function or label) in the disassembled section. */
export interface DisassemblySymbol {
  /** The symbol name. */
  name: string;
  /** Its byte offset in the section. */
  offset: number;
}

/** Options of {@link disassemble}. */
export interface DisassembleOptions extends LlvmTextOptions {
  /** Byte order of the input (default little-endian, i.e. `bpfel`). */
  littleEndian?: boolean;
  /** Show the raw instruction bytes (default true; false is `--no-show-raw-insn`). */
  showRawInsn?: boolean;
  /**
   * The section's symbols (functions and labels, not section symbols). For
   * instruction lists, defaults to their labels (`symbol`).
   */
  symbols?: readonly DisassemblySymbol[];
  /** Section name, used for the symbol llvm-objdump invents at offset 0 when none is there (default `.text`). */
  sectionName?: string;
  /** Print the blank line and `0000000000000000 <name>:` header before each symbol (default true). */
  headers?: boolean;
  /** Disassemble runs of zero bytes instead of printing `...` (default false; true is `-z`). */
  disassembleZeroes?: boolean;
}

function hex16(n: number): string {
  return n.toString(16).padStart(16, "0");
}

function rawBytes(bytes: Uint8Array, at: number, n: number): string {
  const parts: string[] = [];
  for (let i = at; i < at + n; i++) parts.push(bytes[i].toString(16).padStart(2, "0"));
  return parts.join(" ");
}

/** Leading zero bytes that llvm-objdump folds into `...`: at least 8, in multiples of 4. */
function skippableZeroes(bytes: Uint8Array, at: number, end: number): number {
  let n = 0;
  while (at + n < end && bytes[at + n] === 0) n++;
  return n < 8 ? 0 : n & ~3;
}

interface Decoded {
  size: number;
  text?: string;
  branch?: number;
}

function decodeAt(
  bytes: Uint8Array,
  view: DataView,
  at: number,
  le: boolean,
  options: LlvmTextOptions,
): Decoded {
  const left = bytes.length - at;
  if (left < 8) return { size: 1 };
  const opcode = bytes[at];
  const regs = bytes[at + 1];
  const fields = {
    opcode,
    dst: le ? regs & 0x0f : regs >> 4,
    src: le ? regs >> 4 : regs & 0x0f,
    offset: view.getInt16(at + 2, le),
    imm: view.getInt32(at + 4, le),
    hi: 0,
  };
  if (opcode === OP_LDDW && fields.offset === 0 && fields.dst <= 11) {
    if (left < 16) return { size: 1 };
    fields.hi = view.getInt32(at + 12, le);
    const r = llvmText(fields, options);
    return { size: 16, text: r?.text };
  }
  const r = llvmText(fields, options);
  return { size: 8, text: r?.text, branch: r?.branch };
}

/**
 * Disassembles one code section as `llvm-objdump -d` prints it, returning
 * its lines (without the file and `Disassembly of section` headers, which
 * belong to the object file): for each symbol a blank line and
 * `<16 hex digits> <name>:`, then one line per instruction.
 *
 * Input is raw bytes, or instructions (encoded as they are; `assemble`
 * them first to resolve labels). By default the text is LLVM 14's for all
 * it decodes right, and newer LLVM syntax for ISA v4 instructions it does
 * not; set `llvm14` for LLVM 14's output byte for byte (see
 * {@link LlvmTextOptions.llvm14}).
 *
 * Not reproduced: llvm-objdump's data dump of `STT_OBJECT` symbols placed
 * in code sections, relocations (`-r`) and source interleaving (`-S`).
 */
export function disassemble(
  input: Uint8Array | Instructions,
  options: DisassembleOptions = {},
): string[] {
  const le = options.littleEndian ?? true;
  let bytes: Uint8Array;
  let symbols: DisassemblySymbol[];
  if (input instanceof Uint8Array) {
    bytes = input;
    symbols = [...(options.symbols ?? [])];
  } else {
    bytes = encode(input, { littleEndian: le });
    if (options.symbols) symbols = [...options.symbols];
    else {
      symbols = [];
      let slot = 0;
      for (const insn of input) {
        if (insn.symbol !== undefined) symbols.push({ name: insn.symbol, offset: slot * 8 });
        slot += insn.slots;
      }
    }
  }
  symbols = symbols.filter((s) => s.name !== "");
  symbols.sort((a, b) =>
    a.offset !== b.offset ? a.offset - b.offset : a.name < b.name ? -1 : a.name > b.name ? 1 : 0
  );
  if (symbols.length === 0 || symbols[0].offset !== 0) {
    symbols.unshift({ name: options.sectionName ?? ".text", offset: 0 });
  }
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const showRaw = options.showRawInsn ?? true;
  const headers = options.headers ?? true;
  const out: string[] = [];

  const targetName = (target: bigint): string => {
    let found: DisassemblySymbol | undefined;
    for (const s of symbols) {
      if (BigInt(s.offset) <= target) found = s;
      else break;
    }
    if (found === undefined) return "";
    const disp = target - BigInt(found.offset);
    return ` <${found.name}${disp !== 0n ? `+0x${disp.toString(16)}` : ""}>`;
  };

  for (let si = 0; si < symbols.length; si++) {
    const start = symbols[si].offset;
    if (start < 0 || start >= bytes.length) continue;
    const end = si + 1 < symbols.length
      ? Math.min(bytes.length, symbols[si + 1].offset)
      : bytes.length;
    if (start >= end) continue;
    if (headers) out.push("", `${hex16(start)} <${symbols[si].name}>:`);
    let at = start;
    while (at < end) {
      if (!options.disassembleZeroes) {
        const zeroes = skippableZeroes(bytes, at, end);
        if (zeroes) {
          out.push("\t\t...");
          at += zeroes;
          continue;
        }
      }
      const d = decodeAt(bytes, view, at, le, options);
      let line = `${String(Math.floor(at / 8)).padStart(8)}:`;
      if (showRaw) line += `\t${rawBytes(bytes, at, d.size)}`;
      line += `\t${d.text ?? "<unknown>"}`;
      if (d.text !== undefined && d.branch !== undefined) {
        line += targetName(BigInt.asUintN(64, BigInt(at + 8) + BigInt(d.branch) * 8n));
      }
      out.push(line);
      at += d.size;
    }
  }
  return out;
}
