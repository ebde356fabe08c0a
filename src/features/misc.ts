/**
 * Miscellaneous probes: instruction set extensions, verifier limits, link
 * kinds and map/syscall capabilities. The first four are bpftool's "misc"
 * section (same programs, same reading); the link probes call
 * BPF_LINK_CREATE with arguments that the kernel rejects with a telling
 * errno, without attaching anything.
 *
 * @module
 */

import { InvalidArgumentError, NotSupportedError } from "../errors.ts";
import { addressOf, bpfTry } from "../sys/bpf.ts";
import { closeRawFd } from "../sys/fd.ts";
import { PermissionError, SyscallError } from "../sys/error.ts";
import { perfEventOpen, PerfType } from "../sys/perf_event.ts";
import { EBADF, ENODEV, ENOENT, ENOSYS, errnoName, ESRCH } from "../sys/errno.ts";
import { fileInfoIfExists, readTextFile } from "../sys/file.ts";
import {
  AluOp,
  AtomicOp,
  Class,
  JCond,
  JmpOp,
  MapType,
  Mode,
  ProgramType,
  Size,
  Source,
} from "../sys/abi.ts";
import { MapCreateFlag } from "../map/types.ts";
import { loadStorageProbeBtf } from "./_btf_blob.ts";
import { perfLinkInfo, rotatingVerifierLog } from "./_behaviour.ts";
import { memo } from "./_cache.ts";
import { assertCanProbe, isDenied } from "./_privilege.ts";
import {
  counted,
  exit,
  gotol,
  insn,
  jeqImm,
  jlt32Imm,
  jltImm,
  jneImm,
  linkCreate,
  mapCreate,
  movImm,
  progLoad,
  progLoadFd,
  program,
  RETURN_ZERO,
  subImm,
} from "./_raw.ts";
import { AttachType as ATTACH, programTypeNumber } from "./_names.ts";
import { MISC_REQUIREMENTS } from "./requirements.ts";

/**
 * The names of the miscellaneous features. */
export type MiscFeature =
  | "bpf_syscall"
  | "large_insn_limit"
  | "bounded_loops"
  | "v2_isa"
  | "v3_isa"
  | "v4_isa"
  | "load_acquire"
  | "may_goto"
  | "obj_name"
  | "btf"
  | "kernel_btf"
  | "kprobes"
  | "kallsyms_all"
  | "mmapable_maps"
  | "batch_api"
  | "bpf_link"
  | "inner_maps"
  | "perf_link"
  | "kprobe_multi_link"
  | "uprobe_multi_link"
  | "tcx_link"
  | "netkit_link"
  | "perf_link_info"
  | "rotating_verifier_log"
  | "raw_tp_test_run"
  | "perf_hardware";

/** What a miscellaneous probe found. */
export interface MiscProbe {
  /** The feature. */
  feature: MiscFeature;
  /** True if the kernel has it. */
  supported: boolean;
  /** The errno of the telling syscall (0 if it succeeded). */
  errno: number;
}

/** A one-line description of each feature (bpftool's wording for the ones it prints). */
export const MISC_DESCRIPTIONS: Readonly<Record<MiscFeature, string>> = {
  bpf_syscall: "bpf() syscall",
  large_insn_limit: "Large program size limit",
  bounded_loops: "Bounded loop support",
  v2_isa: "ISA extension v2",
  v3_isa: "ISA extension v3",
  v4_isa: "ISA extension v4",
  load_acquire: "Load-acquire and store-release instructions",
  may_goto: "may_goto instruction",
  obj_name: "Object name support",
  btf: "BTF loading support",
  kernel_btf: "Kernel BTF (/sys/kernel/btf/vmlinux)",
  kprobes: "kprobes (kprobe PMU or tracefs kprobe_events)",
  kallsyms_all: "Kernel variables in /proc/kallsyms (data symbols for .ksyms)",
  mmapable_maps: "mmap()able array map support (BPF_F_MMAPABLE)",
  batch_api: "Batch map operation support",
  bpf_link: "BPF link support (BPF_LINK_CREATE)",
  inner_maps: "Inner map flag (BPF_F_INNER_MAP)",
  perf_link: "perf event link support",
  kprobe_multi_link: "kprobe_multi link support",
  uprobe_multi_link: "uprobe_multi link support",
  tcx_link: "tcx link support",
  netkit_link: "netkit link support",
  perf_link_info: "perf event link details in link info",
  rotating_verifier_log: "Rotating verifier log (log_true_size, BPF_LOG_FIXED)",
  raw_tp_test_run: "BPF_PROG_TEST_RUN of raw_tracepoint programs",
  perf_hardware: "Hardware perf events (a PMU counting PERF_TYPE_HARDWARE events)",
};

