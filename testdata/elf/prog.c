// Test input for tests/elf_test.ts: a small BPF object with the usual
// ingredients (a BTF-defined map, global data in .data/.bss/.rodata, a
// subprogram call, two programs in their own sections, a license), written
// without any headers so that only clang is needed. Rebuild with build.sh.

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int (*name)[val]
#define __type(name, val) typeof(val) *name

typedef unsigned int u32;
typedef unsigned long long u64;

enum { BPF_MAP_TYPE_HASH = 1, BPF_MAP_TYPE_ARRAY = 2 };

struct {
  __uint(type, BPF_MAP_TYPE_HASH);
  __uint(max_entries, 128);
  __type(key, u32);
  __type(value, u64);
} counts SEC(".maps");

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, u32);
  __type(value, u32);
} config SEC(".maps");

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value,
                                   u64 flags) = (void *)2;

u64 total_calls = 0;               /* .bss */
u32 sample_rate = 7;               /* .data */
const volatile u32 target_pid = 0; /* .rodata */

static __attribute__((noinline)) u64 bump(u32 key) {
  u64 one = 1, *v = bpf_map_lookup_elem(&counts, &key);
  if (v) {
    __sync_fetch_and_add(v, 1);
    return *v;
  }
  bpf_map_update_elem(&counts, &key, &one, 0);
  return 1;
}

SEC("kprobe/do_sys_openat2")
int on_open(void *ctx) {
  u32 zero = 0, *cfg = bpf_map_lookup_elem(&config, &zero);
  if (target_pid && cfg && *cfg != target_pid) return 0;
  total_calls += sample_rate;
  return (int)bump(1);
}

SEC("tracepoint/syscalls/sys_enter_getpid")
int on_getpid(void *ctx) {
  return (int)bump(2);
}

char LICENSE[] SEC("license") = "GPL";
