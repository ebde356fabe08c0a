// Local time as C's strftime prints it, for the conversions bpftrace
// scripts use in time() and strftime() (`%H:%M:%S`, `%Y-%m-%d`…, and
// bpftrace's own `%f`, microseconds), and the wall-clock time of an
// nsecs-since-boot value (bpftrace's strftime(fmt, nsecs)).

import { readTextFile } from "../sys/file.ts";

const pad2 = (n: number) => String(n).padStart(2, "0");

/** strftime for the conversions `time()` formats use (`%H:%M:%S`, `%Y-%m-%d`…). */
export function strftime(format: string, d: Date): string {
  return format.replace(/%([HMSYmdyjeIpTFD%])/g, (_m, c: string) => {
    switch (c) {
      case "H":
        return pad2(d.getHours());
      case "M":
        return pad2(d.getMinutes());
      case "S":
        return pad2(d.getSeconds());
      case "Y":
        return String(d.getFullYear());
      case "y":
        return pad2(d.getFullYear() % 100);
      case "m":
        return pad2(d.getMonth() + 1);
      case "d":
        return pad2(d.getDate());
      case "e":
        return String(d.getDate()).padStart(2);
      case "I":
        return pad2(d.getHours() % 12 || 12);
      case "p":
        return d.getHours() < 12 ? "AM" : "PM";
      case "T":
        return `${pad2(d.getHours())}:${pad2(d.getMinutes())}:${pad2(d.getSeconds())}`;
      case "F":
        return `${d.getFullYear()}-${pad2(d.getMonth() + 1)}-${pad2(d.getDate())}`;
      case "D":
        return `${pad2(d.getMonth() + 1)}/${pad2(d.getDate())}/${pad2(d.getFullYear() % 100)}`;
      default:
        return "%";
    }
  });
}

/**
 * `strftime(format, ns)` as bpftrace prints it: `ns` nanoseconds after
 * boot as local time (the boot time from /proc/uptime, to 10 ms), `%f` the
 * microseconds.
 */
export function bootTimeText(format: string, ns: bigint): string {
  const uptime = readTextFile("/proc/uptime").split(" ")[0];
  const bootNs = BigInt(Date.now()) * 1_000_000n -
    BigInt(Math.round(Number(uptime) * 1000)) * 1_000_000n;
  const at = bootNs + ns;
  const us = String((at % 1_000_000_000n) / 1000n).padStart(6, "0");
  return strftime(format.replaceAll("%f", us), new Date(Number(at / 1_000_000n)));
}
