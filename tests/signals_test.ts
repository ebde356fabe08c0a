// Ending cleanly. Legacy probe events (tracefs uprobe_events, here made with
// tracefsOnly uprobes: this kernel has the uprobe PMU but no kprobes) are
// removed when their process gets SIGINT or SIGTERM, exits, or dies of an
// uncaught error, and swept by the next creation after a SIGKILL. The
// long-running examples stop on Ctrl-C / SIGTERM, print their results and
// exit 0. Every case runs a real program (tests/signals_child.ts or an
// example) as a subprocess.

import assert from "node:assert/strict";
import { createUprobeEvent, tracefsPath } from "../src/tracefs/mod.ts";
import { ensureTracefs } from "./link_fixtures.ts";

await ensureTracefs();

const CHILD = new URL("./signals_child.ts", import.meta.url).pathname;
const EXAMPLES = new URL("../examples/", import.meta.url);

/** The uprobe_events lines of process `pid` (our names end in `_<pid>_<n>`). */
function eventsOf(pid: number): string[] {
  return Deno.readTextFileSync(`${tracefsPath()}/uprobe_events`)
    .split("\n")
    .filter((l) => new RegExp(`_${pid}_\\d+ `).test(l));
}

/** A `deno run` subprocess whose output is read all along (a full pipe would block it). */
class Run {
  readonly child: Deno.ChildProcess;
  stdout = "";
  stderr = "";
  #done: Promise<void>;
  #waiters: (() => void)[] = [];

  constructor(args: string[]) {
    this.child = new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", "--no-check", ...args],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).spawn();
    this.#done = Promise.all([
      this.#pump(this.child.stdout, (t) => this.stdout += t),
      this.#pump(this.child.stderr, (t) => this.stderr += t),
    ]).then(() => {});
  }

  async #pump(stream: ReadableStream<Uint8Array>, add: (t: string) => void): Promise<void> {
    const dec = new TextDecoder();
    for await (const chunk of stream) {
      add(dec.decode(chunk, { stream: true }));
      for (const w of this.#waiters.splice(0)) w();
    }
    for (const w of this.#waiters.splice(0)) w();
  }

  get pid(): number {
    return this.child.pid;
  }

  /** Waits until stdout contains `text`; throws with the output if the process ends first. */
  async waitFor(text: string): Promise<void> {
    let ended = false;
    this.child.status.then(() => ended = true);
    while (!this.stdout.includes(text)) {
      if (ended) {
        await this.#done;
        if (this.stdout.includes(text)) return;
        throw new Error(
          `ended before printing ${JSON.stringify(text)}:\n${this.stdout}\n${this.stderr}`,
        );
      }
      await new Promise<void>((r) => {
        this.#waiters.push(r);
        this.child.status.then(() => r());
      });
    }
  }

  /** The exit status, once all output is read. */
  async status(): Promise<Deno.CommandStatus> {
    const s = await this.child.status;
    await this.#done;
    return s;
  }

  /** Kills the process if it still runs (cleanup after a failed assertion). */
  async [Symbol.asyncDispose](): Promise<void> {
    try {
      this.child.kill("SIGKILL");
    } catch { /* already ended */ }
    await this.status();
  }
}

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  Deno.test(`legacy uprobe event: removed on ${signal}, and the process still ends by ${signal}`, async () => {
    await using run = new Run([CHILD, "wait"]);
    await run.waitFor("ready");
    assert.equal(eventsOf(run.pid).length, 1, "the child defined its uprobe event");
    run.child.kill(signal);
    const status = await run.status();
    assert.equal(status.signal, signal, `ended by ${signal} (${JSON.stringify(status)})`);
    assert.deepEqual(eventsOf(run.pid), [], "no event of the child left");
  });
}

Deno.test("legacy uprobe event: left by SIGKILL, swept when another process creates one", async () => {
  const group = "denobpf_sigtest";
  const ours = (pid: number) => eventsOf(pid).filter((l) => l.includes(`:${group}/`));
  const pid = await (async () => {
    await using run = new Run([CHILD, "kill"]);
    await run.waitFor("ready");
    assert.equal(ours(run.pid).length, 1);
    run.child.kill("SIGKILL");
    assert.equal((await run.status()).signal, "SIGKILL");
    return run.pid;
  })();
  assert.equal(ours(pid).length, 1, "SIGKILL cannot be caught: the event is still defined");
  using ev = createUprobeEvent({ path: "/bin/sh", offset: 0x1000, group });
  assert.deepEqual(ours(pid), [], "the next creation removed the dead process's event");
  assert.equal(eventsOf(Deno.pid).length, 1, "and made its own");
  ev.close();
  // The child's link was on an event of the default group: swept by a creation there.
  createUprobeEvent({ path: "/bin/sh", offset: 0x1000 }).close();
  assert.deepEqual(eventsOf(pid), []);
  assert.deepEqual(eventsOf(Deno.pid), []);
});

