// bpftrace's functions that the Debian tools need (issue 13, 14): bswap,
// ntop, cat, cgroupid, `*` dereference and indexing with a non-literal
// index, each run by `deno run -A cli.ts trace` and by `bpftrace` on the
// same program (and workload), stdout compared byte for byte. The IPv6
// text of ntop is also checked against glibc's inet_ntop (through
// python3's socket.inet_ntop) on random addresses, and pton's conversion
// of a literal against glibc's inet_pton on random and mutated texts.

import assert from "node:assert/strict";
import fc from "fast-check";
import { haveProgramType } from "../src/features/mod.ts";
import { formatInet, parseInet } from "../src/probe/_inet.ts";
import {
  bswap,
  cat,
  cgroupid,
  deref,
  exit,
  kaddr,
  ntop,
  print,
  printf,
  pton,
  runScript,
  script,
} from "../src/probe/mod.ts";
import type { IrStmt } from "../src/probe/ir.ts";
import { requireTool, runTimed as run, type TimedRun as Run } from "./_helpers.ts";
import { bothRefuse } from "./_bpftrace_compare.ts";

/** `bpftrace` with `theirs`, `trace` with `ours` (the same arguments when not given). */
async function both(theirs: string[], ours = theirs): Promise<[Run, Run]> {
  requireTool("bpftrace");
  const t = await run("bpftrace", theirs);
  const o = await run(Deno.execPath(), ["run", "-A", "cli.ts", "trace", ...ours]);
  t.stderr = t.stderr.split("\n").filter((l) => !l.includes("RLIMIT_MEMLOCK")).join("\n");
  return [t, o];
}

async function same(theirs: string[], ours = theirs): Promise<[Run, Run]> {
  const [t, o] = await both(theirs, ours);
  assert.equal(t.code, 0, t.stderr);
  assert.equal(o.code, 0, o.stderr);
  assert.equal(o.stdout, t.stdout);
  return [t, o];
}

const tracepoints = haveProgramType("tracepoint");
const SKIPPED = tracepoints ? "" : " (skipped: tracepoint programs not supported by this kernel)";

Deno.test({
  name: `bswap() reverses the bytes within the argument's size, as bpftrace${SKIPPED}`,
  ignore: !tracepoints,
  async fn() {
    await same([
      "-e",
      'BEGIN { printf("%x %x %x %x %d\\n", bswap((uint16)0x1234), bswap((uint32)0x12345678), ' +
      "bswap(0x1122334455667788), bswap((uint8)0x12), bswap((int16)-2)); " +
      "$x = bswap((uint16)0x1234); print($x); @a = bswap((uint32)1); @b[bswap((uint16)1)] = 1; " +
      "@c = bswap(0x0102030405060708); exit(); }",
    ]);
  },
});

Deno.test({
  name: `ntop() prints IPv4 and IPv6 in printf, keys, values and print() as bpftrace${SKIPPED}`,
  ignore: !tracepoints,
  async fn() {
    await same([
      "-e",
      'BEGIN { printf("[%s] [%s] [%s] [%-20s|] [%5s] [%s] [%s]\\n", ntop(0), ntop(0x0100007f), ' +
      'ntop(2, 0x0101a8c0), ntop(10, "012345678901234"), ntop(7, 1), ntop("abc"), ' +
      'ntop(10, "\\x20\\x01\\x0d\\x08\\x00\\x00\\x00\\x00\\x00\\x01\\x00\\x00\\x00\\x00\\x00")); ' +
      "@a[ntop(0x0100007f)] = count(); @b = ntop(0x0100007f); " +
      "$d = ntop(0); $d = ntop(0x04030201); print($d); " +
      '@c[ntop(1), 5] = ntop(10, "012345678901234"); exit(); }',
    ]);
  },
});

