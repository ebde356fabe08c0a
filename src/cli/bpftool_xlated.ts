/**
 * `prog dump xlated` as bpftool 7.1 prints it: the kernel's instruction
 * printer (kernel/bpf/disasm.c's print_bpf_insn, as Linux 6.1 has it: no ISA
 * v4 syntax, so `sdiv`, `movsx`, `bswap` and sign-extending loads print as
 * 6.1 reads them) with bpftool's callbacks (xlated_dumper.c: helper and
 * subprogram names from /proc/kallsyms, `map[id:N]`, `map[id:N][0]+OFF`),
 * the function prototypes of the program's BTF func_info and the source
 * lines of its line_info, in text and in `-j`/`-p` JSON.
 *
 * @module
 */

import { helperName } from "../asm/helpers.ts";
import type { Spec } from "../btf/spec.ts";
import type { BpftoolKsyms } from "./bpftool_ksyms.ts";
import type { JsonWriter } from "./bpftool_json.ts";

/** One `struct bpf_func_info` record. */
export interface FuncInfo {
  /** First instruction of the function. */
  insnOff: number;
  /** Its BTF `func` type. */
  typeId: number;
}

/** One `struct bpf_line_info` record. */
export interface LineInfo {
  /** The instruction. */
  insnOff: number;
  /** BTF string offset of the file name. */
  fileNameOff: number;
  /** BTF string offset of the source line. */
  lineOff: number;
  /** Line number << 10 | column. */
  lineCol: number;
}

/** What the dump of one program's xlated instructions reads. */
export interface XlatedProgram {
  /** The instructions (`xlated_prog_insns`). */
  insns: Uint8Array;
  /** The program's BTF, if it has one. */
  btf?: Spec;
  /** Its func_info records. */
  funcInfo: readonly FuncInfo[];
  /** Its line_info records. */
  lineInfo: readonly LineInfo[];
  /** The addresses of its JITed functions (`jited_ksyms`). */
  jitedKsyms: readonly bigint[];
  /** The kernel's symbols, as bpftool loads them. */
  ksyms: BpftoolKsyms;
}

/** Options of the dumps: bpftool's `opcodes` and `linum` keywords. */
export interface XlatedOptions {
  /** Print each instruction's bytes too. */
  opcodes?: boolean;
  /** Print file, line and column of the source lines. */
  linum?: boolean;
}

/** The fields of one 8-byte instruction. */
interface Insn {
  code: number;
  dst: number;
  src: number;
  off: number;
  imm: number;
}

function insnAt(dv: DataView, i: number): Insn {
  const at = i * 8;
  const regs = dv.getUint8(at + 1);
  return {
    code: dv.getUint8(at),
    dst: regs & 0xf,
    src: regs >> 4,
    off: dv.getInt16(at + 2, true),
    imm: dv.getInt32(at + 4, true),
  };
}

const CLASS = ["ld", "ldx", "st", "stx", "alu", "jmp", "jmp32", "alu64"];
// Linux 6.1's tables; the ops it has no string for print as glibc prints a NULL %s.
const ALU = [
  "+=",
  "-=",
  "*=",
  "/=",
  "|=",
  "&=",
  "<<=",
  ">>=",
  "neg",
  "%=",
  "^=",
  "=",
  "s>>=",
  "endian",
];
const JMP = [
  "jmp",
  "==",
  ">",
  ">=",
  "&",
  "!=",
  "s>",
  "s>=",
  "call",
  "exit",
  "<",
  "<=",
  "s<",
  "s<=",
];
const LDST = ["u32", "u16", "u8", "u64"];
const ATOMIC_ALU: Record<number, string> = { 0x00: "add", 0x50: "and", 0x40: "or", 0xa0: "xor" };
const FETCH = 0x01, XCHG = 0xe1, CMPXCHG = 0xf1;
const PSEUDO_MAP_FD = 1, PSEUDO_MAP_VALUE = 2, PSEUDO_FUNC = 4, PSEUDO_MAP_IDX_VALUE = 6;
const PSEUDO_CALL = 1;
/** `__BPF_FUNC_MAX_ID` of Linux 6.1 (user_ringbuf_drain is the last helper it names). */
const FUNC_MAX_ID_6_1 = 210;

