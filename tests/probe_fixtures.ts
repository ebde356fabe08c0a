// A small C program the scripted-probe tests trigger uprobes, uretprobes,
// USDT probes and getpid tracepoints with, plus libc helpers for the test
// process itself.

const SOURCE = `
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/syscall.h>
#if __has_include(<sys/sdt.h>)
#include <sys/sdt.h>
#define TICK(a) DTRACE_PROBE1(denobpf_probe, tick, a)
#else
#define TICK(a) do {} while (0)
#endif

__attribute__((noinline)) int probe_target_add(int a, int b) {
  __asm__ __volatile__("" ::: "memory");
  return a + b;
}

__attribute__((noinline)) long probe_target_value(long v) {
  __asm__ __volatile__("" ::: "memory");
  return v;
}

/* probe_target N [v...]: N getpid system calls, N calls of probe_target_add(i, 1),
   N USDT ticks with i, then probe_target_value(v) for each v. */
int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1;
  long sum = 0;
  for (int i = 0; i < n; i++) sum += syscall(SYS_getpid) > 0;
  for (int i = 0; i < n; i++) sum += probe_target_add(i, 1);
  for (int i = 0; i < n; i++) TICK(i);
  for (int i = 2; i < argc; i++) sum += probe_target_value(strtol(argv[i], 0, 0));
  printf("%ld\\n", sum);
  return 0;
}
`;

let built: string | undefined;

/** Compiles the target once per process; returns its path. */
export async function buildProbeTarget(): Promise<string> {
  if (built) return built;
  const dir = await Deno.makeTempDir({ prefix: "denobpf_probe_" });
  await Deno.writeTextFile(`${dir}/target.c`, SOURCE);
  const out = `${dir}/probe_target`;
  const r = await new Deno.Command("gcc", {
    args: ["-O2", "-o", out, `${dir}/target.c`],
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!r.success) throw new Error(`gcc failed: ${new TextDecoder().decode(r.stderr)}`);
  built = out;
  return out;
}

/** Removes the build directory. */
export async function cleanProbeTarget(): Promise<void> {
  if (!built) return;
  await Deno.remove(built.slice(0, built.lastIndexOf("/")), { recursive: true }).catch(() => {});
  built = undefined;
}

/** Runs the target: `n` iterations, then `values`. Returns its pid. */
export async function runProbeTarget(n: number, values: (number | bigint)[] = []): Promise<number> {
  const path = await buildProbeTarget();
  const child = new Deno.Command(path, {
    args: [String(n), ...values.map(String)],
    stdout: "null",
  }).spawn();
  const status = await child.status;
  if (!status.success) throw new Error(`${path} failed`);
  return child.pid;
}

const libc = Deno.dlopen("libc.so.6", {
  getpid: { parameters: [], result: "i32" },
  gettid: { parameters: [], result: "i32" },
  getpriority: { parameters: ["i32", "u32"], result: "i32" },
  prctl: { parameters: ["i32", "buffer"], result: "i32" },
});

/**
 * Calls libc getpid `n` times (a system call each time). Deno's runtime
 * calls getpid too, now and then, on this thread (while a test awaits) and on
 * its worker threads: exact counts use {@linkcode priorities}.
 */
export function getpids(n: number): void {
  for (let i = 0; i < n; i++) libc.symbols.getpid();
}

/** The `which` argument of {@linkcode priorities}: no PRIO_* value, nothing else passes it. */
export const PRIO_MARK = 77;

/**
 * Calls getpriority(PRIO_MARK, 0) `n` times: system calls (EINVAL, but the
 * tracepoints fire) that a probe with `args.which == 77` counts exactly.
 */
export function priorities(n: number): void {
  for (let i = 0; i < n; i++) libc.symbols.getpriority(PRIO_MARK, 0);
}

/**
 * Sets this thread's name to what it already is `n` times (prctl
 * PR_SET_NAME): each fires `task:task_rename` in the kernel's rename path, a
 * tracepoint with a kernel stack below it on every kernel (a syscall
 * tracepoint has none on older kernels, 6.1 among them: its registers are
 * the user's).
 */
export function renames(n: number): void {
  const [PR_SET_NAME, PR_GET_NAME] = [15, 16];
  const name = new Uint8Array(16);
  libc.symbols.prctl(PR_GET_NAME, name);
  for (let i = 0; i < n; i++) libc.symbols.prctl(PR_SET_NAME, name);
}

/** This thread's id. */
export function gettid(): number {
  return libc.symbols.gettid();
}

/** The ids of the bpf links whose program is `progId`, per `bpftool link list -j`. */
export async function linksOfProgram(progId: number): Promise<number[]> {
  const r = await new Deno.Command("bpftool", { args: ["link", "list", "-j"], stdout: "piped" })
    .output();
  const list = JSON.parse(new TextDecoder().decode(r.stdout) || "[]") as {
    id: number;
    prog_id: number;
  }[];
  return list.filter((l) => l.prog_id === progId).map((l) => l.id);
}

/** True while a BPF program with this id exists. */
export async function programExists(progId: number): Promise<boolean> {
  const r = await new Deno.Command("bpftool", {
    args: ["prog", "show", "id", String(progId)],
    stdout: "null",
    stderr: "null",
  }).output();
  return r.success;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
