// The C side of bench/map_ops.ts: the same map operations through
// syscall(__NR_bpf, ...) directly, on the same kind of map (4-byte keys,
// 8-byte values, 1024 entries). Prints one line per figure:
//   <type> <op> <ns per op or per element>
// Usage: map_ops <iterations> <batch size> <rounds>
//        map_ops serve    (line protocol, used by map_ops.ts to interleave runs)
#define _GNU_SOURCE
#include <errno.h>
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define ENTRIES 1024

static long sys_bpf(int cmd, union bpf_attr *attr, unsigned int size) {
  return syscall(__NR_bpf, cmd, attr, size);
}

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int create(unsigned int type) {
  union bpf_attr a;
  memset(&a, 0, sizeof(a));
  a.map_type = type;
  a.key_size = 4;
  a.value_size = 8;
  a.max_entries = ENTRIES;
  int fd = (int)sys_bpf(BPF_MAP_CREATE, &a, sizeof(a));
  if (fd < 0) {
    perror("BPF_MAP_CREATE");
    exit(1);
  }
  return fd;
}

static int cmp(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, n, sizeof(double), cmp);
  return v[n / 2];
}

static double bench_elem(int fd, int cmd, long iters) {
  union bpf_attr a;
  uint32_t key = 0;
  uint64_t value = 0;
  memset(&a, 0, sizeof(a));
  a.map_fd = fd;
  a.key = (uint64_t)(uintptr_t)&key;
  a.value = (uint64_t)(uintptr_t)&value;
  double t0 = now_ns();
  for (long i = 0; i < iters; i++) {
    key = (uint32_t)(i & (ENTRIES - 1));
    value = (uint64_t)i;
    if (sys_bpf(cmd, &a, 32) < 0) {
      perror("bpf elem op");
      exit(1);
    }
  }
  return (now_ns() - t0) / (double)iters;
}

static double bench_batch(int fd, long iters, unsigned int batch) {
  uint32_t *keys = calloc(batch, 4);
  uint64_t *values = calloc(batch, 8);
  uint64_t in_batch = 0, out_batch = 0;
  long elems = 0;
  double t0 = now_ns();
  while (elems < iters) {
    int first = 1;
    for (;;) {
      union bpf_attr a;
      memset(&a, 0, sizeof(a));
      a.batch.in_batch = first ? 0 : (uint64_t)(uintptr_t)&in_batch;
      a.batch.out_batch = (uint64_t)(uintptr_t)&out_batch;
      a.batch.keys = (uint64_t)(uintptr_t)keys;
      a.batch.values = (uint64_t)(uintptr_t)values;
      a.batch.count = batch;
      a.batch.map_fd = fd;
      long r = sys_bpf(BPF_MAP_LOOKUP_BATCH, &a, 56);
      if (r < 0 && errno != ENOENT) {
        perror("BPF_MAP_LOOKUP_BATCH");
        exit(1);
      }
      elems += a.batch.count;
      if (r < 0) break;
      in_batch = out_batch;
      first = 0;
    }
  }
  double ns = (now_ns() - t0) / (double)elems;
  free(keys);
  free(values);
  return ns;
}

static int serve(void) {
  // One request per line: "<array|hash> <lookup|update|batch_lookup> <iterations>";
  // one answer per line: ns per op (per element for batch_lookup).
  int fds[2] = {create(BPF_MAP_TYPE_ARRAY), create(BPF_MAP_TYPE_HASH)};
  for (int t = 0; t < 2; t++) bench_elem(fds[t], BPF_MAP_UPDATE_ELEM, ENTRIES);
  char type[16], op[32];
  long iters;
  unsigned int batch = 128;
  while (scanf("%15s %31s %ld", type, op, &iters) == 3) {
    int fd = strcmp(type, "hash") == 0 ? fds[1] : fds[0];
    double ns;
    if (strcmp(op, "lookup") == 0) ns = bench_elem(fd, BPF_MAP_LOOKUP_ELEM, iters);
    else if (strcmp(op, "update") == 0) ns = bench_elem(fd, BPF_MAP_UPDATE_ELEM, iters);
    else if (strncmp(op, "batch_lookup", 12) == 0) {
      if (op[12] == ':') batch = (unsigned int)atoi(op + 13);
      ns = bench_batch(fd, iters, batch);
    } else {
      fprintf(stderr, "unknown op %s\n", op);
      return 1;
    }
    printf("%.2f\n", ns);
    fflush(stdout);
  }
  return 0;
}

int main(int argc, char **argv) {
  if (argc > 1 && strcmp(argv[1], "serve") == 0) return serve();
  long iters = argc > 1 ? atol(argv[1]) : 200000;
  unsigned int batch = argc > 2 ? (unsigned int)atoi(argv[2]) : 128;
  int rounds = argc > 3 ? atoi(argv[3]) : 5;
  const struct {
    const char *name;
    unsigned int type;
  } types[] = {{"array", BPF_MAP_TYPE_ARRAY}, {"hash", BPF_MAP_TYPE_HASH}};
  double *v = calloc(rounds, sizeof(double));
  for (int t = 0; t < 2; t++) {
    int fd = create(types[t].type);
    bench_elem(fd, BPF_MAP_UPDATE_ELEM, ENTRIES); // fill every key
    for (int r = 0; r < rounds; r++) v[r] = bench_elem(fd, BPF_MAP_LOOKUP_ELEM, iters);
    printf("%s lookup %.1f\n", types[t].name, median(v, rounds));
    for (int r = 0; r < rounds; r++) v[r] = bench_elem(fd, BPF_MAP_UPDATE_ELEM, iters);
    printf("%s update %.1f\n", types[t].name, median(v, rounds));
    for (int r = 0; r < rounds; r++) v[r] = bench_batch(fd, iters, batch);
    printf("%s batch_lookup %.1f\n", types[t].name, median(v, rounds));
    close(fd);
  }
  free(v);
  return 0;
}
