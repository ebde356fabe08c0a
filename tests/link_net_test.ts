// Networking attachments on the real kernel, inside network namespaces the
// test makes (two namespaces joined by a veth pair; traffic is a UDP packet
// from one to the other): XDP (link, native and generic; netlink), tcx,
// tc clsact over netlink, sk_lookup and flow_dissector netns links,
// netfilter, a cgroup_skb program in a new cgroup, a socket filter.

import assert from "node:assert/strict";
import {
  attachCgroup,
  attachNetfilter,
  attachNetns,
  attachSocketFilter,
  attachTc,
  attachTcx,
  attachXdp,
  BpfLink,
  destroyClsact,
  LegacyLink,
  TcLink,
} from "../src/link/mod.ts";
import { NotSupportedError } from "../src/errors.ts";
import { haveFeature, haveProgramType } from "../src/features/mod.ts";
import { errno, libc } from "../src/sys/_libc.ts";
import { openPath } from "../src/sys/open_path.ts";
import { bpftoolIds, Counter, countingProgram, run, waitFor } from "./link_fixtures.ts";

const CLONE_NEWNET = 0x40000000;
const NS_A = `dbpf${Deno.pid}a`;
const NS_B = `dbpf${Deno.pid}b`;
const ADDR_A = "10.201.0.1";
const ADDR_B = "10.201.0.2";

async function createNamespaces(): Promise<void> {
  await run(["ip", "netns", "add", NS_A]);
  await run(["ip", "netns", "add", NS_B]);
  await run([
    "ip",
    "link",
    "add",
    "dbpfva",
    "netns",
    NS_A,
    "type",
    "veth",
    "peer",
    "name",
    "dbpfvb",
    "netns",
    NS_B,
  ]);
  await run(["ip", "-n", NS_A, "addr", "add", `${ADDR_A}/24`, "dev", "dbpfva"]);
  await run(["ip", "-n", NS_B, "addr", "add", `${ADDR_B}/24`, "dev", "dbpfvb"]);
  for (const [ns, dev] of [[NS_A, "dbpfva"], [NS_B, "dbpfvb"]]) {
    await run(["ip", "-n", ns, "link", "set", "lo", "up"]);
    await run(["ip", "-n", ns, "link", "set", dev, "up"]);
  }
}

async function deleteNamespaces(): Promise<void> {
  await run(["ip", "netns", "del", NS_A], { allowFail: true });
  await run(["ip", "netns", "del", NS_B], { allowFail: true });
}

/** Runs `fn` on this (the main) thread inside namespace `ns`, then returns to ours. */
function inNetns<T>(ns: string, fn: () => T): T {
  using self = openPath("/proc/thread-self/ns/net");
  using target = openPath(`/var/run/netns/${ns}`);
  if (libc().setns(target.value, CLONE_NEWNET) !== 0) throw new Error(`setns: errno ${errno()}`);
  let result: { ok: true; value: T } | { ok: false; error: unknown };
  try {
    result = { ok: true, value: fn() };
  } catch (error) {
    result = { ok: false, error };
  }
  if (libc().setns(self.value, CLONE_NEWNET) !== 0) {
    throw new Error(`setns back: errno ${errno()}`);
  }
  if (!result.ok) throw result.error;
  return result.value;
}

/** Sends `n` UDP packets from namespace A to B's address. */
async function sendAtoB(n = 3): Promise<void> {
  const cmd = `for i in $(seq ${n}); do echo hi > /dev/udp/${ADDR_B}/9999; done`;
  await run(["ip", "netns", "exec", NS_A, "bash", "-c", cmd], { allowFail: true });
}

let created = false;
Deno.test({
  name: "setup: two namespaces and a veth pair",
  fn: async () => {
    await deleteNamespaces();
    await createNamespaces();
    created = true;
  },
});

Deno.test("attachXdp: native and generic links count packets; update, detach, info", async () => {
  assert.ok(created);
  using counter = new Counter();
  using counter2 = new Counter();
  using prog = countingProgram(counter, { type: "xdp" }, { ret: 2 });
  using prog2 = countingProgram(counter2, { type: "xdp" }, { ret: 2 });
  for (const mode of ["native", "generic"] as const) {
    counter.reset();
    counter2.reset();
    const link = inNetns(NS_B, () => attachXdp(prog, { interface: "dbpfvb", mode }));
    try {
      assert.ok(link instanceof BpfLink);
      await sendAtoB();
      assert.ok(await waitFor(() => counter.value > 0n), `${mode}: packets counted`);
      const info = link.info();
      assert.equal(info.typeName, "xdp");
      assert.ok(info.xdp!.ifindex > 0);
      link.update(prog2);
      assert.equal(link.info().progId, prog2.id);
      await sendAtoB();
      assert.ok(await waitFor(() => counter2.value > 0n), `${mode}: new program counts`);
      link.detach();
      const frozen = counter2.value;
      await sendAtoB();
      assert.equal(counter2.value, frozen, `${mode}: nothing after detach`);
    } finally {
      link.close();
    }
  }
});

