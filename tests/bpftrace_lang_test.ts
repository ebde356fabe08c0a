// bpftrace language constructs beyond the tutorial's (loops and jumps,
// sizeof of a type, macros, more builtins and probe kinds), each run by
// `denobpf trace` and by the live bpftrace on the same workload: stdout
// must be the same bytes. Errors are compared with bpftrace's reports.

import assert from "node:assert/strict";
import { BpftraceError, compileBpftrace } from "../src/bpftrace/mod.ts";
import {
  breakLoop,
  continueLoop,
  local,
  loop,
  returnEarly,
  script,
  signal,
  system,
  tracepoint,
} from "../src/probe/mod.ts";
import { parseTraceArgs } from "../src/cli/trace.ts";
import { haveFeature } from "../src/features/misc.ts";
import { perfEventOpen, PerfType } from "../src/sys/perf_event.ts";
import { requireTool } from "./_helpers.ts";
import { runCli } from "./_cli_helpers.ts";
import {
  both,
  bothRefuse,
  bpftraceErrorsAll,
  compareCases,
  SKIPPED,
  tracepoints,
} from "./_bpftrace_compare.ts";

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
      "++ and -- inside expressions: prefix and postfix, variables and map elements, in a condition",
    args: [
      "-e",
      'BEGIN { @x = 1; @x++; $a = @x++ + 1; printf("%d %d\\n", $a, @x); $b = 5; $c = ++$b * 2; ' +
      'printf("%d %d\\n", $b, $c); @m[1] = 3; if (@m[1]-- > 2) { printf("yes %d\\n", @m[1]); } ' +
      '$d = 0; $e = $d-- - 10; printf("%d %d\\n", $d, $e); @n[2]++; printf("%d\\n", --@n[2]); exit(); }',
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
  {
    name:
      "object-like macros expand as text where they stand (bpftrace's lexer), function-like ones are kept",
    args: [
      "-e",
      '#define S "a b"\n#define F 1 + 2 * 3\n#define G F * 2\n#define NEG -1\n' +
      "#define MAX(a,b) ((a)>(b)?(a):(b))\n#define X X\n" +
      'BEGIN { printf("%s %d %d %d %d\\n", S, F, G, NEG, BPFTRACE_HAVE_BTF); @x[S] = G; exit(); }',
    ],
    stderr: true,
  },
  {
    name: "warnings on stderr: code after a jump, print() in a loop",
    args: [
      "-e",
      "BEGIN { $i = 0; while ($i < 2) { $i++; print(@a); continue; @never = 1; } " +
      'exit(); return; printf("unreachable\\n"); } END { @a = 1; }',
    ],
    stderr: true,
  },
  {
    name: "numaid and username (a map key and value, printf %s)",
    args: [
      "-e",
      'BEGIN { printf("%d %s %d\\n", numaid, username, uid); @u[username] = count(); @n = numaid; @s = username; exit(); }',
    ],
    stderr: true,
  },
  {
    name: "ctx and sargN at a uprobe read the registers and the stack words bpftrace reads",
    args: [
      "-c",
      "/usr/bin/true",
      "-e",
      'uprobe:libc:exit /pid == cpid/ { printf("%d %d %d\\n", ctx->ip == reg("ip"), ' +
      'sarg0 == *(uint64 *)(reg("sp") + 8), sarg1 == *(uint64 *)(reg("sp") + 16)); @[username] = count(); }',
    ],
  },
  {
    name: "software:page-faults:1 and s:faults (alias, default count) count the workload's faults",
    args: [
      "-c",
      "/usr/bin/dd if=/dev/zero of=/dev/null bs=1M count=50 status=none",
      "-e",
      'software:page-faults:1 /comm == "dd"/ { @n = @n + 1; } s:faults /comm == "dd"/ { @m = @m + 1; } ' +
      'END { printf("%d %d\\n", @n > 100, @m > 0); delete(@n); delete(@m); }',
    ],
    stderr: true,
  },
  {
    name: "--unsafe: system() prints its command's output, signal() kills the -c command",
    args: [
      "--unsafe",
      "-c",
      "/usr/bin/sleep 30",
      "-e",
      'BEGIN { system("echo hi %d %s", 5, "there"); } ' +
      'tracepoint:syscalls:sys_enter_clock_nanosleep /comm == "sleep"/ { signal("KILL"); } ' +
      'tracepoint:syscalls:sys_enter_nanosleep /comm == "sleep"/ { signal(9); }',
    ],
    stderr: true,
  },
  {
    name: "a uprobe on a function the library does not define is left out, as bpftrace does",
    args: [
      "-e",
      "uprobe:/usr/lib/x86_64-linux-gnu/libz.so.1:nosuch, uprobe:libz:deflate { exit(); } " +
      'BEGIN { printf("hi\\n"); exit(); }',
    ],
    stderr: true,
  },
  {
    name:
      "kprobe and uprobe globs that match nothing are left out (dcsnoop's lookup_fast.constprop.*)",
    args: [
      "-e",
      "uprobe:libz:nosuch_zz*, kretprobe:nosuch_zz* { exit(); } uprobe:libz:nosuch_yy* { exit(); } " +
      'BEGIN { printf("hi\\n"); exit(); }',
    ],
  },
  {
    name: "buf() of a char * field reads from its address (undump's buf($skb->data, $skb->len))",
    args: [
      "-c",
      "/usr/bin/dd if=/etc/hostname of=/dev/null status=none",
      "-e",
      'tracepoint:syscalls:sys_enter_openat /comm == "dd"/ { printf("%r|\\n", buf(args->filename, 6)); }',
    ],
  },
  {
    name:
      "a struct pointer kept in a local keeps its type: members read through it, chains, reassignment, comparisons",
    args: [
      "-c",
      DD,
      "-e",
      'tracepoint:syscalls:sys_enter_read /comm == "dd"/ { $t = curtask; $p = $t->real_parent; ' +
      "$g = $p->parent; $q = $t; $q = $q->real_parent; $q = $q->real_parent; " +
      'if ($p != 0 && $g > 0) { printf("%s %d %d %d %d\\n", $t->comm, $t->pid == cpid, ' +
      "$p->pid == $t->real_parent->pid, $q->pid == $g->pid, $p == curtask->real_parent); } " +
      "@same = $p == $t->parent; exit(); }",
    ],
  },
  {
    name:
      "a tracepoint field pointing to a struct, kept in a local, reads its members in user memory",
    args: [
      "-c",
      "/usr/bin/sleep 0.2",
      "-e",
      'tracepoint:syscalls:sys_enter_clock_nanosleep /comm == "sleep"/ { $r = args->rqtp; ' +
      '$s = (struct __kernel_timespec *)args->rqtp; printf("%d %d %d\\n", $r->tv_sec, $r->tv_nsec, ' +
      "$s->tv_nsec == args->rqtp->tv_nsec); $v = *args->rqtp; $w = *$r; " +
      'printf("%d %d\\n", $v.tv_nsec, $w.tv_sec); exit(); }',
    ],
  },
  {
    name: "struct values in locals (*ptr, an embedded struct member) read their members",
    args: [
      "-c",
      DD,
      "-e",
      'tracepoint:syscalls:sys_enter_read /comm == "dd"/ { $x = *curtask; $y = $x.real_parent; ' +
      "$s = curtask->se; $v = $s.avg; $z = *$y; " +
      'printf("%s %d %d %d %d\\n", $x.comm, $x.pid == cpid, $y->pid == curtask->real_parent->pid, ' +
      "$v.load_avg >= 0, $z.pid == $y->pid); exit(); }",
    ],
  },
  {
    name: "struct pointer arithmetic scales by the struct's size and keeps the pointer's type",
    args: [
      "-e",
      "BEGIN { $p = curtask->parent; $q = $p + 1; $r = $p - 2; $s = 3 + $p; $t = $q - 1; " +
      'printf("%d %d %d %d %d\\n", (uint64)$q - (uint64)$p, (uint64)$p - (uint64)$r, ' +
      "(uint64)$s - (uint64)$p, sizeof(struct task_struct), $t->pid == $p->pid); exit(); }",
    ],
  },
];

