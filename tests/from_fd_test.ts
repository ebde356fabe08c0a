// mapFromFd, programFromFd and linkFromFd all take ownership of the
// descriptor they are given (as cilium/ebpf's New…FromFD do): no dup, and
// closing the wrapper closes the caller's number. A descriptor of the wrong
// kind is refused with InvalidArgumentError and stays open.

import assert from "node:assert/strict";
import { InvalidArgumentError } from "../src/errors.ts";
import { attachRawTracepoint, linkFromFd } from "../src/link/mod.ts";
import { createMap, mapFromFd } from "../src/map/mod.ts";
import { loadProgram, programFromFd } from "../src/program/mod.ts";
import { bpf } from "../src/sys/bpf.ts";
import { closeRawFd } from "../src/sys/fd.ts";
import { libc } from "../src/sys/_libc.ts";
import { ringBufReader } from "../src/ringbuf/mod.ts";
import { returns } from "./program_fixtures.ts";

const F_GETFD = 1;

function isOpen(fd: number): boolean {
  return libc().fcntl(fd, F_GETFD, 0n) >= 0;
}

function fixtures() {
  const map = createMap({ type: "array", keySize: 4, valueSize: 8, maxEntries: 1 });
  const prog = loadProgram({ type: "raw_tracepoint", instructions: returns(0) });
  const link = attachRawTracepoint(prog, { name: "sys_enter" });
  return {
    map,
    prog,
    link,
    ids: { map: map.info().id, prog: prog.id, link: link.info().id },
    [Symbol.dispose]() {
      link.close();
      prog.close();
      map.close();
    },
  };
}

Deno.test("…FromFd take ownership: same number, closed with the wrapper", () => {
  using f = fixtures();
  const rawMap = bpf("MAP_GET_FD_BY_ID", { id: f.ids.map });
  const rawProg = bpf("PROG_GET_FD_BY_ID", { id: f.ids.prog });
  const rawLink = bpf("LINK_GET_FD_BY_ID", { id: f.ids.link });

  const m = mapFromFd(rawMap);
  assert.equal(m.fd, rawMap, "no dup");
  assert.equal(m.info().id, f.ids.map);
  const p = programFromFd(rawProg);
  assert.equal(p.fd.value, rawProg, "no dup");
  assert.equal(p.id, f.ids.prog);
  assert.equal(p.typeName, "raw_tracepoint");
  const l = linkFromFd(rawLink);
  assert.equal(l.fd.value, rawLink, "no dup");
  assert.equal(l.info().id, f.ids.link);
  assert.equal(l.kind, "raw_tracepoint");

  m.close();
  p.close();
  l.close();
  for (const raw of [rawMap, rawProg, rawLink]) {
    assert.equal(isOpen(raw), false, `descriptor ${raw} closed with its wrapper`);
  }
  // The originals are untouched.
  assert.equal(f.map.info().id, f.ids.map);
  assert.equal(f.prog.info().id, f.ids.prog);
  assert.equal(f.link.info().id, f.ids.link);
});

Deno.test("…FromFd refuse a descriptor of another kind and leave it open", () => {
  using f = fixtures();
  const raws = {
    map: bpf("MAP_GET_FD_BY_ID", { id: f.ids.map }),
    prog: bpf("PROG_GET_FD_BY_ID", { id: f.ids.prog }),
    link: bpf("LINK_GET_FD_BY_ID", { id: f.ids.link }),
  };
  for (
    const [kind, wrap] of [
      ["map", mapFromFd],
      ["prog", programFromFd],
      ["link", linkFromFd],
    ] as const
  ) {
    for (const [otherKind, raw] of Object.entries(raws)) {
      if (otherKind === kind) continue;
      assert.throws(() => wrap(raw), InvalidArgumentError, `${kind}FromFd(${otherKind})`);
      assert.ok(isOpen(raw), `${kind}FromFd(${otherKind}) left the descriptor open`);
    }
    assert.throws(() => wrap(-1), InvalidArgumentError);
    assert.throws(() => wrap(1.5), InvalidArgumentError);
  }
  // After refusing, each descriptor is still what it was and can be wrapped.
  using m = mapFromFd(raws.map);
  using p = programFromFd(raws.prog);
  using l = linkFromFd(raws.link);
  assert.equal(m.info().id, f.ids.map);
  assert.equal(p.id, f.ids.prog);
  assert.equal(l.info().id, f.ids.link);
});

Deno.test("a reader given a raw descriptor borrows it: closing the reader leaves it open", () => {
  using map = createMap({ type: "ringbuf", keySize: 0, valueSize: 0, maxEntries: 1 << 12 });
  const raw = bpf("MAP_GET_FD_BY_ID", { id: map.info().id });
  try {
    const reader = ringBufReader(raw);
    reader.close();
    assert.ok(isOpen(raw), "the caller's descriptor is still open");
  } finally {
    closeRawFd(raw);
  }
});
