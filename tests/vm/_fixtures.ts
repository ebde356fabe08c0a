// Shared helpers of the guest tests (tests/vm/): the guest check, hiding
// module BTF, module BTF objects, the guest kernel's config, and counting
// programs written with the library's assembler.

import {
  type BpfMap,
  createMap,
  type FD,
  loadProgram,
  type Program,
  type ProgramSpec,
} from "../../mod.ts";
import { asm, R0, R1, R10, R2 } from "../../src/asm/mod.ts";
import { defaultBtfCache } from "../../src/btf/mod.ts";
import { objFromId, objIds, objInfo } from "../../src/sys/mod.ts";

/** Set by the guest's /init; the guest kernel has the features these tests need. */
export const IN_VM = Deno.env.get("DENOBPF_VM") === "1";

let announced = false;

/** A test that runs only in the VM runner's guest (ignored elsewhere, with the reason printed). */
export function vmTest(name: string, fn: () => void | Promise<void>): void {
  if (!IN_VM && !announced) {
    announced = true;
    console.log(
      "tests/vm: ignored: this kernel lacks loadable modules, module BTF, kprobes and " +
        "fentry; run them in the guest kernel with `deno run -A tools/vm/run.ts`",
    );
  }
  Deno.test({ name: `vm: ${name}`, ignore: !IN_VM, fn });
}

/** The scenario's module and its functions. */
export const MODULE = "nf_conntrack_netlink";
/** Called once per entry of a conntrack dump; 7 arguments (too many for 6.1's trampolines). */
export const TARGET = "ctnetlink_fill_info";
/** Called for every IPCTNL_MSG_CT_GET; 3 arguments, so fentry/fexit can attach. */
export const GET_TARGET = "ctnetlink_get_conntrack";
export const BTF_DIR = "/sys/kernel/btf";
export const MODULE_BTF = `${BTF_DIR}/${MODULE}`;
export const TRACEFS = "/sys/kernel/tracing";

/** Runs a command; throws with its stderr when it fails. */
export async function run(cmd: string, args: string[]): Promise<string> {
  const out = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
  if (!out.success) {
    const err = new TextDecoder().decode(out.stderr).trim();
    throw new Error(`${cmd} ${args.join(" ")} failed (${out.code}): ${err}`);
  }
  return new TextDecoder().decode(out.stdout);
}

/** Whether `path` exists. */
export function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}

/**
 * Runs `fn` while a tmpfs over /sys/kernel/btf holds only a copy of vmlinux,
 * as on a kernel older than 5.11 or built without module BTF; restores the
 * real directory afterwards. The process-wide BTF cache is cleared on both
 * changes, as its documentation asks after modules come or go (it would
 * otherwise keep serving module BTF parsed before).
 */
export async function withModuleBtfHidden<T>(fn: () => T | Promise<T>): Promise<T> {
  const vmlinux = Deno.readFileSync(`${BTF_DIR}/vmlinux`);
  await run("mount", ["-t", "tmpfs", "-o", "size=64m", "denobpf-btf", BTF_DIR]);
  defaultBtfCache.clear();
  try {
    Deno.writeFileSync(`${BTF_DIR}/vmlinux`, vmlinux);
    return await fn();
  } finally {
    await run("umount", [BTF_DIR]);
    defaultBtfCache.clear();
  }
}

/**
 * Opens the kernel's BTF object of a module (struct bpf_btf_info of
 * linux/bpf.h: name pointer at 16, name_len at 24, kernel_btf at 28).
 */
export function openModuleBtf(module: string): FD {
  const names: string[] = [];
  for (const id of objIds("btf")) {
    const fd = objFromId("btf", id);
    const name = new Uint8Array(64);
    const info = new Uint8Array(32);
    const dv = new DataView(info.buffer);
    dv.setBigUint64(16, BigInt(Deno.UnsafePointer.value(Deno.UnsafePointer.of(name))), true);
    dv.setUint32(24, name.length, true);
    objInfo(fd.value, info);
    const n = new TextDecoder().decode(name.subarray(0, name.indexOf(0)));
    names.push(n);
    if (dv.getUint32(28, true) === 1 && n === module) return fd;
    fd.close();
  }
  throw new Error(`no kernel BTF object named ${module} among ${names.join(" ")}`);
}

/**
 * The guest kernel's build config (`CONFIG_X` → value), from the file the
 * runner names in DENOBPF_VM_KCONFIG (the guest has no /boot of its own).
 */
export function guestKernelConfig(): Map<string, string> {
  const path = Deno.env.get("DENOBPF_VM_KCONFIG");
  if (!path) throw new Error("DENOBPF_VM_KCONFIG is not set: run through tools/vm/run.ts");
  const out = new Map<string, string>();
  for (const line of Deno.readTextFileSync(path).split("\n")) {
    const m = /^(CONFIG_\w+)=(.*)$/.exec(line);
    if (m) out.set(m[1], m[2]);
  }
  return out;
}

/** An array map of `slots` u64 values, read back as bigints. */
export class Slots implements Disposable {
  readonly map: BpfMap;
  constructor(slots = 1, name = "vm_slots") {
    this.map = createMap({ type: "array", keySize: 4, valueSize: 8, maxEntries: slots, name });
  }
  /** The u64 at `index`. */
  get(index = 0): bigint {
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, index, true);
    const v = this.map.lookup(key);
    if (!v) throw new Error(`slot ${index} missing`);
    return new DataView(v.buffer, v.byteOffset, 8).getBigUint64(0, true);
  }
  close(): void {
    this.map.close();
  }
  [Symbol.dispose](): void {
    this.close();
  }
}

/** The calling thread's `bpf_get_current_pid_tgid()` value: tgid << 32 | tid. */
export function currentPidTgid(tid: number): bigint {
  return (BigInt(Deno.pid) << 32n) | BigInt(tid);
}

/** Options of {@linkcode countingProgram}. */
export interface CountingOptions {
  /** Count only when bpf_get_current_pid_tgid() equals this. */
  pidTgid?: bigint;
  /** The program's return value. */
  ret?: number;
}

/**
 * `slots[0] += 1; return ret`, optionally only for one thread. Instructions
 * from the library's assembler; the map is bound by name.
 */
export function countingProgram(
  slots: Slots,
  spec: Omit<ProgramSpec, "instructions" | "maps">,
  options: CountingOptions = {},
): Program {
  const filter = options.pidTgid === undefined ? [] : [
    asm.call("get_current_pid_tgid"),
    asm.lddw(R1, options.pidTgid),
    asm.jne(R0, R1, "out"),
  ];
  return loadProgram({
    ...spec,
    instructions: [
      ...filter,
      asm.stw(R10, -4, 0),
      asm.mov64(R2, R10),
      asm.add64(R2, -4),
      asm.loadMapPtr(R1, "slots"),
      asm.call("map_lookup_elem"),
      asm.jeq(R0, 0, "out"),
      asm.mov64(R1, 1),
      asm.atomicAdd64(R0, 0, R1),
      asm.mov64(R0, options.ret ?? 0).withSymbol("out"),
      asm.exit(),
    ],
    maps: { slots: slots.map },
  });
}
