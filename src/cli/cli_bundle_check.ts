/**
 * Whether `src/cli/cli_bundle.js` (the whole CLI in one minified module,
 * built by `deno task bundle`) still holds the sources it was built from.
 * `cli.ts` runs the bundle when it does: Deno then reads and hashes one
 * module instead of ~200, and a `trace` prints its first line ~60 ms of
 * CPU sooner (bench/bpftrace_start.ts). When a source differs, `cli.ts`
 * runs the sources instead, so an edit takes effect at once.
 *
 * @module
 */

/**
 * One module the bundle was built from: its path relative to this folder
 * (`"mod.ts"`, `"../probe/run_script.ts"`), its size in bytes and its
 * {@linkcode fnv1a32} hash.
 */
export type BundleInput = readonly [path: string, size: number, hash: number];

/** The 32-bit FNV-1a hash of `bytes` (how the bundle records each source). */
export function fnv1a32(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

/** Options of {@linkcode staleBundleInput}. */
export interface BundleCheckOptions {
  /** The folder the inputs' paths are relative to (default: this module's). */
  base?: URL;
  /** The bundle file: a source modified after it is hashed again (default: `cli_bundle.js` in `base`). */
  bundle?: URL;
}

/**
 * The first of `inputs` whose source is no longer what the bundle was built
 * from (missing, another size, or modified after the bundle and hashed to
 * another value), or `undefined` when the bundle is up to date. A source
 * older than the bundle with its recorded size is taken as unchanged, so
 * the usual check is one `stat` per source; a fresh checkout, where every
 * file is new, reads and hashes them (~15 ms).
 */
export function staleBundleInput(
  inputs: readonly BundleInput[],
  options: BundleCheckOptions = {},
): string | undefined {
  const base = options.base ?? new URL(".", import.meta.url);
  let built: number;
  try {
    built = Deno.statSync(options.bundle ?? new URL("cli_bundle.js", base)).mtime?.getTime() ?? 0;
  } catch {
    return "cli_bundle.js";
  }
  for (const [path, size, hash] of inputs) {
    const url = new URL(path, base);
    try {
      const st = Deno.statSync(url);
      if (st.size !== size) return path;
      if ((st.mtime?.getTime() ?? Infinity) <= built) continue;
      if (fnv1a32(Deno.readFileSync(url)) !== hash) return path;
    } catch {
      return path;
    }
  }
  return undefined;
}
