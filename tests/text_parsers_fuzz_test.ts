// Property tests of the text and message parsers that read what the kernel
// or a user hands over: kernel config, tracepoint `format` files, probe
// filter expressions, verifier logs, netlink attributes and CLI arguments.
// Random and mutated input gives a result or a typed denobpf error, never
// another exception, and takes time in proportion to its length.

import assert from "node:assert/strict";
import fc from "fast-check";
import { EbpfError } from "../src/errors.ts";
import { parseKernelConfig } from "../src/collection/kconfig.ts";
import { parseTracepointFormat } from "../src/probe/format.ts";
import { parseFilter } from "../src/probe/filter.ts";
import { summarizeVerifierLog } from "../src/program/verifier_log.ts";
import { parseAttrs } from "../src/link/_netlink.ts";
import { parseArgs } from "../src/cli/args.ts";

/** Runs `f`; a typed denobpf error is an answer too. */
function typed<T>(f: () => T): T | EbpfError {
  try {
    return f();
  } catch (e) {
    if (e instanceof EbpfError) return e;
    throw e;
  }
}

/** Edits of a text: replace, insert or delete a run, duplicate or drop a line. */
const textEdit = fc.tuple(
  fc.constantFrom("replace", "insert", "delete", "dupline", "dropline"),
  fc.nat(),
  fc.nat({ max: 12 }),
  fc.oneof(
    fc.string({ maxLength: 12 }),
    fc.constantFrom(
      "4294967295",
      "99999999999999999999",
      "-1",
      "[",
      "]",
      ";",
      "\n",
      "\0",
      "(",
      ")",
      "&&",
      "||",
      "==",
      "0x",
      "\u00e9",
    ),
  ),
);

function applyEdits(text: string, edits: [string, number, number, string][]): string {
  let t = text;
  for (const [kind, at, n, s] of edits) {
    const pos = t.length === 0 ? 0 : at % (t.length + 1);
    if (kind === "replace") t = t.slice(0, pos) + s + t.slice(pos + n);
    else if (kind === "insert") t = t.slice(0, pos) + s + t.slice(pos);
    else if (kind === "delete") t = t.slice(0, pos) + t.slice(pos + n);
    else {
      const lines = t.split("\n");
      const i = at % lines.length;
      if (kind === "dupline") lines.splice(i, 0, lines[i]);
      else lines.splice(i, 1);
      t = lines.join("\n");
    }
  }
  return t;
}

const CONFIG = `#
# Automatically generated file; DO NOT EDIT.
CONFIG_BPF=y
CONFIG_HZ=250
CONFIG_DEFAULT_HOSTNAME="(none)"
# CONFIG_KPROBES is not set
CONFIG_NR_CPUS=64
`;

Deno.test("parseKernelConfig: mutated and random text gives CONFIG_ keys only", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.array(textEdit, { maxLength: 8 }).map((e) => applyEdits(CONFIG, e)),
        fc.string({ maxLength: 400 }),
      ),
      (text) => {
        const m = parseKernelConfig(text);
        for (const k of m.keys()) assert.match(k, /^CONFIG_[A-Za-z0-9_]+$/);
      },
    ),
    { numRuns: 500 },
  );
  assert.equal(parseKernelConfig(CONFIG).get("CONFIG_KPROBES"), "n");
});

const FORMAT = `name: sched_switch
ID: 372
format:
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;

\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;
\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;
\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;
\tfield:__data_loc char[] name;\toffset:40;\tsize:4;\tsigned:0;
\tfield:const char * filename;\toffset:48;\tsize:8;\tsigned:0;

print fmt: "prev_comm=%s prev_pid=%d", REC->prev_comm, REC->prev_pid
`;

Deno.test("parseTracepointFormat: mutated formats give fields or a ParseError", () => {
  const good = parseTracepointFormat(FORMAT);
  assert.equal(good.name, "sched_switch");
  assert.ok(good.fields.length >= 8);
  fc.assert(
    fc.property(fc.array(textEdit, { minLength: 1, maxLength: 10 }), (edits) => {
      const r = typed(() => parseTracepointFormat(applyEdits(FORMAT, edits)));
      if (r instanceof EbpfError) return;
      for (const f of r.fields) {
        assert.ok(Number.isSafeInteger(f.offset) && f.offset >= 0, JSON.stringify(f));
        assert.ok(Number.isSafeInteger(f.size) && f.size >= 0, JSON.stringify(f));
      }
    }),
    { numRuns: 1000 },
  );
  fc.assert(
    fc.property(fc.string({ maxLength: 300 }), (s) => {
      typed(() => parseTracepointFormat(s));
    }),
    { numRuns: 300 },
  );
});

