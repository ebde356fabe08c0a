/**
 * `feature probe`: what the running kernel supports, printed the way
 * `bpftool feature probe kernel` prints it (plain text, or JSON with `-j`).
 *
 * By default the output is what bpftool 7.1 prints on the same kernel, byte
 * for byte, so the two can be diffed. bpftool 7.1 (libbpf 1.1) does not
 * recognise the verifier's Linux 6.x wording for "this program type may not
 * call that helper" and so lists every helper for every program type;
 * `--compat none` prints the kernel's real answer instead (and the wider
 * catalogue of types and helpers denobpf knows).
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import {
  formatReport,
  probeAll,
  type ProbeAllOptions,
  REPORT_SECTIONS,
  type ReportSection,
  reportToJson,
} from "../features/mod.ts";
import { uname } from "../sys/mod.ts";
import { fileInfo, readFile, readTextFile } from "../sys/file.ts";
import { gunzip } from "../sys/gunzip.ts";
import { parseArgs, stringOption } from "./args.ts";

/** A section of `feature probe` output, in bpftool's order. */
export type FeatureSection = "system_config" | ReportSection;

/** Every section `feature probe` prints, in order. */
export const FEATURE_SECTIONS: readonly FeatureSection[] = ["system_config", ...REPORT_SECTIONS];

const USAGE = `usage: feature probe [kernel] [full] [-j|--json] [-p|--pretty]
                     [--section NAME[,NAME…]] [--compat bpftool-7.1|none]

  full                  also probe bpf_trace_printk, bpf_trace_vprintk and
                        bpf_probe_write_user (the kernel logs a warning for them)
  -j, --json            JSON, with bpftool's keys
  -p, --pretty          JSON, indented
  --section NAMES       only these sections: ${FEATURE_SECTIONS.join(", ")}
  --compat bpftool-7.1  (default) exactly what bpftool 7.1 prints: its catalogue of
                        types and helpers, and libbpf 1.1's reading of the helper probes
  --compat none         the kernel's real answers: helpers a program type may not
                        call are left out (bpftool 7.1 lists them all on Linux 6.x)
`;

const encoder = new TextEncoder();

async function write(text: string): Promise<void> {
  const bytes = encoder.encode(text);
  let off = 0;
  while (off < bytes.length) off += await Deno.stdout.write(bytes.subarray(off));
}

// ---- system configuration (procfs and the kernel config) ----------------

/** The kernel config options bpftool reports, in its order. */
const CONFIG_OPTIONS = [
  "CONFIG_BPF",
  "CONFIG_BPF_SYSCALL",
  "CONFIG_HAVE_EBPF_JIT",
  "CONFIG_BPF_JIT",
  "CONFIG_BPF_JIT_ALWAYS_ON",
  "CONFIG_DEBUG_INFO_BTF",
  "CONFIG_DEBUG_INFO_BTF_MODULES",
  "CONFIG_CGROUPS",
  "CONFIG_CGROUP_BPF",
  "CONFIG_CGROUP_NET_CLASSID",
  "CONFIG_SOCK_CGROUP_DATA",
  "CONFIG_BPF_EVENTS",
  "CONFIG_KPROBE_EVENTS",
  "CONFIG_UPROBE_EVENTS",
  "CONFIG_TRACING",
  "CONFIG_FTRACE_SYSCALLS",
  "CONFIG_FUNCTION_ERROR_INJECTION",
  "CONFIG_BPF_KPROBE_OVERRIDE",
  "CONFIG_NET",
  "CONFIG_XDP_SOCKETS",
  "CONFIG_LWTUNNEL_BPF",
  "CONFIG_NET_ACT_BPF",
  "CONFIG_NET_CLS_BPF",
  "CONFIG_NET_CLS_ACT",
  "CONFIG_NET_SCH_INGRESS",
  "CONFIG_XFRM",
  "CONFIG_IP_ROUTE_CLASSID",
  "CONFIG_IPV6_SEG6_BPF",
  "CONFIG_BPF_LIRC_MODE2",
  "CONFIG_BPF_STREAM_PARSER",
  "CONFIG_NETFILTER_XT_MATCH_BPF",
  "CONFIG_BPFILTER",
  "CONFIG_BPFILTER_UMH",
  "CONFIG_TEST_BPF",
  "CONFIG_HZ",
];

