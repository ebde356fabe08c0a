/**
 * denobpf: load and run eBPF programs from Deno, with no native addon and no
 * C toolchain at run time.
 *
 * @module
 */

export * from "./src/errors.ts";
export * from "./src/sys/mod.ts";
export * from "./src/kallsyms/mod.ts";
export * from "./src/btf/mod.ts";
export * from "./src/btf/kernel.ts";
