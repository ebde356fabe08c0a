import assert from "node:assert/strict";
import fc from "fast-check";
import {
  InvalidArgumentError,
  NotFoundError,
  NotSupportedError,
  ParseError,
} from "../src/errors.ts";
import {
  AmbiguousSymbolError,
  clearKallsymsCache,
  Kallsyms,
  KallsymsParser,
  kallsymsPath,
  type KallsymsSymbol,
  loadKallsyms,
  RestrictedAddressError,
  symbolAddress,
  symbolModules,
  symbolsOf,
} from "../src/kallsyms/mod.ts";

function assertEquals<T>(actual: T, expected: T, msg?: string): void {
  assert.deepStrictEqual(actual, expected, msg);
}

async function assertRejects(
  fn: () => unknown,
  // deno-lint-ignore no-explicit-any
  cls: new (...args: any[]) => Error,
): Promise<void> {
  await assert.rejects(async () => await fn(), cls);
}

// deno-lint-ignore no-explicit-any
function assertThrows(fn: () => unknown, cls?: new (...args: any[]) => Error): void {
  if (cls) assert.throws(fn, cls);
  else assert.throws(fn);
}

const REAL = "/proc/kallsyms";
const realReadable = (() => {
  try {
    Deno.readFileSync(REAL);
    return true;
  } catch {
    return false;
  }
})();
/** Appended to the name of a test that reads the real file, when it is skipped. */
const NO_KALLSYMS = realReadable
  ? ""
  : " (skipped: /proc/kallsyms not readable: kernel built without CONFIG_KALLSYMS)";

// ---------------------------------------------------------------------------
// Reference parser: the documented rules, written as plainly as possible.

const LINE_RE =
  /^([0-9a-fA-F]{1,16}) ([\x21-\x7e]) ([\x21-\x7e]{1,1023})(?:\t\[([\x21-\x5a\x5c\x5e-\x7e]{1,255})\])?$/;

interface RefResult {
  entries: KallsymsSymbol[];
  badLines: number[];
}

function referenceParse(bytes: Uint8Array): RefResult {
  // One char per byte (windows-1252); no non-ASCII char matches LINE_RE.
  const text = new TextDecoder("latin1").decode(bytes);
  const lines = text.split("\n");
  const entries: KallsymsSymbol[] = [];
  const badLines: number[] = [];
  lines.forEach((raw, i) => {
    if (i === lines.length - 1 && raw === "") return; // after the last line feed
    if (raw.length > 2048) {
      badLines.push(i + 1);
      return;
    }
    const line = raw.endsWith("\r") ? raw.slice(0, -1) : raw;
    if (line === "") return;
    const m = LINE_RE.exec(line);
    if (!m) {
      badLines.push(i + 1);
      return;
    }
    const e: KallsymsSymbol = { name: m[3], address: BigInt("0x" + m[1]), type: m[2] };
    if (m[4] !== undefined) e.module = m[4];
    entries.push(e);
  });
  return { entries, badLines };
}

function parseChunks(chunks: Uint8Array[], strict: boolean): Kallsyms {
  const p = new KallsymsParser({ strict });
  for (const c of chunks) p.push(c);
  return p.finish();
}

function splitAt(bytes: Uint8Array, cuts: number[]): Uint8Array[] {
  const pts = [...new Set(cuts.map((c) => c % (bytes.length + 1)))].sort((a, b) => a - b);
  const out: Uint8Array[] = [];
  let prev = 0;
  for (const p of pts) {
    out.push(bytes.subarray(prev, p));
    prev = p;
  }
  out.push(bytes.subarray(prev));
  return out;
}

const enc = new TextEncoder();

// ---------------------------------------------------------------------------
// Fixtures.

const VMLINUX_TEXT = [
  "ffffffff81000000 T _stext",
  "ffffffff81000000 T _text",
  "ffffffff81001000 t do_one_initcall",
  "ffffffff81002000 T __do_sys_getpid",
  "ffffffff81003000 t dup_same",
  "ffffffff81003000 t dup_same",
  "ffffffff81004000 t dup_diff",
  "ffffffff81005000 t dup_diff",
  "ffffffff81006000 T shadowed",
  "ffffffff82000000 D jiffies",
  "ffffffff82001000 b bss_thing",
].join("\n");

