// `deno doc` of the package's entries, shared by the tests that read the
// public surface: one `deno doc --json` and one `deno doc --lint` over every
// entry of deno.json's `exports`, each run once per test process (a Deno
// start costs 10-60 s in the VM stage's TCG guest; one run per entry was 38
// of them).

const root = new URL("../", import.meta.url);
const config = JSON.parse(Deno.readTextFileSync(new URL("deno.json", root))) as {
  exports: Record<string, string>;
};
const files = Object.values(config.exports);

/** A symbol of `deno doc --json`: its name and declarations (kinds, JSDoc tags). */
export interface DocSymbol {
  /** The exported name. */
  name: string;
  /** Its declarations. */
  declarations: {
    kind: string;
    jsDoc?: { tags?: { kind: string; doc?: string }[] };
    def?: unknown;
  }[];
}

let json: Promise<Map<string, DocSymbol[]>> | undefined;

/**
 * The symbols `deno doc --json` lists for an entry file of deno.json's
 * exports (`./mod.ts`, `./src/map/mod.ts`, …, relative to the repository).
 */
export async function docSymbols(file: string): Promise<DocSymbol[]> {
  json ??= (async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["doc", "--json", ...files],
      cwd: root.pathname,
      stdout: "piped",
      stderr: "piped",
    }).output();
    if (!out.success) {
      throw new Error(`deno doc --json: ${new TextDecoder().decode(out.stderr)}`);
    }
    const doc = JSON.parse(new TextDecoder().decode(out.stdout)) as {
      nodes: Record<string, { symbols?: DocSymbol[] }>;
    };
    return new Map(Object.entries(doc.nodes).map(([k, n]) => [k, n.symbols ?? []]));
  })();
  const symbols = (await json).get(new URL(file, root).href);
  if (!symbols) throw new Error(`${file} is not an entry of deno.json's exports`);
  return symbols;
}

let lint: Promise<{ success: boolean; errors: string[] }> | undefined;

/**
 * `deno doc --lint` over every entry at once (as JSR reads the package):
 * whether it exited 0 and its `error[…]: …` lines, each with the
 * `--> file:line:col` line that follows it.
 */
export function docLint(): Promise<{ success: boolean; errors: string[] }> {
  lint ??= (async () => {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["doc", "--lint", ...files],
      cwd: root.pathname,
      env: { NO_COLOR: "1" },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const text = new TextDecoder().decode(out.stderr);
    const errors = [...text.matchAll(/^(error\[[^\]]+\]: .*)\n\s*--> (.*)$/gm)]
      .map((m) => `${m[1]} (${m[2]})`);
    return { success: out.success, errors };
  })();
  return lint;
}
