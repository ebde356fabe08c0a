// src/tracefs: the mount lookup (real and under a fake root), tracepoint
// ids with validated names, and uprobe/kprobe events through tracefs.

import { haveFeature } from "../src/features/mod.ts";
import assert from "node:assert/strict";
import {
  checkEventComponent,
  createKprobeEvent,
  createUprobeEvent,
  findTracefs,
  parseMountInfo,
  removeStaleProbeEvents,
  sanitizeEventName,
  TRACEFS_MOUNT_COMMAND,
  TracefsNotMountedError,
  tracefsPath,
  tracepointExists,
  tracepointId,
  tracepointNames,
  uniqueEventName,
} from "../src/tracefs/mod.ts";
import { InvalidArgumentError, NotFoundError, NotSupportedError } from "../src/errors.ts";
import { ensureTracefs } from "./link_fixtures.ts";

await ensureTracefs();

const LINE_TRACEFS =
  "45 23 0:12 / /sys/kernel/tracing rw,nosuid,nodev,noexec,relatime shared:20 - tracefs tracefs rw";
const LINE_DEBUG = "46 23 0:13 / /sys/kernel/debug/tracing rw,relatime - tracefs tracefs rw";
const LINE_EXT4 = "27 1 254:0 / / rw,relatime - ext4 /dev/vda rw";

Deno.test("parseMountInfo: fields, optional fields and escapes", () => {
  const m = parseMountInfo(
    [LINE_EXT4, LINE_TRACEFS, "50 27 0:40 / /mnt/with\\040space rw - tmpfs tmpfs rw", "junk"].join(
      "\n",
    ),
  );
  assert.equal(m.length, 3);
  assert.equal(m[1].fsType, "tracefs");
  assert.equal(m[1].mountPoint, "/sys/kernel/tracing");
  assert.equal(m[2].mountPoint, "/mnt/with space");
  assert.equal(m[0].source, "/dev/vda");
});

async function fakeRoot(lines: string[], dirs: string[]): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "denobpf_tracefs_" });
  await Deno.mkdir(`${root}/proc/self`, { recursive: true });
  await Deno.writeTextFile(`${root}/proc/self/mountinfo`, lines.join("\n") + "\n");
  for (const d of dirs) await Deno.mkdir(`${root}${d}`, { recursive: true });
  return root;
}

