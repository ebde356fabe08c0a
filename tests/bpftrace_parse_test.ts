// The bpftrace compiler's front half: lexer, parser and lowering to the
// probe IR. Error reports are compared byte for byte with the live
// bpftrace's; the parser is fuzzed with random and mutated programs; every
// .bt tool of Debian's bpftrace package and the tutorial's one-liners
// compile, or fail naming a construct that is not supported yet.

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  BpftraceError,
  compileBpftrace,
  lowerBpftrace,
  parseBpftrace,
} from "../src/bpftrace/mod.ts";
import { ParseError } from "../src/errors.ts";
import { pureRuns, requireTool } from "./_helpers.ts";
import { bpftraceErrorsAll } from "./_bpftrace_compare.ts";

const noConstants = { constant: () => undefined };

Deno.test("parseBpftrace: probes, points, predicates, statements and locations", () => {
  const src = `#!/usr/bin/env bpftrace
#include <linux/sched.h>
struct foo { int a; char name[16]; struct foo *next; };
BEGIN { printf("start\\n"); }
kprobe:vfs_read, kr:vfs_write /pid == 42 && @x[tid, cpu] > 1/ {
  $a = (struct task_struct *)curtask;
  @x[tid, cpu]++;
  @s = hist((nsecs - @start[tid]) / 1000);
  if ($a->pid > 0) { @y += 2; } else if (1) { @y = 1 ? 2 : 3; } else { delete(@x[1, 2]); }
  unroll(3) { $i = -1 << 2 | ~0 ^ !1; }
}
uprobe:/bin/bash:readline { @[str(retval)] = count(); }
`;
  const p = parseBpftrace(src);
  assert.deepEqual(p.includes, ["linux/sched.h"]);
  assert.equal(p.structs[0].name, "struct foo");
  assert.deepEqual(p.structs[0].members.map((m) => `${m.type} ${m.name}`), [
    "int a",
    "char[16] name",
    "struct foo * next",
  ]);
  assert.deepEqual(
    parseBpftrace("uprobe:./a.out:main, u:../lib/x.so:f/pid == 1/ { }").probes[0].points.map((a) =>
      a.raw
    ),
    ["uprobe:./a.out:main", "u:../lib/x.so:f"],
  );
  assert.deepEqual(p.probes.map((x) => x.points.map((a) => a.raw)), [
    ["BEGIN"],
    ["kprobe:vfs_read", "kr:vfs_write"],
    ["uprobe:/bin/bash:readline"],
  ]);
  const k = p.probes[1];
  assert.equal(k.predicate?.kind, "binary");
  assert.deepEqual(k.points[1].loc, { line: 5, column: 18, endLine: 5, endColumn: 30 });
  assert.deepEqual(k.body.map((s) => s.kind), ["assign", "expr", "assign", "if", "unroll"]);
  const cast = k.body[0].kind === "assign" ? k.body[0].value : undefined;
  assert.equal(cast?.kind === "cast" && cast.type, "struct task_struct *");
  // C precedence: -1 << 2 | ~0 ^ !1 is ((-1 << 2) | (~0 ^ !1))
  const un = k.body[4];
  const v = un.kind === "unroll" && un.body[0].kind === "assign" ? un.body[0].value : undefined;
  assert.ok(v?.kind === "binary" && v.operator === "|");
  assert.ok(v.left.kind === "binary" && v.left.operator === "<<");
  assert.ok(v.right.kind === "binary" && v.right.operator === "^");
});

Deno.test("parseBpftrace: integer and string literals as bpftrace reads them", () => {
  const p = parseBpftrace(`BEGIN { @ = 1e6 + 0x10 + 010 + 1_000; @s = "a\\tb\\x41\\101\\"\\\\"; }`);
  const body = p.probes[0].body;
  const ints: bigint[] = [];
  const walk = (e: unknown): void => {
    const x = e as { kind: string; value?: bigint; left?: unknown; right?: unknown };
    if (x.kind === "int") ints.push(x.value!);
    if (x.left) walk(x.left);
    if (x.right) walk(x.right);
  };
  if (body[0].kind === "assign") walk(body[0].value);
  assert.deepEqual(ints, [1000000n, 16n, 8n, 1000n]);
  assert.ok(body[1].kind === "assign" && body[1].value.kind === "string");
  assert.equal(body[1].value.value, 'a\tbAA"\\');
});

