// What the CLI tests share: running cli.ts and bpftool side by side, and the
// BPF object a libbpf-tools binary embeds.

import assert from "node:assert/strict";

/** cli.ts's path. */
export const CLI = new URL("../cli.ts", import.meta.url).pathname;
const d = new TextDecoder();

/** Runs `cmd` with `args`: its exit code, stdout and stderr. */
export async function run(
  cmd: string,
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  const o = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  return { code: o.code, out: d.decode(o.stdout), err: d.decode(o.stderr) };
}

/** Runs `cli.ts args` in a new `deno run -A` process (exit code, stdout, stderr). */
export function runCliProcess(
  args: string[],
): Promise<{ code: number; out: string; err: string }> {
  return run(Deno.execPath(), ["run", "-A", "--no-prompt", CLI, ...args]);
}

let cliQueue: Promise<unknown> = Promise.resolve();

/**
 * Runs the CLI's `main(args)` in this process (exit code, stdout, stderr):
 * what a test compares with bpftool is the command's output, not the process
 * around it, and each `deno run` costs a Deno start (10-60 s under the VM
 * stage's TCG). Whatever the command writes through `console` or
 * `Deno.stdout`/`Deno.stderr` while it runs is captured; calls run one at a
 * time. Tests about the process itself (exit status seen by a shell,
 * permissions, signals) use {@linkcode runCliProcess}.
 */
export function runCli(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const next = cliQueue.then(() => captured(args));
  cliQueue = next.catch(() => {});
  return next;
}

async function captured(args: string[]): Promise<{ code: number; out: string; err: string }> {
  const { main } = await import("../src/cli/mod.ts");
  const out: string[] = [];
  const err: string[] = [];
  const text = (parts: unknown[]) =>
    parts.map((p) => typeof p === "string" ? p : Deno.inspect(p)).join(" ") + "\n";
  const sink = (to: string[]) => ({
    writeSync(b: Uint8Array): number {
      to.push(d.decode(b));
      return b.length;
    },
    write(b: Uint8Array): Promise<number> {
      return Promise.resolve(this.writeSync(b));
    },
  });
  const saved = { log: console.log, info: console.info, error: console.error, warn: console.warn };
  Object.assign(Deno.stdout, sink(out));
  Object.assign(Deno.stderr, sink(err));
  console.log = console.info = (...p: unknown[]) => void out.push(text(p));
  console.error = console.warn = (...p: unknown[]) => void err.push(text(p));
  try {
    const code = await main(args);
    return { code, out: out.join(""), err: err.join("") };
  } finally {
    Object.assign(console, saved);
    for (const s of [Deno.stdout, Deno.stderr]) {
      delete (s as { write?: unknown }).write;
      delete (s as { writeSync?: unknown }).writeSync;
    }
  }
}

/** bpftool's stdout; a failure fails the test. */
export async function bpftool(args: string[]): Promise<string> {
  const r = await run("bpftool", args);
  assert.equal(r.code, 0, `bpftool ${args.join(" ")}: ${r.err}`);
  return r.out;
}

/** cli.ts's stdout (run in this process, see {@linkcode runCli}); a failure fails the test. */
export async function cli(args: string[]): Promise<string> {
  const r = await runCli(args);
  assert.equal(r.code, 0, `cli.ts ${args.join(" ")}: ${r.err}`);
  return r.out;
}

/**
 * The BPF object a libbpf-tools binary embeds (its skeleton's copy of the
 * `.o`): the ELF header inside the file whose machine is EM_BPF, up to the
 * end of its section header table.
 */
export function embeddedObject(path: string): Uint8Array {
  const b = Deno.readFileSync(path);
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = b.indexOf(0x7f, 1); i >= 0 && i + 64 <= b.length; i = b.indexOf(0x7f, i + 1)) {
    const magic = b[i + 1] === 0x45 && b[i + 2] === 0x4c && b[i + 3] === 0x46;
    // ELFCLASS64, little-endian, e_machine EM_BPF (247).
    if (!magic || b[i + 4] !== 2 || b[i + 5] !== 1 || dv.getUint16(i + 18, true) !== 247) continue;
    const shoff = Number(dv.getBigUint64(i + 0x28, true));
    const end = i + shoff + dv.getUint16(i + 0x3a, true) * dv.getUint16(i + 0x3c, true);
    return b.slice(i, end);
  }
  throw new Error(`${path} embeds no BPF object`);
}
