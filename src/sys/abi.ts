/**
 * The kernel ABI, defined once: bpf(2) command numbers (`enum bpf_cmd`), map,
 * program, attach and link type numbers (`enum bpf_map_type`,
 * `bpf_prog_type`, `bpf_attach_type`, `bpf_link_type`), BTF kind numbers
 * (`BTF_KIND_*`), instruction opcode fields and `BPF_PSEUDO_*` values, the
 * helper ids libbpf writes into poisoned instructions, and the layouts of the
 * `struct bpf_*_info` records BPF_OBJ_GET_INFO_BY_FD fills.
 *
 * Every other module imports these from here (and the public entries
 * re-export them: `MapType` from `@denobpf/ebpf/map`, `ProgramType` from
 * `@denobpf/ebpf/asm`, …). Values follow `include/uapi/linux/bpf.h` and
 * `btf.h` through Linux 6.18; `tests/abi_test.ts` checks every table and
 * layout against the running kernel's BTF, which may know fewer values
 * (an older kernel), never different ones.
 *
 * The `union bpf_attr` layouts of each command are in `./bpf.ts` (`LAYOUTS`),
 * next to the encoder that uses them; the same test checks them.
 *
 * This module imports nothing: any module may import it.
 *
 * @module
 */

/** bpf(2) command numbers (`enum bpf_cmd`). */
export const BpfCmd = {
  MAP_CREATE: 0,
  MAP_LOOKUP_ELEM: 1,
  MAP_UPDATE_ELEM: 2,
  MAP_DELETE_ELEM: 3,
  MAP_GET_NEXT_KEY: 4,
  PROG_LOAD: 5,
  OBJ_PIN: 6,
  OBJ_GET: 7,
  PROG_ATTACH: 8,
  PROG_DETACH: 9,
  PROG_TEST_RUN: 10,
  PROG_GET_NEXT_ID: 11,
  MAP_GET_NEXT_ID: 12,
  PROG_GET_FD_BY_ID: 13,
  MAP_GET_FD_BY_ID: 14,
  OBJ_GET_INFO_BY_FD: 15,
  PROG_QUERY: 16,
  RAW_TRACEPOINT_OPEN: 17,
  BTF_LOAD: 18,
  BTF_GET_FD_BY_ID: 19,
  TASK_FD_QUERY: 20,
  MAP_LOOKUP_AND_DELETE_ELEM: 21,
  MAP_FREEZE: 22,
  BTF_GET_NEXT_ID: 23,
  MAP_LOOKUP_BATCH: 24,
  MAP_LOOKUP_AND_DELETE_BATCH: 25,
  MAP_UPDATE_BATCH: 26,
  MAP_DELETE_BATCH: 27,
  LINK_CREATE: 28,
  LINK_UPDATE: 29,
  LINK_GET_FD_BY_ID: 30,
  LINK_GET_NEXT_ID: 31,
  ENABLE_STATS: 32,
  ITER_CREATE: 33,
  LINK_DETACH: 34,
  PROG_BIND_MAP: 35,
  TOKEN_CREATE: 36,
  PROG_STREAM_READ_BY_FD: 37,
} as const;

/**
 * Every map type by its lowercase name (the names bpftool prints) and its
 * number in `enum bpf_map_type`. The feature probes and the ELF loader use
 * this table to go from one to the other.
 *
 * @example
 * ```ts
 * MapType.hash; // 1
 * mapTypeName(27); // "ringbuf"
 * ```
 */
export const MapType = {
  unspec: 0,
  hash: 1,
  array: 2,
  prog_array: 3,
  perf_event_array: 4,
  percpu_hash: 5,
  percpu_array: 6,
  stack_trace: 7,
  cgroup_array: 8,
  lru_hash: 9,
  lru_percpu_hash: 10,
  lpm_trie: 11,
  array_of_maps: 12,
  hash_of_maps: 13,
  devmap: 14,
  sockmap: 15,
  cpumap: 16,
  xskmap: 17,
  sockhash: 18,
  cgroup_storage: 19,
  reuseport_sockarray: 20,
  percpu_cgroup_storage: 21,
  queue: 22,
  stack: 23,
  sk_storage: 24,
  devmap_hash: 25,
  struct_ops: 26,
  ringbuf: 27,
  inode_storage: 28,
  task_storage: 29,
  bloom_filter: 30,
  user_ringbuf: 31,
  cgrp_storage: 32,
  arena: 33,
} as const;

