// SPDX-License-Identifier: GPL-2.0
/*
 * Section names newer than libbpf 1.1 that this kernel loads and that
 * libbpf 1.1 (bpftool 7.1) does not know yet.
 */
#include "common.h"

char LICENSE[] SEC("license") = "GPL";

#define PROG(sec, name)          \
	SEC(sec)                 \
	int name(void *ctx)      \
	{                        \
		return 0;        \
	}
#define PROG_RET(sec, name, ret) \
	SEC(sec)                 \
	int name(void *ctx)      \
	{                        \
		return ret;      \
	}

PROG("uprobe.multi//bin/true:ma*", s_uprobe_multi)
PROG("tcx/ingress", s_tcx_ingress)
PROG("tcx/egress", s_tcx_egress)
PROG_RET("netfilter", s_netfilter, 1)
