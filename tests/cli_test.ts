import assert from "node:assert/strict";

import { CLI, runCli } from "./_cli_helpers.ts";

/**
 * cli.ts on `args`: in this process (the CLI's main) unless the test is
 * about the process's flags or environment, then in `deno run FLAGS`.
 */
async function cli(
  args: string[],
  flags?: string[],
  env: Record<string, string> = {},
): Promise<{ code: number; stdout: string; stderr: string }> {
  if (!flags) {
    const r = await runCli(args);
    return { code: r.code, stdout: r.out, stderr: r.err };
  }
  const out = await new Deno.Command(Deno.execPath(), {
    args: ["run", ...flags, "--no-prompt", CLI, ...args],
    env,
    stdout: "piped",
    stderr: "piped",
  }).output();
  const d = new TextDecoder();
  return { code: out.code, stdout: d.decode(out.stdout), stderr: d.decode(out.stderr) };
}

function oneLine(r: { code: number; stdout: string; stderr: string }, re: RegExp): void {
  assert.equal(r.code, 1, r.stderr);
  assert.equal(r.stdout, "");
  const lines = r.stderr.trimEnd().split("\n");
  assert.equal(lines.length, 1, `one line only, got:\n${r.stderr}`);
  assert.match(lines[0], re);
}

Deno.test("cli: btf dump /dev/zero and /dev/urandom print one line naming the file and exit 1", async () => {
  for (const dev of ["/dev/zero", "/dev/urandom"]) {
    oneLine(
      await cli(["btf", "dump", dev]),
      new RegExp(`^denobpf: BTF file ${dev} is a character device, not a regular file`),
    );
  }
});

Deno.test("cli: btf dump of a FIFO, a 4 GiB sparse file, a directory, a missing path: one line each", async () => {
  const dir = await Deno.makeTempDir({ prefix: "denobpf_cli_" });
  try {
    assert.ok((await new Deno.Command("mkfifo", { args: [`${dir}/fifo`] }).output()).success);
    assert.ok(
      (await new Deno.Command("truncate", { args: ["-s", "4G", `${dir}/big`] }).output()).success,
    );
    oneLine(await cli(["btf", "dump", `${dir}/fifo`]), /^denobpf: BTF file .*fifo is a FIFO/);
    oneLine(await cli(["btf", "dump", `${dir}/big`]), /^denobpf: BTF file .*big is 4\.0 GiB, over/);
    oneLine(await cli(["btf", "dump", dir]), /^denobpf: BTF file .* is a directory/);
    oneLine(
      await cli(["btf", "dump", `${dir}/missing`]),
      /^denobpf: BTF file .*missing does not exist/,
    );
    oneLine(
      await cli(["btf", "dump", "/sys/kernel/btf/vmlinux", "--base", `${dir}/missing`]),
      /^denobpf: BTF file .*missing does not exist/,
    );
    // Only --allow-ffi: the same one line.
    oneLine(
      await cli(["btf", "dump", "/dev/zero"], ["--allow-ffi"]),
      /^denobpf: BTF file \/dev\/zero is a character device/,
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("cli: a file that is not BTF is one line too; DENOBPF_DEBUG=1 adds the stack", async () => {
  const r = await cli(["btf", "dump", "/proc/self/status"]);
  oneLine(r, /^denobpf: btf: /);
  const d = await cli(["btf", "dump", "/proc/self/status"], ["-A"], { DENOBPF_DEBUG: "1" });
  assert.equal(d.code, 1);
  assert.match(d.stderr, /^denobpf: btf: [^\n]*\n[^\n]*ParseError[^\n]*\n\s+at /);
});

Deno.test("cli: btf dump of a real file still works with only --allow-ffi", async () => {
  const r = await cli(["btf", "dump", "/sys/kernel/btf/vmlinux"], ["--allow-ffi"]);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /^\[1\] /);
  assert.match(r.stdout, /STRUCT 'task_struct'/);
});
