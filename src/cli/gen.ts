/**
 * `gen ts OBJECT.o [-o FILE] [--name N] [--embed|--path] [--record T,…]`:
 * typed TypeScript bindings for a BPF object (see `generateBindings`).
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { generateBindings } from "../gen/generate.ts";
import { writeTextFile } from "../sys/file.ts";
import { parseArgs, stringOption } from "./args.ts";

const USAGE = `usage: gen ts OBJECT.o [-o FILE] [--name N] [--embed|--path] [--record T,...]

  OBJECT.o      a BPF object built by clang with -g (its BTF types the bindings)
  -o FILE       write the module to FILE (default: standard output)
  --name N      prefix of the module's type names (default: the object's file name
                without .o and _bpfel/_bpfeb)
  --embed       carry the object in the module as base64 (the default)
  --path        read the object at load time, by its path relative to FILE
  --record T,.. the BTF struct or union names programs send as ring or perf buffer
                records (default: every named struct or union but map definitions
                and what program contexts, CO-RE accesses and externs reach)
  --package P   the package the module imports (default @denobpf/ebpf)`;

/** The directory part of `path` (`"."` when it has none). */
function dirOf(path: string): string {
  const i = path.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : path.slice(0, i);
}

/** `to` relative to directory `from`, both absolute or both relative to the working directory. */
function relativePath(from: string, to: string): string {
  const a = from.split("/").filter((p) => p && p !== ".");
  const b = to.split("/").filter((p) => p && p !== ".");
  let i = 0;
  while (i < a.length && i < b.length && a[i] === b[i]) i++;
  const up = a.slice(i).map(() => "..");
  const rel = [...up, ...b.slice(i)].join("/");
  return up.length ? rel : `./${rel}`;
}

/** Runs `gen ts`; returns the exit code. */
export function genTsCommand(args: string[]): number {
  const parsed = parseArgs(
    args.map((a) => (a === "-o" ? "--out" : a)),
    ["out", "name", "record", "package"],
  );
  if (parsed.options.has("help") || parsed.positional.length !== 1) {
    console.error(USAGE);
    return parsed.options.has("help") ? 0 : 2;
  }
  for (const k of parsed.options.keys()) {
    if (!["out", "name", "record", "package", "embed", "path"].includes(k)) {
      throw new InvalidArgumentError(`gen ts: unknown option --${k} (see gen ts --help)`);
    }
  }
  if (parsed.options.has("embed") && parsed.options.has("path")) {
    throw new InvalidArgumentError("gen ts: give --embed or --path, not both");
  }
  const object = parsed.positional[0];
  const out = stringOption(parsed, "out");
  const byPath = parsed.options.has("path");
  if (byPath && out === undefined && !object.startsWith("/")) {
    throw new InvalidArgumentError(
      "gen ts --path: give -o FILE (the object is found relative to it) or an absolute object path",
    );
  }
  const absolute = object.startsWith("/") || (out ?? "").startsWith("/");
  const cwd = absolute ? Deno.cwd() : "";
  const abs = (p: string) => (p.startsWith("/") || !absolute ? p : `${cwd}/${p}`);
  const records = stringOption(parsed, "record");
  const code = generateBindings(object, {
    name: stringOption(parsed, "name"),
    object: byPath ? "path" : "embed",
    objectPath: byPath && out !== undefined ? relativePath(dirOf(abs(out)), abs(object)) : object,
    records: records === undefined ? undefined : records.split(",").map((r) => r.trim()),
    packageName: stringOption(parsed, "package"),
  });
  if (out === undefined) {
    const bytes = new TextEncoder().encode(code);
    for (let off = 0; off < bytes.length;) off += Deno.stdout.writeSync(bytes.subarray(off));
  } else {
    writeTextFile(out, code, { create: true, what: "generated bindings" });
    console.error(`wrote ${out} (${code.length} bytes)`);
  }
  return 0;
}
