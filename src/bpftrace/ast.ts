/**
 * The syntax tree of a bpftrace program, as {@linkcode parseBpftrace}
 * returns it. Every node carries a {@linkcode Loc}: the line and the
 * columns it spans, as bpftrace's error messages print them.
 *
 * @module
 */

/**
 * Where a node is in the source: 1-based line and column of its first
 * character, and of the character after its last (bpftrace prints
 * `LINE:COLUMN-END`). A node spanning lines ends on `endLine`.
 */
export interface Loc {
  /** Line of the first character (1-based). */
  line: number;
  /** Column of the first character (1-based). */
  column: number;
  /** Line of the last character. */
  endLine: number;
  /** Column after the last character. */
  endColumn: number;
}

/** An expression of the bpftrace language. */
export type BtExpr =
  | { kind: "int"; loc: Loc; value: bigint }
  | { kind: "string"; loc: Loc; value: string }
  | { kind: "ident"; loc: Loc; name: string }
  | { kind: "builtin"; loc: Loc; name: string }
  | { kind: "positional"; loc: Loc; index: number }
  | { kind: "positional_count"; loc: Loc }
  | { kind: "var"; loc: Loc; name: string }
  | { kind: "map"; loc: Loc; name: string; keys?: BtExpr[] }
  | { kind: "call"; loc: Loc; name: string; args: BtExpr[] }
  | { kind: "unary"; loc: Loc; operator: "-" | "~" | "!" | "*"; arg: BtExpr }
  | { kind: "incdec"; loc: Loc; operator: "++" | "--"; prefix: boolean; arg: BtExpr }
  | { kind: "binary"; loc: Loc; operator: string; left: BtExpr; right: BtExpr }
  | { kind: "ternary"; loc: Loc; cond: BtExpr; then: BtExpr; else: BtExpr }
  | { kind: "field"; loc: Loc; base: BtExpr; name: string; arrow: boolean }
  | { kind: "index"; loc: Loc; base: BtExpr; index: BtExpr }
  | { kind: "cast"; loc: Loc; head: Loc; type: string; arg: BtExpr }
  | { kind: "tuple"; loc: Loc; elems: BtExpr[] }
  | { kind: "sizeof"; loc: Loc; type: string };

/** A statement of a probe's body. */
export type BtStmt =
  | { kind: "expr"; loc: Loc; expr: BtExpr }
  | {
    kind: "assign";
    loc: Loc;
    target: BtExpr & { kind: "map" | "var" };
    /** `"="`, or a compound operator such as `"+="`. */
    operator: string;
    /** Where the operator is (bpftrace's location of an assignment). */
    opLoc: Loc;
    value: BtExpr;
  }
  | { kind: "if"; loc: Loc; cond: BtExpr; then: BtStmt[]; else?: BtStmt[] }
  | { kind: "unroll"; loc: Loc; head: Loc; count: BtExpr; body: BtStmt[] }
  | { kind: "while"; loc: Loc; head: Loc; cond: BtExpr; body: BtStmt[] }
  | { kind: "jump"; loc: Loc; word: "break" | "continue" | "return" }
  | { kind: "block"; loc: Loc; body: BtStmt[] };

/** One attach point as written (`kprobe:vfs_read`, `BEGIN`, `i:s:1`). */
export interface BtAttachPoint {
  /** The text as written, after positional parameters are substituted. */
  raw: string;
  /** Where it is. */
  loc: Loc;
  /**
   * Where bpftrace's semantic checks place it (`tracepoint not found`):
   * from the end of the token before it (the `,`, the previous probe's
   * `}`, or the program's start), the space and comments between included.
   */
  checkLoc?: Loc;
}

/** A probe: attach points, an optional predicate and a body. */
export interface BtProbe {
  /** The attach points (`a, b { … }` has two). */
  points: BtAttachPoint[];
  /** The predicate between slashes. */
  predicate?: BtExpr;
  /** The statements of the body. */
  body: BtStmt[];
  /** Where the probe is (its first attach point). */
  loc: Loc;
}

/** A C struct or union defined in the script. */
export interface BtStructDef {
  /** `"struct X"` or `"union X"`. */
  name: string;
  /** Members in order with their C type spelling (`"char[16]"`, `"struct Y *"`). */
  members: { name: string; type: string; loc: Loc }[];
  /** Where it is. */
  loc: Loc;
}

/** A whole program. */
export interface BtProgram {
  /** The header names of `#include <…>` lines, in order. */
  includes: string[];
  /** Structs and unions the script defines. */
  structs: BtStructDef[];
  /** The probes in source order. */
  probes: BtProbe[];
  /** Object-like macros of `#define` lines (name to replacement text). */
  defines: Map<string, string>;
}
