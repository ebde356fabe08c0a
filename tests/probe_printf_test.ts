// bpftrace's printf: the format parser (fast-check on built, random and
// mutated formats), argument checks with bpftrace's messages, and the
// printed text, compared with bpftrace itself (a BEGIN block with every
// kind of conversion) and with glibc's snprintf (what bpftrace calls) on
// random conversions and arguments.

import assert from "node:assert/strict";
import fc from "fast-check";
import { InvalidArgumentError, ParseError } from "../src/errors.ts";
import {
  checkPrintfArgs,
  formatBuffer,
  formatPrintf,
  parsePrintfFormat,
} from "../src/probe/printf.ts";
import { bpftraceBegin } from "./_bpftrace_begin.ts";

// ---- against bpftrace ----

const PRINTF_PROGRAM = `BEGIN {
  printf("a%%b %d|\\n", 1); printf("c%%d\\n", 7);
  printf("%d %d %d|\\n", 0xffffffff, 0x100000005, -1);
  printf("%u %x %X %o|%lx %llu %ld|\\n", -1, -1, 255, 8, -1, -1, -1);
  printf("%5d|%-5d|%05d|%.3d|\\n", 42, 42, 42, 42);
  printf("%p %p %10p|\\n", 0, 4096, 255);
  printf("%c%c|\\n", 65, 0x142);
  printf("%hhd %hd %hu %hhx|\\n", 255, 65535, -1, 0x1ff);
  printf("%s|%-6s|%6s|%.2s|\\n", "abc", "abc", "abc", "abc");
  printf("%r|%rx|%rh|\\n", buf("a\\x01z", 3), buf("a\\x01z", 3), buf("a\\x01z", 3));
  printf("%zd %jd %td|\\n", -1, -1, -1);
  printf("100%% %f\\n");
  printf("[%c]|\\n", 0);
  printf("%s|\\n", ksym(0));
  exit();
}`;

// Captured from bpftrace v0.17.0 (used only where bpftrace is not installed).
const PRINTF_CAPTURED = "a%b 1|\n" +
  "c%d\n" +
  "-1 5 -1|\n" +
  "4294967295 ffffffff FF 10|ffffffffffffffff 18446744073709551615 -1|\n" +
  "   42|42   |00042|042|\n" +
  "(nil) 0x1000       0xff|\n" +
  "AB|\n" +
  "-1 -1 65535 ff|\n" +
  "abc|abc   |   abc|ab|\n" +
  "a\\x01z|\\x61\\x01\\x7a|61 01 7a|\n" +
  "-1 -1 -1|\n" +
  "100%% %f\n" +
  "[]|\n" +
  "0|\n" +
  "\n\n";

Deno.test("formatPrintf prints what bpftrace prints, byte for byte: %d of 64-bit values, %%, %p of 0, %c, lengths, widths, %r/%rx/%rh", async () => {
  const b = new Uint8Array([0x61, 1, 0x7a]);
  const mine = formatPrintf("a%%b %d|\n", [1n]) +
    formatPrintf("c%%d\n", [7n]) +
    formatPrintf("%d %d %d|\n", [0xffffffffn, 0x100000005n, -1n]) +
    formatPrintf("%u %x %X %o|%lx %llu %ld|\n", [-1n, -1n, 255n, 8n, -1n, -1n, -1n]) +
    formatPrintf("%5d|%-5d|%05d|%.3d|\n", [42n, 42n, 42n, 42]) +
    formatPrintf("%p %p %10p|\n", [0n, 4096n, 255n]) +
    formatPrintf("%c%c|\n", [65n, 0x142n]) +
    formatPrintf("%hhd %hd %hu %hhx|\n", [255n, 65535n, -1n, 0x1ffn]) +
    formatPrintf("%s|%-6s|%6s|%.2s|\n", ["abc", "abc", "abc", "abc"]) +
    formatPrintf("%r|%rx|%rh|\n", [b, b, b]) +
    formatPrintf("%zd %jd %td|\n", [-1n, -1n, -1n]) +
    formatPrintf("100%% %f\n", []) +
    formatPrintf("[%c]|\n", [0n]) +
    formatPrintf("%s|\n", ["0"]) + // ksym(0), as symbols.ts resolves it
    "\n\n";
  const { text } = await bpftraceBegin(PRINTF_PROGRAM, PRINTF_CAPTURED);
  assert.equal(mine, text);
});