/**
 * Program types (`enum bpf_prog_type`), keyed by bpftool's names.
 */
export const ProgramType = {
  unspec: 0,
  socket_filter: 1,
  kprobe: 2,
  sched_cls: 3,
  sched_act: 4,
  tracepoint: 5,
  xdp: 6,
  perf_event: 7,
  cgroup_skb: 8,
  cgroup_sock: 9,
  lwt_in: 10,
  lwt_out: 11,
  lwt_xmit: 12,
  sock_ops: 13,
  sk_skb: 14,
  cgroup_device: 15,
  sk_msg: 16,
  raw_tracepoint: 17,
  cgroup_sock_addr: 18,
  lwt_seg6local: 19,
  lirc_mode2: 20,
  sk_reuseport: 21,
  flow_dissector: 22,
  cgroup_sysctl: 23,
  raw_tracepoint_writable: 24,
  cgroup_sockopt: 25,
  tracing: 26,
  struct_ops: 27,
  ext: 28,
  lsm: 29,
  sk_lookup: 30,
  syscall: 31,
  netfilter: 32,
} as const;

/**
 * Attach types (`enum bpf_attach_type`), keyed by libbpf's names (`BPF_TCX_INGRESS` → `tcx_ingress`).
 */
export const AttachType = {
  cgroup_inet_ingress: 0,
  cgroup_inet_egress: 1,
  cgroup_inet_sock_create: 2,
  cgroup_sock_ops: 3,
  sk_skb_stream_parser: 4,
  sk_skb_stream_verdict: 5,
  cgroup_device: 6,
  sk_msg_verdict: 7,
  cgroup_inet4_bind: 8,
  cgroup_inet6_bind: 9,
  cgroup_inet4_connect: 10,
  cgroup_inet6_connect: 11,
  cgroup_inet4_post_bind: 12,
  cgroup_inet6_post_bind: 13,
  cgroup_udp4_sendmsg: 14,
  cgroup_udp6_sendmsg: 15,
  lirc_mode2: 16,
  flow_dissector: 17,
  cgroup_sysctl: 18,
  cgroup_udp4_recvmsg: 19,
  cgroup_udp6_recvmsg: 20,
  cgroup_getsockopt: 21,
  cgroup_setsockopt: 22,
  trace_raw_tp: 23,
  trace_fentry: 24,
  trace_fexit: 25,
  modify_return: 26,
  lsm_mac: 27,
  trace_iter: 28,
  cgroup_inet4_getpeername: 29,
  cgroup_inet6_getpeername: 30,
  cgroup_inet4_getsockname: 31,
  cgroup_inet6_getsockname: 32,
  xdp_devmap: 33,
  cgroup_inet_sock_release: 34,
  xdp_cpumap: 35,
  sk_lookup: 36,
  xdp: 37,
  sk_skb_verdict: 38,
  sk_reuseport_select: 39,
  sk_reuseport_select_or_migrate: 40,
  perf_event: 41,
  trace_kprobe_multi: 42,
  lsm_cgroup: 43,
  struct_ops: 44,
  netfilter: 45,
  tcx_ingress: 46,
  tcx_egress: 47,
  trace_uprobe_multi: 48,
  cgroup_unix_connect: 49,
  cgroup_unix_sendmsg: 50,
  cgroup_unix_recvmsg: 51,
  cgroup_unix_getpeername: 52,
  cgroup_unix_getsockname: 53,
  netkit_primary: 54,
  netkit_peer: 55,
  trace_kprobe_session: 56,
  trace_uprobe_session: 57,
} as const;

/**
 * Link types (`enum bpf_link_type`), keyed by bpftool's names.
 */
export const LinkType = {
  unspec: 0,
  raw_tracepoint: 1,
  tracing: 2,
  cgroup: 3,
  iter: 4,
  netns: 5,
  xdp: 6,
  perf_event: 7,
  kprobe_multi: 8,
  struct_ops: 9,
  netfilter: 10,
  tcx: 11,
  uprobe_multi: 12,
  netkit: 13,
  sockmap: 14,
} as const;
/**
 * BTF kind numbers (`BTF_KIND_*` in `include/uapi/linux/btf.h`), keyed by the
 * lower-case kind names the BTF decoder uses. `void` is `BTF_KIND_UNKN` (0),
 * the kind of type id 0.
 */
