/**
 * Debian's bpftrace tool bashreadline.bt: commands typed into bash, read from
 * user memory at readline()'s return.
 *
 *     deno run --allow-ffi examples/bpftrace/bashreadline.ts
 *
 * @module
 */
import { pid, printf, retval, script, str, time, uretprobe } from "@denobpf/ebpf/probe";

await using _ = await script(({ begin, on }) => {
  begin(() => {
    printf("Tracing bash commands... Hit Ctrl-C to end.\n");
    printf("%-9s %-6s %s\n", "TIME", "PID", "COMMAND");
  });
  on(uretprobe("/bin/bash", "readline"), () => {
    time("%H:%M:%S  ");
    printf("%-6d %s\n", pid, str(retval));
  });
}).run();
