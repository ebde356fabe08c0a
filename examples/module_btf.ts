/**
 * The behaviour denobpf was born from, shown on the running kernel: for each
 * kernel function, which module owns it (from /proc/kallsyms), whether that
 * module publishes BTF (/sys/kernel/btf/<module>), and what a CO-RE loader
 * falls back to when it does not.
 *
 *   deno run --allow-ffi examples/module_btf.ts [FUNCTION ...] [--root DIR]
 *
 * @module
 */

import {
  BtfCache,
  kernelModuleSpecs,
  loadKernelSpec,
  NotFoundError,
  resolveKernelTypes,
} from "@denobpf/ebpf";
import { kernelBtfDir } from "@denobpf/ebpf/btf";
import { uname } from "@denobpf/ebpf/unstable-sys";

const args = [...Deno.args];
let root: string | undefined;
const r = args.indexOf("--root");
if (r >= 0) {
  root = args[r + 1];
  args.splice(r, 2);
}
const functions = args.length
  ? args
  : ["__do_sys_getpid", "tcp_v4_connect", "vfs_read", "ctnetlink_fill_info"];

const cache = new BtfCache();
const t0 = performance.now();
const vmlinux = loadKernelSpec({ root, cache });
const parseMs = performance.now() - t0;
const t1 = performance.now();
const task = vmlinux.typeByName("task_struct", "struct");
const findMs = performance.now() - t1;

console.log(`kernel ${uname().release}`);
console.log(
  `vmlinux BTF: ${vmlinux.typeCount} types, parsed in ${parseMs.toFixed(1)} ms; ` +
    `task_struct is type ${task?.id} (found in ${findMs.toFixed(2)} ms)`,
);
const modules = kernelModuleSpecs({ root, cache }).names;
console.log(
  `module BTF files in ${kernelBtfDir({ root })}: ${
    modules.length ? modules.length : "none (no loadable modules, or a kernel before 5.11)"
  }`,
);
console.log("");

for (const fn of functions) {
  try {
    const kt = resolveKernelTypes(fn, { root, cache });
    console.log(`${fn}`);
    console.log(`  module:     ${kt.module ?? "vmlinux"}`);
    if (kt.module !== undefined) {
      console.log(
        `  module BTF: ${
          kt.moduleSpec
            ? `yes (${kt.moduleSpec.typeCount} types of its own)`
            : `no — ${kt.missingModuleBtf?.path} does not exist`
        }`,
      );
    }
    console.log(`  loader:     ${kt.describe()}`);
    if (kt.missingModuleBtf) {
      console.log(`  if a CO-RE relocation needs a type only the module has, loading fails with:`);
      console.log(`    ${kt.missingTypeError("<module type>")!.message}`);
    }
  } catch (e) {
    if (!(e instanceof NotFoundError)) throw e;
    console.log(`${fn}`);
    console.log(
      `  not in /proc/kallsyms: its module is not loaded here (or this kernel lacks it).`,
    );
    console.log(
      `  On a kernel with the module loaded, kallsyms names the module in its [module] column;`,
    );
    console.log(
      `  if /sys/kernel/btf/<module> is missing (Linux < 5.11 or CONFIG_DEBUG_INFO_BTF_MODULES off),`,
    );
    console.log(`  denobpf goes on with vmlinux BTF alone.`);
  }
  console.log("");
}
