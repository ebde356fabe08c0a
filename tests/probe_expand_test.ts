// Wildcard probe points and probe listing: listProbes prints what
// `bpftrace -l PATTERN` prints (same lines, same order) for tracepoints,
// probe-type wildcards, software/hardware/iter, uprobes (paths, path globs,
// library names) and USDT; rawtracepoint listing matches bpftool's BTF
// typedefs; expandPoints gives the same sets as bpftrace, keeps the point's
// other fields, and a glob that matches nothing is a ProbeNotFoundError with
// the closest names. The glob matcher is checked against a regular
// expression translation of bpftrace's algorithm on random patterns.

import assert from "node:assert/strict";
import fc from "fast-check";
import {
  EbpfError,
  InvalidArgumentError,
  NotFoundError,
  NotSupportedError,
} from "../src/errors.ts";
import { loadKernelSpec } from "../src/btf/mod.ts";
import { haveProgramType } from "../src/features/mod.ts";
import {
  expandPoints,
  globMatch,
  type IrPoint,
  listProbes,
  ProbeNotFoundError,
} from "../src/probe/mod.ts";
import { runScript } from "../src/probe/run_script.ts";
import { globPaths } from "../src/probe/expand.ts";
import type { ScriptIr } from "../src/probe/ir.ts";
import { buildTarget, cleanTargets, WaitingTarget } from "./uprobe_fixtures.ts";
import { pureRuns } from "./_helpers.ts";

const LIBC = "/usr/lib/x86_64-linux-gnu/libc.so.6";
const decoder = new TextDecoder();

/** `bpftrace -l [-v] PATTERN`: its stdout lines and its stderr. */
async function bpftraceList(
  pattern: string,
  options: { verbose?: boolean; pid?: number } = {},
): Promise<{ lines: string[]; stderr: string }> {
  let out: Deno.CommandOutput;
  const pid = options.pid === undefined ? [] : ["-p", String(options.pid)];
  try {
    out = await new Deno.Command("bpftrace", {
      args: [...pid, options.verbose ? "-lv" : "-l", pattern],
      stdout: "piped",
      stderr: "piped",
    }).output();
  } catch (e) {
    throw new Error(
      `bpftrace (the oracle of this test) cannot run: ${e}; tools/setup.ts installs it`,
    );
  }
  const text = decoder.decode(out.stdout);
  return {
    lines: text === "" ? [] : text.replace(/\n$/, "").split("\n"),
    stderr: decoder.decode(out.stderr),
  };
}

async function sameAsBpftrace(
  pattern: string,
  options: { verbose?: boolean; pid?: number } = {},
): Promise<string[]> {
  const warnings: string[] = [];
  // bpftrace starts (its LLVM libraries: seconds under the VM stage's TCG, on
  // the guest's other vCPU) while this process lists.
  const [theirsRun, oursRun] = await Promise.allSettled([
    bpftraceList(pattern, options),
    listProbes(pattern, { ...options, onWarning: (m) => warnings.push(m) }),
  ]);
  if (theirsRun.status === "rejected") throw theirsRun.reason;
  if (oursRun.status === "rejected") throw oursRun.reason;
  const [theirs, ours] = [theirsRun.value, oursRun.value];
  assert.deepEqual(ours, theirs.lines, `bpftrace -l ${pattern}`);
  // Each warning bpftrace prints, we report (bpftrace may print one twice).
  const theirWarnings = new Set(
    theirs.stderr.split("\n").filter((l) => l.startsWith("WARNING: ")).map((l) => l.slice(9)),
  );
  assert.deepEqual(new Set(warnings), theirWarnings, `warnings of bpftrace -l ${pattern}`);
  return ours;
}

