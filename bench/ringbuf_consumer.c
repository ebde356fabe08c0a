// The C reference for bench/ringbuf.ts: libbpf's ring_buffer consumer on a
// pinned ring buffer map, busy consume (mode 0) or poll (mode 1), for a
// given number of seconds; prints the number of records consumed.
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

static long count;
static int on_record(void *ctx, void *data, size_t size) {
  (void)ctx; (void)data; (void)size;
  count++;
  return 0;
}

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  if (argc < 4) return 2;
  int fd = bpf_obj_get(argv[1]);
  if (fd < 0) { perror("bpf_obj_get"); return 1; }
  double secs = atof(argv[2]);
  int mode = atoi(argv[3]);
  struct ring_buffer *rb = ring_buffer__new(fd, on_record, NULL, NULL);
  if (!rb) { perror("ring_buffer__new"); return 1; }
  puts("ready");
  fflush(stdout);
  double start = now();
  while (now() - start < secs) {
    if (mode) ring_buffer__poll(rb, 100);
    else ring_buffer__consume(rb);
  }
  ring_buffer__consume(rb);
  printf("%ld %.6f\n", count, now() - start);
  return 0;
}
