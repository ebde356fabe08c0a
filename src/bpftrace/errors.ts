/**
 * The error of the bpftrace compiler: a message with a position, printed
 * the way bpftrace prints its errors.
 *
 * @module
 */

import { ParseError } from "../errors.ts";
import type { Loc } from "./ast.ts";

/**
 * A bpftrace program does not parse, fails a semantic check, or uses a
 * construct this compiler does not support yet (the message names it).
 * `report` is the text bpftrace prints for the same error:
 * `FILE:LINE:COLUMN-END: ERROR: message`, the source line and a `~~~`
 * marker under the span (a span over several lines prints
 * `FILE:LINE-ENDLINE: ERROR: message` alone).
 */
export class BpftraceError extends ParseError {
  /** Where in the source, when known. */
  readonly loc?: Loc;
  /** The message without position (as after `ERROR: `). */
  readonly detail: string;
  /** The whole text bpftrace prints for this error (ends with a newline). */
  readonly report: string;
  /**
   * Creates the error for `detail` at `loc` in `source` named `file`;
   * `also` are errors found after it, whose reports follow its own (as
   * bpftrace goes on after a lexer error and prints the parser's).
   */
  constructor(
    detail: string,
    where: { loc?: Loc; source?: string; file?: string },
    options?: { cause?: unknown; also?: readonly BpftraceError[] },
  ) {
    const file = where.file ?? "stdin";
    const loc = where.loc;
    super(
      "bpftrace",
      loc ? `${file}:${position(loc)}: ${detail}` : `${file}: ${detail}`,
      { cause: options?.cause },
    );
    this.loc = loc;
    this.detail = detail;
    this.report = formatReport(detail, file, loc, where.source) +
      (options?.also ?? []).map((e) => e.report).join("");
  }
}

function position(loc: Loc): string {
  return loc.endLine !== loc.line
    ? `${loc.line}-${loc.endLine}`
    : `${loc.line}:${loc.column}-${loc.endColumn}`;
}

/** bpftrace's error text: the position line, then the source line with a marker. */
function formatReport(detail: string, file: string, loc?: Loc, source?: string): string {
  if (!loc) return `${file}: ERROR: ${detail}\n`;
  const head = `${file}:${position(loc)}: ERROR: ${detail}\n`;
  if (loc.endLine !== loc.line || source === undefined) return head;
  const text = source.split("\n")[loc.line - 1] ?? "";
  const expand = (s: string) => s.replaceAll("\t", "    ");
  const before = expand(text.slice(0, loc.column - 1)).replace(/./g, " ");
  const marker = before + "~".repeat(Math.max(0, loc.endColumn - loc.column));
  return `${head}${expand(text)}\n${marker}\n`;
}
