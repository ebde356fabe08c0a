// Maps from user space: a hash map with typed keys and values, and a
// per-CPU array, created, updated, iterated and printed.
//
//   deno run --allow-ffi examples/map_basics.ts
//
// Needs root (or CAP_BPF). No BPF program is involved: user space reads and
// writes the maps with bpf(2) directly.

import { createMap, cstring, possibleCpuCount, struct, u32, u64 } from "@denobpf/ebpf/map";

// A hash from a u32 port to a { packets, bytes, name } struct.
const stats = struct({ packets: u64, bytes: u64, name: cstring(16) });
using ports = createMap(
  { type: "hash", keySize: 4, valueSize: stats.size, maxEntries: 128, name: "ports" },
  { key: u32, value: stats },
);

ports.set(22, { packets: 10n, bytes: 1_400n, name: "ssh" });
ports.set(53, { packets: 250n, bytes: 18_000n, name: "dns" });
ports.set(443, { packets: 9_000n, bytes: 12_000_000n, name: "https" });
ports.set(443, { packets: 9_001n, bytes: 12_001_500n, name: "https" }, "exist");
ports.delete(53);

console.log(`hash map ${ports.map.name} (id ${ports.map.info().id}):`);
for (const [port, s] of ports) {
  console.log(
    `  port ${String(port).padStart(5)}  ${
      s.name.padEnd(6)
    } ${s.packets} packets, ${s.bytes} bytes`,
  );
}
console.log(`  port 53 after delete: ${ports.get(53) ?? "absent"}`);

// A per-CPU array: one u64 slot per possible CPU for each index.
const cpus = possibleCpuCount();
using perCpu = createMap(
  { type: "percpu_array", keySize: 4, valueSize: 8, maxEntries: 4, name: "per_cpu" },
  { key: u32, value: u64 },
);
for (let i = 0; i < 4; i++) {
  perCpu.setPerCpu(i, Array.from({ length: cpus }, (_, cpu) => BigInt((i + 1) * 100 + cpu)));
}
console.log(`per-CPU array ${perCpu.map.name} (${cpus} possible CPUs):`);
for (let i = 0; i < 4; i++) {
  const values = perCpu.getPerCpu(i)!;
  const total = values.reduce((a, b) => a + b, 0n);
  console.log(`  [${i}] per CPU ${values.join(", ")}  total ${total}`);
}

// The same map at the byte level: lookups return Uint8Arrays.
const raw = perCpu.map;
console.log(
  `  raw value of index 0: ${raw.valueBufferSize} bytes ` +
    `(${cpus} × 8-byte slots): ${[...raw.lookup(new Uint8Array(4))!].join(" ")}`,
);
