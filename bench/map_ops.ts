// Map operation cost: denobpf against C calling syscall(__NR_bpf, ...)
// directly, side by side in one run, on equivalent maps (4-byte keys,
// 8-byte values, 1024 entries, array and hash).
//
//   deno run -A bench/map_ops.ts [--iterations N] [--rounds R] [--batch B]
//
// The C side (bench/map_ops.c) is compiled with gcc into a temp dir and runs
// as a child process that measures on request, so every C sample is taken
// right next to the matching denobpf sample and both see the same machine
// noise. Each figure is the median over rounds; the ratio is the median of
// the per-round ratios. Goals: ≤ 1.1× C per operation, ≤ 1.2× per element of
// a batch lookup.

import { type BpfMap, createMap } from "../src/map/mod.ts";
import { addressOf, bpfRawAt } from "../src/sys/bpf.ts";

const ENTRIES = 1024;

function arg(name: string, def: number): number {
  const i = Deno.args.indexOf(`--${name}`);
  return i >= 0 ? Number(Deno.args[i + 1]) : def;
}
const ITERS = arg("iterations", 50_000);
const ROUNDS = arg("rounds", 21);
const BATCH = arg("batch", 128);

async function compileC(dir: string): Promise<string> {
  const src = new URL("./map_ops.c", import.meta.url).pathname;
  const exe = `${dir}/map_ops`;
  const out = await new Deno.Command("gcc", { args: ["-O2", "-o", exe, src] }).output();
  if (!out.success) throw new Error(`gcc failed:\n${new TextDecoder().decode(out.stderr)}`);
  return exe;
}

/** The C benchmark as a child answering "<type> <op> <iters>" with ns per op. */
class CBench {
  #child: Deno.ChildProcess;
  #writer: WritableStreamDefaultWriter<Uint8Array>;
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buf = "";
  constructor(exe: string) {
    this.#child = new Deno.Command(exe, { args: ["serve"], stdin: "piped", stdout: "piped" })
      .spawn();
    this.#writer = this.#child.stdin.getWriter();
    this.#reader = this.#child.stdout.getReader();
  }
  async measure(type: string, op: string, iters: number): Promise<number> {
    await this.#writer.write(new TextEncoder().encode(`${type} ${op} ${iters}\n`));
    while (!this.#buf.includes("\n")) {
      const { value, done } = await this.#reader.read();
      if (done) throw new Error("the C benchmark exited");
      this.#buf += new TextDecoder().decode(value);
    }
    const i = this.#buf.indexOf("\n");
    const line = this.#buf.slice(0, i);
    this.#buf = this.#buf.slice(i + 1);
    return Number(line);
  }
  async close(): Promise<void> {
    await this.#writer.close();
    this.#reader.releaseLock();
    await this.#child.stdout.cancel();
    await this.#child.status;
  }
}

const keyBuf = new Uint8Array(4);
const keyView = new Uint32Array(keyBuf.buffer);
const valueBuf = new Uint8Array(8);
const valueView = new BigUint64Array(valueBuf.buffer);
const valueLow = new Uint32Array(valueBuf.buffer, 0, 1);
const outBuf = new Uint8Array(8);

function timeLookup(m: BpfMap, iters: number): number {
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) {
    keyView[0] = i & (ENTRIES - 1);
    if (m.lookup(keyBuf) === undefined) throw new Error("missing key");
  }
  return ((performance.now() - t0) * 1e6) / iters;
}

function timeLookupInto(m: BpfMap, iters: number): number {
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) {
    keyView[0] = i & (ENTRIES - 1);
    if (!m.lookupInto(keyBuf, outBuf)) throw new Error("missing key");
  }
  return ((performance.now() - t0) * 1e6) / iters;
}

// The floor: bpf(BPF_MAP_LOOKUP_ELEM) through the FFI on a preallocated
// attribute, with no map object around it.
const rawMem = new ArrayBuffer(64);
const rawAttr = new Uint8Array(rawMem, 0, 32);
const rawKey = new Uint32Array(rawMem, 32, 1);
const rawPtr = Deno.UnsafePointer.of(rawAttr)!;
function timeRawLookup(m: BpfMap, iters: number): number {
  const dv = new DataView(rawMem);
  dv.setUint32(0, m.fd, true);
  dv.setBigUint64(8, addressOf(new Uint8Array(rawMem, 32, 4)), true);
  dv.setBigUint64(16, addressOf(new Uint8Array(rawMem, 40, 8)), true);
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) {
    rawKey[0] = i & (ENTRIES - 1);
    if (bpfRawAt(1n, rawPtr, 32n) < 0) throw new Error("lookup failed");
  }
  return ((performance.now() - t0) * 1e6) / iters;
}

