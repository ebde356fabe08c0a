import assert from "node:assert/strict";
import {
  bpf,
  bpfRaw,
  E2BIG,
  EBADF,
  EINVAL,
  encodeAttr,
  ENOENT,
  errnoName,
  FD,
  openFdCount,
  PermissionError,
  SyscallError,
  uname,
} from "../src/sys/mod.ts";
import { setErrno } from "../src/sys/_libc.ts";
import { BpfCmd } from "../src/sys/bpf.ts";

function expectErrno(fn: () => unknown, no: number, command?: string) {
  assert.throws(fn, (e: unknown) => {
    assert.ok(e instanceof SyscallError, `expected SyscallError, got ${e}`);
    assert.equal(e.errno, no, `expected ${errnoName(no)}, got ${e.code}: ${e.message}`);
    assert.equal(e.code, errnoName(no));
    if (command) assert.equal(e.command, command);
    assert.match(e.message, new RegExp(errnoName(no)));
    return true;
  });
}

Deno.test("bpf(2) errno: EBADF for a closed map fd", () => {
  setErrno(0);
  expectErrno(
    () =>
      bpf("MAP_LOOKUP_ELEM", { mapFd: 987654, key: new Uint8Array(4), value: new Uint8Array(4) }),
    EBADF,
    "BPF_MAP_LOOKUP_ELEM",
  );
});

Deno.test("bpf(2) errno: EINVAL for a map with zero-size key", () => {
  expectErrno(
    () => bpf("MAP_CREATE", { mapType: 1, keySize: 0, valueSize: 8, maxEntries: 1 }),
    EINVAL,
    "BPF_MAP_CREATE",
  );
});

Deno.test("bpf(2) errno: ENOENT for an absent map id and for an absent key", () => {
  expectErrno(() => bpf("MAP_GET_FD_BY_ID", { id: 0x7ffffff0 }), ENOENT, "BPF_MAP_GET_FD_BY_ID");
  using fd = new FD(bpf("MAP_CREATE", { mapType: 1, keySize: 4, valueSize: 8, maxEntries: 4 }));
  expectErrno(
    () =>
      bpf("MAP_LOOKUP_ELEM", { mapFd: fd.value, key: new Uint8Array(4), value: new Uint8Array(8) }),
    ENOENT,
  );
});

Deno.test("bpf(2) errno: E2BIG for a non-zero attribute tail the kernel does not know", () => {
  const { buf } = encodeAttr("MAP_CREATE", { mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 });
  const big = new Uint8Array(4096);
  big.set(buf);
  big[4000] = 1;
  assert.equal(bpfRaw(BpfCmd.MAP_CREATE, big, big.length), -E2BIG);
});

Deno.test("errno is read fresh after each call, not left over from before", () => {
  setErrno(EINVAL);
  using fd = new FD(bpf("MAP_CREATE", { mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 }));
  assert.ok(fd.value > 2);
  setErrno(EINVAL);
  expectErrno(() => bpf("MAP_GET_FD_BY_ID", { id: 0x7ffffff1 }), ENOENT);
  setErrno(ENOENT);
  expectErrno(() => bpf("MAP_LOOKUP_ELEM", { mapFd: 999999 }), EBADF);
});

Deno.test("the same errnos come back many times in a row (no clobbering under GC pressure)", () => {
  for (let i = 0; i < 2000; i++) {
    const junk = new Array(100).fill(i).map((x) => ({ x, s: String(x) }));
    const r = bpfRaw(
      BpfCmd.MAP_GET_FD_BY_ID,
      encodeAttr("MAP_GET_FD_BY_ID", { id: 0x7ffffff2 }).buf,
      16,
    );
    assert.equal(r, -ENOENT, `iteration ${i} (${junk.length})`);
  }
});

Deno.test("output fields are written back into the attribute object", () => {
  const attr = { id: 0, nextId: 0 };
  // There is at least one map id on a system with maps; create one to be sure.
  using fd = new FD(bpf("MAP_CREATE", { mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 }));
  bpf("MAP_GET_NEXT_ID", attr);
  assert.ok(attr.nextId > 0, `nextId ${attr.nextId}`);
  assert.ok(fd.value >= 0);
});

Deno.test("FD: close is idempotent, use after close is a typed error, dispose closes", () => {
  const before = openFdCount();
  const fd = new FD(bpf("MAP_CREATE", { mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 }));
  assert.equal(openFdCount(), before + 1);
  fd.close();
  fd.close();
  assert.equal(openFdCount(), before);
  assert.ok(fd.closed);
  assert.throws(() => fd.value, /closed/);
  {
    using _f = new FD(bpf("MAP_CREATE", { mapType: 2, keySize: 4, valueSize: 4, maxEntries: 1 }));
    assert.equal(openFdCount(), before + 1);
  }
  assert.equal(openFdCount(), before);
});

Deno.test("PermissionError is a SyscallError naming a capability", () => {
  const e = new PermissionError("bpf", 1, ["CAP_BPF"], { command: "BPF_MAP_CREATE" });
  assert.ok(e instanceof SyscallError);
  assert.equal(e.code, "EPERM");
  assert.match(e.message, /CAP_BPF/);
});

Deno.test("uname gives the running kernel release", () => {
  assert.equal(uname().release, Deno.osRelease());
  assert.equal(uname().sysname, "Linux");
});
