// Guest tests of the link kinds the host kernel refuses, made to fire in
// Debian's 6.1 kernel: kprobes and kretprobes on nf_conntrack_netlink's
// ctnetlink_fill_info through the kprobe PMU and through tracefs, each with
// BPF_LINK_CREATE and with the legacy PERF_EVENT_IOC_SET_BPF; fentry/fexit on
// a vmlinux function and on a module function (by the module's BTF object);
// fmod_ret and LSM on the prctl security hook; kprobe_multi on a pattern
// (which fires only with CONFIG_FPROBE, unset in Debian's 6.1: there the test
// checks the refusal).
//
// The kernel runs the module's functions because the tests talk to
// ctnetlink: three conntrack entries are created over NETLINK_NETFILTER and
// each dump calls ctnetlink_fill_info once per entry (tests/vm/_ctnetlink.ts).
// Every test is ignored outside the guest (see tests/vm/_fixtures.ts).

import assert from "node:assert/strict";
import {
  attachKprobe,
  attachTracing,
  BpfLink,
  BtfCache,
  LegacyLink,
  loadCollection,
  loadCollectionSpec,
  loadKernelModuleSpec,
  loadKernelSpec,
  loadProgram,
  NotFoundError,
  NotSupportedError,
  type Program,
  type ProgramSpec,
  SyscallError,
} from "../../mod.ts";
import { asm, R0, R1, R10, R2, R6, R7 } from "../../src/asm/mod.ts";
import {
  attachFreplace,
  attachKprobeMulti,
  attachLsm,
  KPROBE_MULTI_REQUIREMENT,
  matchKernelFunctions,
} from "../../src/link/mod.ts";
import { errno, libc } from "../../src/sys/_libc.ts";
import { Ctnetlink, flows } from "./_ctnetlink.ts";
import {
  countingProgram,
  currentPidTgid,
  exists,
  GET_TARGET,
  guestKernelConfig,
  IN_VM,
  MODULE,
  openModuleBtf,
  Slots,
  TARGET,
  TRACEFS,
  vmTest,
} from "./_fixtures.ts";

/** The conntrack entries the tests' dumps report. */
const ENTRIES = flows(3, 41000);
/** The main thread's bpf_get_current_pid_tgid(): counters filter on it. */
const SELF = IN_VM ? currentPidTgid(libc().gettid()) : 0n;

/** Replaces the conntrack table with {@linkcode ENTRIES} (other test files leave their own). */
function createEntries(): void {
  using ct = new Ctnetlink();
  ct.flush();
  for (const f of ENTRIES) ct.create(f);
}

/** Dumps the conntrack table; returns how many entries it reported. */
function dumpCount(): number {
  using ct = new Ctnetlink();
  return ct.dump().length;
}

function kprobeEventLines(): string[] {
  return Deno.readTextFileSync(`${TRACEFS}/kprobe_events`).split("\n").filter((l) => l !== "");
}

// --- kprobes on the module function ----------------------------------------------------

interface KprobeCase {
  label: string;
  symbol: string;
  tracefsOnly: boolean;
  legacy: boolean;
  retprobe?: boolean;
}

const KPROBE_CASES: KprobeCase[] = [
  { label: "kprobe PMU, BPF_LINK_CREATE", symbol: TARGET, tracefsOnly: false, legacy: false },
  { label: "kprobe PMU, PERF_EVENT_IOC_SET_BPF", symbol: TARGET, tracefsOnly: false, legacy: true },
  {
    label: "tracefs kprobe_events, BPF_LINK_CREATE",
    symbol: TARGET,
    tracefsOnly: true,
    legacy: false,
  },
  {
    label: "tracefs kprobe_events, PERF_EVENT_IOC_SET_BPF",
    symbol: TARGET,
    tracefsOnly: true,
    legacy: true,
  },
  {
    label: "kprobe PMU, module-qualified symbol",
    symbol: `${MODULE}:${TARGET}`,
    tracefsOnly: false,
    legacy: false,
  },
  {
    label: "tracefs kprobe_events, module-qualified symbol",
    symbol: `${MODULE}:${TARGET}`,
    tracefsOnly: true,
    legacy: false,
  },
  {
    label: "kretprobe, kprobe PMU",
    symbol: TARGET,
    tracefsOnly: false,
    legacy: false,
    retprobe: true,
  },
  {
    label: "kretprobe, tracefs kprobe_events",
    symbol: TARGET,
    tracefsOnly: true,
    legacy: false,
    retprobe: true,
  },
];

