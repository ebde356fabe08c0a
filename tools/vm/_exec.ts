// Small helpers to run host commands from the VM runner.

/** What a finished command produced. */
export interface ExecResult {
  /** Exit code (or 128 + signal number when killed by a signal). */
  code: number;
  /** Standard output, decoded as UTF-8. */
  stdout: string;
  /** Standard error, decoded as UTF-8. */
  stderr: string;
}

/** Options for {@linkcode exec}. */
export interface ExecOptions {
  /** Working directory. */
  cwd?: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Let the command write straight to this process's stdout and stderr. */
  inherit?: boolean;
}

/**
 * Runs `cmd args…` to completion. A missing executable gives code 127 (like a
 * shell) instead of throwing.
 */
export async function exec(
  cmd: string,
  args: string[],
  options: ExecOptions = {},
): Promise<ExecResult> {
  const io = options.inherit ? "inherit" : "piped";
  try {
    const out = await new Deno.Command(cmd, {
      args,
      cwd: options.cwd,
      env: options.env,
      stdin: "null",
      stdout: io,
      stderr: io,
    }).output();
    const dec = new TextDecoder();
    return {
      code: out.signal ? 128 + signalNumber(out.signal) : out.code,
      stdout: options.inherit ? "" : dec.decode(out.stdout),
      stderr: options.inherit ? "" : dec.decode(out.stderr),
    };
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) {
      return { code: 127, stdout: "", stderr: `${cmd}: command not found` };
    }
    throw e;
  }
}

/** Like {@linkcode exec} but throws with the command's stderr when it fails. */
export async function execOk(
  cmd: string,
  args: string[],
  options: ExecOptions = {},
): Promise<string> {
  const r = await exec(cmd, args, options);
  if (r.code !== 0) {
    const detail = (r.stderr || r.stdout).trim().split("\n").slice(-5).join("\n");
    throw new Error(
      `${cmd} ${args.join(" ")} exited with ${r.code}${detail ? `:\n${detail}` : ""}`,
    );
  }
  return r.stdout;
}

function signalNumber(sig: Deno.Signal): number {
  const table: Partial<Record<Deno.Signal, number>> = {
    SIGHUP: 1,
    SIGINT: 2,
    SIGQUIT: 3,
    SIGABRT: 6,
    SIGKILL: 9,
    SIGSEGV: 11,
    SIGTERM: 15,
  };
  return table[sig] ?? 0;
}

/** Whether `path` exists (following symlinks). */
export async function exists(path: string): Promise<boolean> {
  try {
    await Deno.stat(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
