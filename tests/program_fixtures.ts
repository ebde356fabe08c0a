// Fixtures for the program tests: program bytes from src/asm instructions
// (the tests load raw bytecode, as a user with a compiled program would),
// and a packet builder.

import { assemble } from "../src/asm/assemble.ts";
import * as asm from "../src/asm/builders.ts";
import type { Instruction } from "../src/asm/instruction.ts";
import { R0 } from "../src/asm/register.ts";

/**
 * Encodes instructions into raw program bytes; jumps go to labels
 * (`withSymbol`) or a given number of slots.
 */
export function program(...insns: Instruction[]): Uint8Array {
  return assemble(insns).bytes;
}

/** `r0 = value; exit`. */
export function returns(value: number): Uint8Array {
  return program(asm.mov64(R0, value), asm.exit());
}

/**
 * A 64-byte Ethernet + IPv4 + UDP frame (10.0.0.1:1234 → 10.0.0.2:5678) with
 * a valid IPv4 header checksum and `payload` bytes of 0x42.
 */
export function buildPacket(total = 64): Uint8Array {
  const p = new Uint8Array(total);
  const dv = new DataView(p.buffer);
  p.set([0x02, 0, 0, 0, 0, 0x02], 0); // destination MAC
  p.set([0x02, 0, 0, 0, 0, 0x01], 6); // source MAC
  dv.setUint16(12, 0x0800); // EtherType IPv4
  const ip = 14;
  p[ip] = 0x45; // version 4, IHL 5
  dv.setUint16(ip + 2, total - ip); // total length
  p[ip + 8] = 64; // TTL
  p[ip + 9] = 17; // UDP
  p.set([10, 0, 0, 1], ip + 12);
  p.set([10, 0, 0, 2], ip + 16);
  let sum = 0;
  for (let i = 0; i < 20; i += 2) sum += dv.getUint16(ip + i);
  while (sum > 0xffff) sum = (sum & 0xffff) + (sum >> 16);
  dv.setUint16(ip + 10, ~sum & 0xffff);
  const udp = ip + 20;
  dv.setUint16(udp, 1234);
  dv.setUint16(udp + 2, 5678);
  dv.setUint16(udp + 4, total - udp);
  p.fill(0x42, udp + 8);
  return p;
}
