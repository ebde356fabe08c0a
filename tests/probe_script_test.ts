// The TypeScript script builder (src/probe/script.ts): what IR it records,
// the renderings it gives expressions, and the errors of misuse. These need
// no kernel; tests/bpftrace_examples_test.ts runs scripts.
import assert from "node:assert/strict";
import fc from "fast-check";
import {
  arg,
  cast,
  clear,
  comm,
  cond,
  count,
  curtask,
  deref,
  exit,
  hist,
  join,
  kaddr,
  kstackOf,
  lhist,
  local,
  nsecs,
  pid,
  print,
  printf,
  probeName,
  retval,
  type ScriptExpr,
  str,
  tid,
  time,
  toExpr,
  unroll,
  user,
  ustackOf,
  when,
  zero,
} from "../src/probe/script.ts";
import { script } from "../src/probe/script.ts";
import type { IrExpr, IrStmt } from "../src/probe/ir.ts";
import { tpBtf, tracepoint, uprobe, uretprobe } from "../src/probe/points.ts";
import { InvalidArgumentError } from "../src/errors.ts";
import { loadKernelSpec } from "../src/btf/mod.ts";

// Strips spans, to compare structure.
function bare<T>(x: T): T {
  return JSON.parse(
    JSON.stringify(x, (k, v) => (k === "span" ? undefined : typeof v === "bigint" ? `${v}n` : v)),
  );
}

const b = (name: string): IrExpr => ({ op: "builtin", name } as IrExpr);
const n = (v: number): IrExpr => ({ op: "int", value: BigInt(v) });

Deno.test("script: the read-latency sketch records the IR of its bpftrace script", () => {
  const s = script(({ on, map }) => {
    const start = map<number, number>("@start");
    on(tracepoint("syscalls:sys_enter_read"), () => start.set(tid, nsecs));
    on(tracepoint("syscalls:sys_exit_read"), { where: start.has(tid) }, () => {
      hist("@us", nsecs.sub(start.get(tid)).div(1000));
      start.delete(tid);
    });
    return { start };
  });
  assert.deepEqual(
    bare(s.ir),
    bare({
      probes: [
        {
          points: [{ kind: "tracepoint", target: "syscalls:sys_enter_read" }],
          body: [{ op: "map_set", map: "@start", key: b("tid"), value: b("nsecs") }],
        },
        {
          points: [{ kind: "tracepoint", target: "syscalls:sys_exit_read" }],
          filter: { op: "map_has", map: "@start", key: b("tid") },
          body: [
            {
              op: "aggregate",
              map: "@us",
              fn: "hist",
              args: [{
                op: "binary",
                operator: "/",
                left: {
                  op: "binary",
                  operator: "-",
                  left: b("nsecs"),
                  right: { op: "map_get", map: "@start", key: b("tid") },
                },
                right: n(1000),
              }],
            },
            { op: "map_delete", map: "@start", key: b("tid") },
          ],
        },
      ],
    }),
  );
  const hs = s.ir.probes[1].body[0];
  assert.equal(hs.span?.text, "@us = hist((nsecs - @start[tid]) / 1000)");
  assert.equal(s.ir.probes[1].span?.text, "tracepoint:syscalls:sys_exit_read /has(@start[tid])/");
  assert.equal(s.refs.start.name, "@start");
});

