// Test input for the ELF32 and non-BPF paths of tests/elf_test.ts (built by build.sh).
int counter = 3;
static int helper(int x) { return x * counter; }
int __attribute__((noinline)) twice(int x) { return helper(x) + helper(x + 1); }
int entry(int x) { return twice(x) + counter; }
