// `denobpf trace`'s argument parser: bpftrace's options in any order around
// the file and its parameters (as bpftrace's getopt takes them: Debian's
// tools are run as `tool.bt -c CMD`), `--` ending the options, and only
// typed errors on random and mutated command lines.

import assert from "node:assert/strict";
import fc from "fast-check";
import { InvalidArgumentError } from "../src/errors.ts";
import { parseTraceArgs } from "../src/cli/trace.ts";

Deno.test("trace args: -c after the file is the command, not a parameter", () => {
  const cmd = "/usr/bin/dd if=/dev/zero of=/dev/null bs=1k count=100";
  const after = parseTraceArgs(["/usr/sbin/vfscount.bt", "-c", cmd]);
  assert.deepEqual(after, parseTraceArgs(["-c", cmd, "/usr/sbin/vfscount.bt"]));
  assert.equal(after.command, cmd);
  assert.equal(after.file, "/usr/sbin/vfscount.bt");
  assert.deepEqual(after.params, []);
  const mixed = parseTraceArgs(["t.bt", "hello", "-q", "42", "--", "-c", "x"]);
  assert.equal(mixed.quiet, true);
  assert.equal(mixed.command, undefined);
  assert.deepEqual(mixed.params, ["hello", "42", "-c", "x"]);
});

const word = fc.stringMatching(/^[a-z0-9./]{1,8}$/);

Deno.test("trace args: options may sit anywhere among the file and parameters (property)", () => {
  fc.assert(
    fc.property(
      word,
      fc.array(word, { maxLength: 4 }),
      word,
      fc.nat({ max: 5 }),
      (file, params, cmd, at) => {
        const words = [file, ...params];
        const k = Math.min(at, words.length);
        const moved = [...words.slice(0, k), "-q", "-c", cmd, ...words.slice(k)];
        assert.deepEqual(parseTraceArgs(moved), parseTraceArgs(["-q", "-c", cmd, ...words]));
      },
    ),
  );
});

Deno.test("trace args: random and mutated command lines parse or fail with InvalidArgumentError (property)", () => {
  const token = fc.oneof(
    word,
    fc.constantFrom("-e", "-c", "-p", "-p12", "-l", "-v", "-q", "-lv", "--", "-", "-x", "-o"),
    fc.string({ maxLength: 6 }),
  );
  fc.assert(
    fc.property(fc.array(token, { maxLength: 8 }), (args) => {
      try {
        const r = parseTraceArgs(args);
        assert.ok(r.list || r.program !== undefined || r.file !== undefined);
      } catch (e) {
        assert.ok(e instanceof InvalidArgumentError, String(e));
      }
    }),
  );
});
