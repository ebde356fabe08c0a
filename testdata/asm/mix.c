// A broad instruction mix for the disassembler tests. Built by build.sh with
// clang -target bpf -O2 for -mcpu=v1, v2 and v3; self-contained (no headers).
// Fetching atomics, xchg and cmpxchg need -mcpu=v3 (build.sh passes -DCPU_V3 there).

typedef unsigned char u8;
typedef unsigned short u16;
typedef unsigned int u32;
typedef unsigned long long u64;
typedef signed char s8;
typedef short s16;
typedef int s32;
typedef long long s64;

#define SEC(name) __attribute__((section(name), used))
#define __uint(name, val) int(*name)[val]
#define __type(name, val) typeof(val) *name

static void *(*bpf_map_lookup_elem)(void *map, const void *key) = (void *)1;
static long (*bpf_map_update_elem)(void *map, const void *key, const void *value,
                                   u64 flags) = (void *)2;
static u64 (*bpf_ktime_get_ns)(void) = (void *)5;
static long (*bpf_trace_printk)(const char *fmt, u32 fmt_size, ...) = (void *)6;
static u32 (*bpf_get_prandom_u32)(void) = (void *)7;
static u64 (*bpf_get_current_pid_tgid)(void) = (void *)14;
static long (*bpf_probe_read_kernel)(void *dst, u32 size, const void *src) = (void *)113;

struct {
  __uint(type, 2);
  __uint(max_entries, 16);
  __type(key, u32);
  __type(value, u64);
} counts SEC(".maps");

struct {
  __uint(type, 1);
  __uint(max_entries, 1024);
  __type(key, u64);
  __type(value, u64);
} hashes SEC(".maps");

u64 global_counter = 0;
u32 global_small = 7;
const volatile u64 config_value = 42;

struct pkt {
  u8 a;
  u16 b;
  u32 c;
  u64 d;
  s8 sa;
  s16 sb;
  s32 sc;
  s64 sd;
  u8 data[64];
};

static __attribute__((noinline)) u64 helper_fn(u64 x, u64 y) {
  return (x * 31) ^ (y >> 3);
}

static __attribute__((noinline)) u32 helper_fn32(u32 x, u32 y) {
  return (x << 5) - y + (x >> 2);
}

SEC("socket")
int arith(struct pkt *p) {
  u64 a = p->d, b = p->c;
  u32 c = p->c, d = p->b;
  s64 sa = p->sd;
  s32 sc = p->sc;
  a += b;
  a -= 3;
  a *= 7;
  a /= (b | 1);
  a %= (b | 3);
  a |= 0x100;
  a &= 0xffff0000ffffULL;
  a ^= b;
  a <<= 3;
  a >>= (b & 7);
  sa >>= 5;
  sa >>= (b & 15);
  c += d;
  c -= 9;
  c *= d;
  c /= (d | 1);
  c %= (d | 5);
  c |= 1;
  c &= 0xff00;
  c ^= d;
  c <<= (d & 3);
  c >>= 2;
  sc >>= 3;
  a = -a;
  c = -c;
  a += 0x123456789abcdefULL;
  return (int)(a + c + sa + sc + p->a + p->sa + p->sb);
}

SEC("socket")
int swaps(struct pkt *p) {
  u16 x = __builtin_bswap16(p->b);
  u32 y = __builtin_bswap32(p->c);
  u64 z = __builtin_bswap64(p->d);
  return (int)(x + y + z);
}

SEC("socket")
int loops(struct pkt *p) {
  u32 sum = 0;
  for (int i = 0; i < 64; i++) {
    if (p->data[i] == 0)
      break;
    sum += p->data[i] * (i + 1);
    if (sum > 100000)
      sum -= p->data[i];
  }
  for (int i = 0; i < 8; i++) {
    if ((s32)sum < -5)
      sum ^= i;
    else if ((s64)p->sd <= 17)
      sum += 2;
    else if (p->sd > 1000)
      sum -= 1;
    if (p->c & 0x40)
      sum |= 8;
  }
  return sum;
}

