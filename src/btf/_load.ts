// BPF_BTF_LOAD for every loader (map BTF, an object's BTF): the blob is
// loaded without a log first; when the kernel rejects it, again with the
// kernel's BTF log, whose last lines go into the error's hint.

import { bpf, bpfError, bpfTry } from "../sys/bpf.ts";
import { EACCES, EPERM } from "../sys/errno.ts";
import { SyscallError } from "../sys/error.ts";
import { FD } from "../sys/fd.ts";

const LOG_SIZE = 256 * 1024;
const decoder = new TextDecoder();

/**
 * Loads `blob` into the kernel and returns the BTF object's descriptor,
 * named `label` (which also says what was rejected in errors).
 *
 * @throws {PermissionError} on EPERM/EACCES (a log would say no more).
 * @throws {SyscallError} otherwise, with the last lines of the kernel's log.
 */
export function loadBtfObject(blob: Uint8Array, label: string): FD {
  const r = bpfTry("BTF_LOAD", { btf: blob, btfSize: blob.byteLength });
  if (r >= 0) return new FD(r, label);
  if (r === -EPERM || r === -EACCES) throw bpfError("BTF_LOAD", -r);
  const log = new Uint8Array(LOG_SIZE);
  try {
    const fd = bpf("BTF_LOAD", {
      btf: blob,
      btfSize: blob.byteLength,
      btfLogBuf: log,
      btfLogSize: log.byteLength,
      btfLogLevel: 1,
    });
    return new FD(fd, label);
  } catch (e) {
    if (!(e instanceof SyscallError)) throw e;
    const end = log.indexOf(0);
    const text = decoder.decode(log.subarray(0, end < 0 ? log.length : end)).trim();
    throw new SyscallError("bpf", e.errno, {
      command: "BPF_BTF_LOAD",
      hint: `the kernel rejected ${label}` +
        (text ? `: ${text.split("\n").slice(-3).join(" | ")}` : ""),
      cause: e,
    });
  }
}
