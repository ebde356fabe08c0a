/**
 * CLI commands about BTF and kernel symbols: `btf dump`, `btf module`,
 * `ksym module`.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { dumpRawChunks } from "../btf/dump.ts";
import { formatBtfAsC } from "../btf/dump_c.ts";
import { parseBtf } from "../btf/spec.ts";
import {
  kernelModuleBtfPath,
  kernelModuleOf,
  loadKernelModuleSpec,
  loadKernelSpec,
} from "../btf/kernel.ts";
import { MAX_BTF_FILE_BYTES } from "../btf/file.ts";
import { readFileAsync } from "../sys/file.ts";
import { parseArgs, stringOption } from "./args.ts";

async function writeAll(chunk: Uint8Array): Promise<void> {
  let off = 0;
  while (off < chunk.length) off += await Deno.stdout.write(chunk.subarray(off));
}

/**
 * `btf dump FILE [--base FILE] [--format raw|c]`: like `bpftool btf dump file …
 * format raw` or `format c` (the C header, e.g. vmlinux.h).
 */
export async function btfDumpCommand(args: string[]): Promise<number> {
  const p = parseArgs(args, ["base", "format"]);
  const file = p.positional[0];
  if (!file) {
    throw new InvalidArgumentError("usage: btf dump FILE [--base FILE] [--format raw|c]");
  }
  const format = stringOption(p, "format") ?? "raw";
  if (format !== "raw" && format !== "c") {
    throw new InvalidArgumentError(`unsupported format ${format}: use --format raw or --format c`);
  }
  const basePath = stringOption(p, "base");
  const read = (path: string) =>
    readFileAsync(path, { maxBytes: MAX_BTF_FILE_BYTES, what: "BTF file" });
  const base = basePath ? parseBtf(await read(basePath)) : undefined;
  const spec = parseBtf(await read(file), base ? { base } : undefined);
  if (format === "c") {
    await writeAll(new TextEncoder().encode(formatBtfAsC(spec)));
    return 0;
  }
  for (const chunk of dumpRawChunks(spec, { chunkSize: 1 << 20 })) await writeAll(chunk);
  return 0;
}

/** `btf module NAME [--root DIR]`: what the loader finds for a module's BTF. */
export function btfModuleCommand(args: string[]): number {
  const p = parseArgs(args, ["root"]);
  const name = p.positional[0];
  if (!name) throw new InvalidArgumentError("usage: btf module NAME [--root DIR]");
  const root = stringOption(p, "root");
  const path = kernelModuleBtfPath(name, { root });
  const t0 = performance.now();
  const spec = loadKernelModuleSpec(name, { root });
  const ms = (performance.now() - t0).toFixed(1);
  if (spec) {
    console.log(`module ${name}: BTF found at ${path}`);
    console.log(
      `  ${spec.typeCount} types of its own (ids ${spec.firstTypeId}..${spec.lastTypeId}) ` +
        `on top of vmlinux's ${spec.firstTypeId - 1}; loaded in ${ms} ms`,
    );
  } else {
    const vmlinux = loadKernelSpec({ root });
    console.log(`module ${name}: no BTF at ${path} (ENOENT)`);
    console.log(
      `  falling back to vmlinux BTF alone (${vmlinux.typeCount} types); ` +
        "module BTF needs Linux 5.11+ with CONFIG_DEBUG_INFO_BTF_MODULES=y",
    );
  }
  return 0;
}

/** `ksym module SYMBOL [--root DIR]`: the module that owns a kernel symbol. */
export function ksymModuleCommand(args: string[]): number {
  const p = parseArgs(args, ["root"]);
  const sym = p.positional[0];
  if (!sym) throw new InvalidArgumentError("usage: ksym module SYMBOL [--root DIR]");
  const root = stringOption(p, "root");
  const module = kernelModuleOf(sym, { root });
  if (module === undefined) {
    console.log(`${sym}: vmlinux`);
    return 0;
  }
  const spec = loadKernelModuleSpec(module, { root });
  const path = kernelModuleBtfPath(module, { root });
  console.log(`${sym}: module ${module}`);
  console.log(
    spec
      ? `  module BTF: ${path} (${spec.typeCount} types)`
      : `  module BTF: ${path} missing; the loader falls back to vmlinux BTF`,
  );
  return 0;
}