const MODULE_TEXT = [
  "ffffffffc0a01230 t ctnetlink_fill_info\t[nf_conntrack_netlink]",
  "ffffffffc0a01400 T ctnetlink_init\t[nf_conntrack_netlink]",
  "ffffffffc0b00000 t shadowed\t[modb]",
  "ffffffffc0b00100 t in_two_modules\t[modb]",
  "ffffffffc0c00000 t in_two_modules\t[modc]",
  "ffffffffc0c00100 t only_modc\t[modc]",
  "ffffffffc0d00000 t same_in_mod\t[modd]",
  "ffffffffc0d00000 t same_in_mod\t[modd]",
].join("\n");

const FIXTURE = VMLINUX_TEXT + "\n" + MODULE_TEXT + "\n";

const ZERO_FIXTURE = [
  "0000000000000000 T _stext",
  "0000000000000000 T _text",
  "0000000000000000 t ctnetlink_fill_info\t[nf_conntrack_netlink]",
].join("\n") + "\n";

async function makeRoot(text: string | Uint8Array): Promise<string> {
  const root = await Deno.makeTempDir({ prefix: "denobpf_kallsyms_" });
  await Deno.mkdir(`${root}/proc`);
  await Deno.writeFile(`${root}/proc/kallsyms`, typeof text === "string" ? enc.encode(text) : text);
  return root;
}

// ---------------------------------------------------------------------------
// Real /proc/kallsyms.

Deno.test({
  name: "kallsyms: real /proc/kallsyms has _stext and __do_sys_getpid in vmlinux" + NO_KALLSYMS,
  ignore: !realReadable,
  async fn() {
    clearKallsymsCache();
    const k = await loadKallsyms();
    assert(k.size > 1000, `only ${k.size} symbols`);
    assert(k.has("_stext"));
    if (k.restricted) {
      await assertRejects(() => symbolAddress("_stext"), RestrictedAddressError);
      return;
    }
    const stext = await symbolAddress("_stext");
    assert(stext !== 0n);
    assertEquals(k.lookup("_stext")?.address, stext);
    assertEquals(k.lookup("_stext")?.module, undefined);
    assert(k.has("__do_sys_getpid"));
    assertEquals(await loadKallsyms().module("__do_sys_getpid"), undefined);
    assertEquals(await symbolModules("__do_sys_getpid"), [undefined]);
    const getpid = k.symbolize(await symbolAddress("__do_sys_getpid") + 1n);
    assertEquals(getpid?.offset, 1n);
    await assertRejects(() => symbolAddress("no_such_symbol_denobpf_x"), NotFoundError);
    await assertRejects(() => loadKallsyms().module("no_such_symbol_denobpf_x"), NotFoundError);
  },
});

Deno.test({
  name: "kallsyms: real file agrees with the reference parser; sync and async agree" + NO_KALLSYMS,
  ignore: !realReadable,
  async fn() {
    const bytes = await Deno.readFile(REAL);
    const ref = referenceParse(bytes);
    assertEquals(ref.badLines, []);
    const t0 = performance.now();
    const k = Kallsyms.fromBytes(bytes);
    const parseMs = performance.now() - t0;
    console.log(`  parse of ${k.size} lines from memory: ${parseMs.toFixed(1)} ms`);
    assertEquals(k.size, ref.entries.length);
    const got = [...k];
    // Compare every 97th entry fully, and all names.
    for (let i = 0; i < got.length; i++) {
      assertEquals(got[i].name, ref.entries[i].name);
      if (i % 97 === 0) assertEquals(got[i], ref.entries[i]);
    }
    clearKallsymsCache();
    const sync = loadKallsyms({ cache: false });
    const asyncK = await loadKallsyms({ cache: false });
    // The file may change between reads (a module or BPF program loaded), so
    // compare the vmlinux part only.
    assertEquals(sync.symbolsOf(undefined).length, asyncK.symbolsOf(undefined).length);
    assertEquals(sync.lookup("_stext"), asyncK.lookup("_stext"));
  },
});

