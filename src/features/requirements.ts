/**
 * What brings each feature: the kernel release that introduced it and the
 * build options it depends on. {@linkcode NotSupportedError}s thrown by the
 * `check*` functions quote these.
 *
 * @module
 */

import { MAP_TYPE_SINCE, type MapTypeName } from "../map/types.ts";

/** The build options map types depend on, beyond the kernel release. */
const MAP_TYPE_CONFIG: Readonly<Partial<Record<MapTypeName, string>>> = {
  stack_trace: "CONFIG_PERF_EVENTS",
  cgroup_array: "CONFIG_CGROUPS",
  devmap: "CONFIG_NET",
  sockmap: "CONFIG_BPF_STREAM_PARSER",
  cpumap: "CONFIG_NET",
  xskmap: "CONFIG_XDP_SOCKETS",
  sockhash: "CONFIG_BPF_STREAM_PARSER",
  cgroup_storage: "CONFIG_CGROUP_BPF",
  reuseport_sockarray: "CONFIG_INET",
  percpu_cgroup_storage: "CONFIG_CGROUP_BPF",
  sk_storage: "CONFIG_NET",
  devmap_hash: "CONFIG_NET",
  struct_ops: "CONFIG_BPF_JIT + CONFIG_DEBUG_INFO_BTF",
  inode_storage: "CONFIG_BPF_LSM",
  cgrp_storage: "CONFIG_CGROUPS",
  arena: "CONFIG_MMU (64-bit)",
};

/** Map types by libbpf name → the kernel (and config) that brings them. */
export const MAP_TYPE_REQUIREMENTS: Readonly<Record<string, string>> = Object.fromEntries(
  Object.entries(MAP_TYPE_SINCE).map(([name, since]) => {
    const config = MAP_TYPE_CONFIG[name as MapTypeName];
    return [name, `Linux ${since}${config ? ` and ${config}` : ""}`];
  }),
);

/** Program types by libbpf name → the kernel (and config) that lets them load. */
export const PROGRAM_TYPE_REQUIREMENTS: Readonly<Record<string, string>> = {
  socket_filter: "Linux 3.19",
  kprobe: "Linux 4.1 and CONFIG_BPF_EVENTS (attaching needs CONFIG_KPROBE_EVENTS)",
  sched_cls: "Linux 4.1 and CONFIG_NET (attaching needs CONFIG_NET_CLS_BPF)",
  sched_act: "Linux 4.1 and CONFIG_NET (attaching needs CONFIG_NET_ACT_BPF)",
  tracepoint: "Linux 4.7 and CONFIG_BPF_EVENTS",
  xdp: "Linux 4.8 and CONFIG_NET",
  perf_event: "Linux 4.9 and CONFIG_BPF_EVENTS",
  cgroup_skb: "Linux 4.10 and CONFIG_CGROUP_BPF",
  cgroup_sock: "Linux 4.10 and CONFIG_CGROUP_BPF",
  lwt_in: "Linux 4.10 and CONFIG_LWTUNNEL_BPF",
  lwt_out: "Linux 4.10 and CONFIG_LWTUNNEL_BPF",
  lwt_xmit: "Linux 4.10 and CONFIG_LWTUNNEL_BPF",
  sock_ops: "Linux 4.13 and CONFIG_CGROUP_BPF",
  sk_skb: "Linux 4.14 and CONFIG_BPF_STREAM_PARSER",
  cgroup_device: "Linux 4.15 and CONFIG_CGROUP_BPF",
  sk_msg: "Linux 4.17 and CONFIG_BPF_STREAM_PARSER",
  raw_tracepoint: "Linux 4.17 and CONFIG_BPF_EVENTS",
  cgroup_sock_addr: "Linux 4.17 and CONFIG_CGROUP_BPF",
  lwt_seg6local: "Linux 4.18 and CONFIG_IPV6_SEG6_BPF",
  lirc_mode2: "Linux 4.18 and CONFIG_BPF_LIRC_MODE2",
  sk_reuseport: "Linux 4.19 and CONFIG_INET",
  flow_dissector: "Linux 4.20 and CONFIG_NET",
  cgroup_sysctl: "Linux 5.2 and CONFIG_CGROUP_BPF",
  raw_tracepoint_writable: "Linux 5.2 and CONFIG_BPF_EVENTS",
  cgroup_sockopt: "Linux 5.3 and CONFIG_CGROUP_BPF",
  tracing: "Linux 5.5, CONFIG_BPF_JIT and CONFIG_DEBUG_INFO_BTF, and no security policy " +
    "refusing tracing programs",
  struct_ops: "Linux 5.6, CONFIG_BPF_JIT and CONFIG_DEBUG_INFO_BTF",
  ext: "Linux 5.6, CONFIG_BPF_JIT and CONFIG_DEBUG_INFO_BTF, and no security policy " +
    "refusing extension programs",
  lsm: 'Linux 5.7 and CONFIG_BPF_LSM (with "bpf" in the lsm= boot parameter)',
  sk_lookup: "Linux 5.9 and CONFIG_INET",
  syscall: "Linux 5.14",
  netfilter: "Linux 6.4 and CONFIG_NETFILTER_BPF_LINK",
};

/** Miscellaneous features by name → what brings them. */
export const MISC_REQUIREMENTS: Readonly<Record<string, string>> = {
  bpf_syscall: "Linux 3.18 and CONFIG_BPF_SYSCALL",
  large_insn_limit: "Linux 5.3",
  bounded_loops: "Linux 5.3",
  v2_isa: "Linux 4.14",
  v3_isa: "Linux 5.1",
  v4_isa: "Linux 6.6",
  load_acquire: "Linux 6.15",
  may_goto: "Linux 6.9",
  obj_name: "Linux 4.15",
  btf: "Linux 4.18",
  kernel_btf: "Linux 5.4 and CONFIG_DEBUG_INFO_BTF",
  kprobes: "CONFIG_KPROBES (with CONFIG_KPROBE_EVENTS and CONFIG_BPF_EVENTS)",
  kallsyms_all: "CONFIG_KALLSYMS_ALL",
  mmapable_maps: "Linux 5.5",
  batch_api: "Linux 5.6",
  bpf_link: "Linux 5.7",
  inner_maps: "Linux 5.10",
  perf_link: "Linux 5.15",
  kprobe_multi_link: "Linux 5.18 and CONFIG_FPROBE",
  uprobe_multi_link: "Linux 6.6 and CONFIG_UPROBES",
  tcx_link: "Linux 6.6",
  netkit_link: "Linux 6.7 and CONFIG_NETKIT",
  perf_link_info: "Linux 6.6",
  rotating_verifier_log: "Linux 6.4",
  raw_tp_test_run: "Linux 5.10",
  perf_hardware: "a hardware PMU (most virtual machines have none)",
};
