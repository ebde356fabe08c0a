// Host-side unit tests of the VM runner's pure parts (no VM is booted):
//   deno test -A tools/vm/

import assert from "node:assert/strict";
import { ConsoleLines } from "./console.ts";
import { CpuByFile, cpuSeconds } from "./cpu.ts";
import { renderInit, shellQuote } from "./guest_init.ts";
import { qemuArgs } from "./qemu.ts";
import { isTestFile, listTestFiles, shardRuns } from "./shard.ts";
import { addCounts, fileSeconds, ignoredTests, parseDenoSummary, summaryLine } from "./summary.ts";

Deno.test("parseDenoSummary reads the last ok/FAILED line, with steps and ignored", () => {
  assert.equal(parseDenoSummary("no summary here"), undefined);
  assert.deepEqual(parseDenoSummary("\nok | 12 passed | 0 failed (7s)\n"), {
    passed: 12,
    failed: 0,
    ignored: 0,
  });
  const out = "ok | 1 passed | 0 failed (1s)\n\nFAILED | 132 passed (29 steps) | 5 failed | " +
    "3 ignored (2 steps) (10s)\n\nerror: Test failed\n";
  assert.deepEqual(parseDenoSummary(out), { passed: 132, failed: 5, ignored: 3 });
  assert.equal(summaryLine({ passed: 9, failed: 0, ignored: 0 }), "9 passed, 0 failed");
  assert.equal(summaryLine({ passed: 1, failed: 1, ignored: 1 }), "1 passed, 1 failed, 1 skipped");
  assert.deepEqual(
    addCounts({ passed: 3, failed: 0, ignored: 1 }, { passed: 132, failed: 5, ignored: 3 }),
    { passed: 135, failed: 5, ignored: 4 },
  );
});

Deno.test("ignoredTests lists the skipped tests and steps by name", () => {
  const out = [
    "running 2 tests from ./tests/map_test.ts",
    "createMap: hash ... ok (1ms)",
    "createMap: arena (skipped: map type arena not supported by this kernel) ... ignored (0ms)",
    "one trivial program of every program type this kernel supports ...",
    "  lirc_mode2: skipped, program type lirc_mode2 not supported by this kernel ... ignored (0ms)",
    "one trivial program of every program type this kernel supports ... ok (3s)",
  ].join("\n");
  assert.deepEqual(ignoredTests(out), [
    "createMap: arena (skipped: map type arena not supported by this kernel)",
    "lirc_mode2: skipped, program type lirc_mode2 not supported by this kernel",
  ]);
});

Deno.test("fileSeconds sums each file's test times, not its steps'", () => {
  const out = [
    "running 2 tests from ./tests/a_test.ts",
    "one ... ok (1m8s)",
    "two (skipped: no arena) ... ignored (0ms)",
    "running 3 tests from ./tests/b_test.ts",
    "slow ...'slow' has been running for over (1m0s)",
    " ok (2m1s)",
    "with steps ...",
    "  step ... ok (900ms)",
    "with steps ... FAILED (1s)",
    "a test's own output ... ok (5s) is not a result",
    "fast ... ok (741µs)",
  ].join("\n");
  assert.deepEqual(fileSeconds(out), [
    { file: "./tests/a_test.ts", seconds: 68 },
    { file: "./tests/b_test.ts", seconds: 122.000741 },
  ]);
});

Deno.test("CpuByFile charges QEMU's CPU time to the file deno test is running", () => {
  let now = 0;
  const c = new CpuByFile(() => now);
  const feed = (cpu: number, line: string) => {
    now = cpu;
    c.line(line);
  };
  feed(1, "vm: running suite at 30.1s: deno test ...");
  feed(2, "running 3 tests from ./tests/a_test.ts");
  feed(5, "a test ... ok (1s)");
  feed(12, "running 1 test from ./tests/b_test.ts");
  feed(20, "vm: suite done at 99.0s, exit code 0");
  feed(21, "vm: running focused at 99.5s: deno test ...");
  feed(22, "running 2 tests from ./tests/vm/c_test.ts");
  feed(30, "vm: focused done at 130.0s, exit code 1");
  assert.deepEqual(c.files, [
    { run: "suite", file: "./tests/a_test.ts", cpu: 10 },
    { run: "suite", file: "./tests/b_test.ts", cpu: 8 },
    { run: "focused", file: "./tests/vm/c_test.ts", cpu: 8 },
  ]);
  // This process's own CPU time, which only grows.
  const mine = cpuSeconds(Deno.pid)!;
  assert.ok(mine >= 0 && cpuSeconds(Deno.pid)! >= mine);
  assert.equal(cpuSeconds(2 ** 30), undefined);
});

