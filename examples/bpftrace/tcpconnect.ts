/**
 * A tracepoint variant of Debian's bpftrace tool tcpconnect.bt (which uses
 * `kprobe:tcp_connect`, absent here): TCP connections with their addresses
 * and ports, from `sock:inet_sock_set_state`. The port is not chosen yet when
 * a socket enters SYN_SENT, so the connecting pid and comm are kept per
 * socket there and the line is printed when the socket leaves SYN_SENT
 * (established or refused).
 *
 *     tracepoint:sock:inet_sock_set_state /args->protocol == 6 && args->newstate == 2/ {
 *       @pid[args->skaddr] = pid; @comm[args->skaddr] = comm; }
 *     tracepoint:sock:inet_sock_set_state /args->oldstate == 2 && @pid[args->skaddr]/ {
 *       (the line, with args->saddr, sport, daddr, dport; then the two entries deleted) }
 *
 *     deno run --allow-ffi examples/bpftrace/tcpconnect.ts
 *
 * @module
 */
import { clear, comm, pid, printf, script, time, tracepoint } from "@denobpf/ebpf/probe";
import { addresses, AF_INET6 } from "./_tcp.ts";

const [IPPROTO_TCP, TCP_SYN_SENT] = [6, 2];
await using _ = await script(({ begin, on, end, map }) => {
  const [skpid, skcomm] = [map<number, number>("@pid"), map<number, string>("@comm")];
  begin(() => {
    printf("Tracing tcp connections. Hit Ctrl-C to end.\n");
    printf("%-8s %-8s %-16s ", "TIME", "PID", "COMM");
    printf("%-39s %-6s %-39s %-6s\n", "SADDR", "SPORT", "DADDR", "DPORT");
  });
  const state = tracepoint("sock:inet_sock_set_state");
  on(state, {
    where: ({ args }) => args.protocol.eq(IPPROTO_TCP).and(args.newstate.eq(TCP_SYN_SENT)),
  }, ({ args }) => {
    skpid.set(args.skaddr, pid);
    skcomm.set(args.skaddr, comm);
  });
  on(state, {
    where: ({ args }) => args.oldstate.eq(TCP_SYN_SENT).and(skpid.get(args.skaddr)),
  }, ({ args }) => {
    const [saddr, daddr] = addresses(args.family.eq(AF_INET6), [args.saddr, args.daddr], [
      args.saddr_v6,
      args.daddr_v6,
    ]);
    time("%H:%M:%S ");
    printf("%-8d %-16s ", skpid.get(args.skaddr), skcomm.get(args.skaddr));
    printf("%-39s %-6d %-39s %-6d\n", saddr, args.sport, daddr, args.dport);
    skpid.delete(args.skaddr);
    skcomm.delete(args.skaddr);
  });
  end(() => {
    clear(skpid);
    clear(skcomm);
  });
}).run();
