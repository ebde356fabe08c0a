// The package as JSR gets it (tools/build_package.ts): every `exports` entry
// as JavaScript bundled with code splitting and typed by its TypeScript.
// Checked as a user would meet it: the same names as the sources, one value
// for a name two entries share (one class, so instanceof works across
// entries), errors named after their class (the build minifies names),
// `deno check` through the TypeScript types, and a script that imports the
// package by name running under --allow-ffi alone.

import assert from "node:assert/strict";
import { buildPackage, type BuiltPackage, importMap } from "../tools/build_package.ts";

const root = new URL("../", import.meta.url).pathname.replace(/\/$/, "");

// Fixture: the package, built once from the working tree into a temporary folder.
const tmp = await Deno.makeTempDir({ prefix: "denobpf-package-test-" });
const pkg: BuiltPackage = await buildPackage(root, `${tmp}/pkg`);
globalThis.addEventListener("unload", () => Deno.removeSync(tmp, { recursive: true }));

type Module = Record<string, unknown>;
const js = new Map<string, Module>();
const ts = new Map<string, Module>();
for (const e of pkg.entries) {
  js.set(e.key, await import(`file://${pkg.dir}/${e.js}`));
  ts.set(e.key, await import(`file://${root}/${e.source}`));
}

/** A consumer folder whose import map names the package's entries, as a JSR import would. */
async function consumer(files: Record<string, string>): Promise<string> {
  const dir = await Deno.makeTempDir({ dir: tmp, prefix: "consumer-" });
  await Deno.writeTextFile(`${dir}/deno.json`, JSON.stringify({ imports: importMap(pkg) }));
  for (const [name, text] of Object.entries(files)) {
    await Deno.writeTextFile(`${dir}/${name}`, text);
  }
  return dir;
}

async function deno(args: string[], cwd: string) {
  const o = await new Deno.Command(Deno.execPath(), { args, cwd, stdout: "piped", stderr: "piped" })
    .output();
  const dec = new TextDecoder();
  return { code: o.code, stdout: dec.decode(o.stdout), stderr: dec.decode(o.stderr) };
}

Deno.test("package: every entry exports the names of its TypeScript entry, as JavaScript", () => {
  assert.equal(
    pkg.entries.length,
    Object.keys(JSON.parse(Deno.readTextFileSync(`${root}/deno.json`)).exports).length,
  );
  for (const e of pkg.entries) {
    assert.match(e.js, /^js\/.*\.js$/);
    assert.deepEqual(Object.keys(js.get(e.key)!).sort(), Object.keys(ts.get(e.key)!).sort(), e.key);
    const head = Deno.readTextFileSync(`${pkg.dir}/${e.js}`).split("\n")[0];
    assert.match(
      head,
      /^\/\/ @ts-self-types="(\.\.\/)+.*\.ts"$/,
      `${e.js} is typed by ${e.source}`,
    );
  }
  const config = JSON.parse(Deno.readTextFileSync(`${pkg.dir}/deno.json`));
  assert.deepEqual(
    Object.values(config.exports),
    pkg.entries.map((e) => `./${e.js}`),
  );
});

Deno.test("package: a name two entries export is one value, as in the sources (one class: instanceof works across entries)", () => {
  const owners = new Map<string, string[]>();
  for (const [key, mod] of js) {
    for (const name of Object.keys(mod)) owners.set(name, [...(owners.get(name) ?? []), key]);
  }
  let shared = 0;
  for (const [name, keys] of owners) {
    if (keys.length < 2) continue;
    shared++;
    const first = js.get(keys[0])![name];
    for (const k of keys.slice(1)) {
      // As in the sources: the root's loadCollection, say, is a wrapper that loads the loader.
      if (ts.get(k)![name] !== ts.get(keys[0])![name]) continue;
      assert.equal(js.get(k)![name], first, `${name} of ${k} is ${name} of ${keys[0]}`);
    }
  }
  assert.ok(shared > 10, `${shared} names shared by entries`);
  const root = js.get(".")!;
  const btf = js.get("./btf")!;
  assert.ok(root.NotFoundError && btf.loadKernelSpec);
});

Deno.test("package: errors are named after their class, as in the sources (the build minifies names)", () => {
  let n = 0;
  for (const [key, mod] of js) {
    for (const [name, value] of Object.entries(mod)) {
      if (typeof value !== "function" || !(value.prototype instanceof Error)) continue;
      assert.equal((value.prototype as Error).name, name, `${key} ${name}`);
      n++;
    }
  }
  assert.ok(n >= 30, `${n} error classes`);
  const { InvalidArgumentError } = js.get(".")! as {
    InvalidArgumentError: new (m: string) => Error;
  };
  const e = new InvalidArgumentError("x");
  assert.equal(e.name, "InvalidArgumentError");
  assert.equal(String(e), "InvalidArgumentError: x");
  assert.ok(e instanceof (js.get("./probe")!.InvalidArgumentError as typeof Error));
});

Deno.test("package: its JavaScript entries document themselves through their TypeScript (deno doc --lint)", async () => {
  const r = await deno(["doc", "--lint", ...pkg.entries.map((e) => e.js)], pkg.dir);
  assert.equal(r.code, 0, r.stderr + r.stdout);
  const doc = await deno(["doc", "js/src/map/mod.js"], pkg.dir);
  assert.equal(doc.code, 0, doc.stderr);
  assert.match(doc.stdout, /createMap/);
  assert.match(doc.stdout, /BPF maps/, "the module doc of src/map/mod.ts");
});

Deno.test("package: a script importing it by name is type-checked by its TypeScript and runs under --allow-ffi", async () => {
  const dir = await consumer({
    "hello.ts": 'import { exit, printf, script } from "@denobpf/ebpf/probe";\n' +
      'import { createMap, NotFoundError } from "@denobpf/ebpf";\n' +
      'using m = createMap({ type: "array", keySize: 4, valueSize: 8, maxEntries: 1 });\n' +
      "m.update(new Uint8Array(4), new Uint8Array(8).fill(1));\n" +
      'console.log(m.lookup(new Uint8Array(4))?.[0], new NotFoundError("x").name);\n' +
      "await using _ = await script(({ begin }) =>\n" +
      '  begin(() => {\n    printf("hello world\\n");\n    exit();\n  })\n' +
      ").run();\n",
    "bad.ts": 'import { createMap } from "@denobpf/ebpf";\n' +
      'createMap({ type: "array", keySize: "4" });\n',
  });
  const check = await deno(["check", "hello.ts"], dir);
  assert.equal(check.code, 0, check.stderr);
  const bad = await deno(["check", "bad.ts"], dir);
  assert.notEqual(bad.code, 0, "a type error in a use of the package is found");
  assert.match(bad.stderr, /keySize/);
  const r = await deno(["run", "--allow-ffi", "hello.ts"], dir);
  assert.equal(r.code, 0, r.stderr);
  assert.equal(r.stdout, "1 NotFoundError\nhello world\n\n\n");
  // Only the JavaScript ran: no TypeScript module of the package was loaded.
  const info = await deno(["info", "--json", "hello.ts"], dir);
  const graph = JSON.parse(info.stdout) as { modules: { specifier: string; mediaType: string }[] };
  const loaded = graph.modules.filter((m) => m.specifier.includes("/pkg/js/"));
  assert.ok(loaded.length > 0);
  assert.ok(loaded.every((m) => m.mediaType === "JavaScript"));
});
