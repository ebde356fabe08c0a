// A feature probe's answer is cached for the whole process, so a program load
// the verifier abandons because a signal is pending (EAGAIN) must not read as
// "not supported". Under `deno run --cpu-prof` (a SIGPROF every millisecond)
// about 5% of raw_tp_test_run probes answered no before the probes retried
// like libbpf, and `denobpf trace` then refused BEGIN ("needs Linux 5.10").

import assert from "node:assert/strict";
import { probeMisc } from "../src/features/misc.ts";

const supported = probeMisc("raw_tp_test_run").supported;

Deno.test({
  name: "feature probes: a load interrupted by a signal (EAGAIN) is retried, not cached as 'no'" +
    (supported ? "" : " (skipped: raw_tp_test_run not supported)"),
  ignore: !supported,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "denobpf-probe-signal-" });
    try {
      const script = `${dir}/probe.ts`;
      const misc = new URL("../src/features/misc.ts", import.meta.url).href;
      const cache = new URL("../src/features/_cache.ts", import.meta.url).href;
      await Deno.writeTextFile(
        script,
        `import { probeMisc } from ${JSON.stringify(misc)};\n` +
          `import { _forget } from ${JSON.stringify(cache)};\n` +
          "const no = [];\n" +
          "for (let i = 0; i < 300; i++) {\n" +
          "  _forget();\n" +
          '  const o = probeMisc("raw_tp_test_run");\n' +
          "  if (!o.supported) no.push(o.errno);\n" +
          "}\n" +
          "console.log(JSON.stringify(no));\n",
      );
      const out = await new Deno.Command(Deno.execPath(), {
        args: ["run", "-A", "--cpu-prof", `--cpu-prof-dir=${dir}/prof`, script],
        stdout: "piped",
        stderr: "piped",
      }).output();
      const err = new TextDecoder().decode(out.stderr);
      assert.equal(out.code, 0, err);
      const errnos: number[] = JSON.parse(new TextDecoder().decode(out.stdout));
      assert.deepEqual(errnos, [], `probes that answered no (errno) under SIGPROF: ${errnos}`);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
