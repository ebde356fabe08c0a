// Shared helpers for the benchmark scripts: compiling the C references,
// medians, and a private bpffs mount.

/** Compiles C `sources` into `out` with gcc; returns the binary's path. */
export async function compileC(
  sources: string[],
  out: string,
  libs: string[] = [],
): Promise<string> {
  const r = await new Deno.Command("cc", {
    args: ["-O2", "-o", out, ...sources, ...libs],
    stderr: "piped",
  }).output();
  if (!r.success) throw new Error(`cc failed: ${new TextDecoder().decode(r.stderr)}`);
  return out;
}

/** The median of `xs`. */
export function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

/** Mounts a private bpffs in a temp dir; dispose unmounts and removes it. */
export async function privateBpffs(): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix: "denobpf-bench-bpffs-" });
  const m = await new Deno.Command("mount", { args: ["-t", "bpf", "bpf", path] }).output();
  if (!m.success) throw new Error(`mount -t bpf failed: ${new TextDecoder().decode(m.stderr)}`);
  return {
    path,
    async [Symbol.asyncDispose]() {
      await new Deno.Command("umount", { args: [path] }).output();
      await Deno.remove(path, { recursive: true });
    },
  };
}

/** A temporary folder; disposing removes it with what it holds. */
export async function tempDir(prefix: string): Promise<{ path: string } & AsyncDisposable> {
  const path = await Deno.makeTempDir({ prefix });
  return {
    path,
    async [Symbol.asyncDispose]() {
      await Deno.remove(path, { recursive: true });
    },
  };
}

/**
 * Builds bench/attach_tracepoint_ticker.c into `dir` and runs it: a getpid
 * every 200 µs, so that a getpid probe sees a call as soon as it is
 * attached. Disposing stops it.
 */
export async function getpidTicker(dir: string): Promise<AsyncDisposable> {
  const source = new URL("attach_tracepoint_ticker.c", import.meta.url).pathname;
  const child = new Deno.Command(await compileC([source], `${dir}/ticker`), { stdout: "null" })
    .spawn();
  return {
    async [Symbol.asyncDispose]() {
      child.kill();
      await child.status;
    },
  };
}

/** Formats a ratio like `1.23×`. */
export function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(2)}×`;
}

/**
 * Milliseconds from spawn to the first non-empty stdout line other than
 * bpftrace's "Attaching N probes..." (then the child gets SIGINT and is
 * awaited).
 */
export async function firstLine(
  cmd: string,
  args: string[],
  options: { cwd?: string } = {},
): Promise<number> {
  const t0 = performance.now();
  const child = new Deno.Command(cmd, { args, cwd: options.cwd, stdout: "piped", stderr: "null" })
    .spawn();
  const dec = new TextDecoder();
  let text = "";
  let ms = NaN;
  for await (const chunk of child.stdout) {
    text += dec.decode(chunk, { stream: true });
    const lines = text.split("\n").slice(0, -1);
    if (lines.some((l) => l !== "" && !l.startsWith("Attaching "))) {
      ms = performance.now() - t0;
      break;
    }
  }
  try {
    child.kill("SIGINT");
  } catch {
    // already ended
  }
  await child.status;
  if (Number.isNaN(ms)) throw new Error(`${cmd} ${args.join(" ")} printed no line: ${text}`);
  return ms;
}

/**
 * Runs each of `runs` once (warming caches), then `rounds` rounds of all of
 * them interleaved; each one's results by name.
 */
export async function interleaved(
  runs: Record<string, () => Promise<number>>,
  rounds: number,
): Promise<Record<string, number[]>> {
  const times: Record<string, number[]> = Object.fromEntries(
    Object.keys(runs).map((k) => [k, []]),
  );
  for (const run of Object.values(runs)) await run();
  for (let i = 0; i < rounds; i++) {
    for (const [name, run] of Object.entries(runs)) times[name].push(await run());
  }
  return times;
}

/** Prints a markdown table of each run's median and its ratio to `reference`'s. */
export function printVs(title: string, times: Record<string, number[]>, reference: string): void {
  const base = median(times[reference]);
  console.log(`| ${title} | median | vs ${reference} |`);
  console.log("|---|---|---|");
  for (const [name, xs] of Object.entries(times)) {
    const m = median(xs);
    console.log(`| ${name} | ${m.toFixed(0)} ms | ${ratio(m, base)} |`);
  }
}
