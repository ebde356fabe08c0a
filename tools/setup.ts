// Makes this machine ready for the test suite, doing only what is missing:
// installs the Debian packages the tests use as oracles and build tools
// (bpftool, clang/llvm, gcc, binutils, iproute2, sys/sdt.h), and mounts
// tracefs and bpffs. `tools/test.ts` runs it first, so that
// `npx -y deno@2 task test` works on a fresh Debian machine with Node.js and root.

/** Commands (or files) the tests need, and the Debian package that brings each. */
const NEEDS: [check: string, pkg: string][] = [
  ["bpftool", "bpftool"],
  ["clang", "clang"],
  ["llvm-objdump", "llvm"],
  ["llvm-readelf", "llvm"],
  ["llvm-mc", "llvm"],
  ["cc", "gcc"],
  // C++ test programs and the demangling oracles (abi::__cxa_demangle, c++filt).
  ["g++", "g++"],
  ["c++filt", "binutils"],
  ["objcopy", "binutils"],
  ["nm", "binutils"],
  ["ip", "iproute2"],
  ["tc", "iproute2"],
  ["setpriv", "util-linux"],
  ["unshare", "util-linux"],
  ["/usr/include/bpf/libbpf.h", "libbpf-dev"],
  ["/usr/include/x86_64-linux-gnu/sys/sdt.h", "systemtap-sdt-dev"],
  ["/usr/include/stdio.h", "libc6-dev"],
  // cilium/ebpf's loader and CO-RE test objects, with the Go tests that state what each must do.
  [
    "/usr/share/gocode/src/github.com/cilium/ebpf/testdata/loader-el.elf",
    "golang-github-cilium-ebpf-dev",
  ],
  // libbpf-tools' binaries embed their BPF objects (cpudist: maps sized at run time).
  ["/usr/sbin/cpudist", "libbpf-tools"],
  // The oracle of scripted probes' printed output (tests/probe_output_test.ts).
  ["bpftrace", "bpftrace"],
  // The scraper and linter of @denobpf/ebpf/metrics' output (tests/metrics_test.ts).
  ["promtool", "prometheus"],
  // Workloads of tests/bpftrace_examples_test.ts (copied under bpfex_* names): a
  // Python for naptime/setuids/threadsnoop, an OpenSSL for sslsnoop, `script` for bashreadline.
  ["python3", "python3"],
  ["openssl", "openssl"],
  ["script", "bsdutils"],
];

function have(check: string): boolean {
  if (check.startsWith("/")) {
    try {
      Deno.statSync(check);
      return true;
    } catch {
      return false;
    }
  }
  for (const dir of (Deno.env.get("PATH") ?? "/usr/bin:/bin").split(":")) {
    try {
      if (Deno.statSync(`${dir}/${check}`).isFile) return true;
    } catch { /* not here */ }
  }
  return false;
}

async function run(cmd: string, args: string[], quiet = true): Promise<boolean> {
  try {
    const r = await new Deno.Command(cmd, {
      args,
      stdout: quiet ? "null" : "inherit",
      stderr: quiet ? "piped" : "inherit",
      env: { DEBIAN_FRONTEND: "noninteractive" },
    }).output();
    if (!r.success && quiet) {
      console.error(
        `setup: ${cmd} ${args.join(" ")} failed:\n${new TextDecoder().decode(r.stderr)}`,
      );
    }
    return r.success;
  } catch (e) {
    console.error(`setup: cannot run ${cmd}: ${e instanceof Error ? e.message : e}`);
    return false;
  }
}

function mounted(path: string, fstype: string): boolean {
  try {
    return Deno.readTextFileSync("/proc/self/mounts").split("\n").some((l) => {
      const f = l.split(" ");
      return f[1] === path && f[2] === fstype;
    });
  } catch {
    return false;
  }
}

/** Installs what is missing and mounts tracefs/bpffs; returns false if something could not be done. */
export async function setup(): Promise<boolean> {
  let ok = true;
  const missing = [...new Set(NEEDS.filter(([c]) => !have(c)).map(([, p]) => p))];
  if (missing.length) {
    console.error(`setup: installing ${missing.join(" ")} (apt-get)`);
    await run("apt-get", ["update", "-qq"]);
    ok = await run("apt-get", ["install", "-y", "-qq", ...missing]) && ok;
  }
  for (const [path, fstype] of [["/sys/kernel/tracing", "tracefs"], ["/sys/fs/bpf", "bpf"]]) {
    if (!mounted(path, fstype)) {
      console.error(`setup: mount -t ${fstype} ${fstype} ${path}`);
      ok = await run("mount", ["-t", fstype, fstype, path]) && ok;
    }
  }
  return ok;
}

if (import.meta.main) Deno.exit((await setup()) ? 0 : 1);
