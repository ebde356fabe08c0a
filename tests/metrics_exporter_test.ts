// The declarative exporter: `deno task cli export CONFIG [--port N]` reads
// a JSON or YAML configuration of probes and metrics, serves /metrics, and
// stops cleanly on SIGTERM; the shipped example configurations run.

import assert from "node:assert/strict";
import fc from "fast-check";
import { parseYaml } from "../src/metrics/_yaml.ts";
import { parseExporterConfig, parseProbePoint } from "../src/metrics/exporter.ts";
import { InvalidArgumentError, ParseError } from "@denobpf/ebpf";
import { startExport } from "./exporter_fixtures.ts";

// ---- YAML ----

type Doc = string | number | boolean | null | Doc[] | { [k: string]: Doc };

/** Block-style YAML of `v` at `indent` (strings quoted as JSON, or plain when `plain`). */
function toYaml(v: Doc, indent: number, plain: boolean): string {
  const pad = " ".repeat(indent);
  const scalar = (x: Doc) =>
    typeof x === "string"
      ? (plain && /^[a-z][a-z0-9_.]*$/.test(x) && !["true", "false", "null"].includes(x)
        ? x
        : JSON.stringify(x))
      : String(x);
  if (Array.isArray(v)) {
    if (v.length === 0) return `${pad}[]\n`;
    return v.map((x) => {
      if (x !== null && typeof x === "object") {
        const inner = toYaml(x, indent + 2, plain);
        if (Array.isArray(x) || Object.keys(x).length === 0) return `${pad}-\n${inner}`;
        return `${pad}- ${inner.slice(indent + 2)}`;
      }
      return `${pad}- ${scalar(x)}\n`;
    }).join("");
  }
  if (v !== null && typeof v === "object") {
    const keys = Object.keys(v);
    if (keys.length === 0) return `${pad}{}\n`;
    return keys.map((k) => {
      const x = v[k];
      if (
        x !== null && typeof x === "object" && (Array.isArray(x) ? x.length : Object.keys(x).length)
      ) {
        return `${pad}${k}:\n${toYaml(x, indent + 2, plain)}`;
      }
      if (Array.isArray(x)) return `${pad}${k}: []\n`;
      return `${pad}${k}: ${scalar(x as Doc)}  # comment\n`;
    }).join("");
  }
  return `${pad}${scalar(v)}\n`;
}

const scalarArb = fc.oneof(
  fc.string(),
  fc.stringMatching(/^[a-z][a-z0-9_.]{0,8}$/),
  fc.integer(),
  fc.boolean(),
  fc.constant(null),
);
const { doc } = fc.letrec<{ doc: Doc; node: Doc }>((tie) => ({
  doc: fc.dictionary(fc.stringMatching(/^[a-z][a-zA-Z0-9_]{0,6}$/), tie("node"), {
    minKeys: 1,
    maxKeys: 4,
  }),
  node: fc.oneof(
    { depthSize: "small", withCrossShrink: true },
    scalarArb,
    fc.array(scalarArb, { maxLength: 3 }),
    fc.array(tie("doc"), { minLength: 1, maxLength: 2 }),
    tie("doc"),
  ),
}));

Deno.test("YAML: block mappings and sequences, quoted and plain scalars round-trip (property)", () => {
  fc.assert(
    fc.property(doc, fc.boolean(), (d, plain) => {
      // Empty mappings ({}) are flow syntax, which the subset refuses: leave them out.
      const text = toYaml(d, 0, plain);
      fc.pre(!text.includes("{}"));
      assert.deepEqual(parseYaml(text), d, text);
    }),
    { numRuns: 400 },
  );
});