const str = (table: readonly string[], i: number) => table[i] ?? "(null)";
const hex2 = (n: number) => n.toString(16).padStart(2, "0");
const signed = (n: number) => (n < 0 ? `${n}` : `+${n}`);

/** The pieces of bpftool's callbacks the instruction printer needs. */
interface Callbacks {
  ksyms: BpftoolKsyms;
  jitedKsyms: readonly bigint[];
}

/** bpftool's print_call: the name after `call` (helpers, kfuncs, subprograms). */
function callName(cb: Callbacks, insn: Insn): string {
  const helper = insn.src === 0 && insn.imm >= 0 && insn.imm < FUNC_MAX_ID_6_1
    ? helperName(insn.imm)
    : undefined;
  if (helper) return `bpf_${helper}`;
  let address = BigInt.asUintN(64, cb.ksyms.callBase + BigInt(insn.imm));
  const index = insn.imm >>> 0;
  if (insn.src === PSEUDO_CALL && index < cb.jitedKsyms.length) address = cb.jitedKsyms[index];
  const sym = cb.ksyms.find(address);
  if (insn.src === PSEUDO_CALL) {
    if (!cb.jitedKsyms.length) return signed(insn.off);
    return `${signed(insn.off)}#${sym ?? `0x${address.toString(16)}`}`;
  }
  return sym ?? `0x${address.toString(16)}`;
}

/** bpftool's print_imm: the value of a 64-bit immediate load. */
function immName(insn: Insn, next: Insn): string {
  switch (insn.src) {
    case PSEUDO_MAP_FD:
      return `map[id:${insn.imm}]`;
    case PSEUDO_MAP_VALUE:
      return `map[id:${insn.imm}][0]+${next.imm}`;
    case PSEUDO_MAP_IDX_VALUE:
      return `map[idx:${insn.imm}]+${next.imm}`;
    case PSEUDO_FUNC:
      return `subprog[${signed(insn.imm)}]`;
    default: {
      const full = (BigInt(next.imm >>> 0) << 32n) | BigInt(insn.imm >>> 0);
      return `0x${full.toString(16)}`;
    }
  }
}

function formatAlu(insn: Insn, cls: number): string {
  const c = `(${hex2(insn.code)})`;
  const r = cls === 4 ? "w" : "r";
  const op = insn.code >> 4;
  if (op === 0xd) {
    if (cls === 7) return `BUG_alu64_${hex2(insn.code)}`;
    return `${c} r${insn.dst} = ${insn.code & 0x08 ? "be" : "le"}${insn.imm} r${insn.dst}`;
  }
  if (op === 0x8) return `${c} ${r}${insn.dst} = -${r}${insn.dst}`;
  if (insn.code & 0x08) return `${c} ${r}${insn.dst} ${str(ALU, op)} ${r}${insn.src}`;
  return `${c} ${r}${insn.dst} ${str(ALU, op)} ${insn.imm}`;
}