compareCases(CASES);

// Locals whose type a reassignment would change, two struct pointers subtracted, a pointer
// printed: refused by the back end's checker, in bpftrace's words.
const MISTYPED_LOCALS = [
  "BEGIN { $p = curtask->parent; $p = curtask->mm; exit(); }",
  "BEGIN { $p = curtask; $p = 1; exit(); }",
  "BEGIN { $p = 1; $p = curtask->parent; exit(); }",
  "BEGIN { $p = curtask; $p = (struct mm_struct *)0; exit(); }",
  "BEGIN { $p = *curtask; $p = *curtask->mm; exit(); }",
  "BEGIN { $p = *curtask; $p = curtask; exit(); }",
  'BEGIN { $p = curtask->parent; $q = $p + 1; printf("%d\\n", $q - $p); exit(); }',
  "BEGIN { $p = curtask->parent; print($p); exit(); }",
];

Deno.test("trace refuses a local's type-changing reassignment and struct pointer subtraction with bpftrace's message", async () => {
  requireTool("bpftrace");
  const reports = await bpftraceErrorsAll(MISTYPED_LOCALS);
  for (const [i, program] of MISTYPED_LOCALS.entries()) {
    const detail = /ERROR: (.*)/.exec(reports[i])?.[1];
    assert.ok(detail, reports[i]);
    const ours = await runCli(["trace", "-e", program]);
    assert.equal(ours.code, 1, program);
    assert.equal(ours.out, "", program);
    assert.ok(ours.err.includes(detail!), `${program}: ${ours.err} lacks ${detail}`);
  }
});

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
  "#define MAX(a,b) ((a)>(b)?(a):(b))\nBEGIN { $x = MAX(3,4); exit(); }",
  '#define FOO (1+2)\nBEGIN { printf("%d %d %d\\n", FOO, FOO, $y); }',
  "#define P 1\nBEGIN { $x = P+$y; }",
  '#define A B\n#define B A\nBEGIN { printf("%d\\n", A); exit(); }',
  '#define FOO 1\nBEGIN { printf("%d\\n", __BPFTRACE__); exit(); }',
  "#define X X\nBEGIN { @x = X; }",
  "#define FOO bar\nBEGIN { @x = FOO; }",
  "#define FOO $z\nBEGIN { @x = FOO; }",
  'BEGIN { printf("%d\\n", jiffies); exit(); }',
  "BEGIN { @x = sarg0; exit(); }",
  "tracepoint:syscalls:sys_enter_read { @x = sarg1; }",
  "BEGIN { @x = ctx; exit(); }",
  "software:nosuch:1 { }",
  'BEGIN { system("echo %d", 1); }',
  'BEGIN { signal("KILL"); }',
  'tracepoint:syscalls:sys_enter_nanosleep { signal("FOO"); }',
  "tracepoint:syscalls:sys_enter_nanosleep { signal(99); }",
  "tracepoint:syscalls:sys_enter_nanosleep { signal(comm); }",
  'tracepoint:syscalls:sys_enter_nanosleep { signal("STOP"); }',
  "software:faults:x { }",
  "hardware:nosuch { }",
  "hardware:cycles:1:2 { }",
  "tracepoint:syscalls:sys_enter_read { @x = ctx; exit(); }",
];

