/**
 * The HTTP side: {@linkcode metricsHandler} serves metrics to `Deno.serve`
 * in the Prometheus text format, or OpenMetrics when the scraper asks.
 *
 * @module
 */

import { EbpfError, InvalidArgumentError, nameError } from "../errors.ts";
import type { ExpositionFormat, Metric } from "./metric.ts";
import { ascii, ExpositionWriter } from "./writer.ts";

/** The content type of the Prometheus text format. */
export const PROMETHEUS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";
/** The content type of OpenMetrics 1.0. */
export const OPENMETRICS_CONTENT_TYPE =
  "application/openmetrics-text; version=1.0.0; charset=utf-8";

/** The family of series left out by `maxSeries`, one series per metric. */
export const DROPPED_SERIES_METRIC = "denobpf_metrics_dropped_series";

/** Options of {@linkcode metricsHandler}. */
export interface MetricsHandlerOptions {
  /** The path it answers (default `"/metrics"`); `null` answers every path. */
  path?: string | null;
}

/**
 * The format a scraper asks for in its `Accept` header: OpenMetrics when it
 * lists `application/openmetrics-text` (with a q above 0), else the
 * Prometheus text format.
 */
export function negotiateFormat(accept: string | null): ExpositionFormat {
  if (!accept) return "prometheus";
  for (const range of accept.split(",")) {
    const [type, ...params] = range.split(";").map((s) => s.trim().toLowerCase());
    if (type !== "application/openmetrics-text") continue;
    const q = params.find((p) => p.startsWith("q="));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue;
    return "openmetrics";
  }
  return "prometheus";
}

interface Family {
  metric: Metric;
  header: Record<ExpositionFormat, Uint8Array>;
  dropped: number;
  /** The metric as its samples name it (a counter with `_total`). */
  sample: string;
  droppedLine: Uint8Array;
}

function escapeHelp(s: string, quote: boolean): string {
  let out = s.replaceAll("\\", "\\\\").replaceAll("\n", "\\n");
  if (quote) out = out.replaceAll('"', '\\"');
  return out;
}

function headerOf(m: Metric, format: ExpositionFormat): Uint8Array {
  const om = format === "openmetrics";
  // Prometheus text names a counter's family after its sample (`x_total`);
  // OpenMetrics names it without the suffix.
  const family = m.type === "counter" && !om ? `${m.name}_total` : m.name;
  return ascii(`# HELP ${family} ${escapeHelp(m.help, om)}\n# TYPE ${family} ${m.type}\n`);
}

/**
 * Renders metrics into the exposition formats, reusing one buffer; keeps
 * the running count of series each metric left out. {@linkcode metricsHandler}
 * serves one; use it directly to write metrics elsewhere (a file, a push).
 */
export class MetricsRenderer {
  #families: Family[];
  #out = new ExpositionWriter();
  #droppedHeader: Record<ExpositionFormat, Uint8Array>;