function timeUpdate(m: BpfMap, iters: number): number {
  const t0 = performance.now();
  for (let i = 0; i < iters; i++) {
    keyView[0] = i & (ENTRIES - 1);
    valueLow[0] = i;
    m.update(keyBuf, valueBuf);
  }
  return ((performance.now() - t0) * 1e6) / iters;
}

function timeBatch(m: BpfMap, iters: number): number {
  const cursor = m.batchCursor({ batchSize: BATCH });
  let elems = 0;
  const t0 = performance.now();
  while (elems < iters) {
    cursor.reset();
    while (!cursor.done) elems += m.lookupBatch(cursor);
  }
  return ((performance.now() - t0) * 1e6) / elems;
}

function median(v: number[]): number {
  const s = [...v].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)];
}

const dir = await Deno.makeTempDir({ prefix: "denobpf_bench_" });
try {
  const exe = await compileC(dir);
  const c = new CBench(exe);
  using array = createMap({ type: "array", keySize: 4, valueSize: 8, maxEntries: ENTRIES });
  using hash = createMap({ type: "hash", keySize: 4, valueSize: 8, maxEntries: ENTRIES });
  const maps: Record<string, BpfMap> = { array, hash };
  for (const m of [array, hash]) {
    for (let i = 0; i < ENTRIES; i++) {
      keyView[0] = i;
      valueView[0] = BigInt(i);
      m.update(keyBuf, valueBuf);
    }
  }

  // [label, map type, C op, denobpf timer, goal]
  const figures: [string, string, string, (m: BpfMap, n: number) => number, number][] = [];
  figures.push(["array raw FFI (floor)", "array", "lookup", timeRawLookup, 1.1]);
  for (const type of ["array", "hash"]) {
    figures.push(
      [`${type} lookup`, type, "lookup", timeLookup, 1.1],
      [`${type} lookupInto`, type, "lookup", timeLookupInto, 1.1],
      [`${type} update`, type, "update", timeUpdate, 1.1],
      [`${type} batch lookup /elem`, type, `batch_lookup:${BATCH}`, timeBatch, 1.2],
    );
  }
  // Warm up both sides (JIT, caches).
  for (const [, type, op, fn] of figures) {
    fn(maps[type], ITERS);
    await c.measure(type, op, ITERS);
  }
  const samples = figures.map(() => ({ c: [] as number[], d: [] as number[], r: [] as number[] }));
  for (let r = 0; r < ROUNDS; r++) {
    for (let f = 0; f < figures.length; f++) {
      const [, type, op, fn] = figures[f];
      // Alternate which side goes first, so neither always follows the other.
      let cns: number, dns: number;
      if (r % 2 === 0) {
        cns = await c.measure(type, op, ITERS);
        dns = fn(maps[type], ITERS);
      } else {
        dns = fn(maps[type], ITERS);
        cns = await c.measure(type, op, ITERS);
      }
      samples[f].c.push(cns);
      samples[f].d.push(dns);
      samples[f].r.push(dns / cns);
    }
  }
  await c.close();

  console.log(
    `map ops: ${ITERS} ops × ${ROUNDS} interleaved rounds, batch ${BATCH}, ` +
      `4-byte keys, 8-byte values, ${ENTRIES} entries (medians)`,
  );
  console.log(
    "figure".padEnd(26) + "C ns".padStart(9) + "denobpf ns".padStart(12) +
      "ratio".padStart(8) + "goal".padStart(7),
  );
  let met = 0;
  for (let f = 0; f < figures.length; f++) {
    const [label, , , , goal] = figures[f];
    const ratio = median(samples[f].r);
    if (ratio <= goal) met++;
    console.log(
      label.padEnd(26) + median(samples[f].c).toFixed(1).padStart(9) +
        median(samples[f].d).toFixed(1).padStart(12) + ratio.toFixed(3).padStart(8) +
        `≤${goal}`.padStart(7) + (ratio <= goal ? "  ok" : "  over"),
    );
  }
  console.log(`${met} of ${figures.length} figures within their goal`);
  console.log(
    "raw FFI (floor): the bare bpf(2) call through Deno's FFI on a preallocated attribute; " +
      "lookup adds one typed-array allocation (its fresh copy) to lookupInto",
  );
} finally {
  await Deno.remove(dir, { recursive: true });
}