Deno.test("listProbes prints what bpftrace -l prints: tracepoints, type wildcards, software/hardware/iter", async () => {
  const sched = await sameAsBpftrace("tracepoint:sched:*");
  assert.ok(sched.includes("tracepoint:sched:sched_switch"));
  for (
    const pattern of [
      "tracepoint:*:sched_*", // * crosses ':'
      "tracepoint:sched_pi*", // the group is wildcarded
      "t:sched:sched_switch", // an alias, no wildcard
      "tracepoint:sched:sched_*e", // each piece at its leftmost place: not sched_process_free
      "t*:sched:sched_pi*",
      "sched_pi*", // every kernel probe type: hardware:sched_pi*: … and the warning for kprobes
      "*sched_pi*",
      "software:*",
      "hardware:*:100",
      "iter:*",
      "kprobe:vfs_read",
      "profile:hz:99",
      "tracepoint:sched:sched_switch,tracepoint:sched:sched_wakeup",
    ]
  ) {
    await sameAsBpftrace(pattern);
  }
});

Deno.test("listProbes lists structs, unions and enums of kernel BTF as bpftrace -l 'struct …' does", async () => {
  for (
    const pattern of ["struct task_s*", "union *", "enum *", "struct *sock", "struct task_struct"]
  ) {
    await sameAsBpftrace(pattern);
  }
  await assert.rejects(listProbes("struct task_struct", { verbose: true }), NotSupportedError);
});

Deno.test("listProbes with no pattern lists every kernel probe as bpftrace -l does", async () => {
  const all = await sameAsBpftrace("*:*");
  assert.ok(all.length > 100);
  assert.deepEqual(await listProbes(), all);
  assert.deepEqual(await listProbes("*"), all);
});

Deno.test("listProbes -v: a tracepoint's fields as bpftrace -lv prints them", async () => {
  const lines = await sameAsBpftrace("tracepoint:sched:sched_switch", { verbose: true });
  assert.ok(lines.includes("    char prev_comm[16]"), lines.join("\n"));
  await sameAsBpftrace("tracepoint:syscalls:sys_enter_read*", { verbose: true });
  await sameAsBpftrace("iter:*", { verbose: true });
  const warnings: string[] = [];
  await listProbes("uprobe:libc:malloc", { verbose: true, onWarning: (m) => warnings.push(m) });
  assert.match(warnings.join("\n"), /parameters of uprobe probes \(from DWARF\) are not listed/);
});

Deno.test("listProbes: uprobes and USDT as bpftrace -l lists them (paths, path globs, library names, debug files)", async () => {
  const target = await buildTarget("pie");
  try {
    const malloc = await sameAsBpftrace(`uprobe:${LIBC}:mall*`);
    assert.ok(malloc.includes(`uprobe:${LIBC}:malloc`));
    await sameAsBpftrace("uprobe:libc:mall*"); // resolved as bpftrace resolves lib names
    await sameAsBpftrace(`uprobe:${LIBC.replace(".so.6", ".so.*")}:malloc`);
    await sameAsBpftrace(`u*:${LIBC}:malloc`); // uprobe, not uretprobe
    // Every function, with the debug file's local symbols when it is installed.
    await sameAsBpftrace(`uprobe:${LIBC}:*`);
    await sameAsBpftrace(`uprobe:${target}:*`);
    const usdt = await sameAsBpftrace(`usdt:${target}:*`);
    assert.deepEqual(usdt, [`usdt:${target}:denobpf:tick`]);
    await sameAsBpftrace(`usdt:${target}:*:ti*`);
    await sameAsBpftrace(`usdt:${target.slice(0, target.lastIndexOf("/"))}/*:*`);
    await sameAsBpftrace(`*:${target}:*`);
  } finally {
    await cleanTargets();
  }
});