Deno.test({
  name:
    `cat() prints the file at its formatted path, and bpftrace's error for a missing one${SKIPPED}`,
  ignore: !tracepoints,
  async fn() {
    const file = await Deno.makeTempFile({ prefix: "denobpf_cat_" });
    try {
      await Deno.writeTextFile(file, "no newline at the end");
      const prog = `BEGIN { cat("/proc/%d/comm", 1); cat("${file}"); printf("|\\n"); ` +
        'cat("/nonexistent/%s", "x"); cat("/proc/sys/kernel/ostype"); exit(); }';
      const [t, o] = await same(["-e", prog]);
      assert.match(o.stdout, /no newline at the end\|\n/);
      const err = "ERROR: failed to open file '/nonexistent/x': No such file or directory";
      assert.ok(t.stderr.includes(err), t.stderr);
      assert.ok(o.stderr.includes(err), o.stderr);
    } finally {
      await Deno.remove(file);
    }
  },
});

Deno.test({
  name: `cgroupid() is the id of a cgroup v2 directory, as bpftrace resolves it${SKIPPED}`,
  ignore: !tracepoints,
  async fn() {
    const mounts = await Deno.readTextFile("/proc/self/mounts");
    const cg2 = /^\S+ (\S+) cgroup2 /m.exec(mounts)?.[1];
    assert.ok(cg2, "a cgroup2 hierarchy is mounted");
    const [, o] = await same(["-e", `BEGIN { printf("%d\\n", cgroupid("${cg2}")); exit(); }`]);
    assert.match(o.stdout, /\n[1-9]\d*\n/);
  },
});

/** The -c workload whose execve calls the pointer tests read: env runs true (several tries). */
const EXEC = ["-c", "/usr/bin/env true"];

Deno.test({
  name: `*p and p[i] read through typed pointers and tracepoint fields as bpftrace${SKIPPED}`,
  ignore: !tracepoints,
  async fn() {
    await same([
      ...EXEC,
      "-e",
      "tracepoint:syscalls:sys_enter_execve /pid == cpid/ { " +
      'printf("%s|%s|%s\\n", str(*args->argv), str(args->argv[1]), str(*(args->argv + 1))); ' +
      "$p = (uint8 *)args->filename; " +
      'printf("%c%c%c %d %d\\n", *$p, $p[1], $p[2], *(uint16 *)args->filename, ' +
      // Each execve's tuple key gets the event's sequence number, not a count: two
      // keys with equal values print in the kernel hash's (random-seeded) order.
      "*(args->filename + 1) & 0xff); @k++; @[*$p, str(args->argv[0])] = @k; }",
    ]);
  },
});

Deno.test({
  name: `p[$i]: an index computed in the program reads what bpftrace reads with literals${SKIPPED}`,
  ignore: !tracepoints,
  async fn() {
    // bpftrace 0.17 takes literal indices only: its program spells out what ours loops over.
    const theirs = "tracepoint:syscalls:sys_enter_execve /pid == cpid/ { " +
      'printf("%s|%s|%c%c\\n", str(args->argv[0]), str(args->argv[1]), ' +
      "((uint8 *)args->filename)[0], ((uint8 *)args->filename)[1]); }";
    const ours = "tracepoint:syscalls:sys_enter_execve /pid == cpid/ { $i = 0; " +
      'unroll(2) { printf("%s|", str(args->argv[$i])); $i++; } ' +
      '$p = (uint8 *)args->filename; $j = 1; printf("%c%c\\n", $p[$j - 1], $p[$j]); }';
    await same([...EXEC, "-e", theirs], [...EXEC, "-e", ours]);
  },
});

/** Arguments running `body` once at bash's shell_execve (bash -c running true), then exit(). */
function atBashExecve(body: string): string[] {
  return [
    "-c",
    "/usr/bin/bash -c /usr/bin/true",
    "-e",
    `uprobe:/usr/bin/bash:shell_execve { ${body} exit(); }`,
  ];
}

Deno.test({
  name: `macaddr() prints 6 bytes at an address as bpftrace in printf, keys and values${SKIPPED}`,
  ignore: !tracepoints,
  async fn() {
    // shell_execve's first argument is the command's path: its first 6 bytes, in user memory
    await same(atBashExecve(
      'printf("%s|%-20s|\\n", macaddr(arg0), macaddr(arg0 + 1)); ' +
        "@[macaddr(arg0)] = count(); @v = macaddr(arg0);",
    ));
  },
});

