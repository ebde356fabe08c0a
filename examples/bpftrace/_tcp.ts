/**
 * What the TCP examples share: the TCP states' names (the tools' @tcp_states),
 * the members of `struct sock` they read, and the address pair they print,
 * IPv4 or IPv6 by the family.
 *
 * @module
 */
import { type Local, local, ntop, type ScriptExpr, when } from "@denobpf/ebpf/probe";

/** The TCP states' names from 1 (TCP_ESTABLISHED), as the tools print them. */
export const TCP_STATES = ["ESTABLISHED", "SYN_SENT", "SYN_RECV", "FIN_WAIT1", "FIN_WAIT2"]
  .concat(["TIME_WAIT", "CLOSE", "CLOSE_WAIT", "LAST_ACK", "LISTEN", "CLOSING", "NEW_SYN_RECV"]);

/** Address families. */
export const [AF_INET, AF_INET6] = [2, 10];

/** The members of `struct sock` (through `__sk_common`) the tools read, through kernel BTF. */
export interface Sock {
  __sk_common: {
    skc_family: number;
    skc_daddr: number;
    skc_rcv_saddr: number;
    skc_v6_daddr: { in6_u: { u6_addr8: string } };
    skc_v6_rcv_saddr: { in6_u: { u6_addr8: string } };
    skc_num: number;
    skc_dport: number;
    skc_state: number;
  };
  sk_ack_backlog: number;
  sk_max_ack_backlog: number;
}

type Addr = ScriptExpr<unknown>;

/**
 * `$saddr` and `$daddr`: `ntop(v4)` of each, then `ntop(v6)` of each when
 * `v6` holds (an `if` in the program), as the tools set them.
 */
export function addresses(
  v6: ScriptExpr<number>,
  v4Addrs: [Addr, Addr],
  v6Addrs: [Addr, Addr],
): [Local<string>, Local<string>] {
  const saddr = local(ntop(v4Addrs[0]), "saddr");
  const daddr = local(ntop(v4Addrs[1]), "daddr");
  when(v6, () => {
    saddr.set(ntop(v6Addrs[0]));
    daddr.set(ntop(v6Addrs[1]));
  });
  return [saddr, daddr];
}
