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

/** Formats a ratio like `1.23×`. */
export function ratio(a: number, b: number): string {
  return `${(a / b).toFixed(2)}×`;
}
