/**
 * bpftool's everyday commands, with its text output and its `-j`/`-p` JSON
 * (as bpftool 7.1 prints them), for the CLI's command table.
 *
 * @module
 */

import { btfShowCommand } from "./bpftool_btf.ts";
import { cgroupTreeCommand } from "./bpftool_cgroup.ts";
import { linkShowCommand } from "./bpftool_link.ts";
import { mapShowCommand } from "./bpftool_map.ts";
import { netListCommand } from "./bpftool_net.ts";
import { perfListCommand } from "./bpftool_perf.ts";
import {
  mapDeleteCommand,
  mapDumpCommand,
  mapLookupCommand,
  mapUpdateCommand,
} from "./bpftool_map_dump.ts";
import { progShowCommand } from "./bpftool_prog.ts";
import { progDumpCommand } from "./bpftool_prog_dump.ts";

/** A CLI command: its handler and its line of help. */
export interface BpftoolCommand {
  /** Runs the command on the words after its name; returns the exit code. */
  run: (args: string[]) => number | Promise<number>;
  /** One line of help. */
  help: string;
}

/** The bpftool-like commands by their two-word names. */
export const BPFTOOL_COMMANDS: Record<string, BpftoolCommand> = {
  "prog list": {
    run: progShowCommand,
    help: "prog list [-j|-p]                            like bpftool prog list",
  },
  "prog show": {
    run: progShowCommand,
    help: "prog show [id N] [-j|-p]                     like bpftool prog show",
  },
  "prog dump": {
    run: progDumpCommand,
    help:
      "prog dump xlated|jited PROG [file F | opcodes | linum | visual] [-j|-p]  like bpftool prog dump;\n" +
      "    PROG: id N | pinned P | tag T | name N; jited prints the machine code as bytes\n" +
      "    (no x86 disassembler; Debian's bpftool 7.1 has none either)",
  },
  "map list": {
    run: mapShowCommand,
    help: "map list [-j|-p]                             like bpftool map list",
  },
  "map show": {
    run: mapShowCommand,
    help: "map show [id N] [-j|-p]                      like bpftool map show",
  },
  "map dump": {
    run: mapDumpCommand,
    help: "map dump id N [-j|-p]                        like bpftool map dump",
  },
  "map lookup": {
    run: mapLookupCommand,
    help: "map lookup id N key BYTES… [-j|-p]           like bpftool map lookup",
  },
  "map update": {
    run: mapUpdateCommand,
    help: "map update id N key BYTES… value BYTES… [any|exist|noexist]",
  },
  "map delete": {
    run: mapDeleteCommand,
    help: "map delete id N key BYTES…                   like bpftool map delete",
  },
  "link list": {
    run: linkShowCommand,
    help: "link list [-j|-p]                            like bpftool link list",
  },
  "link show": {
    run: linkShowCommand,
    help: "link show [id N] [-j|-p]                     like bpftool link show",
  },
  "btf list": {
    run: btfShowCommand,
    help: "btf list [-j|-p]                             like bpftool btf list",
  },
  "btf show": {
    run: btfShowCommand,
    help: "btf show [id N] [-j|-p]                      like bpftool btf show",
  },
  "cgroup tree": {
    run: cgroupTreeCommand,
    help: "cgroup tree [ROOT] [-j|-p]                   like bpftool cgroup tree",
  },
  "net list": {
    run: netListCommand,
    help:
      "net list [dev NAME] [-j|-p]                  like bpftool net list (xdp, tc, flow_dissector)",
  },
  "net show": {
    run: netListCommand,
    help: "net show [dev NAME] [-j|-p]                  like bpftool net show",
  },
  "perf list": {
    run: perfListCommand,
    help: "perf list [-j|-p]                            like bpftool perf list",
  },
  "perf show": {
    run: perfListCommand,
    help: "perf show [-j|-p]                            like bpftool perf show",
  },
};
