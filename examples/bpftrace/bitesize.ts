/**
 * Debian's bpftrace tool bitesize.bt: block I/O sizes by process, as histograms.
 *
 *     deno run --allow-ffi examples/bpftrace/bitesize.ts
 *
 * @module
 */
import { hist, printf, script, tracepoint } from "@denobpf/ebpf/probe";

await using _ = await script(({ begin, on, end }) => {
  begin(() => printf("Tracing block device I/O... Hit Ctrl-C to end.\n"));
  on(tracepoint("block:block_rq_issue"), ({ args }) => hist("@", args.bytes, { by: args.comm }));
  end(() => printf("\nI/O size (bytes) histograms by process name:"));
}).run();