Deno.test({
  name: "kallsyms: uncached whole-file loads agree (times reported)" + NO_KALLSYMS,
  ignore: !realReadable,
  fn() {
    const times: number[] = [];
    const counts: number[] = [];
    for (let i = 0; i < 3; i++) {
      const t = performance.now();
      const k = loadKallsyms({ cache: false });
      times.push(performance.now() - t);
      counts.push(k.symbolsOf(undefined).length);
    }
    console.log(`  read+parse /proc/kallsyms: ${times.map((t) => t.toFixed(0)).join("/")} ms`);
    // The vmlinux part stays put while modules and BPF programs come and go.
    // No time bound is asserted (no timed tests: a loaded machine can pass
    // any bound; speed belongs in bench/).
    assert(counts[0] > 0);
    assertEquals(counts, [counts[0], counts[0], counts[0]]);
  },
});

// ---------------------------------------------------------------------------
// Fixture roots.

Deno.test("kallsyms: fixture root: lookups, modules, duplicates", async () => {
  const root = await makeRoot(FIXTURE);
  try {
    const opts = { root };
    const k = await loadKallsyms(opts);
    assertEquals(k.size, 19);
    assertEquals(k.restricted, false);
    assertEquals(k.moduleNames(), ["nf_conntrack_netlink", "modb", "modc", "modd"]);

    assertEquals(await symbolAddress("_stext", opts), 0xffffffff81000000n);
    assertEquals(k.lookup("jiffies"), {
      name: "jiffies",
      address: 0xffffffff82000000n,
      type: "D",
    });
    assertEquals(k.lookup("ctnetlink_fill_info"), {
      name: "ctnetlink_fill_info",
      address: 0xffffffffc0a01230n,
      type: "t",
      module: "nf_conntrack_netlink",
    });
    assert(!("module" in k.lookup("_text")!));
    assertEquals(k.lookup("absent"), undefined);
    assertEquals(k.lookup(""), undefined);
    assertEquals(k.lookup("has space"), undefined);
    assertEquals(k.lookup("é"), undefined);

    // Same name at the same address: not ambiguous.
    assertEquals(await symbolAddress("dup_same", opts), 0xffffffff81003000n);
    assertEquals(k.lookupAll("dup_same").length, 2);
    assertEquals(await symbolAddress("same_in_mod", opts), 0xffffffffc0d00000n);
    // Same name at different addresses: ambiguous.
    await assertRejects(() => symbolAddress("dup_diff", opts), AmbiguousSymbolError);
    try {
      k.address("dup_diff");
      assert.fail("expected AmbiguousSymbolError");
    } catch (e) {
      assert(e instanceof AmbiguousSymbolError);
      assert(e instanceof InvalidArgumentError);
      assertEquals(e.symbol, "dup_diff");
      assertEquals(e.candidates.map((c) => c.address), [0xffffffff81004000n, 0xffffffff81005000n]);
    }
    // vmlinux + module at different addresses: the address is ambiguous…
    await assertRejects(() => symbolAddress("shadowed", opts), AmbiguousSymbolError);
    // …but the owner resolves to vmlinux, as the kernel does.
    assertEquals(await loadKallsyms(opts).module("shadowed"), undefined);
    assertEquals(await symbolModules("shadowed", opts), [undefined, "modb"]);
    assertEquals(k.lookup("shadowed")?.module, undefined);

    assertEquals(await loadKallsyms(opts).module("ctnetlink_init"), "nf_conntrack_netlink");
    assertEquals(await loadKallsyms(opts).module("only_modc"), "modc");
    assertEquals(await symbolModules("in_two_modules", opts), ["modb", "modc"]);
    await assertRejects(() => loadKallsyms(opts).module("in_two_modules"), AmbiguousSymbolError);
    assertEquals(await symbolModules("same_in_mod", opts), ["modd"]);
    assertEquals(await symbolModules("absent", opts), []);
    await assertRejects(() => loadKallsyms(opts).module("absent"), NotFoundError);
    await assertRejects(() => symbolAddress("absent", opts), NotFoundError);

    assertEquals((await symbolsOf("nf_conntrack_netlink", opts)).map((s) => s.name), [
      "ctnetlink_fill_info",
      "ctnetlink_init",
    ]);
    assertEquals((await symbolsOf("modc", opts)).map((s) => s.name), [
      "in_two_modules",
      "only_modc",
    ]);
    assertEquals((await symbolsOf(undefined, opts)).length, 11);
    assertEquals(await symbolsOf("nope", opts), []);

    // Iteration is in file order.
    assertEquals([...k].map((s) => s.name).slice(0, 3), ["_stext", "_text", "do_one_initcall"]);

    // Symbolization.
    assertEquals(k.symbolize(0xffffffff81000010n)?.symbol.name, "_stext");
    assertEquals(k.symbolize(0xffffffff81000010n)?.offset, 0x10n);
    assertEquals(k.symbolize(0xffffffffc0a01231n)?.symbol.module, "nf_conntrack_netlink");
    assertEquals(k.symbolize(0xffffffff80ffffffn), undefined);
    assertEquals(k.symbolize(0xffffffffffffffffn)?.symbol.name, "same_in_mod");
    assertEquals(k.symbolize(-1n), undefined);
  } finally {
    clearKallsymsCache({ root });
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("kallsyms: all-zero addresses are restricted", async () => {
  const root = await makeRoot(ZERO_FIXTURE);
  try {
    const opts = { root };
    const k = await loadKallsyms(opts);
    assertEquals(k.restricted, true);
    assert(k.has("_stext"));
    assertEquals(k.lookup("_stext")?.address, 0n);
    await assertRejects(() => symbolAddress("_stext", opts), RestrictedAddressError);
    try {
      k.address("_text");
      assert.fail("expected RestrictedAddressError");
    } catch (err) {
      assert(err instanceof RestrictedAddressError);
      assert(err instanceof NotSupportedError);
      assertEquals(err.symbol, "_text");
    }
    // Absent names are still NotFound: the names are visible.
    await assertRejects(() => symbolAddress("absent", opts), NotFoundError);
    // Module ownership does not need addresses.
    assertEquals(await loadKallsyms(opts).module("ctnetlink_fill_info"), "nf_conntrack_netlink");
    assertThrows(() => k.symbolize(1n), RestrictedAddressError);
  } finally {
    clearKallsymsCache({ root });
    await Deno.remove(root, { recursive: true });
  }
});

Deno.test("kallsyms: a few zero addresses alone are not 'restricted'", () => {
  const k = Kallsyms.fromText("0000000000000000 A fixed_percpu_data\nffffffff81000000 T _stext\n");
  assertEquals(k.restricted, false);
  assertEquals(k.address("fixed_percpu_data"), 0n);
  assertEquals(Kallsyms.fromText("").restricted, false);
});

Deno.test("kallsyms: missing file is NotFoundError; paths", async () => {
  const root = await Deno.makeTempDir({ prefix: "denobpf_kallsyms_" });
  try {
    await assertRejects(() => loadKallsyms({ root }), NotFoundError);
    assertThrows(() => loadKallsyms({ root }), NotFoundError);
    // A failed load is not cached.
    await Deno.mkdir(`${root}/proc`);
    await Deno.writeTextFile(`${root}/proc/kallsyms`, FIXTURE);
    assertEquals((await loadKallsyms({ root })).size, 19);
  } finally {
    clearKallsymsCache({ root });
    await Deno.remove(root, { recursive: true });
  }
  assertEquals(kallsymsPath(), "/proc/kallsyms");
  assertEquals(kallsymsPath({ root: "/" }), "/proc/kallsyms");
  assertEquals(kallsymsPath({ root: "" }), "/proc/kallsyms");
  assertEquals(kallsymsPath({ root: "/tmp/x/" }), "/tmp/x/proc/kallsyms");
  assertEquals(kallsymsPath({ root: "rel" }), "rel/proc/kallsyms");
});

Deno.test("kallsyms: cache is per root, shared by sync/async, clearable", async () => {
  const rootA = await makeRoot(FIXTURE);
  const rootB = await makeRoot(ZERO_FIXTURE);
  try {
    const a1 = await loadKallsyms({ root: rootA });
    const a2 = await loadKallsyms({ root: rootA + "/" });
    assert(a1 === a2, "same root (trailing slash) → same cached object");
    assert(loadKallsyms({ root: rootA }) === a1, "sync shares the cache");
    const b1 = await loadKallsyms({ root: rootB });
    assert(b1 !== a1);
    assertEquals(b1.restricted, true);

    // Concurrent loads share one read.
    clearKallsymsCache({ root: rootA });
    const [c1, c2] = await Promise.all([
      loadKallsyms({ root: rootA }),
      loadKallsyms({ root: rootA }),
    ]);
    assert(c1 === c2);
    assert(c1 !== a1);

    // The file changes: the cache keeps the old table until cleared.
    await Deno.writeTextFile(`${rootA}/proc/kallsyms`, "ffffffff81000000 T only_one\n");
    assertEquals((await loadKallsyms({ root: rootA })).size, 19);
    assertEquals((await loadKallsyms({ root: rootA, cache: false })).size, 1);
    assertEquals(loadKallsyms({ root: rootA, cache: false }).size, 1);
    assertEquals((await loadKallsyms({ root: rootA })).size, 19, "cache: false leaves cache");
    clearKallsymsCache({ root: rootA });
    assertEquals((await loadKallsyms({ root: rootA })).size, 1);
    // Clearing one root keeps the other.
    assert((await loadKallsyms({ root: rootB })) === b1);
    clearKallsymsCache();
    assert((await loadKallsyms({ root: rootB })) !== b1);
    // Sync load after clear fills the cache for async callers too.
    clearKallsymsCache();
    const s = loadKallsyms({ root: rootB });
    assert((await loadKallsyms({ root: rootB })) === s);
  } finally {
    clearKallsymsCache();
    await Deno.remove(rootA, { recursive: true });
    await Deno.remove(rootB, { recursive: true });
  }
});

Deno.test("kallsyms: strict and lenient modes are cached separately", async () => {
  const root = await makeRoot(FIXTURE + "garbage line\n");
  try {
    await assertRejects(() => loadKallsyms({ root }), ParseError);
    const k = await loadKallsyms({ root, strict: false });
    assertEquals(k.size, 19);
    assertEquals(k.skippedLines, 1);
    await assertRejects(() => loadKallsyms({ root }), ParseError);
  } finally {
    clearKallsymsCache({ root });
    await Deno.remove(root, { recursive: true });
  }
});

// ---------------------------------------------------------------------------
// Line rules.

Deno.test("kallsyms: CRLF, empty lines, no final newline", () => {
  const k = Kallsyms.fromText(
    "\r\nffffffff81000000 T a\r\n\n\nffffffff81000010 t b\t[m]\r\nffffffff81000020 t c",
  );
  assertEquals([...k].map((s) => [s.name, s.module]), [["a", undefined], ["b", "m"], [
    "c",
    undefined,
  ]]);
  assertEquals(Kallsyms.fromText("").size, 0);
  assertEquals(Kallsyms.fromText("\n\n\r\n").size, 0);
  assertEquals(Kallsyms.fromText("1 T x").address("x"), 1n);
  assertEquals(Kallsyms.fromText("FFFFFFFFFFFFFFFF T x").address("x"), 0xffffffffffffffffn);
  assertEquals(Kallsyms.fromText("c0001000 T x32").address("x32"), 0xc0001000n);
});

Deno.test("kallsyms: malformed lines throw ParseError with the line number", () => {
  const cases: [string, number][] = [
    ["ffffffff81000000 T a\nbad\n", 2],
    ["xyz T a\n", 1],
    ["ffffffff81000000\n", 1],
    ["ffffffff81000000 \n", 1],
    ["ffffffff81000000 T\n", 1],
    ["ffffffff81000000 T \n", 1],
    ["ffffffff81000000 TT a\n", 1],
    ["ffffffff81000000  T a\n", 1],
    ["\n\nffffffff810000000 T a\n", 3], // 17 digits
    ["ffffffff81000000 T a b\n", 1],
    ["ffffffff81000000 T a\t\n", 1],
    ["ffffffff81000000 T a\tm\n", 1],
    ["ffffffff81000000 T a\t[]\n", 1],
    ["ffffffff81000000 T a\t[m\n", 1],
    ["ffffffff81000000 T a\t[m] \n", 1],
    ["ffffffff81000000 T a\t[m[x]\n", 1],
    ["ffffffff81000000 T a\x00b\n", 1],
    ["ffffffff81000000 T na\u00efve\n", 1],
    ["ffffffff81000000 \x7f a\n", 1],
    ["ffffffff81000000 T a\r\r\n", 1],
    ["ffffffff81000000 T " + "n".repeat(1024) + "\n", 1],
    ["ffffffff81000000 T a\t[" + "m".repeat(256) + "]\n", 1],
    ["ok".repeat(0) + "ffffffff81000000 T a\n" + "x".repeat(5000) + "\nffffffff81000000 T b", 2],
    ["ffffffff81000000 T a\n" + "x".repeat(5000), 2],
  ];
  for (const [text, line] of cases) {
    try {
      Kallsyms.fromText(text);
      assert.fail(`no error for ${JSON.stringify(text.slice(0, 60))}`);
    } catch (e) {
      assert(e instanceof ParseError, `${e} for ${JSON.stringify(text.slice(0, 60))}`);
      assertEquals(e.format, "kallsyms");
      assertEquals(e.offset, line, `line of ${JSON.stringify(text.slice(0, 60))}: ${e.message}`);
    }
    // Lenient mode skips and counts instead.
    const k = Kallsyms.fromText(text, { strict: false });
    assert(k.skippedLines >= 1);
  }
  // Longest accepted name and module.
  const long = "n".repeat(1023);
  assertEquals(Kallsyms.fromText(`1 T ${long}\t[${"m".repeat(255)}]`).lookup(long)?.address, 1n);
});

Deno.test("kallsyms: lines split across chunks at every position", () => {
  const bytes = enc.encode(FIXTURE);
  const whole = [...Kallsyms.fromBytes(bytes)];
  for (let i = 0; i <= bytes.length; i++) {
    const k = parseChunks([bytes.subarray(0, i), bytes.subarray(i)], true);
    assertEquals([...k], whole);
  }
  // One byte at a time.
  const p = new KallsymsParser();
  for (let i = 0; i < bytes.length; i++) p.push(bytes.subarray(i, i + 1));
  assertEquals([...p.finish()], whole);
  // Chunks are copied: reusing the buffer is safe.
  const p2 = new KallsymsParser();
  const buf = new Uint8Array(7);
  for (let i = 0; i < bytes.length; i += 7) {
    const n = Math.min(7, bytes.length - i);
    buf.set(bytes.subarray(i, i + n));
    p2.push(buf.subarray(0, n));
    buf.fill(0x41);
  }
  assertEquals([...p2.finish()], whole);
  // A parser cannot be reused after finish.
  assertThrows(() => p.push(bytes), InvalidArgumentError);
  // Overlong line across chunks, lenient: skipped as one line.
  const long = enc.encode("1 T a\n" + "x".repeat(3000) + "\n2 T b\n");
  const k = parseChunks(splitAt(long, [10, 1000, 2500, 3004]), false);
  assertEquals([...k].map((s) => s.name), ["a", "b"]);
  assertEquals(k.skippedLines, 1);
});

Deno.test("kallsyms: fromChunks accepts async iterables", async () => {
  async function* gen() {
    yield enc.encode("ffffffff81000000 T a\nffff");
    yield enc.encode("ffff81000010 t b\t[m]\n");
  }
  const k = await Kallsyms.fromChunks(gen());
  assertEquals(k.lookup("b"), { name: "b", address: 0xffffffff81000010n, type: "t", module: "m" });
});

// ---------------------------------------------------------------------------
// Property tests.

const lineArb = fc.oneof(
  // Well-formed lines (most of them, so strict parses succeed now and then).
  {
    weight: 6,
    arbitrary: fc.tuple(
      fc.bigInt({ min: 0n, max: 0xffffffffffffffffn }),
      fc.constantFrom("T", "t", "D", "d", "b", "W", "A", "r"),
      fc.stringMatching(/^[a-z_][a-z0-9_.$]{0,20}$/),
      fc.option(fc.stringMatching(/^[a-z_][a-z0-9_]{0,10}$/)),
    ).map(([a, t, n, m]) =>
      `${a.toString(16).padStart(16, "0")} ${t} ${n}${m === null ? "" : `\t[${m}]`}`
    ),
  },
  // Lines from a small alphabet of meaningful bytes.
  fc.array(
    fc.constantFrom("f", "0", "a", "G", " ", "\t", "[", "]", "\r", "T", "x", "_", "\x00", "\xff"),
    { maxLength: 40 },
  ).map((a) => a.join("")),
  // Anything.
  fc.string({ maxLength: 60 }),
);

const linesArb = fc.tuple(fc.array(lineArb, { maxLength: 30 }), fc.constantFrom("\n", "\r\n"))
  .map(([ls, nl]) => ls.join(nl));

function checkAgainstReference(bytes: Uint8Array, cuts: number[]): void {
  const ref = referenceParse(bytes);
  const chunks = splitAt(bytes, cuts);
  // Lenient: never throws, same entries and skip count as the reference.
  const lenient = parseChunks(chunks, false);
  assertEquals([...lenient], ref.entries);
  assertEquals(lenient.skippedLines, ref.badLines.length);
  // Strict: throws ParseError at the first bad line, or gives the same entries.
  try {
    const strict = parseChunks(chunks, true);
    assertEquals(ref.badLines, []);
    assertEquals([...strict], ref.entries);
  } catch (e) {
    if (!(e instanceof ParseError)) throw e;
    assertEquals(e.offset, ref.badLines[0]);
  }
  // Lookups of every name work and agree with lookupAll.
  for (const e of ref.entries.slice(0, 10)) {
    const all = lenient.lookupAll(e.name);
    assert(all.length >= 1);
    assertEquals(lenient.lookup(e.name), all[0]);
    try {
      lenient.address(e.name);
    } catch (err) {
      assert(err instanceof AmbiguousSymbolError || err instanceof RestrictedAddressError);
    }
  }
}

Deno.test("kallsyms: property: random lines match the reference parser", () => {
  fc.assert(
    fc.property(linesArb, fc.array(fc.nat(2000), { maxLength: 4 }), (text, cuts) => {
      checkAgainstReference(enc.encode(text), cuts);
    }),
    { numRuns: 400 },
  );
});

Deno.test("kallsyms: property: random bytes give a table or a ParseError", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 300 }), fc.array(fc.nat(300), { maxLength: 3 }), (
      bytes,
      cuts,
    ) => {
      checkAgainstReference(bytes, cuts);
    }),
    { numRuns: 400 },
  );
});