Deno.test("script: locals, ternaries, if/else, printf and str as in opensnoop", () => {
  const s = script(({ on, perThread }) => {
    const filename = perThread<number>("@filename");
    on(tracepoint<{ filename: number }>("syscalls:sys_enter_openat"), ({ args }) => {
      filename.set(args.filename);
    });
    on(
      tracepoint<{ ret: number }>("syscalls:sys_exit_openat"),
      { where: filename.get() },
      ({ args }) => {
        const ret = local(args.ret, "ret");
        const fd = local(cond(ret.ge(0), ret, -1));
        printf("%-6d %-16s %4d %s\n", pid, comm, fd, str(filename.get()));
        when(ret.lt(0), () => count("@errors", { by: ret.neg() }), () => exit());
        filename.delete();
      },
    );
  });
  const body = s.ir.probes[1].body;
  assert.deepEqual(body.map((st) => st.span?.text), [
    "$ret = args.ret",
    "$1 = $ret >= 0 ? $ret : -1",
    'printf("%-6d %-16s %4d %s\\n", pid, comm, $1, str(@filename[tid]))',
    "if ($ret < 0)",
    "delete(@filename[tid])",
  ]);
  const iff = body[3] as Extract<IrStmt, { op: "if" }>;
  assert.equal(iff.then[0].span?.text, "@errors[-$ret] = count()");
  assert.deepEqual(bare(iff.else), [{ op: "exit" }]);
  assert.deepEqual(bare(body[0]), {
    op: "let",
    name: "$ret",
    value: { op: "field", base: b("args"), name: "ret" },
  });
});

Deno.test("script: points of every constructor, several per probe, begin/end/every", () => {
  const s = script(({ on, begin, end, every }) => {
    begin(() => printf("Tracing... Hit Ctrl-C to end.\n"));
    on([tracepoint("sched:sched_wakeup"), tracepoint("sched:sched_wakeup_new")], () => {
      count("@", { by: probeName });
    });
    on(uretprobe("/bin/bash", "readline"), () => {
      time("%H:%M:%S  ");
      printf("%-6d %s\n", pid, str(retval));
    });
    on(uprobe("c", "getpid", { pid: 42 }), () => count("@calls"));
    on({ kind: "fentry", target: "vfs_*" }, () => count("@f"));
    every(1000, () => {
      print("@", { top: 10 });
    });
    end(() => print("@calls"));
  });
  assert.deepEqual(s.ir.probes.map((p) => p.points), [
    [{ kind: "begin", target: "" }],
    [{ kind: "tracepoint", target: "sched:sched_wakeup" }, {
      kind: "tracepoint",
      target: "sched:sched_wakeup_new",
    }],
    [{ kind: "uretprobe", target: "/bin/bash:readline" }],
    [{ kind: "uprobe", target: "c:getpid", pid: 42 }],
    [{ kind: "fentry", target: "vfs_*" }],
    [{ kind: "interval", target: "s:1" }],
    [{ kind: "end", target: "" }],
  ]);
  assert.deepEqual(bare(s.ir.probes[5].body), [{ op: "print", map: "@", top: 10 }]);
  assert.equal(s.ir.probes[1].body[0].span?.text, "@[probe] = count()");
});

Deno.test("script: fields, casts, user pointers, tuple keys, lhist and join", () => {
  interface Task {
    real_parent: { pid: number; comm: string };
  }
  interface Timespec {
    tv_sec: number;
    tv_nsec: number;
  }
  const s = script(({ on, struct }) => {
    const ev = struct("ev", { pid: "int", comm: "char[16]" });
    on(tracepoint<{ rqtp: Timespec }>("syscalls:sys_enter_nanosleep"), ({ args }) => {
      const task = cast<Task>(curtask, "struct task_struct *");
      printf(
        "%d %s %d.%03d\n",
        task.real_parent.pid,
        task.real_parent.comm,
        args.rqtp.tv_sec,
        args.rqtp.tv_nsec.div(1e6),
      );
      lhist("@l", args.rqtp.tv_sec, { min: 0, max: 10, step: 1, by: [comm, pid] });
      printf("%s\n", cast<{ comm: string }>(user(arg(0)), `${ev} *`).comm);
    });
    on(tracepoint("syscalls:sys_enter_execve"), ({ args }) => join(args.argv));
  });
  const [p, q] = s.ir.probes;
  assert.equal(
    p.body[0].span?.text,
    'printf("%d %s %d.%03d\\n", ((struct task_struct *)curtask).real_parent.pid, ((struct task_struct *)curtask).real_parent.comm, args.rqtp.tv_sec, args.rqtp.tv_nsec / 1000000)',
  );
  assert.equal(p.body[1].span?.text, "@l[comm, pid] = lhist(args.rqtp.tv_sec, 0, 10, 1)");
  assert.deepEqual(bare((p.body[1] as Extract<IrStmt, { op: "aggregate" }>).key), {
    op: "tuple",
    elems: [b("comm"), b("pid")],
  });
  assert.deepEqual(bare((p.body[2] as Extract<IrStmt, { op: "printf" }>).args[0]), {
    op: "field",
    name: "comm",
    base: {
      op: "cast",
      type: "struct ev *",
      arg: { op: "call", fn: "uptr", args: [{ op: "arg", index: 0 }] },
    },
  });
  assert.deepEqual(bare(s.ir.structs), [{
    name: "struct ev",
    members: [{ name: "pid", type: "int" }, { name: "comm", type: "char[16]" }],
  }]);
  assert.deepEqual(bare(q.body), [{
    op: "expr",
    value: { op: "call", fn: "join", args: [{ op: "field", base: b("args"), name: "argv" }] },
  }]);
});

