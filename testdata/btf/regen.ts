// Regenerates the golden raw dumps in this folder with the real bpftool:
//   deno run -A testdata/btf/regen.ts
// all_kinds.btf is tests/btf_helpers.ts's allKinds() encoded little-endian;
// the .raw.txt files are `bpftool btf dump file … format raw` of the blobs.

import { encodeBtf, parseBtf } from "../../src/btf/mod.ts";
import {
  allKinds,
  bpftoolRaw as bpftool,
  oddValuesBlob,
  splitOnAllKinds,
} from "../../tests/btf_helpers.ts";

const dir = new URL(".", import.meta.url);

function write(name: string, bytes: Uint8Array): string {
  const url = new URL(name, dir);
  Deno.writeFileSync(url, bytes);
  console.log(`wrote ${url.pathname} (${bytes.length} bytes)`);
  return url.pathname;
}

const base = encodeBtf(allKinds(), { littleEndian: true });
const basePath = write("all_kinds.btf", base);
write("all_kinds.raw.txt", bpftool(basePath));

const tmp = Deno.makeTempDirSync();
try {
  const odd = `${tmp}/odd.btf`;
  Deno.writeFileSync(odd, oddValuesBlob());
  write("odd_values.raw.txt", bpftool(odd));
  const split = `${tmp}/split.btf`;
  Deno.writeFileSync(split, splitOnAllKinds(parseBtf(base)));
  write("split_small.raw.txt", bpftool(split, basePath));
} finally {
  Deno.removeSync(tmp, { recursive: true });
}