Deno.test("checkPrintfArgs: bpftrace's compile-time messages for argument count and types", async () => {
  assert.throws(
    () => checkPrintfArgs("%s %d\n", ["integer"]),
    (e) =>
      e instanceof InvalidArgumentError &&
      e.message === "printf: Not enough arguments for format string (1 supplied, 2 expected)",
  );
  assert.throws(
    () => checkPrintfArgs("%d\n", [{ kind: "int", size: 8, signed: true }, "string"]),
    /^.*printf: Too many arguments for format string \(2 supplied, 1 expected\)$/,
  );
  const cases: [string, string, string][] = [
    ['printf("%d\\n", "abc")', "%d\n", "string"],
    ['printf("%s\\n", 1)', "%s\n", "integer"],
    ['printf("%r\\n", 1)', "%r\n", "integer"],
    ['printf("%s\\n", buf("ab", 2))', "%s\n", "buffer"],
    ['printf("%d\\n", kstack)', "%d\n", "kstack"],
  ];
  for (const [call, format, type] of cases) {
    let mine = "";
    try {
      checkPrintfArgs(format, [type]);
    } catch (e) {
      mine = (e as Error).message;
    }
    const out = await new Deno.Command("bpftrace", {
      args: ["-e", `BEGIN { ${call}; exit(); }`],
      stdout: "piped",
      stderr: "piped",
    }).output().catch(() => undefined);
    if (out === undefined) continue; // no bpftrace: the messages below still hold
    const err = new TextDecoder().decode(out.stderr);
    const m = /ERROR: (printf: .*)\n/.exec(err);
    assert.ok(m, `bpftrace accepted ${call}: ${err}`);
    assert.equal(mine, m[1], call);
  }
  // Symbols and stacks print with %s, pointers with integer conversions.
  checkPrintfArgs("%s %s %s %d", [{ kind: "ksym" }, { kind: "stack", user: true }, "usym", {
    kind: "ptr",
    space: "kernel",
    to: { kind: "int", size: 4, signed: true },
  }]);
});

Deno.test("parsePrintfFormat: conversions as bpftrace finds them, %% before a conversion, unknown ones named", () => {
  const f = parsePrintfFormat("x %-10s|%05.2llx %rx %%d tail %f %%\n");
  assert.deepEqual(f.conversions.map((c) => c.text), ["%-10s", "%05.2llx", "%rx", "%d"]);
  assert.deepEqual(f.conversions.map((c) => c.kind), ["string", "integer", "buffer", "integer"]);
  const c = f.conversions[1];
  assert.deepEqual([c.conversion, c.left, c.zero, c.width, c.precision], [
    "llx",
    false,
    true,
    5,
    2,
  ]);
  // %%d: the % is taken by %%, so snprintf prints "%d" and never reads the argument.
  assert.equal(f.pieces[3].literal, true);
  assert.equal(f.pieces[3].text, " %d");
  assert.equal(f.pieces[4].text, " tail %f %%\n");
  assert.equal(
    formatPrintf(f, ["a", 255n, new Uint8Array([1]), 9n]),
    "x a         |   ff \\x01 %d tail %f %%\n",
  );
  for (const bad of ["%f %d", "%+d %s", "%*d %d", "%ls %d", "% d %d", "%#x %d", "50% %d"]) {
    assert.throws(
      () => parsePrintfFormat(bad),
      (e) =>
        e instanceof ParseError && e.format === "printf" && /unknown conversion "%/.test(e.message),
      bad,
    );
  }
  assert.throws(() => parsePrintfFormat("%9999999d"), ParseError);
  assert.deepEqual(parsePrintfFormat("").pieces, [{ text: "" }]);
});

// ---- fast-check: built formats, random and mutated strings ----

const LENGTHS = ["", "hh", "h", "l", "ll", "j", "z", "t"];
const conversionArb = fc.record({
  left: fc.boolean(),
  zero: fc.boolean(),
  width: fc.option(fc.integer({ min: 1, max: 40 }), { nil: undefined }),
  precision: fc.option(fc.integer({ min: 0, max: 30 }), { nil: undefined }),
  conv: fc.oneof(
    fc.constantFrom("s", "r", "rx", "rh", "c"),
    fc.tuple(fc.constantFrom(...LENGTHS), fc.constantFrom(..."duoxXp")).map(([l, c]) => l + c),
  ),
}).map((c) => {
  const width = c.width === undefined ? "" : `${c.zero ? "0" : ""}${c.width}`;
  const precision = c.precision === undefined ? "" : `.${c.precision}`;
  return { ...c, text: `%${c.left ? "-" : ""}${width}${precision}${c.conv}` };
});
const literalArb = fc.array(fc.oneof(fc.constantFrom("a", "Z", " ", "\n", "%%", ".", "-", "9")), {
  maxLength: 6,
}).map((a) => a.join(""));