for (const c of KPROBE_CASES) {
  vmTest(`attachKprobe (${c.label}) on ${c.symbol} counts one hit per dumped entry`, () => {
    createEntries();
    using slots = new Slots();
    using prog = countingProgram(slots, { type: "kprobe", name: "vm_kprobe" });
    const eventsBefore = kprobeEventLines();
    const link = attachKprobe(prog, {
      symbol: c.symbol,
      tracefsOnly: c.tracefsOnly,
      legacy: c.legacy,
      retprobe: c.retprobe,
    });
    try {
      assert.ok(link instanceof (c.legacy ? LegacyLink : BpfLink), link.constructor.name);
      const added = kprobeEventLines().filter((l) => !eventsBefore.includes(l));
      if (c.tracefsOnly) {
        assert.equal(added.length, 1, `one new kprobe_events line: ${added.join(" | ")}`);
        assert.match(added[0], new RegExp(`^${c.retprobe ? "r" : "p"}\\S*:\\S+ ${c.symbol}$`));
      } else {
        assert.deepEqual(added, [], "the PMU path leaves kprobe_events alone");
      }
      assert.equal(slots.get(), 0n, "no hit before the dump");
      const n = dumpCount();
      assert.equal(n, ENTRIES.length, "the dump reports our entries");
      assert.equal(slots.get(), BigInt(n), "one hit per ctnetlink_fill_info call");
      assert.equal(dumpCount(), n);
      assert.equal(slots.get(), BigInt(2 * n));
    } finally {
      link.close();
    }
    assert.deepEqual(kprobeEventLines(), eventsBefore, "kprobe_events restored on close");
    const before = slots.get();
    dumpCount();
    assert.equal(slots.get(), before, "no hits after close");
  });
}

vmTest(
  "attachKprobe on a function the kernel lacks: NotFoundError, by the PMU and by tracefs",
  () => {
    using slots = new Slots();
    using prog = countingProgram(slots, { type: "kprobe", name: "vm_kprobe" });
    const eventsBefore = kprobeEventLines();
    for (const tracefsOnly of [false, true]) {
      assert.throws(
        () => attachKprobe(prog, { symbol: "denobpf_no_such_function", tracefsOnly }),
        NotFoundError,
        tracefsOnly ? "tracefs" : "PMU",
      );
    }
    assert.deepEqual(kprobeEventLines(), eventsBefore, "nothing left in kprobe_events");
  },
);

// --- fentry / fexit -------------------------------------------------------------------

/** BTF id of a vmlinux function. */
function vmlinuxFunc(name: string): number {
  const [id] = loadKernelSpec({ cache: new BtfCache() }).typeIdsByName(name, "func");
  assert.ok(id > 0, `vmlinux BTF has no func ${name}`);
  return id;
}

/** BTF id of a function of the module (in the module's split BTF). */
function moduleFunc(name: string): number {
  const spec = loadKernelModuleSpec(MODULE, { cache: new BtfCache() });
  assert.ok(spec, `${MODULE} BTF missing`);
  const [id] = spec.typeIdsByName(name, "func");
  assert.ok(id >= spec.firstTypeId, `${name} is in ${MODULE}'s split BTF`);
  return id;
}

/**
 * A tracing program that, for this thread only, counts into slots[0] and
 * stores `ctx[ctxSlot]` (an argument, or for fexit the return value after the
 * arguments) into slots[1].
 */
function recorder(
  slots: Slots,
  spec: Pick<ProgramSpec, "attachType" | "attachBtfId" | "attachBtfObjFd">,
  ctxSlot: number,
): Program {
  return loadProgram({
    ...spec,
    type: "tracing",
    name: "vm_record",
    maps: { slots: slots.map },
    instructions: [
      asm.mov64(R6, R1),
      asm.call("get_current_pid_tgid"),
      asm.lddw(R1, SELF),
      asm.jne(R0, R1, "out"),
      asm.stw(R10, -4, 0),
      asm.mov64(R2, R10),
      asm.add64(R2, -4),
      asm.loadMapPtr(R1, "slots"),
      asm.call("map_lookup_elem"),
      asm.jeq(R0, 0, "out"),
      asm.mov64(R1, 1),
      asm.atomicAdd64(R0, 0, R1),
      asm.ldxdw(R7, R6, 8 * ctxSlot),
      asm.stw(R10, -4, 1),
      asm.mov64(R2, R10),
      asm.add64(R2, -4),
      asm.loadMapPtr(R1, "slots"),
      asm.call("map_lookup_elem"),
      asm.jeq(R0, 0, "out"),
      asm.stxdw(R0, 0, R7),
      asm.mov64(R0, 0).withSymbol("out"),
      asm.exit(),
    ],
  });
}

function getpids(n: number): void {
  for (let i = 0; i < n; i++) libc().getpid();
}