Deno.test("YAML: flow sequences, comments, quotes, and errors that name the line", () => {
  assert.deepEqual(
    parseYaml("a: [comm, 'it''s', \"x#y\", 3] # keys\nb:\n- 1\n- two\n"),
    { a: ["comm", "it's", "x#y", 3], b: [1, "two"] },
  );
  const fails = (text: string, re: RegExp) =>
    assert.throws(
      () => parseYaml(text),
      (e: unknown) => e instanceof ParseError && re.test(e.message),
    );
  fails("a: 1\na: 2\n", /line 2: key "a" appears twice/);
  fails("a: 1\n   b: 2\n", /line 2: unexpected indentation/);
  fails("a: {b: 1}\n", /line 1: unsupported YAML \(\{\)/);
  fails("a: &x 1\n", /line 1: unsupported YAML \(&\)/);
  fails('a: "open\n', /line 1: bad double-quoted string/);
});

/** A literal block's lines: the first starts with no blank, none is only blanks, none is empty. */
const blockLine = fc.tuple(fc.nat(3), fc.string({ minLength: 1, maxLength: 12 }))
  .filter(([, t]) => !/[\n\r\0]/.test(t) && /^\S/.test(t))
  .map(([n, t]) => " ".repeat(n) + t);

Deno.test("YAML: literal block strings keep their lines as written, #, quotes and tabs included (property)", () => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(blockLine, fc.constant("")), { minLength: 0, maxLength: 6 }),
      fc.string({ minLength: 1, maxLength: 12 }).filter((t) =>
        !/[\n\r\0]/.test(t) && /^\S/.test(t)
      ),
      fc.constantFrom("", "-", "+"),
      fc.nat(2),
      fc.integer({ min: 1, max: 4 }),
      fc.boolean(),
      (middle, first, chomp, trailing, extra, inList) => {
        // Content lines: the first and last have a non-blank character.
        const lines = [first, ...middle, ...(middle.length ? [first] : [])];
        const key = inList ? "- k" : "k";
        const indent = (inList ? 2 : 0) + extra;
        const pad = " ".repeat(indent);
        const text = `${key}: |${chomp}  # header comment\n` +
          lines.map((l) => l === "" ? "" : pad + l).join("\n") + "\n" +
          "\n".repeat(trailing) + (inList ? "  after: 1\n" : "after: 1\n");
        const body = lines.join("\n");
        const want = chomp === "-"
          ? body
          : chomp === "+"
          ? body + "\n".repeat(1 + trailing)
          : body + "\n";
        const doc = inList ? [{ k: want, after: 1 }] : { k: want, after: 1 };
        assert.deepEqual(parseYaml(text), doc, JSON.stringify(text));
      },
    ),
    { numRuns: 400 },
  );
});

Deno.test("YAML: random and mutated texts with block headers parse or throw a ParseError (property)", () => {
  const seed =
    "s:\n  - k: |\n      #x\n       y\n    m: |-\n      z\n  - |+\n    w\n\nt: [a, 'b']\n";
  const piece = fc.constantFrom(
    "|",
    "|-",
    "|+",
    "|2",
    ">",
    ": ",
    "- ",
    "\n",
    "  ",
    "\t",
    "#",
    "'",
    '"',
  );
  const mutated = fc.array(fc.tuple(fc.nat(seed.length), fc.nat(3), piece), { maxLength: 6 })
    .map((edits) =>
      edits.reduce(
        (t, [at, cut, p]) => t.slice(0, at % (t.length + 1)) + p + t.slice(at + cut),
        seed,
      )
    );
  fc.assert(
    fc.property(fc.oneof(mutated, fc.string(), fc.array(piece).map((p) => p.join(""))), (text) => {
      try {
        parseYaml(text);
      } catch (e) {
        if (!(e instanceof ParseError)) throw e;
      }
    }),
    { numRuns: 1000 },
  );
});

Deno.test("YAML: a bpftrace program as a block; block errors name the line", () => {
  assert.deepEqual(
    parseYaml(
      'scripts:\n  - bpftrace: |\n      #include <linux/sched.h>\n      BEGIN { printf("# %d\\n", 1); }\n\n' +
        "      END {\n      \t}\n    metrics: []\n",
    ),
    {
      scripts: [{
        bpftrace: '#include <linux/sched.h>\nBEGIN { printf("# %d\\n", 1); }\n\nEND {\n\t}\n',
        metrics: [],
      }],
    },
  );
  assert.deepEqual(parseYaml("- |\n  a\n   b\n- |-\n  c\n- d\n"), ["a\n b\n", "c", "d"]);
  assert.deepEqual(parseYaml("a: |\nb: 'x: |'\n"), { a: "", b: "x: |" });
  const fails = (text: string, re: RegExp) =>
    assert.throws(
      () => parseYaml(text),
      (e: unknown) => e instanceof ParseError && re.test(e.message),
    );
  fails("a:\n  b: |\n      x\n     y\n", /line 4: a block line indented less than its first line/);
  fails("a: |\n  x\n\ty\n", /line 3: tabs cannot indent YAML/);
  fails("a: >\n  x\n", /line 1: unsupported YAML \(>\)/);
  fails("a: |2\n  x\n", /line 1: unsupported YAML \(\|\)/);
  fails("a: |\n  x\0\n", /line 2: a NUL character/);
});

