// Host preparation for the VM runner: Debian packages and the guest kernel.

import { exec, execOk, exists } from "./_exec.ts";
import { copyModules } from "./modules.ts";

/**
 * Debian packages the runner needs on the host; the guest runs the host's
 * binaries, so mkfs.xfs and mdadm are there for the workloads of
 * tests/vm/bpftrace_kprobe_test.ts (xfsdist, mdflush).
 */
export const HOST_PACKAGES = [
  "qemu-system-x86",
  "busybox-static",
  "cpio",
  "kmod",
  "xfsprogs",
  "mdadm",
];

/** Thrown when the VM cannot run at all here; the runner then skips. */
export class VmUnavailable extends Error {
  /** @param reason why QEMU cannot run on this host */
  constructor(reason: string) {
    super(reason);
    this.name = "VmUnavailable";
  }
}

let aptUpdated = false;

async function aptUpdateOnce(log: (s: string) => void): Promise<void> {
  if (aptUpdated) return;
  aptUpdated = true;
  log("vm: apt-get update");
  const r = await exec("apt-get", ["update", "-qq"], {
    env: { DEBIAN_FRONTEND: "noninteractive" },
  });
  if (r.code !== 0) log(`vm: apt-get update failed (${r.code}); trying with the current lists`);
}

async function installed(pkg: string): Promise<boolean> {
  const r = await exec("dpkg-query", ["-W", "-f=${Status}", pkg]);
  return r.code === 0 && r.stdout.trim() === "install ok installed";
}

/**
 * Installs the missing ones of {@linkcode HOST_PACKAGES} with apt-get (running
 * `apt-get update` first, once). Throws {@linkcode VmUnavailable} when they
 * cannot be installed.
 */
export async function ensurePackages(log: (s: string) => void): Promise<void> {
  if ((await exec("dpkg-query", ["--version"])).code !== 0) {
    throw new VmUnavailable("dpkg-query not found: the VM runner needs a Debian-based host");
  }
  const missing: string[] = [];
  for (const p of HOST_PACKAGES) if (!(await installed(p))) missing.push(p);
  if (missing.length === 0) return;
  if (Deno.uid() !== 0) {
    throw new VmUnavailable(`missing packages ${missing.join(" ")} and not root to install them`);
  }
  await aptUpdateOnce(log);
  log(`vm: apt-get install ${missing.join(" ")}`);
  const r = await exec("apt-get", ["install", "-y", "-qq", "--no-install-recommends", ...missing], {
    env: { DEBIAN_FRONTEND: "noninteractive" },
  });
  if (r.code !== 0) {
    const tail = (r.stderr || r.stdout).trim().split("\n").slice(-3).join("; ");
    throw new VmUnavailable(`apt-get install ${missing.join(" ")} failed: ${tail}`);
  }
}

/** An unpacked guest kernel in the cache. */
export interface Kernel {
  /** Kernel release, e.g. `6.1.0-50-amd64`. */
  kver: string;
  /** Root of the unpacked package (holds `boot/` and `lib/modules/`). */
  root: string;
  /** Path of the bzImage. */
  vmlinuz: string;
  /** Debian package file name it came from. */
  deb: string;
}

const KERNEL_PKG = /^linux-image-6\.1\.0-(\d+)-amd64-unsigned$/;
const KERNEL_DEB = /^(linux-image-6\.1\.0-(\d+)-amd64-unsigned)_[^_]+_amd64\.deb$/;

async function cachedDebs(cacheDir: string): Promise<{ file: string; pkg: string; n: number }[]> {
  const out = [];
  for await (const e of Deno.readDir(cacheDir)) {
    const m = KERNEL_DEB.exec(e.name);
    if (e.isFile && m) out.push({ file: e.name, pkg: m[1], n: Number(m[2]) });
  }
  return out.sort((a, b) => b.n - a.n);
}

async function offeredKernel(): Promise<string | undefined> {
  const r = await exec("apt-cache", [
    "search",
    "--names-only",
    "^linux-image-6\\.1\\.0-[0-9]+-amd64-unsigned$",
  ]);
  let best: { pkg: string; n: number } | undefined;
  for (const line of r.stdout.split("\n")) {
    const pkg = line.split(" ")[0];
    const m = KERNEL_PKG.exec(pkg);
    if (m && (!best || Number(m[1]) > best.n)) best = { pkg, n: Number(m[1]) };
  }
  return best?.pkg;
}