vmTest(
  "fentry on vmlinux's __do_sys_getpid (attachTracing) counts this thread's getpid calls",
  () => {
    using slots = new Slots(2);
    using prog = recorder(slots, {
      attachType: "trace_fentry",
      attachBtfId: vmlinuxFunc("__do_sys_getpid"),
    }, 0);
    const link = attachTracing(prog);
    try {
      assert.ok(link instanceof BpfLink);
      assert.equal(link.kind, "fentry");
      getpids(25);
      assert.equal(slots.get(0), 25n);
    } finally {
      link.close();
    }
    getpids(5);
    assert.equal(slots.get(0), 25n, "no hits after close");
  },
);

vmTest("fexit on vmlinux's __do_sys_getpid sees the return value: our pid", () => {
  using slots = new Slots(2);
  // __do_sys_getpid(const struct pt_regs *): one argument, so the return value is ctx[1].
  using prog = recorder(slots, {
    attachType: "trace_fexit",
    attachBtfId: vmlinuxFunc("__do_sys_getpid"),
  }, 1);
  using link = attachTracing(prog);
  assert.equal(link.kind, "fexit");
  getpids(3);
  assert.equal(slots.get(0), 3n);
  assert.equal(slots.get(1), BigInt(Deno.pid));
});

vmTest(`fentry on ${MODULE}'s ${GET_TARGET} (module BTF object) fires on each CT_GET`, () => {
  createEntries();
  using slots = new Slots(2);
  using btf = openModuleBtf(MODULE);
  using prog = recorder(slots, {
    attachType: "trace_fentry",
    attachBtfId: moduleFunc(GET_TARGET),
    attachBtfObjFd: btf,
  }, 0);
  using link = attachTracing(prog);
  assert.equal(link.kind, "fentry");
  assert.equal(link.info().progId, prog.id);
  using ct = new Ctnetlink();
  ct.dump();
  ct.get(ENTRIES[0]);
  assert.equal(slots.get(0), 2n, "one dump request and one get");
  assert.notEqual(slots.get(1), 0n, "the skb argument");
});

vmTest(
  `fexit on ${MODULE}'s ${GET_TARGET} sees 0 for a found entry and -ENOENT for a missing one`,
  () => {
    createEntries();
    using slots = new Slots(2);
    using btf = openModuleBtf(MODULE);
    // ctnetlink_get_conntrack(skb, info, cda): the return value is ctx[3].
    using prog = recorder(slots, {
      attachType: "trace_fexit",
      attachBtfId: moduleFunc(GET_TARGET),
      attachBtfObjFd: btf,
    }, 3);
    using link = attachTracing(prog);
    assert.equal(link.kind, "fexit");
    using ct = new Ctnetlink();
    ct.get(ENTRIES[1]);
    assert.equal(slots.get(0), 1n);
    // An int return value: the low 32 bits of the u64 slot.
    assert.equal(BigInt.asIntN(32, slots.get(1)), 0n);
    assert.throws(
      () => ct.get({ src: "127.0.0.9", dst: "127.0.0.9", sport: 1, dport: 1 }),
      (e: unknown) => e instanceof SyscallError && e.code === "ENOENT",
    );
    assert.equal(slots.get(0), 2n);
    assert.equal(BigInt.asIntN(32, slots.get(1)), -2n, "-ENOENT seen at fexit");
  },
);

vmTest(`fentry on ${TARGET} (7 arguments): loads, but 6.1's trampolines take at most 6`, () => {
  using btf = openModuleBtf(MODULE);
  using slots = new Slots(2);
  using prog = recorder(slots, {
    attachType: "trace_fentry",
    attachBtfId: moduleFunc(TARGET),
    attachBtfObjFd: btf,
  }, 0);
  // x86 trampolines before Linux 6.6 refuse functions with more than 6 arguments (ENOTSUPP).
  assert.throws(() => attachTracing(prog), NotSupportedError);
});

// --- fmod_ret and LSM on the prctl security hook ---------------------------------------

const PR_MAGIC_FMOD_RET = 0x5eed0001;
const PR_MAGIC_LSM = 0x5eed0002;
const SYS_PRCTL = 157n; // x86_64

/** prctl(option, 0, 0, 0, 0): the result, or -errno. */
function prctl(option: number): number {
  const r = Number(libc().syscall6(SYS_PRCTL, BigInt(option), 0n, 0n, 0n, 0n, 0n));
  return r === -1 ? -errno() : r;
}

