/**
 * `export CONFIG [--port N] [--hostname H] [--root DIR]`: the declarative exporter. Reads
 * a configuration (JSON or YAML) naming probes and metrics, starts them,
 * serves `/metrics` for Prometheus, and on SIGTERM or Ctrl-C stops serving,
 * detaches the probes and exits 0.
 *
 * @module
 */

import { InvalidArgumentError } from "../errors.ts";
import { parseExporterConfig, serveExporter } from "../metrics/exporter.ts";
import { interrupted } from "../sys/signals.ts";
import { readTextFile } from "../sys/file.ts";
import { parseArgs, stringOption } from "./args.ts";

const USAGE = `usage: export CONFIG [--port N] [--hostname H] [--root DIR]

  CONFIG        a JSON or YAML file: { port?, hostname?, root?, metrics: [{ name, help?,
                probe, where?, action, value?, by?, labels?, min?, max?, step?, type?,
                maxSeries?, multiplier? }], scripts: [{ name?, bpftrace: | PROGRAM (or ir:),
                params?, metrics: [{ map, name, help?, labels?, type?, maxSeries?,
                multiplier? }] }] } (examples in examples/exporter/, runqlat.yaml a script)
  --port N      listen on N instead of the config's port (default 9435)
  --hostname H  listen on H instead of the config's hostname (default 127.0.0.1)
  --root DIR    the host's file systems are under DIR instead of the config's root
                (default /; in a container with the host's /proc, /sys, tracefs and
                bpffs under /host: --root /host)`;

/** Runs `export`; returns the exit code once stopped by SIGTERM or Ctrl-C. */
export async function exportCommand(args: string[]): Promise<number> {
  const parsed = parseArgs(args, ["port", "hostname", "root"]);
  if (parsed.options.has("help") || parsed.positional.length !== 1) {
    console.error(USAGE);
    return parsed.options.has("help") ? 0 : 2;
  }
  const path = parsed.positional[0];
  const portText = stringOption(parsed, "port");
  const port = portText === undefined ? undefined : Number(portText);
  if (port !== undefined && (!Number.isInteger(port) || port < 0 || port > 65535)) {
    throw new InvalidArgumentError(`--port must be an integer from 0 to 65535, got ${portText}`);
  }
  const root = stringOption(parsed, "root");
  if (root !== undefined && !root.startsWith("/")) {
    throw new InvalidArgumentError(`--root must be an absolute path, e.g. /host, got ${root}`);
  }
  const config = parseExporterConfig(readTextFile(path), path);
  const count = config.metrics.length +
    (config.scripts ?? []).reduce((n, s) => n + s.metrics.length, 0);
  using stop = interrupted();
  await serveExporter(config, {
    port,
    hostname: stringOption(parsed, "hostname"),
    root,
    signal: stop,
    onListen: (addr) =>
      console.log(
        `serving ${count} metrics at http://${addr.hostname}:${addr.port}/metrics`,
      ),
  });
  console.log("stopped");
  return 0;
}
