// Run by tests/allow_ffi_test.ts with no permission at all
// (`deno run --no-prompt tests/allow_ffi_none_child.ts`): each public
// family's first step prints `<family>: <error name>: <message>`, so the
// test can check that a missing --allow-ffi is reported as such, never as a
// missing mount, file or library.

import { loadKernelSpec } from "@denobpf/ebpf";
import { loadKallsyms } from "@denobpf/ebpf/kallsyms";
import { createMap } from "@denobpf/ebpf/map";
import { probe, tracepoint, uprobe } from "@denobpf/ebpf/probe";
import { findTracefs } from "@denobpf/ebpf/tracefs";

const steps: [string, () => unknown][] = [
  ["kallsyms", () => loadKallsyms()],
  ["kernel BTF", () => loadKernelSpec()],
  ["maps", () => createMap({ type: "array", keySize: 4, valueSize: 4, maxEntries: 1 })],
  ["tracefs", () => findTracefs()],
  ["probe tracepoint", () => probe(tracepoint("syscalls:sys_enter_getpid")).count()],
  ["probe uprobe", () => probe(uprobe("c", "getpid")).count()],
];
for (const [name, step] of steps) {
  try {
    await step();
    console.log(`${name}: no error`);
  } catch (e) {
    const err = e as Error;
    console.log(`${name}: ${err.name}: ${err.message.replaceAll("\n", " ")}`);
  }
}
