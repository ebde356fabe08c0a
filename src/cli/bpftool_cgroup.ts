/**
 * `cgroup tree [ROOT]`: bpftool 7.1's text and `-j`/`-p` output: every
 * cgroup under the cgroup v2 root (pre-order, in the order the file system
 * lists them) that has programs attached, with each program's id, attach
 * type, attach flags and name.
 *
 * @module
 */

import { NotFoundError } from "../errors.ts";
import { type ProgramInfo, readProgramInfo } from "../program/info.ts";
import { AttachType } from "../sys/abi.ts";
import { addressOf, bpfTry } from "../sys/bpf.ts";
import { SyscallError } from "../sys/error.ts";
import type { FD } from "../sys/fd.ts";
import { readDir, readTextFile } from "../sys/file.ts";
import { OpenFlags, openPath } from "../sys/open_path.ts";
import { attachTypeStr, bpftoolArgs, jsonWriter, writeOut } from "./bpftool_common.ts";
import type { JsonWriter } from "./bpftool_json.ts";
import { openById } from "./bpftool_objects.ts";

/** bpftool 7.1 queries the attach types its UAPI header knew: through lsm_cgroup. */
const LAST_ATTACH_TYPE = AttachType.lsm_cgroup;
const BPF_F_ALLOW_OVERRIDE = 1;
const BPF_F_ALLOW_MULTI = 2;

/** The first cgroup2 mount in /proc/mounts, as bpftool's find_cgroup_root. */
export function cgroup2Root(): string {
  for (const line of readTextFile("/proc/mounts").split("\n")) {
    const f = line.split(" ");
    if (f[2] === "cgroup2") {
      return f[1].replace(/\\([0-7]{3})/g, (_, o) => String.fromCharCode(parseInt(o, 8)));
    }
  }
  throw new NotFoundError(
    "cgroup2 mount",
    "no cgroup v2 file system is mounted: mount one (mount -t cgroup2 none /sys/fs/cgroup) " +
      "or give its path: cgroup tree PATH",
  );
}

function query(cg: FD, type: number): { flags: number; ids: number[] } {
  const ids = new Uint32Array(1024);
  const attr = {
    targetFd: cg.value,
    attachType: type,
    queryFlags: 0,
    attachFlags: 0,
    progIds: addressOf(ids),
    progCnt: ids.length,
  };
  const r = bpfTry("PROG_QUERY", attr);
  if (r < 0) return { flags: 0, ids: [] };
  return { flags: attr.attachFlags ?? 0, ids: Array.from(ids.subarray(0, attr.progCnt ?? 0)) };
}

function flagsStr(flags: number): string {
  return flags === BPF_F_ALLOW_MULTI
    ? "multi"
    : flags === BPF_F_ALLOW_OVERRIDE
    ? "override"
    : flags === 0
    ? ""
    : `unknown(${flags.toString(16)})`;
}

function progLine(
  w: JsonWriter | undefined,
  id: number,
  type: number,
  flags: string,
  level: number,
) {
  let info: ProgramInfo;
  try {
    using fd = openById("prog", id);
    info = readProgramInfo(fd.value);
  } catch {
    return ""; // gone meanwhile: bpftool skips it too
  }
  const at = attachTypeStr(type);
  if (w) {
    w.startObject();
    w.numberField("id", id);
    if (at) w.stringField("attach_type", at);
    else w.numberField("attach_type", type);
    w.stringField("attach_flags", flags);
    w.stringField("name", info.name);
    // bpftool 7.1 names an lsm_cgroup program's kernel function here; "" for others.
    w.stringField("attach_btf_name", "");
    w.numberField("attach_btf_obj_id", info.attachBtfObjId);
    w.numberField("attach_btf_id", info.attachBtfId);
    w.endObject();
    return "";
  }
  return `${level ? "    " : ""}${String(id).padEnd(8)} ` +
    (at ? at.padEnd(15) : `type ${String(type).padEnd(10)}`) +
    ` ${flags.padEnd(15)} ${info.name.padEnd(15)} ${"".padEnd(15)}\n`;
}

function visit(w: JsonWriter | undefined, path: string, level: number, out: string[]): void {
  let cg: FD;
  try {
    cg = openPath(path, OpenFlags.RDONLY | OpenFlags.DIRECTORY, { label: `cgroup ${path}` });
  } catch (e) {
    if (e instanceof SyscallError) return;
    throw e;
  }
  try {
    const found: { type: number; flags: number; ids: number[] }[] = [];
    for (let type = 0; type <= LAST_ATTACH_TYPE; type++) {
      const q = query(cg, type);
      if (q.ids.length) found.push({ type, ...q });
    }
    if (found.length) {
      if (w) {
        w.startObject();
        w.stringField("cgroup", path);
        w.name("programs");
        w.startArray();
      } else out.push(`${path}\n`);
      for (const f of found) {
        for (const id of f.ids) out.push(progLine(w, id, f.type, flagsStr(f.flags), level));
      }
      if (w) {
        w.endArray();
        w.endObject();
      }
    }
  } finally {
    cg.close();
  }
  let children;
  try {
    children = readDir(path);
  } catch {
    return;
  }
  for (const e of children) {
    if (e.kind === "directory") visit(w, `${path}/${e.name}`, level + 1, out);
  }
}

/** `cgroup tree [ROOT] [-j|-p]`. */
export function cgroupTreeCommand(args: string[]): number {
  const opts = bpftoolArgs(args);
  const root = opts.words[0] ?? cgroup2Root();
  const w = opts.json ? jsonWriter(opts) : undefined;
  const out: string[] = [];
  if (w) w.startArray();
  else {
    out.push(
      "CgroupPath\n" +
        `${"ID".padEnd(8)} ${"AttachType".padEnd(15)} ${"AttachFlags".padEnd(15)} ` +
        `${"Name".padEnd(15)}\n`,
    );
  }
  visit(w, root, 0, out);
  if (w) {
    w.endArray();
    writeOut(w.text());
  } else writeOut(out.join(""));
  return 0;
}
