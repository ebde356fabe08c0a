/**
 * A running script's handle ({@linkcode ScriptHandle}), apart from the
 * compiler and loader that make one (`runScript` in run_script.ts): the
 * probe entry exports the class for `instanceof` and types, and loads the
 * compiler only when a script starts.
 *
 * @module
 */

import { FileNotFoundError, InvalidArgumentError, NotSupportedError } from "../errors.ts";
import type { BpfMap } from "../map/map.ts";
import type { Program } from "../program/program.ts";
import type { RingBufReader } from "../ringbuf/reader.ts";
import { MISC_REQUIREMENTS } from "../features/requirements.ts";
import { readFileHead } from "../sys/file.ts";
import { nextTurn } from "../sys/event_loop.ts";
import type { TracefsOptions } from "../tracefs/mount.ts";
import type { PointEnv } from "./_check.ts";
import type { ActionTable, MapLayout, ScriptProgram } from "./_script_codegen.ts";
import { datum, jsEntries, printLayout, readEntries, type ScriptValue } from "./_script_maps.ts";
import {
  GLOBAL_STOP,
  GLOBALS_SIZE,
  JOIN_ARGS,
  JOIN_ARGSIZE,
  Rec,
  sizeOfType,
} from "./_script_records.ts";
import { closeAll, type Owned, type RunOptions } from "./handles.ts";
import type { IrPoint, IrProbe, IrType } from "./ir.ts";
import { formatMap, formatMaps, formatValue, type MapEntry } from "./output.ts";
import { formatPrintf, type PrintfArg } from "./printf.ts";
import { strftime } from "./_strftime.ts";

/** Bytes cat() prints of a file at most (bpftrace's cat_bytes_max). */
const CAT_BYTES_MAX = 10240;

/**
 * Where printf and print lines go: a function taking text, or a writer
 * (`Deno.stdout`; one with only an async `write` gets the texts in order).
 */
export type ScriptOutput =
  | ((text: string) => void)
  | { writeSync(p: Uint8Array): number }
  | { write(p: Uint8Array): Promise<number> | number };

/** Options of {@linkcode runScript}. */
export interface ScriptOptions {
  /** Where printf/print output and the maps printed at exit go (default: stdout). */
  output?: ScriptOutput;
  /** Print every map at stop, as bpftrace does at exit (default true). */
  printMaps?: boolean;
  /** Ring buffer size in bytes: a power of two, at least a page (default 1 MiB). */
  ringSize?: number;
  /** Maximum distinct stacks (default 4096). */
  stackEntries?: number;
  /** Where tracefs is, if not at its usual place. */
  tracefs?: TracefsOptions;
  /**
   * Told of a kprobe or kretprobe point left out because the kernel would
   * not attach it (a function inlined or marked notrace), as bpftrace 0.17
   * leaves out such a point of a probe with several points or a glob
   * (`could not attach probe kprobe:NAME, skipping.`); the point's name and
   * the kernel's error. Alone in its probe, such a point fails the script.
   */
  onSkip?: (point: string, error: Error) => void;
}

/** One program of a script: its probe, point, environment, code and loaded program. */
export interface Prog {
  probe: IrProbe;
  point: IrPoint;
  env: PointEnv;
  code?: ScriptProgram;
  program?: Program;
}

const utf8 = new TextEncoder();

function writerOf(out: ScriptOutput | undefined): (text: string) => void {
  if (!out) return (t) => writeAll(Deno.stdout, t);
  if (typeof out === "function") return out;
  if ("writeSync" in out) return (t) => writeAll(out, t);
  // An async writer: chain the writes so that they land in order.
  let chain: Promise<unknown> = Promise.resolve();
  return (t) => {
    chain = chain.then(async () => {
      let p = utf8.encode(t);
      while (p.length > 0) p = p.subarray(await out.write(p));
    });
  };
}

function writeAll(w: { writeSync(p: Uint8Array): number }, text: string): void {
  let p = utf8.encode(text);
  while (p.length > 0) p = p.subarray(w.writeSync(p));
}

/**
 * A running script: its programs, links and maps, the pump that turns
 * ring buffer records into printed lines, and the end of it all
 * (`stop()`: END, the maps printed, everything closed).
 */