// ---- configurations ----

Deno.test("exporter config: JSON or YAML, checked field by field, errors naming the file and metric", () => {
  const yaml = parseExporterConfig(
    "metrics:\n  - name: c_total\n    probe: tracepoint:raw_syscalls:sys_enter\n    action: count\n    by: [comm]\n",
  );
  const json = parseExporterConfig(JSON.stringify({
    metrics: [{
      name: "c_total",
      probe: "tracepoint:raw_syscalls:sys_enter",
      action: "count",
      by: ["comm"],
    }],
  }));
  assert.deepEqual(yaml, json);
  const refuses = (text: string, re: RegExp) =>
    assert.throws(
      () => parseExporterConfig(text, "my.yaml"),
      (e: unknown) => e instanceof InvalidArgumentError && re.test(e.message),
    );
  refuses("metrics: []\n", /exporter config my.yaml: needs a non-empty metrics list/);
  refuses(
    "metrics:\n  - name: h\n    probe: tracepoint:a:b\n    action: hist\n",
    /my.yaml: metrics\[0\] \(h\): a hist needs a value expression/,
  );
  refuses(
    "metrics:\n  - name: h\n    probe: tracepoint:a:b\n    action: count\n    bye: comm\n",
    /metrics\[0\] \(h\): unknown field "bye"/,
  );
  refuses("prot: 1\nmetrics: []\n", /unknown field "prot"/);
  assert.throws(
    () => parseExporterConfig("{ nope", "c.json"),
    (e: unknown) => e instanceof ParseError && /c.json/.test(e.message),
  );
  assert.equal(
    parseProbePoint("tracepoint:syscalls:sys_exit_read").probe,
    "tracepoint:syscalls:sys_exit_read",
  );
  assert.equal(parseProbePoint("uprobe:/bin/sh:main").probe, "uprobe:/bin/sh:main");
  assert.throws(
    () => parseProbePoint("tracepoint:sys_enter"),
    (e: unknown) => e instanceof InvalidArgumentError && /tracepoint:CAT:NAME/.test(e.message),
  );
});

// ---- the command ----

Deno.test("cli export: syscalls by process from the example config, then SIGTERM stops it with exit 0", async () => {
  const run = await startExport("examples/exporter/syscalls_by_process.yaml");
  let text = "";
  try {
    // Our own fetches are system calls of a process named deno (or its tokio threads).
    for (let i = 0; i < 20 && !/syscalls_total\{comm="[^"]+"\} [1-9]/.test(text); i++) {
      text = await (await fetch(run.url)).text();
    }
  } finally {
    const end = await run.terminate();
    assert.equal(end.code, 0, end.stderr);
    assert.match(end.stdout, /stopped\n$/);
  }
  assert.match(text, /# TYPE syscalls_total counter\n/);
  assert.match(text, /# TYPE syscall_errors_total counter\n/);
  assert.match(text, /\nsyscalls_total\{comm="[^"]+"\} [1-9]\d*\n/);
});

Deno.test("cli export: read-size histograms from the example config", async () => {
  const run = await startExport("examples/exporter/read_sizes.yaml");
  let text = "";
  try {
    for (let i = 0; i < 20 && !/read_size_linear_bytes_bucket\{comm=/.test(text); i++) {
      await Deno.readTextFile("/etc/os-release");
      text = await (await fetch(run.url)).text();
    }
  } finally {
    const end = await run.terminate();
    assert.equal(end.code, 0, end.stderr);
  }
  assert.match(text, /# TYPE read_size_bytes histogram\n/);
  assert.match(text, /\nread_size_bytes_bucket\{le="\+Inf"\} [1-9]/);
  assert.match(text, /\nread_size_bytes_count [1-9]/);
  assert.match(text, /\nread_size_linear_bytes_bucket\{comm="[^"]+",le="511"\} \d+\n/);
});

Deno.test("exporter config: root is where the host's file systems are, an absolute path", () => {
  const text = (root: string) =>
    `root: ${root}\nmetrics:\n  - name: n\n    probe: tracepoint:a:b\n    action: count\n`;
  assert.equal(parseExporterConfig(text("/host"), "c.yaml").root, "/host");
  assert.equal(parseExporterConfig(text("/host").replace(/^root.*\n/, "")).root, undefined);
  assert.throws(
    () => parseExporterConfig(text("host"), "c.yaml"),
    (e) =>
      e instanceof InvalidArgumentError && /c\.yaml: root must be an absolute path/.test(e.message),
  );
});
