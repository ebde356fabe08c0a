// The C side of bench/program_load.ts: BPF_PROG_LOAD of the same socket
// filter (r0 = 0; (n - 2) x r0 += 1; exit; n = 1,000 by default) through
// syscall(__NR_bpf, ...) directly, then close. Prints one line per round:
//   round <n> <mean ns per load+close>
// Usage: program_load <loads per round> <rounds> [instructions]
#define _GNU_SOURCE
#include <linux/bpf.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#define MAX_INSNS 4096

static double now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

int main(int argc, char **argv) {
  int loads = argc > 1 ? atoi(argv[1]) : 200;
  int rounds = argc > 2 ? atoi(argv[2]) : 5;
  int n = argc > 3 ? atoi(argv[3]) : 1000;
  if (n < 2 || n > MAX_INSNS) return 2;
  static struct bpf_insn insns[MAX_INSNS];
  insns[0] = (struct bpf_insn){.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = 0, .imm = 0};
  for (int i = 1; i < n - 1; i++)
    insns[i] = (struct bpf_insn){.code = BPF_ALU64 | BPF_ADD | BPF_K, .dst_reg = 0, .imm = 1};
  insns[n - 1] = (struct bpf_insn){.code = BPF_JMP | BPF_EXIT};
  for (int r = 0; r < rounds; r++) {
    double t0 = now_ns();
    for (int i = 0; i < loads; i++) {
      union bpf_attr a;
      memset(&a, 0, sizeof(a));
      a.prog_type = BPF_PROG_TYPE_SOCKET_FILTER;
      a.insn_cnt = n;
      a.insns = (uint64_t)(uintptr_t)insns;
      a.license = (uint64_t)(uintptr_t)"GPL";
      int fd = (int)syscall(__NR_bpf, BPF_PROG_LOAD, &a, sizeof(a));
      if (fd < 0) {
        perror("BPF_PROG_LOAD");
        return 1;
      }
      close(fd);
    }
    printf("round %d %.0f\n", r, (now_ns() - t0) / loads);
  }
  return 0;
}
