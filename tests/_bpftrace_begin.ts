// Runs a bpftrace program made of BEGIN blocks (no event needed) and
// returns what it printed after its "Attaching N probe(s)..." line: the
// oracle of the output tests. bpftrace is installed by tools/setup.ts: when
// it is missing, the test fails saying so (the captured copies document what
// bpftrace 0.17 printed; they are not a silent stand-in).

/** What {@linkcode bpftraceBegin} returns. */
export interface BeginOutput {
  /** The text after the "Attaching" line (printf output, then "\n\n" and the maps). */
  text: string;
  /** Whether bpftrace ran (always true: a missing bpftrace throws). */
  live: boolean;
}

/**
 * bpftrace's stdout for `program` (which should call exit()), without the
 * "Attaching 1 probe...\n" line. `captured` is what bpftrace 0.17 printed
 * (named in the error when bpftrace is missing); a failure throws with its stderr.
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
    if (e instanceof Deno.errors.NotFound) {
      throw new Error(
        "bpftrace (the oracle of this test) is not installed: tools/setup.ts installs it " +
          `(apt-get install -y bpftrace); it printed, as captured:\n${captured}`,
      );
    }
    throw e;
  }
  const stdout = new TextDecoder().decode(out.stdout);
  if (!out.success) {
    throw new Error(`bpftrace failed: ${new TextDecoder().decode(out.stderr)}\n${stdout}`);
  }
  return { text: stdout.replace(/^Attaching \d+ probes?\.\.\.\n/, ""), live: true };
}

/** A running bpftrace: see {@linkcode startBpftrace}. */
export interface RunningBpftrace {
  /** Waits for bpftrace to exit (the script's own exit()) and returns what it printed after "ready". */
  output(): Promise<string>;
}

/**
 * Starts bpftrace on `script` with a BEGIN block that prints "ready", and
 * returns once it has printed it (every probe attached).
 */
export async function startBpftrace(script: string): Promise<RunningBpftrace> {
  let child: Deno.ChildProcess;
  try {
    child = new Deno.Command("bpftrace", {
      args: ["-e", `BEGIN { printf("ready\\n"); } ${script}`],
      stdout: "piped",
      stderr: "piped",
    }).spawn();
  } catch (e) {
    throw new Error(
      `bpftrace (the oracle of this test) cannot run: ${e}; tools/setup.ts installs it`,
    );
  }
  const reader = child.stdout.getReader();
  const decoder = new TextDecoder();
  let text = "";
  while (!text.includes("ready\n")) {
    const { value, done } = await reader.read();
    if (done) {
      const err = new TextDecoder().decode((await child.output()).stderr);
      throw new Error(`bpftrace ended before attaching: ${err}`);
    }
    text += decoder.decode(value, { stream: true });
  }
  return {
    async output(): Promise<string> {
      let rest = text.slice(text.indexOf("ready\n") + 6);
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        rest += decoder.decode(value, { stream: true });
      }
      const status = await child.status;
      await child.stderr.cancel();
      if (!status.success) throw new Error(`bpftrace failed (${status.code})`);
      return rest;
    },
  };
}
