// The harness shared by bench/ringbuf.ts and bench/perfbuf.ts: a BPF
// producer on the syscalls/sys_enter_getpid tracepoint of a C process that
// calls getpid() in a tight loop, the map pinned on a private bpffs, and
// either a denobpf consumer (in this process) or a libbpf one (a C child
// that prints "ready", then "<count> <seconds>") reading it for a round.

import type { Assembler } from "../src/asm/mod.ts";
import { createMap, type MapSpec } from "../src/map/mod.ts";
import { loadProgram } from "../src/program/mod.ts";
import { ioctl, objPin, perfEventOpen, PerfIoctl, PerfType } from "../src/sys/mod.ts";
import { compileC, privateBpffs } from "./_util.ts";

/** What one round consumed in how long. */
export interface Consumed {
  consumed: number;
  seconds: number;
}

/** A consumer: reads the pinned map at `path`, calling `start()` to release the producer. */
export type Consumer = (path: string, start: () => Promise<void>) => Promise<Consumed>;

/** Sets up the producer binary, the C consumer and a private bpffs. */
export async function eventBench(options: {
  seconds: number;
  consumerSource: string;
  map: MapSpec;
  producer: (mapName: string) => Assembler;
}) {
  const here = new URL(".", import.meta.url).pathname;
  const tmp = await Deno.makeTempDir({ prefix: "denobpf-bench-" });
  const consumerBin = await compileC([`${here}${options.consumerSource}`], `${tmp}/consumer`, [
    "-lbpf",
  ]);
  const producerBin = await compileC([`${here}getpid_loop.c`], `${tmp}/producer`);
  const fs = await privateBpffs();
  const tracefs = "/sys/kernel/tracing";
  try {
    Deno.statSync(`${tracefs}/events`);
  } catch {
    await new Deno.Command("mount", { args: ["-t", "tracefs", "tracefs", tracefs] }).output();
  }
  const tpId = Number(Deno.readTextFileSync(`${tracefs}/events/syscalls/sys_enter_getpid/id`));

  /** One round: a fresh map and producer, consumed by `consume`. */
  async function round(consume: Consumer): Promise<Consumed> {
    using map = createMap(options.map);
    using prog = loadProgram({
      type: "tracepoint",
      instructions: options.producer("events"),
      maps: { events: map },
    });
    const pin = `${fs.path}/m${Math.random().toString(36).slice(2)}`;
    objPin(map.fd, pin);
    const producer = new Deno.Command(producerBin, {
      args: [String(options.seconds)],
      stdin: "piped",
      stdout: "piped",
    }).spawn();
    using ev = perfEventOpen(
      { type: PerfType.TRACEPOINT, config: tpId, samplePeriod: 1, wakeup: 1 },
      { pid: producer.pid, cpu: -1 },
    );
    ioctl(ev.value, PerfIoctl.SET_BPF, prog.fd.value);
    ioctl(ev.value, PerfIoctl.ENABLE);
    const w = producer.stdin.getWriter();
    const r = await consume(pin, () => w.write(new Uint8Array([1])));
    await w.close();
    await producer.output();
    Deno.removeSync(pin);
    return r;
  }

  /** The libbpf consumer, run as a child with `args` after the map path and seconds. */
  function cConsumer(args: string[] = []): Consumer {
    return async (path, start) => {
      const child = new Deno.Command(consumerBin, {
        args: [path, String(options.seconds), ...args],
        stdout: "piped",
      }).spawn();
      const reader = child.stdout.getReader();
      const dec = new TextDecoder();
      let text = "";
      while (!text.includes("ready")) {
        const { value, done } = await reader.read();
        if (done) break;
        text += dec.decode(value);
      }
      await start();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        text += dec.decode(value);
      }
      await child.status;
      const [n, s] = text.split("\n")[1].trim().split(" ").map(Number);
      return { consumed: n, seconds: s };
    };
  }

  return {
    round,
    cConsumer,
    async [Symbol.asyncDispose]() {
      await fs[Symbol.asyncDispose]();
      await Deno.remove(tmp, { recursive: true });
    },
  };
}

/** Records per second of a round. */
export const rate = (r: Consumed): number => r.consumed / r.seconds;