const BPF_F_MMAPABLE = MapCreateFlag.MMAPABLE;
const BPF_F_INNER_MAP = MapCreateFlag.INNER_MAP;
const NO_FD = 0xffffffff;

type Outcome = { supported: boolean; errno: number };

/** A socket filter that either loads or does not: bpftool's misc probe. */
function loads(insns: Uint8Array): Outcome {
  const { errno } = progLoad(insns, { progType: ProgramType.socket_filter });
  return { supported: errno === 0, errno };
}

/** Runs `probe` with a loaded program of `type`; a program that does not load means "no". */
function withProgram(
  type: string,
  expectedAttachType: number | undefined,
  probe: (fd: number) => Outcome,
): Outcome {
  const fd = progLoadFd(RETURN_ZERO, { progType: programTypeNumber(type), expectedAttachType });
  if (fd < 0) return { supported: false, errno: -fd };
  try {
    return probe(fd);
  } finally {
    closeRawFd(fd);
  }
}

function linkErrno(ok: readonly number[], errno: number): Outcome {
  return { supported: errno === 0 || ok.includes(errno), errno };
}

function mapWithFlags(flags: number, name?: string): Outcome {
  const fd = mapCreate({
    mapType: MapType.array,
    keySize: 4,
    valueSize: 4,
    maxEntries: 1,
    mapFlags: flags,
    mapName: name,
  });
  closeRawFd(fd);
  return { supported: fd >= 0, errno: fd >= 0 ? 0 : -fd };
}

