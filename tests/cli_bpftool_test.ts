// bpftool's everyday commands (cli.ts prog/map/link/btf list|show) against
// bpftool 7.1 itself, on objects this test creates through the library.
// Both list every object on the machine, and other processes' objects come
// and go meanwhile: only the entries of this test's ids are compared, and a
// comparison that differs is run again (up to 5 times) before it fails.
// Normalised, and only these: loaded_at (the two commands run at different
// instants, and the wallclock of a boot time is computed from the clock at
// that instant) and the run-time statistics (run_time_ns, run_cnt,
// recursion_misses: counted while another process enables bpf_stats).

import assert from "node:assert/strict";
import fc from "fast-check";
import { loadCollection } from "../src/collection/mod.ts";
import { createMap } from "../src/map/mod.ts";
import { loadProgram } from "../src/program/load.ts";
import { attachRawTracepoint, attachTracepoint } from "../src/link/tracepoint.ts";
import { attachCgroup } from "../src/link/cgroup.ts";
import { IdMultimap } from "../src/cli/bpftool_btf.ts";
import { JsonWriter } from "../src/cli/bpftool_json.ts";
import { parseBytes } from "../src/cli/bpftool_map_dump.ts";
import * as asm from "../src/asm/builders.ts";
import { R0 } from "../src/asm/register.ts";
import { mountBpffs } from "./_helpers.ts";
import { bpftool, cli, run, runCli } from "./_cli_helpers.ts";

const BASIC = new URL("../testdata/bpf/basic_bpfel.o", import.meta.url);

/** stdout, and whether the command succeeded, of both (bpftool's exit code is an errno). */
async function both(args: string[]): Promise<[string, string]> {
  const [a, b] = await Promise.all([
    runCli(args),
    run("bpftool", args),
  ]);
  return [
    `${a.code === 0 ? "ok" : "failed"}\n${a.out}`,
    `${b.code === 0 ? "ok" : "failed"}\n${b.out}`,
  ];
}

/** Time and run-time statistics only (see the top of the file). */
function normalise(text: string): string {
  return text
    .replace(/loaded_at \S+/g, "loaded_at TIME")
    .replace(/"loaded_at": ?\d+/g, '"loaded_at":0')
    .replace(/ run_time_ns \d+ run_cnt \d+/g, "")
    .replace(/ recursion_misses \d+/g, "")
    .replace(/"(run_time_ns|run_cnt|recursion_misses)": ?\d+,\s*/g, "");
}

/** Plain list output split into its entries ("ID: …" up to the next one), by id. */
function entries(text: string): Map<number, string> {
  const out = new Map<number, string>();
  for (const block of text.split(/^(?=\d+: )/m)) {
    if (block) out.set(Number(block.slice(0, block.indexOf(":"))), block);
  }
  return out;
}

/** `-j` list output: each object by id, normalised and re-serialised. */
function jsonEntries(text: string): Map<number, string> {
  const list = JSON.parse(normalise(text)) as { id: number }[];
  return new Map(list.map((o) => [o.id, JSON.stringify(o)]));
}

/** Runs `both` until its two results agree (other processes' objects change under it). */
async function agree(what: string, both: () => Promise<[string, string]>): Promise<void> {
  let last: [string, string] = ["", ""];
  for (let i = 0; i < 5; i++) {
    last = await both();
    if (last[0] === last[1]) return;
  }
  assert.equal(last[1], last[0], `${what}: cli.ts (actual) vs bpftool (expected)`);
}

