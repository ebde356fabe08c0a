// The deployment (deploy/): the container image recipe and the DaemonSet
// manifest name what the exporter needs (host PID, the host's /proc, /sys,
// tracefs and bpffs under the exporter's root, CAP_BPF and CAP_PERFMON, not
// privileged), and the exporter runs as it will in the pod: with `--root`
// pointed at bind mounts of the host's file systems, in a mount namespace of
// its own, counting a workload's system calls.

import assert from "node:assert/strict";
import { parseYaml } from "../src/metrics/_yaml.ts";
import { parseExporterConfig } from "../src/metrics/exporter.ts";
import { loadedModules } from "./_helpers.ts";
import { startExport } from "./exporter_fixtures.ts";

const repo = new URL("../", import.meta.url);
const read = (path: string) => Deno.readTextFileSync(new URL(path, repo));

/** What the exporter needs of the host, under its root: `mount --bind` sources. */
const HOST_PATHS = ["/proc", "/sys", "/sys/kernel/tracing", "/sys/fs/bpf"];

/** The capabilities the pod may add: CAP_SYS_RESOURCE only for kernels before 5.11. */
const NEEDED_CAPS = ["BPF", "PERFMON"];
const ALLOWED_CAPS = [...NEEDED_CAPS, "SYS_RESOURCE"];

// deno-lint-ignore no-explicit-any
type Yaml = any;

/** The value following `flag` in `args`. */
function flagValue(args: string[], flag: string): string | undefined {
  const i = args.indexOf(flag);
  return i < 0 ? undefined : args[i + 1];
}

Deno.test("deploy/daemonset.yaml parses and names what the exporter needs", () => {
  const ds: Yaml = parseYaml(read("deploy/daemonset.yaml"));
  assert.equal(ds.apiVersion, "apps/v1");
  assert.equal(ds.kind, "DaemonSet");
  const pod = ds.spec.template.spec;
  assert.deepEqual(ds.spec.selector.matchLabels, ds.spec.template.metadata.labels);
  assert.equal(pod.hostPID, true, "pid labels name the node's processes");
  assert.equal(pod.containers.length, 1);
  const c = pod.containers[0];

  // Not privileged: every capability dropped, then only what the kernel asks.
  const sc = c.securityContext;
  assert.notEqual(sc.privileged, true);
  assert.equal(sc.allowPrivilegeEscalation, false);
  assert.deepEqual(sc.capabilities.drop, ["ALL"]);
  for (const cap of NEEDED_CAPS) assert.ok(sc.capabilities.add.includes(cap), cap);
  for (const cap of sc.capabilities.add) assert.ok(ALLOWED_CAPS.includes(cap), `adds ${cap}`);

  // The exporter's arguments: a config from a mounted ConfigMap, the root
  // under which each host file system is mounted from a hostPath.
  const args: string[] = c.args;
  const volumes = new Map<string, Yaml>(pod.volumes.map((v: Yaml) => [v.name, v]));
  const mounts: Yaml[] = c.volumeMounts;
  const mountOf = (path: string) => mounts.find((m) => m.mountPath === path);
  const config = args[0];
  const configMount = mounts.find((m) => config.startsWith(`${m.mountPath}/`));
  assert.ok(configMount, `no volume holds the config ${config}`);
  assert.ok(volumes.get(configMount.name)?.configMap?.name, "the config comes from a ConfigMap");
  const root = flagValue(args, "--root");
  assert.ok(root?.startsWith("/") && root !== "/", `--root ${root}`);
  for (const path of HOST_PATHS) {
    const m = mountOf(`${root}${path}`);
    assert.ok(m, `nothing mounted at ${root}${path}`);
    assert.equal(volumes.get(m.name)?.hostPath?.path, path, `${root}${path} is the host's ${path}`);
  }
  for (const path of ["/proc", "/sys"]) assert.equal(mountOf(`${root}${path}`).readOnly, true);

  // Prometheus finds it where it listens.
  const port = Number(flagValue(args, "--port"));
  assert.equal(flagValue(args, "--hostname"), "0.0.0.0");
  assert.equal(c.ports[0].containerPort, port);
  assert.equal(ds.spec.template.metadata.annotations["prometheus.io/port"], String(port));
  assert.equal(ds.spec.template.metadata.annotations["prometheus.io/scrape"], "true");
});

/** The Containerfile's instructions, continuation lines joined, comments dropped. */
function instructions(text: string): { op: string; arg: string }[] {
  return text.replace(/\\\n/g, " ").split("\n")
    .filter((l) => l.trim() && !l.trimStart().startsWith("#"))
    .map((l) => {
      const m = /^\s*([A-Z]+)\s+(.*)$/.exec(l);
      assert.ok(m, `not an instruction: ${l}`);
      return { op: m[1], arg: m[2].trim() };
    });
}