Deno.test("script: kstackOf/ustackOf give bpftrace's kstack(mode, frames) calls", () => {
  const s = script(({ on }) =>
    on(tracepoint("sched:sched_switch"), () => {
      count("@k", { by: kstackOf({ mode: "perf", frames: 5 }) });
      count("@u", { by: ustackOf({ frames: 3 }) });
    })
  );
  assert.deepEqual(s.ir.probes[0].body.map((st) => st.span?.text), [
    "@k[kstack(perf, 5)] = count()",
    "@u[ustack(3)] = count()",
  ]);
  assert.deepEqual(
    bare((s.ir.probes[0].body[0] as Extract<IrStmt, { op: "aggregate" }>).key),
    bare({ op: "call", fn: "kstack", args: [{ op: "str", value: "perf" }, n(5)] }),
  );
  assert.throws(() => kstackOf({ frames: 0 }), /frames must be an integer/);
});

Deno.test("script: deref(p) is bpftrace's *p, a read through (uint64 *)p", () => {
  const s = script(({ every }) =>
    every(1000, () => printf("%d\n", deref(local(kaddr("avenrun"), "avenrun").add(8))))
  );
  const pr = s.ir.probes[0].body[1] as Extract<IrStmt, { op: "printf" }>;
  assert.equal(pr.span?.text, 'printf("%d\\n", *($avenrun + 8))');
  assert.deepEqual(
    bare(pr.args[0]),
    bare({
      op: "deref",
      arg: {
        op: "cast",
        type: "uint64 *",
        arg: { op: "binary", operator: "+", left: { op: "var", name: "$avenrun" }, right: n(8) },
      },
    }),
  );
});

Deno.test("script: unroll, zero, clear, print of a value, map updates and has, as statements", () => {
  const s = script(({ on, map }) => {
    const m = map<string, number>("@m");
    on(tracepoint("sched:sched_switch"), () => {
      unroll(3, () => m.increment(comm));
      m.update(comm, { op: "<<", value: 1 });
      when(m.has(comm).not(), () => zero(m));
      print(m.get(comm).mod(7));
      print(m, { top: 5, div: 2 });
      clear("@m");
    });
  });
  assert.deepEqual(s.ir.probes[0].body.map((st) => st.span?.text), [
    "unroll (3)",
    "@m[comm] <<= 1",
    "if (!has(@m[comm]))",
    "print(@m[comm] % 7)",
    "print(@m, 5, 2)",
    "clear(@m)",
  ]);
  const u = s.ir.probes[0].body[0] as Extract<IrStmt, { op: "unroll" }>;
  assert.deepEqual(bare(u.body), [{
    op: "map_update",
    map: "@m",
    key: b("comm"),
    operator: "+",
    value: { op: "int", value: "1n" },
  }]);
  assert.throws(() => script(({ begin }) => begin(() => unroll(0, () => {}))), /from 1 to 100/);
});

