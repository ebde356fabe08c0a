/**
 * A Prometheus exporter in a few lines: system calls by process (a
 * counter) and read(2) sizes (a histogram), from two scripted probes.
 *
 * Print one scrape after `seconds` (default 1):
 *
 *     deno run --allow-ffi examples/metrics_exporter.ts [seconds=1]
 *
 * Serve them for Prometheus at http://127.0.0.1:9435/metrics until Ctrl-C
 * (OpenMetrics when the scraper asks for it, as Prometheus does):
 *
 *     deno run --allow-ffi --allow-net examples/metrics_exporter.ts --port 9435
 *
 * @module
 */

import { interrupted, probe, tracepoint } from "@denobpf/ebpf/probe";
import { metricsHandler, probeMetric } from "@denobpf/ebpf/metrics";

const portAt = Deno.args.indexOf("--port");
const port = portAt >= 0 ? Number(Deno.args[portAt + 1]) : undefined;
const seconds = portAt >= 0 ? 0 : Number(Deno.args[0] ?? 1);

await using calls = await probe(tracepoint("raw_syscalls:sys_enter"))
  .count({ by: "comm" });
await using reads = await probe(
  tracepoint<{ ret: number }>("syscalls:sys_exit_read"),
  { where: "args.ret >= 0" },
).hist("args.ret");

const handler = metricsHandler([
  probeMetric(calls, {
    name: "syscalls_total",
    help: "System calls by process name",
    labels: ["comm"],
    maxSeries: 500,
  }),
  probeMetric(reads, { name: "read_size_bytes", help: "Bytes returned by read(2)" }),
]);

using stop = interrupted();
if (port === undefined) {
  // A scrape without a server (no --allow-net needed): call the handler.
  await new Promise((resolve) => {
    const timer = setTimeout(resolve, seconds * 1000);
    stop.addEventListener("abort", () => resolve(clearTimeout(timer)));
  });
  const response = handler(new Request("http://127.0.0.1/metrics"));
  console.log(await response.text());
} else {
  const server = Deno.serve({ hostname: "127.0.0.1", port, signal: stop }, handler);
  await server.finished;
}
