/**
 * denobpf: load and run eBPF programs from Deno, with no native addon and no
 * C toolchain at run time.
 *
 * - `src/sys`: the syscall layer (bpf(2), perf_event_open(2), errno, FDs)
 * - `src/kallsyms`, `src/btf`, `src/elf`: kernel symbols, types and objects
 * - `src/map`, `src/program`: `MapSpec` → `BpfMap`, `ProgramSpec` → `Program`
 * - `src/collection`: clang objects → `CollectionSpec` → `Collection`, with CO-RE
 * - `src/link`, `src/tracefs`, `src/uprobe`: attaching programs
 * - `src/ringbuf`, `src/perf`: reading events from user space
 * - `src/features`: what the running kernel supports
 *
 * @module
 */

export * from "./src/errors.ts";
export * from "./src/sys/mod.ts";
export * from "./src/kallsyms/mod.ts";
export * from "./src/elf/mod.ts";
export * from "./src/btf/mod.ts";
export * from "./src/btf/kernel.ts";
export * from "./src/asm/mod.ts";
export * from "./src/map/mod.ts";
export * from "./src/program/mod.ts";
export * from "./src/collection/mod.ts";
export * from "./src/link/mod.ts";
export * from "./src/tracefs/mod.ts";
export * from "./src/uprobe/mod.ts";
export * from "./src/ringbuf/mod.ts";
export * from "./src/perf/mod.ts";
export * from "./src/features/mod.ts";
export * from "./src/probe/mod.ts";
