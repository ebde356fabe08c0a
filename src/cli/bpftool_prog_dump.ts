/**
 * `prog dump xlated|jited PROG [file FILE] [opcodes] [linum]`: bpftool
 * 7.1's text and `-j`/`-p` output of a program's instructions. PROG is
 * `id N`, `pinned PATH`, `tag TAG` or `name NAME`; a tag or name that
 * matches several programs dumps each after its `prog show` header line (in
 * JSON, an array of objects with the header's members and `"insns"`).
 *
 * `jited` has no x86 disassembler here (Debian's bpftool 7.1 is built
 * without libbfd and refuses `prog dump jited` altogether): `file FILE`
 * writes the machine code as bpftool would, and the text and JSON forms
 * show each JITed function's prototype and symbol with its code as bytes,
 * 16 to a line, as bpftool's `opcodes` lines print them.
 *
 * @module
 */

import { loadedBtfSpec } from "../btf/loaded.ts";
import type { Spec } from "../btf/spec.ts";
import { InvalidArgumentError, NotFoundError, NotSupportedError } from "../errors.ts";
import { readProgramInfo } from "../program/info.ts";
import { PROG_INFO } from "../sys/abi.ts";
import { addressOf } from "../sys/bpf.ts";
import type { FD } from "../sys/fd.ts";
import { objFromId, objGet, objIds, objInfo } from "../sys/obj.ts";
import { SyscallError } from "../sys/error.ts";
import { bpftoolArgs, fdinfoField, jsonWriter, writeOut } from "./bpftool_common.ts";
import type { JsonWriter } from "./bpftool_json.ts";
import { xlatedCfg } from "./bpftool_cfg.ts";
import { loadBpftoolKsyms } from "./bpftool_ksyms.ts";
import { openById } from "./bpftool_objects.ts";
import { progHeaderJson, progPlain } from "./bpftool_prog.ts";
import {
  btfTypeOnly,
  type FuncInfo,
  type LineInfo,
  xlatedJson,
  type XlatedOptions,
  xlatedPlain,
  type XlatedProgram,
} from "./bpftool_xlated.ts";

const F = PROG_INFO.fields;

/** The code and debug records of one program, as bpftool's prep_prog_info asks for them. */
interface DumpInfo {
  code: Uint8Array;
  btfId: number;
  jitedKsyms: bigint[];
  jitedFuncLens: number[];
  funcInfo: FuncInfo[];
  lineInfo: LineInfo[];
}

function readDumpInfo(fd: number, jited: boolean): DumpInfo {
  const size = PROG_INFO.size;
  const first = new Uint8Array(size);
  objInfo(fd, first);
  const d1 = new DataView(first.buffer);
  const u32 = (f: readonly [number, number]) => d1.getUint32(f[0], true);
  const codeLen = u32(jited ? F.jitedProgLen : F.xlatedProgLen);
  const nKsyms = u32(F.nrJitedKsyms);
  const nLens = u32(F.nrJitedFuncLens);
  const nFunc = u32(F.nrFuncInfo);
  const funcRec = u32(F.funcInfoRecSize);
  const nLine = u32(F.nrLineInfo);
  const lineRec = u32(F.lineInfoRecSize);
  const code = new Uint8Array(codeLen);
  const ksyms = new BigUint64Array(nKsyms);
  const lens = new Uint32Array(nLens);
  const funcs = new Uint8Array(nFunc * funcRec);
  const lines = new Uint8Array(nLine * lineRec);
  const buf = new Uint8Array(size);
  const dv = new DataView(buf.buffer);
  const setArray = (
    len: readonly [number, number],
    n: number,
    ptr: readonly [number, number],
    a: ArrayBufferView,
  ) => {
    dv.setUint32(len[0], n, true);
    if (n) dv.setBigUint64(ptr[0], addressOf(a), true);
  };
  if (jited) setArray(F.jitedProgLen, codeLen, F.jitedProgInsns, code);
  else setArray(F.xlatedProgLen, codeLen, F.xlatedProgInsns, code);
  setArray(F.nrJitedKsyms, nKsyms, F.jitedKsyms, ksyms);
  setArray(F.nrJitedFuncLens, nLens, F.jitedFuncLens, lens);
  setArray(F.nrFuncInfo, nFunc, F.funcInfo, funcs);
  dv.setUint32(F.funcInfoRecSize[0], funcRec, true);
  setArray(F.nrLineInfo, nLine, F.lineInfo, lines);
  dv.setUint32(F.lineInfoRecSize[0], lineRec, true);
  objInfo(fd, buf);
  const fdv = new DataView(funcs.buffer);
  const ldv = new DataView(lines.buffer);
  return {
    code: code.subarray(
      0,
      Math.min(codeLen, dv.getUint32((jited ? F.jitedProgLen : F.xlatedProgLen)[0], true)),
    ),
    btfId: dv.getUint32(F.btfId[0], true),
    jitedKsyms: Array.from(ksyms),
    jitedFuncLens: Array.from(lens),
    funcInfo: Array.from({ length: funcRec >= 8 ? nFunc : 0 }, (_, i) => ({
      insnOff: fdv.getUint32(i * funcRec, true),
      typeId: fdv.getUint32(i * funcRec + 4, true),
    })),
    lineInfo: Array.from({ length: lineRec >= 16 ? nLine : 0 }, (_, i) => ({
      insnOff: ldv.getUint32(i * lineRec, true),
      fileNameOff: ldv.getUint32(i * lineRec + 4, true),
      lineOff: ldv.getUint32(i * lineRec + 8, true),
      lineCol: ldv.getUint32(i * lineRec + 12, true),
    })),
  };
}

