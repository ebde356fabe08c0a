/**
 * Debian's bpftrace tool loads.bt: the load averages every second, read from
 * the kernel's `avenrun` array (fixed point, 11 fractional bits).
 *
 *     deno run --allow-ffi examples/bpftrace/loads.ts
 *
 * @module
 */
import { deref, kaddr, local, printf, script, time } from "@denobpf/ebpf/probe";

await using _ = await script(({ begin, every }) => {
  begin(() => printf("Reading load averages... Hit Ctrl-C to end.\n"));
  every(1000, () => {
    const avenrun = local(kaddr("avenrun"), "avenrun");
    const loads = [0, 8, 16].map((off, i) =>
      local(deref(off ? avenrun.add(off) : avenrun), `load${[1, 5, 15][i]}`)
    );
    time("%H:%M:%S ");
    const parts = loads.flatMap((l) => [l.shr(11), l.band((1 << 11) - 1).mul(1000).shr(11)]);
    printf("load averages: %d.%03d %d.%03d %d.%03d\n", ...parts);
  });
}).run();