function formatStx(insn: Insn): string {
  const c = `(${hex2(insn.code)})`;
  const size = LDST[(insn.code >> 3) & 3];
  const mode = insn.code & 0xe0;
  const mem = `(${size} *)(r${insn.dst} ${signed(insn.off)})`;
  if (mode === 0x60) return `${c} *${mem} = r${insn.src}`;
  if (mode !== 0xc0) return `BUG_${hex2(insn.code)}`;
  const a64 = (insn.code & 0x18) === 0x18 ? "64" : "";
  const alu = ATOMIC_ALU[insn.imm & ~FETCH];
  if (alu !== undefined && (insn.imm & FETCH) === 0) {
    return `${c} lock *${mem} ${ALU[insn.imm >> 4]} r${insn.src}`;
  }
  if (alu !== undefined) {
    return `${c} r${insn.src} = atomic${a64}_fetch_${alu}(${mem}, r${insn.src})`;
  }
  if (insn.imm === CMPXCHG) return `${c} r0 = atomic${a64}_cmpxchg(${mem}, r0, r${insn.src})`;
  if (insn.imm === XCHG) return `${c} r${insn.src} = atomic${a64}_xchg(${mem}, r${insn.src})`;
  return `BUG_${hex2(insn.code)}`;
}

function formatLoadStore(insn: Insn, next: Insn | undefined, cls: number): string {
  const c = `(${hex2(insn.code)})`;
  const size = LDST[(insn.code >> 3) & 3];
  const mode = insn.code & 0xe0;
  if (cls === 2) {
    if (mode === 0x60) return `${c} *(${size} *)(r${insn.dst} ${signed(insn.off)}) = ${insn.imm}`;
    return mode === 0xc0 ? `${c} nospec` : `BUG_st_${hex2(insn.code)}`;
  }
  if (cls === 1) {
    if (mode !== 0x60) return `BUG_ldx_${hex2(insn.code)}`;
    return `${c} r${insn.dst} = *(${size} *)(r${insn.src} ${signed(insn.off)})`;
  }
  if (mode === 0x20) return `${c} r0 = *(${size} *)skb[${insn.imm}]`;
  if (mode === 0x40) return `${c} r0 = *(${size} *)skb[r${insn.src} + ${insn.imm}]`;
  if (mode === 0x00 && size === "u64") {
    return `${c} r${insn.dst} = ${immName(insn, next ?? { ...insn, imm: 0 })}`;
  }
  return `BUG_ld_${hex2(insn.code)}`;
}

function formatJmp(cb: Callbacks, insn: Insn, cls: number): string {
  const c = `(${hex2(insn.code)})`;
  const op = insn.code >> 4;
  if (op === 0x8) {
    if (insn.src === PSEUDO_CALL) return `${c} call pc${callName(cb, insn)}`;
    return `${c} call ${callName(cb, insn)}#${insn.imm}`;
  }
  if (insn.code === 0x05) return `${c} goto pc${signed(insn.off)}`;
  if (insn.code === 0x95) return `${c} exit`;
  const r = cls === 6 ? "w" : "r";
  if (insn.code & 0x08) {
    return `${c} if ${r}${insn.dst} ${str(JMP, op)} ${r}${insn.src} goto pc${signed(insn.off)}`;
  }
  return `${c} if ${r}${insn.dst} ${str(JMP, op)} 0x${(insn.imm >>> 0).toString(16)} ` +
    `goto pc${signed(insn.off)}`;
}

/** print_bpf_insn's text for instruction `i` of `dv` (without the newline). */
function formatInsn(cb: Callbacks, dv: DataView, i: number): string {
  const insn = insnAt(dv, i);
  const cls = insn.code & 7;
  if (cls === 4 || cls === 7) return formatAlu(insn, cls);
  if (cls === 3) return formatStx(insn);
  if (cls === 5 || cls === 6) return formatJmp(cb, insn, cls);
  const next = (i + 1) * 8 + 8 <= dv.byteLength ? insnAt(dv, i + 1) : undefined;
  if (cls <= 2) return formatLoadStore(insn, next, cls);
  return `(${hex2(insn.code)}) ${CLASS[cls]}`;
}

/**
 * The kernel's (Linux 6.1) text of one instruction as bpftool prints it,
 * e.g. `(85) call bpf_map_lookup_elem#123` or `(18) r1 = map[id:5]`.
 * `bytes` holds the instruction (and the second half of a 64-bit immediate
 * load).
 */
