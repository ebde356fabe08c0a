import assert from "node:assert/strict";
import {
  checkFeature,
  checkHelper,
  checkMapType,
  checkProgramType,
  formatReport,
  haveFeature,
  haveHelper,
  haveMapType,
  haveProgramType,
  IndeterminateProbeError,
  type MapTypeInput,
  NotSupportedError,
  probeAll,
  probeHelper,
  probeMapType,
  type ProgramTypeInput,
  reportToJson,
} from "../src/features/mod.ts";
import { _forget, _injectOutcome } from "../src/features/_cache.ts";
import { probeSyscallCount } from "../src/features/_raw.ts";
import { kernelVersionCode } from "../src/sys/mod.ts";
import { Assembler, R0, R10 } from "../src/asm/mod.ts";
import { loadProgram, VerifierError } from "../src/program/mod.ts";
import { cli as cliOut } from "./_cli_helpers.ts";

// ---- bpftool's answers -----------------------------------------------------

async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  const text = new TextDecoder().decode(out.stdout);
  assert.equal(
    out.code,
    0,
    `${cmd} ${args.join(" ")} failed: ${new TextDecoder().decode(out.stderr)}`,
  );
  return text;
}

interface BpftoolJson {
  system_config: Record<string, unknown>;
  syscall_config: { have_bpf_syscall: boolean };
  program_types: Record<string, boolean>;
  map_types: Record<string, boolean>;
  helpers: Record<string, string[]>;
  misc: Record<string, boolean>;
}

let bpftoolJsonCache: BpftoolJson | undefined;
async function bpftoolJson(): Promise<BpftoolJson> {
  bpftoolJsonCache ??= JSON.parse(await run("bpftool", ["feature", "probe", "kernel", "-j"]));
  return bpftoolJsonCache!;
}

/** The first `n` disagreements, for the failure message. */
function firstOf(list: string[], n = 15): string {
  return list.slice(0, n).join("\n  ") + (list.length > n ? `\n  … ${list.length - n} more` : "");
}

/** The helpers bpftool leaves out unless `full`. */
const NOISY = new Set(["bpf_trace_printk", "bpf_trace_vprintk", "bpf_probe_write_user"]);
/** The last helper id bpftool 7.1 (Linux 6.1 UAPI) knows. */
const BPFTOOL_LAST_HELPER = 209;

// ---- the comparison with bpftool ---------------------------------------------

Deno.test("program types: every answer agrees with bpftool", async () => {
  const bt = await bpftoolJson();
  const disagree: string[] = [];
  for (const [key, want] of Object.entries(bt.program_types)) {
    const name = key.replace(/^have_/, "").replace(/_prog_type$/, "");
    const got = haveProgramType(name as ProgramTypeInput);
    if (got !== want) disagree.push(`${name}: bpftool ${want}, denobpf ${got}`);
  }
  assert.ok(Object.keys(bt.program_types).length >= 30);
  assert.deepEqual(disagree, [], `program types disagree:\n  ${firstOf(disagree)}`);
});

Deno.test("map types: every answer agrees with bpftool", async () => {
  const bt = await bpftoolJson();
  const disagree: string[] = [];
  for (const [key, want] of Object.entries(bt.map_types)) {
    const name = key.replace(/^have_/, "").replace(/_map_type$/, "");
    const got = haveMapType(name as MapTypeInput);
    if (got !== want) {
      disagree.push(
        `${name}: bpftool ${want}, denobpf ${got} (${probeMapType(name as "hash").errno})`,
      );
    }
  }
  assert.ok(Object.keys(bt.map_types).length >= 30);
  assert.deepEqual(disagree, [], `map types disagree:\n  ${firstOf(disagree)}`);
});

Deno.test("helpers: libbpf 1.1's reading agrees with bpftool for every type and helper", async () => {
  const bt = await bpftoolJson();
  const disagree: string[] = [];
  let compared = 0;
  for (const [key, list] of Object.entries(bt.helpers)) {
    const type = key.replace(/_available_helpers$/, "") as ProgramTypeInput;
    const listed = new Set(list);
    for (let id = 1; id <= BPFTOOL_LAST_HELPER; id++) {
      let got: boolean;
      let name: string;
      try {
        const p = probeHelper(type, id);
        name = p.name;
        if (NOISY.has(name)) continue;
        got = haveHelper(type, id, { semantics: "libbpf-1.1" });
      } catch (e) {
        // struct_ops, tracing, lsm, ext: libbpf cannot tell either (bpftool lists nothing).
        assert.ok(e instanceof IndeterminateProbeError, String(e));
        got = false;
        name = `helper #${id}`;
      }
      compared++;
      const want = listed.has(name);
      if (got !== want) disagree.push(`${type} ${name}: bpftool ${want}, denobpf ${got}`);
    }
  }
  assert.ok(compared > 5000, `only ${compared} helper answers compared`);
  assert.deepEqual(disagree, [], `helpers disagree:\n  ${firstOf(disagree)}`);
});

