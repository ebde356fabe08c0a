/**
 * Typed bindings from `denobpf gen ts`: a BPF program written in C
 * (testdata/bpf/gen_events.c) counts this process's system calls in a hash
 * map with struct keys and values and sends its first calls through a ring
 * buffer; TypeScript loads it, sets a `.rodata` constant, reads the
 * records, the map and the global variables — all typed from the object's
 * BTF by the generated module examples/gen/gen_events_bpf.ts.
 *
 *     deno run --allow-ffi examples/gen_events.ts [events=8]
 *
 * The workflow (README, "Typed bindings: gen ts"):
 *
 *     clang -target bpfel -O2 -g -c gen_events.c -o gen_events_bpfel.o
 *     deno task cli gen ts testdata/bpf/gen_events_bpfel.o -o examples/gen/gen_events_bpf.ts
 *
 * @module
 */

import { attachRawTracepoint } from "@denobpf/ebpf/link";
import { ringBufReader } from "@denobpf/ebpf/ringbuf";
import {
  type CountKey,
  type CountValue,
  decodeEvent,
  type Event,
  EventKind,
  load,
  loadSpec,
} from "./gen/gen_events_bpf.ts";

/** What {@linkcode watchOwnSyscalls} saw. */
export interface Watched {
  /** The records the program sent, decoded. */
  events: Event[];
  /** The map's entries: calls per (pid, syscall number). */
  counts: [CountKey, CountValue][];
  /** The `.bss` counter of records sent. */
  eventCount: bigint;
  /** The `.data` string the program last wrote. */
  lastComm: string;
}

/** Loads the object for this process, lets it see `max` system calls' records, and reads it all back. */
export async function watchOwnSyscalls(max = 8): Promise<Watched> {
  const spec = loadSpec();
  spec.variables.target_pid.set(Deno.pid); // .rodata: known to the verifier
  spec.variables.limits.set({ max_events: max, verbose: false });
  using objs = await load({ spec });
  using reader = ringBufReader(objs.maps.events);
  {
    using _link = attachRawTracepoint(objs.programs.on_sys_enter, { name: "sys_enter" });
    // Any system call of this process counts: the runtime's timers make some.
    for (let i = 0; i < 3; i++) await new Promise((r) => setTimeout(r, 20));
  }
  const events: Event[] = [];
  reader.consume((record) => {
    events.push(decodeEvent(record));
  });
  return {
    events,
    counts: [...objs.maps.counts],
    eventCount: objs.variables.event_count.get(),
    lastComm: objs.variables.last_comm.get(),
  };
}

if (import.meta.main) {
  const max = Number(Deno.args[0] ?? 8);
  const seen = await watchOwnSyscalls(max);
  console.log(`${seen.events.length} records (event_count ${seen.eventCount}):`);
  for (const e of seen.events) {
    const kind = e.kind === EventKind.EVENT_LIMIT ? "last" : "enter";
    console.log(
      `  ${e.comm} pid ${e.pid} tid ${e.tid} cpu ${e.cpu} syscall ${e.syscall_nr} (${kind}, ` +
        `flags ${e.flags}, truncated ${e.truncated})`,
    );
  }
  const top = seen.counts.sort((a, b) => Number(b[1].calls - a[1].calls)).slice(0, 5);
  console.log(`busiest system calls of ${seen.lastComm} (pid ${Deno.pid}):`);
  for (const [k, v] of top) console.log(`  syscall ${k.syscall_nr}: ${v.calls} calls`);
}
