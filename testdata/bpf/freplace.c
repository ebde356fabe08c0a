/* SPDX-License-Identifier: GPL-2.0 */
/*
 * freplace: an XDP program whose verdict comes from a global function
 * (xdp_verdict, which BTF describes with global linkage, so the verifier
 * checks it on its own and another program can replace it), and a
 * freplace program that replaces it: SEC("freplace/xdp_verdict"). Load
 * xdp_target first, then the freplace program with attachProgFd set to
 * it; its attach BTF id is looked up in xdp_target's BTF by the name.
 */
#include "common.h"

__attribute__((noinline)) int xdp_verdict(struct xdp_md *ctx)
{
	return ctx ? XDP_PASS : XDP_ABORTED;
}

SEC("xdp")
int xdp_target(struct xdp_md *ctx)
{
	return xdp_verdict(ctx);
}

SEC("freplace/xdp_verdict")
int xdp_drop_all(struct xdp_md *ctx)
{
	return XDP_DROP;
}

char LICENSE[] SEC("license") = "GPL";
