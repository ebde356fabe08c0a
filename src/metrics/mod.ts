/**
 * Prometheus metrics from scripted probes and BPF maps: make metrics with
 * {@linkcode probeMetric} (a running `count`/`sum`/`hist`/… of
 * `@denobpf/ebpf/probe`), {@linkcode scriptMetric} (a map of a running
 * script or bpftrace program) and {@linkcode mapMetric} (any map, its keys
 * decoded into labels, as ebpf_exporter reads maps), and serve them with
 * {@linkcode metricsHandler} and `Deno.serve`: the Prometheus text format,
 * or OpenMetrics when the scraper asks for it. A configuration file (JSON or
 * YAML) can name the probes instead: {@linkcode parseExporterConfig} and
 * {@linkcode serveExporter}, or `deno task cli export CONFIG [--port N]`.
 *
 * ```ts ignore
 * import { probe, tracepoint } from "@denobpf/ebpf/probe";
 * import { metricsHandler, probeMetric } from "@denobpf/ebpf/metrics";
 *
 * const calls = await probe(tracepoint("raw_syscalls:sys_enter")).count({ by: "comm" });
 * const reads = await probe(tracepoint("syscalls:sys_exit_read"), { where: "args.ret >= 0" })
 *   .hist("args.ret");
 * Deno.serve(
 *   { hostname: "127.0.0.1", port: 9435 },
 *   metricsHandler([
 *     probeMetric(calls, { name: "syscalls_total", labels: ["comm"] }),
 *     probeMetric(reads, { name: "read_bytes", help: "Bytes returned by read(2)" }),
 *   ]),
 * );
 * ```
 *
 * @module
 */

export {
  type AggregateSource,
  type BatchCursorLike,
  type BatchReadable,
  DEFAULT_MAX_SERIES,
  type ExpositionFormat,
  type HistogramBucketLike,
  type HistogramLike,
  type IntType,
  type MapHistogram,
  type MapLabel,
  mapMetric,
  type MapMetricOptions,
  type Metric,
  type MetricOptions,
  type MetricType,
  probeMetric,
  type ProbeMetricOptions,
  type ScriptMapKind,
  type ScriptMapsSource,
  scriptMetric,
  type ScriptMetricOptions,
} from "./metric.ts";
export {
  DROPPED_SERIES_METRIC,
  metricsHandler,
  type MetricsHandlerOptions,
  MetricsRenderer,
  MetricsScrapeError,
  negotiateFormat,
  OPENMETRICS_CONTENT_TYPE,
  PROMETHEUS_CONTENT_TYPE,
} from "./handler.ts";
export { ExpositionWriter } from "./writer.ts";
export {
  Exporter,
  type ExporterAction,
  type ExporterConfig,
  type ExporterMetricConfig,
  type ExporterScriptConfig,
  type ExporterScriptMetricConfig,
  parseExporterConfig,
  serveExporter,
  type ServeExporterOptions,
  startExporter,
} from "./exporter.ts";
// The error base classes, for `instanceof` checks by users of this entry alone.
export { EbpfError, InvalidArgumentError } from "../errors.ts";