/** The procfs knobs, each with its phrases for the values 0, 1, 2, unreadable and other. */
const PROCFS: ReadonlyArray<{
  key: string;
  path: string;
  say: (v: number) => string;
}> = [
  {
    key: "unprivileged_bpf_disabled",
    path: "/proc/sys/kernel/unprivileged_bpf_disabled",
    say: (v) =>
      [
        "bpf() syscall for unprivileged users is enabled",
        "bpf() syscall restricted to privileged users (without recovery)",
        "bpf() syscall restricted to privileged users (admin can change)",
      ][v] ?? (v === -1
        ? "Unable to retrieve required privileges for bpf() syscall"
        : `bpf() syscall restriction has unknown value ${v}`),
  },
  {
    key: "bpf_jit_enable",
    path: "/proc/sys/net/core/bpf_jit_enable",
    say: (v) =>
      [
        "JIT compiler is disabled",
        "JIT compiler is enabled",
        "JIT compiler is enabled with debugging traces in kernel logs",
      ][v] ?? (v === -1
        ? "Unable to retrieve JIT-compiler status"
        : `JIT-compiler status has unknown value ${v}`),
  },
  {
    key: "bpf_jit_harden",
    path: "/proc/sys/net/core/bpf_jit_harden",
    say: (v) =>
      [
        "JIT compiler hardening is disabled",
        "JIT compiler hardening is enabled for unprivileged users",
        "JIT compiler hardening is enabled for all users",
      ][v] ?? (v === -1
        ? "Unable to retrieve JIT hardening status"
        : `JIT hardening status has unknown value ${v}`),
  },
  {
    key: "bpf_jit_kallsyms",
    path: "/proc/sys/net/core/bpf_jit_kallsyms",
    say: (v) =>
      [
        "JIT compiler kallsyms exports are disabled",
        "JIT compiler kallsyms exports are enabled for root",
      ][v] ?? (v === -1
        ? "Unable to retrieve JIT kallsyms export status"
        : `JIT kallsyms exports status has unknown value ${v}`),
  },
  {
    key: "bpf_jit_limit",
    path: "/proc/sys/net/core/bpf_jit_limit",
    say: (v) =>
      v === -1
        ? "Unable to retrieve global memory limit for JIT compiler for unprivileged users"
        : `Global memory limit for JIT compiler for unprivileged users is ${v} bytes`,
  },
];

/** A procfs number: the first line must be a decimal number; -1 otherwise. */
function readProcNumber(path: string): number {
  let text: string;
  try {
    text = readTextFile(path);
  } catch {
    return -1;
  }
  const m = /^([+-]?\d+)\n/.exec(text);
  return m ? Number(m[1]) : -1;
}

function readMaybeGzip(path: string): string {
  const bytes = readFile(path, { what: "kernel config" });
  if (bytes[0] !== 0x1f || bytes[1] !== 0x8b) return new TextDecoder().decode(bytes);
  return new TextDecoder().decode(gunzip(bytes, { what: `kernel config ${path}` }));
}

/** The kernel config (`/boot/config-<release>`, else `/proc/config.gz`), or undefined. */
function readKernelConfig(): Map<string, string> | undefined {
  let text: string | undefined;
  for (const path of [`/boot/config-${uname().release}`, "/proc/config.gz"]) {
    try {
      text = readMaybeGzip(path);
      break;
    } catch {
      // try the next place
    }
  }
  if (text === undefined) {
    console.error("skipping kernel config, can't open file: No such file or directory");
    return undefined;
  }
  const lines = text.split("\n");
  if (lines[1] !== "# Automatically generated file; DO NOT EDIT.") {
    console.error("skipping kernel config, can't find correct file");
    return undefined;
  }
  const values = new Map<string, string>();
  for (const line of lines) {
    if (!line.startsWith("CONFIG_")) continue;
    const eq = line.indexOf("=");
    if (eq < 0 || eq === line.length - 1) continue;
    const name = line.slice(0, eq);
    if (!values.has(name)) values.set(name, line.slice(eq + 1));
  }
  return values;
}

interface SystemConfig {
  procfs: { key: string; value: number; text: string }[];
  config: { name: string; value: string | null }[];
}

