// Kernel modules: dependency closure and copying a subset into another tree.

import { execOk } from "./_exec.ts";

/** A kernel release's module tree: `<root>/lib/modules/<kver>`. */
export interface ModuleTree {
  /** Root directory (holds `lib/modules/<kver>`). */
  root: string;
  /** Kernel release. */
  kver: string;
}

/**
 * The `.ko` files (absolute paths, dependencies first, no repeats) needed to
 * load `modules`, as `modprobe --show-depends` resolves them in `tree`
 * (which needs a `modules.dep`). Built-in modules are left out.
 */
export async function moduleClosure(tree: ModuleTree, modules: string[]): Promise<string[]> {
  const out: string[] = [];
  for (const m of modules) {
    const text = await execOk("modprobe", ["-d", tree.root, "-S", tree.kver, "--show-depends", m]);
    for (const line of text.split("\n")) {
      const ko = /^insmod (\S+)/.exec(line)?.[1];
      if (ko && !out.includes(ko)) out.push(ko);
    }
  }
  return out;
}

/**
 * Copies `modules` and their dependencies from `from` into the tree rooted at
 * `toRoot` (same relative paths, plus modules.order/builtin/builtin.modinfo)
 * and runs `depmod -b` there.
 */
export async function copyModules(
  from: ModuleTree,
  toRoot: string,
  modules: string[],
): Promise<void> {
  const rel = `/lib/modules/${from.kver}/`;
  const srcDir = `${from.root}${rel}`;
  const dstDir = `${toRoot}${rel}`;
  await Deno.mkdir(dstDir, { recursive: true });
  for (const ko of await moduleClosure(from, modules)) {
    const dest = `${dstDir}${ko.slice(ko.indexOf(rel) + rel.length)}`;
    await Deno.mkdir(dest.slice(0, dest.lastIndexOf("/")), { recursive: true });
    await Deno.copyFile(ko, dest);
  }
  for (const f of ["modules.order", "modules.builtin", "modules.builtin.modinfo"]) {
    await Deno.copyFile(`${srcDir}${f}`, `${dstDir}${f}`);
  }
  await execOk("depmod", ["-b", toRoot, from.kver]);
}
