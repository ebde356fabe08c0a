/**
 * Debian's bpftrace tool tcpdrop.bt: TCP packets the kernel drops for a
 * reason (`skb:kfree_skb`, reason past NOT_SPECIFIED), with the connection,
 * its state and the kernel stack. The original includes `net/sock.h`, which
 * bpftrace 0.17 cannot compile here; this reads `struct sock` through BTF.
 *
 *     deno run --allow-ffi examples/bpftrace/tcpdrop.ts
 *
 * @module
 */
import {
  bswap,
  cast,
  clear,
  comm,
  kstack,
  local,
  pid,
  printf,
  script,
  time,
  tracepoint,
  when,
} from "@denobpf/ebpf/probe";
import { addresses, AF_INET, AF_INET6, type Sock, TCP_STATES } from "./_tcp.ts";

const SKB_DROP_REASON_NOT_SPECIFIED = 2;
await using _ = await script(({ begin, on, end, map }) => {
  const states = map<number, string>("@tcp_states");
  begin(() => {
    printf("Tracing tcp drops. Hit Ctrl-C to end.\n");
    printf(
      "%-8s %-8s %-16s %-21s %-21s %-8s\n",
      "TIME",
      "PID",
      "COMM",
      "SADDR:SPORT",
      "DADDR:DPORT",
      "STATE",
    );
    TCP_STATES.forEach((s, i) => states.set(i + 1, s));
  });
  on(tracepoint("skb:kfree_skb"), ({ args }) => {
    const skb = cast<{ sk: number }>(args.skbaddr, "struct sk_buff *");
    const sk = cast<Sock>(skb.sk, "struct sock *").__sk_common;
    const family = local(sk.skc_family, "inet_family");
    when(
      args.reason.gt(SKB_DROP_REASON_NOT_SPECIFIED).and(family.eq(AF_INET).or(family.eq(AF_INET6))),
      () => {
        const [saddr, daddr] = addresses(family.ne(AF_INET), [sk.skc_rcv_saddr, sk.skc_daddr], [
          sk.skc_v6_rcv_saddr.in6_u.u6_addr8,
          sk.skc_v6_daddr.in6_u.u6_addr8,
        ]);
        time("%H:%M:%S ");
        printf("%-8d %-16s ", pid, comm);
        printf(
          "%39s:%-6d %39s:%-6d %-10s\n",
          saddr,
          sk.skc_num,
          daddr,
          bswap(sk.skc_dport),
          states.get(sk.skc_state),
        );
        printf("%s\n", kstack);
      },
    );
  });
  end(() => clear(states));
}).run();
