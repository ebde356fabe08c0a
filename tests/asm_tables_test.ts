// The helper, program type, attach type, map type and link type tables
// against this machine: the UAPI header, the running kernel's own enums
// (vmlinux BTF, dumped by bpftool) and the names `bpftool feature probe`
// prints.

import assert from "node:assert/strict";
import {
  AttachType,
  attachTypeName,
  Helper,
  HELPER_MAX_ID,
  helperId,
  helperName,
  LinkType,
  linkTypeName,
  ProgramType,
  programTypeName,
} from "../src/asm/mod.ts";
import { MapType, mapTypeName } from "../src/map/mod.ts";

function run(cmd: string, args: string[]): string {
  const out = new Deno.Command(cmd, { args, stdout: "piped", stderr: "null" }).outputSync();
  return new TextDecoder().decode(out.stdout);
}

let vmlinuxC: string | undefined;
/** `enum <name>` of the running kernel, as [enumerator, value] pairs. */
function kernelEnum(name: string): [string, number][] {
  vmlinuxC ??= run("bpftool", ["btf", "dump", "file", "/sys/kernel/btf/vmlinux", "format", "c"]);
  const m = new RegExp(`\\nenum ${name} \\{\\n([^}]*)\\};`).exec(vmlinuxC);
  assert.ok(m, `enum ${name} in vmlinux BTF`);
  return [...m[1].matchAll(/\t(\w+) = (\d+),/g)].map((x) => [x[1], Number(x[2])]);
}

function checkAgainstKernel(
  table: Readonly<Record<string, number>>,
  enumName: string,
  prefix: string,
  nameOf: (n: number) => string | undefined,
) {
  // The count at the end is __MAX_BPF_*_TYPE, or MAX_BPF_LINK_TYPE before Linux 6.2.
  const expected = kernelEnum(enumName).filter(([n]) =>
    !/^(__)?MAX_/.test(n) && !n.endsWith("_DEPRECATED")
  );
  const fromKernel = Object.fromEntries(
    expected.map(([n, v]) => [n.slice(prefix.length).toLowerCase(), v]),
  );
  // The table may know values newer than the running kernel, never fewer:
  // up to the kernel's last value, it is the kernel's enum.
  const kernelMax = Math.max(...Object.values(fromKernel));
  const upToKernel = Object.fromEntries(Object.entries(table).filter(([, v]) => v <= kernelMax));
  assert.deepEqual(upToKernel, fromKernel, enumName);
  for (const [n, v] of Object.entries(table)) assert.equal(nameOf(v), n);
  assert.equal(nameOf(Math.max(...Object.values(table)) + 1), undefined);
}

Deno.test("tables: Helper matches the UAPI header's __BPF_FUNC_MAPPER order", () => {
  const header = Deno.readTextFileSync("/usr/include/linux/bpf.h");
  const names = [...header.matchAll(/^\tFN\((\w+)\)/gm)].map((m) => m[1]);
  assert.ok(names.length >= 200, "the header lists the helpers");
  names.forEach((name, id) => {
    assert.equal(Helper[name as keyof typeof Helper], id, name);
    assert.equal(helperName(id), name);
  });
});

Deno.test("tables: Helper matches the running kernel's enum bpf_func_id", () => {
  const e = kernelEnum("bpf_func_id").filter(([n]) => n !== "__BPF_FUNC_MAX_ID");
  const kernelMaxId = kernelEnum("bpf_func_id").find(([n]) => n === "__BPF_FUNC_MAX_ID")![1];
  // The table may know helpers newer than the running kernel, never fewer:
  // the kernel's helpers are its first entries.
  assert.deepEqual(
    Object.entries(Helper).slice(0, e.length),
    e.map(([n, v]) => [n.slice("BPF_FUNC_".length), v]),
  );
  assert.equal(kernelMaxId, e.length);
  assert.equal(HELPER_MAX_ID, Object.keys(Helper).length);
  assert.ok(HELPER_MAX_ID >= kernelMaxId, `${HELPER_MAX_ID} < ${kernelMaxId}`);
  assert.equal(Helper.cgrp_storage_delete, 211);
  assert.equal(helperId("bpf_map_lookup_elem"), 1);
  assert.equal(helperId("map_lookup_elem"), 1);
  assert.equal(helperId("bpf_nope"), undefined);
  assert.equal(helperId("toString"), undefined);
  assert.equal(helperName(9999), undefined);
});

Deno.test("tables: program, attach, map and link types match the running kernel", () => {
  checkAgainstKernel(ProgramType, "bpf_prog_type", "BPF_PROG_TYPE_", programTypeName);
  checkAgainstKernel(AttachType, "bpf_attach_type", "BPF_", attachTypeName);
  checkAgainstKernel(
    MapType,
    "bpf_map_type",
    "BPF_MAP_TYPE_",
    (n) => /^type \d+$/.test(mapTypeName(n)) ? undefined : mapTypeName(n),
  );
  checkAgainstKernel(LinkType, "bpf_link_type", "BPF_LINK_TYPE_", linkTypeName);
  assert.equal(AttachType.tcx_ingress, 46);
  assert.equal(AttachType.tcx_egress, 47);
  assert.equal(AttachType.trace_uprobe_multi, 48);
  assert.equal(ProgramType.netfilter, 32);
  assert.equal(programTypeName(3), "sched_cls");
});

Deno.test("tables: names agree with bpftool feature probe", () => {
  const probe = run("bpftool", ["feature", "probe"]);
  const progTypes = [...probe.matchAll(/^eBPF program_type (\w+) is/gm)].map((m) => m[1]);
  const mapTypes = [...probe.matchAll(/^eBPF map_type (\w+) is/gm)].map((m) => m[1]);
  const helpers = new Set([...probe.matchAll(/^\t- bpf_(\w+)$/gm)].map((m) => m[1]));
  assert.ok(progTypes.length >= 30 && mapTypes.length >= 30 && helpers.size >= 100);
  // bpftool lists them in enum order, starting after "unspec".
  progTypes.forEach((n, i) => assert.equal(ProgramType[n as keyof typeof ProgramType], i + 1, n));
  mapTypes.forEach((n, i) => assert.equal(MapType[n as keyof typeof MapType], i + 1, n));
  for (const h of helpers) assert.ok(helperId(h) !== undefined, h);
});
