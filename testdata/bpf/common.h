/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Minimal declarations shared by the test objects: no vmlinux.h, just the
 * kernel structs the programs touch, marked preserve_access_index so that
 * every access becomes a CO-RE relocation.
 */
#ifndef DENOBPF_TEST_COMMON_H
#define DENOBPF_TEST_COMMON_H

#include <linux/types.h>
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_core_read.h>

#define CORE __attribute__((preserve_access_index))

struct task_struct {
	unsigned int __state;
	unsigned int flags;
	int pid;
	int tgid;
	char comm[16];
	struct task_struct *real_parent;
	struct task_struct *group_leader;
} CORE;

/* A flavour: the same kernel struct seen through a different local shape. */
struct task_struct___old {
	long state;
} CORE;

/* A field that no kernel has. */
struct task_struct___missing {
	int denobpf_no_such_field;
} CORE;

struct sk_buff {
	unsigned int len;
	unsigned int data_len;
	__u16 mac_len;
	__u8 cloned:1, nohdr:1, fclone:2;
	__u8 pkt_type:3;
	__u32 mark;
	__u16 protocol;
	unsigned char *data;
} CORE;

enum pid_type {
	PIDTYPE_PID,
	PIDTYPE_TGID,
	PIDTYPE_PGID,
	PIDTYPE_SID,
	PIDTYPE_MAX,
};

#endif