Deno.test("helpers: the kernel's answers differ from bpftool 7.1 only where libbpf 1.1 misreads the verifier", async () => {
  const bt = await bpftoolJson();
  const report = probeAll({ catalog: "bpftool-7.1" }); // kernel semantics
  const unexplained: string[] = [];
  let narrowed = 0;
  for (const h of report.helpers) {
    const listed = new Set(bt.helpers[`${h.programType}_available_helpers`]);
    const ours = new Set(h.available);
    for (const name of ours) {
      if (!listed.has(name)) unexplained.push(`${h.programType} ${name}: only denobpf lists it`);
    }
    for (const name of listed) {
      if (ours.has(name)) continue;
      const verdict = probeHelper(h.type, name as "bpf_map_lookup_elem").verdict;
      if (verdict === "not_for_type") narrowed++;
      else unexplained.push(`${h.programType} ${name}: verdict ${verdict}`);
    }
  }
  assert.deepEqual(unexplained, [], `unexplained differences:\n  ${firstOf(unexplained)}`);
  // On Linux ≥ 6.x the verifier's new wording makes libbpf 1.1 over-report.
  if (kernelVersionCode() >= kernelVersionCode("6.6")) assert.ok(narrowed > 1000, `${narrowed}`);
});

Deno.test("helpers: spot checks of the kernel's answers", () => {
  assert.equal(haveHelper("socket_filter", "bpf_map_lookup_elem"), true);
  assert.equal(haveHelper("xdp", "bpf_redirect_map"), true);
  assert.equal(haveHelper("syscall", "bpf_sys_bpf"), true);
  assert.equal(haveHelper("socket_filter", "bpf_sys_bpf"), false);
  assert.equal(haveHelper("xdp", "skb_store_bytes"), false);
  assert.equal(haveHelper(1, 100_000), false, "a helper id no kernel knows");
  assert.equal(probeHelper(1, 100_000).verdict, "invalid_func");
  // A sleeping helper is not available to a program type that cannot sleep.
  // Kernels before 6.x say "unknown func bpf_copy_from_user#148" for the same refusal.
  assert.ok(
    ["not_for_type", "unknown_func"].includes(
      probeHelper("socket_filter", "bpf_copy_from_user").verdict!,
    ),
  );
  assert.equal(haveHelper("socket_filter", "bpf_copy_from_user"), false);
  assert.equal(probeHelper("kprobe", "bpf_copy_from_user").verdict, "sleepable_only");
  assert.throws(() => haveHelper("struct_ops", "bpf_map_lookup_elem"), IndeterminateProbeError);
});

Deno.test("misc: bpftool's misc section agrees", async () => {
  const bt = await bpftoolJson();
  assert.equal(haveFeature("large_insn_limit"), bt.misc.have_large_insn_limit);
  assert.equal(haveFeature("bounded_loops"), bt.misc.have_bounded_loops);
  assert.equal(haveFeature("v2_isa"), bt.misc.have_v2_isa_extension);
  assert.equal(haveFeature("v3_isa"), bt.misc.have_v3_isa_extension);
});

Deno.test("misc: v4_isa, load_acquire and may_goto probes say whether such a program loads", () => {
  const cases = [
    {
      // Every kind of v4 instruction; Linux 6.1 said yes to a gotol-only probe.
      feature: "v4_isa" as const,
      have: haveFeature("v4_isa"),
      requirement: /Linux 6\.6/,
      build: (a: Assembler) =>
        a.mov64(R0, -7).sdiv64(R0, 2).smod64(R0, 2).movsx64(R0, R0, 8).bswap16(R0)
          .stdw(R10, -8, 0).ldxsb(R0, R10, -8).ja32("v4_out").label("v4_out"),
    },
    {
      feature: "load_acquire" as const,
      have: haveFeature("load_acquire"),
      requirement: /Linux 6\.15/,
      build: (a: Assembler) => a.stdw(R10, -8, 0).loadAcquire64(R0, R10, -8),
    },
    {
      feature: "may_goto" as const,
      have: haveFeature("may_goto"),
      requirement: /Linux 6\.9/,
      build: (a: Assembler) => a.mayGoto("out").mov64(R0, 1).label("out"),
    },
  ];
  for (const c of cases) {
    const a = new Assembler().mov64(R0, 0);
    c.build(a);
    a.mov64(R0, 0).exit();
    const load = () => loadProgram({ type: "socket_filter", instructions: a }).close();
    if (c.have) {
      load();
      checkFeature(c.feature);
    } else {
      assert.throws(load, VerifierError, `${c.feature}: the probe says no, yet it loads`);
      assert.throws(() => checkFeature(c.feature), (e: unknown) => {
        assert.ok(e instanceof NotSupportedError);
        assert.match(e.message, c.requirement);
        return true;
      });
    }
  }
  // Linux 6.15 has both; 6.9 has may_goto.
  const v = kernelVersionCode();
  if (v >= kernelVersionCode("6.9")) assert.equal(haveFeature("may_goto"), true);
  if (v >= kernelVersionCode("6.15")) assert.equal(haveFeature("load_acquire"), true);
});

