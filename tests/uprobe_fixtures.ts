// Builds the small C program of testdata/uprobe/ that the uprobe and USDT
// tests attach to, and runs it.

const SOURCE = new URL("../testdata/uprobe/target.c", import.meta.url).pathname;

let dir: string | undefined;
const built = new Map<string, string>();

/** Variants of the target: PIE (gcc's default here), a fixed-address executable, a hand-written USDT note. */
export type TargetKind = "pie" | "nopie" | "handnote";

/** Compiles (once per process) the target of `kind` and returns its path. */
export async function buildTarget(kind: TargetKind = "pie"): Promise<string> {
  const have = built.get(kind);
  if (have) return have;
  dir ??= await Deno.makeTempDir({ prefix: "denobpf_uprobe_" });
  const out = `${dir}/target_${kind}`;
  const flags = kind === "nopie"
    ? ["-no-pie", "-fno-pie"]
    : kind === "handnote"
    ? ["-DDENOBPF_HANDWRITTEN_NOTE"]
    : ["-fPIE", "-pie"];
  const r = await new Deno.Command("gcc", {
    args: ["-O2", "-g", ...flags, "-o", out, SOURCE],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) throw new Error(`gcc failed: ${new TextDecoder().decode(r.stderr)}`);
  built.set(kind, out);
  return out;
}

/** Removes the build directory. */
export async function cleanTargets(): Promise<void> {
  if (dir) await Deno.remove(dir, { recursive: true }).catch(() => {});
  dir = undefined;
  built.clear();
}

/** Runs the target for `n` iterations; returns its `enabled=` count (iterations that saw the USDT semaphore set). */
export async function runTarget(
  path: string,
  n: number,
): Promise<{ sum: number; enabled: number }> {
  const r = await new Deno.Command(path, { args: [String(n)], stdout: "piped" }).output();
  if (!r.success) throw new Error(`${path} failed`);
  return parseOutput(new TextDecoder().decode(r.stdout));
}

function parseOutput(text: string): { sum: number; enabled: number } {
  const m = /sum=(\d+) enabled=(\d+)/.exec(text);
  if (!m) throw new Error(`unexpected target output ${JSON.stringify(text)}`);
  return { sum: Number(m[1]), enabled: Number(m[2]) };
}

/** A target started in "wait" mode: it has a pid before it runs its loop. */
export class WaitingTarget {
  readonly child: Deno.ChildProcess;
  #out: ReadableStreamDefaultReader<Uint8Array>;
  #text = "";
  private constructor(child: Deno.ChildProcess) {
    this.child = child;
    this.#out = child.stdout.getReader();
  }
  static async start(path: string, n: number): Promise<WaitingTarget> {
    const child = new Deno.Command(path, {
      args: [String(n), "wait"],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    const t = new WaitingTarget(child);
    while (!t.#text.includes("ready\n")) {
      const { value, done } = await t.#out.read();
      if (done) throw new Error("target exited early");
      t.#text += new TextDecoder().decode(value);
    }
    return t;
  }
  get pid(): number {
    return this.child.pid;
  }
  /** Lets it run; resolves to its result. */
  async go(): Promise<{ sum: number; enabled: number }> {
    const w = this.child.stdin.getWriter();
    await w.write(new TextEncoder().encode("go\n"));
    await w.close();
    for (;;) {
      const { value, done } = await this.#out.read();
      if (done) break;
      this.#text += new TextDecoder().decode(value);
    }
    await this.child.status;
    return parseOutput(this.#text);
  }
}
