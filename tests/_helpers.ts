// Helpers shared by the test files: a private bpffs mount for pinning, and
// byte concatenation.

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