const realExcerpt: Uint8Array = (() => {
  try {
    const all = Deno.readFileSync(REAL);
    // ~200 lines from the start and a few module lines from the end if any.
    let end = 0;
    for (let n = 0; n < 200 && end >= 0; n++) end = all.indexOf(0x0a, end + 1);
    const head = all.subarray(0, end + 1);
    const tail = all.subarray(Math.max(0, all.lastIndexOf(0x0a, all.length - 2) - 2000));
    const out = new Uint8Array(head.length + tail.length);
    out.set(head);
    out.set(tail, head.length);
    return out;
  } catch {
    return enc.encode(FIXTURE + MODULE_TEXT);
  }
})();

Deno.test("kallsyms: property: mutated real excerpts match the reference parser", () => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.nat(realExcerpt.length - 1), fc.integer({ min: 0, max: 255 })), {
        maxLength: 12,
      }),
      fc.array(fc.nat(realExcerpt.length), { maxLength: 3 }),
      fc.option(fc.nat(realExcerpt.length)),
      (muts, cuts, truncate) => {
        const bytes = realExcerpt.slice(0, truncate ?? realExcerpt.length);
        for (const [pos, val] of muts) if (pos < bytes.length) bytes[pos] = val;
        checkAgainstReference(bytes, cuts);
      },
    ),
    { numRuns: 150 },
  );
});
