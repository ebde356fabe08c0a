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