Deno.test({
  name: `strftime() prints nsecs as local time in printf, print(), keys and values${SKIPPED}`,
  ignore: !tracepoints,
  async fn() {
    // (the date, not the time of day: both runs print the same unless midnight falls between)
    await same([
      "-e",
      'BEGIN { printf("%s|%-12s|\\n", strftime("day %d of %m", nsecs), strftime("%Y-%m-%d", nsecs)); ' +
      'print(strftime("%Y", nsecs)); @t = strftime("%m", nsecs); @k[strftime("%Y", nsecs)] = 1; ' +
      "exit(); }",
    ]);
  },
});

Deno.test({
  name: `uaddr() is a data symbol's address in the probed binary, as bpftrace gives it${SKIPPED}`,
  ignore: !tracepoints,
  async fn() {
    // bash exports data symbols (glob_asciirange: 4 bytes); 0.17 adds no load bias (bash is PIE)
    await same(atBashExecve(
      'printf("%p %d\\n", uaddr("glob_asciirange"), *uaddr("glob_asciirange"));',
    ));
  },
});

Deno.test({
  name:
    `pton() is the literal's 4 or 16 bytes: print(), values, keys, tuples, locals, [i], ==, ntop() as bpftrace${SKIPPED}`,
  ignore: !tracepoints,
  async fn() {
    const [, o] = await same([
      "-e",
      'BEGIN { @a = pton("1.2.3.4"); @b[pton("::1")] = 1; print(pton("::1")); print(pton("1.2.3.4")); ' +
      '$x = pton("10.0.0.1"); printf("%s %s\\n", ntop($x), ntop(pton("fe80::1:ABCD"))); ' +
      '$a = pton("1.2.3.4"); printf("%d %d %d %d %d\\n", pton("255.0.0.9")[0], $a == pton("1.2.3.5"), ' +
      '$a != pton("1.2.3.4"), $a[3], $a == pton("1.2.3.4")); @m[1] = pton("::2"); ' +
      '@t = (1, pton("1.2.3.4")); @c = pton("2001:db8::ff00:42:8329"); ' +
      'print(sizeof(pton("::1"))); print(sizeof(pton("1.2.3.4"))); exit() }',
    ]);
    assert.match(o.stdout, /^@a: \[1,2,3,4\]$/m);
  },
});

Deno.test({
  name: `pton() refuses what bpftrace refuses, with its messages${SKIPPED}`,
  ignore: !tracepoints,
  async fn() {
    const cases: [string, string][] = [
      ['pton("1.2.3")', "pton() expects a valid IPv4/IPv6 address, got 1.2.3"],
      ['pton("::ffff:1.2.3.4")', "pton() expects a valid IPv4/IPv6 address, got ::ffff:1.2.3.4"],
      [
        'pton("localhost")',
        "pton() expects an string argument of an IPv4/IPv6 address, got localhost",
      ],
      ["pton()", "pton() requires one argument (0 provided)"],
      [
        'printf("%s\\n", pton("1.2.3.4"))',
        "printf: %s specifier expects a value of type string (array supplied)",
      ],
      [
        '$e = pton("1.2.3.4") == pton("::1")',
        "Only arrays of same size support comparison operators.",
      ],
      ['$a = pton("1.2.3.4"); print($a[4])', "the index 4 is out of bounds for array of size 4"],
      [
        '$i = 1; $a = pton("1.2.3.4"); print($a[$i])',
        "The array index operator [] only accepts literal integer indices.",
      ],
    ];
    for (const [stmt, message] of cases) {
      const [t, o] = await bothRefuse(["-e", `BEGIN { ${stmt}; exit() }`]);
      assert.notEqual(t.code, 0, stmt);
      assert.notEqual(o.code, 0, stmt);
      assert.ok(t.stderr.includes(message), `bpftrace: ${t.stderr}`);
      assert.ok(o.stderr.includes(message), `${stmt}: ${o.stderr}`);
    }
  },
});

