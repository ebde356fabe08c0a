// Runs a bpftrace program made of BEGIN blocks (no event needed) and
// returns what it printed after its "Attaching N probe(s)..." line: the
// oracle of the output tests. When bpftrace cannot run at all (not
// installed), the caller's captured copy is the expected text instead.

/** What {@linkcode bpftraceBegin} returns. */
export interface BeginOutput {
  /** The text after the "Attaching" line (printf output, then "\n\n" and the maps). */
  text: string;
  /** Whether bpftrace ran (false: `text` is the captured copy). */
  live: boolean;
}

/**
 * bpftrace's stdout for `program` (which should call exit()), without the
 * "Attaching 1 probe...\n" line. `captured` is returned when bpftrace is
 * not installed; any other failure throws with its stderr.
 */
export async function bpftraceBegin(program: string, captured: string): Promise<BeginOutput> {
  let out: Deno.CommandOutput;
  try {
    out = await new Deno.Command("bpftrace", {
      args: ["-e", program],
      stdout: "piped",
      stderr: "piped",
      env: { BPFTRACE_NO_CPP_DEMANGLE: "1" },
    }).output();
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return { text: captured, live: false };
    throw e;
  }
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`bpftrace failed: ${new TextDecoder().decode(out.stderr)}\n${stdout}`);
  }
  return { text: stdout.replace(/^Attaching \d+ probes?\.\.\.\n/, ""), live: true };
}
