/**
 * bpftrace's one-liner tutorial, lesson 2 (hello world):
 *
 *     bpftrace -e 'BEGIN { printf("hello world\n"); }'
 *
 *     deno run --allow-ffi examples/bpftrace/lesson02_hello_world.ts   # Ctrl-C to end
 *
 * @module
 */
import { printf, script } from "@denobpf/ebpf/probe";

await using _ = await script(({ begin }) => begin(() => printf("hello world\n"))).run();
