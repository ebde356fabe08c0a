// Calls getpid every 200 µs until killed: the event source bpftrace waits
// for in bench/attach_tracepoint.ts.
#include <sys/syscall.h>
#include <unistd.h>

int main(void) {
  for (;;) {
    syscall(SYS_getpid);
    usleep(200);
  }
}
