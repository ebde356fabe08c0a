// The behaviour probes (src/features/_behaviour.ts) against what a user
// sees: each says yes exactly when the library's own result shows the
// behaviour, on this kernel and on the VM stage's 6.1 (where both say no).

import assert from "node:assert/strict";
import { checkFeature, haveFeature, NotSupportedError, probeMisc } from "../src/features/mod.ts";
import { attachPerfEvent } from "../src/link/mod.ts";
import { loadProgram, LogLevel } from "../src/program/mod.ts";
import { PerfSwConfig, PerfType } from "../src/sys/perf_event.ts";
import * as asm from "../src/asm/builders.ts";
import { R0, R2 } from "../src/asm/register.ts";
import { program, returns } from "./program_fixtures.ts";

Deno.test("perf_link_info: yes exactly when a perf-event link's info names what it is attached to", () => {
  using prog = loadProgram({ type: "perf_event", instructions: returns(0) });
  using link = attachPerfEvent(prog, {
    attr: {
      type: PerfType.SOFTWARE,
      config: PerfSwConfig.CPU_CLOCK,
      samplePeriod: 1_000_000,
      flags: ["disabled"],
    },
    pid: 0,
    cpu: -1,
  });
  const info = link.info();
  assert.equal(info.typeName, "perf_event");
  const filled = info.perfEvent !== undefined && info.perfEvent.type !== "unspec";
  assert.equal(
    haveFeature("perf_link_info"),
    filled,
    `link info: perf event type ${info.perfEvent?.type}`,
  );
  if (filled) assert.equal(info.perfEvent?.type, "event");
  const p = probeMisc("perf_link_info");
  assert.equal(p.feature, "perf_link_info");
  if (!filled) {
    assert.throws(() => checkFeature("perf_link_info"), (e: unknown) => {
      assert.ok(e instanceof NotSupportedError);
      assert.match(e.message, /Linux 6\.6/);
      return true;
    });
  }
});

Deno.test("rotating_verifier_log: yes exactly when a capped log keeps its end", () => {
  // r2 = 0; 300 × "r2 += 1"; r0 = 0; exit: a valid program with a long log
  const insns = program(
    asm.mov64(R2, 0),
    ...Array.from({ length: 300 }, () => asm.add64(R2, 1)),
    asm.mov64(R0, 0),
    asm.exit(),
  );
  using prog = loadProgram({
    type: "socket_filter",
    instructions: insns,
    logLevel: LogLevel.INSTRUCTIONS,
    logSize: 128,
    maxLogSize: 512,
  });
  const log = prog.verifierLog ?? "";
  assert.ok(log.length > 0 && log.length <= 512, `log of ${log.length} bytes`);
  const keepsEnd = /processed 303 insns/.test(log);
  assert.equal(haveFeature("rotating_verifier_log"), keepsEnd, log);
  if (!keepsEnd) assert.match(log, /r2 = 0/, "the log's beginning");
});