Deno.test("BpftraceError.report is what bpftrace prints for these constructs' mistakes", async () => {
  requireTool("bpftrace");
  const reports = await bpftraceErrorsAll(BAD_PROGRAMS);
  for (const [i, program] of BAD_PROGRAMS.entries()) {
    const expected = reports[i];
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

Deno.test("property: an integer macro means its value written in its place; random macros fail only with BpftraceErrors", async () => {
  // In a worker: an input that never finishes is stopped and named (the
  // properties themselves take under a second, 2-3 s in the 6.1 guest).
  const worker = new Worker(new URL("./_macro_property_worker.ts", import.meta.url), {
    type: "module",
  });
  let last = "(none yet)";
  let timer: ReturnType<typeof setTimeout> | undefined;
  try {
    const outcome = await new Promise<{ done?: true; error?: string; timeout?: true }>(
      (resolve) => {
        worker.onmessage = (e) => {
          if (typeof e.data.source === "string") last = e.data.source;
          else resolve(e.data);
        };
        worker.onerror = (e) => {
          e.preventDefault();
          resolve({ error: e.message });
        };
        timer = setTimeout(() => resolve({ timeout: true }), 300_000);
      },
    );
    assert.ok(!outcome.timeout, `compileBpftrace ran for 300 s on ${JSON.stringify(last)}`);
    assert.equal(outcome.error, undefined, `after ${JSON.stringify(last)}`);
  } finally {
    clearTimeout(timer);
    worker.terminate();
  }
});

const PMU = haveFeature("perf_hardware");

Deno.test({
  name: `trace matches bpftrace: hardware:cycles counts the workload's cycles${
    PMU ? "" : " (skipped: perf_hardware not supported by this machine)"
  }`,
  ignore: !PMU,
  async fn() {
    const [theirs, ours] = await both([
      "-c",
      DD,
      "-e",
      'hardware:cycles:100000 /comm == "dd"/ { @n = @n + 1; } END { printf("%d\\n", @n > 0); delete(@n); }',
    ]);
    assert.equal(theirs.code, 0, theirs.stderr);
    assert.equal(ours.code, 0, ours.stderr);
    assert.equal(ours.stdout, theirs.stdout);
  },
});

Deno.test("probeMisc(perf_hardware) answers as perf_event_open of a hardware event does", () => {
  let opened: boolean;
  try {
    perfEventOpen({ type: PerfType.HARDWARE, config: 0 }, { pid: 0, cpu: -1 }).close();
    opened = true;
  } catch {
    opened = false;
  }
  assert.equal(PMU, opened);
});

Deno.test({
  name:
    `trace: a script left with no probe prints bpftrace's "No probes to attach" and fails${SKIPPED}`,
  ignore: !tracepoints,
  async fn() {
    const [theirs, ours] = await bothRefuse([
      "-e",
      "uprobe:/usr/lib/x86_64-linux-gnu/libz.so.1:nosuch { }",
    ]);
    assert.equal(theirs.code, 1);
    assert.equal(ours.code, 1);
    assert.equal(ours.stdout, theirs.stdout);
    assert.equal(ours.stdout, "No probes to attach\n");
  },
});

Deno.test("trace --unsafe: bpftrace's long option, anywhere among the others", () => {
  assert.equal(parseTraceArgs(["--unsafe", "-e", "BEGIN { }"]).unsafe, true);
  assert.equal(parseTraceArgs(["-e", "BEGIN { }", "--unsafe", "a"]).unsafe, true);
  assert.deepEqual(parseTraceArgs(["-e", "BEGIN { }", "--", "--unsafe"]).params, ["--unsafe"]);
  assert.equal(parseTraceArgs(["-e", "BEGIN { }"]).unsafe, undefined);
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
  const t = script(({ on }) => {
    on(tracepoint("syscalls:sys_enter_nanosleep"), () => {
      system("echo %d", 1);
      signal(9);
    });
  });
  assert.deepEqual(t.ir.probes[0].body.map((x) => x.op), ["system", "signal"]);
  assert.throws(() => script(({ begin }) => begin(() => signal(65))), /from 1 to 64/);
});