Deno.test("script: misuse is an InvalidArgumentError saying what to do", () => {
  assert.throws(() => count("@"), InvalidArgumentError, "inside a probe body");
  assert.throws(() => script(() => {}), /no probes/);
  assert.throws(
    () => script(({ on }) => on(tracepoint("a:b"), () => printf("%d %s\n", pid))),
    /2 conversion\(s\) but 1 argument/,
  );
  assert.throws(() => nsecs.div(1.5), /not an integer/);
  assert.throws(
    () => script(({ on }) => on(tracepoint("a:b"), () => count("bad name"))),
    /map name/,
  );
  assert.throws(
    () => script(({ on }) => on(tracepoint("a:b"), () => on(tracepoint("c:d"), () => {}))),
    /inside another's body/,
  );
  assert.throws(
    // deno-lint-ignore require-await
    () => script(({ on }) => on(tracepoint("a:b"), (async () => count("@")) as () => void)),
    /synchronous/,
  );
});

Deno.test("script: a record expression is not a thenable, so async code can return it", async () => {
  const e = await Promise.resolve(curtask);
  assert.equal(e.text, "curtask");
  assert.equal(curtask.pid.text, "curtask.pid");
});

// Random integer expressions: the rendering, read as JavaScript (whose
// precedence of these operators is C's and bpftrace's), computes what the
// tree computes.
type Tree = { v: number } | { op: "+" | "-" | "*" | "&" | "|" | "^"; l: Tree; r: Tree } | {
  neg: Tree;
};
const tree: fc.Arbitrary<Tree> = fc.letrec<{ t: Tree }>((tie) => ({
  t: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    fc.record({ v: fc.integer({ min: 0, max: 1000 }) }),
    fc.record({
      op: fc.constantFrom("+", "-", "*", "&", "|", "^") as fc.Arbitrary<"+">,
      l: tie("t"),
      r: tie("t"),
    }),
    fc.record({ neg: tie("t") }),
  ),
})).t;

function build(t: Tree): ScriptExpr<number> {
  if ("v" in t) return toExpr(t.v) as ScriptExpr<number>;
  if ("neg" in t) return build(t.neg).neg();
  const l = build(t.l), r = build(t.r);
  const m = { "+": "add", "-": "sub", "*": "mul", "&": "band", "|": "bor", "^": "xor" } as const;
  return l[m[t.op]](r);
}

function evaluate(e: IrExpr): bigint {
  if (e.op === "int") return e.value;
  if (e.op === "unary") return -evaluate(e.arg);
  if (e.op !== "binary") throw new Error(e.op);
  const [l, r] = [evaluate(e.left), evaluate(e.right)];
  const ops: Record<string, (a: bigint, b: bigint) => bigint> = {
    "+": (a, b) => a + b,
    "-": (a, b) => a - b,
    "*": (a, b) => a * b,
    "&": (a, b) => a & b,
    "|": (a, b) => a | b,
    "^": (a, b) => a ^ b,
  };
  return ops[e.operator](l, r);
}

