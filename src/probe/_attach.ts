/**
 * Attach dispatch of scripted probes: one link per point (one per CPU for
 * `profile`), by the kind of the probe point.
 *
 * @module
 */

import { attachKprobe } from "../link/kprobe.ts";
import type { Link } from "../link/link.ts";
import { attachPerfEvent, attachRawTracepoint, attachTracepoint } from "../link/tracepoint.ts";
import { attachTracing } from "../link/tracing.ts";
import { attachUprobe, attachUsdt } from "../link/uprobe.ts";
import type { Program } from "../program/program.ts";
import { onlineCpus } from "../sys/cpu.ts";
import { PerfSwConfig, PerfType } from "../sys/perf_event.ts";
import type { TracefsOptions } from "../tracefs/mount.ts";
import type { Schema } from "./_access.ts";

/** Attaches `program` at the schema's probe point; closes what it attached if one fails. */
export function attach(schema: Schema, program: Program, tracefs: TracefsOptions): Link[] {
  const p = schema.point;
  switch (p.kind) {
    case "tracepoint":
      return [attachTracepoint(program, { ...tracefs, group: p.group, name: p.event })];
    case "raw_tracepoint":
      return [attachRawTracepoint(program, { name: p.event })];
    case "tp_btf":
      return [attachTracing(program)];
    case "uprobe":
    case "uretprobe":
      return [attachUprobe(program, {
        ...tracefs,
        path: schema.path!,
        symbol: p.symbol,
        pid: p.pid,
        retprobe: p.kind === "uretprobe",
      })];
    case "usdt":
      return [
        attachUsdt(program, {
          ...tracefs,
          path: schema.path!,
          provider: p.provider,
          name: p.name,
          pid: p.pid,
        }),
      ];
    case "kprobe":
    case "kretprobe":
      return [attachKprobe(program, {
        ...tracefs,
        symbol: p.symbol,
        retprobe: p.kind === "kretprobe",
      })];
    case "profile": {
      const links: Link[] = [];
      try {
        for (const cpu of onlineCpus()) {
          links.push(attachPerfEvent(program, {
            attr: {
              type: PerfType.SOFTWARE,
              config: PerfSwConfig.CPU_CLOCK,
              samplePeriod: p.hz,
              flags: ["freq"],
            },
            pid: -1,
            cpu,
          }));
        }
      } catch (e) {
        for (const l of links) l.close();
        throw e;
      }
      return links;
    }
  }
}
