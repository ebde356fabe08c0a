/**
 * `denobpf trace`: bpftrace's command line on the bpftrace compiler of
 * `src/bpftrace/`: `trace -e 'PROGRAM'`, `trace FILE.bt`, positional
 * parameters after the program, `-p PID`, `-c CMD`, `-l [PATTERN]` (with
 * `-v`). Prints `Attaching N probes...`, what the script prints, and the
 * maps at exit, on Ctrl-C, or when the `-c` command or `-p` process ends.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { ProbeCompileError, ProbeNotFoundError } from "../probe/errors.ts";
import { VerifierError } from "../program/errors.ts";
import { BpftraceError, checkPoints, compileBpftrace, countProbes } from "../bpftrace/mod.ts";
import { interrupted } from "../sys/signals.ts";
import { readTextFile } from "../sys/file.ts";

const USAGE = `USAGE:
    denobpf trace [options] filename [args…]
    denobpf trace [options] -e 'program' [args…]
    denobpf trace [options] - [args…]     (the program on stdin)
    denobpf trace -l [PATTERN]

OPTIONS:
    -e 'program'   the program
    -p PID         uprobes and USDT of this process; ends when it ends
    -c 'CMD'       runs CMD, ends when it ends
    -l [PATTERN]   lists probes (-v: with tracepoint fields)
    -q             no 'Attaching N probes...' line
    --unsafe       allows system() and signal()
`;

interface TraceArgs {
  program?: string;
  file?: string;
  pid?: number;
  command?: string;
  list?: boolean;
  verbose?: boolean;
  quiet?: boolean;
  unsafe?: boolean;
  params: string[];
}

/**
 * Parses bpftrace's options: `-e X`, `-pX`/`-p X`, `-c X`, `-l`, `-v`, and
 * the file and parameters, in any order (options after the file too, as
 * bpftrace's getopt takes them; after `--` every word is a parameter).
 */
export function parseTraceArgs(given: readonly string[]): TraceArgs {
  // -lv is -l -v
  const end = given.indexOf("--");
  const args = given.flatMap((a, i) =>
    (end < 0 || i < end) && /^-[lvq]{2,}$/.test(a) ? [...a.slice(1)].map((c) => `-${c}`) : [a]
  );
  const out: TraceArgs = { params: [] };
  // as bpftrace's getopt: options may follow the file (`tool.bt -c CMD`); `--` ends them
  const positional: string[] = [];
  let i = 0;
  const value = (flag: string, rest: string): string => {
    if (rest) return rest;
    if (i + 1 >= args.length) throw new InvalidArgumentError(`trace: ${flag} needs a value`);
    return args[++i];
  };
  for (; i < args.length; i++) {
    const a = args[i];
    if (a === "--") {
      i++;
      break;
    }
    if (!a.startsWith("-") || a === "-") {
      positional.push(a);
      continue;
    }
    if (a === "--unsafe") {
      out.unsafe = true;
      continue;
    }
    const flag = a.slice(0, 2), rest = a.slice(2);
    switch (flag) {
      case "-e":
        out.program = value(flag, rest);
        break;
      case "-p": {
        const v = value(flag, rest);
        if (!/^[0-9]+$/.test(v)) {
          throw new InvalidArgumentError(`trace: -p needs a process id, not '${v}'`);
        }
        out.pid = Number(v);
        break;
      }
      case "-c":
        out.command = value(flag, rest);
        break;
      case "-l":
        out.list = true;
        if (rest) throw new InvalidArgumentError(`trace: unknown option ${a}`);
        break;
      case "-v":
        out.verbose = true;
        break;
      case "-q":
        out.quiet = true;
        break;
      case "-o":
      case "-f":
      case "-B":
      case "-k":
      case "-d":
        throw new InvalidArgumentError(`trace: bpftrace's option ${flag} is not supported yet`);
      default:
        throw new InvalidArgumentError(`trace: unknown option ${a} (see denobpf trace --help)`);
    }
  }
  const rest = [...positional, ...args.slice(i)];
  if (out.verbose && !out.list) {
    throw new InvalidArgumentError(
      "trace: -v is supported only with -l (bpftrace's verbose run is not)",
    );
  }
  if (out.list) {
    if (rest.length > 1) throw new InvalidArgumentError("trace -l takes at most one pattern");
    out.program = rest[0];
    return out;
  }
  if (out.program === undefined) {
    if (!rest.length) {
      throw new InvalidArgumentError("trace: no program given (-e 'PROGRAM' or FILE.bt)");
    }
    out.file = rest.shift();
  }
  out.params = rest;
  return out;
}

/** Runs `denobpf trace …`; returns the exit code. */
export async function traceCommand(args: string[]): Promise<number> {
  if (args.length === 0 || args[0] === "--help" || args[0] === "-h") {
    console.log(USAGE);
    return args.length ? 0 : 1;
  }
  const opts = parseTraceArgs(args);
  const write = stdoutWriter();
  if (opts.list) {
    const { listProbes } = await import("../probe/expand.ts");
    const lines = await listProbes(opts.program, {
      pid: opts.pid,
      verbose: opts.verbose,
      onWarning: (m) => console.error(`WARNING: ${m}`),
    });
    write(lines.map((l) => l + "\n").join(""));
    return 0;
  }
  // The back end loads while the script compiles.
  const backend = import("../probe/run_script.ts");
  backend.catch(() => {});
  // bpftrace - reads the program from stdin and names it stdin
  const source = opts.file === undefined
    ? opts.program!
    : opts.file === "-"
    ? await new Response(Deno.stdin.readable).text()
    : readTextFile(opts.file);
  const file = opts.file === undefined || opts.file === "-" ? undefined : opts.file;
  // -c: the command starts stopped (its pid is cpid) and goes on once every probe is attached
  const child = opts.command === undefined ? undefined : spawnStopped(opts.command);
  try {
    return await traceScript(opts, { source, file, child, backend, write });
  } finally {
    if (child) {
      try {
        child.kill("SIGKILL");
      } catch {
        // already ended
      }
      await child.status;
    }
  }
}

