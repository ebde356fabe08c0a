/**
 * A clang object with CO-RE, end to end. testdata/bpf/core.c reads fields
 * of `task_struct` and `sk_buff` through BPF_CORE_READ and the
 * bpf_core_* builtins, declared with its own trimmed-down structs. The steps:
 *
 * 1. `loadCollection` relocates every access against this kernel's vmlinux
 *    BTF and prints what each relocation became;
 * 2. the program is attached to the `sys_enter` raw tracepoint for a
 *    moment;
 * 3. the `results` global it fills is decoded member by member with the
 *    object's own BTF.
 *
 *     deno run --allow-ffi examples/collection_core.ts
 *
 * @module
 */

import { loadCollection, loadCollectionSpec } from "@denobpf/ebpf/collection";
import { attachRawTracepoint } from "@denobpf/ebpf/link";

const spec = loadCollectionSpec(new URL("../testdata/bpf/core_bpfel.o", import.meta.url));
await using coll = await loadCollection(spec);

console.log("CO-RE relocations of core_task, as applied on this kernel:");
for (const r of coll.coreRelocations.core_task) {
  const value = r.poisoned ? "poisoned (the program checks first)" : String(r.newValue);
  console.log(`  ${r.kindLabel.padEnd(15)} ${r.local.padEnd(58)} → ${value}`);
}

// Attach, let a few system calls happen (this process makes some), detach.
{
  using _link = attachRawTracepoint(coll.programs.core_task, { name: "sys_enter" });
  // Waiting on a timer is system calls too (epoll_wait), and other processes make theirs.
  await new Promise((resolve) => setTimeout(resolve, 20));
}

// Decode `struct core_results results` with the object's BTF.
const bytes = coll.variables.results.bytes();
const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
const types = spec.types!;
const t = types.typeByName("core_results", "struct");
if (t?.kind !== "struct") throw new Error("core_results is not in the object's BTF");
console.log("\nresults, written by the last task the program saw:");
for (const m of t.members) {
  const off = m.bitOffset / 8;
  const mt = types.resolve(m.type);
  let v: string;
  if (mt.kind === "array") {
    const end = bytes.indexOf(0, off);
    v = JSON.stringify(new TextDecoder().decode(bytes.subarray(off, end < 0 ? off + 16 : end)));
  } else if (mt.kind === "int" && mt.size === 8) v = String(dv.getBigUint64(off, true));
  else if (mt.kind === "int" && mt.encoding === "signed") v = String(dv.getInt32(off, true));
  else v = String(dv.getUint32(off, true));
  console.log(`  ${m.name.padEnd(18)} ${v}`);
}