  /** A renderer of `metrics`; their names must differ. */
  constructor(metrics: readonly Metric[]) {
    if (!Array.isArray(metrics)) {
      throw new InvalidArgumentError(
        `metrics: give a list of metrics (probeMetric(…), mapMetric(…)), got ${typeof metrics}`,
      );
    }
    const seen = new Set<string>([DROPPED_SERIES_METRIC]);
    this.#families = metrics.map((m, i) => {
      if (!m || typeof m.write !== "function" || typeof m.name !== "string") {
        throw new InvalidArgumentError(
          `metrics[${i}] is not a metric: make it with probeMetric(…) or mapMetric(…)`,
        );
      }
      if (seen.has(m.name)) {
        throw new InvalidArgumentError(
          `metrics: two metrics are named "${m.name}"; give each its own name`,
        );
      }
      seen.add(m.name);
      return {
        metric: m,
        header: { prometheus: headerOf(m, "prometheus"), openmetrics: headerOf(m, "openmetrics") },
        dropped: 0,
        sample: m.type === "counter" ? `${m.name}_total` : m.name,
        droppedLine: ascii(
          `${DROPPED_SERIES_METRIC}_total{metric="${
            m.type === "counter" ? `${m.name}_total` : m.name
          }"} `,
        ),
      };
    });
    const drops: Metric = {
      name: DROPPED_SERIES_METRIC,
      help: "Series left out of a scrape by a metric's maxSeries, by metric",
      type: "counter",
      maxSeries: Infinity,
      write: () => 0,
    };
    this.#droppedHeader = {
      prometheus: headerOf(drops, "prometheus"),
      openmetrics: headerOf(drops, "openmetrics"),
    };
  }

  /** The running count of series each metric left out, by metric name. */
  dropped(): Map<string, number> {
    return new Map(this.#families.map((f) => [f.metric.name, f.dropped]));
  }

  /**
   * One scrape: every metric in `format`, as bytes (a copy: the buffer is
   * reused). Throws what a metric's read throws, naming the metric.
   */
  render(format: ExpositionFormat): Uint8Array<ArrayBuffer> {
    const out = this.#out;
    out.reset();
    for (const f of this.#families) {
      out.bytes(f.header[format]);
      try {
        f.dropped += f.metric.write(out, format);
      } catch (e) {
        const why = e instanceof Error ? e.message : String(e);
        throw new MetricsScrapeError(f.sample, why, { cause: e });
      }
    }
    if (this.#families.length) {
      out.bytes(this.#droppedHeader[format]);
      for (const f of this.#families) {
        out.bytes(f.droppedLine);
        out.number(f.dropped);
        out.byte(0x0a);
      }
    }
    if (format === "openmetrics") out.bytes(EOF);
    return out.take();
  }
}

const EOF = ascii("# EOF\n");

/** Reading a metric failed during a scrape (its map was closed, …); `metric` names it. */
export class MetricsScrapeError extends EbpfError {
  static {
    nameError(this, "MetricsScrapeError");
  }
  /** Always `"EMETRICSCRAPE"`. */
  override readonly code = "EMETRICSCRAPE";
  /** The metric whose read failed. */
  readonly metric: string;
  /** Creates the error for `metric`. */
  constructor(metric: string, why: string, options?: ErrorOptions) {
    super(
      `metric ${metric}: reading it for a scrape failed: ${why}; ` +
        `close the handler's metrics only after the server stopped`,
      options,
    );
    this.metric = metric;
  }
}

/**
 * A request handler for `Deno.serve` serving `metrics` at `/metrics`: the
 * Prometheus text format (0.0.4), or OpenMetrics 1.0 (ending in `# EOF`)
 * when the `Accept` header asks for `application/openmetrics-text`. A
 * failing read answers 500 naming the metric; other paths 404; methods but
 * GET and HEAD 405. Each scrape also reports
 * `denobpf_metrics_dropped_series_total{metric="…"}` (a counter's metric named with
 * `_total`), the series each metric
 * left out so far because of its `maxSeries`.
 *
 * @example
 * ```ts ignore
 * import { probe, tracepoint } from "@denobpf/ebpf/probe";
 * import { metricsHandler, probeMetric } from "@denobpf/ebpf/metrics";
 *
 * const calls = await probe(tracepoint("raw_syscalls:sys_enter")).count({ by: "comm" });
 * Deno.serve(
 *   { hostname: "127.0.0.1", port: 9435 },
 *   metricsHandler([probeMetric(calls, { name: "syscalls_total", labels: ["comm"] })]),
 * );
 * ```
 */
export function metricsHandler(
  metrics: readonly Metric[],
  options: MetricsHandlerOptions = {},
): (request: Request) => Response {
  const renderer = new MetricsRenderer(metrics);
  const path = options.path === undefined ? "/metrics" : options.path;
  return (request: Request): Response => {
    if (path !== null && new URL(request.url).pathname !== path) {
      return new Response(`not found: metrics are at ${path}\n`, {
        status: 404,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
    if (request.method !== "GET" && request.method !== "HEAD") {
      return new Response(`${request.method} is not allowed: scrape with GET\n`, {
        status: 405,
        headers: { allow: "GET, HEAD", "content-type": "text/plain; charset=utf-8" },
      });
    }
    const format = negotiateFormat(request.headers.get("accept"));
    let body: Uint8Array<ArrayBuffer>;
    try {
      body = renderer.render(format);
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      return new Response(`${message}\n`, {
        status: 500,
        headers: { "content-type": "text/plain; charset=utf-8" },
      });
    }
    return new Response(request.method === "HEAD" ? null : body, {
      headers: {
        "content-type": format === "openmetrics"
          ? OPENMETRICS_CONTENT_TYPE
          : PROMETHEUS_CONTENT_TYPE,
      },
    });
  };
}