Deno.test("parsePrintfFormat (fast-check): formats built from literals and conversions parse back to them", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(literalArb, conversionArb), { maxLength: 6 }),
      literalArb,
      (parts, tail) => {
        // A literal ending in an odd % run would join the next conversion: keep them apart.
        fc.pre(parts.every(([lit]) => !/%$/.test(lit.replaceAll("%%", ""))));
        const format = parts.map(([l, c]) => l + c.text).join("") + tail;
        const f = parsePrintfFormat(format);
        assert.deepEqual(f.conversions.map((c) => c.text), parts.map(([, c]) => c.text));
        f.conversions.forEach((c, i) => {
          const want = parts[i][1];
          assert.equal(c.conversion, want.conv);
          assert.equal(c.left, want.left);
          assert.equal(c.width, want.width);
          assert.equal(c.precision, want.precision);
          assert.equal(format.slice(c.offset, c.offset + c.text.length), c.text);
        });
        f.pieces.forEach((p, i) => {
          if (i < parts.length) assert.equal(p.text, parts[i][0].replaceAll("%%", "%"));
        });
      },
    ),
    { numRuns: 500 },
  );
});

Deno.test("parsePrintfFormat (fast-check): any string, and mutations of valid formats, parse or throw a ParseError; formatting never throws otherwise", () => {
  const check = (format: string) => {
    let f;
    try {
      f = parsePrintfFormat(format);
    } catch (e) {
      assert.ok(e instanceof ParseError, `${JSON.stringify(format)}: ${e}`);
      return;
    }
    let last = -1;
    for (const c of f.conversions) {
      assert.ok(c.offset > last);
      assert.equal(format.slice(c.offset, c.offset + c.text.length), c.text);
      last = c.offset;
    }
    const args = f.conversions.map((c) =>
      c.kind === "integer" ? -1n : c.kind === "buffer" ? new Uint8Array([0, 65]) : "s"
    );
    assert.equal(typeof formatPrintf(f, args), "string");
  };
  fc.assert(fc.property(fc.string({ maxLength: 40 }), check), { numRuns: 500 });
  fc.assert(
    fc.property(
      fc.array(fc.tuple(literalArb, conversionArb), { minLength: 1, maxLength: 4 }),
      fc.array(
        fc.tuple(
          fc.nat(200),
          fc.constantFrom("%", "-", ".", "0", "l", "h", "x", "r", "*", "+", ""),
        ),
        {
          minLength: 1,
          maxLength: 4,
        },
      ),
      (parts, edits) => {
        let format = parts.map(([l, c]) => l + c.text).join("");
        for (const [at, ch] of edits) {
          const i = at % (format.length + 1);
          format = format.slice(0, i) + ch + format.slice(i + (ch === "" ? 1 : 0));
        }
        check(format);
      },
    ),
    { numRuns: 500 },
  );
});

// ---- against glibc's snprintf, which bpftrace calls with a 64-bit argument ----

const ORACLE_SOURCE = String.raw`
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <stdint.h>
int main(void) {
  static char line[4096], out[8192];
  while (fgets(line, sizeof line, stdin)) {
    line[strcspn(line, "\n")] = 0;
    char *kind = strchr(line, 0x1f); *kind++ = 0;
    char *arg = kind + 1;
    // The format's escapes: \n only.
    char fmt[4096]; size_t j = 0;
    for (size_t i = 0; line[i]; i++) {
      if (line[i] == '\\' && line[i + 1] == 'n') { fmt[j++] = '\n'; i++; } else fmt[j++] = line[i];
    }
    fmt[j] = 0;
    if (*kind == 'i') snprintf(out, sizeof out, fmt, (uint64_t)strtoull(arg, 0, 10));
    else snprintf(out, sizeof out, fmt, arg);
    fputs(out, stdout);
    putchar(0); // never in the output: fputs stops at a NUL (a %c of 0)
  }
  return 0;
}
`;

async function snprintfOracle(): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "denobpf_printf_" });
  await Deno.writeTextFile(`${dir}/o.c`, ORACLE_SOURCE);
  const r = await new Deno.Command("cc", {
    args: ["-O1", "-w", "-o", `${dir}/o`, `${dir}/o.c`],
    stderr: "piped",
  }).output();
  if (!r.success) throw new Error(`cc: ${new TextDecoder().decode(r.stderr)}`);
  return `${dir}/o`;
}

