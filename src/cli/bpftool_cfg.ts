/**
 * `prog dump xlated PROG visual`: bpftool 7.1's control-flow graph in DOT
 * (cfg.c): functions split at bpf-to-bpf call targets, basic blocks split at
 * jumps (JMP and JMP32 classes; `gotol` read by its `off`, as 7.1 reads it)
 * and their targets, an ENTRY and an EXIT block per function, fall-through and jump
 * edges, and each block's instructions as bpftool's dump_xlated_for_graph
 * prints them (numbered from the function's start, without kallsyms names of
 * subprograms, each line cut at 63 characters, `<>|&` escaped).
 *
 * @module
 */

import type { BpftoolKsyms } from "./bpftool_ksyms.ts";
import { formatXlatedInsn } from "./bpftool_xlated.ts";

interface Block {
  /** Instruction index of the head; -1 for ENTRY, -2 for EXIT. */
  head: number;
  tail: number;
  idx: number;
  succs: Block[];
}

interface Func {
  start: number;
  end: number;
  idx: number;
  blocks: Block[];
}

/** cfg.c's is_jmp_insn: the JMP and JMP32 classes. */
const isJmp = (code: number) => (code & 7) === 0x05 || (code & 7) === 0x06;

/** Inserts `at` into a list kept sorted by `key`, unless there; returns the element. */
function sortedInsert<T>(list: T[], key: (t: T) => number, at: number, make: () => T): T {
  let i = 0;
  for (; i < list.length; i++) {
    const k = key(list[i]);
    if (k === at) return list[i];
    if (k > at) break;
  }
  const t = make();
  list.splice(i, 0, t);
  return t;
}

function buildCfg(dv: DataView, n: number): Func[] {
  const funcs: Func[] = [];
  let count = 0;
  const addFunc = (start: number) =>
    sortedInsert(funcs, (f) => f.start, start, () => ({ start, end: 0, idx: count++, blocks: [] }));
  addFunc(0);
  for (let i = 0; i < n; i++) {
    const target = i + dv.getInt16(i * 8 + 2, true) + 1;
    // (A target outside the program, which the kernel never hands out, is left out.)
    if (
      dv.getUint8(i * 8) === 0x85 && dv.getUint8(i * 8 + 1) >> 4 === 1 && target < n && target >= 0
    ) {
      addFunc(target);
    }
  }
  funcs.forEach((f, i) => f.end = i + 1 < funcs.length ? funcs[i + 1].start - 1 : n - 1);
  for (const f of funcs) {
    const addBlock = (head: number) =>
      sortedInsert(f.blocks, (b) => b.head, head, () => ({ head, tail: 0, idx: 0, succs: [] }));
    addBlock(f.start);
    for (let i = f.start; i <= f.end; i++) {
      const code = dv.getUint8(i * 8);
      if (!isJmp(code)) continue;
      const op = code & 0xf0;
      if (op === 0x90 || op === 0x80) continue; // exit, call
      const target = i + dv.getInt16(i * 8 + 2, true) + 1;
      if (target >= 0 && target < n) addBlock(target);
      if (op !== 0x00 && i + 1 < n) addBlock(i + 1);
    }
    f.blocks.forEach((b, i) => {
      b.tail = i + 1 < f.blocks.length ? f.blocks[i + 1].head - 1 : f.end;
      b.idx = i + 2;
    });
    const entry: Block = { head: -1, tail: -1, idx: 0, succs: [] };
    const exit: Block = { head: -2, tail: -2, idx: 1, succs: [] };
    const real = f.blocks;
    f.blocks = [entry, ...real, exit];
    entry.succs.push(f.blocks[1]);
    const byHead = (h: number) => real.find((b) => b.head === h);
    real.forEach((b, i) => {
      const next = f.blocks[i + 2];
      const code = b.tail >= 0 && b.tail < n ? dv.getUint8(b.tail * 8) : 0;
      const op = code & 0xf0;
      const target = () => byHead(b.tail + dv.getInt16(b.tail * 8 + 2, true) + 1);
      if (!isJmp(code) || op === 0x90) b.succs.push(next);
      else if (op === 0x00) {
        const t = target();
        if (t) b.succs.push(t);
      } else {
        b.succs.push(next);
        const t = target();
        if (t) b.succs.push(t);
      }
    });
  }
  return funcs;
}

/** print_insn_for_graph: the text cut to 63 characters, then newline and `<>|&` escaped. */
function graphText(text: string): string {
  return (text + "\n").slice(0, 63).replace(
    /[\n<>|&]/g,
    (c) => (c === "\n" ? "\\l\\\n" : `\\${c}`),
  );
}

function blockLabel(b: Block, f: Func, insns: Uint8Array, ksyms: BpftoolKsyms): string {
  let s = "";
  let wide = false;
  for (let i = b.head; i <= b.tail; i++) {
    if (wide) {
      wide = false;
      continue;
    }
    wide = insns[i * 8] === 0x18;
    s += ` ${i - f.start}`.padStart(4) + ": ";
    s += graphText(formatXlatedInsn(insns.subarray(i * 8), { ksyms }));
    if (i !== b.tail) s += " | ";
  }
  return s;
}

/** bpftool 7.1's `visual` DOT output of xlated instructions `insns`. */
export function xlatedCfg(insns: Uint8Array, ksyms: BpftoolKsyms): string {
  const dv = new DataView(insns.buffer, insns.byteOffset, insns.byteLength);
  const n = Math.floor(insns.byteLength / 8);
  let out = 'digraph "DOT graph for eBPF program" {\n';
  for (const f of buildCfg(dv, n)) {
    out += `subgraph "cluster_${f.idx}" {\n\tstyle="dashed";\n\tcolor="black";\n` +
      `\tlabel="func_${f.idx} ()";\n`;
    for (const b of f.blocks) {
      const shape = b.idx < 2 ? "Mdiamond" : "record";
      const label = b.idx === 0
        ? "ENTRY"
        : b.idx === 1
        ? "EXIT"
        : `{${blockLabel(b, f, insns, ksyms)}}`;
      out += `\tfn_${f.idx}_bb_${b.idx} [shape=${shape},style=filled,label="${label}"];\n\n`;
    }
    for (const b of f.blocks) {
      for (const s of b.succs) {
        out += `\tfn_${f.idx}_bb_${b.idx}:s -> fn_${f.idx}_bb_${s.idx}:n ` +
          `[style="solid,bold", color=black, weight=10, constraint=true];\n`;
      }
    }
    out += `\tfn_${f.idx}_bb_0:s -> fn_${f.idx}_bb_1:n [style="invis", constraint=true];\n}\n`;
  }
  return out + "}\n";
}