Deno.test("compileBpftrace: the read latency script lowers to shared-map IR", () => {
  const ir = compileBpftrace(
    `tracepoint:syscalls:sys_enter_read { @start[tid] = nsecs; }
     tracepoint:syscalls:sys_exit_read /@start[tid]/ {
       @us = hist((nsecs - @start[tid]) / 1000); delete(@start[tid]);
     }
     interval:s:1 { print(@us); clear(@us); }
     END { exit(); }`,
    noConstants,
  );
  assert.deepEqual(ir.probes.map((p) => p.points.map((x) => `${x.kind} ${x.target}`)), [
    ["tracepoint syscalls:sys_enter_read"],
    ["tracepoint syscalls:sys_exit_read"],
    ["interval s:1"],
    ["end "],
  ]);
  const strip = (x: unknown): unknown =>
    JSON.parse(
      JSON.stringify(x, (k, v) => k === "span" ? undefined : typeof v === "bigint" ? `${v}` : v),
    );
  assert.deepEqual(strip(ir.probes[1].filter), {
    op: "map_get",
    map: "@start",
    key: { op: "builtin", name: "tid" },
  });
  assert.deepEqual(ir.probes[1].body.map((s) => s.op), ["aggregate", "map_delete"]);
  assert.deepEqual(ir.probes[2].body.map((s) => s.op), ["print", "clear"]);
  const agg = ir.probes[1].body[0];
  assert.equal(agg.op === "aggregate" && agg.fn, "hist");
  assert.deepEqual(agg.span, {
    line: 3,
    column: 8,
    endLine: 3,
    endColumn: 48,
    text: "@us = hist((nsecs - @start[tid]) / 1000)",
  });
});

Deno.test("compileBpftrace: positional parameters, #define, #ifdef BPFTRACE_HAVE_BTF, enums and macros", () => {
  const ir = compileBpftrace(
    `#ifndef BPFTRACE_HAVE_BTF
#include <linux/socket.h>
#else
#include <sys/socket.h>
#endif
#define LIMIT 0x20
BEGIN { @a = $1 + LIMIT + AF_INET6 + $#; @b = str($2); @c = TCP_CLOSE; }`,
    { params: ["5", "text"], constant: (n) => n === "TCP_CLOSE" ? 7n : undefined },
  );
  const values = ir.probes[0].body.map((s) =>
    JSON.stringify(s, (k, v) => k === "span" ? undefined : typeof v === "bigint" ? `${v}` : v)
  );
  assert.match(values[0], /"5".*"32".*"10".*"2"/);
  assert.match(values[1], /"op":"str","value":"text"/);
  assert.match(values[2], /"value":"7"/);
  assert.throws(
    () => compileBpftrace("BEGIN { @a = AF_INET; }", noConstants),
    /Unknown identifier: 'AF_INET'/,
    "a header's macro needs its #include",
  );
  assert.throws(
    () => compileBpftrace("BEGIN { @a = $1; }", { params: ["abc"], ...noConstants }),
    /\$1 used numerically but given "abc"\. Try using str\(\$1\)\./,
  );
});

Deno.test("compileBpftrace: unsupported constructs are errors naming them", () => {
  for (
    const [src, re] of [
      ["watchpoint:0x1000:8:w { }", /watchpoint probes are not supported yet/],
      ["BEGIN { override(1); }", /override\(\) is not supported yet/],
      ["kfunc:nf_conntrack:nf_ct_delete { }", /module functions \(nf_conntrack:nf_ct_delete\)/],
      ["BEGIN /@x++/ { }", /\+\+ inside an expression is not supported yet here/],
      ["BEGIN { $x = 1; $y = $x + $x++; }", /\$x read beside its own \+\+ or --/],
    ] as const
  ) {
    assert.throws(
      () => compileBpftrace(src, noConstants),
      (e) => e instanceof BpftraceError && re.test(e.message),
      src,
    );
  }
});

