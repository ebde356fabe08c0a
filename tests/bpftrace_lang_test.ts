// bpftrace language constructs beyond the tutorial's (loops and jumps,
// sizeof of a type, macros, more builtins and probe kinds), each run by
// `denobpf trace` and by the live bpftrace on the same workload: stdout
// must be the same bytes. Errors are compared with bpftrace's reports.

import assert from "node:assert/strict";
import { BpftraceError, compileBpftrace } from "../src/bpftrace/mod.ts";
import { breakLoop, continueLoop, local, loop, returnEarly, script } from "../src/probe/mod.ts";
import { requireTool } from "./_helpers.ts";
import { bpftraceErrors, compareCases } from "./_bpftrace_compare.ts";

const DD = "/usr/bin/dd if=/dev/zero of=/dev/null bs=1k count=20 status=none";

const CASES: { name: string; args: string[]; stderr?: boolean }[] = [
  {
    name: "while with break and continue, nested loops, return",
    args: [
      "-e",
      'BEGIN { $i = 0; while ($i < 5) { $i++; if ($i == 2) { continue; } if ($i == 4) { break; } printf("%d\\n", $i); } ' +
      "@n = $i; $j = 0; while ($j < 100) { $k = 0; while ($k < 3) { @c = count(); $k++; } $j++; } " +
      'if (@n == 4) { exit(); return; } printf("not printed\\n"); } ' +
      'END { $x = 1; while (1) { $x = $x * 3; if ($x > 1000) { break; } } printf("%d\\n", $x); return; printf("no\\n"); }',
    ],
  },
  {
    name:
      "a loop over an event's value the verifier bounds (halving to zero), return in a tracepoint",
    args: [
      "-c",
      DD,
      "-e",
      'tracepoint:syscalls:sys_enter_read /comm == "dd"/ { $x = args->count; $b = 0; ' +
      "while ($x > 1) { $x = $x / 2; $b++; } @bits[$b] = count(); if ($b > 5) { return; } @small = count(); }",
    ],
  },
  {
    name: "sizeof of kernel and script structs, integer type names and values",
    args: [
      "-e",
      "struct Foo { int a; char b[3]; long c; } union U { int a; char b[9]; } " +
      'BEGIN { @x = sizeof(pid); printf("%d %d %d %d %d %d %d %d\\n", sizeof(struct task_struct), ' +
      "sizeof(struct Foo), sizeof(union U), sizeof(uint8), sizeof(int32), sizeof(comm), " +
      'sizeof("abc"), sizeof(curtask)); exit(); }',
    ],
    stderr: true,
  },
];

compareCases(CASES);

// Programs bpftrace refuses before loading anything: the reports must be the same bytes.
const BAD_PROGRAMS = [
  "BEGIN { break; }",
  "BEGIN { if (1) { continue; } }",
  "BEGIN { unroll(2) { break; } }",
  "BEGIN { $i = 0; while ($i < 2) { $i++; } break; }",
  "BEGIN { while ($x) { } }",
  'BEGIN { printf("%d\\n", sizeof(int)); }',
  "BEGIN { @x = sizeof(struct nosuch); }",
  "BEGIN { @x = sizeof(struct task_struct *); }",
  "BEGIN { @x = sizeof(foo) + sizeof(uint16); }",
];

Deno.test("BpftraceError.report is what bpftrace prints for these constructs' mistakes", () => {
  requireTool("bpftrace");
  for (const program of BAD_PROGRAMS) {
    const expected = bpftraceErrors(program);
    let report = "";
    try {
      compileBpftrace(program, { constant: () => undefined });
    } catch (e) {
      if (!(e instanceof BpftraceError)) throw e;
      report = e.report;
    }
    assert.equal(report, expected, program);
  }
});

Deno.test("script(): loop, breakLoop, continueLoop and returnEarly record while/break/continue/return", () => {
  const s = script(({ begin }) => {
    begin(() => {
      const i = local(0, "$i");
      loop(i.lt(10), () => {
        i.set(i.add(1));
        loop(1, () => breakLoop());
        continueLoop();
      });
      returnEarly();
    });
  });
  const body = s.ir.probes[0].body;
  assert.deepEqual(body.map((x) => x.op), ["let", "while", "return"]);
  const w = body[1];
  assert.ok(w.op === "while");
  assert.deepEqual(w.body.map((x) => x.op), ["let", "while", "continue"]);
  assert.throws(() => script(({ begin }) => begin(() => breakLoop())), /inside loop/);
});
