/**
 * A tracepoint variant of Debian's bpftrace tool tcpaccept.bt (which uses
 * `kretprobe:inet_csk_accept`, absent here): TCP accepts with the remote and
 * local address and the listen backlog. At the exit of accept(2) and
 * accept4(2), the socket is found from the new descriptor through the task's
 * file table (`curtask->files->fdt->fd[ret]`, its file's socket) rather than
 * from the kretprobe's return value.
 *
 *     deno run --allow-ffi examples/bpftrace/tcpaccept.ts
 *
 * @module
 */
import {
  bswap,
  cast,
  comm,
  curtask,
  deref,
  local,
  pid,
  printf,
  script,
  time,
  tracepoint,
  when,
} from "@denobpf/ebpf/probe";
import { addresses, AF_INET, AF_INET6, type Sock } from "./_tcp.ts";

await using _ = await script(({ begin, on }) => {
  begin(() => {
    printf("Tracing TCP accepts. Hit Ctrl-C to end.\n");
    printf("%-8s %-6s %-14s ", "TIME", "PID", "COMM");
    printf("%-39s %-5s %-39s %-5s %s\n", "RADDR", "RPORT", "LADDR", "LPORT", "BL");
  });
  const exits = ["accept", "accept4"].map((s) => tracepoint(`syscalls:sys_exit_${s}`));
  on(exits, { where: ({ args }) => args.ret.ge(0) }, ({ args }) => {
    const fds = cast(cast<Task>(curtask, "struct task_struct *").files.fdt.fd, "uint64 *");
    const file = cast<{ private_data: number }>(deref(fds.add(args.ret)), "struct file *");
    const socket = cast<{ sk: number }>(file.private_data, "struct socket *");
    const sk = cast<Sock>(socket.sk, "struct sock *");
    const family = local(sk.__sk_common.skc_family, "inet_family");
    when(family.eq(AF_INET).or(family.eq(AF_INET6)), () => {
      const c = sk.__sk_common;
      const [saddr, daddr] = addresses(family.ne(AF_INET), [c.skc_rcv_saddr, c.skc_daddr], [
        c.skc_v6_rcv_saddr.in6_u.u6_addr8,
        c.skc_v6_daddr.in6_u.u6_addr8,
      ]);
      time("%H:%M:%S ");
      printf("%-6d %-14s ", pid, comm);
      printf("%-39s %-5d %-39s %-5d ", daddr, bswap(c.skc_dport), saddr, c.skc_num);
      printf("%d/%d\n", sk.sk_ack_backlog, sk.sk_max_ack_backlog);
    });
  });
}).run();

interface Task {
  files: { fdt: { fd: number } };
}