/** `show id N` in text, -j and -p, and the list entries of `ids` in text and -j. */
async function compareShowAndList(kind: string, ids: number[], listRef = "list") {
  for (const id of ids) {
    for (const flags of id === ids[0] ? [[], ["-j"], ["-p"]] : [[], ["-j"]]) {
      const args = [kind, "show", "id", String(id), ...flags];
      await agree(args.join(" "), async () => [
        normalise(await cli(args)),
        normalise(await bpftool(args)),
      ]);
    }
  }
  // bpftool 7.1's `map list` reuses one info buffer from map to map, and
  // this kernel leaves btf_id alone for a map without BTF: there bpftool's
  // list shows the previous map's btf_id. The list is compared with what
  // bpftool shows of each map by id instead.
  const refFor = async (flags: string[]) =>
    listRef === "list" ? await bpftool([kind, "list", ...flags]) : (await Promise.all(
      ids.map((id) => bpftool([kind, "show", "id", String(id), ...flags])),
    )).join("");
  await agree(`${kind} list`, async () => {
    const [ours, theirs] = [entries(await cli([kind, "list"])), entries(await refFor([]))];
    return [
      ids.map((id) => normalise(ours.get(id) ?? `${id} missing`)).join(""),
      ids.map((id) => normalise(theirs.get(id) ?? `${id} missing`)).join(""),
    ];
  });
  await agree(`${kind} list -j`, async () => {
    const ours = jsonEntries(await cli([kind, "list", "-j"]));
    const ref = await refFor(["-j"]);
    const theirs = listRef === "list"
      ? jsonEntries(ref)
      : jsonEntries(`[${ref.trim().split("\n").join(",")}]`);
    return [ids.map((id) => ours.get(id)).join("\n"), ids.map((id) => theirs.get(id)).join("\n")];
  });
}

async function loadBasic(pinPath: string) {
  const coll = await loadCollection(BASIC, { pinPath });
  coll.programs.sock_count.testRunSync({ data: new Uint8Array(64) }); // fills counts
  return coll;
}

Deno.test("cli prog show/list: text, -j and -p as bpftool 7.1 prints them", async () => {
  await using fs = await mountBpffs("denobpf-cli-bpftool-");
  using coll = await loadBasic(fs.path);
  using plain = loadProgram({
    type: "socket_filter",
    instructions: [asm.mov64(R0, 0), asm.exit()],
    license: "MIT",
  });
  const ids = [...Object.values(coll.programs).map((p) => p.info().id), plain.info().id];
  await compareShowAndList("prog", ids);
  // What a user checks: the program's name and its maps.
  const shown = JSON.parse(await cli(["prog", "show", "id", String(ids[0]), "-j"]));
  assert.equal(shown.id, ids[0]);
  assert.equal(typeof shown.loaded_at, "number");
});

Deno.test("cli map show/list: text, -j and -p as bpftool 7.1 (prog_array owner, frozen, no BTF)", async () => {
  await using fs = await mountBpffs("denobpf-cli-bpftool-");
  using coll = await loadBasic(fs.path);
  using bare = createMap({ type: "percpu_hash", keySize: 8, valueSize: 12, maxEntries: 5 });
  using nameless = createMap({ type: "array", keySize: 4, valueSize: 4, maxEntries: 1 });
  const ids = [...Object.values(coll.maps).map((m) => m.info().id), bare.info().id];
  ids.push(nameless.info().id);
  await compareShowAndList("map", ids, "show");
  const text = await cli(["map", "show", "id", String(coll.maps.jumps.info().id)]);
  assert.match(text, /prog_array {2}name jumps {2}flags 0x0\n.*\n\towner_prog_type socket_filter/);
  assert.match(
    await cli(["map", "show", "id", String(coll.maps[".rodata"].info().id)]),
    /\tbtf_id \d+ {2}frozen\n$/,
  );
});

function cgroup2Root(): string {
  const line = Deno.readTextFileSync("/proc/self/mountinfo").split("\n").find((l) =>
    / - cgroup2 /.test(l)
  );
  assert.ok(line, "a cgroup2 mount");
  return line.split(" ")[4];
}

Deno.test("cli link show/list: raw_tracepoint and cgroup links as bpftool 7.1 prints them", async () => {
  await using fs = await mountBpffs("denobpf-cli-bpftool-");
  using coll = await loadBasic(fs.path);
  const cg = `${cgroup2Root()}/denobpf_cli_bpftool_${Deno.pid}`;
  await Deno.mkdir(cg);
  try {
    using skb = loadProgram({
      type: "cgroup_skb",
      instructions: [asm.mov64(R0, 1), asm.exit()],
      license: "MIT",
      name: "allow_all",
    });
    using raw = attachRawTracepoint(coll.programs.raw_events, { name: "sys_enter" });
    using egress = attachCgroup(skb, { cgroup: cg, attachType: "cgroup_inet_egress" });
    assert.ok(egress.isBpfLink);
    const ids = [raw.info().id, (egress as { info(): { id: number } }).info().id];
    await compareShowAndList("link", ids);
    assert.match(await cli(["link", "show", "id", String(ids[0])]), /\n\ttp 'sys_enter' {2}\n$/);
  } finally {
    await Deno.remove(cg);
  }
});