Deno.test("listProbes -p PID: USDT of every object the process maps, its executable for uprobes, as bpftrace -p -l", async () => {
  const path = await buildTarget("pie");
  const target = await WaitingTarget.start(path, 1);
  try {
    const pid = target.pid;
    const usdt = await sameAsBpftrace("usdt:*", { pid });
    assert.deepEqual(usdt, [`usdt:/proc/${pid}/root${path}:denobpf:tick`]);
    await sameAsBpftrace("usdt:*:*", { pid });
    await sameAsBpftrace(`usdt:${path}:*`, { pid });
    await sameAsBpftrace("uprobe:denobpf_target_*", { pid });
    const points = await expandPoints({ kind: "usdt", target: "ti*", pid });
    assert.deepEqual(points.map((p) => p.target), [`/proc/${pid}/root${path}:denobpf:tick`]);
  } finally {
    await target.go();
    await cleanTargets();
  }
});

Deno.test("listProbes and expandPoints need only --allow-ffi", async () => {
  const mod = new URL("../src/probe/mod.ts", import.meta.url).href;
  const script = `import { expandPoints, listProbes } from ${JSON.stringify(mod)};
    const lines = await listProbes("uprobe:libc:mall*");
    const points = await expandPoints({ kind: "tp_btf", target: "sched_wak*" });
    const events = await expandPoints({ kind: "tracepoint", target: "sched:sched_wak*" });
    console.log(JSON.stringify([lines, points.map((p) => p.target), events.map((p) => p.target)]));`;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "--allow-ffi", "--no-prompt", "-"],
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const w = child.stdin.getWriter();
  await w.write(new TextEncoder().encode(script));
  await w.close();
  const out = await child.output();
  assert.ok(out.success, decoder.decode(out.stderr));
  assert.deepEqual(JSON.parse(decoder.decode(out.stdout)), [
    await listProbes("uprobe:libc:mall*"),
    (await expandPoints({ kind: "tp_btf", target: "sched_wak*" })).map((p) => p.target),
    (await expandPoints({ kind: "tracepoint", target: "sched:sched_wak*" })).map((p) => p.target),
  ]);
});

Deno.test("listProbes: rawtracepoint lists vmlinux BTF's btf_trace_* typedefs (bpftool's BTF dump)", async () => {
  const out = await new Deno.Command("bpftool", {
    args: ["btf", "dump", "file", "/sys/kernel/btf/vmlinux"],
    stdout: "piped",
  }).output();
  const names = [...decoder.decode(out.stdout).matchAll(/TYPEDEF 'btf_trace_(sched[^']*)'/g)]
    .map((m) => `rawtracepoint:vmlinux:${m[1]}`).sort();
  assert.ok(names.length > 5);
  assert.deepEqual(await listProbes("rawtracepoint:sched*"), names);
  assert.deepEqual(await listProbes("rawtracepoint:vmlinux:sched*"), names);
});

Deno.test("listProbes: kfunc/fentry where the feature probe says fentry does not load, errors as bpftrace's", async () => {
  if (haveProgramType("tracing")) {
    await sameAsBpftrace("kfunc:vfs_read*");
  } else {
    // bpftrace: "kfunc/kretfunc not available for your kernel version."
    await assert.rejects(listProbes("kfunc:vfs_read"), NotSupportedError);
    await assert.rejects(listProbes("fentry:vfs_read"), NotSupportedError);
  }
  await assert.rejects(listProbes("nosuchtype:x"), /Invalid probe type: nosuchtype/);
  await assert.rejects(
    listProbes("tracepoint:sched"),
    /tracepoint probe type requires 2 arguments/,
  );
  await assert.rejects(listProbes("x*:y"), /No probe type matched for x\*/);
});

