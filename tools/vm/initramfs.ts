// Builds the guest's initramfs: static busybox, a few kernel modules and /init.

import { execOk } from "./_exec.ts";
import type { Kernel } from "./host.ts";
import { copyModules } from "./modules.ts";

/** Options for {@linkcode buildInitramfs}. */
export interface InitramfsOptions {
  /** Modules (with their dependencies) to put in `/lib/modules`. */
  modules: string[];
  /** Text of the `/init` script. */
  init: string;
  /** Scratch directory to stage the tree in (left for the caller to remove). */
  stageDir: string;
}

/**
 * Writes an uncompressed newc cpio archive to `out` holding `/bin/busybox`
 * (the host's static busybox), `/init`, and the kernel modules with a
 * `modules.dep` made by `depmod -b`.
 */
export async function buildInitramfs(
  kernel: Kernel,
  out: string,
  options: InitramfsOptions,
): Promise<void> {
  const stage = options.stageDir;
  for (const d of ["bin", "sbin", "usr/bin", "usr/sbin", "proc", "sys", "dev", "tmp", "host"]) {
    await Deno.mkdir(`${stage}/${d}`, { recursive: true });
  }
  await Deno.copyFile("/bin/busybox", `${stage}/bin/busybox`);
  await Deno.chmod(`${stage}/bin/busybox`, 0o755);
  await copyModules(kernel, stage, options.modules);
  await Deno.writeTextFile(`${stage}/init`, options.init, { mode: 0o755 });
  await Deno.chmod(`${stage}/init`, 0o755);
  await execOk("sh", [
    "-c",
    'cd "$1" && find . -print0 | cpio --null -o -H newc --quiet -R 0:0 > "$2"',
    "sh",
    stage,
    out,
  ]);
}