Deno.test("cli btf show/list: programs and maps per BTF object in bpftool 7.1's order", async () => {
  await using fs = await mountBpffs("denobpf-cli-bpftool-");
  using coll = await loadBasic(fs.path);
  const btfId = coll.programs.sock_count.info().btfId;
  assert.ok(btfId > 0);
  await compareShowAndList("btf", [1, btfId]);
  assert.match(await cli(["btf", "show", "id", "1"]), /^1: name \[vmlinux\] {2}size \d+B\n$/);
});

Deno.test("bpftool's id order: one BTF's ids reverse at each growth of its hash table", () => {
  // Observed with bpftool 7.1: six programs of one BTF, loaded in id order,
  // list as 6,5,4,1,2,3 (the table grew from 4 to 8 before the fourth).
  const m = new IdMultimap();
  for (let id = 1; id <= 6; id++) m.append(7, id);
  assert.deepEqual(m.get(7), [6, 5, 4, 1, 2, 3]);
  assert.deepEqual(m.get(8), []);
  fc.assert(fc.property(fc.array(fc.nat(3), { maxLength: 60 }), (keys) => {
    const t = new IdMultimap();
    keys.forEach((k, i) => t.append(k, i));
    for (let k = 0; k <= 3; k++) {
      const want = keys.flatMap((kk, i) => kk === k ? [i] : []);
      assert.deepEqual([...t.get(k)].sort((a, b) => a - b), want);
    }
  }));
});

Deno.test("bpftool's JSON writer: compact output parses back to the same value", () => {
  type V = string | number | boolean | V[] | { [k: string]: V };
  // No backslash: bpftool 7.1 writes it as \n (see bpftool_json.ts).
  const str = fc.string().filter((s) =>
    [...s].every((c) => c !== "\\" && (c >= " " || "\t\n\r\f\b".includes(c)))
  );
  const value: fc.Arbitrary<V> = fc.letrec<{ v: V }>((tie) => ({
    v: fc.oneof(
      { depthSize: "small" },
      str,
      fc.integer(),
      fc.boolean(),
      fc.array(tie("v")),
      fc.dictionary(str, tie("v")),
    ),
  })).v;
  const write = (w: JsonWriter, v: V): void => {
    if (typeof v === "string") w.string(v);
    else if (typeof v === "number") w.number(v);
    else if (typeof v === "boolean") w.bool(v);
    else if (Array.isArray(v)) {
      w.startArray();
      for (const e of v) write(w, e);
      w.endArray();
    } else {
      w.startObject();
      for (const [k, e] of Object.entries(v)) {
        w.name(k);
        write(w, e);
      }
      w.endObject();
    }
  };
  fc.assert(fc.property(value, fc.boolean(), (v, pretty) => {
    const w = new JsonWriter(pretty);
    write(w, v);
    assert.deepEqual(JSON.parse(w.text()), v);
  }));
});

Deno.test("cli prog/map/link/btf show of an id that does not exist: one line naming it", async () => {
  for (const kind of ["prog", "map", "link", "btf"]) {
    const r = await runCli([
      kind,
      "show",
      "id",
      "4294967295",
    ]);
    assert.equal(r.code, 1, r.err);
    assert.match(r.err, new RegExp(`^denobpf: there is no .* with id 4294967295; list them`));
  }
});

