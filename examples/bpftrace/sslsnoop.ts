/**
 * Debian's bpftrace tool sslsnoop.bt: each OpenSSL read, write and handshake
 * call and libcrypto RSA/ECDSA/ECDH operation, with its latency and result;
 * the start time and function name are kept per thread from entry to return.
 *
 *     deno run --allow-ffi examples/bpftrace/sslsnoop.ts
 *
 * @module
 */
import {
  comm,
  elapsed,
  func,
  nsecs,
  printf,
  retval,
  script,
  tid,
  uprobe,
  uretprobe,
} from "@denobpf/ebpf/probe";
import { findElfSymbol, resolveBinaryPath } from "@denobpf/ebpf/uprobe";
import { readElfFile } from "@denobpf/ebpf/elf";

const SSL = ["SSL_read", "SSL_write", "SSL_do_handshake"];
const CRYPTO = ["rsa_ossl_public_encrypt", "rsa_ossl_public_decrypt", "rsa_ossl_private_encrypt"]
  .concat(["rsa_ossl_private_decrypt", "RSA_sign", "RSA_verify", "ossl_ecdsa_sign"])
  .concat(["ossl_ecdsa_verify", "ossl_ecdh_compute_key"]);
await using _ = await script(({ begin, on, perThread }) => {
  begin(() => {
    printf("Tracing SSL/TLS handshake... Hit Ctrl-C to end.\n");
    printf("%-10s %-8s %-8s %7s %5s %s\n", "TIME(us)", "TID", "COMM", "LAT(us)", "RET", "FUNC");
  });
  for (const [lib, all] of [["ssl", SSL], ["crypto", CRYPTO]] as const) {
    // As bpftrace, skip the functions this build of the library lacks (internal ones).
    const elf = readElfFile(resolveBinaryPath(`lib${lib}`));
    const fns = all.filter((f) => findElfSymbol(elf, f) !== undefined);
    const [start, name] = [perThread(`@start_${lib}`), perThread<string>(`@func_${lib}`)];
    on(fns.map((f) => uprobe(`lib${lib}`, f)), () => {
      start.set(nsecs);
      name.set(func);
    });
    on(fns.map((f) => uretprobe(`lib${lib}`, f)), { where: start.get().ne(0) }, () => {
      const lat = nsecs.sub(start.get()).div(1000);
      printf("%-10u %-8d %-8s %7u %5d %s\n", elapsed.div(1000), tid, comm, lat, retval, name.get());
      start.delete();
      name.delete();
    });
  }
}).run();
