// `net list` (cli.ts) against bpftool 7.1's, both run inside a network
// namespace this test makes: two veth pairs; XDP in generic and driver mode
// (ip link), tc clsact ingress and egress `bpf` filters and an htb qdisc
// with a class, each with a filter (tc), and a flow dissector (a netns
// link made by this library). Programs are basic.c's, loaded by this
// library and pinned on a private bpffs (ip and tc attach pinned programs).

import assert from "node:assert/strict";
import { loadCollection } from "../src/collection/mod.ts";
import { loadProgram } from "../src/program/load.ts";
import { attachNetns } from "../src/link/netns.ts";
import { program } from "./program_fixtures.ts";
import * as asm from "../src/asm/builders.ts";
import { R0 } from "../src/asm/register.ts";
import { mountBpffs } from "./_helpers.ts";
import { CLI, run, runCli } from "./_cli_helpers.ts";

const NS = `dbpf-net-${Deno.pid}`;
const BASIC = new URL("../testdata/bpf/basic_bpfel.o", import.meta.url);

async function sh(cmd: string[]): Promise<string> {
  const r = await run(cmd[0], cmd.slice(1));
  assert.equal(r.code, 0, `${cmd.join(" ")}: ${r.err}`);
  return r.out;
}

/** `net list …` from cli.ts and bpftool in the namespace: exit status and stdout. */
async function inNs(args: string[]): Promise<[string, string]> {
  const [ours, theirs] = await Promise.all([
    run("ip", ["netns", "exec", NS, Deno.execPath(), "run", "-A", "--no-prompt", CLI, ...args]),
    run("ip", ["netns", "exec", NS, "bpftool", ...args]),
  ]);
  return [`${ours.code === 0}\n${ours.out}`, `${theirs.code === 0}\n${theirs.out}`];
}

Deno.test("cli net list: xdp, tc (clsact, htb qdisc and class) and flow_dissector as bpftool prints them", async () => {
  await using fs = await mountBpffs("denobpf-cli-net-");
  using coll = await loadCollection(BASIC);
  using coll2 = await loadCollection(BASIC);
  const pins: Record<string, string> = {};
  for (const [i, c] of [coll, coll2].entries()) {
    for (const name of ["xdp_sum", "tc_mark"]) {
      pins[`${name}${i}`] = `${fs.path}/${name}${i}`;
      c.programs[name].pin(pins[`${name}${i}`]);
    }
  }
  await sh(["ip", "netns", "add", NS]);
  try {
    const ip = (...a: string[]) => sh(["ip", "-n", NS, ...a]);
    const tc = (...a: string[]) => sh(["tc", "-n", NS, ...a]);
    await ip("link", "add", "dbpfn0", "type", "veth", "peer", "name", "dbpfn1");
    await ip("link", "add", "dbpfh0", "type", "veth", "peer", "name", "dbpfh1");
    for (const dev of ["dbpfn0", "dbpfn1", "dbpfh0"]) await ip("link", "set", dev, "up");
    // Empty: every section with nothing in it.
    let [ours, theirs] = await inNs(["net", "list"]);
    assert.equal(ours, theirs, "net list, nothing attached");
    assert.equal(ours, "true\nxdp:\n\ntc:\n\nflow_dissector:\n\n");

    await ip("link", "set", "dev", "dbpfn0", "xdpgeneric", "pinned", pins.xdp_sum0);
    await ip("link", "set", "dev", "dbpfn1", "xdpdrv", "pinned", pins.xdp_sum1);
    await tc("qdisc", "add", "dev", "dbpfn0", "clsact");
    await tc("filter", "add", "dev", "dbpfn0", "ingress", "bpf", "da", "pinned", pins.tc_mark0);
    await tc("filter", "add", "dev", "dbpfn0", "egress", "bpf", "da", "pinned", pins.tc_mark1);
    await tc("qdisc", "add", "dev", "dbpfh0", "root", "handle", "1:", "htb");
    await tc(
      "class",
      "add",
      "dev",
      "dbpfh0",
      "parent",
      "1:",
      "classid",
      "1:1",
      "htb",
      "rate",
      "1mbit",
    );
    await tc(
      "filter",
      "add",
      "dev",
      "dbpfh0",
      "parent",
      "1:",
      "bpf",
      "da",
      "pinned",
      pins.tc_mark0,
    );
    using dissector = loadProgram({
      type: "flow_dissector",
      instructions: program(asm.mov64(R0, 0), asm.exit()),
      name: "dbpf_dissect",
    });
    using _link = attachNetns(dissector, { netns: `/var/run/netns/${NS}` });

    for (const args of [[], ["-j"], ["-p"], ["dev", "dbpfn0"], ["dev", "dbpfh0", "-j"], ["show"]]) {
      const cmd = args[0] === "show" ? ["net", "show"] : ["net", "list", ...args];
      [ours, theirs] = await inNs(cmd);
      assert.equal(ours, theirs, cmd.join(" "));
    }
    // What the comparison covered.
    [ours] = await inNs(["net", "list"]);
    const xdp = coll.programs.xdp_sum.info().id;
    const tcId = coll.programs.tc_mark.info().id;
    assert.match(ours, new RegExp(`^dbpfn0\\(\\d+\\) generic id ${xdp}$`, "m"));
    assert.match(ours, /^dbpfn1\(\d+\) driver id \d+$/m);
    assert.match(
      ours,
      new RegExp(`^dbpfn0\\(\\d+\\) clsact/ingress tc_mark0:\\S* id ${tcId}$`, "m"),
    );
    assert.match(ours, /^dbpfn0\(\d+\) clsact\/egress tc_mark/m);
    assert.match(ours, /^dbpfh0\(\d+\) htb tc_mark/m);
    assert.match(ours, new RegExp(`flow_dissector:\nid ${dissector.info().id}\n`));
  } finally {
    await run("ip", ["netns", "del", NS]);
  }
});

Deno.test("cli net list dev NAME: an interface that does not exist is a NotFoundError line", async () => {
  const r = await runCli(["net", "list", "dev", "dbpf-none0"]);
  assert.equal(r.code, 1);
  assert.match(r.err, /^denobpf: no interface is named dbpf-none0/);
});
