// The BPF side of the libbpf reference in bench/attach_tracepoint.ts: count
// sys_enter_getpid hits in an array map (what the denobpf child loads as
// hand-written bytecode).
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

struct {
  __uint(type, BPF_MAP_TYPE_ARRAY);
  __uint(max_entries, 1);
  __type(key, __u32);
  __type(value, __u64);
} counter SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_getpid")
int count_getpid(void *ctx) {
  __u32 key = 0;
  __u64 *v = bpf_map_lookup_elem(&counter, &key);
  if (v) __sync_fetch_and_add(v, 1);
  return 0;
}

char LICENSE[] SEC("license") = "GPL";