/**
 * The running kernel's build config: /proc/config.gz (CONFIG_IKCONFIG_PROC),
 * else /boot/config-<release>, else the file $DENOBPF_VM_KCONFIG names (the
 * VM stage's guest has no /boot of its own).
 */
async function kernelConfig(): Promise<string | undefined> {
  try {
    const gz = await Deno.readFile("/proc/config.gz");
    const stream = new Blob([gz]).stream().pipeThrough(new DecompressionStream("gzip"));
    return await new Response(stream).text();
  } catch { /* not built in */ }
  for (const f of [`/boot/config-${Deno.osRelease()}`, Deno.env.get("DENOBPF_VM_KCONFIG")]) {
    if (f === undefined) continue;
    try {
      return await Deno.readTextFile(f);
    } catch { /* not there */ }
  }
  return undefined;
}
const KCONFIG = await kernelConfig();

Deno.test({
  name: `misc: link probes agree with the kernel config${
    KCONFIG === undefined
      ? " (skipped: the kernel's build config is not readable: no /proc/config.gz" +
        " (CONFIG_IKCONFIG_PROC) nor /boot/config-<release>)"
      : ""
  }`,
  ignore: KCONFIG === undefined,
  fn: linkProbesAgreeWithConfig,
});

Deno.test({
  name: `misc: kallsyms_all agrees with CONFIG_KALLSYMS_ALL${
    KCONFIG === undefined ? " (skipped: the kernel's build config is not readable)" : ""
  }`,
  ignore: KCONFIG === undefined,
  fn() {
    assert.equal(haveFeature("kallsyms_all"), /^CONFIG_KALLSYMS_ALL=y$/m.test(KCONFIG!));
  },
});

function linkProbesAgreeWithConfig() {
  const config = KCONFIG!;
  const set = (opt: string) => new RegExp(`^${opt}=y$`, "m").test(config);
  const v = kernelVersionCode();
  if (v >= kernelVersionCode("5.18")) {
    assert.equal(haveFeature("kprobe_multi_link"), set("CONFIG_FPROBE"));
  }
  if (v >= kernelVersionCode("6.6")) {
    assert.equal(haveFeature("uprobe_multi_link"), set("CONFIG_UPROBES"));
  }
  if (v >= kernelVersionCode("6.7")) assert.equal(haveFeature("netkit_link"), set("CONFIG_NETKIT"));
}

// ---- caching ----------------------------------------------------------------

Deno.test("probes run once: a second call makes no syscall", () => {
  haveMapType("hash");
  haveProgramType("xdp");
  haveHelper("xdp", "bpf_redirect");
  haveFeature("bounded_loops");
  const before = probeSyscallCount();
  for (let i = 0; i < 3; i++) {
    assert.equal(haveMapType("hash"), true);
    assert.equal(haveMapType(1), true);
    assert.equal(haveProgramType("xdp"), true);
    assert.equal(haveHelper("xdp", "bpf_redirect"), true);
    assert.equal(haveHelper("xdp", "redirect"), true);
    assert.equal(haveFeature("bounded_loops"), true);
  }
  assert.equal(probeSyscallCount(), before);
  // Forgetting the outcome runs the probe again (one BPF_MAP_CREATE).
  _forget("map:1");
  assert.equal(haveMapType("hash"), true);
  assert.equal(probeSyscallCount(), before + 1);
});

// ---- NotSupportedError --------------------------------------------------------

