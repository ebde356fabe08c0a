// Probe listing, whole process: `deno run --allow-ffi` of a script that
// prints listProbes(PATTERN) (what `deno task cli trace -l` loads) against
// `bpftrace -l PATTERN`, interleaved in one run, medians over N rounds, for
// a tracepoint glob, a uprobe glob over libc (with its debug file), the
// struct names of kernel BTF and a probe-type wildcard. Both print the same
// lines (tests/probe_expand_test.ts checks it); the outputs are compared
// here too, so a row never times two different answers.
//
//   deno run -A bench/probe_list.ts [rounds]

import { median, ratio } from "./_util.ts";

const rounds = Number(Deno.args[0] ?? 7);
if (!Number.isInteger(rounds) || rounds < 1) {
  console.error(`rounds must be a positive integer, got ${Deno.args[0]}`);
  Deno.exit(2);
}

const PATTERNS = [
  "tracepoint:sched:*",
  "uprobe:libc:mall*",
  "struct task_s*",
  "sched_pi*",
];

const expand = new URL("../src/probe/expand.ts", import.meta.url).href;
const child = await Deno.makeTempFile({ prefix: "denobpf-bench-list-", suffix: ".ts" });
await Deno.writeTextFile(
  child,
  `import { listProbes } from ${JSON.stringify(expand)};\n` +
    `const lines = await listProbes(Deno.args[0]);\n` +
    `if (lines.length) console.log(lines.join("\\n"));\n`,
);

/** Wall time (ms) and stdout of one command. */
async function timed(cmd: string, args: string[]): Promise<{ ms: number; out: string }> {
  const t0 = performance.now();
  const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).output();
  const ms = performance.now() - t0;
  if (!r.success) throw new Error(`${cmd} ${args.join(" ")} failed (${r.code})`);
  return { ms, out: new TextDecoder().decode(r.stdout) };
}

try {
  console.log(`| pattern | denobpf (ms) | bpftrace -l (ms) | ratio | lines |`);
  console.log(`| --- | --- | --- | --- | --- |`);
  for (const pattern of PATTERNS) {
    const ours: number[] = [];
    const theirs: number[] = [];
    let lines = 0;
    for (let i = 0; i < rounds; i++) {
      const a = await timed(Deno.execPath(), ["run", "--allow-ffi", "--no-prompt", child, pattern]);
      const b = await timed("bpftrace", ["-l", pattern]);
      if (a.out !== b.out) throw new Error(`${pattern}: the outputs differ`);
      ours.push(a.ms);
      theirs.push(b.ms);
      lines = a.out.split("\n").length - 1;
    }
    const [o, t] = [median(ours), median(theirs)];
    console.log(
      `| \`${pattern}\` | ${o.toFixed(0)} | ${t.toFixed(0)} | ${ratio(o, t)} | ${lines} |`,
    );
  }
} finally {
  await Deno.remove(child);
}
