/**
 * Reading the verifier's log: the short summary a {@linkcode VerifierError}
 * carries (the line that says why the program was rejected, the instruction
 * it was at, and the `processed N insns` statistics line).
 *
 * @module
 */

const PROCESSED = /^processed \d+ insns/;
// "12: (61) r0 = *(u32 *)(r1 +0)" (log level 1 and 2; level 2 appends "  ; R0=…").
const INSN = /^\d+: \([0-9a-f]{2}\) /;
// Register-state lines ("0: R1=ctx() R10=fp0", "from 3 to 5: …") and the other
// bookkeeping the verifier prints around an instruction.
const STATE =
  /^(?:\d+: R\d|from \d+ to \d+:|\d+: safe$|; |mark_precise|last_idx|verification time|stack depth|Live regs|func#|\s+\d+: |propagating|regs=|parent (?:didn't|already)|frame\d|caller:|callee:|returning from callee|to caller at)/;

/** The parts of a verifier log that explain a rejection. */
export interface VerifierLogSummary {
  /** The verifier's reason, one or more lines joined with "; " (empty if the log has none). */
  reason: string;
  /** The instruction the verifier stopped at, e.g. `"2: (71) r3 = *(u8 *)(r2 +0)"`. */
  instruction?: string;
  /** The `processed N insns …` statistics line, if present. */
  processed?: string;
  /** A one-line summary built from the three fields above. */
  text: string;
}

/**
 * Extracts the meaningful lines of a verifier log: the reason for the
 * rejection (the lines between the last instruction and the statistics line),
 * the instruction it concerns, and the statistics line.
 *
 * @example
 * ```ts
 * const s = summarizeVerifierLog("0: R1=ctx() R10=fp0\n0: (95) exit\nR0 !read_ok\nprocessed 1 insns (limit 1000000)\n");
 * // s.text === "R0 !read_ok (at insn 0: (95) exit); processed 1 insns (limit 1000000)"
 * ```
 */
export function summarizeVerifierLog(log: string): VerifierLogSummary {
  const lines = log.split("\n").map((l) => l.replace(/\s+$/, "")).filter((l) => l !== "");
  let end = lines.length;
  let processed: string | undefined;
  for (let i = lines.length - 1; i >= 0; i--) {
    if (PROCESSED.test(lines[i])) {
      processed = lines[i];
      end = i;
      break;
    }
  }
  // Walk back from the statistics line over the reason lines, stopping at the
  // instruction (or register state) the reason belongs to.
  const reason: string[] = [];
  let instruction: string | undefined;
  for (let i = end - 1; i >= 0; i--) {
    const line = lines[i];
    if (INSN.test(line)) {
      instruction = line.replace(/\s{2,}; .*$/, "");
      break;
    }
    if (STATE.test(line)) {
      if (reason.length > 0) break;
      continue;
    }
    reason.unshift(line);
    if (reason.length >= 4) break;
  }
  // A log without the statistics line (a load refused before the walk, or a
  // truncated log): its last lines are the best explanation there is.
  if (reason.length === 0 && processed === undefined) {
    reason.push(...lines.slice(-2));
  }
  const why = reason.join("; ");
  const parts: string[] = [];
  if (why) parts.push(instruction ? `${why} (at insn ${instruction})` : why);
  if (processed) parts.push(processed);
  return { reason: why, instruction, processed, text: parts.join("; ") };
}
