/**
 * The error of the bpftrace compiler: a message with a position, printed
 * the way bpftrace prints its errors.
 *
 * @module
 */

import { nameError, ParseError } from "../errors.ts";
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
  static {
    nameError(this, "BpftraceError");
  }
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

/**
 * bpftrace's text of an error or a warning (`kind`): the position line,
 * then the source line (tabs as 4 spaces) with a marker under the span,
 * both cut at the line's end (an empty line prints neither).
 */
export function formatReport(
  detail: string,
  file: string,
  loc?: Loc,
  source?: string,
  kind: "ERROR" | "WARNING" = "ERROR",
): string {
  if (!loc) return `${file}: ${kind}: ${detail}\n`;
  const head = `${file}:${position(loc)}: ${kind}: ${detail}\n`;
  if (loc.endLine !== loc.line || source === undefined) return head;
  const text = source.split("\n")[loc.line - 1] ?? "";
  if (text === "") return head;
  let marker = "";
  for (let x = 0; x < text.length && x < loc.endColumn - 1; x++) {
    const c = x < loc.column - 1 ? " " : "~";
    marker += text[x] === "\t" ? c.repeat(4) : c;
  }
  return `${head}${text.replaceAll("\t", "    ")}\n${marker}\n`;
}