Deno.test("formatPrintf (fast-check): one conversion with its text before it prints what glibc's snprintf prints for bpftrace's 64-bit argument", async () => {
  const oracle = await snprintfOracle();
  const cases = fc.sample(
    fc.tuple(
      literalArb.map((l) => l.replaceAll("\n", "\\n")),
      conversionArb.filter((c) => c.conv[0] !== "r"),
      fc.bigInt({ min: -(1n << 63n), max: (1n << 64n) - 1n }),
      fc.string({ maxLength: 12 }).filter((s) => /^[ -~]*$/.test(s) && !s.includes("\\")),
    ),
    600,
  );
  const input = cases.map(([lit, c, n, s]) =>
    `${lit}${c.text}\x1f${c.conv === "s" ? "s" : "i"}${
      c.conv === "s" ? s : BigInt.asUintN(64, n)
    }\n`
  ).join("");
  const child = new Deno.Command(oracle, { stdin: "piped", stdout: "piped" }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(input));
  await writer.close();
  // Byte by byte (a %c over 0x7f is one byte; formatPrintf gives its Latin-1 character).
  const out = Array.from((await child.output()).stdout, (b) => String.fromCharCode(b)).join("")
    .split("\0");
  cases.forEach(([lit, c, n, s], i) => {
    const format = lit.replaceAll("\\n", "\n") + c.text;
    const mine = formatPrintf(format, [c.conv === "s" ? s : n]);
    assert.equal(mine, out[i], `${JSON.stringify(format)} of ${c.conv === "s" ? s : n}`);
  });
  await Deno.remove(oracle.replace(/\/o$/, ""), { recursive: true });
});

Deno.test("formatBuffer: %r keeps printable ASCII, %rx escapes every byte, %rh is spaced hex", () => {
  fc.assert(fc.property(fc.uint8Array({ maxLength: 32 }), (bytes) => {
    const rx = formatBuffer(bytes, "rx");
    assert.equal(rx, [...bytes].map((b) => `\\x${b.toString(16).padStart(2, "0")}`).join(""));
    assert.equal(
      formatBuffer(bytes, "rh"),
      [...bytes].map((b) => b.toString(16).padStart(2, "0")).join(" "),
    );
    const r = formatBuffer(bytes);
    assert.equal(
      r.replace(/\\x[0-9a-f]{2}/g, "").length,
      [...bytes].filter((b) => b >= 32 && b <= 126).length,
    );
  }));
});

Deno.test("formatPrintf (fast-check): random formats and arguments print what bpftrace prints for them (40 printf calls in one BEGIN block)", async () => {
  const safe = fc.constantFrom("a", "Z", " ", ".", "-", "|", ":", "9", "%%");
  const literal = fc.array(safe, { maxLength: 4 }).map((a) => a.join(""));
  const call = fc.tuple(
    fc.array(fc.tuple(literal, conversionArb.filter((c) => c.conv[0] !== "r")), {
      minLength: 1,
      maxLength: 3,
    }),
    literal,
    fc.array(fc.bigInt({ min: -(1n << 63n), max: (1n << 63n) - 1n }), {
      minLength: 3,
      maxLength: 3,
    }),
    fc.array(fc.stringMatching(/^[a-z .]{0,10}$/), { minLength: 3, maxLength: 3 }),
  ).filter(([parts]) => parts.every(([lit]) => !/%$/.test(lit.replaceAll("%%", ""))));
  const calls = fc.sample(call, { numRuns: 40, seed: Date.now() % 100000 });
  let mine = "";
  const statements = calls.map(([parts, tail, ints, strs]) => {
    const format = parts.map(([l, c]) => l + c.text).join("") + tail + "\n";
    // A %c over 0x7f is one raw byte, not UTF-8 (formatPrintf gives its Latin-1 character).
    const args = parts.map(([, c], i) =>
      c.conv === "s" ? strs[i] : c.conv === "c" ? BigInt.asUintN(7, ints[i]) : ints[i]
    );
    mine += formatPrintf(format, args);
    const source = args.map((a) => (typeof a === "string" ? `"${a}"` : String(a)));
    return `printf("${format.replace("\n", "\\n")}", ${source.join(", ")});`;
  });
  const program = `BEGIN { ${statements.join(" ")} exit(); }`;
  const { text } = await bpftraceBegin(program, mine + "\n\n");
  assert.equal(mine + "\n\n", text, program);
});
