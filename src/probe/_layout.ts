// Structs declared by a script (bpftrace's `struct X { … }`), laid out with
// C rules, and reads of their members through a pointer held in a stack
// slot: the accesses the code generator emits for `((struct X *)p)->a.b`.

import { loadKernelSpec } from "../btf/kernel.ts";
import type { Access, IntAccess, LoadSize } from "./_access.ts";
import { castType } from "./_int_types.ts";
import { ProbeCompileError, ProbeNotFoundError } from "./errors.ts";
import { closeMatches } from "./format.ts";
import type { IrStructDecl } from "./ir.ts";

/** A member's place and type. */
interface Field {
  name: string;
  offset: number;
  size: number;
  align: number;
  /** int: its sign; str: a char array; ptr: a pointer; record: a declared struct by value. */
  kind: "int" | "str" | "ptr" | "record" | "opaque";
  signed?: boolean;
  record?: string;
}

interface Layout {
  size: number;
  align: number;
  fields: Map<string, Field>;
}

function fail(message: string, expr: string): never {
  throw new ProbeCompileError(message, { expression: expr });
}

/** Lays out the script's structs (by name, `"struct X"`), members in C order and alignment. */
export class DeclaredStructs {
  #decls: Map<string, IrStructDecl>;
  #layouts = new Map<string, Layout>();

  /** The structs a script declares. */
  constructor(decls: readonly IrStructDecl[] = []) {
    this.#decls = new Map(decls.map((d) => [norm(d.name), d]));
  }

  /** Whether the script declares `name` (`"struct X"`). */
  has(name: string): boolean {
    return this.#decls.has(norm(name));
  }

  #type(spelling: string, expr: string): Omit<Field, "name" | "offset"> {
    const t = spelling.trim().replace(/\s+/g, " ");
    const arr = /^(.*?)\s*\[(\d+)\]$/.exec(t);
    if (arr) {
      const elem = this.#type(arr[1], expr);
      const n = Number(arr[2]);
      const char = elem.kind === "int" && elem.size === 1;
      return { size: elem.size * n, align: elem.align, kind: char ? "str" : "opaque" };
    }
    if (t.endsWith("*")) return { size: 8, align: 8, kind: "ptr" };
    const int = castType(t.replace(/^(const|volatile) /, ""));
    if (int?.kind === "int") {
      return { size: int.size, align: int.size, kind: "int", signed: int.signed };
    }
    const rec = /^(?:const )?((?:struct|union) \w+)$/.exec(t);
    if (rec && this.has(rec[1])) {
      const l = this.layout(rec[1], expr);
      return { size: l.size, align: l.align, kind: "record", record: rec[1] };
    }
    if (rec) {
      // A kernel type by value: its size from BTF, aligned as its size allows (up to 8).
      const [kind, name] = rec[1].split(" ");
      const spec = loadKernelSpec();
      const id = spec.typeIdByName(name, kind as "struct");
      if (id === undefined) fail(`${expr}: no ${rec[1]} in the script or kernel BTF`, expr);
      const size = spec.sizeOf(id);
      const align = size % 8 === 0 ? 8 : size % 4 === 0 ? 4 : size % 2 === 0 ? 2 : 1;
      return { size, align, kind: "opaque" };
    }
    fail(`${expr}: unknown type ${t} in a struct declared by the script`, expr);
  }

  /** The layout of a declared struct. */
  layout(name: string, expr: string): Layout {
    const key = norm(name);
    const done = this.#layouts.get(key);
    if (done) return done;
    const d = this.#decls.get(key);
    if (!d) fail(`${expr}: the script declares no ${name}`, expr);
    const union = d.union || key.startsWith("union ");
    const fields = new Map<string, Field>();
    let off = 0;
    let align = 1;
    let size = 0;
    for (const m of d.members) {
      const t = this.#type(m.type, expr);
      const at = union ? 0 : Math.ceil(off / t.align) * t.align;
      fields.set(m.name, { name: m.name, offset: at, ...t });
      off = at + t.size;
      size = Math.max(size, off);
      align = Math.max(align, t.align);
    }
    const l = { size: Math.ceil(size / align) * align, align, fields };
    this.#layouts.set(key, l);
    return l;
  }

  /**
   * Reads `path` (`".a.b"`, `".name"`) from a declared struct that the
   * pointer at fp+`slot` points to, from kernel or user memory.
   */
  read(
    record: string,
    path: string,
    options: { slot: number; strlen: number; expr: string; space: "kernel" | "user" },
  ): Access {
    const { expr, space } = options;
    const ptr: IntAccess = {
      type: "int",
      src: { from: "slot", offset: options.slot },
      size: 8,
      signed: false,
    };
    let offset = 0;
    let cur = record;
    const names = path.split(".").filter(Boolean);
    for (let i = 0; i < names.length; i++) {
      const l = this.layout(cur, expr);
      const f = l.fields.get(names[i]);
      if (!f) {
        throw new ProbeNotFoundError(
          `member ${names[i]} of ${cur}`,
          closeMatches(names[i], [...l.fields.keys()]),
          `${expr}: ${cur} (declared by the script) has no member "${names[i]}"`,
        );
      }
      offset += f.offset;
      const last = i === names.length - 1;
      const load = (size: LoadSize, signed: boolean): IntAccess => ({
        type: "int",
        src: { from: "mem", space, ptr, offset, load: size },
        size,
        signed,
      });
      if (last) {
        if (f.kind === "int") return load(f.size as LoadSize, f.signed ?? false);
        if (f.kind === "ptr") return load(8, false);
        if (f.kind === "str") {
          return {
            type: "str",
            src: { from: "mem", space, ptr, offset },
            len: Math.ceil(Math.min(f.size, options.strlen) / 8) * 8,
          };
        }
        fail(`${expr}: ${names[i]} is a struct; read one of its members`, expr);
      }
      if (f.kind === "record") {
        cur = f.record!;
      } else {
        fail(`${expr}: ${names[i]} of ${cur} has no members to follow`, expr);
      }
    }
    fail(`${expr}: read a member of ${record}`, expr);
  }
}

function norm(name: string): string {
  return name.trim().replace(/\s+/g, " ");
}