Deno.test("kprobes from a tracefs fixture: module column dropped, .part clones skipped; without the file, a warning", async () => {
  const dir = await Deno.makeTempDir({ prefix: "denobpf_expand_" });
  try {
    await Deno.writeTextFile(
      `${dir}/available_filter_functions`,
      "vfs_read\nvfs_readv\nvfs_read.part.0\next4_file_read [ext4]\nvfs_write\nvfs_read\n",
    );
    assert.deepEqual(await listProbes("kprobe:vfs_r*", { tracefs: dir }), [
      "kprobe:vfs_read",
      "kprobe:vfs_readv",
    ]);
    assert.deepEqual(await listProbes("kprobe:*read", { tracefs: dir }), [
      "kprobe:ext4_file_read",
      "kprobe:vfs_read",
    ]);
    const points = await expandPoints({ kind: "kretprobe", target: "vfs_*+8" }, { tracefs: dir });
    assert.deepEqual(points.map((p) => p.target), ["vfs_read+8", "vfs_readv+8", "vfs_write+8"]);
    // Without available_filter_functions: kallsyms text symbols (of the root).
    await Deno.remove(`${dir}/available_filter_functions`);
    await Deno.mkdir(`${dir}/root/proc`, { recursive: true });
    await Deno.writeTextFile(
      `${dir}/root/proc/kallsyms`,
      "ffffffff81000000 T vfs_read\nffffffff81000100 t vfs_readx\nffffffff81000200 D vfs_data\n" +
        "ffffffffc0000000 t mod_read\t[mod]\n",
    );
    const fromKallsyms = await expandPoints({ kind: "kprobe", target: "*read*" }, {
      tracefs: dir,
      root: `${dir}/root`,
    });
    assert.deepEqual(fromKallsyms.map((p) => p.target), ["mod_read", "vfs_read", "vfs_readx"]);
    const warnings: string[] = [];
    assert.deepEqual(
      await listProbes("kprobe:vfs_*", { tracefs: dir, onWarning: (m) => warnings.push(m) }),
      [],
    );
    assert.deepEqual(warnings, [
      `Could not read symbols from ${dir}/available_filter_functions: No such file or directory`,
    ]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("expandPoints: the sets bpftrace -l gives, in its order, each a copy of the point", async () => {
  const span = { line: 3, column: 1, text: "tracepoint:sched:sched_wak*" };
  const point: IrPoint = { kind: "tracepoint", target: "sched:sched_wak*", span };
  const wak = await expandPoints(point);
  const expected = (await bpftraceList("tracepoint:sched:sched_wak*")).lines
    .map((l) => l.slice("tracepoint:".length));
  assert.deepEqual(wak.map((p) => p.target), expected);
  assert.ok(wak.every((p) => p.kind === "tracepoint" && p.span === span));
  // A target without ':' ranges over every group, as bpftrace's tracepoint:NAME* does.
  assert.deepEqual(
    (await expandPoints({ kind: "tracepoint", target: "sched_pi*" })).map((p) => p.target),
    [
      "sched:sched_pi_setprio",
    ],
  );
  // No glob: the point itself.
  const plain: IrPoint = { kind: "tracepoint", target: "sched:sched_switch" };
  assert.deepEqual(await expandPoints(plain), [plain]);
  for (const kind of ["profile", "interval", "begin", "end"] as const) {
    const p: IrPoint = {
      kind,
      target: kind === "profile" ? "hz:99" : kind === "interval" ? "s:1" : "",
    };
    assert.deepEqual(await expandPoints(p), [p]);
  }
  // tp_btf and raw_tracepoint: BTF's tracepoints, by event name.
  const raw = (await listProbes("rawtracepoint:sched_wak*")).map((l) =>
    l.slice("rawtracepoint:vmlinux:".length)
  );
  for (const kind of ["tp_btf", "raw_tracepoint"] as const) {
    assert.deepEqual(
      (await expandPoints({ kind, target: "sched_wak*" })).map((p) => p.target),
      raw,
    );
  }
  // fentry over BTF functions with at most 6 parameters.
  const fentry = await expandPoints({ kind: "fentry", target: "vfs_rea?" });
  assert.deepEqual(fentry.map((p) => p.target), ["vfs_read"]);
});

Deno.test("expandPoints: uprobes by library name and glob, USDT providers, with the pid kept", async () => {
  const target = await buildTarget("pie");
  try {
    const theirs = (await bpftraceList("uprobe:libc:mall*")).lines.map((l) =>
      l.slice("uprobe:".length)
    );
    const ours = await expandPoints({ kind: "uprobe", target: "c:mall*", pid: 1 });
    assert.deepEqual(ours.map((p) => p.target), theirs);
    assert.ok(ours.every((p) => p.pid === 1 && p.kind === "uprobe"));
    // A library name without a glob is resolved to its path, once.
    const libc = theirs[0].slice(0, theirs[0].lastIndexOf(":"));
    assert.deepEqual(await expandPoints({ kind: "uretprobe", target: "libc:malloc" }), [
      { kind: "uretprobe", target: `${libc}:malloc` },
    ]);
    // usdt path:name gets its provider; globs over provider and name.
    for (const t of [`${target}:tick`, `${target}:denobpf:t*`, `${target}:*:*`]) {
      const pts = await expandPoints({ kind: "usdt", target: t });
      assert.deepEqual(pts.map((p) => p.target), [`${target}:denobpf:tick`], t);
    }
    const funcs = await expandPoints({ kind: "uprobe", target: `${target}:denobpf_target_*` });
    assert.deepEqual(funcs.map((p) => p.target), [
      `${target}:denobpf_target_add`,
      `${target}:denobpf_target_other`,
    ]);
  } finally {
    await cleanTargets();
  }
});

Deno.test("a script's wildcard point runs one program per match, sharing its map, keyed by the probe builtin", async () => {
  const libc = Deno.dlopen("libc.so.6", {
    getpid: { parameters: [], result: "i32" },
    getppid: { parameters: [], result: "i32" },
    gettid: { parameters: [], result: "i32" },
  });
  try {
    const tid = libc.symbols.gettid();
    const ir: ScriptIr = {
      probes: [{
        points: [{ kind: "tracepoint", target: "syscalls:sys_enter_getp*" }],
        filter: {
          op: "binary",
          operator: "==",
          left: { op: "builtin", name: "tid" },
          right: { op: "int", value: BigInt(tid) },
        },
        body: [{
          op: "aggregate",
          map: "@",
          key: { op: "builtin", name: "probe" },
          fn: "count",
          args: [],
        }],
      }],
    };
    const handle = await runScript(ir, { printMaps: false });
    try {
      for (let i = 0; i < 30; i++) libc.symbols.getpid();
      for (let i = 0; i < 7; i++) libc.symbols.getppid();
    } finally {
      await handle.stop();
    }
    const counts = Object.fromEntries(
      [...handle.maps["@"]].map(([k, v]) => [String(k), Number(v)]),
    );
    assert.deepEqual(counts, {
      "tracepoint:syscalls:sys_enter_getpid": 30,
      "tracepoint:syscalls:sys_enter_getppid": 7,
    });
  } finally {
    libc.close();
  }
});

Deno.test("expandPoints: a glob that matches nothing is a ProbeNotFoundError naming the closest points", async () => {
  const err = await assert.rejects(
    expandPoints({ kind: "tracepoint", target: "sched:sched_swich*" }),
    (e: unknown) => {
      assert.ok(e instanceof ProbeNotFoundError);
      assert.ok(e.suggestions.includes("sched:sched_switch"), e.message);
      assert.match(e.message, /no tracepoint matches "sched:sched_swich\*"/);
      assert.match(e.message, /did you mean .*sched:sched_switch/);
      return true;
    },
  );
  void err;
  // Whatever the group or path: the name decides.
  await assert.rejects(
    expandPoints({ kind: "tracepoint", target: "sched_swich*" }),
    (e: unknown) => {
      assert.ok(e instanceof ProbeNotFoundError);
      assert.ok(e.suggestions.includes("sched:sched_switch"), e.message);
      return true;
    },
  );
  await assert.rejects(expandPoints({ kind: "uprobe", target: "c:mallocc*" }), (e: unknown) => {
    assert.ok(e instanceof ProbeNotFoundError);
    assert.ok(e.suggestions.some((s) => s.endsWith("libc.so.6:malloc")), e.message);
    return true;
  });
  await assert.rejects(
    expandPoints({ kind: "uprobe", target: `${LIBC}:mallocc*` }),
    (e: unknown) => {
      assert.ok(e instanceof ProbeNotFoundError);
      assert.ok(e.suggestions.includes(`${LIBC}:malloc`), e.message);
      return true;
    },
  );
  await assert.rejects(expandPoints({ kind: "tp_btf", target: "sched_swtch*" }), (e: unknown) => {
    assert.ok(e instanceof ProbeNotFoundError);
    assert.ok(e.suggestions.includes("sched_switch"), e.message);
    return true;
  });
  await assert.rejects(expandPoints({ kind: "uprobe", target: "no_such_library_x:f*" }), EbpfError);
  await assert.rejects(expandPoints({ kind: "uprobe", target: "nocolon*" }), InvalidArgumentError);
});

Deno.test("BtfSpec.nameOf (the listing's name walk) gives typeById's name for any id", () => {
  const spec = loadKernelSpec();
  assert.equal(spec.nameOf(0), "");
  assert.throws(() => spec.nameOf(spec.lastTypeId + 1), NotFoundError);
  fc.assert(
    fc.property(fc.integer({ min: 1, max: spec.lastTypeId }), (id) => {
      assert.equal(spec.nameOf(id), spec.typeById(id).name);
    }),
    { numRuns: 2000 },
  );
});

// ---- the glob matcher, against a regular-expression translation ----
// (pure code, as globPaths over a fixed folder: the VM guest runs fewer
// cases, tests/_helpers.ts pureRuns; the host the full counts)

function escape(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replaceAll("\\?", "[^]");
}

/**
 * bpftrace's algorithm as a regular expression: each piece between stars is
 * found at its leftmost place and never revisited (a lookahead with a lazy
 * prefix, consumed through a back-reference, cannot backtrack).
 */
function referenceRegex(pattern: string): RegExp {
  if (pattern === "") return /^$/;
  const pieces = pattern.split("*").filter((p) => p !== "");
  let re = "^";
  pieces.forEach((piece, i) => {
    if (i === 0 && !pattern.startsWith("*")) re += escape(piece);
    else re += `(?=([^]*?${escape(piece)}))\\${i + (pattern.startsWith("*") ? 1 : 0)}`;
  });
  return new RegExp(re + (pattern.endsWith("*") || pieces.length === 0 ? "" : "$"));
}

/** A shell glob (`*` any run, `?` any one character) as a regular expression. */
function shellRegex(pattern: string): RegExp {
  return new RegExp(`^${pattern.split("*").map(escape).join("[^]*")}$`);
}

const alphabet = fc.constantFrom("a", "b", "c", ":", "_", "/", ".");
const names = fc.array(alphabet, { maxLength: 12 }).map((a) => a.join(""));
const patterns = fc.array(fc.oneof(alphabet, fc.constant("*"), fc.constant("?")), { maxLength: 8 })
  .map((a) => a.join(""));

Deno.test("globMatch: bpftrace's leftmost matching, as its regular-expression translation, on random patterns", () => {
  assert.equal(globMatch("sched_*e", "sched_process_free"), false); // as bpftrace
  assert.equal(globMatch("sched_*e", "sched_stat_runtime"), true);
  assert.equal(globMatch("*:sched_*", "sched:sched_switch"), true);
  assert.equal(globMatch("sched_p?_setprio", "sched_pi_setprio"), true);
  fc.assert(
    fc.property(patterns, names, (p, n) => {
      assert.equal(globMatch(p, n), referenceRegex(p).test(n), `${p} ~ ${n}`);
    }),
    { numRuns: pureRuns(3000) },
  );
});

Deno.test("globMatch: never matches what a shell glob would not, and equals it when the pattern ends with * or has none", () => {
  fc.assert(
    fc.property(patterns, names, (p, n) => {
      const glob = shellRegex(p).test(n);
      const ours = globMatch(p, n);
      if (ours) assert.ok(glob, `${p} ~ ${n}`);
      if (p.endsWith("*") || !p.includes("*")) assert.equal(ours, glob, `${p} ~ ${n}`);
    }),
    { numRuns: pureRuns(3000) },
  );
  // Mutated real names: a name matches itself, its prefix followed by *, and
  // `pre*post` or `*post` exactly when post's leftmost place after pre ends the name.
  fc.assert(
    fc.property(
      fc.constantFrom("sched:sched_switch", "syscalls:sys_enter_read", "/usr/lib/libc.so.6:malloc"),
      fc.nat(),
      fc.nat({ max: 6 }),
      (name, at, len) => {
        const i = at % (name.length + 1);
        const pre = name.slice(0, i);
        const post = name.slice(Math.min(name.length, i + len));
        const endsAtLeftmost = post === "" || name.indexOf(post, i) === name.length - post.length;
        assert.ok(globMatch(name, name));
        assert.ok(globMatch(`${pre}*`, name));
        assert.equal(globMatch(`${pre}*${post}`, name), endsAtLeftmost, `${pre}*${post}`);
        assert.equal(
          globMatch(`*${post}`, name),
          post === "" || name.indexOf(post) === name.length - post.length,
        );
      },
    ),
    { numRuns: pureRuns(500) },
  );
});

/**
 * fnmatch(3) without flags, as a backtracking reference: `*`, `?`,
 * `[...]` with `!`/`^`, ranges (out of order: nothing) and a leading `]`.
 */
function fnmatch(p: string, s: string): boolean {
  if (p === "") return s === "";
  const c = p[0];
  if (c === "*") {
    for (let k = 0; k <= s.length; k++) if (fnmatch(p.slice(1), s.slice(k))) return true;
    return false;
  }
  if (s === "") return false;
  if (c === "?") return fnmatch(p.slice(1), s.slice(1));
  if (c === "[") {
    let i = 1;
    const neg = p[i] === "!" || p[i] === "^";
    if (neg) i++;
    const close = p.indexOf("]", i + 1);
    if (close >= 0) {
      const body = p.slice(i, close);
      let hit = false;
      for (let k = 0; k < body.length; k++) {
        if (body[k + 1] === "-" && k + 2 < body.length) {
          if (body[k] <= s[0] && s[0] <= body[k + 2]) hit = true;
          k += 2;
        } else if (body[k] === s[0]) hit = true;
      }
      return hit !== neg && fnmatch(p.slice(close + 1), s.slice(1));
    }
  }
  return c === s[0] && fnmatch(p.slice(1), s.slice(1));
}

Deno.test("uprobe path globs match as glob(3) does (fast-check against an fnmatch reference), hidden names only by a leading dot", async () => {
  const dir = await Deno.makeTempDir({ prefix: "denobpf_expand_glob_" });
  try {
    const files = ["ab", "a]", "b!", "ca", "a-b", ".ab", "z^", "[a", "aa"];
    const elf = new Uint8Array([0x7f, 0x45, 0x4c, 0x46]);
    for (const f of files) await Deno.writeFile(`${dir}/${f}`, elf);
    await Deno.writeTextFile(`${dir}/notelf`, "text");
    const segment = fc.array(
      fc.constantFrom("a", "b", "]", "!", "^", "[", "-", "*", "?", "z", "."),
      {
        minLength: 1,
        maxLength: 7,
      },
    ).map((a) => a.join("")).filter((p) => /[*?[]/.test(p));
    fc.assert(
      fc.property(segment, (seg) => {
        const expected = files
          .filter((f) => !(f.startsWith(".") && !seg.startsWith(".")) && fnmatch(seg, f))
          .map((f) => `${dir}/${f}`).sort();
        assert.deepEqual(globPaths(`${dir}/${seg}`), expected, seg);
      }),
      { numRuns: pureRuns(1000) },
    );
    assert.deepEqual(globPaths(`${dir}/[z-a]*`), []);
    assert.deepEqual(globPaths(`${dir}/[!a]*`), [
      `${dir}/[a`,
      `${dir}/b!`,
      `${dir}/ca`,
      `${dir}/z^`,
    ]);
    assert.deepEqual(globPaths(`${dir}/a[]]`), [`${dir}/a]`]);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("listProbes: random and mutated patterns give lines or a typed error", async () => {
  const dir = await Deno.makeTempDir({ prefix: "denobpf_expand_" });
  try {
    await Deno.mkdir(`${dir}/events`);
    await Deno.writeTextFile(
      `${dir}/available_events`,
      "sched:sched_switch\nsched:sched_wakeup\nirq:irq_handler_entry\n",
    );
    await Deno.writeTextFile(`${dir}/available_filter_functions`, "vfs_read\nksys_read [x]\n");
    const parts = fc.constantFrom(
      "tracepoint",
      "t",
      "kprobe",
      "software",
      "iter",
      "*",
      "sched",
      "",
      '"a:b"',
      "BEGIN",
    );
    const pattern = fc.oneof(
      fc.array(fc.oneof(parts, patterns.filter((p) => !p.includes("/"))), { maxLength: 4 }).map((
        a,
      ) => a.join(":")),
      fc.string({ maxLength: 20 }).filter((s) => !s.includes("/")),
    );
    await fc.assert(
      fc.asyncProperty(pattern, async (p) => {
        try {
          const lines = await listProbes(p, { tracefs: dir });
          for (const l of lines) assert.match(l, /^[a-zA-Z]+:/);
        } catch (e) {
          assert.ok(e instanceof EbpfError, `${JSON.stringify(p)}: ${e}`);
        }
      }),
      { numRuns: 300 },
    );
    // Mutated tracefs files: a format file for -v, available_filter_functions
    // for kprobes. Each -v line is a field's declaration; each kprobe a
    // function of the file, its module column dropped.
    const format = Deno.readTextFileSync("/sys/kernel/tracing/events/sched/sched_switch/format");
    await Deno.mkdir(`${dir}/events/sched/sched_switch`, { recursive: true });
    const edits = fc.array(
      fc.tuple(fc.nat(), fc.nat({ max: 8 }), fc.string({ maxLength: 8 })),
      { maxLength: 4 },
    );
    await fc.assert(
      fc.asyncProperty(
        edits,
        fc.array(fc.string({ maxLength: 12 }), { maxLength: 6 }),
        async (ed, fns) => {
          let text = format;
          for (const [at, len, put] of ed) {
            const i = at % (text.length + 1);
            text = text.slice(0, i) + put + text.slice(i + len);
          }
          await Deno.writeTextFile(`${dir}/events/sched/sched_switch/format`, text);
          const lines = await listProbes("tracepoint:sched:sched_switch", {
            tracefs: dir,
            verbose: true,
          });
          assert.equal(lines[0], "tracepoint:sched:sched_switch");
          for (const l of lines.slice(1)) assert.ok(l.startsWith("    ") && !l.includes(";"), l);
          await Deno.writeTextFile(`${dir}/available_filter_functions`, fns.join("\n"));
          // bpftrace's strip_symbol_module: a line ending in ] loses its last " [".
          const names = new Set(
            fns.map((f) =>
              f.endsWith("]") && f.includes(" [") ? f.slice(0, f.lastIndexOf(" [")) : f
            ),
          );
          for (const l of await listProbes("kprobe:*", { tracefs: dir })) {
            assert.ok(names.has(l.slice("kprobe:".length)), l);
          }
        },
      ),
      { numRuns: 150 },
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