SEC("socket")
int compares(struct pkt *p) {
  int r = 0;
  if (p->d > 10) r += 1;
  if (p->d >= p->c) r += 2;
  if (p->d < 20) r += 4;
  if (p->d <= p->b) r += 8;
  if (p->sd > -10) r += 16;
  if (p->sd >= p->sc) r += 32;
  if (p->sd < -100) r += 64;
  if (p->sd <= p->sb) r += 128;
  if (p->d != 5) r += 256;
  if (p->c & 3) r += 512;
  if (p->sc > 0) r += 1024;
  if ((u32)p->c < 7) r += 2048;
  return r;
}

SEC("socket")
int maps_and_calls(struct pkt *p) {
  u32 key = p->c & 15;
  u64 *v = bpf_map_lookup_elem(&counts, &key);
  if (v)
    __sync_fetch_and_add(v, 1);
  u64 hkey = bpf_get_current_pid_tgid();
  u64 *h = bpf_map_lookup_elem(&hashes, &hkey);
  if (!h) {
    u64 one = 1;
    bpf_map_update_elem(&hashes, &hkey, &one, 0);
  } else {
    __sync_fetch_and_add(h, p->d);
  }
  global_counter += helper_fn(p->d, bpf_ktime_get_ns());
  global_small = helper_fn32(global_small, bpf_get_prandom_u32());
  char fmt[] = "val %d\n";
  bpf_trace_printk(fmt, sizeof(fmt), (int)config_value);
  u64 tmp = 0;
  bpf_probe_read_kernel(&tmp, sizeof(tmp), (void *)p->d);
  return (int)tmp;
}

SEC("socket")
int atomics(struct pkt *p) {
  u64 *v = (u64 *)&global_counter;
  u32 *w = (u32 *)&global_small;
  u64 r = 0;
  __sync_fetch_and_add(v, 5);
  __sync_fetch_and_add(w, 3);
  __sync_fetch_and_add(v, p->d);
#ifdef CPU_V3
  r += __sync_fetch_and_add(v, p->d);
  r += __sync_fetch_and_add(w, p->c);
  r += __sync_fetch_and_or(v, 2);
  r += __sync_fetch_and_and(v, 0xff);
  r += __sync_fetch_and_xor(v, p->d);
  r += __sync_fetch_and_or(w, 2);
  r += __sync_fetch_and_and(w, 0xff);
  r += __sync_fetch_and_xor(w, p->c);
  __sync_fetch_and_or(v, 4);
  __sync_fetch_and_and(v, 8);
  __sync_fetch_and_xor(v, 16);
  __sync_fetch_and_or(w, 4);
  __sync_fetch_and_and(w, 8);
  __sync_fetch_and_xor(w, 16);
  r += __sync_val_compare_and_swap(v, 1, p->d);
  r += __sync_val_compare_and_swap(w, 2, p->c);
  r += __sync_lock_test_and_set(v, 9);
  r += __sync_lock_test_and_set(w, 9);
#endif
  return (int)r;
}

SEC("socket")
int stores(struct pkt *p) {
  struct pkt local;
  __builtin_memset(&local, 0, sizeof(local));
  local.a = 1;
  local.b = 2;
  local.c = 3;
  local.d = 4;
  local.sa = p->sa;
  local.sb = p->sb;
  local.sc = p->sc;
  local.sd = p->sd;
  *(volatile u8 *)&p->a = local.a;
  *(volatile u16 *)&p->b = local.b;
  *(volatile u32 *)&p->c = 0x12345678;
  *(volatile u64 *)&p->d = local.d;
  *(volatile s64 *)&p->sd = local.sd;
  s64 x = p->sa, y = p->sb, z = p->sc;
  return (int)(x + y + z + local.data[p->c & 63]);
}