Deno.test("findTracefs: under a root, preferring /sys/kernel/tracing", async () => {
  const root = await fakeRoot([LINE_EXT4, LINE_DEBUG, LINE_TRACEFS], [
    "/sys/kernel/tracing/events/syscalls/sys_enter_getpid",
    "/sys/kernel/debug/tracing",
  ]);
  try {
    assert.equal(findTracefs({ root }), `${root}/sys/kernel/tracing`);
    await Deno.writeTextFile(
      `${root}/sys/kernel/tracing/events/syscalls/sys_enter_getpid/id`,
      "42\n",
    );
    assert.equal(tracepointId("syscalls", "sys_enter_getpid", { root }), 42);
    assert.deepEqual(tracepointNames("syscalls", { root }), ["sys_enter_getpid"]);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("findTracefs: the debugfs location when only it is mounted", async () => {
  const root = await fakeRoot([LINE_EXT4, LINE_DEBUG], ["/sys/kernel/debug/tracing"]);
  try {
    assert.equal(tracefsPath({ root }), `${root}/sys/kernel/debug/tracing`);
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("tracefsPath: not mounted → TracefsNotMountedError naming the mount command", async () => {
  const root = await fakeRoot([LINE_EXT4], ["/sys/kernel/tracing"]);
  try {
    assert.equal(findTracefs({ root }), undefined);
    assert.throws(
      () => tracepointId("syscalls", "sys_enter_getpid", { root }),
      (e: unknown) => {
        assert.ok(e instanceof TracefsNotMountedError);
        assert.ok(e instanceof NotFoundError);
        assert.equal(e.mountCommand, TRACEFS_MOUNT_COMMAND);
        assert.match(e.message, /mount -t tracefs tracefs \/sys\/kernel\/tracing/);
        assert.match(e.message, /\/sys\/kernel\/debug\/tracing/);
        return true;
      },
    );
  } finally {
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("event names: '/', '..', whitespace and empty names are refused", () => {
  for (const bad of ["", "..", ".", "a/b", "../x", "a..b", "a b", "a\0b", "x\n"]) {
    assert.throws(
      () => checkEventComponent(bad, "group"),
      InvalidArgumentError,
      JSON.stringify(bad),
    );
    assert.throws(() => tracepointId(bad, "x"), InvalidArgumentError);
    assert.throws(() => tracepointId("syscalls", bad), InvalidArgumentError);
  }
  assert.equal(sanitizeEventName("libc.so.6:malloc"), "libc_so_6_malloc");
  assert.equal(sanitizeEventName("9lives"), "_9lives");
  const n = uniqueEventName("uprobe", "x".repeat(200));
  assert.ok(n.length <= 63);
  assert.match(n, new RegExp(`_${Deno.pid}_\\d+$`));
  assert.notEqual(uniqueEventName("a", "b"), uniqueEventName("a", "b"));
});

Deno.test("tracepointId: real syscalls/sys_enter_getpid", () => {
  const id = tracepointId("syscalls", "sys_enter_getpid");
  assert.ok(Number.isInteger(id) && id > 0);
  assert.ok(tracepointExists("syscalls", "sys_enter_getpid"));
  assert.ok(!tracepointExists("syscalls", "sys_enter_nope_zz"));
  assert.throws(() => tracepointId("syscalls", "sys_enter_nope_zz"), NotFoundError);
  assert.ok(tracepointNames("syscalls").includes("sys_exit_getpid"));
});

Deno.test("createUprobeEvent: defined, has an id, removed on close", () => {
  const ev = createUprobeEvent({ path: "/bin/sh", offset: 0x1000 });
  const list = () => Deno.readTextFileSync(`${ev.tracefs}/uprobe_events`);
  try {
    assert.equal(ev.group, "denobpf");
    assert.ok(ev.id > 0);
    assert.ok(list().includes(`denobpf/${ev.name} `));
    assert.ok(tracepointExists(ev.group, ev.name));
  } finally {
    ev.close();
  }
  assert.ok(!list().includes(`denobpf/${ev.name} `));
  ev.close(); // idempotent
  using ret = createUprobeEvent({ path: "/bin/sh", offset: 0x1000, retprobe: true });
  assert.match(ret.definition, /^r:denobpf\/uretprobe_sh_1000_/);
  assert.throws(
    () => createUprobeEvent({ path: "relative/path", offset: 0 }),
    InvalidArgumentError,
  );
  assert.throws(() => createUprobeEvent({ path: "/bin/sh", offset: 1, group: "bad/group" }));
  assert.deepEqual(removeStaleProbeEvents("uprobe"), []);
});

Deno.test({
  name: `createKprobeEvent: no kprobe_events on this kernel → NotSupportedError${
    haveFeature("kprobes") ? " (skipped: this kernel has kprobes; no refusal to check)" : ""
  }`,
  ignore: haveFeature("kprobes"),
  fn() {
    assert.throws(
      () => createKprobeEvent({ symbol: "__do_sys_getpid" }),
      (e: unknown) => {
        assert.ok(e instanceof NotSupportedError);
        assert.match(e.message, /CONFIG_KPROBE_EVENTS/);
        assert.match(e.message, /kprobe_events does not exist/);
        return true;
      },
    );
  },
});

Deno.test("createKprobeEvent: a bad symbol or a retprobe offset is refused before tracefs", () => {
  assert.throws(() => createKprobeEvent({ symbol: "bad symbol" }), InvalidArgumentError);
  assert.throws(() => createKprobeEvent({ symbol: "f", retprobe: true, offset: 4 }), /offset/);
});
