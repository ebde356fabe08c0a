/**
 * A tracepoint variant of Debian's bpftrace tool biostacks.bt (which uses
 * `kprobe:blk_account_io_start` and `blk_mq_start_request`, absent here):
 * the time from a block I/O's accounting start to its issue, as a histogram
 * per kernel stack of the start, from `block:block_io_start` (the tracepoint
 * of blk_account_io_start, since Linux 6.5; before, `block:block_rq_insert`,
 * the queueing of the request, which devices without an I/O scheduler skip)
 * to `block:block_rq_issue` (which blk_mq_start_request fires). They carry no
 * request pointer, so the stack and time are kept per device and sector.
 *
 *     deno run --allow-ffi examples/bpftrace/biostacks.ts
 *
 * @module
 */
import { clear, hist, kstack, nsecs, printf, script, tracepoint } from "@denobpf/ebpf/probe";
import { tracepointExists } from "@denobpf/ebpf/tracefs";

const start = tracepointExists("block", "block_io_start") ? "block_io_start" : "block_rq_insert";

await using _ = await script(({ begin, on, end, map }) => {
  const [reqstack, reqts] = [
    map<[number, number], string>("@reqstack"),
    map<[number, number], number>("@reqts"),
  ];
  begin(() => printf("Tracing block I/O with init stacks. Hit Ctrl-C to end.\n"));
  on(tracepoint(`block:${start}`), ({ args }) => {
    reqstack.set([args.dev, args.sector], kstack);
    reqts.set([args.dev, args.sector], nsecs);
  });
  on(tracepoint("block:block_rq_issue"), {
    where: ({ args }) => reqts.get([args.dev, args.sector]),
  }, ({ args }) => {
    hist("@usecs", nsecs.sub(reqts.get([args.dev, args.sector])), {
      by: reqstack.get([args.dev, args.sector]),
    });
    reqstack.delete([args.dev, args.sector]);
    reqts.delete([args.dev, args.sector]);
  });
  end(() => {
    clear(reqstack);
    clear(reqts);
  });
}).run();
