// Fixtures for the exporter tests: `deno task cli export …` started as a
// child, optionally behind a command prefix (e.g. `unshare --mount` with the
// bind mounts a pod would have), read until it listens.

import assert from "node:assert/strict";

const root = new URL("../", import.meta.url);

/** A running `cli.ts export`. */
export interface ExportRun {
  /** Its /metrics URL (`http://127.0.0.1:PORT/metrics`). */
  url: string;
  /** SIGTERM, then the exit code and everything it printed. */
  terminate(): Promise<{ code: number; stdout: string; stderr: string }>;
}

/** Options of {@linkcode startExport}. */
export interface StartExportOptions {
  /** More `export` arguments, after `CONFIG --port 0` (e.g. `["--root", dir]`). */
  args?: string[];
  /**
   * A command that runs the exporter's command line, given as its last
   * arguments (e.g. `["unshare", "--mount", "sh", "-c", "…; exec \"$@\"", "sh"]`).
   */
  wrap?: string[];
}

/**
 * Starts `deno run -A cli.ts export CONFIG --port 0 …`; resolves once it
 * listens, with its address. When it ends first, rejects with what it printed.
 */
export async function startExport(
  config: string,
  options: StartExportOptions = {},
): Promise<ExportRun> {
  const command = [
    Deno.execPath(),
    "run",
    "-A",
    "--no-prompt",
    "cli.ts",
    "export",
    config,
    "--port",
    "0",
    ...options.args ?? [],
  ];
  const [program, ...args] = [...options.wrap ?? [], ...command];
  const child = new Deno.Command(program, {
    args,
    cwd: root,
    stdout: "piped",
    stderr: "piped",
    env: { NO_COLOR: "1" },
  }).spawn();
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  let out = "";
  const stderr = new Response(child.stderr).text();
  // Bounded: the process ends (and the stream with it) if it fails to start.
  while (!/serving .* at (http:\S+)\n/.test(out)) {
    const { value, done } = await reader.read();
    if (done) {
      await child.status;
      throw new Error(`export ended before listening:\n${out}\n${await stderr}`);
    }
    out += value;
  }
  const url = /serving .* at (http:\S+)\n/.exec(out)![1];
  return {
    url,
    async terminate() {
      child.kill("SIGTERM");
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        out += value;
      }
      const status = await child.status;
      return { code: status.code, stdout: out, stderr: await stderr };
    },
  };
}

/** `promtool check metrics` of `text`: fails the test unless it succeeds; returns what it said. */
export async function promtoolCheck(text: string): Promise<string> {
  const child = new Deno.Command("promtool", {
    args: ["check", "metrics"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(text));
  await w.close();
  const out = await child.output();
  const dec = new TextDecoder();
  const said = (dec.decode(out.stdout) + dec.decode(out.stderr)).trim();
  assert.ok(out.success, `promtool check metrics failed: ${said}`);
  return said;
}
