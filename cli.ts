/**
 * The denobpf CLI entry point: `deno run -A cli.ts <command> …`
 * (or `deno task cli <command> …`).
 *
 * It runs `src/cli/cli_bundle.js`, the CLI in one module (`deno task
 * bundle`), while that holds the current sources: Deno then starts one
 * module instead of ~200. When a source has changed since, and Deno may
 * read it, it runs the sources (`src/cli/mod.ts`) instead.
 *
 * @module
 */

import { INPUTS, main as bundled } from "./src/cli/cli_bundle.js";
import { staleBundleInput } from "./src/cli/cli_bundle_check.ts";

/** The CLI's main: the bundle's, or the sources' when the bundle is out of date. */
async function cliMain(): Promise<(args: string[]) => Promise<number>> {
  const src = new URL("./src/", import.meta.url);
  // Without read permission neither the check nor the sources' import can run.
  if (Deno.permissions.querySync({ name: "read", path: src }).state !== "granted") return bundled;
  if (staleBundleInput(INPUTS) === undefined) return bundled;
  // A specifier Deno cannot follow before it runs: the sources are loaded only here.
  const sources = ["./src/cli/", "mod.ts"].join("");
  const mod: typeof import("./src/cli/mod.ts") = await import(sources);
  return mod.main;
}

if (import.meta.main) Deno.exit(await (await cliMain())(Deno.args));
