/**
 * The denobpf CLI entry point: `deno run -A cli.ts <command> …`
 * (or `deno task cli <command> …`).
 *
 * @module
 */

import { main } from "./src/cli/mod.ts";

if (import.meta.main) Deno.exit(await main(Deno.args));
