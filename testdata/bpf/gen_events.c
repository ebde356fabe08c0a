// SPDX-License-Identifier: GPL-2.0
/*
 * The object behind `gen ts` (tests/gen_ts_test.ts, examples/gen_events.ts):
 * a raw tracepoint on sys_enter that counts system calls per process and
 * syscall number in a hash map with struct keys and values, and sends the
 * first few calls of one process as records through a ring buffer (and
 * again as perf samples). Its BTF has what the generator renders: nested named and anonymous structs, an
 * anonymous union, bitfields, an enum, char arrays, a union map value, a
 * typedef'd anonymous struct, .rodata constants and .data/.bss counters.
 */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

enum event_kind {
	EVENT_ENTER = 1,
	EVENT_LIMIT = 2,
};

struct count_key {
	__u32 pid;
	__u32 syscall_nr;
};

struct count_value {
	__u64 calls;
	struct {
		__u64 first_ns;
		__u64 last_ns;
	} seen;
	char comm[16];
};

/* One ring buffer record. */
struct event {
	__u32 pid;
	__u32 tid;
	enum event_kind kind;
	__u32 cpu : 8, flags : 4, truncated : 1;
	union {
		__u64 syscall_nr;
		__u8 raw[8];
	};
	__s64 args[3];
	char comm[16];
};

union addr {
	__u32 v4;
	__u8 v6[16];
};

typedef struct {
	__u32 max_events;
	_Bool verbose;
} limits_t;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct count_key);
	__type(value, struct count_value);
} counts SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, union addr);
} addrs SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
} events SEC(".maps");

/* The same records again, as perf samples. */
struct {
	__uint(type, BPF_MAP_TYPE_PERF_EVENT_ARRAY);
	__uint(key_size, sizeof(__u32));
	__uint(value_size, sizeof(__u32));
} samples SEC(".maps");

/* Keeps struct event in BTF: user space decodes the ring buffer's records with it. */
struct event *unused_event __attribute__((unused));

const volatile __u32 target_pid = 0;            /* .rodata: set before load */
const volatile limits_t limits = { .max_events = 16, .verbose = 1 };
__u64 event_count;                              /* .bss */
__u32 dropped;                                  /* .bss */
char last_comm[16] = "none";                    /* .data */

SEC("raw_tp/sys_enter")
int on_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	__u64 id = bpf_get_current_pid_tgid();
	__u32 pid = id >> 32;
	__u64 nr = ctx->args[1];
	__u64 now = bpf_ktime_get_ns();
	struct count_key key = { .pid = pid, .syscall_nr = nr };
	struct count_value *v, init = {};
	struct event *e;

	if (target_pid && pid != target_pid)
		return 0;
	v = bpf_map_lookup_elem(&counts, &key);
	if (v) {
		__sync_fetch_and_add(&v->calls, 1);
		v->seen.last_ns = now;
	} else {
		init.calls = 1;
		init.seen.first_ns = now;
		init.seen.last_ns = now;
		bpf_get_current_comm(init.comm, sizeof(init.comm));
		bpf_map_update_elem(&counts, &key, &init, BPF_NOEXIST);
	}
	if (event_count >= limits.max_events)
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e) {
		dropped++;
		return 0;
	}
	e->pid = pid;
	e->tid = (__u32)id;
	e->kind = event_count + 1 == limits.max_events ? EVENT_LIMIT : EVENT_ENTER;
	e->cpu = bpf_get_smp_processor_id();
	e->flags = 5;
	e->truncated = 1;
	e->syscall_nr = nr;
	e->args[0] = -1;
	e->args[1] = (__s64)nr;
	e->args[2] = event_count;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_get_current_comm(last_comm, sizeof(last_comm));
	bpf_perf_event_output(ctx, &samples, BPF_F_CURRENT_CPU, e, sizeof(*e));
	bpf_ringbuf_submit(e, 0);
	event_count++;
	return 0;
}