/** bpftool's is_prefix: `word` is a non-empty prefix of `keyword`. */
function isPrefix(word: string | undefined, keyword: string): boolean {
  return word !== undefined && word.length > 0 && keyword.startsWith(word);
}

const TAG = /^[0-9a-fA-F]{16}$/;

/** Every program whose info passes `match`, opened. */
function progsWhere(match: (info: ReturnType<typeof readProgramInfo>) => boolean): FD[] {
  const out: FD[] = [];
  for (const id of objIds("prog")) {
    let fd: FD;
    try {
      fd = objFromId("prog", id);
    } catch (e) {
      if (e instanceof SyscallError && e.code === "ENOENT") continue;
      throw e;
    }
    if (match(readProgramInfo(fd.value))) out.push(fd);
    else fd.close();
  }
  return out;
}

/** bpftool's prog_parse_fds: the programs PROG names, and the words after it. */
function parseProgs(words: string[]): { fds: FD[]; rest: string[] } {
  const [kw, value] = words;
  if (value === undefined) {
    throw new InvalidArgumentError(
      `prog dump: expected PROG (id N, pinned PATH, tag TAG or name NAME), got "${
        words.join(" ")
      }"`,
    );
  }
  const rest = words.slice(2);
  if (isPrefix(kw, "id")) {
    const id = Number(value);
    if (!/^\d+$/.test(value) || id > 0xffffffff) {
      throw new InvalidArgumentError(`prog dump: "${value}" is not a program id`);
    }
    return { fds: [openById("prog", id)], rest };
  }
  if (isPrefix(kw, "pinned")) {
    const fd = objGet(value);
    if (fdinfoField(fd.value, "prog_type") === undefined) {
      fd.close();
      throw new InvalidArgumentError(
        `prog dump: ${value} is not a pinned program (bpftool: incorrect object type)`,
      );
    }
    return { fds: [fd], rest };
  }
  let fds: FD[];
  if (isPrefix(kw, "tag")) {
    if (!TAG.test(value)) {
      throw new InvalidArgumentError(`prog dump: "${value}" is not a tag (16 hex digits)`);
    }
    fds = progsWhere((info) => info.tag === value.toLowerCase());
  } else if (isPrefix(kw, "name")) {
    if (value.length > 15) {
      throw new InvalidArgumentError(`prog dump: "${value}" is longer than a program name (15)`);
    }
    fds = progsWhere((info) => info.name === value);
  } else {
    throw new InvalidArgumentError(
      `prog dump: expected id, pinned, tag or name, got "${kw}"`,
    );
  }
  if (!fds.length) {
    throw new NotFoundError(
      `program ${kw} ${value}`,
      `no program has ${kw} ${value}; list them with "prog list"`,
    );
  }
  return { fds, rest };
}

interface DumpOptions extends XlatedOptions {
  jited: boolean;
  file?: string;
  visual?: boolean;
  json: boolean;
}

type Keyword = { file?: string; visual?: boolean } & XlatedOptions;

/** The one keyword bpftool 7.1 takes after PROG: file FILE, opcodes, visual or linum. */
function parseKeyword(
  words: string[],
  jited: boolean,
  many: boolean,
): Keyword {
  const [w] = words;
  const expected = `expected one of file FILE, opcodes${jited ? "" : ", visual"} or linum`;
  const arity = isPrefix(w, "file") ? 2 : 1;
  if (words.length > arity) {
    throw new InvalidArgumentError(
      `prog dump: "${words.join(" ")}": bpftool 7.1 takes one keyword after PROG (${expected})`,
    );
  }
  if (w === undefined) return {};
  if (arity === 2) {
    if (words.length < 2) throw new InvalidArgumentError("prog dump: expected file path");
    if (many) {
      throw new InvalidArgumentError("prog dump: several programs matched; 'file' takes one");
    }
    return { file: words[1] };
  }
  if (isPrefix(w, "opcodes")) return { opcodes: true };
  if (isPrefix(w, "linum")) return { linum: true };
  if (!jited && isPrefix(w, "visual")) {
    if (many) {
      throw new InvalidArgumentError("prog dump: several programs matched; 'visual' takes one");
    }
    return { visual: true };
  }
  throw new InvalidArgumentError(`prog dump: unexpected "${w}"; ${expected}`);
}

