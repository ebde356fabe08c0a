/**
 * A tracepoint variant of Debian's bpftrace tool tcplife.bt (which uses
 * `kprobe:tcp_set_state`, absent here): TCP sessions with their bytes and
 * duration, from `sock:inet_sock_set_state` (TCP only: it also reports SCTP
 * and MPTCP). The birth time, pid and comm are kept per socket; addresses and
 * ports come from the tracepoint's fields instead of the socket's.
 *
 *     deno run --allow-ffi examples/bpftrace/tcplife.ts
 *
 * @module
 */
import {
  cast,
  clear,
  comm,
  local,
  nsecs,
  pid,
  printf,
  script,
  tracepoint,
  when,
} from "@denobpf/ebpf/probe";
import { addresses, AF_INET6 } from "./_tcp.ts";

interface TcpSock {
  bytes_acked: number;
  bytes_received: number;
}
const IPPROTO_TCP = 6;
const [SYN_SENT, FIN_WAIT1, CLOSE, LAST_ACK] = [2, 4, 7, 9];
await using _ = await script(({ begin, on, end, map }) => {
  const [birth, skpid] = [map<number, number>("@birth"), map<number, number>("@skpid")];
  const skcomm = map<number, string>("@skcomm");
  begin(() => {
    printf("%-5s %-10s %-15s %-5s %-15s %-5s ", "PID", "COMM", "LADDR", "LPORT", "RADDR", "RPORT");
    printf("%5s %5s %s\n", "TX_KB", "RX_KB", "MS");
  });
  on(tracepoint("sock:inet_sock_set_state"), {
    where: ({ args }) => args.protocol.eq(IPPROTO_TCP),
  }, ({ args }) => {
    const [sk, state] = [args.skaddr, args.newstate];
    when(state.lt(FIN_WAIT1).and(birth.get(sk).eq(0)), () => birth.set(sk, nsecs));
    when(state.eq(SYN_SENT).or(state.eq(LAST_ACK)), () => {
      skpid.set(sk, pid);
      skcomm.set(sk, comm);
    });
    when(state.eq(CLOSE).and(birth.get(sk)), () => {
      const ms = local(nsecs.sub(birth.get(sk)).div(1e6), "delta_ms");
      const tp = cast<TcpSock>(sk, "struct tcp_sock *");
      const [p, c] = [local(skpid.get(sk), "pid"), local(skcomm.get(sk), "comm")];
      when(c.eq(""), () => {
        p.set(pid);
        c.set(comm);
      });
      const [saddr, daddr] = addresses(args.family.eq(AF_INET6), [args.saddr, args.daddr], [
        args.saddr_v6,
        args.daddr_v6,
      ]);
      printf("%-5d %-10.10s %-15s %-5d %-15s %-6d ", p, c, saddr, args.sport, daddr, args.dport);
      printf("%5d %5d %d\n", tp.bytes_acked.div(1024), tp.bytes_received.div(1024), ms);
      birth.delete(sk);
      skpid.delete(sk);
      skcomm.delete(sk);
    });
  });
  end(() => {
    clear(birth);
    clear(skpid);
    clear(skcomm);
  });
}).run();