Deno.test({
  name: `script(): pton() builds the front end's call and prints as bpftrace prints it${SKIPPED}`,
  ignore: !tracepoints,
  async fn() {
    const s = script(({ begin }) =>
      begin(() => {
        print(pton("::1"));
        printf("%s %d\n", ntop(pton("192.168.0.1")), pton("1.2.3.4").at(2));
        exit();
      })
    );
    const body = s.ir.probes[0].body as IrStmt[];
    assert.equal(body[0].span?.text, 'print(pton("::1"))');
    let out = "";
    const h = await runScript(s.ir, { output: (t) => out += t, printMaps: false });
    await h.run({ signal: AbortSignal.timeout(10_000) });
    assert.equal(out, "[0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,1]\n192.168.0.1 3\n");
    const bad = script(({ begin }) => begin(() => print(pton("1.2"))));
    await assert.rejects(() => runScript(bad.ir), /pton\(\) expects a valid IPv4\/IPv6 address/);
  },
});

/** glibc's inet_pton of each text (python3's socket.inet_pton calls it): hex bytes, or "" when refused. */
async function glibcPton(texts: string[]): Promise<string[]> {
  requireTool("python3");
  const py = "import socket,sys,json\nfor l in sys.stdin.read().splitlines():\n" +
    " s=json.loads(l)\n try: print(socket.inet_pton(socket.AF_INET if '.' in s else socket.AF_INET6, s).hex())\n" +
    " except OSError: print('')";
  const p = new Deno.Command("python3", { args: ["-c", py], stdin: "piped", stdout: "piped" })
    .spawn();
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(texts.map((t) => JSON.stringify(t)).join("\n")));
  await w.close();
  const out = await p.output();
  return new TextDecoder().decode(out.stdout).split("\n").slice(0, texts.length);
}

Deno.test("parseInet: random and mutated address texts parse as glibc's inet_pton (pton's conversion)", async () => {
  const v4 = fc.array(fc.integer({ min: 0, max: 300 }), { minLength: 3, maxLength: 5 })
    .chain((ns) =>
      fc.array(fc.boolean(), { minLength: ns.length, maxLength: ns.length })
        .map((zs) => ns.map((n, i) => (zs[i] && n < 100 ? "0" : "") + n).join("."))
    );
  const word = fc.oneof(fc.constant(0), fc.constant(0), fc.integer({ min: 0, max: 0xffff }));
  const v6 = fc.array(word, { minLength: 8, maxLength: 8 }).map((ws) => {
    const b = new Uint8Array(16);
    ws.forEach((w, i) => (b[2 * i] = w >> 8, b[2 * i + 1] = w & 0xff));
    return formatInet(10, b).replace(/\./g, ":"); // (no dotted tail: that text is IPv4 to pton)
  });
  const chars = fc.constantFrom(..."0123456789abcdefABCDEFgx:.: ");
  const noise = fc.array(chars, { maxLength: 45 }).map((cs) => cs.join(""));
  // a character deleted, replaced or inserted, twice at most
  const mutate = (s: string) =>
    fc.array(fc.tuple(fc.nat(), chars, fc.integer({ min: 0, max: 2 })), { maxLength: 2 }).map(
      (ms) =>
        ms.reduce((t, [at, c, how]) => {
          const i = at % (t.length + 1);
          return t.slice(0, i) + (how === 0 ? "" : c) + t.slice(how === 2 ? i : i + 1);
        }, s),
    );
  const text = fc.oneof(v4, v6, noise, v4.chain(mutate), v6.chain(mutate));
  const texts = fc.sample(text, { numRuns: 3000, seed: 42 })
    .concat([
      "::",
      "::1",
      "1::",
      ":1::",
      "1:::2",
      "1::2::3",
      "0:0:0:0:0:0:0:0",
      "1:2:3:4:5:6:7::",
      "01.2.3.4",
    ]);
  const want = await glibcPton(texts.filter((t) => /[.:]/.test(t)));
  let i = 0;
  let valid = 0;
  for (const t of texts) {
    const got = parseInet(t);
    if (!/[.:]/.test(t)) {
      assert.equal(got, null, t);
      continue;
    }
    const hex = got ? Array.from(got, (b) => b.toString(16).padStart(2, "0")).join("") : "";
    assert.equal(hex, want[i++], JSON.stringify(t));
    if (got) valid++;
  }
  assert.ok(valid > 500, `only ${valid} valid addresses drawn`);
});

