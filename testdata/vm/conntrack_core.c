// SPDX-License-Identifier: GPL-2.0
/*
 * The VM scenario's object: programs on functions of the nf_conntrack_netlink
 * module, loaded by the guest tests (tests/vm/collection_core_test.ts) with
 * loadCollection. Each dump of the conntrack table calls
 * ctnetlink_fill_info(skb, portid, seq, type, ct, extinfo, flags) once per
 * entry; `ct` is the fifth argument, in r8 on x86-64.
 *
 * - ct_mark: CO-RE relocations against vmlinux types only (struct pt_regs,
 *   struct nf_conn): loads with or without the module's BTF.
 * - ct_tstamp: also reads struct nf_conn_tstamp, a type that only module BTF
 *   has (nf_conntrack's and nf_conntrack_netlink's): without the module's
 *   BTF it cannot be relocated.
 * - ct_get_fentry: fentry on the module's ctnetlink_get_conntrack, attached
 *   by the module's BTF id.
 *
 * No vmlinux.h: the structs below declare just the fields read, marked
 * preserve_access_index so that every access becomes a CO-RE relocation.
 *
 * Build: sh testdata/vm/build.sh (clang 14+, libbpf-dev headers).
 */
#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define CORE __attribute__((preserve_access_index))

char LICENSE[] SEC("license") = "GPL";

/* vmlinux types, with the kernel's field names (not the UAPI pt_regs). */
struct pt_regs {
	unsigned long r8;
} CORE;

struct nf_ct_ext {
	__u8 offset[1];
} CORE;

struct nf_conn {
	__u32 mark;
	struct nf_ct_ext *ext;
} CORE;

/* The local value is a placeholder: the enum value relocation supplies the kernel's. */
enum nf_ct_ext_id {
	NF_CT_EXT_TSTAMP = 0,
};

/*
 * Module-only. The local layout is deliberately not the kernel's
 * ({ u64 start; u64 stop; }): only a relocation against the module's BTF
 * makes `start` read the kernel's start field.
 */
struct nf_conn_tstamp {
	__u64 stop;
	__u64 start;
} CORE;

/* hits[0]: ct_mark runs, hits[1]: ct_tstamp runs, hits[2]: ct_get_fentry runs. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 3);
	__type(key, __u32);
	__type(value, __u64);
} hits SEC(".maps");

/* Conntrack mark → times ct_mark saw it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} marks SEC(".maps");

/* Conntrack mark → the entry's nf_conn_tstamp start (ns), as ct_tstamp read it. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, __u32);
	__type(value, __u64);
} starts SEC(".maps");

static __always_inline void bump(__u32 slot)
{
	__u64 *v = bpf_map_lookup_elem(&hits, &slot);

	if (v)
		__sync_fetch_and_add(v, 1);
}

SEC("kprobe/ctnetlink_fill_info")
int ct_mark(struct pt_regs *ctx)
{
	struct nf_conn *ct = (void *)ctx->r8;
	__u32 mark = BPF_CORE_READ(ct, mark);
	__u64 one = 1, *seen;

	bump(0);
	seen = bpf_map_lookup_elem(&marks, &mark);
	if (seen)
		__sync_fetch_and_add(seen, 1);
	else
		bpf_map_update_elem(&marks, &mark, &one, BPF_NOEXIST);
	return 0;
}

SEC("kprobe/ctnetlink_fill_info")
int ct_tstamp(struct pt_regs *ctx)
{
	struct nf_conn *ct = (void *)ctx->r8;
	__u32 mark = BPF_CORE_READ(ct, mark);
	struct nf_ct_ext *ext = BPF_CORE_READ(ct, ext);
	struct nf_conn_tstamp *ts;
	__u64 start;
	__u8 off = 0;

	bump(1);
	if (!ext)
		return 0;
	/* ext->offset[NF_CT_EXT_TSTAMP]: 0 when the entry has no timestamp extension. */
	bpf_probe_read_kernel(&off, sizeof(off),
			      (void *)ext + bpf_core_field_offset(struct nf_ct_ext, offset) +
				      bpf_core_enum_value(enum nf_ct_ext_id, NF_CT_EXT_TSTAMP));
	if (!off)
		return 0;
	ts = (void *)ext + off;
	start = BPF_CORE_READ(ts, start);
	bpf_map_update_elem(&starts, &mark, &start, BPF_ANY);
	return 0;
}

SEC("fentry/ctnetlink_get_conntrack")
int ct_get_fentry(__u64 *ctx)
{
	bump(2);
	return 0;
}