Deno.test("cli map dump: hex text, BTF-formatted text and -j as bpftool 7.1 prints them", async () => {
  await using fs = await mountBpffs("denobpf-cli-bpftool-");
  using coll = await loadBasic(fs.path);
  coll.maps.pairs.update(u32(2), new Uint8Array(16).fill(7));
  using bare = createMap({ type: "hash", keySize: 4, valueSize: 4, maxEntries: 8 });
  bare.update(u32(1), u32(0x01020304));
  bare.update(u32(2), u32(5));
  using wide = createMap({ type: "hash", keySize: 20, valueSize: 40, maxEntries: 2 });
  wide.update(new Uint8Array(20).fill(0xab), new Uint8Array(40).map((_, i) => i));
  using mid = createMap({ type: "array", keySize: 4, valueSize: 16, maxEntries: 2 });
  using pcpu = createMap({ type: "percpu_array", keySize: 4, valueSize: 4, maxEntries: 2 });
  const maps = [
    ...["counts", "pairs", "percpu", "jumps", "perf", "lru", "outer", "stack", "events"],
    ...[".bss", ".data", ".rodata", ".rodata.custom", ".data.custom"],
  ].map((n) => coll.maps[n].info().id);
  maps.push(...[bare, wide, mid, pcpu].map((m) => m.info().id));
  for (const id of maps) {
    for (const flags of [[], ["-j"]]) {
      const args = ["map", "dump", "id", String(id), ...flags];
      await agree(args.join(" "), () => both(args));
    }
  }
  // What a user reads: the hex form and the BTF form.
  assert.equal(
    await cli(["map", "dump", "id", String(bare.info().id)]),
    await bpftool(["map", "dump", "id", String(bare.info().id)]),
  );
  assert.match(await cli(["map", "dump", "id", String(bare.info().id)]), /Found 2 elements\n$/);
  assert.match(
    await cli(["map", "dump", "id", String(coll.maps[".rodata.custom"].info().id)]),
    /"greeting": "hello"/,
  );
});

const u32 = (n: number) => new Uint8Array(new Uint32Array([n]).buffer);

Deno.test("cli map lookup/update/delete: what bpftool then sees, and bpftool's output", async () => {
  await using fs = await mountBpffs("denobpf-cli-bpftool-");
  using coll = await loadBasic(fs.path);
  using bare = createMap({ type: "hash", keySize: 4, valueSize: 4, maxEntries: 8 });
  const id = String(bare.info().id);
  assert.equal(
    await cli([
      "map",
      "update",
      "id",
      id,
      "key",
      "1",
      "0",
      "0",
      "0",
      "value",
      "0x2a",
      "0",
      "0",
      "0",
    ]),
    "",
  );
  assert.equal(
    await cli([
      "map",
      "update",
      "id",
      id,
      "key",
      "hex",
      "02",
      "00",
      "00",
      "00",
      "value",
      "7",
      "0",
      "0",
      "0",
      "-j",
    ]),
    "null\n",
  );
  for (const key of [["1", "0", "0", "0"], ["2", "0", "0", "0"], ["9", "0", "0", "0"]]) {
    for (const flags of [[], ["-j"]]) {
      const args = ["map", "lookup", "id", id, "key", ...key, ...flags];
      const [ours, theirs] = await both(args);
      assert.equal(ours, theirs, args.join(" "));
    }
  }
  assert.equal(
    await bpftool(["map", "lookup", "id", id, "key", "1", "0", "0", "0"]),
    "key: 01 00 00 00  value: 2a 00 00 00\n",
  );
  assert.equal(await cli(["map", "delete", "id", id, "key", "1", "0", "0", "0"]), "");
  assert.match(
    (await run("bpftool", ["map", "lookup", "id", id, "key", "1", "0", "0", "0"])).out,
    /Not found/,
  );
  const missing = await runCli([
    "map",
    "delete",
    "id",
    id,
    "key",
    "1",
    "0",
    "0",
    "0",
  ]);
  assert.equal(missing.code, 1);
  assert.match(missing.err, new RegExp(`^denobpf: map id ${id} has no key 01 00 00 00`));
  const short = await runCli([
    "map",
    "lookup",
    "id",
    id,
    "key",
    "1",
    "0",
  ]);
  assert.equal(short.code, 1);
  assert.match(short.err, /expected 4 bytes, got 2/);
  // With BTF: the formatted form.
  const counts = String(coll.maps.counts.info().id);
  for (const flags of [[], ["-j"], ["-p"]]) {
    const args = ["map", "lookup", "id", counts, "key", "0", "0", "0", "0", ...flags];
    assert.equal(await cli(args), await bpftool(args), args.join(" "));
  }
});

