/**
 * A tracepoint variant of Debian's bpftrace tool tcpretrans.bt (which uses
 * `kprobe:tcp_retransmit_skb`, absent here): TCP retransmits with the
 * connection and its state, from `tcp:tcp_retransmit_skb`, whose fields
 * carry the addresses, ports and state the kprobe read from the socket.
 *
 *     deno run --allow-ffi examples/bpftrace/tcpretrans.ts
 *
 * @module
 */
import { clear, pid, printf, script, time, tracepoint } from "@denobpf/ebpf/probe";
import { addresses, AF_INET6, TCP_STATES } from "./_tcp.ts";

await using _ = await script(({ begin, on, end, map }) => {
  const states = map<number, string>("@tcp_states");
  begin(() => {
    printf("Tracing tcp retransmits. Hit Ctrl-C to end.\n");
    printf("%-8s %-8s %20s %21s %6s\n", "TIME", "PID", "LADDR:LPORT", "RADDR:RPORT", "STATE");
    TCP_STATES.forEach((s, i) => states.set(i + 1, s));
  });
  on(tracepoint("tcp:tcp_retransmit_skb"), ({ args }) => {
    const [saddr, daddr] = addresses(args.family.eq(AF_INET6), [args.saddr, args.daddr], [
      args.saddr_v6,
      args.daddr_v6,
    ]);
    time("%H:%M:%S ");
    printf(
      "%-8d %14s:%-6d %14s:%-6d %6s\n",
      pid,
      saddr,
      args.sport,
      daddr,
      args.dport,
      states.get(args.state),
    );
  });
  end(() => clear(states));
}).run();