// Programs bpftrace refuses before loading anything: the reports must be the same bytes.
const BAD_PROGRAMS = [
  "BEGIN { @x = 1 +; }",
  "BEGIN { $x = 1; @ = &$x; }", // no address-of in bpftrace 0.17
  "BEGIN{@x=1+;}",
  "BEGIN { @x = 1 + ; }",
  "BEGIN { @x = 1 2 }",
  "BEGIN { @x = 1 } END { @x = 2 ",
  'BEGIN { "abc }',
  "BEGIN { @a = 1 $ 2; }",
  "BEGIN { @a = 1; } ` ",
  'BEGIN { @a = "x\\q"; }',
  "BEGIN { foo(1); }",
  "BEGIN { $x = $y; }",
  "BEGIN{$x=$y;}",
  "BEGIN { count(); }",
  "BEGIN { @x = count(1); }",
  "BEGIN { @x = lhist(1, 0, 10); }",
  "BEGIN { @ = hist(); }",
  "BEGIN { print(); }",
  "BEGIN { exit(1); }",
  "BEGIN { @x = str(1,2,3); }",
  "BEGIN { delete(@x); }",
  "BEGIN { @x = hist(1); @x = count(); }",
  "BEGIN { @x = count(); @x = 1; }",
  'BEGIN { @x = 1; @x = "a"; }',
  "BEGIN { $x = FOO_BAR; }",
  'BEGIN { printf("%d\\n", AF_INET); exit(); }',
  "BEGIN { @y = (struct foo *)0; @w = (struct task_struct *)0; exit(); }",
  "BEGIN { $x = $y; @a = FOO; count(); }",
  "BEGIN { delete(@x); clear(@y); }",
  "BEGIN { @x = retval; }",
  "tracepoint:syscalls:sys_enter_read { @x = arg0; }",
  "tracepoint:x { }",
  "interval:xs:1 { }",
  "interval:s { }",
  "profile:hz:0 { }",
  "BEGIN:x { }",
  "kprobe: { }",
  "uprobe:foo { }",
  "BEGIN { printf(1); }",
  "BEGIN { printf(comm); }",
  'BEGIN { printf("%d %d\\n", 1); }',
  'BEGIN { printf("%d\\n", 1, 2); }',
  "BEGIN { @x[1] = 1; clear(@x[1]); }",
  "BEGIN { exit }",
  "BEGIN { time(1); }",
  "kprobe:f { @x = args->foo; }",
  'BEGIN { $x = 1; $x = "a"; }',
  "BEGIN { if 1 { } }",
  "BEGIN { unroll(200) { } }",
  'BEGIN { printf("%d\\n", cpid); exit(); }',
];

Deno.test({
  name: "BpftraceError.report is what bpftrace prints for the same mistakes",
  async fn() {
    requireTool("bpftrace"); // tools/setup.ts installs it: a missing one fails, it does not skip
    const reports = await bpftraceErrorsAll(BAD_PROGRAMS);
    for (const [i, program] of BAD_PROGRAMS.entries()) {
      const expected = reports[i];
      let report = "";
      try {
        compileBpftrace(program, noConstants);
      } catch (e) {
        assert.ok(e instanceof BpftraceError, `${program}: ${e}`);
        report = e.report;
      }
      assert.equal(report, expected, program);
    }
  },
});