export class ScriptHandle implements AsyncDisposable, Disposable {
  #progs: Prog[];
  #owned: Owned;
  #programs: Program[];
  #layouts: Map<string, MapLayout>;
  #bpfMaps: Map<string, BpfMap>;
  #stacks?: BpfMap;
  #actions: ActionTable;
  #reader: RingBufReader;
  #write: (text: string) => void;
  #printMaps: boolean;
  #exited = false;
  /** END is running: its records print even after exit(). */
  #ending = false;
  #onExit!: () => void;
  #exit: Promise<void>;
  #pump?: Promise<void>;
  #pumpStop = new AbortController();
  #stopped = false;
  #closed = false;
  #stopping?: Promise<void>;
  #lost = 0;
  #final?: Record<string, Map<unknown, ScriptValue>>;
  #finalText?: string;
  #mapsById: MapLayout[];

  /** @internal Created by {@linkcode runScript}. */
  constructor(parts: {
    progs: Prog[];
    owned: Owned;
    layouts: Map<string, MapLayout>;
    bpfMaps: Map<string, BpfMap>;
    stacks?: BpfMap;
    actions: ActionTable;
    reader: RingBufReader;
    options: ScriptOptions;
  }) {
    this.#progs = parts.progs;
    this.#owned = parts.owned;
    this.#programs = parts.progs.flatMap((p) => p.program ? [p.program] : []);
    this.#layouts = parts.layouts;
    this.#bpfMaps = parts.bpfMaps;
    this.#stacks = parts.stacks;
    this.#actions = parts.actions;
    this.#reader = parts.reader;
    this.#write = writerOf(parts.options.output);
    this.#printMaps = parts.options.printMaps ?? true;
    this.#exit = new Promise((resolve) => this.#onExit = resolve);
    this.#mapsById = [...parts.layouts.values()].sort((a, b) => a.info.index - b.info.index);
  }

