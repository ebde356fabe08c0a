// The C side of bench/collection_load.ts: libbpf's bpf_object__open_file +
// bpf_object__load of the same object (CO-RE against vmlinux, which libbpf
// parses on every load), timed in-process, `loads` times in this process.
// Prints one JSON line per load: {"ms": <open+load>, "hwm_kb": <VmHWM>,
// "rss_kb": <VmRSS before the first load>}.
// Usage: collection_load <object> [loads]
#include <bpf/libbpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static long status_kb(const char *key) {
  FILE *f = fopen("/proc/self/status", "r");
  char line[256];
  long v = -1;
  size_t n = strlen(key);
  while (f && fgets(line, sizeof(line), f)) {
    if (strncmp(line, key, n) == 0 && line[n] == ':') {
      v = strtol(line + n + 1, NULL, 10);
      break;
    }
  }
  if (f) fclose(f);
  return v;
}

static int quiet(enum libbpf_print_level level, const char *fmt, va_list ap) {
  if (level == LIBBPF_WARN) return vfprintf(stderr, fmt, ap);
  return 0;
}

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  int loads = argc > 2 ? atoi(argv[2]) : 1;
  libbpf_set_print(quiet);
  long rss0 = status_kb("VmRSS");
  for (int i = 0; i < loads; i++) {
    double t0 = now_ms();
    struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
    if (!obj) {
      perror("bpf_object__open_file");
      return 1;
    }
    if (bpf_object__load(obj)) {
      perror("bpf_object__load");
      return 1;
    }
    double t1 = now_ms();
    printf("{\"ms\": %.3f, \"hwm_kb\": %ld, \"rss_kb\": %ld}\n", t1 - t0, status_kb("VmHWM"), rss0);
    bpf_object__close(obj);
  }
  return 0;
}