Deno.test("attachXdp: netlink attachment (legacy), visible to ip link, removed on close", async () => {
  using counter = new Counter();
  using prog = countingProgram(counter, { type: "xdp" }, { ret: 2 });
  const link = inNetns(
    NS_B,
    () => attachXdp(prog, { interface: "dbpfvb", mode: "generic", legacy: true }),
  );
  assert.ok(link instanceof LegacyLink);
  try {
    assert.match(await run(["ip", "-n", NS_B, "link", "show", "dbpfvb"]), /xdpgeneric/);
    await sendAtoB();
    assert.ok(await waitFor(() => counter.value > 0n));
    // A second netlink attach without `replace` is refused.
    assert.throws(() =>
      inNetns(NS_B, () => attachXdp(prog, { interface: "dbpfvb", mode: "generic", legacy: true }))
    );
  } finally {
    link.close();
  }
  assert.doesNotMatch(await run(["ip", "-n", NS_B, "link", "show", "dbpfvb"]), /xdp/);
  assert.throws(() => attachXdp(prog, { interface: "no_such_if_zz" }), /no network interface/);
});

Deno.test({
  name: `attachTcx: two ingress programs in order, both count${
    haveFeature("tcx_link") ? "" : " (skipped: tcx links not supported by this kernel)"
  }`,
  ignore: !haveFeature("tcx_link"),
  fn: tcxInOrder,
});

async function tcxInOrder() {
  using c1 = new Counter();
  using c2 = new Counter();
  using p1 = countingProgram(c1, { type: "sched_cls" }, { ret: -1 }); // TCX_NEXT
  using p2 = countingProgram(c2, { type: "sched_cls" }, { ret: -1 });
  const [l1, l2] = inNetns(NS_B, () => {
    const a = attachTcx(p1, { interface: "dbpfvb", direction: "ingress" });
    const b = attachTcx(p2, { interface: "dbpfvb", direction: "ingress", before: { program: p1 } });
    return [a, b];
  });
  try {
    await sendAtoB();
    assert.ok(await waitFor(() => c1.value > 0n && c2.value > 0n));
    const info = l2.info();
    assert.equal(info.typeName, "tcx");
    assert.equal(info.tcx?.attachTypeName, "tcx_ingress");
    l1.detach();
    const before = c1.value;
    await sendAtoB();
    assert.ok(await waitFor(() => c2.value > 0n));
    assert.equal(c1.value, before);
  } finally {
    l1.close();
    l2.close();
  }
}

Deno.test("attachTc: clsact + direct-action bpf filter over netlink", async () => {
  using counter = new Counter();
  using prog = countingProgram(counter, { type: "sched_cls", name: "dbpf_tc" }, { ret: 0 });
  const link = inNetns(NS_B, () => attachTc(prog, { interface: "dbpfvb", direction: "ingress" }));
  assert.ok(link instanceof TcLink);
  const tcFilters = () =>
    run(["ip", "netns", "exec", NS_B, "tc", "filter", "show", "dev", "dbpfvb", "ingress"]);
  try {
    assert.ok(link.handle > 0 && link.priority > 0);
    const shown = await tcFilters();
    assert.match(shown, /bpf/);
    assert.match(shown, /dbpf_tc/);
    assert.match(shown, /direct-action/);
    await sendAtoB();
    assert.ok(await waitFor(() => counter.value > 0n));
  } finally {
    link.close();
  }
  const after = await tcFilters();
  assert.doesNotMatch(after, /dbpf_tc/);
  assert.ok(inNetns(NS_B, () => destroyClsact({ interface: "dbpfvb" })));
});

Deno.test("attachNetns: sk_lookup and flow_dissector links on a namespace", async () => {
  using counter = new Counter();
  using prog = countingProgram(counter, { type: "sk_lookup" }, { ret: 1 }); // SK_PASS
  using link = attachNetns(prog, { netns: `/var/run/netns/${NS_B}` });
  await sendAtoB();
  assert.ok(await waitFor(() => counter.value > 0n), "sk_lookup ran on B's UDP lookups");
  const info = link.info();
  assert.equal(info.typeName, "netns");
  assert.equal(info.netns?.attachTypeName, "sk_lookup");
  link.detach();
  using fd = countingProgram(counter, { type: "flow_dissector" }, { ret: 0 });
  using link2 = attachNetns(fd, { netns: `/var/run/netns/${NS_B}` });
  assert.equal(link2.info().netns?.attachTypeName, "flow_dissector");
});

Deno.test({
  name: `attachNetfilter: an ipv4 input hook in namespace B${
    haveProgramType("netfilter")
      ? ""
      : " (skipped: program type netfilter not supported by this kernel)"
  }`,
  ignore: !haveProgramType("netfilter"),
  fn: netfilterInput,
});