/** `return option == magic ? value : 0` over the hook's first argument (int option). */
function prctlOverride(
  spec: Pick<ProgramSpec, "type" | "attachType" | "attachBtfId">,
  magic: number,
  value: number,
): Program {
  return loadProgram({
    ...spec,
    name: "vm_prctl",
    instructions: [
      asm.ldxdw(R2, R1, 0),
      asm.mov64(R0, 0),
      asm.jne32(R2, magic, "out"),
      asm.mov64(R0, value),
      asm.exit().withSymbol("out"),
    ],
  });
}

vmTest("fmod_ret on security_task_prctl changes what prctl returns, until the link closes", () => {
  assert.equal(prctl(PR_MAGIC_FMOD_RET), -22, "unknown prctl: EINVAL");
  using prog = prctlOverride(
    {
      type: "tracing",
      attachType: "modify_return",
      attachBtfId: vmlinuxFunc("security_task_prctl"),
    },
    PR_MAGIC_FMOD_RET,
    4242,
  );
  const link = attachTracing(prog);
  try {
    assert.equal(link.kind, "fmod_ret");
    assert.equal(prctl(PR_MAGIC_FMOD_RET), 4242);
    assert.equal(prctl(PR_MAGIC_LSM), -22, "other options untouched");
  } finally {
    link.close();
  }
  assert.equal(prctl(PR_MAGIC_FMOD_RET), -22);
});

vmTest("LSM program on task_prctl (attachLsm) answers prctl, until the link closes", () => {
  assert.equal(prctl(PR_MAGIC_LSM), -22);
  using prog = prctlOverride(
    {
      type: "lsm",
      attachType: "lsm_mac",
      attachBtfId: vmlinuxFunc("bpf_lsm_task_prctl"),
    },
    PR_MAGIC_LSM,
    4343,
  );
  const link = attachLsm(prog);
  try {
    assert.equal(link.kind, "lsm");
    assert.equal(prctl(PR_MAGIC_LSM), 4343);
    assert.equal(prctl(PR_MAGIC_FMOD_RET), -22);
  } finally {
    link.close();
  }
  assert.equal(prctl(PR_MAGIC_LSM), -22);
});

// --- kprobe_multi ---------------------------------------------------------------------

const MULTI_PATTERN = "__do_sys_getp*id";

vmTest(
  `attachKprobeMulti on "${MULTI_PATTERN}": fires with CONFIG_FPROBE, else NotSupportedError`,
  () => {
    const fprobe = guestKernelConfig().get("CONFIG_FPROBE") === "y";
    assert.deepEqual(matchKernelFunctions(MULTI_PATTERN), ["__do_sys_getpid", "__do_sys_getppid"]);
    using slots = new Slots();
    using prog = countingProgram(
      slots,
      { type: "kprobe", attachType: "trace_kprobe_multi", name: "vm_kmulti" },
      { pidTgid: SELF },
    );
    if (!fprobe) {
      // Debian's 6.1 is built without CONFIG_FPROBE: the kernel answers EOPNOTSUPP.
      assert.throws(
        () => attachKprobeMulti(prog, { pattern: MULTI_PATTERN }),
        (e: unknown) =>
          e instanceof NotSupportedError && e.message.includes(KPROBE_MULTI_REQUIREMENT),
      );
      return;
    }
    using link = attachKprobeMulti(prog, { pattern: MULTI_PATTERN });
    assert.equal(link.kind, "kprobe_multi");
    getpids(7);
    libc().syscall6(110n, 0n, 0n, 0n, 0n, 0n, 0n); // getppid
    assert.equal(slots.get(), 8n);
  },
);

// The tracefs kprobe_events file must be left as found.
vmTest("no denobpf kprobe events are left behind", () => {
  assert.ok(exists(`${TRACEFS}/kprobe_events`));
  assert.deepEqual(kprobeEventLines().filter((l) => l.includes("denobpf")), []);
});

vmTest(
  "freplace from a clang object: the target function found by name, replaced while linked",
  async () => {
    const object = new URL("../../testdata/bpf/freplace_bpfel.o", import.meta.url);
    const spec = loadCollectionSpec(object);
    spec.programs.xdp_drop_all.autoload = false;
    using target = await loadCollection(spec);
    const xdp = target.programs.xdp_target;
    const verdict = () => xdp.testRunSync({ data: new Uint8Array(64) }).retval;
    assert.equal(verdict(), 2); // XDP_PASS, from xdp_verdict
    const ext = loadCollectionSpec(object);
    ext.programs.xdp_target.autoload = false;
    ext.programs.xdp_drop_all.attachProgFd = xdp;
    using replacement = await loadCollection(ext);
    const link = attachFreplace(replacement.programs.xdp_drop_all);
    try {
      assert.equal(link.kind, "freplace");
      assert.equal(verdict(), 1); // XDP_DROP, from the replacement
    } finally {
      link.close();
    }
    assert.equal(verdict(), 2);
  },
);