export const BtfKind = {
  void: 0,
  int: 1,
  ptr: 2,
  array: 3,
  struct: 4,
  union: 5,
  enum: 6,
  fwd: 7,
  typedef: 8,
  volatile: 9,
  const: 10,
  restrict: 11,
  func: 12,
  func_proto: 13,
  var: 14,
  datasec: 15,
  float: 16,
  decl_tag: 17,
  type_tag: 18,
  enum64: 19,
} as const;

/** Instruction classes (the low 3 bits of the opcode). */
export const Class = {
  LD: 0x00,
  LDX: 0x01,
  ST: 0x02,
  STX: 0x03,
  ALU: 0x04,
  JMP: 0x05,
  JMP32: 0x06,
  ALU64: 0x07,
} as const;

/** Operand source bit of ALU/JMP opcodes: immediate (`K`) or register (`X`). */
export const Source = { K: 0x00, X: 0x08 } as const;

/**
 * Byte-order direction of `BPF_END` (the source bit): `TO_LE` (0) and
 * `TO_BE` (8) in class ALU; in class ALU64 only `TO_LE` is defined and means
 * an unconditional byte swap (`bswap`, ISA v4).
 */
export const Endian = { TO_LE: 0x00, TO_BE: 0x08 } as const;

/** ALU operations (the high 4 bits of an ALU/ALU64 opcode). */
export const AluOp = {
  ADD: 0x00,
  SUB: 0x10,
  MUL: 0x20,
  DIV: 0x30,
  OR: 0x40,
  AND: 0x50,
  LSH: 0x60,
  RSH: 0x70,
  NEG: 0x80,
  MOD: 0x90,
  XOR: 0xa0,
  MOV: 0xb0,
  ARSH: 0xc0,
  END: 0xd0,
} as const;

/** Jump operations (the high 4 bits of a JMP/JMP32 opcode). */
export const JmpOp = {
  JA: 0x00,
  JEQ: 0x10,
  JGT: 0x20,
  JGE: 0x30,
  JSET: 0x40,
  JNE: 0x50,
  JSGT: 0x60,
  JSGE: 0x70,
  CALL: 0x80,
  EXIT: 0x90,
  JLT: 0xa0,
  JLE: 0xb0,
  JSLT: 0xc0,
  JSLE: 0xd0,
  JCOND: 0xe0,
} as const;

/** Access sizes of load/store opcodes (bits 3–4). */
export const Size = { W: 0x00, H: 0x08, B: 0x10, DW: 0x18 } as const;

/** Addressing modes of load/store opcodes (the high 3 bits). */
export const Mode = {
  IMM: 0x00,
  ABS: 0x20,
  IND: 0x40,
  MEM: 0x60,
  MEMSX: 0x80,
  ATOMIC: 0xc0,
} as const;

/**
 * Atomic operations, in the `imm` field of `STX | ATOMIC` instructions.
 * `FETCH` is or-ed into ADD/OR/AND/XOR to return the old value; XCHG and
 * CMPXCHG always include it. `LOAD_ACQ`/`STORE_REL` are load-acquire and
 * store-release (Linux 6.15).
 */
export const AtomicOp = {
  ADD: 0x00,
  OR: 0x40,
  AND: 0x50,
  XOR: 0xa0,
  FETCH: 0x01,
  XCHG: 0xe1,
  CMPXCHG: 0xf1,
  LOAD_ACQ: 0x100,
  STORE_REL: 0x110,
} as const;

/**
 * Values of the `src` field that give a 64-bit immediate load (`lddw`) or a
 * call a special meaning (`BPF_PSEUDO_*`).
 */
export const Pseudo = {
  /** lddw: `imm` is a map fd; the register gets the map's address. */
  MAP_FD: 1,
  /** lddw: `imm` is a map fd, the second `imm` an offset into its value. */
  MAP_VALUE: 2,
  /** lddw: `imm` is a BTF id of a kernel variable (ksym). */
  BTF_ID: 3,
  /** lddw: `imm` is the instruction offset of a bpf-to-bpf function. */
  FUNC: 4,
  /** lddw: `imm` is an index into `fd_array`. */
  MAP_IDX: 5,
  /** lddw: `imm` is an index into `fd_array`, the second `imm` an offset. */
  MAP_IDX_VALUE: 6,
  /** call: `imm` is the instruction offset of a bpf-to-bpf function. */
  CALL: 1,
  /** call: `imm` is the BTF id of a kfunc, `offset` an index into `fd_array`. */
  KFUNC_CALL: 2,
} as const;