function btfOf(id: number): Spec | undefined {
  return id ? loadedBtfSpec(id) : undefined;
}

const hex2 = (b: number) => b.toString(16).padStart(2, "0");

/** The JITed code of one function as bytes, 16 to a line (see the module doc). */
function jitedPlain(code: Uint8Array): string {
  let s = "";
  for (let at = 0; at < code.length; at += 16) {
    s += `${at.toString(16).padStart(4)}:\t${
      Array.from(code.subarray(at, at + 16), hex2).join(" ")
    }\n`;
  }
  return s;
}

function jitedJson(w: JsonWriter, code: Uint8Array): void {
  w.startArray();
  for (let at = 0; at < code.length; at += 16) {
    w.startObject();
    w.stringField("pc", `0x${at.toString(16)}`);
    w.name("opcodes");
    w.startArray();
    for (const b of code.subarray(at, at + 16)) w.string(`0x${hex2(b)}`);
    w.endArray();
    w.endObject();
  }
  w.endArray();
}

function dumpJited(w: JsonWriter | undefined, info: DumpInfo, btf: Spec | undefined): string {
  const ksyms = info.jitedKsyms.length ? loadBpftoolKsyms() : undefined;
  const lens = info.jitedFuncLens.length ? info.jitedFuncLens : [info.code.length];
  let out = "";
  let at = 0;
  if (w) w.startArray();
  lens.forEach((len, i) => {
    const address = info.jitedKsyms[i];
    const name = !ksyms || address === undefined
      ? "unknown"
      : ksyms.find(address) ?? `0x${address.toString(16).padStart(16, "0")}`;
    const rec = info.funcInfo[i];
    const proto = btf && rec ? btfTypeOnly(btf, rec.typeId) : "";
    const code = info.code.subarray(at, at + len);
    at += len;
    if (w) {
      w.startObject();
      if (proto) w.stringField("proto", proto);
      w.stringField("name", name);
      w.name("insns");
      jitedJson(w, code);
      w.endObject();
    } else out += `${proto ? `${proto}:\n` : ""}${name}:\n${jitedPlain(code)}\n`;
  });
  if (w) w.endArray();
  return out;
}

/** One program's dump (what bpftool's prog_dump prints); JSON goes to `w`. */
function dumpOne(fd: FD, opts: DumpOptions, w: JsonWriter | undefined): string {
  const info = readDumpInfo(fd.value, opts.jited);
  if (!info.code.length) {
    throw new NotSupportedError(
      opts.jited ? "prog dump jited" : "prog dump xlated",
      opts.jited
        ? "the kernel returned no JITed code (is the program JITed? is kernel.kptr_restrict set?)"
        : "the kernel returned no instructions (is kernel.kptr_restrict set?)",
    );
  }
  if (opts.file !== undefined) {
    Deno.writeFileSync(opts.file, info.code, { mode: 0o600 });
    w?.raw("null");
    return "";
  }
  const btf = btfOf(info.btfId);
  if (opts.jited) return dumpJited(w, info, btf);
  if (opts.visual) return xlatedCfg(info.code, loadBpftoolKsyms());
  const prog: XlatedProgram = {
    insns: info.code,
    btf,
    funcInfo: info.funcInfo,
    lineInfo: info.lineInfo,
    jitedKsyms: info.jitedKsyms,
    ksyms: loadBpftoolKsyms(),
  };
  if (w) {
    xlatedJson(w, prog, opts);
    return "";
  }
  return xlatedPlain(prog, opts);
}

/** `prog dump xlated|jited PROG [file FILE] [opcodes] [linum] [-j|-p]`. */
export function progDumpCommand(args: string[]): number {
  const opts = bpftoolArgs(args);
  const [mode, ...words] = opts.words;
  const jited = isPrefix(mode, "jited");
  if (!jited && !isPrefix(mode, "xlated")) {
    throw new InvalidArgumentError(`prog dump: expected 'xlated' or 'jited', got "${mode ?? ""}"`);
  }
  const { fds, rest } = parseProgs(words);
  try {
    const many = fds.length > 1;
    const dump: DumpOptions = { ...parseKeyword(rest, jited, many), jited, json: opts.json };
    if (dump.visual && opts.json) {
      throw new InvalidArgumentError("prog dump: 'visual' is not compatible with JSON output");
    }
    const w = opts.json ? jsonWriter(opts) : undefined;
    if (w && many) w.startArray();
    let out = "";
    fds.forEach((fd, i) => {
      if (w && many) {
        w.startObject();
        progHeaderJson(w, readProgramInfo(fd.value));
        w.name("insns");
      } else if (many) out += progPlain(fd).split("\n")[0] + "\n";
      out += dumpOne(fd, dump, w);
      if (w && many) w.endObject();
      else if (many && i !== fds.length - 1) out += "\n";
    });
    if (w && many) w.endArray();
    writeOut(w ? w.text() : out);
  } finally {
    for (const fd of fds) fd.close();
  }
  return 0;
}
