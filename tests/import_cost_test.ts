// What importing the root entry costs, in terms that do not depend on the
// machine's speed (bench/import_cost.ts has the timings): importing it
// changes nothing in the process (no global is wrapped, no listener
// added), and its modules do no avoidable work when they are evaluated.
// The cases read a fresh `deno run` of a small script (one for them all), so
// that nothing this test process loaded before counts.

import assert from "node:assert/strict";
import { loadedModulesOfEach } from "./_helpers.ts";

const root = new URL("../", import.meta.url);
const MOD = new URL("mod.ts", root).href;

/** Runs `code` as a module in a fresh `deno run --allow-ffi` (as users do); returns its stdout. */
async function runScript(code: string): Promise<string> {
  const dir = await Deno.makeTempDir({ prefix: "denobpf-import-cost-" });
  try {
    const file = `${dir}/script.ts`;
    await Deno.writeTextFile(file, code);
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "--no-config", "--no-prompt", "--allow-ffi", file],
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    const stderr = new TextDecoder().decode(out.stderr);
    assert.ok(out.success, `the script failed:\n${stderr}`);
    return new TextDecoder().decode(out.stdout);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

/**
 * What one fresh process saw while it imported the root (each `deno run`
 * is a Deno start, 5-20 s under the VM stage's TCG, so the cases share it):
 * whether Deno's signal functions are the same objects afterwards, and the
 * calls of Object.defineProperty(ies), fromEntries and entries made meanwhile.
 */
let rootImport: Promise<{ add: boolean; remove: boolean; exports: boolean; counts: object }>;

function importRoot() {
  rootImport ??= runScript(`
    const add = Deno.addSignalListener;
    const remove = Deno.removeSignalListener;
    const counts: Record<string, number> = {};
    const O = Object as unknown as Record<string, (...a: unknown[]) => unknown>;
    const originals: Record<string, (...a: unknown[]) => unknown> = {};
    for (const name of ["defineProperty", "defineProperties", "fromEntries", "entries"]) {
      const f = originals[name] = O[name];
      O[name] = (...a: unknown[]) => {
        counts[name] = (counts[name] ?? 0) + 1;
        return f(...a);
      };
    }
    const m = await import(${JSON.stringify(MOD)});
    Object.assign(O, originals);
    if (!m.createMap) throw new Error("no createMap");
    console.log(JSON.stringify({
      add: add === Deno.addSignalListener,
      remove: remove === Deno.removeSignalListener,
      exports: Object.keys(m).length > 0,
      counts,
    }));
  `).then((out) => JSON.parse(out));
  return rootImport;
}

Deno.test("importing the root leaves Deno's signal functions as they are (wrapped only on first use)", async () => {
  const { add, remove, exports } = await importRoot();
  assert.deepEqual({ add, remove, exports }, { add: true, remove: true, exports: true });
});

Deno.test("importing the root builds no tables: no Object.defineProperty, fromEntries or entries runs", async () => {
  // The C library's lazy symbol getters, the program-info field offsets and
  // such are made on first use; loading the modules only defines them.
  assert.deepEqual((await importRoot()).counts, {}, "calls made while the root was imported");
});

const config = JSON.parse(await Deno.readTextFile(new URL("deno.json", root))) as {
  exports: Record<string, string>;
};
/** The package's entries, relative to the repository. */
const entries = Object.values(config.exports).map((file) => file.replace(/^\.\//, ""));
let entryModules: Promise<string[][]> | undefined;

/** The modules each of {@linkcode entries} loads, from one `deno info` for them all. */
async function loadedBy(entry: string): Promise<string[]> {
  entryModules ??= loadedModulesOfEach(entries);
  const i = entries.indexOf(entry);
  assert.ok(i >= 0, `${entry} is not an entry of deno.json`);
  return (await entryModules)[i];
}

Deno.test("no entry loads another area's entry: modules import the files that define what they use", async () => {
  // An area's mod.ts re-exports the whole area: importing one name through it
  // loads every module of the area (kprobe.ts through tracefs/mod.ts loaded
  // the tracefs barrel, kernel.ts through elf/mod.ts the ELF one, the probe
  // DSL through link/mod.ts every attach function).
  const found: string[] = [];
  for (const entry of entries) {
    for (const m of await loadedBy(entry)) {
      if (m !== entry && /^src\/.*mod\.ts$/.test(m)) found.push(`${entry} loads ${m}`);
    }
  }
  assert.deepEqual(found, []);
});

Deno.test("importing ./map loads only maps, the syscall layer, the errors and BTF framing", async () => {
  const others = (await loadedBy("src/map/mod.ts")).filter((s) =>
    !/^src\/(map|sys)\/|^src\/errors\.ts$|^src\/btf\/(blob|_load)\.ts$/.test(s)
  );
  assert.deepEqual(others, []);
});