/** Offset values of `ALU64 | MOV | X` (and `ALU | MOV | X`) beyond 0. */
export const MovOffset = {
  /** `addr_space_cast` (arena pointers, Linux 6.9). */
  ADDR_SPACE_CAST: 1,
} as const;

/** `src` values of `JMP | JCOND` (Linux 6.9). */
export const JCond = { MAY_GOTO: 0 } as const;

/** The opcode of the 16-byte `lddw` instruction (`LD | IMM | DW`). */
export const OP_LDDW = 0x18;
/** The opcode of `call` (`JMP | CALL`): helpers, bpf-to-bpf calls and kfuncs. */
export const OP_CALL = 0x85;
/** The opcode of `exit` (`JMP | EXIT`). */
export const OP_EXIT = 0x95;

/**
 * The helper id libbpf (and this library's CO-RE) writes into an instruction
 * whose CO-RE relocation cannot be applied (0xbad2310, "bad relo"): the
 * verifier reports the call to this unknown helper if the instruction is
 * reachable.
 */
export const POISON_HELPER = 0xbad2310;
/**
 * Base of the helper ids libbpf writes into calls to missing weak kfuncs
 * (`2002000000 + index of the extern`), so that the verifier names them if
 * reached.
 */
export const POISON_KFUNC_BASE = 2002000000;

/**
 * The layout of a kernel record decoded by hand: its size as this library
 * reads it, and each field's byte offset and size, keyed by the camelCase of
 * the kernel's member name (`key_size` → `keySize`).
 */
export interface StructLayout {
  /** The bytes this library passes to (or reads from) the kernel. */
  readonly size: number;
  /** The fields this library reads or writes: `[byte offset, byte size]`. */
  readonly fields: Readonly<Record<string, readonly [offset: number, size: number]>>;
}

/**
 * `struct bpf_map_info` as BPF_OBJ_GET_INFO_BY_FD fills it for a map, through
 * `map_extra` (Linux 5.16; later fields are not read).
 */
export const MAP_INFO = {
  size: 88,
  fields: {
    type: [0, 4],
    id: [4, 4],
    keySize: [8, 4],
    valueSize: [12, 4],
    maxEntries: [16, 4],
    mapFlags: [20, 4],
    name: [24, 16],
    ifindex: [40, 4],
    btfVmlinuxValueTypeId: [44, 4],
    netnsDev: [48, 8],
    netnsIno: [56, 8],
    btfId: [64, 4],
    btfKeyTypeId: [68, 4],
    btfValueTypeId: [72, 4],
    btfVmlinuxId: [76, 4],
    mapExtra: [80, 8],
  },
} as const satisfies StructLayout;

/**
 * `struct bpf_prog_info`, through `attach_btf_id` (its size through Linux
 * 6.18). `gplCompatible` is bit 0 of the word at its offset.
 */
export const PROG_INFO = {
  size: 232,
  fields: {
    type: [0, 4],
    id: [4, 4],
    tag: [8, 8],
    jitedProgLen: [16, 4],
    xlatedProgLen: [20, 4],
    jitedProgInsns: [24, 8],
    xlatedProgInsns: [32, 8],
    loadTime: [40, 8],
    createdByUid: [48, 4],
    nrMapIds: [52, 4],
    mapIds: [56, 8],
    name: [64, 16],
    ifindex: [80, 4],
    gplCompatible: [84, 4],
    netnsDev: [88, 8],
    netnsIno: [96, 8],
    nrJitedKsyms: [104, 4],
    nrJitedFuncLens: [108, 4],
    jitedKsyms: [112, 8],
    jitedFuncLens: [120, 8],
    btfId: [128, 4],
    funcInfoRecSize: [132, 4],
    funcInfo: [136, 8],
    nrFuncInfo: [144, 4],
    nrLineInfo: [148, 4],
    lineInfo: [152, 8],
    jitedLineInfo: [160, 8],
    nrJitedLineInfo: [168, 4],
    lineInfoRecSize: [172, 4],
    jitedLineInfoRecSize: [176, 4],
    runTimeNs: [192, 8],
    runCnt: [200, 8],
    recursionMisses: [208, 8],
    verifiedInsns: [216, 4],
    attachBtfObjId: [220, 4],
    attachBtfId: [224, 4],
  },
} as const satisfies StructLayout;