const PROBES: Readonly<Record<MiscFeature, () => Outcome>> = {
  bpf_syscall: () => {
    const errno = -counted(() =>
      bpfTry("PROG_LOAD", { progType: ProgramType.unspec, insnCnt: 0, insns: null, license: null })
    );
    return { supported: errno !== ENOSYS, errno };
  },
  large_insn_limit: () => {
    const MAX_INSNS = 4096; // BPF_MAXINSNS, the limit before Linux 5.3
    const insns = new Uint8Array((MAX_INSNS + 1) * 8);
    const one = movImm(0, 1);
    for (let i = 0; i < MAX_INSNS; i++) insns.set(one, i * 8);
    insns.set(exit(), MAX_INSNS * 8);
    return loads(insns);
  },
  bounded_loops: () => loads(program(movImm(0, 10), subImm(0, 1), jneImm(0, 0, -2), exit())),
  v2_isa: () => loads(program(movImm(0, 0), jltImm(0, 0, 1), movImm(0, 1), exit())),
  v3_isa: () => loads(program(movImm(0, 0), jlt32Imm(0, 0, 1), movImm(0, 1), exit())),
  // r0 = 6; r0 s/= 2 (sdiv: BPF_ALU64 | BPF_DIV | BPF_K with off 1), then
  // cilium's gotol check. gotol alone is no test: Linux 6.1 loads that
  // program (and then refuses every v4 instruction); it refuses the sdiv,
  // whose off field it reserves.
  v4_isa: () =>
    loads(program(
      movImm(0, 6),
      insn(Class.ALU64 | AluOp.DIV | Source.K, 0, 0, 1, 2),
      jeqImm(0, 1, 1),
      gotol(1),
      movImm(0, 1),
      exit(),
    )),
  // *(u64 *)(r10 - 8) = 0; r0 = load_acquire((u64 *)(r10 - 8)): an unknown
  // atomic operation (EINVAL) before Linux 6.15.
  load_acquire: () =>
    loads(program(
      insn(Class.ST | Mode.MEM | Size.DW, 10, 0, -8, 0),
      insn(Class.STX | Mode.ATOMIC | Size.DW, 0, 10, -8, AtomicOp.LOAD_ACQ),
      movImm(0, 0),
      exit(),
    )),
  // may_goto +1 (BPF_JMP | BPF_JCOND): an unknown opcode (EINVAL) before Linux 6.9.
  may_goto: () =>
    loads(
      program(
        movImm(0, 0),
        insn(Class.JMP | JmpOp.JCOND, 0, 0, 1, JCond.MAY_GOTO),
        movImm(0, 1),
        exit(),
      ),
    ),
  obj_name: () => mapWithFlags(0, "feature_probe"),
  btf: () => {
    const fd = loadStorageProbeBtf();
    closeRawFd(fd);
    return { supported: fd >= 0, errno: fd >= 0 ? 0 : -fd };
  },
  // The kernel's own types, which CO-RE, tp_btf, struct_ops and kfuncs need.
  kernel_btf: () =>
    fileInfoIfExists("/sys/kernel/btf/vmlinux")
      ? { supported: true, errno: 0 }
      : { supported: false, errno: ENOENT },
  // Where attachKprobe creates kprobes: the kprobe PMU (4.17+), else
  // tracefs's kprobe_events (ENOENT when neither exists, or tracefs is not
  // mounted).
  kprobes: () =>
    [
        "/sys/bus/event_source/devices/kprobe/type",
        "/sys/kernel/tracing/kprobe_events",
        "/sys/kernel/debug/tracing/kprobe_events",
      ].some((f) => fileInfoIfExists(f) !== undefined)
      ? { supported: true, errno: 0 }
      : { supported: false, errno: ENOENT },
  // Kernel variables (avenrun, runqueues) in /proc/kallsyms, which untyped
  // .ksyms and bpftrace's kaddr() resolve. Without CONFIG_KALLSYMS_ALL the
  // only data symbols listed are the linker's section bounds (__start_*,
  // __stop_*, _edata…), all named with a leading underscore.
  kallsyms_all: () =>
    /^[0-9a-f]+ [bBdDrR] [A-Za-z]/m.test(readTextFile("/proc/kallsyms"))
      ? { supported: true, errno: 0 }
      : { supported: false, errno: ENOENT },
  mmapable_maps: () => mapWithFlags(BPF_F_MMAPABLE),
  inner_maps: () => mapWithFlags(BPF_F_INNER_MAP),
  batch_api: () => {
    const fd = mapCreate({ mapType: MapType.hash, keySize: 4, valueSize: 4, maxEntries: 2 });
    if (fd < 0) return { supported: false, errno: -fd };
    try {
      const r = counted(() =>
        bpfTry("MAP_UPDATE_BATCH", {
          mapFd: fd,
          keys: new Uint32Array([1, 2]),
          values: new Uint32Array([3, 4]),
          count: 2,
        })
      );
      return { supported: r >= 0, errno: r >= 0 ? 0 : -r };
    } finally {
      closeRawFd(fd);
    }
  },
  // An invalid program fd: EBADF if the command exists, EINVAL if not.
  bpf_link: () =>
    linkErrno(
      [EBADF],
      linkCreate({ progFd: NO_FD, targetFd: NO_FD, attachType: ATTACH.cgroup_inet_ingress }),
    ),
  // An invalid perf event fd: EBADF once the program is accepted for a perf link.
  perf_link: () =>
    withProgram("kprobe", undefined, (progFd) =>
      linkErrno(
        [EBADF],
        linkCreate({ progFd, targetFd: NO_FD, attachType: ATTACH.perf_event }),
      )),
  // A symbol that does not exist: ESRCH (or ENOENT) from the symbol lookup
  // when kprobe_multi works, EOPNOTSUPP without CONFIG_FPROBE, EINVAL before 5.18.
  kprobe_multi_link: () =>
    withProgram("kprobe", ATTACH.trace_kprobe_multi, (progFd) => {
      const sym = new TextEncoder().encode("denobpf_feature_probe_no_such_symbol\0");
      const syms = new BigUint64Array([addressOf(sym)]);
      const errno = linkCreate({
        progFd,
        attachType: ATTACH.trace_kprobe_multi,
        kprobeMultiCnt: 1,
        kprobeMultiSyms: syms,
      });
      void sym[0]; // `sym` is only referenced by address: keep it alive past the call
      return linkErrno([ESRCH, ENOENT], errno);
    }),
  // "/" is not a regular file: EBADF when uprobe_multi works.
  uprobe_multi_link: () =>
    withProgram("kprobe", ATTACH.trace_uprobe_multi, (progFd) =>
      linkErrno(
        [EBADF],
        linkCreate({
          progFd,
          attachType: ATTACH.trace_uprobe_multi,
          uprobeMultiPath: "/",
          uprobeMultiOffsets: new BigUint64Array([0n]),
          uprobeMultiCnt: 1,
        }),
      )),
  // No such interface: ENODEV once the attach type is known.
  tcx_link: () =>
    withProgram("sched_cls", undefined, (progFd) =>
      linkErrno(
        [ENODEV],
        linkCreate({ progFd, targetFd: NO_FD, attachType: ATTACH.tcx_ingress }),
      )),
  netkit_link: () =>
    withProgram("sched_cls", undefined, (progFd) =>
      linkErrno(
        [ENODEV],
        linkCreate({ progFd, targetFd: NO_FD, attachType: ATTACH.netkit_primary }),
      )),
  // A perf-event link's info: its perf_event part is filled in from 6.6.
  perf_link_info: perfLinkInfo,
  // log_level 1 | BPF_LOG_FIXED: EINVAL before the rotating log (6.4).
  rotating_verifier_log: rotatingVerifierLog,
  // A raw_tracepoint program run once on an 8-byte context: ENOTSUPP (524) before
  // Linux 5.10 gave raw tracepoints a test run. (What runs the probe IR's BEGIN/END.)
  raw_tp_test_run: () =>
    withProgram("raw_tracepoint", undefined, (progFd) => {
      const ctx = new Uint8Array(8);
      const r = counted(() =>
        bpfTry("PROG_TEST_RUN", { progFd, ctxSizeIn: ctx.length, ctxIn: ctx })
      );
      return { supported: r >= 0, errno: r >= 0 ? 0 : -r };
    }),
  // This process's cpu-cycles: a PMU counts them; a VM without one gives ENOENT.
  // (What bpftrace's hardware: probes, and the probe IR's, attach to.)
  perf_hardware: () => {
    try {
      perfEventOpen({ type: PerfType.HARDWARE, config: 0 }, { pid: 0, cpu: -1 }).close();
      return { supported: true, errno: 0 };
    } catch (e) {
      if (e instanceof SyscallError && !(e instanceof PermissionError)) {
        return { supported: false, errno: e.errno };
      }
      throw e;
    }
  },
};

