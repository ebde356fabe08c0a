// Runs every benchmark in bench/, each side by side with its C reference in
// the same run, and prints their tables. `deno task bench [name…]` runs a
// subset (names without `.ts`, e.g. `map_ops ringbuf`).

const ALL = [
  "btf_parse",
  "btf_dump",
  "prog_dump",
  "map_ops",
  "program_load",
  "collection_load",
  "ringbuf",
  "perfbuf",
  "attach_tracepoint",
  "import_cost",
  "metrics_scrape",
  "probe_list",
  "bpftrace_start",
  "script_overhead",
  "script_first_output",
];
const chosen = Deno.args.length ? Deno.args : ALL;
const here = new URL(".", import.meta.url).pathname;
let failed = 0;
for (const name of chosen) {
  if (!ALL.includes(name)) {
    console.error(`unknown benchmark ${name}; choose from ${ALL.join(", ")}`);
    Deno.exit(2);
  }
  console.log(`\n## ${name}\n`);
  const r = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${here}${name}.ts`],
    stdout: "inherit",
    stderr: "inherit",
  }).output();
  if (!r.success) {
    failed++;
    console.log(`(${name} failed with exit code ${r.code})`);
  }
}
Deno.exit(failed ? 1 : 0);
