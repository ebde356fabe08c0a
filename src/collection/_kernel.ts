// What the collection loader needs from the running kernel, looked up
// lazily and cached for one load: vmlinux and module BTF (under `root`),
// the CO-RE target (or user-supplied kernel types), kallsyms, where an
// attach target lives, and descriptors of the kernel's module BTF objects.

import { NotFoundError } from "../errors.ts";
import {
  defaultBtfCache,
  kernelBtfDir,
  kernelModuleSpecs,
  type KernelTypes,
  loadKernelSpec,
  MissingModuleBtfError,
  resolveKernelTypes,
} from "../btf/kernel.ts";
import { readBtfFile } from "../btf/file.ts";
import { coreLookupNames, CoreTargets } from "../btf/core.ts";
import type { Spec } from "../btf/spec.ts";
import type { Kind } from "../btf/types.ts";
import type { Kallsyms } from "../kallsyms/kallsyms.ts";
import { loadKallsyms } from "../kallsyms/load.ts";
import type { FD } from "../sys/fd.ts";
import { openKernelBtf } from "./_btf.ts";

/** A type found in kernel BTF: its id and the module it belongs to (undefined: vmlinux). */
export interface KernelTypeRef {
  id: number;
  module?: string;
  spec: Spec;
}

export class KernelEnv {
  readonly root?: string;
  readonly kernelTypes?: Spec;
  #core?: CoreTargets;
  #kallsyms?: Kallsyms;
  #targets = new Map<string, KernelTypes | null>();
  #btfFds = new Map<string, FD>();

  constructor(options: { root?: string; kernelTypes?: Spec }) {
    this.root = options.root;
    this.kernelTypes = options.kernelTypes;
  }

  /** The running kernel's vmlinux BTF (under root). */
  vmlinux(names?: readonly string[]): Spec {
    const root = this.root ?? "/";
    if (!defaultBtfCache.getVmlinux(root)) {
      // Map /sys/kernel/btf/vmlinux where the kernel allows it (cheaper than
      // reading 5 MB); loadKernelSpec reports any failure and does the fallbacks.
      // Names wanted right away are found in the same walk as the parse.
      const path = `${kernelBtfDir({ root })}/vmlinux`;
      try {
        defaultBtfCache.setVmlinux(root, readBtfFile(path, { findNames: names }));
      } catch {
        // handled below
      }
    }
    return loadKernelSpec({ root: this.root });
  }

  /** The CO-RE target: user-supplied kernel types, else vmlinux then module BTF. */
  core(): CoreTargets {
    if (!this.#core) {
      const kt = this.kernelTypes;
      this.#core = kt
        ? new CoreTargets(kt, { label: "kernelTypes" })
        : new CoreTargets(() => this.vmlinux(), {
          modules: () => kernelModuleSpecs({ root: this.root }),
        });
    }
    return this.#core;
  }

  kallsyms(): Kallsyms {
    return this.#kallsyms ??= loadKallsyms({ root: this.root, strict: false });
  }

  /**
   * Where the function `target` lives and which BTF describes it; undefined
   * when kallsyms does not list it (or cannot be read).
   */
  targetTypes(target: string): KernelTypes | undefined {
    let t = this.#targets.get(target);
    if (t === undefined) {
      try {
        t = resolveKernelTypes(target, { root: this.root });
      } catch (e) {
        if (!(e instanceof NotFoundError) || e instanceof MissingModuleBtfError) throw e;
        t = null;
      }
      this.#targets.set(target, t);
    }
    return t ?? undefined;
  }

  /**
   * A named type of the running kernel: vmlinux first, then the module that
   * owns `owner` (a kallsyms symbol), then every module with BTF.
   */
  findKernelType(name: string, kind: Kind, owner?: string): KernelTypeRef | undefined {
    const vmlinux = this.vmlinux();
    const ids = vmlinux.ownTypeIdsByName(name, kind);
    if (ids.length > 0) return { id: ids[0], spec: vmlinux };
    if (owner !== undefined) {
      const tt = this.targetTypes(owner);
      if (tt?.moduleSpec && tt.module) {
        const mids = tt.moduleSpec.ownTypeIdsByName(name, kind);
        if (mids.length > 0) return { id: mids[0], module: tt.module, spec: tt.moduleSpec };
      }
    }
    for (const [module, spec] of kernelModuleSpecs({ root: this.root })) {
      const mids = spec.ownTypeIdsByName(name, kind);
      if (mids.length > 0) return { id: mids[0], module, spec };
    }
    return undefined;
  }

  /**
   * Looks up, in one pass each, every name a load will ask for: CO-RE
   * local types in the CO-RE target, and kernel names (attach targets,
   * ksyms, kfuncs) in vmlinux.
   */
  prefetch(coreTypeNames: Iterable<string>, kernelNames: Iterable<string>): void {
    const core = [...coreTypeNames];
    const kernel = [...kernelNames];
    // One walk over vmlinux for every name, when it is parsed here.
    const all = new Set(kernel);
    if (core.length > 0 && !this.kernelTypes) { for (const n of coreLookupNames(core)) all.add(n); }
    if (all.size > 0) this.vmlinux([...all]);
    if (core.length > 0) this.core().prefetch(core);
    if (kernel.length > 0) this.vmlinux().prefetchNames(kernel);
  }

  /** A descriptor of the loaded kernel BTF object of `module` (cached until close). */
  moduleBtfFd(module: string): FD {
    let fd = this.#btfFds.get(module);
    if (!fd || fd.closed) {
      fd = openKernelBtf(module);
      if (!fd) {
        throw new NotFoundError(
          `kernel BTF object ${module}`,
          `the kernel has no loaded BTF object named ${module} (is the module loaded? ` +
            "module BTF comes from /sys/kernel/btf, but a loaded object is needed to attach)",
        );
      }
      this.#btfFds.set(module, fd);
    }
    return fd;
  }

  close(): void {
    for (const fd of this.#btfFds.values()) fd.close();
    this.#btfFds.clear();
  }
}
