/**
 * A tracepoint variant of Debian's bpftrace tool biosnoop.bt (which uses
 * `kprobe:blk_account_io_start` and `_done`, absent here): each block I/O
 * with its issuing process and latency, from `block:block_io_start` and
 * `block:block_io_done` (the tracepoints of those two functions, since Linux
 * 6.5), or before 6.5 from `block:block_rq_issue` and `block:block_rq_complete`
 * (the issue to the driver instead of the accounting start). They carry no
 * request pointer, so the state is kept per device and sector, and the disk is
 * printed as its major:minor instead of its name.
 *
 *     deno run --allow-ffi examples/bpftrace/biosnoop.ts
 *
 * @module
 */
import { clear, comm, elapsed, nsecs, pid, printf, script, tracepoint } from "@denobpf/ebpf/probe";
import { tracepointExists } from "@denobpf/ebpf/tracefs";

const [first, last] = tracepointExists("block", "block_io_start")
  ? ["block:block_io_start", "block:block_io_done"]
  : ["block:block_rq_issue", "block:block_rq_complete"];

await using _ = await script(({ begin, on, end, map }) => {
  const start = map<[number, number], number>("@start");
  const iopid = map<[number, number], number>("@iopid");
  const iocomm = map<[number, number], string>("@iocomm");
  begin(() => printf("%-12s %-7s %-16s %-6s %7s\n", "TIME(ms)", "DISK", "COMM", "PID", "LAT(ms)"));
  on(tracepoint(first), ({ args }) => {
    start.set([args.dev, args.sector], nsecs);
    iopid.set([args.dev, args.sector], pid);
    iocomm.set([args.dev, args.sector], comm);
  });
  on(tracepoint(last), {
    where: ({ args }) => {
      const k: [typeof args.dev, typeof args.sector] = [args.dev, args.sector];
      return start.get(k).ne(0).and(iopid.get(k).ne(0)).and(iocomm.get(k).ne(""));
    },
  }, ({ args }) => {
    const k: [typeof args.dev, typeof args.sector] = [args.dev, args.sector];
    printf(
      "%-12u %3d:%-3d %-16s %-6d %7d\n",
      elapsed.div(1e6),
      args.dev.shr(20),
      args.dev.band(0xfffff),
      iocomm.get(k),
      iopid.get(k),
      nsecs.sub(start.get(k)).div(1e6),
    );
    start.delete(k);
    iopid.delete(k);
    iocomm.delete(k);
  });
  end(() => {
    clear(start);
    clear(iopid);
    clear(iocomm);
  });
}).run();