Deno.test("script(): bswap, cgroupid, cat and deref build the IR the bpftrace front end makes", () => {
  const s = script(({ every }) =>
    every(1000, () => {
      printf("%d %d %d\n", bswap(0x1234), cgroupid("/sys/fs/cgroup"), deref(kaddr("avenrun")));
      cat("/proc/%d/status", 1);
      printf("%s\n", ntop(2, 0x0100007f));
    })
  );
  const body = s.ir.probes[0].body as IrStmt[];
  assert.equal(
    body[0].span?.text,
    'printf("%d %d %d\\n", bswap(4660), cgroupid("/sys/fs/cgroup"), *kaddr("avenrun"))',
  );
  const pr = body[0] as Extract<IrStmt, { op: "printf" }>;
  assert.deepEqual(pr.args.map((a) => a.op), ["call", "call", "deref"]);
  assert.equal(body[1].op, "cat");
  assert.equal(body[1].span?.text, 'cat("/proc/%d/status", 1)');
  assert.throws(() => script(({ every }) => every(1000, () => cat("/proc/%d/status"))), /1 conv/);
});

/** glibc's inet_ntop of each address (python3's socket.inet_ntop calls it). */
async function glibcNtop(addrs: Uint8Array[]): Promise<string[]> {
  requireTool("python3");
  const hex = addrs.map((a) => Array.from(a, (b) => b.toString(16).padStart(2, "0")).join(""));
  const py = "import socket,sys\nfor l in sys.stdin.read().split():\n" +
    "  b=bytes.fromhex(l); print(socket.inet_ntop(socket.AF_INET6 if len(b)==16 else socket.AF_INET, b))";
  const p = new Deno.Command("python3", { args: ["-c", py], stdin: "piped", stdout: "piped" })
    .spawn();
  const w = p.stdin.getWriter();
  await w.write(new TextEncoder().encode(hex.join("\n")));
  await w.close();
  const out = await p.output();
  return new TextDecoder().decode(out.stdout).trimEnd().split("\n");
}

Deno.test("formatInet: random IPv4 and IPv6 addresses (zero runs, mapped) print as glibc's inet_ntop", async () => {
  // Words drawn mostly from 0, 1 and 0xffff so that zero runs, ties and mapped forms occur.
  const word = fc.oneof(
    fc.constant(0),
    fc.constant(0),
    fc.constant(0xffff),
    fc.integer({ min: 0, max: 0xffff }),
  );
  const v6 = fc.array(word, { minLength: 8, maxLength: 8 }).map((ws) => {
    const b = new Uint8Array(16);
    ws.forEach((w, i) => (b[2 * i] = w >> 8, b[2 * i + 1] = w & 0xff));
    return b;
  });
  const v4 = fc.uint8Array({ minLength: 4, maxLength: 4 });
  const addrs = [
    ...fc.sample(v6, 400),
    ...fc.sample(v4, 50),
    new Uint8Array(16),
    Uint8Array.from([...new Array(10).fill(0), 0xff, 0xff, 1, 2, 3, 4]),
    Uint8Array.from([...new Array(12).fill(0), 1, 2, 3, 4]),
    Uint8Array.from([...new Array(15).fill(0), 1]),
  ];
  const want = await glibcNtop(addrs);
  addrs.forEach((a, i) => {
    const padded = new Uint8Array(16);
    padded.set(a);
    assert.equal(formatInet(a.length === 16 ? 10 : 2, padded), want[i], `${a}`);
  });
  assert.equal(formatInet(7, new Uint8Array(16)), "");
});