Deno.test("map key/value bytes parse as bpftool's do (decimal, 0x, octal, or hex after 'hex')", () => {
  const word = (b: number, style: number) =>
    style === 0 ? String(b) : style === 1 ? `0x${b.toString(16)}` : `0${b.toString(8)}`;
  fc.assert(
    fc.property(
      fc.uint8Array({ maxLength: 24 }),
      fc.nat(2),
      fc.boolean(),
      (bytes, style, hex) => {
        const words = hex
          ? ["hex", ...Array.from(bytes, (b) => b.toString(16).padStart(2, "0"))]
          : Array.from(bytes, (b) => word(b, style));
        const r = parseBytes(["key", ...words, "value"], 1, bytes.length, "test");
        assert.deepEqual(r.bytes, bytes);
        assert.equal(r.next, words.length + 1);
      },
    ),
  );
  assert.throws(() => parseBytes(["256"], 0, 1, "map lookup key"), /"256" is not a byte/);
  assert.throws(() => parseBytes(["1"], 0, 2, "map lookup key"), /expected 2 bytes, got 1/);
});

Deno.test("cli cgroup tree: a link and a PROG_ATTACH program in a cgroup and its child, as bpftool 7.1", async () => {
  const cg = `${cgroup2Root()}/denobpf_cli_tree_${Deno.pid}`;
  await Deno.mkdir(`${cg}/child`, { recursive: true });
  try {
    using skb = loadProgram({
      type: "cgroup_skb",
      instructions: [asm.mov64(R0, 1), asm.exit()],
      license: "MIT",
      name: "allow_all",
    });
    using _egress = attachCgroup(skb, { cgroup: cg, attachType: "cgroup_inet_egress" });
    using _ingress = attachCgroup(skb, {
      cgroup: `${cg}/child`,
      attachType: "cgroup_inet_ingress",
      legacy: true,
    });
    // The test's own subtree as the root: other processes' cgroups stay out.
    for (const flags of [[], ["-j"], ["-p"]]) {
      const args = ["cgroup", "tree", cg, ...flags];
      assert.equal(await cli(args), await bpftool(args), args.join(" "));
    }
    const id = skb.info().id;
    assert.equal(
      (await cli(["cgroup", "tree", cg])).split("\n").slice(2, 6).map((l) => l.trimEnd()).join(
        "\n",
      ),
      `${cg}\n${String(id).padEnd(8)} cgroup_inet_egress multi           allow_all\n` +
        `${cg}/child\n    ${String(id).padEnd(8)} cgroup_inet_ingress multi           allow_all`,
    );
  } finally {
    await Deno.remove(`${cg}/child`);
    await Deno.remove(cg);
  }
});

Deno.test("cli perf list: this process's raw_tracepoint link and legacy tracepoint, as bpftool 7.1", async () => {
  await using fs = await mountBpffs("denobpf-cli-bpftool-");
  using coll = await loadBasic(fs.path);
  using tp = loadProgram({
    type: "tracepoint",
    instructions: [asm.mov64(R0, 0), asm.exit()],
    license: "GPL",
    name: "tp_nothing",
  });
  using _raw = attachRawTracepoint(coll.programs.raw_events, { name: "sys_enter" });
  // A BPF_LINK_CREATE tracepoint link keeps no perf event descriptor in the
  // process, so only the raw tracepoint link and the legacy (ioctl) one show.
  using _legacy = attachTracepoint(tp, {
    group: "syscalls",
    name: "sys_exit_getppid",
    legacy: true,
  });
  const mine = (text: string) =>
    text.split("\n").filter((l) => l.startsWith(`pid ${Deno.pid} `)).join("\n");
  const mineJson = (text: string) =>
    JSON.stringify((JSON.parse(text) as { pid: number }[]).filter((e) => e.pid === Deno.pid));
  await agree("perf list", async () => [
    mine(await cli(["perf", "list"])),
    mine(await bpftool(["perf", "list"])),
  ]);
  await agree("perf list -j", async () => [
    mineJson(await cli(["perf", "list", "-j"])),
    mineJson(await bpftool(["perf", "list", "-j"])),
  ]);
  const lines = mine(await cli(["perf", "list"]));
  assert.match(lines, /raw_tracepoint {2}sys_enter$/m);
  assert.match(lines, /tracepoint {2}sys_exit_getppid$/m);
});