/** `struct bpf_btf_info` (Linux 5.11 layout, with `name` and `kernel_btf`). */
export const BTF_INFO = {
  size: 32,
  fields: {
    btf: [0, 8],
    btfSize: [8, 4],
    id: [12, 4],
    name: [16, 8],
    nameLen: [24, 4],
    kernelBtf: [28, 4],
  },
} as const satisfies StructLayout;

/**
 * `struct bpf_link_info` and its size through Linux 6.18: the common head,
 * then the kind-specific union at offset 16, whose members are keyed
 * `kind.member` (`"tracing.attachType"` is `tracing.attach_type`; the
 * anonymous unions inside `iter` and `perf_event` are skipped).
 */
export const LINK_INFO = {
  size: 64,
  fields: {
    type: [0, 4],
    id: [4, 4],
    progId: [8, 4],
    "rawTracepoint.tpName": [16, 8],
    "rawTracepoint.tpNameLen": [24, 4],
    "rawTracepoint.cookie": [32, 8],
    "tracing.attachType": [16, 4],
    "tracing.targetObjId": [20, 4],
    "tracing.targetBtfId": [24, 4],
    "tracing.cookie": [32, 8],
    "cgroup.cgroupId": [16, 8],
    "cgroup.attachType": [24, 4],
    "iter.targetName": [16, 8],
    "iter.targetNameLen": [24, 4],
    "iter.map.mapId": [28, 4],
    "iter.cgroup.cgroupId": [32, 8],
    "iter.cgroup.order": [40, 4],
    "iter.task.tid": [32, 4],
    "iter.task.pid": [36, 4],
    "netns.netnsIno": [16, 4],
    "netns.attachType": [20, 4],
    "xdp.ifindex": [16, 4],
    "structOps.mapId": [16, 4],
    "netfilter.pf": [16, 4],
    "netfilter.hooknum": [20, 4],
    "netfilter.priority": [24, 4],
    "netfilter.flags": [28, 4],
    "kprobeMulti.count": [24, 4],
    "kprobeMulti.flags": [28, 4],
    "kprobeMulti.missed": [32, 8],
    "uprobeMulti.path": [16, 8],
    "uprobeMulti.offsets": [24, 8],
    "uprobeMulti.refCtrOffsets": [32, 8],
    "uprobeMulti.cookies": [40, 8],
    "uprobeMulti.pathSize": [48, 4],
    "uprobeMulti.count": [52, 4],
    "uprobeMulti.flags": [56, 4],
    "uprobeMulti.pid": [60, 4],
    "perfEvent.type": [16, 4],
    "perfEvent.uprobe.fileName": [24, 8],
    "perfEvent.uprobe.nameLen": [32, 4],
    "perfEvent.uprobe.offset": [36, 4],
    "perfEvent.uprobe.cookie": [40, 8],
    "perfEvent.uprobe.refCtrOffset": [48, 8],
    "perfEvent.kprobe.funcName": [24, 8],
    "perfEvent.kprobe.nameLen": [32, 4],
    "perfEvent.kprobe.offset": [36, 4],
    "perfEvent.kprobe.addr": [40, 8],
    "perfEvent.kprobe.missed": [48, 8],
    "perfEvent.kprobe.cookie": [56, 8],
    "perfEvent.tracepoint.tpName": [24, 8],
    "perfEvent.tracepoint.nameLen": [32, 4],
    "perfEvent.tracepoint.cookie": [40, 8],
    "perfEvent.event.config": [24, 8],
    "perfEvent.event.type": [32, 4],
    "perfEvent.event.cookie": [40, 8],
    "tcx.ifindex": [16, 4],
    "tcx.attachType": [20, 4],
    "netkit.ifindex": [16, 4],
    "netkit.attachType": [20, 4],
    "sockmap.mapId": [16, 4],
    "sockmap.attachType": [20, 4],
  },
} as const satisfies StructLayout;

/** Reads a field of a {@linkcode StructLayout} as an unsigned 32-bit number (0 past the end of `dv`). */
export function layoutU32(dv: DataView, field: readonly [number, number]): number {
  return field[0] + 4 <= dv.byteLength ? dv.getUint32(field[0], true) : 0;
}

/** Reads a field of a {@linkcode StructLayout} as an unsigned 64-bit bigint (0n past the end of `dv`). */
export function layoutU64(dv: DataView, field: readonly [number, number]): bigint {
  return field[0] + 8 <= dv.byteLength ? dv.getBigUint64(field[0], true) : 0n;
}
