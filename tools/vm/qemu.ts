// Boots the guest under QEMU (TCG), streams its console and enforces a timeout.

/** A host directory handed to the guest over virtio-9p. */
export interface VirtfsShare {
  /** Mount tag the guest uses. */
  tag: string;
  /** Host directory. */
  path: string;
  /** Export it read-only. */
  readonly: boolean;
}

/** Options for {@linkcode boot}. */
export interface BootOptions {
  /** QEMU binary, default `qemu-system-x86_64`. */
  qemu?: string;
  /** bzImage path. */
  kernel: string;
  /** initramfs (cpio) path. */
  initrd: string;
  /** Directories to share. */
  shares: VirtfsShare[];
  /** Kill QEMU after this many milliseconds. */
  timeoutMs: number;
  /** Kernel command line. */
  append?: string;
  /** Guest memory (QEMU `-m`), default `2G`. */
  memory?: string;
  /** Guest CPUs, default 2. */
  smp?: number;
  /** Kills QEMU when aborted. */
  signal?: AbortSignal;
  /** Called with every chunk of console output. */
  onOutput?: (chunk: Uint8Array) => void | Promise<void>;
  /** Called with QEMU's process id once it is spawned. */
  onSpawn?: (pid: number) => void;
}

/** How the boot ended. */
export interface BootResult {
  /** QEMU's exit code (undefined when it was killed). */
  code?: number;
  /** Whether the timeout fired. */
  timedOut: boolean;
  /** Wall time from spawning QEMU to its exit, in milliseconds. */
  ms: number;
}

/** QEMU's command line for `options`. */
export function qemuArgs(options: BootOptions): string[] {
  const esc = (s: string) => s.replaceAll(",", ",,");
  const args = [
    "-accel",
    "tcg,thread=multi",
    "-cpu",
    "max",
    "-m",
    options.memory ?? "2G",
    "-smp",
    String(options.smp ?? 2),
    "-nographic",
    "-no-reboot",
    "-nic",
    "none",
    "-kernel",
    options.kernel,
    "-initrd",
    options.initrd,
    "-append",
    options.append ?? "console=ttyS0 panic=-1 quiet",
  ];
  for (const s of options.shares) {
    args.push(
      "-virtfs",
      `local,path=${esc(s.path)},mount_tag=${s.tag},security_model=none,multidevs=remap` +
        (s.readonly ? ",readonly=on" : ""),
    );
  }
  return args;
}

/**
 * Runs `qemu-system-x86_64` until the guest powers off (or the timeout kills
 * it), passing console output to `onOutput`.
 */
export async function boot(options: BootOptions): Promise<BootResult> {
  const start = performance.now();
  const child = new Deno.Command(options.qemu ?? "qemu-system-x86_64", {
    args: qemuArgs(options),
    stdin: "null",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  options.onSpawn?.(child.pid);
  let timedOut = false;
  const kill = () => {
    try {
      child.kill("SIGKILL");
    } catch { /* already gone */ }
  };
  const timer = setTimeout(() => {
    timedOut = true;
    kill();
  }, options.timeoutMs);
  options.signal?.addEventListener("abort", kill);
  const pump = async (stream: ReadableStream<Uint8Array>) => {
    for await (const chunk of stream) await options.onOutput?.(chunk);
  };
  const [status] = await Promise.all([child.status, pump(child.stdout), pump(child.stderr)]);
  clearTimeout(timer);
  options.signal?.removeEventListener("abort", kill);
  return {
    code: status.signal ? undefined : status.code,
    timedOut,
    ms: performance.now() - start,
  };
}
