/**
 * bpftrace's one-liner tutorial, lesson 11 (block I/O sizes):
 *
 *     bpftrace -e 'tracepoint:block:block_rq_issue { @ = hist(args.bytes); }'
 *
 *     deno run --allow-ffi examples/bpftrace/lesson11_block_io.ts
 *
 * @module
 */
import { hist, script, tracepoint } from "@denobpf/ebpf/probe";

await using _ = await script(({ on }) =>
  on(tracepoint<{ bytes: number }>("block:block_rq_issue"), ({ args }) => hist("@", args.bytes))
).run();