Deno.test("script: span.text of random expressions has the parentheses the tree needs", () => {
  fc.assert(
    fc.property(tree, (t) => {
      const e = build(t);
      const js = e.text.replace(/\d+/g, "$&n").replace(/-(?=\d|\()/g, "- ");
      assert.equal(new Function(`return (${js});`)(), evaluate(e.node), e.text);
    }),
    { numRuns: 500 },
  );
});

Deno.test("script: start() runs on the back end; results are typed by the maps build returns", async () => {
  const s = script(({ begin, map, perThread }) => {
    const m = map<number, number>("@m");
    const t = perThread("@t");
    begin(() => {
      m.set(1, 40);
      m.increment(1, 2);
      m.set(2, cond(nsecs.gt(0), 7, 8));
      t.set(5);
      count("@c", { by: "x" });
    });
    return { m, t, other: 3 };
  });
  let printed = "";
  await using run = await s.start({ output: (text) => printed += text, printMaps: false });
  await run.runFor(0);
  const { m, t } = run.results;
  assert.equal(m.get(1), 42);
  assert.equal(m.get(2), 7);
  assert.equal(t.size, 1);
  assert.deepEqual([...run.map(s.refs.m).keys()].sort(), [1, 2]);
  assert.equal(run.maps["@c"].get("x"), 1);
  assert.equal(printed, "");
});

Deno.test("script: a type error from the back end quotes the builder's rendering of the expression", async () => {
  // TypeScript refuses what the types show: a string in arithmetic.
  // @ts-expect-error comm is a string expression
  assert.throws(() => hist("@us", nsecs.add(comm)), /inside a probe body/);
  // Untyped fields are checked by the back end, which quotes the rendering.
  const s = script(({ on, map }) => {
    const start = map<number, number>("@start");
    on(tracepoint("syscalls:sys_enter_openat"), () => start.set(tid, nsecs));
    on(tracepoint("syscalls:sys_exit_openat"), ({ args }) => {
      hist("@us", nsecs.sub(start.get(tid)).add(args.ret).mul(args.__syscall_nr.add(comm)));
    });
  });
  await assert.rejects(
    () => s.start({ output: () => {}, printMaps: false }),
    (e: Error) =>
      e instanceof InvalidArgumentError && e.message.includes("args.__syscall_nr + comm"),
  );
});

Deno.test("script: a struct the script declares lays out as C and reads through a cast", async () => {
  // A struct with task_struct's pid at its kernel offset (from vmlinux BTF), after padding.
  const task = loadKernelSpec().typeByName("task_struct", "struct");
  assert.ok(task?.kind === "struct");
  const pidOffset = task.members.find((m) => m.name === "pid")!.bitOffset / 8;
  const s = script(({ begin, struct }) => {
    const t = struct("t", { pad: `char[${pidOffset}]`, pid: "int" });
    begin(() => printf("%d %d\n", cast<{ pid: number }>(curtask, `${t} *`).pid, tid));
  });
  let printed = "";
  await using run = await s.start({ output: (text) => printed += text, printMaps: false });
  await run.runFor(0);
  const [fromStruct, fromHelper] = printed.trim().split(" ").map(Number);
  assert.ok(fromHelper > 0);
  assert.equal(fromStruct, fromHelper);
});

Deno.test("script: a local holding a struct pointer or a struct value keeps its type; members read through it", async () => {
  const s = script(({ begin }) => {
    begin(() => {
      const t = local(curtask, "t");
      const p = local(t.field("real_parent"), "p");
      const x = local(deref(p, "struct task_struct"), "x");
      printf("%d %d %d\n", t.field("tgid"), p.field("tgid"), x.field("tgid"));
    });
  });
  let printed = "";
  await using run = await s.start({ output: (text) => printed += text, printMaps: false });
  await run.runFor(0);
  // BEGIN runs in this process: its task, its parent, the parent's struct by value
  assert.deepEqual(printed.trim().split(" ").map(Number), [Deno.pid, Deno.ppid, Deno.ppid]);
});

Deno.test("script: tp_btf arguments that point to kernel structs keep their type in locals (sched_switch's prev, next)", async () => {
  const s = script(({ on }) => {
    on(tpBtf("sched_switch"), ({ args }) => {
      const next = local(args.next, "next");
      const prev = local(args.prev, "prev");
      printf("%d %d\n", next.field("pid").eq(args.next.pid), prev.field("tgid").eq(args.prev.tgid));
      exit();
    });
  });
  let printed = "";
  await using run = await s.start({ output: (text) => printed += text, printMaps: false });
  await run.runFor(10_000);
  const lines = printed.trim().split("\n");
  assert.ok(lines.length >= 1);
  for (const line of lines) assert.equal(line, "1 1");
});
