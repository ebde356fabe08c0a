// Internals shared by the attach functions: what a "program" argument may
// be, reading its type, BPF_LINK_CREATE with errors that name the feature,
// and interface names.

import { InvalidArgumentError, NotSupportedError } from "../errors.ts";
import { programTypeName } from "../asm/types.ts";
import { readProgramType } from "../program/info.ts";
import { bpfError, bpfTry, cString, type LinkCreateAttr } from "../sys/bpf.ts";
import { EINVAL, ENOTSUPP, EOPNOTSUPP } from "../sys/errno.ts";
import { libc } from "../sys/_libc.ts";
import { FD } from "../sys/fd.ts";
import { descriptorOf, type FdSource, type ProgramHints } from "../sys/fd_source.ts";

export type { FdSource, ProgramHints };

/** The descriptor number of a program argument (`fdOf` naming a program in its error). */
export function programFd(p: FdSource): number {
  return descriptorOf(p, "program");
}

/** A number-valued property of an object argument, if it has one. */
function numberProp(p: FdSource, key: "type" | "attachType"): number | undefined {
  if (p === null || typeof p !== "object" || p instanceof FD) return undefined;
  const v = (p as Record<string, unknown>)[key];
  return typeof v === "number" ? v : undefined;
}

/** The program type number: the object's `type`, or read from the kernel. */
export function programType(p: FdSource): number {
  return numberProp(p, "type") ?? readProgramType(programFd(p)).type;
}

/** The `attachType` the program was loaded with, when the object says. */
export function programAttachType(p: FdSource): number | undefined {
  return numberProp(p, "attachType");
}

/** Throws InvalidArgumentError unless the program's type is one of `allowed`. */
export function expectProgramType(
  p: FdSource,
  allowed: readonly number[],
  what: string,
): number {
  const type = programType(p);
  if (!allowed.includes(type)) {
    const names = allowed.map((t) => programTypeName(t) ?? `type ${t}`).join(" or ");
    throw new InvalidArgumentError(
      `${what} needs a program of type ${names}; this one is ${
        programTypeName(type) ?? `type ${type}`
      }`,
    );
  }
  return type;
}

/** What a failing BPF_LINK_CREATE means: the feature and what brings it. */
export interface LinkFeature {
  /** E.g. `"tcx links"`. */
  feature: string;
  /** E.g. `"Linux 6.6"`. */
  requirement: string;
  /** Words for EINVAL, which usually means a wrong program type or target. */
  invalidHint?: string;
}

/**
 * BPF_LINK_CREATE; returns the new link's descriptor number or the negated
 * errno (so callers can fall back), never throws.
 */
export function linkCreateTry(attr: LinkCreateAttr): number {
  return bpfTry("LINK_CREATE", attr);
}

/** The typed error for a failed BPF_LINK_CREATE. */
export function linkCreateError(err: number, f: LinkFeature): Error {
  if (err === EOPNOTSUPP || err === ENOTSUPP) {
    return new NotSupportedError(f.feature, f.requirement, {
      detail: "BPF_LINK_CREATE answered EOPNOTSUPP: this kernel was built without it",
    });
  }
  if (err === EINVAL && f.invalidHint) {
    return bpfError("LINK_CREATE", err, { hint: f.invalidHint });
  }
  return bpfError("LINK_CREATE", err, {
    hint: `creating ${f.feature}`,
    capabilities: ["CAP_BPF", "CAP_PERFMON or CAP_NET_ADMIN"],
  });
}

/** BPF_LINK_CREATE that throws the typed error; returns an owned descriptor. */
export function linkCreate(attr: LinkCreateAttr, f: LinkFeature, label: string): FD {
  const r = linkCreateTry(attr);
  if (r < 0) throw linkCreateError(-r, f);
  return new FD(r, label);
}

/** A target network interface: its index or its name. */
export interface InterfaceTarget {
  /** The interface index. */
  ifindex?: number;
  /** The interface name, e.g. `"eth0"` (looked up in the caller's network namespace). */
  interface?: string;
}

/** The index of an interface given by index or name; InvalidArgumentError if it does not exist. */
export function interfaceIndex(t: InterfaceTarget, what: string): number {
  if (t.ifindex !== undefined) {
    if (!Number.isInteger(t.ifindex) || t.ifindex <= 0) {
      throw new InvalidArgumentError(`${what}: invalid ifindex ${t.ifindex}`);
    }
    return t.ifindex;
  }
  if (t.interface === undefined) {
    throw new InvalidArgumentError(`${what}: give ifindex or interface`);
  }
  const idx = libc().if_nametoindex(cString(t.interface));
  if (idx === 0) {
    throw new InvalidArgumentError(
      `${what}: no network interface ${JSON.stringify(t.interface)} in this network namespace ` +
        "(see `ip link`)",
    );
  }
  return idx;
}

/** A u64 array buffer from numbers or bigints. */
export function u64Array(values: readonly (number | bigint)[]): BigUint64Array {
  return BigUint64Array.from(values, (v) => BigInt.asUintN(64, BigInt(v)));
}