/** Probes `feature` (once per process) and returns what the probe saw. */
export function probeMisc(feature: MiscFeature): MiscProbe {
  const run = PROBES[feature];
  if (run === undefined) {
    throw new InvalidArgumentError(
      `unknown feature ${JSON.stringify(feature)}; known: ${Object.keys(PROBES).join(", ")}`,
    );
  }
  return memo(`misc:${feature}`, () => {
    const o = run();
    if (!o.supported && isDenied(o.errno)) assertCanProbe();
    return { feature, ...o };
  });
}

/** True if the running kernel has `feature` (probed once per process). */
export function haveFeature(feature: MiscFeature): boolean {
  return probeMisc(feature).supported;
}

/**
 * Throws {@linkcode NotSupportedError} (naming the kernel version and config
 * option that bring it) if the running kernel lacks `feature`.
 */
export function checkFeature(feature: MiscFeature): void {
  const p = probeMisc(feature);
  if (p.supported) return;
  throw new NotSupportedError(MISC_DESCRIPTIONS[feature], MISC_REQUIREMENTS[feature], {
    detail: p.errno ? `the probe failed with ${errnoName(p.errno)}` : undefined,
  });
}

/** The list of miscellaneous features, in report order. */
export const MISC_FEATURES: readonly MiscFeature[] = Object.keys(PROBES) as MiscFeature[];