Deno.test("legacy uprobe event: removed after an uncaught exception, which is still reported (exit 1)", async () => {
  await using run = new Run([CHILD, "throw"]);
  const status = await run.status();
  assert.match(run.stdout, /ready/);
  assert.equal(status.code, 1);
  assert.match(run.stderr, /Uncaught Error: boom from a timer/);
  assert.deepEqual(eventsOf(run.pid), []);
});

Deno.test("legacy uprobe event: removed after an unhandled rejection (a top-level throw)", async () => {
  await using run = new Run([CHILD, "reject"]);
  const status = await run.status();
  assert.match(run.stdout, /ready/);
  assert.equal(status.code, 1);
  assert.match(run.stderr, /boom at top level/);
  assert.deepEqual(eventsOf(run.pid), []);
});

Deno.test("legacy uprobe event: removed at a normal exit with the link still open", async () => {
  await using run = new Run([CHILD, "exit"]);
  const status = await run.status();
  assert.match(run.stdout, /ready/);
  assert.equal(status.code, 0, run.stderr);
  assert.deepEqual(eventsOf(run.pid), []);
});

Deno.test("a program handling Ctrl-C with interrupted() keeps its event until it ends, and exits 0", async () => {
  await using run = new Run([CHILD, "handled"]);
  await run.waitFor("ready");
  run.child.kill("SIGINT");
  const status = await run.status();
  assert.equal(status.code, 0, run.stderr);
  assert.equal(status.signal, null);
  assert.match(run.stdout, /stopped \(interrupted by SIGINT\); event defined: true/);
  assert.deepEqual(eventsOf(run.pid), [], "removed at exit");
});

Deno.test("a program's own SIGINT listener decides: the library neither removes nor exits", async () => {
  await using run = new Run([CHILD, "own"]);
  await run.waitFor("ready");
  run.child.kill("SIGINT");
  const status = await run.status();
  assert.equal(status.code, 0, run.stderr);
  assert.match(run.stdout, /own handler; event defined: true/);
  assert.deepEqual(eventsOf(run.pid), [], "removed at exit");
});

Deno.test("no legacy event left: SIGINT ends the process as by default", async () => {
  await using run = new Run([CHILD, "closed"]);
  await run.waitFor("ready");
  assert.match(run.stdout, /event defined: false/);
  run.child.kill("SIGINT");
  assert.equal((await run.status()).signal, "SIGINT");
});

// ---- the long-running examples: Ctrl-C prints the results, exit 0 ----

const LONG_RUNNING: { name: string; marker: string; result: RegExp }[] = [
  { name: "probe_syscall_counts.ts", marker: "Hit Ctrl-C", result: /^@\[.+\]: \d+$/m },
  { name: "probe_read_sizes.ts", marker: "Hit Ctrl-C", result: /^@bytes: *\n\[/m },
  { name: "probe_opens.ts", marker: "Hit Ctrl-C", result: /^\d+ opens seen$/m },
  {
    name: "syscall_counts.ts",
    marker: "Ctrl-C to stop early",
    // a process name may hold spaces ("V8 DefaultWorke"): any text, then the count
    result: /stopped after [\d.]+s: \d+ processes[^\n]*\n {2}[^\n]+ \d+\n[^]*detached/,
  },
];

for (const { name, marker, result } of LONG_RUNNING) {
  Deno.test(`examples/${name} 30: SIGINT prints the results and exits 0`, async () => {
    await using run = new Run([new URL(name, EXAMPLES).pathname, "30"]);
    await run.waitFor(marker);
    run.child.kill("SIGINT");
    const status = await run.status();
    assert.equal(status.signal, null, `killed by ${status.signal}; output:\n${run.stdout}`);
    assert.equal(status.code, 0, run.stderr);
    assert.match(run.stdout, result);
  });
}

Deno.test("examples/probe_syscall_counts.ts 30: SIGTERM prints the counts and exits 0", async () => {
  await using run = new Run([new URL("probe_syscall_counts.ts", EXAMPLES).pathname, "30"]);
  await run.waitFor("Hit Ctrl-C");
  run.child.kill("SIGTERM");
  const status = await run.status();
  assert.equal(status.signal, null, `killed by ${status.signal}`);
  assert.equal(status.code, 0, run.stderr);
  assert.match(run.stdout, /^@\[.+\]: \d+$/m);
});