export function formatXlatedInsn(
  bytes: Uint8Array,
  options: { ksyms: BpftoolKsyms; jitedKsyms?: readonly bigint[] },
): string {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return formatInsn({ ksyms: options.ksyms, jitedKsyms: options.jitedKsyms ?? [] }, dv, 0);
}

/**
 * bpftool's btf_dumper_type_only: the C-like text of a BTF type as the
 * `proto` of a function (`int f(struct xdp_md * ctx)`); "" where bpftool
 * gives up (a kind it does not print, or 1024 characters).
 */
export function btfTypeOnly(spec: Spec, id: number): string {
  const out: string[] = [];
  let len = 0;
  const put = (s: string) => {
    out.push(s);
    len += s.length;
    if (len >= 1024) throw FAIL;
  };
  const type = (tid: number): void => {
    if (tid === 0) return put("void ");
    const t = spec.typeById(tid);
    switch (t.kind) {
      case "int":
      case "typedef":
      case "float":
        return put(`${t.name} `);
      case "struct":
      case "union":
      case "enum":
        return put(`${t.kind} ${t.name} `);
      case "enum64":
        return put(`enum ${t.name} `);
      case "array":
        type(t.type);
        return put(`[${t.nelems}]`);
      case "ptr":
        type(t.type);
        return put("* ");
      case "fwd":
        return put(`${t.fwdKind} ${t.name} `);
      case "volatile":
      case "const":
      case "restrict":
        put(`${t.kind} `);
        return type(t.type);
      case "func_proto":
        return func(t, undefined);
      case "func": {
        const proto = spec.typeById(t.type);
        if (proto.kind !== "func_proto") throw FAIL;
        return func(proto, t.name);
      }
      case "var":
        if (t.linkage === "static") put("static ");
        type(t.type);
        return put(` ${t.name}`);
      case "datasec":
        return put(`section ("${t.name}") `);
      default:
        throw FAIL;
    }
  };
  const func = (
    proto: { returnType: number; params: readonly { name: string; type: number }[] },
    name: string | undefined,
  ) => {
    type(proto.returnType);
    put(name === undefined ? "(" : `${name}(`);
    proto.params.forEach((p, i) => {
      if (i) put(", ");
      if (!p.type) return put("...");
      type(p.type);
      if (p.name) put(p.name);
      else if (len && out[out.length - 1].endsWith(" ")) {
        out[out.length - 1] = out[out.length - 1].slice(0, -1);
        len--;
      }
    });
    put(")");
  };
  try {
    type(id);
  } catch (e) {
    if (e === FAIL) return "";
    throw e;
  }
  return out.join("");
}

const FAIL = new Error("btf_dumper_type_only gives up");

function stringAt(spec: Spec | undefined, off: number): string | undefined {
  if (!spec) return undefined;
  try {
    return spec.stringAt(off);
  } catch {
    return undefined; // bpftool's btf__name_by_offset gives NULL
  }
}

const ltrim = (s: string) => s.replace(/^[\t\n\v\f\r ]+/, "");

/** libbpf's bpf_prog_linfo__lfind: the line info starting at `insn`, from `skip` on. */
function lfind(lines: readonly LineInfo[], insn: number, skip: number): LineInfo | undefined {
  if (skip >= lines.length || insn < lines[skip].insnOff) return undefined;
  let i = skip;
  while (i < lines.length && insn >= lines[i].insnOff) i++;
  return lines[i - 1].insnOff === insn ? lines[i - 1] : undefined;
}

