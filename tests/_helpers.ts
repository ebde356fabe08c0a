// Helpers shared by the test files: a private bpffs mount for pinning, byte
// concatenation, and the modules an entry loads.

/** A bpffs mounted on a fresh temporary directory. */
export interface TempBpffs extends AsyncDisposable {
  /** Where it is mounted. */
  readonly path: string;
  /** Unmounts it and removes the directory. */
  close(): Promise<void>;
}

/** Mounts a private bpffs on a fresh temp dir (named with `prefix`); dispose or `close()` to remove it. */
export async function mountBpffs(prefix = "denobpf_bpffs_"): Promise<TempBpffs> {
  const path = await Deno.makeTempDir({ prefix });
  const out = await new Deno.Command("mount", { args: ["-t", "bpf", "bpf", path] }).output();
  if (!out.success) {
    await Deno.remove(path);
    throw new Error(`mount -t bpf failed: ${new TextDecoder().decode(out.stderr)}`);
  }
  const close = async () => {
    await new Deno.Command("umount", { args: [path] }).output();
    await Deno.remove(path, { recursive: true });
  };
  return { path, close, [Symbol.asyncDispose]: close };
}

/** The bytes of `parts`, one after the other. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}

/**
 * The files (relative to the repository) a `deno run` of `entry` (a path
 * relative to the repository) evaluates: its static, non-type imports, from
 * `deno info --json`. A dynamic `import()` counts only when called.
 */
export async function loadedModules(entry: string): Promise<string[]> {
  return (await loadedModulesOfEach([entry]))[0];
}

/**
 * {@linkcode loadedModules} of each entry, from one `deno info --json` (a
 * Deno start costs 5-20 s under the VM stage's TCG): of a module importing
 * them all, each entry's modules followed from its own place in the graph.
 */
export async function loadedModulesOfEach(entries: string[]): Promise<string[][]> {
  const root = new URL("../", import.meta.url);
  const dir = await Deno.makeTempDir({ prefix: "denobpf_info_" });
  let info: {
    modules: {
      specifier: string;
      dependencies?: { code?: { specifier: string }; isDynamic?: boolean }[];
    }[];
  };
  try {
    const all = `${dir}/all.ts`;
    await Deno.writeTextFile(
      all,
      entries.map((e) => `import ${JSON.stringify(new URL(e, root).href)};\n`).join(""),
    );
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["info", "--json", "--no-config", all],
      cwd: root.pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`deno info ${entries.join(" ")}: ${new TextDecoder().decode(out.stderr)}`);
    }
    info = JSON.parse(new TextDecoder().decode(out.stdout));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  const bySpec = new Map(info.modules.map((m) => [m.specifier, m]));
  return entries.map((entry) => {
    const loaded = new Set<string>();
    const todo = [new URL(entry, root).href];
    while (todo.length) {
      const s = todo.pop()!;
      if (loaded.has(s)) continue;
      loaded.add(s);
      for (const d of bySpec.get(s)?.dependencies ?? []) {
        if (d.code && !d.isDynamic) todo.push(d.code.specifier);
      }
    }
    return [...loaded].map((s) => s.replace(root.href, "")).sort();
  });
}

/**
 * Fails with a clear message when `cmd` is not on PATH: the tools the tests
 * compare with are installed by tools/setup.ts (`deno task test` runs it), so a
 * missing one is a broken setup, never a reason to skip.
 */
export function requireTool(cmd: string, pkg = cmd): void {
  const found = new Deno.Command("sh", { args: ["-c", `command -v ${cmd}`], stdout: "null" })
    .outputSync().success;
  if (!found) {
    throw new Error(
      `${cmd} is not installed: run \`deno run -A tools/setup.ts\` (it installs the Debian package ${pkg}), or \`apt-get install -y ${pkg}\``,
    );
  }
}

/** What a command run by {@linkcode runTimed} printed and how it ended. */
export interface TimedRun {
  /** Exit code (124: `timeout` interrupted it). */
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs `cmd` from the repository root under `timeout -s INT SECONDS` (a hang
 * ends as Ctrl-C would end it), with LC_ALL=C: no locale files, whose names
 * sit in libc pages a probe may find not yet faulted in.
 */
export async function runTimed(
  cmd: string,
  args: string[],
  options: { seconds?: number } = {},
): Promise<TimedRun> {
  const out = await new Deno.Command("timeout", {
    args: ["-s", "INT", String(options.seconds ?? 60), cmd, ...args],
    cwd: new URL("../", import.meta.url).pathname,
    env: { LC_ALL: "C" },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const dec = new TextDecoder();
  return { code: out.code, stdout: dec.decode(out.stdout), stderr: dec.decode(out.stderr) };
}

/** Whether the tests run in the VM stage's 6.1 guest (tools/vm/run.ts sets DENOBPF_VM=1). */
export const IN_VM: boolean = Deno.env.get("DENOBPF_VM") === "1";

/**
 * The fast-check run count (or sample size) for a property of pure code: a
 * parser, a formatter or a codec whose code is the same on every kernel,
 * compared with a tool that is too. On the host it is `host`, the full count;
 * in the VM stage's 6.1 guest (DENOBPF_VM=1, QEMU under TCG, 5-10x slower and
 * each tool process a slow start) a quarter of it and at least 20: the host
 * run has already searched the full count on the identical code. Properties
 * that reach the kernel keep their count: use a literal there.
 */
export function pureRuns(host: number): number {
  return IN_VM ? Math.max(20, Math.ceil(host / 4)) : host;
}