Deno.test("shellQuote survives sh for awkward strings", async () => {
  const words = ["plain", "with space", "it's", `"dq" $HOME \`x\` \\`, "", "a\nb"];
  const script = `printf '%s\\0' ${words.map(shellQuote).join(" ")}`;
  const out = await new Deno.Command("sh", { args: ["-c", script] }).output();
  assert.ok(out.success);
  const got = new TextDecoder().decode(out.stdout).split("\0").slice(0, -1);
  assert.deepEqual(got, words);
});

Deno.test("ConsoleLines strips terminal control sequences and CRs, joins split chunks", () => {
  const lines: string[] = [];
  const c = new ConsoleLines((l) => lines.push(l));
  const enc = new TextEncoder();
  c.push(enc.encode("\x1b[?7l\x1b[2JSeaBIOS\r\nBooting from ROM...\x1bc\x1b[?7lvm: in"));
  c.push(enc.encode("it started\r\n\x1b[0mok | 1 passed"));
  c.flush();
  assert.deepEqual(lines, ["SeaBIOS", "Booting from ROM...", "vm: init started", "ok | 1 passed"]);
});

Deno.test("renderInit gives a script sh accepts, mounting every share at its host path", async () => {
  const plan = () => ({
    bootModules: [],
    testModules: [],
    rootTag: "r",
    shares: [],
    runDir: "/r",
    cwd: "/",
    env: {},
    commands: [],
  });
  const init = renderInit({
    bootModules: ["virtio_pci", "9p"],
    testModules: ["nf_conntrack_netlink"],
    rootTag: "hostroot",
    shares: [
      { tag: "project", path: "/work/my project", writable: false },
      { tag: "run", path: "/work/my project/.vm/run-1/share", writable: true },
    ],
    runDir: "/work/my project/.vm/run-1/share",
    cwd: "/work/my project",
    env: { DENOBPF_VM: "1", PATH: "/usr/bin:/bin" },
    commands: [
      { name: "focused", argv: ["/usr/bin/deno", "test", "-A", "it's_test.ts"] },
      { name: "suite", argv: ["/usr/bin/deno", "test", "-A", "--ignore=tests/vm", "tests/"] },
    ],
    kernelConfig: "/work/my project/.vm/cache/k/boot/config-6.1.0-9-amd64",
  });
  assert.ok(init.startsWith("#!/bin/busybox sh\n"));
  // Each command in turn, with its own output, exit code and duration.
  const focused = init.indexOf("/host/work/my project/.vm/run-1/share/focused.code'");
  const suite = init.indexOf("/host/work/my project/.vm/run-1/share/suite.code'");
  assert.ok(focused > 0 && suite > focused, "focused, then suite");
  assert.match(init, /share\/suite\.out'/);
  assert.match(init, /share\/suite\.secs'/);
  // The kernel config lands where /boot/config-<release> readers look.
  assert.match(init, /mount -t tmpfs tmpfs \/host\/boot /);
  assert.match(
    init,
    /cp '\/host\/work\/my project\/[^']*config-6\.1\.0-9-amd64' "\/host\/boot\/config-\$\(uname -r\)"/,
  );
  assert.throws(() => renderInit({ ...plan(), commands: [{ name: "a b", argv: ["x"] }] }));
  assert.match(init, /mount -t 9p -o [^ ]*,ro hostroot \/host /);
  assert.match(init, /,ro project '\/host\/work\/my project'/);
  assert.match(init, /,rw run '\/host\/work\/my project\/\.vm\/run-1\/share'/);
  assert.match(init, /poweroff -f\n$/);
  const out = await new Deno.Command("sh", { args: ["-n", "-c", init], stderr: "piped" }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
});

Deno.test("qemuArgs: TCG, no network, 9p shares with commas escaped", () => {
  const args = qemuArgs({
    kernel: "/k",
    initrd: "/i",
    timeoutMs: 1,
    shares: [{ tag: "root", path: "/a,b", readonly: true }],
  });
  const s = args.join(" ");
  assert.match(s, /-accel tcg,thread=multi -cpu max -m 2G -smp 2 -nographic -no-reboot -nic none/);
  assert.ok(args.includes(
    "local,path=/a,,b,mount_tag=root,security_model=none," +
      "multidevs=remap,readonly=on",
  ));
});

Deno.test("shardRuns balances files by cost and keeps each guest's runs in order", () => {
  const suite = { name: "suite", fixed: [], parts: ["a", "b", "c", "d", "e"] };
  const focused = { name: "focused", fixed: ["tests/vm/"], parts: [] };
  const cost: Record<string, number> = { a: 10, b: 50, c: 20, d: 30, e: 5, focused: 40 };
  const guests = shardRuns([suite, focused], 2, (p) => cost[p]);
  const load = guests.map((g) =>
    g.reduce(
      (t, p) => t + (p.parts.length ? p.parts.reduce((u, x) => u + cost[x], 0) : cost[p.run.name]),
      0,
    )
  );
  // 155 in all: largest first gives 80 and 75.
  assert.deepEqual(load.toSorted(), [75, 80]);
  for (const g of guests) {
    // The suite's share comes before tests/vm/, and keeps the files' order.
    const names = g.map((p) => p.run.name);
    assert.deepEqual(names, names.includes("suite") ? [...new Set(["suite", ...names])] : names);
    for (const p of g) assert.deepEqual(p.parts, p.parts.toSorted());
  }
  const all = guests.flat().flatMap((p) => p.parts).toSorted();
  assert.deepEqual(all, ["a", "b", "c", "d", "e"]);
  assert.equal(guests.flat().filter((p) => p.run === focused).length, 1);
  // One job: everything in one guest, in order; more jobs than work: no empty guests.
  assert.deepEqual(shardRuns([suite, focused], 1, (p) => cost[p]), [[
    { run: suite, parts: ["a", "b", "c", "d", "e"] },
    { run: focused, parts: [] },
  ]]);
  assert.equal(shardRuns([focused], 4, () => 1).length, 1);
  assert.throws(() => shardRuns([suite], 0, () => 1), RangeError);
});

Deno.test("listTestFiles finds what deno test runs in a dir, less the ignored", async () => {
  const dir = await Deno.makeTempDir();
  try {
    for (
      const f of ["a_test.ts", "b.test.js", "test.ts", "helper.ts", "vm/c_test.ts", "x/d_test.mts"]
    ) {
      await Deno.mkdir(`${dir}/${f}`.replace(/\/[^/]*$/, ""), { recursive: true });
      await Deno.writeTextFile(`${dir}/${f}`, "");
    }
    assert.deepEqual(
      (await listTestFiles(dir, [`${dir}/vm`])).map((f) => f.slice(dir.length + 1)),
      ["a_test.ts", "b.test.js", "test.ts", "x/d_test.mts"],
    );
    assert.ok(isTestFile("x_test.tsx") && !isTestFile("x_tests.ts") && !isTestFile("latest.ts"));
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("file_costs.json names only test files that exist, and the focused run", async () => {
  const root = new URL("../..", import.meta.url).pathname;
  const table = JSON.parse(await Deno.readTextFile(`${root}tools/vm/file_costs.json`));
  for (const [k, v] of Object.entries(table)) {
    if (k === "_comment") continue;
    assert.equal(typeof v, "number", k);
    if (k !== "focused") {
      assert.ok(await Deno.stat(`${root}${k}`).then(() => true, () => false), `${k} is gone`);
    }
  }
});