/** Walks the program as bpftool's dumpers do, calling `each` per printed instruction. */
function walk(
  prog: XlatedProgram,
  each: (i: number, text: string, proto: string | undefined, line: LineInfo | undefined) => void,
): void {
  const dv = new DataView(prog.insns.buffer, prog.insns.byteOffset, prog.insns.byteLength);
  const cb: Callbacks = { ksyms: prog.ksyms, jitedKsyms: prog.jitedKsyms };
  const n = Math.floor(prog.insns.byteLength / 8);
  let record = 0;
  let skip = 0;
  for (let i = 0; i < n; i++) {
    let proto: string | undefined;
    if (prog.btf && prog.funcInfo[record]?.insnOff === i) {
      proto = btfTypeOnly(prog.btf, prog.funcInfo[record].typeId);
      record++;
    }
    const line = prog.lineInfo.length ? lfind(prog.lineInfo, i, skip) : undefined;
    if (line) skip++;
    each(i, formatInsn(cb, dv, i), proto, line);
    if (dv.getUint8(i * 8) === 0x18) i++;
  }
}

function hexBytes(b: Uint8Array): string {
  return Array.from(b, hex2).join(" ");
}

function lineCol(l: LineInfo): [number, number] {
  return [l.lineCol >>> 10, l.lineCol & 0x3ff];
}

/** bpftool 7.1's `prog dump xlated` text of one program. */
export function xlatedPlain(prog: XlatedProgram, options: XlatedOptions = {}): string {
  const out: string[] = [];
  walk(prog, (i, text, proto, line) => {
    if (proto) out.push(`${proto}:\n`);
    const src = line && stringAt(prog.btf, line.lineOff);
    if (line && src !== undefined) {
      if (options.linum) {
        const [num, col] = lineCol(line);
        const file = stringAt(prog.btf, line.fileNameOff) ?? "";
        out.push(`; ${ltrim(src)} [file:${file} line_num:${num} line_col:${col}]\n`);
      } else out.push(`; ${ltrim(src)}\n`);
    }
    out.push(`${String(i).padStart(4)}: ${text}\n`);
    if (options.opcodes) {
      const wide = prog.insns[i * 8] === 0x18;
      out.push(`       ${hexBytes(prog.insns.subarray(i * 8, i * 8 + 8))}`);
      if (wide) out.push(` ${hexBytes(prog.insns.subarray(i * 8 + 8, i * 8 + 16))}`);
      out.push("\n");
    }
  });
  return out.join("");
}

function hexArray(w: JsonWriter, bytes: Uint8Array): void {
  w.startArray();
  for (const b of bytes) w.raw(`"0x${hex2(b)}"`);
  w.endArray();
}

/** bpftool 7.1's `prog dump xlated` JSON of one program, written to `w`. */
export function xlatedJson(w: JsonWriter, prog: XlatedProgram, options: XlatedOptions = {}): void {
  w.startArray();
  walk(prog, (i, text, proto, line) => {
    w.startObject();
    if (proto) w.stringField("proto", proto);
    if (line) {
      const src = stringAt(prog.btf, line.lineOff);
      if (src !== undefined) w.stringField("src", ltrim(src));
      if (options.linum) {
        const file = stringAt(prog.btf, line.fileNameOff);
        if (file !== undefined) w.stringField("file", file);
        const [num, col] = lineCol(line);
        if (num) w.numberField("line_num", num);
        if (col) w.numberField("line_col", col);
      }
    }
    // bpftool writes the instruction text between quotes as it is.
    w.name("disasm");
    w.raw(`"${text}"`);
    if (options.opcodes) {
      const at = i * 8;
      const insn = prog.insns;
      w.name("opcodes");
      w.startObject();
      w.name("code");
      w.raw(`"0x${hex2(insn[at])}"`);
      w.name("src_reg");
      w.raw(`"0x${(insn[at + 1] >> 4).toString(16)}"`);
      w.name("dst_reg");
      w.raw(`"0x${(insn[at + 1] & 0xf).toString(16)}"`);
      w.name("off");
      hexArray(w, insn.subarray(at + 2, at + 4));
      w.name("imm");
      hexArray(w, insn.subarray(at + 4, at + (insn[at] === 0x18 ? 16 : 8)));
      w.endObject();
    }
    w.endObject();
  });
  w.endArray();
}