/**
 * Returns the guest kernel, downloading Debian's
 * `linux-image-6.1.0-N-amd64-unsigned` (the newest N apt offers, or the
 * package named by `$DENOBPF_VM_KERNEL`) into `cacheDir` with
 * `apt-get download` when no such package is cached yet. Nothing is installed
 * on the host: the package is unpacked with `dpkg-deb -x` into a scratch
 * directory, and only the bzImage, its config and `modules` (with their
 * dependencies) are kept in `cacheDir`, about 10 MB next to the 70 MB `.deb`.
 * Asking for modules not kept yet unpacks the `.deb` again. Throws
 * {@linkcode VmUnavailable} when no kernel package can be had.
 */
export async function ensureKernel(
  cacheDir: string,
  modules: string[],
  log: (s: string) => void,
): Promise<Kernel> {
  await Deno.mkdir(cacheDir, { recursive: true });
  const wanted = Deno.env.get("DENOBPF_VM_KERNEL");
  let deb = (await cachedDebs(cacheDir)).find((d) => !wanted || d.pkg === wanted)?.file;
  if (!deb) {
    let pkg = wanted ?? await offeredKernel();
    if (!pkg) {
      await aptUpdateOnce(log);
      pkg = await offeredKernel();
    }
    if (!pkg) throw new VmUnavailable("apt offers no linux-image-6.1.0-*-amd64-unsigned package");
    log(`vm: apt-get download ${pkg}`);
    let r = await exec("apt-get", ["download", "-qq", pkg], { cwd: cacheDir });
    if (r.code !== 0 && !aptUpdated) {
      await aptUpdateOnce(log);
      r = await exec("apt-get", ["download", "-qq", pkg], { cwd: cacheDir });
    }
    deb = (await cachedDebs(cacheDir)).find((d) => d.pkg === pkg)?.file;
    if (r.code !== 0 || !deb) {
      const tail = (r.stderr || r.stdout).trim().split("\n").slice(-2).join("; ");
      throw new VmUnavailable(`cannot download ${pkg}: ${tail || `apt-get exited with ${r.code}`}`);
    }
  }
  const root = `${cacheDir}/${deb.replace(/\.deb$/, "")}`;
  const keptFile = `${root}/.modules`;
  const kept: string[] = await Deno.readTextFile(keptFile).then(JSON.parse, () => []);
  if (!(await exists(keptFile)) || !modules.every((m) => kept.includes(m))) {
    await unpackTrimmed(`${cacheDir}/${deb}`, root, [...new Set([...kept, ...modules])], log);
  }
  const kver = await kernelRelease(root);
  const vmlinuz = `${root}/boot/vmlinuz-${kver}`;
  if (!(await exists(vmlinuz))) throw new Error(`${vmlinuz} missing from ${deb}`);
  return { kver, root, vmlinuz, deb };
}

async function kernelRelease(root: string): Promise<string> {
  for await (const e of Deno.readDir(`${root}/lib/modules`)) if (e.isDirectory) return e.name;
  throw new Error(`${root}/lib/modules holds no kernel release directory`);
}

async function unpackTrimmed(
  debPath: string,
  root: string,
  modules: string[],
  log: (s: string) => void,
): Promise<void> {
  log(
    `vm: unpacking ${debPath.slice(debPath.lastIndexOf("/") + 1)} (keeping ${modules.join(" ")})`,
  );
  const dir = root.slice(0, root.lastIndexOf("/"));
  const full = await Deno.makeTempDir({ dir, prefix: ".unpack-" });
  const next = `${root}.new`;
  try {
    await execOk("dpkg-deb", ["-x", debPath, full]);
    const kver = await kernelRelease(full);
    // The package ships no modules.dep (its postinst makes it): make it here.
    await execOk("depmod", ["-b", full, kver]);
    await Deno.remove(next, { recursive: true }).catch(() => {});
    await Deno.mkdir(`${next}/boot`, { recursive: true });
    for (const f of [`vmlinuz-${kver}`, `config-${kver}`]) {
      await Deno.copyFile(`${full}/boot/${f}`, `${next}/boot/${f}`);
    }
    await copyModules({ root: full, kver }, next, modules);
    await Deno.writeTextFile(`${next}/.modules`, JSON.stringify(modules));
    await Deno.remove(root, { recursive: true }).catch(() => {});
    await Deno.rename(next, root);
  } finally {
    await Deno.remove(full, { recursive: true });
    await Deno.remove(next, { recursive: true }).catch(() => {});
  }
}