const FILTERS = [
  "pid == 42",
  'comm == "bash" && pid != 1',
  "(uid >= 1000 || gid == 0) && !(cpu == 3)",
  "args.count > 4096 && args.fd < 3",
  "args.flags & 0x40 || tid >= -1",
];

Deno.test("parseFilter: mutated and random expressions give a predicate or a typed error", () => {
  for (const f of FILTERS) assert.ok(!(typed(() => parseFilter(f)) instanceof EbpfError), f);
  const tokens = fc.constantFrom(
    "pid",
    "comm",
    "args.x",
    "42",
    "0x1f",
    '"s"',
    "==",
    "!=",
    "<",
    ">=",
    "&&",
    "||",
    "!",
    "(",
    ")",
    " ",
    "%",
    "-",
    "~",
    "\\",
    '"',
  );
  fc.assert(
    fc.property(
      fc.oneof(
        fc.array(tokens, { maxLength: 40 }).map((a) => a.join(" ")),
        fc.tuple(fc.constantFrom(...FILTERS), fc.array(textEdit, { minLength: 1, maxLength: 6 }))
          .map(([f, e]) => applyEdits(f, e)),
        fc.string({ maxLength: 80 }),
      ),
      (text) => {
        typed(() => parseFilter(text));
      },
    ),
    { numRuns: 1500 },
  );
  // Deep nesting is refused or parsed (a typed error, no stack overflow).
  // Exponential backtracking would hang here; no clock is asserted (no timed
  // tests: a loaded machine can pass any bound).
  typed(() => parseFilter("(".repeat(5000) + "pid == 1" + ")".repeat(5000)));
  typed(() => parseFilter("!".repeat(20000) + "pid"));
  typed(() => parseFilter(Array(3000).fill("pid == 1").join(" && ")));
});

const LOG = `func#0 @0
0: R1=ctx() R10=fp0
0: (b7) r0 = 0                        ; R0_w=0
1: (95) exit
R0 !read_ok
processed 2 insns (limit 1000000) max_states_per_insn 0 total_states 0 peak_states 0 mark_read 0
`;

Deno.test("summarizeVerifierLog: any text gives a summary", () => {
  fc.assert(
    fc.property(
      fc.oneof(
        fc.array(textEdit, { maxLength: 10 }).map((e) => applyEdits(LOG, e)),
        fc.string({ maxLength: 500 }),
      ),
      (text) => {
        const s = summarizeVerifierLog(text);
        assert.equal(typeof s.text, "string");
      },
    ),
    { numRuns: 800 },
  );
});

Deno.test("parseAttrs: random and mutated netlink attributes stay inside their bytes", () => {
  // IFLA_IFNAME "lo", a nested attribute, and a u32.
  const real = new Uint8Array([
    7,
    0,
    3,
    0,
    0x6c,
    0x6f,
    0,
    0,
    12,
    0,
    0x12,
    0x80,
    8,
    0,
    1,
    0,
    1,
    0,
    0,
    0,
    8,
    0,
    4,
    0,
    0xdc,
    5,
    0,
    0,
  ]);
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 256 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 })), { maxLength: 6 }).map(
          (muts) => {
            const b = real.slice();
            for (const [at, v] of muts) b[at % b.length] = v;
            return b;
          },
        ),
      ),
      (b) => {
        const attrs = parseAttrs(b);
        for (const v of attrs.values()) {
          assert.ok(v.buffer === b.buffer && v.byteOffset + v.byteLength <= b.byteLength);
        }
      },
    ),
    { numRuns: 1000 },
  );
});

Deno.test("parseArgs: any argument list gives positionals and options or a typed error", () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.oneof(
          fc.constantFrom("--root", "--format", "--", "-", "--x=", "--=", "raw", "--base"),
          fc.string({ maxLength: 10 }),
        ),
        { maxLength: 12 },
      ),
      (args) => {
        typed(() => parseArgs(args, ["root", "format", "base"]));
      },
    ),
    { numRuns: 800 },
  );
});