const lirc = haveProgramType("lirc_mode2");
Deno.test({
  name: `checkProgramType names the requirement of a type this kernel lacks (lirc_mode2)${
    lirc ? " (skipped: this kernel has program type lirc_mode2, so it lacks nothing to name)" : ""
  }`,
  ignore: lirc,
  fn() {
    assert.throws(() => checkProgramType("lirc_mode2"), (e: unknown) => {
      assert.ok(e instanceof NotSupportedError);
      assert.equal(e.feature, "program type lirc_mode2");
      assert.match(e.requirement ?? "", /Linux 4\.18/);
      assert.match(e.requirement ?? "", /CONFIG_BPF_LIRC_MODE2/);
      assert.match(e.message, /requires Linux 4\.18/);
      return true;
    });
  },
});

Deno.test("checkHelper names what the verifier refused", () => {
  assert.throws(() => checkHelper("socket_filter", "bpf_sys_bpf"), (e: unknown) => {
    assert.ok(e instanceof NotSupportedError);
    assert.match(e.feature, /bpf_sys_bpf for program type socket_filter/);
    assert.ok(e.requirement);
    return true;
  });
  checkHelper("syscall", "bpf_sys_bpf");
});

Deno.test("check*: an injected 'not supported' outcome names the kernel version", () => {
  _injectOutcome("map:27", { type: 27, name: "ringbuf", supported: false, errno: 22 });
  _injectOutcome("misc:batch_api", { feature: "batch_api", supported: false, errno: 22 });
  try {
    assert.equal(haveMapType("ringbuf"), false);
    assert.throws(() => checkMapType("ringbuf"), (e: unknown) => {
      assert.ok(e instanceof NotSupportedError);
      assert.equal(e.feature, "map type ringbuf");
      assert.equal(e.requirement, "Linux 5.8");
      assert.match(e.message, /EINVAL/);
      return true;
    });
    assert.throws(() => checkFeature("batch_api"), (e: unknown) => {
      assert.ok(e instanceof NotSupportedError);
      assert.equal(e.requirement, "Linux 5.6");
      return true;
    });
  } finally {
    _forget("map:27");
    _forget("misc:batch_api");
  }
  checkMapType("ringbuf");
  checkFeature("batch_api");
});

// ---- the CLI --------------------------------------------------------------------

/** `cli.ts feature ARGS`'s stdout (run in this process); a failure fails the test. */
function cli(args: string[]): Promise<string> {
  return cliOut(["feature", ...args]);
}

Deno.test("CLI: `feature probe --compat bpftool-7.1` prints exactly what bpftool prints", async () => {
  const [ours, theirs] = await Promise.all([
    cli(["probe", "--compat", "bpftool-7.1"]),
    run("bpftool", ["feature", "probe", "kernel"]),
  ]);
  if (ours !== theirs) {
    const a = ours.split("\n");
    const b = theirs.split("\n");
    const i = a.findIndex((l, k) => l !== b[k]);
    assert.fail(`first difference at line ${i + 1}:\n  bpftool: ${b[i]}\n  denobpf: ${a[i]}`);
  }
});

Deno.test("CLI: `-j --compat bpftool-7.1` is bpftool's JSON", async () => {
  const [ours, theirs] = await Promise.all([
    cli(["probe", "-j", "--compat", "bpftool-7.1"]),
    run("bpftool", ["feature", "probe", "kernel", "-j"]),
  ]);
  assert.deepEqual(JSON.parse(ours), JSON.parse(theirs));
  assert.equal(ours, theirs);
});

Deno.test("CLI: default output keeps every non-helper bpftool line, in order", async () => {
  const [ours, theirs] = await Promise.all([
    cli(["probe", "--section", "syscall_config,program_types,map_types,misc"]),
    run("bpftool", ["feature", "probe", "kernel"]),
  ]);
  // bpftool's lines of those sections must appear in ours in the same order;
  // ours may add the types and features bpftool 7.1 does not know.
  const blocks = theirs.split("\n\n").filter((b) =>
    !b.startsWith("Scanning system configuration") && !b.startsWith("Scanning eBPF helper")
  );
  const want = blocks.join("\n\n").split("\n");
  const got = ours.split("\n");
  let k = 0;
  for (const line of got) if (k < want.length && line === want[k]) k++;
  assert.equal(k, want.length, `missing bpftool line: ${want[k]}`);
});

Deno.test("report: formatReport and reportToJson cover the same answers", () => {
  const report = probeAll({ helpers: false });
  const text = formatReport(report);
  const json = reportToJson(report) as { program_types: Record<string, boolean> };
  for (const p of report.programTypes) {
    assert.ok(
      text.includes(`eBPF program_type ${p.name} is ${p.available ? "" : "NOT "}available`),
    );
    assert.equal(json.program_types[`have_${p.name}_prog_type`], p.available);
  }
  assert.ok(report.mapTypes.some((m) => m.name === "arena"), "the catalogue goes past bpftool 7.1");
});