  /**
   * Every generated program, as assembler text, with the point it runs at
   * (formatted when asked: it costs ~10 ms for a few programs).
   */
  get listings(): readonly { point: string; listing: string }[] {
    return this.#progs.map((p) => ({
      point: p.env.name,
      listing: p.code?.asm.toString() ?? "",
    }));
  }

  /** True once `exit()` ran in the script. */
  get exited(): boolean {
    return this.#exited;
  }

  /** True once stopped. */
  get stopped(): boolean {
    return this.#stopped;
  }

  /**
   * Records (printf, print, exit…) lost because the ring buffer was full
   * (a larger `ringSize` helps); after stop, the count at stop.
   */
  get lost(): number {
    return this.#closed ? this.#lost : this.#counter(0);
  }

  /** The sum over CPUs of `lost[i]`: 0 the records lost, 1 whether exit() ran. */
  #counter(i: number): number {
    const key = new Uint8Array(4);
    new DataView(key.buffer).setUint32(0, i, true);
    const v = this.#bpfMaps.get("lost")!.lookup(key);
    let n = 0n;
    if (v) {
      const dv = new DataView(v.buffer, v.byteOffset, v.byteLength);
      for (let j = 0; j + 8 <= v.byteLength; j += 8) n += dv.getBigUint64(j, true);
    }
    return Number(n);
  }

  /**
   * Sets the stop flag in `globals`: from now on every attached program
   * returns at once, so the maps keep what they hold while the probes
   * detach.
   */
  #freeze(): void {
    const globals = this.#bpfMaps.get("globals")!;
    const key = new Uint8Array(4);
    const g = globals.lookup(key) ?? new Uint8Array(GLOBALS_SIZE);
    new DataView(g.buffer, g.byteOffset).setBigUint64(GLOBAL_STOP, 1n, true);
    globals.update(key, g);
  }

  /** @internal Starts reading the ring buffer and runs BEGIN. */
  async start(): Promise<void> {
    for (const p of this.#progs) {
      if (p.point.kind === "begin") await this.#testRun(p);
    }
    this.drain();
    this.#pump = this.#run();
  }

  async #testRun(p: Prog): Promise<void> {
    try {
      await p.program!.testRun({ context: new Uint8Array(8) });
    } catch (e) {
      throw noTestRun(p.env.name, e);
    }
  }

  async #run(): Promise<void> {
    const signal = this.#pumpStop.signal;
    while (!signal.aborted) {
      await nextTurn();
      if (signal.aborted || this.#closed) return;
      if (this.drain(1024) > 0) continue;
      // A timeout now and then to see an exit() whose record the full ring lost.
      const rec = await this.#reader.read({ signal, timeoutMs: 250 });
      if (rec && !signal.aborted) this.#record(rec);
      else if (!rec && !this.#exited && !this.#closed && this.#counter(1) > 0) {
        this.#exited = true;
        this.#onExit();
      }
    }
  }

  /** Processes the records waiting in the ring buffer now (at most `limit`); returns how many. */
  drain(limit = Infinity): number {
    if (this.#closed) return 0;
    return this.#reader.consume((r) => {
      this.#record(r);
    }, limit);
  }

  #record(rec: Uint8Array): void {
    if (this.#exited && !this.#ending) return;
    const view = new DataView(rec.buffer, rec.byteOffset, rec.byteLength);
    const kind = view.getUint32(0, true);
    const id = view.getUint32(4, true);
    const t = this.#actions;
    switch (kind) {
      case Rec.PRINTF:
        this.#write(formatPrintf(t.printf[id].format, this.#args(view, t.printf[id].args)));
        return;
      case Rec.CAT:
        this.#cat(formatPrintf(t.cat[id].format, this.#args(view, t.cat[id].args)));
        return;
      case Rec.SYSTEM: {
        // As bpftrace's popen(): the command's stdout is printed, its stderr is ours.
        const command = formatPrintf(t.system[id].format, this.#args(view, t.system[id].args));
        const out = new Deno.Command("sh", { args: ["-c", command], stdout: "piped" })
          .outputSync();
        this.#write(new TextDecoder().decode(out.stdout));
        return;
      }
      case Rec.PRINT_MAP: {
        const p = t.print[id];
        const m = this.#layouts.get(p.map);
        if (m) this.#write(formatMap(printLayout(m), this.#read(m), { top: p.top, div: p.div }));
        return;
      }
      case Rec.PRINT_VALUE: {
        const type = t.printValue[id];
        this.#write(formatValue(datum(view, 8, type, this.#stacks), type) + "\n");
        return;
      }
      case Rec.CLEAR:
      case Rec.ZERO: {
        const m = this.#mapsById[id];
        if (m) this.#clear(m, kind === Rec.ZERO);
        return;
      }
      case Rec.TIME:
        this.#write(strftime(t.time[id], new Date()));
        return;
      case Rec.JOIN: {
        const n = Number(view.getBigUint64(8, true));
        const parts: string[] = [];
        for (let i = 0; i < n && i < JOIN_ARGS; i++) {
          parts.push(
            datum(view, 16 + i * JOIN_ARGSIZE, { kind: "str", len: JOIN_ARGSIZE }) as string,
          );
        }
        this.#write(parts.join(t.join[id]) + "\n");
        return;
      }
      case Rec.EXIT:
        this.#exited = true;
        this.#onExit();
        return;
    }
  }

  /** The arguments of a printf or cat record, decoded as printf takes them. */
  #args(view: DataView, types: readonly IrType[]): PrintfArg[] {
    let off = 8;
    return types.map((type) => {
      const d = datum(view, off, type, this.#stacks);
      off += sizeOfType(type);
      return (type.kind === "stack" || Array.isArray(d) ? formatValue(d, type) : d) as PrintfArg;
    });
  }

  /** bpftrace's cat(): the file's first CAT_BYTES_MAX bytes as they are, or an error on stderr. */
  #cat(path: string): void {
    let bytes: Uint8Array;
    try {
      bytes = readFileHead(path, CAT_BYTES_MAX);
    } catch (e) {
      const why = e instanceof FileNotFoundError
        ? "No such file or directory"
        : (e as Error).message;
      console.error(`ERROR: failed to open file '${path}': ${why}`);
      return;
    }
    this.#write(new TextDecoder().decode(bytes));
  }

  #clear(m: MapLayout, zero: boolean): void {
    const map = this.#bpfMaps.get(m.ref)!;
    for (const [k] of map.batchLookupAll()) {
      if (zero) map.update(k, new Uint8Array(map.valueBufferSize));
      else map.delete(k);
    }
  }

  /** A map's entries now; a keyless count() without its entry has it as 0, as in bpftrace. */
  #read(m: MapLayout): MapEntry[] {
    const entries = readEntries(m, this.#bpfMaps.get(m.ref)!, this.#stacks);
    if (entries.length === 0 && m.info.agg?.fn === "count" && m.key.kind === "none") {
      return [[undefined, 0n]];
    }
    return entries;
  }

  /** Every map as bpftrace prints them at exit (in the order of their names). */
  format(): string {
    if (this.#final) return this.#finalText ?? "";
    return formatMaps(
      this.#mapsById.map((m) => ({ layout: printLayout(m), entries: this.#read(m) })),
    );
  }

  /** Writes {@linkcode format} to the output. */
  print(): void {
    this.#write(this.format());
  }

  /**
   * Each map's entries now (after stop: at stop), by map name (`"@start"`):
   * keys are `null` (no key), a number, a string or an array (a tuple);
   * values numbers, strings, arrays, {@linkcode Histogram}s, or
   * `{ count, average, total }` for `stats()`.
   */
  get maps(): Record<string, Map<unknown, ScriptValue>> {
    if (this.#final) return this.#final;
    const out: Record<string, Map<unknown, ScriptValue>> = {};
    for (const m of this.#mapsById) {
      out[m.info.name] = jsEntries(m, readEntries(m, this.#bpfMaps.get(m.ref)!, this.#stacks));
    }
    return out;
  }

  /** Runs until the script calls `exit()` or `signal` aborts, then stops (END, maps printed). */
  async run(options: RunOptions = {}): Promise<void> {
    await this.#until(Infinity, options.signal);
    await this.stop();
  }

  /** Runs for `seconds` (less if the script exits or `signal` aborts), then stops. */
  async runFor(seconds: number, options: RunOptions = {}): Promise<void> {
    if (!(seconds >= 0)) throw new InvalidArgumentError(`runFor: invalid seconds ${seconds}`);
    await this.#until(seconds, options.signal);
    await this.stop();
  }

  #until(seconds: number, signal: AbortSignal | undefined): Promise<void> {
    if (this.#stopped || this.#exited || signal?.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      let timer: ReturnType<typeof setTimeout> | undefined;
      const done = () => {
        if (timer !== undefined) clearTimeout(timer);
        signal?.removeEventListener("abort", done);
        resolve();
      };
      if (seconds !== Infinity) timer = setTimeout(done, seconds * 1000);
      signal?.addEventListener("abort", done, { once: true });
      this.#exit.then(done);
    });
  }

  /**
   * Stops: freezes the probes (from then on they return at once, so the
   * maps keep what they hold), processes the records still in the ring
   * buffer, runs END and prints every map (unless `printMaps: false`)
   * while the probes detach, then closes every descriptor. Idempotent.
   */
  stop(): Promise<void> {
    // One stop at a time: a second call (await using after run()) waits for the first.
    if (this.#stopped) return Promise.resolve();
    return this.#stopping ??= this.#stop();
  }

  async #stop(): Promise<void> {
    const o = this.#owned;
    let first: unknown;
    const attempt = async (f: () => unknown) => {
      try {
        await f();
      } catch (e) {
        first ??= e;
      }
    };
    // Frozen first: the programs return at once from now on, so END and the maps can print
    // while the probes detach. The detaches run all at once (each detach from a tracepoint
    // waits for RCU grace periods in close(2)) and are awaited after the print.
    await attempt(() => this.#freeze());
    const detached = attempt(() =>
      Promise.all(o.links.splice(0).reverse().map((l) => l.closeAsync()))
    );
    this.#pumpStop.abort();
    await attempt(() => this.#pump);
    await attempt(() => this.drain());
    this.#ending = true;
    for (const p of this.#progs) {
      if (p.point.kind === "end") await attempt(() => this.#testRun(p));
    }
    await attempt(() => this.drain());
    await attempt(() => {
      this.#finalText = this.format();
      this.#final = this.maps;
    });
    if (this.#printMaps) await attempt(() => this.#write("\n\n" + this.#finalText));
    await detached;
    this.#onExit();
    this.#stopped = true;
    await attempt(() => this.#closeAll());
    if (first !== undefined) throw first;
  }

  #closeAll(): void {
    try {
      this.#lost = this.lost;
    } catch {
      // the count is lost with the map
    }
    this.#closed = true;
    let first: unknown;
    for (const p of this.#programs.splice(0)) {
      try {
        p.close();
      } catch (e) {
        first ??= e;
      }
    }
    closeAll(this.#owned); // the links, the reader, the maps
    if (first !== undefined) throw first;
  }

  /** Detaches and closes everything at once, without END or printing; idempotent. */
  close(): void {
    if (this.#stopped) return;
    this.#stopped = true;
    this.#pumpStop.abort();
    this.#onExit();
    for (const l of this.#owned.links.splice(0).reverse()) {
      try {
        l.close();
      } catch { /* closed below anyway */ }
    }
    this.#closeAll();
  }

  /** Same as `close()`, for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Same as `stop()`, for `await using`. */
  [Symbol.asyncDispose](): Promise<void> {
    return this.stop();
  }
}

/** The error for a BEGIN or END this kernel cannot run (no BPF_PROG_TEST_RUN of raw_tp). */
export function noTestRun(name: string, cause?: unknown): NotSupportedError {
  return new NotSupportedError(
    "BPF_PROG_TEST_RUN of raw_tracepoint programs",
    MISC_REQUIREMENTS.raw_tp_test_run,
    {
      cause,
      detail: `${name} runs as a raw_tracepoint program with BPF_PROG_TEST_RUN; ` +
        "leave BEGIN and END out",
    },
  );
}
