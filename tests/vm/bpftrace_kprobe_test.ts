// Issue 14's kprobe-only bpftrace programs, in the guest kernel (the host has
// no kprobes): `deno run -A cli.ts trace` against `bpftrace` on the same `-c`
// workload. Each case compares the `Attaching N probes...` line and the
// workload's lines or map keys:
// - the tutorial's kprobe one-liner (do_nanosleep, filtered on the workload's
//   comm so that the guest's other sleepers do not print), pids normalized;
// - the tutorial's kretprobe histogram (`hist(retval)` of vfs_read, by dd):
//   the whole output, byte for byte.
// - Debian's /usr/sbin/vfscount.bt, unchanged (kprobe:vfs_*: one kprobe per
//   function, 6.1 has no kprobe_multi): its counts are system-wide, so the
//   test compares the Attaching line, the BEGIN line and dd's short keys
//   (`func` keys longer than the first function's name come out cut, e.g.
//   @[vfs_getattr_nos]: a back-end issue).
// Every test is ignored outside the guest (see tests/vm/_fixtures.ts).

import assert from "node:assert/strict";
import { haveFeature } from "../../src/features/mod.ts";
import { runTimed } from "../_helpers.ts";
import { vmTest } from "./_fixtures.ts";

/** Runs the same arguments through `bpftrace` and `deno run -A cli.ts trace`; both must succeed. */
async function both(args: string[]): Promise<[string, string]> {
  assert.ok(haveFeature("kprobes"), "the guest kernel has kprobes");
  const theirs = await runTimed("bpftrace", args, { seconds: 300 });
  const ours = await runTimed(Deno.execPath(), ["run", "-A", "cli.ts", "trace", ...args], {
    seconds: 300,
  });
  assert.equal(theirs.code, 0, `bpftrace: ${theirs.stderr}`);
  assert.equal(ours.code, 0, `trace: ${ours.stderr}\nstdout:\n${ours.stdout}`);
  return [theirs.stdout, ours.stdout];
}

/** The workload: 100 reads and 100 writes of 1 KiB (its report goes to stderr). */
const DD = "/usr/bin/dd if=/dev/zero of=/dev/null bs=1k count=100";

vmTest("trace matches bpftrace: kprobe one-liner (tutorial, do_nanosleep)", async () => {
  const [theirs, ours] = await both([
    "-c",
    "/usr/bin/sleep 0.1",
    "-e",
    'kprobe:do_nanosleep /comm == "sleep"/ { printf("PID %d sleeping...\\n", pid); }',
  ]);
  const norm = (s: string) => s.replace(/PID \d+/g, "PID N");
  assert.match(theirs, /^Attaching 1 probe\.\.\.\nPID \d+ sleeping\.\.\.\n/);
  assert.equal(norm(ours), norm(theirs));
});

vmTest("trace matches bpftrace: kretprobe hist(retval) of vfs_read (tutorial)", async () => {
  const [theirs, ours] = await both([
    "-c",
    DD,
    "-e",
    'kretprobe:vfs_read /comm == "dd"/ { @bytes = hist(retval); }',
  ]);
  assert.match(theirs, /^Attaching 1 probe\.\.\./);
  assert.equal(ours, theirs);
});

/** `@[key]: count` lines of a printed map, as a key → count record. */
function counts(stdout: string): Map<string, number> {
  return new Map([...stdout.matchAll(/^@\[(\w+)\]: (\d+)$/gm)].map(([, k, v]) => [k, Number(v)]));
}

vmTest("trace runs /usr/sbin/vfscount.bt unchanged as bpftrace does", async () => {
  const [theirs, ours] = await both(["/usr/sbin/vfscount.bt", "-c", DD]);
  const head = (s: string) => s.split("\n").slice(0, 2);
  assert.match(
    theirs,
    /^Attaching \d+ probes\.\.\.\nTracing VFS calls\.\.\. Hit Ctrl-C to end\.\n/,
  );
  assert.deepEqual(head(ours), head(theirs));
  // dd's 100 reads and 100 writes are in both (other processes add to them)
  for (const [tool, out] of [["bpftrace", theirs], ["trace", ours]]) {
    const c = counts(out);
    for (const key of ["vfs_read", "vfs_write"]) {
      assert.ok((c.get(key) ?? 0) >= 100, `${tool} @[${key}]:\n${out}`);
    }
  }
});