Deno.test("deploy/Containerfile: Debian, Deno from npm, the package, deno task cli export as the entrypoint", async () => {
  const ins = instructions(read("deploy/Containerfile"));
  const all = (op: string) => ins.filter((i) => i.op === op).map((i) => i.arg);
  assert.match(all("FROM")[0], /^debian:/);
  assert.ok(all("RUN").some((r) => /npm install .*"?deno@/.test(r)), "Deno comes from npm");

  // The package: every module the command line runs is copied.
  const copied = all("COPY").flatMap((a) => a.split(/\s+/).slice(0, -1));
  for (const path of copied) {
    assert.ok(Deno.statSync(new URL(path, repo)), `COPY of a missing ${path}`);
  }
  const covered = (file: string) =>
    copied.some((p) => (p.endsWith("/") ? file.startsWith(p) : file === p));
  for (const file of ["deno.json", "deno.lock", ...await loadedModules("cli.ts")]) {
    assert.ok(covered(file), `${file} is not in the image`);
  }

  // `deno task cli export`, with the default config from the image and the
  // host's file systems under /host.
  const tasks = JSON.parse(read("deno.json")).tasks;
  assert.match(tasks.cli.command ?? tasks.cli, /^deno run -A cli\.ts$/);
  assert.deepEqual(JSON.parse(all("ENTRYPOINT")[0]), ["deno", "task", "cli", "export"]);
  const cmd: string[] = JSON.parse(all("CMD")[0]);
  assert.equal(flagValue(cmd, "--root"), "/host");
  assert.ok(covered(cmd[0]), `the default config ${cmd[0]} is not in the image`);
  const config = parseExporterConfig(read(cmd[0]), cmd[0]);
  assert.equal(Number(all("EXPOSE")[0]), config.port);
});

/** The `export` arguments a pod gives, with the bind mounts of the host it would have. */
function podLike(hostRoot: string): string[] {
  const binds = HOST_PATHS.map((p) => `mount --bind ${p} "$R${p}"`).join(" && ");
  // A private mount namespace: the binds vanish with the exporter, whatever
  // happens to this test, and nothing propagates to the host's mounts.
  return [
    "unshare",
    "--mount",
    "--propagation",
    "private",
    "sh",
    "-c",
    `set -e; R="$1"; shift; mkdir -p "$R/proc" "$R/sys"; ${binds}; exec "$@"`,
    "sh",
    hostRoot,
  ];
}

/** A process that makes `n` getppid(2) calls when told to (a line on stdin), then waits to be closed. */
function workload(n: number) {
  const code = `
    const libc = Deno.dlopen("libc.so.6", { getppid: { parameters: [], result: "i32" } });
    const lines = Deno.stdin.readable.pipeThrough(new TextDecoderStream()).getReader();
    console.log(Deno.pid);
    await lines.read();
    for (let i = 0; i < ${n}; i++) libc.symbols.getppid();
    console.log("done");
    await lines.read();
  `;
  const child = new Deno.Command(Deno.execPath(), {
    args: ["eval", code],
    stdin: "piped",
    stdout: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  const out = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  const line = async () => (await out.read()).value ?? "";
  return {
    pid: line().then(Number),
    async run() {
      await writer.write(new TextEncoder().encode("go\n"));
      assert.match(await line(), /done/);
    },
    async [Symbol.asyncDispose]() {
      await writer.close();
      await out.cancel();
      await child.status;
    },
  };
}

Deno.test("the exporter runs as in the pod: --root at bind mounts of the host's file systems, a probe and a script counting a workload", async () => {
  const dir = await Deno.makeTempDir({ prefix: "denobpf-deploy-" });
  try {
    const n = 777;
    await using wl = workload(n);
    const config = `${dir}/exporter.yaml`;
    await Deno.writeTextFile(
      config,
      [
        "metrics:",
        "  - name: workload_getppid_total",
        "    help: getppid calls of the workload",
        "    probe: tracepoint:syscalls:sys_enter_getppid",
        `    pid: ${await wl.pid}`,
        "    action: count",
        "    by: [comm]",
        // A script too: runScript finds tracefs under --root as the probes do.
        "scripts:",
        "  - name: pod_script",
        "    bpftrace: |",
        `      tracepoint:syscalls:sys_enter_getppid /pid == ${await wl.pid}/ { @n = count(); }`,
        "    metrics:",
        '      - map: "@n"',
        "        name: workload_getppid_script_total",
        "",
      ].join("\n"),
    );
    const host = `${dir}/host`;
    const run = await startExport(config, { args: ["--root", host], wrap: podLike(host) });
    let text = "";
    try {
      await wl.run();
      const want = new RegExp(`\\nworkload_getppid_script_total ${n}\\n`);
      for (let i = 0; i < 20 && !want.test(text); i++) text = await (await fetch(run.url)).text();
    } finally {
      const end = await run.terminate();
      assert.equal(end.code, 0, end.stderr);
    }
    assert.match(text, /# TYPE workload_getppid_total counter\n/);
    assert.match(text, new RegExp(`\\nworkload_getppid_total\\{comm="[^"]+"\\} ${n}\\n`), text);
    assert.match(text, new RegExp(`\\nworkload_getppid_script_total ${n}\\n`), text);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("the exporter looks for tracefs under --root only: an empty root is refused, naming it (probes and scripts)", async () => {
  const dir = await Deno.makeTempDir({ prefix: "denobpf-deploy-" });
  try {
    await Deno.mkdir(`${dir}/host/proc`, { recursive: true });
    const config = `${dir}/exporter.yaml`;
    await Deno.writeTextFile(
      config,
      "metrics:\n  - name: n\n    probe: tracepoint:syscalls:sys_enter_getppid\n    action: count\n",
    );
    await assert.rejects(
      () => startExport(config, { args: ["--root", `${dir}/host`] }),
      (e) => e instanceof Error && e.message.includes(`${dir}/host/proc/self/mountinfo`),
    );
    // A script's probes too.
    await Deno.writeTextFile(
      config,
      "scripts:\n  - bpftrace: |\n      tracepoint:syscalls:sys_enter_getppid { @n = count(); }\n" +
        '    metrics:\n      - map: "@n"\n        name: n\n',
    );
    await assert.rejects(
      () => startExport(config, { args: ["--root", `${dir}/host`] }),
      (e) =>
        e instanceof Error &&
        e.message.includes(`script scripts[0]: starting it failed: tracefs is not mounted`) &&
        e.message.includes(`${dir}/host/proc/self/mountinfo`),
    );
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
