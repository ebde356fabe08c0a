/**
 * Debian's bpftrace tool ssllatency.bt: latency of OpenSSL's read, write and
 * handshake calls and of libcrypto's RSA/ECDSA/ECDH operations, as linear
 * histograms and stats by function; the start time and the function's name
 * are kept per thread from entry to return.
 *
 *     deno run --allow-ffi examples/bpftrace/ssllatency.ts
 *
 * @module
 */
import {
  cast,
  func,
  lhist,
  local,
  nsecs,
  printf,
  retval,
  script,
  type ScriptExpr,
  stats,
  uprobe,
  uretprobe,
  when,
} from "@denobpf/ebpf/probe";
import { findElfSymbol, resolveBinaryPath } from "@denobpf/ebpf/uprobe";
import { readElfFile } from "@denobpf/ebpf/elf";

type Num = ScriptExpr<number>;
type Str = ScriptExpr<string>;
const SSL = ["SSL_read", "SSL_write", "SSL_do_handshake"];
const CRYPTO = ["rsa_ossl_public_encrypt", "rsa_ossl_public_decrypt", "rsa_ossl_private_encrypt"]
  .concat(["rsa_ossl_private_decrypt", "RSA_sign", "RSA_verify", "ossl_ecdsa_sign"])
  .concat(["ossl_ecdsa_verify", "ecdh_simple_compute_key"]);
await using _ = await script(({ begin, on, end, perThread }) => {
  begin(() => printf("Tracing SSL/TLS handshake... Hit Ctrl-C to end.\n"));
  const timed = (lib: string, all: string[], record: (us: Num, fn: Str) => void) => {
    // As bpftrace, skip the functions this build of the library lacks (internal ones).
    const elf = readElfFile(resolveBinaryPath(`lib${lib}`));
    const fns = all.filter((f) => findElfSymbol(elf, f) !== undefined);
    const [start, name] = [perThread(`@start_${lib}`), perThread<string>(`@func_${lib}`)];
    on(fns.map((f) => uprobe(`lib${lib}`, f)), () => {
      start.set(nsecs);
      name.set(func);
    });
    on(fns.map((f) => uretprobe(`lib${lib}`, f)), { where: start.get().ne(0) }, () => {
      record(local(nsecs.sub(start.get()).div(1000), "lat_us"), name.get());
      start.delete();
      name.delete();
    });
  };
  const histStats = (suffix: string) => (us: Num, fn: Str) => {
    lhist(`@hist${suffix}`, us, { min: 0, max: 1000, step: 200, by: fn });
    stats(`@stat${suffix}`, us, { by: fn });
  };
  timed("ssl", SSL, (us, fn) => {
    when(cast(retval, "int8").ge(1), () => histStats("")(us, fn), () => histStats("F")(us, fn));
  });
  timed("crypto", CRYPTO, histStats(""));
  end(() => printf("\nLatency distribution in microsecond:"));
}).run();
