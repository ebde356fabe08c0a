/**
 * A socket filter that keeps UDP packets to port 5678 and drops the rest,
 * written with the assembler, loaded, and run with BPF_PROG_TEST_RUN on
 * packets this script builds.
 *
 *     deno run --allow-ffi examples/socket_filter.ts
 *
 * @module
 */

import { Assembler } from "@denobpf/ebpf/asm";
import { R0, R1, R6 } from "@denobpf/ebpf/asm";
import { loadProgram } from "@denobpf/ebpf/program";

// A socket filter sees the packet from the IP header on; it returns how many
// bytes to keep (0 drops the packet). The legacy packet loads (ldabs*) read
// the packet through r6 and convert to host byte order.
const filter = new Assembler()
  .mov64(R6, R1) //           r6 = skb
  .ldabsb(9) //               r0 = IPv4 protocol
  .jne(R0, 17, "drop") //     not UDP
  .ldabsh(20 + 2) //          r0 = UDP destination port
  .jne(R0, 5678, "drop")
  .ldxw(R0, R6, 0) //         r0 = skb->len: keep the whole packet
  .exit()
  .label("drop")
  .mov64(R0, 0)
  .exit();

console.log(`${filter}\n`);

function udpPacket(dstPort: number, payload = 22): Uint8Array {
  const total = 14 + 20 + 8 + payload;
  const p = new Uint8Array(total);
  const dv = new DataView(p.buffer);
  p.set([0x02, 0, 0, 0, 0, 0x02, 0x02, 0, 0, 0, 0, 0x01], 0); // MACs
  dv.setUint16(12, 0x0800); // IPv4
  p[14] = 0x45;
  dv.setUint16(16, total - 14);
  p[22] = 64; // TTL
  p[23] = 17; // UDP
  p.set([10, 0, 0, 1, 10, 0, 0, 2], 26);
  dv.setUint16(34, 1234);
  dv.setUint16(36, dstPort);
  dv.setUint16(38, 8 + payload);
  return p;
}

using prog = loadProgram({ type: "socket_filter", instructions: filter, name: "udp_5678" });
console.log(`loaded ${prog} (id ${prog.id}, tag ${prog.info().tag})`);
for (const port of [5678, 53]) {
  const packet = udpPacket(port);
  const { retval, duration } = await prog.testRun({ data: packet });
  console.log(
    `UDP to port ${port}, ${packet.length}-byte frame: filter returned ${retval} ` +
      `(${retval ? `keep ${retval} bytes` : "drop"}), ${duration} ns`,
  );
}
