/**
 * A tracepoint variant of Debian's bpftrace tool biolatency.bt (which uses
 * kprobes, absent here): block I/O latency as a histogram, the issue time
 * kept per request (device and sector) from block_rq_issue to block_rq_complete.
 *
 *     tracepoint:block:block_rq_issue { @start[args->dev, args->sector] = nsecs; }
 *     tracepoint:block:block_rq_complete /@start[args->dev, args->sector]/ {
 *       @usecs = hist((nsecs - @start[args->dev, args->sector]) / 1000);
 *       delete(@start[args->dev, args->sector]); }
 *     END { clear(@start); }
 *
 *     deno run --allow-ffi examples/bpftrace/biolatency.ts
 *
 * @module
 */
import { clear, hist, nsecs, printf, script, tracepoint } from "@denobpf/ebpf/probe";

await using _ = await script(({ begin, on, end, map }) => {
  const start = map<[number, number], number>("@start");
  begin(() => printf("Tracing block device I/O... Hit Ctrl-C to end.\n"));
  on(tracepoint("block:block_rq_issue"), ({ args }) => start.set([args.dev, args.sector], nsecs));
  on(tracepoint("block:block_rq_complete"), {
    where: ({ args }) => start.get([args.dev, args.sector]),
  }, ({ args }) => {
    hist("@usecs", nsecs.sub(start.get([args.dev, args.sector])).div(1000));
    start.delete([args.dev, args.sector]);
  });
  end(() => clear(start));
}).run();