async function netfilterInput() {
  using counter = new Counter();
  using prog = countingProgram(counter, { type: "netfilter" }, { ret: 1 }); // NF_ACCEPT
  let link: BpfLink;
  try {
    link = inNetns(
      NS_B,
      () => attachNetfilter(prog, { family: "ipv4", hook: "input", priority: -128 }),
    );
  } catch (e) {
    if (e instanceof NotSupportedError) {
      throw new Error(`netfilter links unexpectedly missing: ${e}`);
    }
    throw e;
  }
  try {
    await sendAtoB();
    assert.ok(await waitFor(() => counter.value > 0n));
    const info = link.info();
    assert.deepEqual(info.netfilter, { pf: 2, hooknum: 1, priority: -128, flags: 0 });
  } finally {
    link.close();
  }
}

function cgroup2Root(): string {
  const line = Deno.readTextFileSync("/proc/self/mountinfo").split("\n").find((l) =>
    / - cgroup2 /.test(l)
  );
  assert.ok(line, "a cgroup2 mount");
  return line.split(" ")[4];
}

Deno.test("attachCgroup: cgroup_skb egress in a new cgroup (link and PROG_ATTACH)", async () => {
  const cg = `${cgroup2Root()}/denobpf_test_${Deno.pid}`;
  await Deno.mkdir(cg);
  try {
    using counter = new Counter();
    using prog = countingProgram(counter, { type: "cgroup_skb" }, { ret: 1 });
    const send = () =>
      run([
        "bash",
        "-c",
        `echo $$ > ${cg}/cgroup.procs && echo hi > /dev/udp/127.0.0.1/9999`,
      ], { allowFail: true });
    for (const legacy of [false, true]) {
      counter.reset();
      const link = attachCgroup(prog, { cgroup: cg, attachType: "cgroup_inet_egress", legacy });
      try {
        assert.equal(link.isBpfLink, !legacy);
        if (!legacy) {
          const info = link.info();
          assert.equal(info.typeName, "cgroup");
          assert.equal(info.cgroup?.attachTypeName, "cgroup_inet_egress");
        }
        await send();
        assert.ok(await waitFor(() => counter.value > 0n), `legacy=${legacy}: egress counted`);
      } finally {
        link.close();
      }
      const frozen = counter.value;
      await send();
      assert.equal(counter.value, frozen, `legacy=${legacy}: detached`);
    }
    assert.throws(() => attachCgroup(prog, { cgroup: cg }), /give attachType/);
    // A program loaded with an attach type attaches with it by default.
    counter.reset();
    using egress = countingProgram(counter, {
      type: "cgroup_skb",
      attachType: "cgroup_inet_egress",
    }, {
      ret: 1,
    });
    using link = attachCgroup(egress, { cgroup: cg });
    assert.equal(link.info().cgroup?.attachTypeName, "cgroup_inet_egress");
    await send();
    assert.ok(await waitFor(() => counter.value > 0n), "egress counted (default attach type)");
  } finally {
    await Deno.remove(cg).catch(() => {});
  }
});

Deno.test("attachSocketFilter: a packet socket counts loopback traffic until detached", async () => {
  const sock = libc().socket(17, /* AF_PACKET */ 3, /* SOCK_RAW */ 0x0300 /* htons(ETH_P_ALL) */);
  assert.ok(sock >= 0);
  try {
    using counter = new Counter();
    using prog = countingProgram(counter, { type: "socket_filter" }, { ret: 0 });
    const link = attachSocketFilter(prog, sock);
    const send = () =>
      run(["bash", "-c", "echo hi > /dev/udp/127.0.0.1/9999"], { allowFail: true });
    await send();
    assert.ok(await waitFor(() => counter.value > 0n));
    link.close();
    const frozen = counter.value;
    await send();
    assert.equal(counter.value, frozen);
    assert.throws(() => attachSocketFilter(prog, 0), /not a socket|ENOTSOCK/);
  } finally {
    libc().close(sock);
  }
});

Deno.test("clean detach: none of the programs or links made here remain", async () => {
  const ids: number[] = [];
  {
    using counter = new Counter();
    using prog = countingProgram(counter, { type: "xdp" }, { ret: 2 });
    using tc = countingProgram(counter, { type: "sched_cls" }, { ret: -1 });
    using l1 = inNetns(NS_B, () => attachXdp(prog, { interface: "dbpfvb" }));
    ids.push(l1.info().id, prog.id, tc.id);
    // A tcx link too, where the kernel has them (Linux 6.6).
    if (haveFeature("tcx_link")) {
      using l2 = inNetns(NS_B, () => attachTcx(tc, { interface: "dbpfvb", direction: "egress" }));
      ids.push(l2.info().id);
    }
  }
  const after = await bpftoolIds();
  assert.ok(!after.links.has(ids[0]) && !after.links.has(ids[3] ?? -1), "links gone");
  assert.ok(!after.progs.has(ids[1]) && !after.progs.has(ids[2]), "programs gone");
});

Deno.test("teardown: delete the namespaces", async () => {
  await deleteNamespaces();
  assert.ok(!(await run(["ip", "netns", "list"])).includes(NS_A));
});
