/**
 * The denobpf command-line interface: `deno task cli <command> …`.
 *
 * @module
 */

import { EbpfError } from "../errors.ts";

type Handler = (args: string[]) => number | Promise<number>;

// Commands load their module when run: a process pays only for its own
// command (the exporter alone takes ~0.3 s to import).
const btfDumpCommand: Handler = async (a) => (await import("./btf.ts")).btfDumpCommand(a);
const btfModuleCommand: Handler = async (a) => (await import("./btf.ts")).btfModuleCommand(a);
const ksymModuleCommand: Handler = async (a) => (await import("./btf.ts")).ksymModuleCommand(a);
const featureCommand: Handler = async (a) => (await import("./feature.ts")).featureCommand(a);
const exportCommand: Handler = async (a) => (await import("./export.ts")).exportCommand(a);
const genTsCommand: Handler = async (a) => (await import("./gen.ts")).genTsCommand(a);
const traceCommand: Handler = async (a) => (await import("./trace.ts")).traceCommand(a);

type Commands = Record<string, { run: Handler; help: string }>;

const COMMANDS: Commands = {
  "btf dump": {
    run: btfDumpCommand,
    help: "btf dump FILE [--base FILE] [--format raw|c] dump BTF like bpftool's format raw or c",
  },
  "btf module": {
    run: btfModuleCommand,
    help: "btf module NAME [--root DIR]                 find a kernel module's BTF",
  },
  // One word: the config file follows.
  "export": {
    run: exportCommand,
    help: "export CONFIG [--port N]                     serve probes' metrics for Prometheus",
  },
  "feature probe": {
    run: featureCommand,
    help: "feature probe [full] [-j] [--section S] [--compat bpftool-7.1|none]  like bpftool",
  },
  "gen ts": {
    run: genTsCommand,
    help: "gen ts OBJECT.o [-o FILE] [--name N] [--embed|--path] [--record T,…]  typed bindings",
  },
  "ksym module": {
    run: ksymModuleCommand,
    help: "ksym module SYMBOL [--root DIR]              the module that owns a kernel symbol",
  },
  // One word: bpftrace's options follow.
  "trace": {
    run: traceCommand,
    help:
      "trace -e 'PROGRAM' | FILE.bt [-p PID] [-c CMD] [ARGS]; trace -l [PATTERN]  like bpftrace",
  },
};

/** The commands above, then bpftool's (loaded only when the command is not above). */
async function commandsFor(args: string[]): Promise<Commands> {
  if (COMMANDS[args.slice(0, 2).join(" ")] || COMMANDS[args[0]]) return COMMANDS;
  const { BPFTOOL_COMMANDS } = await import("./bpftool_commands.ts");
  return { ...COMMANDS, ...BPFTOOL_COMMANDS };
}

function usage(commands: Commands): string {
  return "usage: denobpf <command> [args]\n\ncommands:\n" +
    Object.values(commands).map((c) => `  ${c.help}`).join("\n");
}

/**
 * Runs the CLI on `args`; returns the exit code. Every error ends the
 * command with one line on stderr (`denobpf: <message>`) and exit code 1;
 * `--debug` or `DENOBPF_DEBUG=1` prints the stack too.
 */
export async function main(args: string[]): Promise<number> {
  const commands = await commandsFor(args);
  const words = commands[args.slice(0, 2).join(" ")] ? 2 : 1; // "btf dump" or "export"
  const key = args.slice(0, words).join(" ");
  const cmd = commands[key];
  if (!cmd) {
    console.error(
      args.length && args[0] !== "help" && args[0] !== "--help"
        ? `unknown command: ${args.join(" ")}\n\n${usage(commands)}`
        : usage(commands),
    );
    return args.length && args[0] !== "help" && args[0] !== "--help" ? 2 : 0;
  }
  const rest = args.slice(words).filter((a) => a !== "--debug");
  const debug = rest.length !== args.length - words || envDebug();
  try {
    return await cmd.run(rest);
  } catch (e) {
    console.error(errorLine(e));
    if (debug && e instanceof Error && e.stack) console.error(e.stack);
    return 1;
  }
}

/**
 * The one line the CLI prints for an error: `denobpf: <message>`, the
 * message of a typed error as it is, of any other error with its class name.
 */
function errorLine(e: unknown): string {
  const text = e instanceof EbpfError
    ? e.message
    : e instanceof Error
    ? `${e.name}: ${e.message}`
    : String(e);
  return `denobpf: ${text.replaceAll("\n", " ")}`;
}

function envDebug(): boolean {
  try {
    return Deno.env.get("DENOBPF_DEBUG") === "1";
  } catch {
    return false; // no --allow-env
  }
}