Deno.test("errors in a file name the file, expand tabs and print spans over lines without a marker", () => {
  const src = "BEGIN {\n\t@x = $y;\n}\n";
  assert.throws(() => compileBpftrace(src, { file: "t1.bt", ...noConstants }), (e) => {
    assert.ok(e instanceof BpftraceError && e instanceof ParseError);
    assert.equal(e.message, "bpftrace: t1.bt:2:7-9: Undefined or undeclared variable: $y");
    assert.equal(
      e.report,
      "t1.bt:2:7-9: ERROR: Undefined or undeclared variable: $y\n    @x = $y;\n         ~~\n",
    );
    return true;
  });
  assert.throws(
    () => compileBpftrace("BEGIN {\n\t@x = count(1,\n 2);\n}\n", { file: "t3.bt" }),
    (e) => {
      assert.ok(e instanceof BpftraceError);
      assert.equal(e.report, "t3.bt:2-3: ERROR: count() requires no arguments (2 provided)\n");
      return true;
    },
  );
});

const ONE_LINERS = [
  'BEGIN { printf("hello world\\n"); }',
  'tracepoint:syscalls:sys_enter_openat { printf("%s %s\\n", comm, str(args->filename)); }',
  "tracepoint:raw_syscalls:sys_enter { @[comm] = count(); }",
  "tracepoint:syscalls:sys_exit_read /pid == 18644/ { @bytes = hist(args->ret); }",
  "kretprobe:vfs_read { @bytes = lhist(retval, 0, 2000, 200); }",
  "kprobe:vfs_read { @start[tid] = nsecs; } kretprobe:vfs_read /@start[tid]/ { @ns[comm] = hist(nsecs - @start[tid]); delete(@start[tid]); }",
  "tracepoint:sched:sched* { @[probe] = count(); } interval:s:5 { exit(); }",
  "profile:hz:99 { @[kstack] = count(); }",
  "tracepoint:sched:sched_switch { @[kstack] = count(); }",
  "tracepoint:block:block_rq_issue { @ = hist(args->bytes); }",
  'kprobe:vfs_open { printf("open path: %s\\n", str(((struct path *)arg0)->dentry->d_name.name)); }',
  "tracepoint:syscalls:sys_enter_nanosleep { @[comm] = sum(args->rqtp->tv_nsec); }",
  "tracepoint:syscalls:sys_exit_read /args->ret > 0/ { @[comm] = stats(args->ret); }",
  "kfunc:vfs_read { @[func] = count(); } kretfunc:vfs_read /retval > 0/ { @bytes = max(retval); }",
  'uretprobe:/bin/bash:readline { printf("%-6d %s\\n", pid, str(retval)); }',
  'i:s:1 { time("%H:%M:%S "); print(@); clear(@); } t:syscalls:sys_enter_write { @ = avg(args->count); }',
];

Deno.test("the tutorial's one-liners compile to IR", () => {
  for (const src of ONE_LINERS) {
    const ir = compileBpftrace(src, noConstants);
    assert.ok(ir.probes.length >= 1, src);
  }
});

function debianTools(): string[] {
  try {
    const out = new Deno.Command("dpkg", {
      args: ["-L", "bpftrace"],
      stdout: "piped",
      stderr: "null",
    })
      .outputSync();
    return new TextDecoder().decode(out.stdout).split("\n").filter((l) => l.endsWith(".bt"));
  } catch {
    return [];
  }
}

Deno.test({
  name: "every .bt tool of Debian's bpftrace compiles, or fails naming an unsupported construct",
  fn() {
    requireTool("bpftrace"); // the tools come with Debian's bpftrace package, which tools/setup.ts installs
    const tools = debianTools();
    const failed: string[] = [];
    for (const path of tools) {
      const src = Deno.readTextFileSync(path);
      parseBpftrace(src, { file: path }); // every one parses
      try {
        compileBpftrace(src, { file: path });
      } catch (e) {
        assert.ok(e instanceof BpftraceError, `${path}: ${e}`);
        assert.match(e.detail, /not supported yet/, `${path}: ${e.report}`);
        failed.push(`${path.split("/").pop()}: ${e.detail}`);
      }
    }
    assert.ok(tools.length >= 30, `${tools.length} tools`);
    assert.ok(failed.length <= 10, failed.join("\n"));
  },
});

