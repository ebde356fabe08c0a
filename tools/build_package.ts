// Builds the package as JSR gets it: the files `deno publish` takes (the
// sources, README, LICENSE, examples), plus every `exports` entry as
// JavaScript under js/, bundled by `deno bundle` with code splitting (one
// module per entry, shared chunks, so a class exported by two entries is one
// class) and minified, and each typed by its TypeScript entry (`@ts-self-types`). The
// package's deno.json points `exports` at the JavaScript. Deno runs a
// TypeScript module through its transpile cache, which costs a script ~4x
// what the same code costs as one minified module (bench/import_cost.ts);
// types, docs and `deno check` still come from the TypeScript.
//
//   deno task package                        build into .package/
//   deno task package --out DIR              build into DIR
//   deno task package --publish [--dry-run]  build in a temporary folder (outside the
//                                            repository, whose .gitignore names .package/),
//                                            then deno publish from it
//
// The working tree is built as it is (as `deno publish` publishes it).

const root = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

/** `deno bundle` as the CLI bundle and the package use it. */
export const BUNDLE_ARGS = [
  "bundle",
  "--quiet",
  "--no-config",
  "--platform",
  "deno",
  // Names are minified too: errors carry theirs from the source (nameError in src/errors.ts).
  "--minify",
];

/** The folder JavaScript entries are written to, inside the package. */
export const JS_DIR = "js";

interface DenoJson {
  name: string;
  exports: Record<string, string>;
  publish?: { exclude?: string[]; include?: string[] };
  [key: string]: unknown;
}

/** What {@linkcode buildPackage} built. */
export interface BuiltPackage {
  /** The package folder. */
  dir: string;
  /** The package's name (`@denobpf/ebpf`). */
  name: string;
  /** Each export: its TypeScript source and the JavaScript module the package exports. */
  entries: { key: string; source: string; js: string }[];
}

/** Runs `cmd` in `cwd`; its standard output, or an error with its standard error (or output). */
export async function run(cmd: string, args: string[], cwd: string): Promise<Uint8Array> {
  const o = await new Deno.Command(cmd, { args, cwd, stdout: "piped", stderr: "piped" }).output();
  if (!o.success) {
    const text = new TextDecoder().decode(o.stderr) || new TextDecoder().decode(o.stdout);
    throw new Error(`${cmd} ${args.join(" ")} failed: ${text}`);
  }
  return o.stdout;
}

/** The name an entry is imported by (`@denobpf/ebpf`, `@denobpf/ebpf/probe`). */
function entryName(packageName: string, key: string): string {
  return packageName + (key === "." ? "" : key.slice(1));
}

/**
 * An import map naming each entry of the built package by its absolute
 * path, as a user's deno.json would name the published package.
 */
export function importMap(pkg: BuiltPackage): Record<string, string> {
  return Object.fromEntries(
    pkg.entries.map((e) => [entryName(pkg.name, e.key), `${pkg.dir}/${e.js}`]),
  );
}

/**
 * The files `deno publish` takes from `src`: every file but hidden ones,
 * node_modules, `*.tmp` (.gitignore) and the `publish.exclude` folders.
 */
async function publishedFiles(src: string, config: DenoJson): Promise<string[]> {
  const exclude = (config.publish?.exclude ?? []).map((p) => p.replace(/^\.\//, ""));
  const out: string[] = [];
  const walk = async (rel: string) => {
    for await (const e of Deno.readDir(rel === "" ? src : `${src}/${rel}`)) {
      const path = rel === "" ? e.name : `${rel}/${e.name}`;
      if (e.name.startsWith(".") || e.name === "node_modules" || e.name.endsWith(".tmp")) continue;
      if (exclude.some((x) => x.endsWith("/") ? `${path}/`.startsWith(x) : path === x)) continue;
      if (e.isDirectory) await walk(path);
      else if (e.isFile) out.push(path);
    }
  };
  await walk("");
  return out.sort();
}

/**
 * Builds the package from the working tree at `src` into `out` (created;
 * it must not exist or be empty).
 */
export async function buildPackage(src: string, out: string): Promise<BuiltPackage> {
  const config = JSON.parse(await Deno.readTextFile(`${src}/deno.json`)) as DenoJson;
  await Deno.mkdir(out, { recursive: true });
  for await (const _ of Deno.readDir(out)) {
    throw new Error(`${out} is not empty: give an empty or new folder (--out)`);
  }
  for (const f of await publishedFiles(src, config)) {
    const data = await Deno.readFile(`${src}/${f}`);
    const to = `${out}/${f}`;
    await Deno.mkdir(to.slice(0, to.lastIndexOf("/")), { recursive: true });
    await Deno.writeFile(to, data);
  }
  const sources = Object.entries(config.exports).map(([key, path]) => ({
    key,
    source: path.replace(/^\.\//, ""),
  }));
  await run(Deno.execPath(), [
    ...BUNDLE_ARGS,
    "--format",
    "esm",
    "--code-splitting",
    "--outdir",
    JS_DIR,
    ...sources.map((s) => s.source),
  ], out);
  const entries: BuiltPackage["entries"] = [];
  const exports: Record<string, string> = {};
  for (const { key, source } of sources) {
    const js = `${JS_DIR}/${source.replace(/\.ts$/, ".js")}`;
    const depth = js.split("/").length - 1;
    const types = `${"../".repeat(depth)}${source}`;
    const code = await Deno.readTextFile(`${out}/${js}`);
    await Deno.writeTextFile(
      `${out}/${js}`,
      `// @ts-self-types="${types}"\n` +
        `// Generated by tools/build_package.ts from ${source} (deno bundle): do not edit.\n` +
        code,
    );
    exports[key] = `./${js}`;
    entries.push({ key, source, js });
  }
  config.exports = exports;
  // The package's own examples import it by name: to its JavaScript too.
  const imports = config.imports as Record<string, string> | undefined;
  for (const e of entries) {
    const name = entryName(config.name, e.key);
    if (imports?.[name] !== undefined) imports[name] = `./${e.js}`;
  }
  await Deno.writeTextFile(`${out}/deno.json`, JSON.stringify(config, null, 2) + "\n");
  return { dir: out, name: config.name, entries };
}

if (import.meta.main) {
  const args = [...Deno.args];
  const at = args.indexOf("--out");
  const publishing = args.includes("--publish");
  // deno publish reads the .gitignore of the repository around it, which ignores .package/:
  // a package to publish is built outside the repository.
  const tmp = publishing && at < 0
    ? await Deno.makeTempDir({ prefix: "denobpf-package-" })
    : undefined;
  const out = at >= 0 ? args[at + 1] : tmp ? `${tmp}/package` : `${root}/.package`;
  if (at >= 0 && (out === undefined || out.startsWith("--"))) {
    console.error("--out needs a folder");
    Deno.exit(2);
  }
  if (at < 0 && !tmp) await Deno.remove(out, { recursive: true }).catch(() => {});
  let code = 0;
  try {
    const built = await buildPackage(root, out);
    console.log(`built ${built.dir}: ${built.entries.length} entries as JavaScript in ${JS_DIR}/`);
    if (publishing) {
      const publish = ["publish", "--allow-dirty"];
      if (args.includes("--dry-run")) publish.push("--dry-run");
      const o = await new Deno.Command(Deno.execPath(), {
        args: publish,
        cwd: out,
        stdout: "inherit",
        stderr: "inherit",
      }).output();
      code = o.code;
    }
  } finally {
    // the temporary folder goes whether the build or the publish failed
    if (tmp) await Deno.remove(tmp, { recursive: true });
  }
  Deno.exit(code);
}
