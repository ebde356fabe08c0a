// A producer for the event benchmarks: waits for a byte on stdin, then calls
// getpid() in a tight loop for the given number of seconds and prints how often.
#include <stdio.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

static double now(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
  double secs = argc > 1 ? atof(argv[1]) : 1.0;
  char c;
  if (read(0, &c, 1) != 1) return 1;
  long n = 0;
  double start = now();
  while (now() - start < secs) {
    for (int i = 0; i < 256; i++) syscall(SYS_getpid);
    n += 256;
  }
  printf("%ld\n", n);
  return 0;
}
