// SPDX-License-Identifier: GPL-2.0
/*
 * Maps of every BTF style, global data of every kind, subprograms (static,
 * global, callbacks) and several programs per section. Loads on any 5.17+
 * kernel; the programs can be test-run.
 */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

struct pair {
	__u64 packets;
	__u64 bytes;
};

struct lpm_key {
	__u32 prefixlen;
	__u8 addr[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 128);
	__type(key, __u32);
	__type(value, __u64);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__uint(map_flags, BPF_F_MMAPABLE);
	__type(key, __u32);
	__type(value, struct pair);
} pairs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u64));
} percpu SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 64);
	__uint(map_flags, BPF_F_NO_COMMON_LRU);
	__type(key, __u64);
	__type(value, __u32);
} lru SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 16384);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(int));
	__uint(value_size, sizeof(int));
} perf SEC(".maps");

struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} inner_a SEC(".maps"), inner_b SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 3);
	__type(key, __u32);
	__array(values, struct inner_map);
} outer SEC(".maps") = {
	.values = { [0] = &inner_a, [2] = &inner_b },
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH_OF_MAPS);
	__uint(max_entries, 8);
	__type(key, __u32);
	__array(values, struct {
		__uint(type, BPF_MAP_TYPE_HASH);
		__uint(max_entries, 16);
		__type(key, __u32);
		__type(value, __u64);
	});
} outer_hash SEC(".maps");

int tail_target(struct __sk_buff *skb);

struct {
	__uint(type, BPF_MAP_TYPE_PROG_ARRAY);
	__uint(max_entries, 4);
	__type(key, __u32);
	__array(values, int(struct __sk_buff *));
} jumps SEC(".maps") = {
	.values = { [1] = (void *)&tail_target },
};

struct {
	__uint(type, BPF_MAP_TYPE_QUEUE);
	__uint(max_entries, 8);
	__type(value, __u32);
} queue SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK);
	__uint(max_entries, 8);
	__type(value, __u64);
} stack SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_BLOOM_FILTER);
	__uint(max_entries, 32);
	__uint(map_extra, 3);
	__type(value, __u32);
} bloom SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 16);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct lpm_key);
	__type(value, __u32);
} routes SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 32);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
	__type(key, __u32);
	__type(value, __u32);
} denobpf_pinned SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8);
	__uint(map_flags, BPF_F_NUMA_NODE);
	__uint(numa_node, 0);
	__type(key, __u32);
	__type(value, __u32);
} numa SEC(".maps");

/* Global data of every kind. */
int data_counter = 7;                                   /* .data */
const volatile int rodata_limit = 42;                   /* .rodata */
const volatile __u64 rodata_wide = 0x1122334455667788ULL;
__u64 bss_total;                                        /* .bss */
struct pair bss_pair;
int custom_data SEC(".data.custom") = 3;                /* .data.custom */
const volatile char greeting[8] SEC(".rodata.custom") = "hello"; /* .rodata.custom */
static volatile int static_counter;                    /* static .bss */

/* Subprograms. */
static __noinline int add_twice(int a, int b)
{
	return a + b + b;
}

__noinline int global_len(struct __sk_buff *skb)
{
	if (!skb)
		return 0;
	return skb->len;
}

static int loop_step(__u32 index, void *ctx)
{
	__u64 *sum = ctx;
	*sum += index;
	return 0;
}

static __noinline __u64 sum_to(__u32 n)
{
	__u64 sum = 0;
	bpf_loop(n, loop_step, &sum, 0);
	return sum;
}

SEC("socket")
int sock_count(struct __sk_buff *skb)
{
	__u32 key = 0;
	__u64 one = 1, *v;
	int len = global_len(skb);

	v = bpf_map_lookup_elem(&counts, &key);
	if (v)
		__sync_fetch_and_add(v, 1);
	else
		bpf_map_update_elem(&counts, &key, &one, BPF_ANY);
	bss_total += len;
	static_counter++;
	if (len > rodata_limit)
		return add_twice(len, data_counter);
	return len;
}

SEC("socket")
int sock_tail(struct __sk_buff *skb)
{
	bpf_tail_call(skb, &jumps, 1);
	return 1;
}

SEC("socket")
int tail_target(struct __sk_buff *skb)
{
	return 99;
}

SEC("xdp")
int xdp_sum(struct xdp_md *ctx)
{
	__u32 key = 0;
	struct pair *p = bpf_map_lookup_elem(&pairs, &key);
	__u64 *pc;
	void *inner;

	if (p) {
		p->packets++;
		p->bytes += ctx->data_end - ctx->data;
	}
	pc = bpf_map_lookup_elem(&percpu, &key);
	if (pc)
		*pc += sum_to(custom_data + 2);
	inner = bpf_map_lookup_elem(&outer, &key);
	if (inner) {
		__u32 *x = bpf_map_lookup_elem(inner, &key);
		if (x)
			*x += 1;
	}
	bss_pair.packets += greeting[0];
	bss_pair.bytes = rodata_wide;
	return XDP_PASS;
}

SEC("tc")
int tc_mark(struct __sk_buff *skb)
{
	__u32 v = skb->len;
	__u64 k = skb->mark;
	struct lpm_key lk = { .prefixlen = 32 };

	bpf_map_push_elem(&queue, &v, 0);
	bpf_map_push_elem(&bloom, &v, 0);
	bpf_map_update_elem(&lru, &k, &v, BPF_ANY);
	bpf_map_lookup_elem(&routes, &lk);
	bpf_map_lookup_elem(&denobpf_pinned, &v);
	bpf_map_lookup_elem(&numa, &v);
	bpf_map_lookup_elem(&outer_hash, &v);
	skb->mark = add_twice(v, 1);
	return 0;
}

SEC("raw_tp/sys_enter")
int raw_events(void *ctx)
{
	__u64 *rec = bpf_ringbuf_reserve(&events, sizeof(__u64), 0);
	__u64 val = bpf_get_current_pid_tgid();

	if (rec) {
		*rec = val;
		bpf_ringbuf_submit(rec, 0);
	}
	bpf_perf_event_output(ctx, &perf, BPF_F_CURRENT_CPU, &val, sizeof(val));
	bpf_map_push_elem(&stack, &val, 0);
	data_counter++;
	return 0;
}