async function traceScript(
  opts: TraceArgs,
  run: {
    source: string;
    file?: string;
    child?: Deno.ChildProcess;
    backend: Promise<typeof import("../probe/run_script.ts")>;
    write: StdoutWriter;
  },
): Promise<number> {
  const { source, file, child, backend, write } = run;
  const warnOut = (report: string) => Deno.stderr.writeSync(new TextEncoder().encode(report));
  let ir;
  let leftOut = 0;
  try {
    ir = compileBpftrace(source, {
      file,
      params: opts.params,
      pid: opts.pid,
      cpid: child?.pid,
      unsafe: opts.unsafe,
      // bpftrace prints its warnings on stderr as its analyser finds them
      warn: warnOut,
    });
    // as bpftrace: missing tracepoints and binaries are errors; uprobes on
    // functions a (stripped) binary lacks, and empty uprobe globs, are left out
    ir = await checkPoints(ir, {
      source,
      file,
      pid: opts.pid,
      warn: warnOut,
      onLeftOut: () => leftOut++,
    });
  } catch (e) {
    if (!(e instanceof BpftraceError)) throw e;
    Deno.stderr.writeSync(new TextEncoder().encode(e.report));
    return 1;
  }
  if (!ir.probes.length) {
    write("No probes to attach\n");
    return 1;
  }
  // bpftrace counts a tracepoint it has warned is missing, then fails to open it
  const n = opts.quiet ? 0 : leftOut + await countProbes(ir, { pid: opts.pid });
  // Printed once the back end has accepted the script (a type error prints
  // no such line, as with bpftrace), before anything BEGIN prints.
  let attaching = opts.quiet ? "" : `Attaching ${n} probe${n === 1 ? "" : "s"}...\n`;
  const output = (text: string) => {
    write(attaching + text);
    attaching = "";
  };
  using stop = interrupted();
  const { runScript } = await backend;
  let started;
  try {
    started = await runScript(ir, {
      output,
      onSkip: (point) => warnOut(`WARNING: could not attach probe ${point}, skipping.\n`),
    });
  } catch (e) {
    // bpftrace prints the line after its semantic checks, before loading
    // and attaching: a verifier refusal or an attach failure comes after it
    if (!refusedBeforeAttach(e)) output("");
    throw e;
  }
  await using handle = started;
  output("");
  const ended = new AbortController();
  const abort = () => ended.abort();
  stop.addEventListener("abort", abort);
  write.onBroken = abort;
  let poll: ReturnType<typeof setInterval> | undefined;
  if (child) {
    child.status.then(abort, abort);
    await resume(child.pid);
  }
  if (opts.pid !== undefined) {
    const pid = opts.pid;
    poll = setInterval(() => {
      try {
        Deno.statSync(`/proc/${pid}`);
      } catch {
        abort();
      }
    }, 200);
  }
  try {
    await handle.run({ signal: ended.signal });
  } finally {
    if (poll !== undefined) clearInterval(poll);
    stop.removeEventListener("abort", abort);
  }
  return write.broken ? 141 : 0; // as a shell reports bpftrace's death by SIGPIPE
}

/** Writes to stdout; once the reader has gone (EPIPE) it drops output and calls `onBroken`. */
interface StdoutWriter {
  (text: string): void;
  /** Whether stdout's reader has gone. */
  broken: boolean;
  /** Called once when it goes (`| head` has read enough): the trace stops. */
  onBroken: () => void;
}

function stdoutWriter(): StdoutWriter {
  const utf8 = new TextEncoder();
  const write = ((text: string) => {
    if (write.broken) return;
    try {
      let p = utf8.encode(text);
      while (p.length) p = p.subarray(Deno.stdout.writeSync(p));
    } catch (e) {
      if (!(e instanceof Deno.errors.BrokenPipe)) throw e;
      write.broken = true;
      write.onBroken();
    }
  }) as StdoutWriter;
  write.broken = false;
  write.onBroken = () => {};
  return write;
}

/** Starts `command` (split on spaces, as bpftrace splits it) stopped by SIGSTOP, through sh. */
function spawnStopped(command: string): Deno.ChildProcess {
  const words = command.trim().split(/\s+/);
  return new Deno.Command("/bin/sh", {
    args: ["-c", 'kill -STOP $$ && exec "$@"', "sh", ...words],
    stdin: "inherit",
    stdout: "inherit",
    stderr: "inherit",
  }).spawn();
}

/**
 * Sends SIGCONT once the child has stopped itself (its state in /proc/PID/stat
 * is T). It waits for as long as that takes: a SIGCONT sent before the stop
 * is lost, and the command would then stay stopped and the trace never end.
 * The shell either stops or exits (when `kill -STOP` fails), so the wait ends.
 */
async function resume(pid: number): Promise<void> {
  for (;;) {
    let state = "";
    try {
      const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
      state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
    } catch {
      return; // it has ended
    }
    if (state === "T" || state === "t") break;
    if (state === "Z" || state === "X") return; // it has ended, not yet reaped
    await new Promise((r) => setTimeout(r, 2));
  }
  Deno.kill(pid, "SIGCONT");
}

/** Whether the back end refused a script in its checks (a type error, an unknown point or field). */
function refusedBeforeAttach(e: unknown): boolean {
  if (e instanceof ProbeNotFoundError) return true;
  return e instanceof ProbeCompileError && !(e.cause instanceof VerifierError);
}
