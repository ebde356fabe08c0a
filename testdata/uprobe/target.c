// The process the uprobe/USDT tests attach to: calls two functions and hits
// a USDT probe (with a semaphore) N times, then prints what it saw.
//
//   target N [wait]   — with "wait", reads one line from stdin first, so a
//                       test can attach to the running process by pid.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if __has_include(<sys/sdt.h>) && !defined(DENOBPF_HANDWRITTEN_NOTE)
#define _SDT_HAS_SEMAPHORES 1
#include <sys/sdt.h>
#define TICK(a, b) DTRACE_PROBE2(denobpf, tick, a, b)
#else
// What <sys/sdt.h> emits, written out (x86-64): a nop at the probe site and
// a stapsdt note with its address, the base, the semaphore and the argument
// specs, plus the .stapsdt.base anchor.
#define TICK(a, b)                                                              \
  __asm__ __volatile__("990: nop\n"                                           \
                       ".pushsection .note.stapsdt,\"?\",\"note\"\n"          \
                       ".balign 4\n"                                          \
                       ".4byte 992f-991f, 994f-993f, 3\n"                     \
                       "991: .asciz \"stapsdt\"\n"                            \
                       "992: .balign 4\n"                                     \
                       "993: .8byte 990b\n"                                   \
                       ".8byte _.stapsdt.base\n"                              \
                       ".8byte denobpf_tick_semaphore\n"                      \
                       ".asciz \"denobpf\"\n"                                 \
                       ".asciz \"tick\"\n"                                    \
                       ".asciz \"-4@%0 8@%1\"\n"                              \
                       "994: .balign 4\n"                                     \
                       ".popsection\n"                                        \
                       ".ifndef _.stapsdt.base\n"                             \
                       ".pushsection .stapsdt.base,\"aG\",\"progbits\","      \
                       ".stapsdt.base,comdat\n"                               \
                       ".weak _.stapsdt.base\n"                               \
                       ".hidden _.stapsdt.base\n"                             \
                       "_.stapsdt.base: .space 1\n"                           \
                       ".size _.stapsdt.base, 1\n"                            \
                       ".popsection\n"                                        \
                       ".endif\n" ::"nor"(a), "nor"(b))
#endif

// The USDT semaphore: the kernel increments it while a uprobe with this
// reference-counter offset is attached.
__attribute__((section(".probes"))) volatile unsigned short denobpf_tick_semaphore;

__attribute__((noinline)) int denobpf_target_add(int a, int b) {
  __asm__ __volatile__("" ::: "memory");
  return a + b;
}

__attribute__((noinline)) long denobpf_target_other(long x) {
  __asm__ __volatile__("" ::: "memory");
  return x * 3;
}

int main(int argc, char **argv) {
  int n = argc > 1 ? atoi(argv[1]) : 1;
  if (argc > 2 && strcmp(argv[2], "wait") == 0) {
    char line[16];
    printf("ready\n");
    fflush(stdout);
    if (!fgets(line, sizeof line, stdin)) return 1;
  }
  long sum = 0;
  int enabled = 0;
  for (int i = 0; i < n; i++) {
    sum += denobpf_target_add(i, 1);
    sum += denobpf_target_other(i);
    if (denobpf_tick_semaphore) enabled++;
    long s = sum;
    TICK(i, s);
  }
  printf("sum=%ld enabled=%d\n", sum, enabled);
  return 0;
}
