/**
 * Debian's bpftrace tool writeback.bt: writeback events with their device,
 * pages, reason (names kept in a map filled at BEGIN) and latency (the start
 * time kept per device).
 *
 *     deno run --allow-ffi examples/bpftrace/writeback.ts
 *
 * @module
 */
import { clear, cond, local, nsecs, printf, script, time, tracepoint } from "@denobpf/ebpf/probe";

const REASONS = ["background", "vmscan", "sync", "periodic", "laptop_timer", "free_more_memory"];
await using _ = await script(({ begin, on, end, map }) => {
  const [reason, start] = [map<number, string>("@reason"), map<number, number>("@start")];
  begin(() => {
    printf("Tracing writeback... Hit Ctrl-C to end.\n");
    printf("%-9s %-8s %-8s %-16s %s\n", "TIME", "DEVICE", "PAGES", "REASON", "ms");
    [...REASONS, "fs_free_space", "forker_thread"].forEach((r, i) => reason.set(i, r));
  });
  on(tracepoint("writeback:writeback_start"), ({ args }) => start.set(args.sb_dev, nsecs));
  on(tracepoint("writeback:writeback_written"), ({ args }) => {
    const dev = local(args.sb_dev, "sb_dev");
    const s = local(start.get(dev), "s");
    start.delete(dev);
    const lat = local(cond(s, nsecs.sub(s).div(1000), 0), "lat");
    time("%H:%M:%S  ");
    printf(
      "%-8s %-8d %-16s %d.%03d\n",
      args.name,
      args.nr_pages.band(0xffff),
      reason.get(args.reason.band(0xffffffff)),
      lat.div(1000),
      lat.mod(1000),
    );
  });
  end(() => {
    clear(reason);
    clear(start);
  });
}).run();
