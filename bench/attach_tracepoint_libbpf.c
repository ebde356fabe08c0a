// The libbpf reference of bench/attach_tracepoint.ts, one whole process:
// open + load the object, attach its tracepoint program, call getpid until
// the counter shows the first event, detach, exit.
//   attach_tracepoint_libbpf <object.o>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <stdio.h>
#include <sys/syscall.h>
#include <unistd.h>

int main(int argc, char **argv) {
  if (argc < 2) return 2;
  struct bpf_object *obj = bpf_object__open_file(argv[1], NULL);
  if (!obj || bpf_object__load(obj)) return 1;
  struct bpf_program *prog = bpf_object__find_program_by_name(obj, "count_getpid");
  struct bpf_link *link = bpf_program__attach(prog);
  if (!link) return 1;
  int map = bpf_object__find_map_fd_by_name(obj, "counter");
  __u32 key = 0;
  __u64 value = 0;
  while (value == 0) {
    syscall(SYS_getpid);
    bpf_map_lookup_elem(map, &key, &value);
  }
  bpf_link__destroy(link);
  bpf_object__close(obj);
  return 0;
}