function systemConfig(): SystemConfig {
  let haveProc = true;
  try {
    fileInfo("/proc/self");
  } catch {
    haveProc = false;
    console.error("/* procfs not mounted, skipping related probes */");
  }
  const procfs = haveProc
    ? PROCFS.map((p) => {
      const value = readProcNumber(p.path);
      return { key: p.key, value, text: p.say(value) };
    })
    : [];
  const kconfig = readKernelConfig();
  const config = CONFIG_OPTIONS.map((name) => ({ name, value: kconfig?.get(name) ?? null }));
  return { procfs, config };
}

function formatSystemConfig(sc: SystemConfig): string {
  const lines = ["Scanning system configuration..."];
  for (const p of sc.procfs) lines.push(p.text);
  for (const c of sc.config) {
    lines.push(c.value === null ? `${c.name} is not set` : `${c.name} is set to ${c.value}`);
  }
  lines.push("");
  return lines.map((l) => l + "\n").join("");
}

function systemConfigJson(sc: SystemConfig): Record<string, number | string | null> {
  const out: Record<string, number | string | null> = {};
  for (const p of sc.procfs) out[p.key] = p.value;
  for (const c of sc.config) out[c.name] = c.value;
  return out;
}

// ---- the command ---------------------------------------------------------

function parseSections(value: string | undefined): FeatureSection[] {
  if (value === undefined) return [...FEATURE_SECTIONS];
  const wanted = value.split(",").map((s) => s.trim()).filter(Boolean);
  for (const s of wanted) {
    if (!(FEATURE_SECTIONS as readonly string[]).includes(s)) {
      throw new InvalidArgumentError(
        `unknown section ${JSON.stringify(s)}; use one of: ${FEATURE_SECTIONS.join(", ")}`,
      );
    }
  }
  return FEATURE_SECTIONS.filter((s) => wanted.includes(s));
}

/**
 * The `feature probe` command: `args` are the words after `feature probe`
 * (a leading `probe` is accepted too). Prints bpftool's report for the
 * chosen sections; returns the exit code.
 */
export async function featureCommand(args: string[]): Promise<number> {
  const p = parseArgs(args, ["section", "compat"]);
  if (p.options.has("help") || p.positional.includes("help")) {
    console.error(USAGE);
    return 0;
  }
  const words = p.positional[0] === "probe" ? p.positional.slice(1) : p.positional;
  let full = false;
  let json = p.options.has("json");
  let pretty = p.options.has("pretty");
  for (const w of words) {
    if (w === "kernel") continue;
    else if (w === "full") full = true;
    else if (w === "-j") json = true;
    else if (w === "-p") json = pretty = true;
    else throw new InvalidArgumentError(`unexpected argument ${JSON.stringify(w)}\n${USAGE}`);
  }
  for (const name of p.options.keys()) {
    if (!["section", "compat", "json", "pretty"].includes(name)) {
      throw new InvalidArgumentError(`unknown option --${name}\n${USAGE}`);
    }
  }
  const sections = parseSections(stringOption(p, "section"));
  const compat = stringOption(p, "compat") ?? "bpftool-7.1";
  if (compat !== "none" && compat !== "bpftool-7.1") {
    throw new InvalidArgumentError(
      `unknown --compat ${JSON.stringify(compat)}; use bpftool-7.1 or none`,
    );
  }
  const options: ProbeAllOptions = compat === "bpftool-7.1"
    ? { catalog: "bpftool-7.1", semantics: "libbpf-1.1", full }
    : { full };
  options.helpers = sections.includes("helpers");

  const sc = sections.includes("system_config") ? systemConfig() : undefined;
  const report = probeAll(options);
  const reportSections = sections.filter((s): s is ReportSection => s !== "system_config");
  if (json) {
    const out: Record<string, unknown> = {};
    if (sc) out.system_config = systemConfigJson(sc);
    Object.assign(out, reportToJson(report, { sections: reportSections }));
    await write(JSON.stringify(out, null, pretty ? 4 : undefined) + "\n");
  } else {
    await write(
      (sc ? formatSystemConfig(sc) : "") + formatReport(report, { sections: reportSections }),
    );
  }
  return 0;
}