/** Pieces of bpftrace programs, glued at random. */
const PIECES = [
  "BEGIN",
  "END",
  "kprobe:f",
  "tracepoint:a:b",
  "i:s:1",
  "uprobe:/bin/sh:main",
  ",",
  "{",
  "}",
  "(",
  ")",
  "[",
  "]",
  ";",
  "/",
  "@x",
  "@",
  "$a",
  "$1",
  "$#",
  "pid",
  "comm",
  "arg0",
  "args->ret",
  "args.x",
  "retval",
  "1",
  "0x1f",
  "1e3",
  '"s\\n"',
  "+",
  "-",
  "*",
  "%",
  "==",
  "!=",
  "<",
  ">=",
  "&&",
  "||",
  "!",
  "~",
  "?",
  ":",
  "=",
  "+=",
  "++",
  "--",
  "->",
  ".",
  "count()",
  "hist(",
  "printf(",
  "if",
  "else",
  "unroll",
  "(struct task_struct *)",
  "(uint8)",
  "struct",
  "x",
  "#include <a.h>\n",
  "// c\n",
  "/* c */",
  "\n",
  " ",
  "\t",
  '"',
  "'",
  "\\",
  "`",
  "#",
];

function checkTotal(src: string): void {
  try {
    const p = parseBpftrace(src);
    lowerBpftrace(p, { source: src, defines: p.defines, params: ["1"], constant: () => 1n });
  } catch (e) {
    if (!(e instanceof BpftraceError)) throw e;
    assert.ok(e.loc === undefined || (e.loc.line >= 1 && e.loc.column >= 1), e.message);
    assert.match(e.report, /ERROR: /);
  }
}

// The parser and the lowering are pure code: the VM guest runs fewer cases
// (tests/_helpers.ts pureRuns), the host the full counts.
Deno.test("property: random input parses or fails with a positioned BpftraceError", () => {
  fc.assert(
    fc.property(fc.string({ maxLength: 200 }), (s) => checkTotal(s)),
    { numRuns: pureRuns(1000) },
  );
  fc.assert(
    fc.property(
      fc.array(fc.constantFrom(...PIECES), { maxLength: 60 }),
      (parts) => checkTotal(parts.join(" ")),
    ),
    { numRuns: pureRuns(2000) },
  );
});

Deno.test("property: mutated valid programs parse or fail with a positioned BpftraceError", () => {
  const seeds = [...ONE_LINERS, ...debianTools().slice(0, 12).map((p) => Deno.readTextFileSync(p))];
  const mutation = fc.record({
    seed: fc.nat(seeds.length - 1),
    edits: fc.array(
      fc.record({
        at: fc.nat(),
        del: fc.nat(4),
        ins: fc.oneof(fc.constantFrom(...PIECES), fc.string({ maxLength: 3 })),
      }),
      { minLength: 1, maxLength: 5 },
    ),
  });
  fc.assert(
    fc.property(mutation, ({ seed, edits }) => {
      let s = seeds[seed];
      for (const e of edits) {
        const at = e.at % (s.length + 1);
        s = s.slice(0, at) + e.ins + s.slice(at + e.del);
      }
      checkTotal(s);
    }),
    { numRuns: pureRuns(1500) },
  );
});

Deno.test("deep nesting is an error, not a stack overflow", () => {
  const src = `BEGIN { @x = ${"(".repeat(5000)}1${")".repeat(5000)}; }`;
  assert.throws(
    () => parseBpftrace(src),
    (e) => e instanceof BpftraceError && /nested too deeply/.test(e.message),
  );
  const ifs = `BEGIN { ${"if (1) { ".repeat(3000)}${"}".repeat(3000)} }`;
  assert.throws(() => parseBpftrace(ifs), BpftraceError);
});

Deno.test("positional parameters in attach points stand for their text", () => {
  const ir = compileBpftrace("uprobe:$1:$2 { @ = count(); }", {
    params: ["/bin/sh", "main"],
    ...noConstants,
  });
  assert.deepEqual(ir.probes[0].points.map((p) => [p.kind, p.target]), [[
    "uprobe",
    "/bin/sh:main",
  ]]);
});
