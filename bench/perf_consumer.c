// The C reference for bench/perfbuf.ts: libbpf's perf_buffer on a pinned
// perf event array, polled for a given number of seconds; prints the number
// of samples and lost samples.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long count, lost;
static void on_sample(void *ctx, int cpu, void *data, __u32 size) {
  (void)ctx; (void)cpu; (void)data; (void)size;
  count++;
}
static void on_lost(void *ctx, int cpu, __u64 n) {
  (void)ctx; (void)cpu;
  lost += n;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 3) return 2;
  int fd = bpf_obj_get(argv[1]);
  if (fd < 0) { perror("bpf_obj_get"); return 1; }
  double secs = atof(argv[2]);
  struct perf_buffer *pb = perf_buffer__new(fd, 64, on_sample, on_lost, NULL, NULL);
  if (!pb) { perror("perf_buffer__new"); return 1; }
  puts("ready");
  fflush(stdout);
  double start = now();
  while (now() - start < secs) perf_buffer__poll(pb, 100);
  perf_buffer__consume(pb);
  printf("%ld %.6f %ld\n", count, now() - start, lost);
  return 0;
}
