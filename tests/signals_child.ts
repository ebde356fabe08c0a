// A program for tests/signals_test.ts: attaches a uprobe on libc's getpid
// through tracefs `uprobe_events` (tracefsOnly, a legacy event named with
// this pid), prints "ready", then ends the way its first argument says:
//
//   wait      waits (for the test's signal)
//   throw     throws an uncaught exception from a timer
//   reject    top-level `throw` (an unhandled rejection of the module)
//   exit      returns with the link still open
//   handled   handles Ctrl-C itself with interrupted(): prints whether its
//             event is still defined, then returns with the link open
//   own       the same with its own Deno.addSignalListener
//   closed    closes the link, then waits (no legacy event left)
//   kill      also defines an event of its own in group denobpf_sigtest
//             (which only these tests use), then waits (for SIGKILL)

import { Assembler, R0 } from "../src/asm/mod.ts";
import { attachUprobe } from "../src/link/mod.ts";
import { interrupted } from "../src/probe/mod.ts";
import { loadProgram } from "../src/program/mod.ts";
import { createUprobeEvent, tracefsPath } from "../src/tracefs/mod.ts";

const mode = Deno.args[0] ?? "wait";
const prog = loadProgram({
  type: "kprobe",
  name: "signals_child",
  instructions: new Assembler().mov64(R0, 0).exit(),
});
const link = attachUprobe(prog, { path: "c", symbol: "getpid", tracefsOnly: true });

function eventDefined(): boolean {
  return Deno.readTextFileSync(`${tracefsPath()}/uprobe_events`)
    .includes(`_${Deno.pid}_`);
}

const keepAlive = () => setTimeout(() => {}, 120_000);

switch (mode) {
  case "wait":
    console.log("ready");
    keepAlive();
    break;
  case "throw":
    console.log("ready");
    setTimeout(() => {
      throw new Error("boom from a timer");
    }, 10);
    keepAlive();
    break;
  case "reject":
    console.log("ready");
    await new Promise((r) => setTimeout(r, 10));
    throw new Error("boom at top level");
  case "exit":
    console.log("ready");
    break;
  case "handled": {
    using stop = interrupted();
    const timer = keepAlive();
    console.log("ready");
    await new Promise((r) => stop.addEventListener("abort", r, { once: true }));
    clearTimeout(timer);
    console.log(`stopped (${(stop.reason as Error).message}); event defined: ${eventDefined()}`);
    break;
  }
  case "own": {
    const timer = keepAlive();
    const handler = () => {
      Deno.removeSignalListener("SIGINT", handler);
      clearTimeout(timer);
      console.log(`own handler; event defined: ${eventDefined()}`);
    };
    Deno.addSignalListener("SIGINT", handler);
    console.log("ready");
    break;
  }
  case "closed":
    link.close();
    prog.close();
    console.log(`ready; event defined: ${eventDefined()}`);
    keepAlive();
    break;
  case "kill":
    createUprobeEvent({ path: "/bin/sh", offset: 0x1000, group: "denobpf_sigtest" });
    console.log("ready");
    keepAlive();
    break;
  default:
    throw new Error(`unknown mode ${mode}`);
}
